"""A model whose noise predictor is exact: the engine's known answer.

``ExactMixtureScore`` is fitted like any skscore model but, instead of
learning, its predictor returns the exact noise of a known Gaussian mixture at
every level (a Gaussian mixture stays one under the forward process).
Running it through the engine separates integration and likelihood error
from learning error.  It is also the smallest example of a model: a noise
predictor and the estimator that fits it.
"""

import numpy as np
from sklearn.utils._param_validation import HasMethods

from skscore._engine import NoisePredictor
from skscore.base import DIFFUSION_PARAMETERS, BaseDiffusionDensity


class ExactMixtureNoise(NoisePredictor):
    """The noise of ``law`` noised to each level, ``-sin(u) grad log p_u``."""

    divergence_in_closed_form = True

    def __init__(self, law, noise_angles):
        self.law = law
        self.noise_angles = noise_angles

    def _noised(self, level):
        return self.law.noised(np.cos(self.noise_angles[level]), np.sin(self.noise_angles[level]))

    def predict(self, z, level):
        return -np.sin(self.noise_angles[level]) * self._noised(level).score(z)

    def predict_with_divergence(self, z, level):
        s = np.sin(self.noise_angles[level])
        score, div = self._noised(level).score_divergence(z)
        return -s * score, -s * div


class ExactMixtureScore(BaseDiffusionDensity):
    _parameter_constraints = {
        **BaseDiffusionDensity._parameter_constraints,
        **DIFFUSION_PARAMETERS,
        "law": [HasMethods(["noised", "affine"]), None],
    }

    def __init__(
        self,
        law=None,
        *,
        n_steps=50,
        schedule="cosine",
        sampler="heun",
        preprocessing="standard",
        random_state=None,
        n_jobs=None,
        device="cpu",
        integer_features=None,
        categorical_features=None,
        bounds=None,
        point_masses=None,
        n_particles=32,
    ):
        super().__init__(
            preprocessing=preprocessing,
            random_state=random_state,
            n_jobs=n_jobs,
            device=device,
            integer_features=integer_features,
            categorical_features=categorical_features,
            bounds=bounds,
            point_masses=point_masses,
            n_particles=n_particles,
        )
        self.law = law
        self.n_steps = n_steps
        self.schedule = schedule
        self.sampler = sampler

    def _fit_predictor(self, Z, diffusion, random_state):
        # the law of the standardized data
        law_z = self.law.affine(1.0 / self.scale_, -self.shift_ / self.scale_)
        return ExactMixtureNoise(law_z, diffusion.noise_angles)
