"""A model whose noise predictor is exact: the engine's known answer.

``ExactMixtureScore`` is fitted like any skscore model but, instead of
learning, predicts the exact noise of a known Gaussian mixture at every level
(a Gaussian mixture stays one under the forward process).  Running it through
the base class separates integration and likelihood error from learning error.
"""

import numpy as np

from skscore.base import BaseDiffusionDensity


class ExactMixtureScore(BaseDiffusionDensity):
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
    ):
        super().__init__(
            n_steps=n_steps,
            schedule=schedule,
            sampler=sampler,
            preprocessing=preprocessing,
            random_state=random_state,
            n_jobs=n_jobs,
            device=device,
            integer_features=integer_features,
            categorical_features=categorical_features,
            bounds=bounds,
            point_masses=point_masses,
        )
        self.law = law

    def _fit_predictor(self, Z, random_state):
        # the law of the standardized data
        self.law_z_ = self.law.affine(1.0 / self.scale_, -self.shift_ / self.scale_)

    def _noised(self, level):
        return self.law_z_.noised(np.cos(self.noise_angles_[level]), np.sin(self.noise_angles_[level]))

    def _predict_noise(self, z, level):
        return -np.sin(self.noise_angles_[level]) * self._noised(level).score(z)

    def _predict_noise_divergence(self, z, level):
        s = np.sin(self.noise_angles_[level])
        score, div = self._noised(level).score_divergence(z)
        return -s * score, -s * div
