"""The peers skscore is measured against: scikit-learn's density estimators
with their model selection, and ForestDiffusion's tree-based generators.

Each peer has the small interface the benchmarks use: ``fit(X)``,
``sample(n_samples, random_state)`` and ``score_samples(X)`` (NaN for a peer
without a density), in the units of the data.  ForestDiffusion is imported
only when fitted (the ``bench`` extra).  Adversarial random forests
(``arfpy`` 0.1.1, the only release) install but do not run with NumPy 2.4
and pandas 3 (they call ``np.in1d`` and index Series by position), so they
are not a peer.
"""

import contextlib

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

GMM_COMPONENTS = range(1, 11)
KDE_BANDWIDTHS = np.logspace(-1.5, 0.5, 20)
# ForestDiffusion's own defaults for tabular generation (its README and paper)
FD_PARAMS = {"n_t": 50, "duplicate_K": 100, "diffusion_type": "flow"}


class BICGaussianMixture:
    """Full-covariance ``GaussianMixture`` with ``n_components`` chosen by BIC."""

    name = "GaussianMixture"

    def __init__(self, random_state, n_jobs=None):
        self.random_state = random_state

    def fit(self, X):
        fits = [
            GaussianMixture(k, covariance_type="full", random_state=self.random_state).fit(X)
            for k in GMM_COMPONENTS
            if k <= X.shape[0]
        ]
        self.model_ = min(fits, key=lambda gmm: gmm.bic(X))
        return self

    def sample(self, n_samples, random_state):
        # GaussianMixture.sample draws from its own random_state: reseed a copy
        model = self.model_
        model.random_state = random_state
        return model.sample(n_samples)[0]

    def score_samples(self, X):
        return self.model_.score_samples(X)


class StandardizedKDE:
    """``KernelDensity`` on standardized data, bandwidth by 5-fold CV.

    Log-densities and samples are mapped back to the units of the data.
    """

    name = "KernelDensity"

    def __init__(self, random_state=None, n_jobs=None):
        self.n_jobs = n_jobs

    def fit(self, X):
        self.scaler_ = StandardScaler().fit(X)
        search = GridSearchCV(KernelDensity(), {"bandwidth": KDE_BANDWIDTHS}, cv=5, n_jobs=self.n_jobs)
        self.model_ = search.fit(self.scaler_.transform(X)).best_estimator_
        return self

    def sample(self, n_samples, random_state):
        return self.scaler_.inverse_transform(self.model_.sample(n_samples, random_state=random_state))

    def score_samples(self, X):
        log_jacobian = np.sum(np.log(self.scaler_.scale_))
        return self.model_.score_samples(self.scaler_.transform(X)) - log_jacobian


class TrainingRows:
    """The suite's reference, not a model: as many training rows as asked, a real sample of the table's law.

    Drawn without replacement (with, beyond the training rows).  A sampler
    that a sample metric finds closer to the held-out rows than these is
    narrower than the data or copies training rows: on a few dozen rows in
    many columns, W1 rewards both (the boosted guide).
    """

    name = "training rows"

    def __init__(self, random_state=None, n_jobs=None):
        self.random_state = random_state

    def fit(self, X):
        self.rows_ = np.asarray(X, dtype=np.float64)
        return self

    def sample(self, n_samples, random_state):
        rng = np.random.RandomState(random_state)
        return self.rows_[rng.choice(len(self.rows_), n_samples, replace=n_samples > len(self.rows_))]

    def score_samples(self, X):
        return np.full(len(X), np.nan)


@contextlib.contextmanager
def _global_numpy_seed(seed):
    """Seed NumPy's global generator (which ForestDiffusion uses), then restore it."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class ForestDiffusion:
    """ForestFlow and ForestDiffusion (Jolicoeur-Martineau et al., 2024), optional peers without a density.

    API as in SamsungSAILMontreal/ForestDiffusion (README "For regular usage" and
    Python-Package/base-ForestDiffusion/ForestDiffusion/diffusion_with_trees_class.py):
    ``ForestDiffusionModel(X, n_t=50, model='xgboost', diffusion_type='flow', ...,
    duplicate_K=100, bin_indexes=[], cat_indexes=[], int_indexes=[], ..., n_jobs=-1,
    seed=666)`` trains in the constructor (X must be a NumPy array; n_jobs=-1 means
    all CPUs), and ``generate(batch_size=None, n_t=None, X_covs=None)`` returns
    ``batch_size`` rows in the units of the data, drawing its noise from
    ``np.random``.  Categorical columns are one-hot encoded by ForestDiffusion
    itself; integer columns are rounded here, after ``generate`` (its own
    rounding, ``int_indexes``, writes into a read-only array under pandas 3
    and fails; rounding is the same operation).  ``n_t`` and ``duplicate_K``
    default to ForestDiffusion's own (:data:`FD_PARAMS`); the benchmarks
    set them to match a model's levels and duplication.
    """

    name = "ForestDiffusion"

    def __init__(
        self,
        random_state,
        n_jobs=None,
        *,
        diffusion_type=FD_PARAMS["diffusion_type"],
        n_t=FD_PARAMS["n_t"],
        duplicate_K=FD_PARAMS["duplicate_K"],
        integer_features=(),
        categorical_features=(),
    ):
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.diffusion_type = diffusion_type
        self.n_t = n_t
        self.duplicate_K = duplicate_K
        self.integer_features = integer_features
        self.categorical_features = categorical_features

    def fit(self, X):
        from ForestDiffusion import ForestDiffusionModel

        n_jobs = -1 if self.n_jobs is None else self.n_jobs
        with _global_numpy_seed(self.random_state):
            self.model_ = ForestDiffusionModel(
                np.asarray(X, dtype=np.float64),
                n_t=self.n_t,
                duplicate_K=self.duplicate_K,
                diffusion_type=self.diffusion_type,
                cat_indexes=list(self.categorical_features),
                n_jobs=n_jobs,
                seed=self.random_state,
            )
        return self

    def sample(self, n_samples, random_state):
        with _global_numpy_seed(random_state):
            out = np.array(self.model_.generate(batch_size=n_samples), dtype=np.float64)
        out[:, list(self.integer_features)] = np.round(out[:, list(self.integer_features)])
        return out

    def score_samples(self, X):
        return np.full(len(X), np.nan)


def installed(module):
    """Whether an optional package imports."""
    try:
        __import__(module)
    except ImportError:
        return False
    return True
