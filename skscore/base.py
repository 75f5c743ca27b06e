"""The shared diffusion engine: one base class that owns the whole flow.

A model only supplies its noise predictor through three hooks:

- ``_fit_predictor(Z, random_state)``: learn to predict the noise of
  ``z = cos(u_k) x_0 + sin(u_k) eps`` at every level ``k`` (training pairs
  come from :meth:`BaseDiffusionDensity._training_pairs`);
- ``_predict_noise(z, k)``: the predicted ``eps`` at level ``k``;
- ``_predict_noise_divergence(z, k)``: the prediction and the divergence
  ``sum_j d eps_j / d z_j``.  The default uses central finite differences
  (exact up to O(h^2), ``2 d`` extra evaluations); models with a closed form
  override it.

Everything else is here: validation, internal standardization (and its
Jacobian), the forward process (:mod:`skscore._schedules`), the samplers, the
log-density along the probability-flow ODE and the random-state handling.

The public methods are thin: they validate, map rows between the units of the
data and the model's space (``_fit_preprocessing``, ``_transform`` with its
log-Jacobian, ``_inverse_transform``) and call four model-space steps,
``_fit_density``, ``_log_density``, ``_sample`` and ``_score``.  The engine
implements them for a single diffusion; a model built from several (one per
mixture component, say) overrides those four and keeps everything else.
"""

import numbers
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager

import numba
import numpy as np
from joblib import Parallel, delayed
from scipy import linalg
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from . import _kernels
from ._columns import COLUMN_TYPE_PARAMETERS, ColumnTypes, check_column_params, frame_schema
from ._kernels import cuda as _cuda  # numba.cuda itself is imported only when a kernel runs
from ._schedules import SCHEDULES, noise_angles

SAMPLERS = ("heun", "ddim", "ddpm", "euler_maruyama")
_PREPROCESSING = ("standard", None)
_DEVICES = ("cpu", "cuda", "auto")
# Log-densities are floored here so that no -inf (or NaN from an overflow far
# outside the data) ever leaves score_samples; such points have ~zero mass.
LOG_DENSITY_FLOOR = -1e300
_FD_STEP = 1e-4


def _check_int(name, value, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def _check_float(name, value, minimum=0.0):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not (ok and value >= minimum):
        raise ValueError(f"{name} must be a finite number >= {minimum}, got {value!r}.")


def _check_option(name, value, options):
    if not any(value is opt or value == opt for opt in options):
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")


def effective_n_threads(n_jobs):
    """Threads for the Numba kernels and BLAS: None means all cores."""
    available = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        return available
    if n_jobs < 0:
        return max(1, available + 1 + n_jobs)
    return max(1, min(int(n_jobs), available))


@contextmanager
def limit_threads(n_jobs):
    """Run the enclosed Numba kernels and BLAS calls on ``n_jobs`` threads."""
    n_threads = effective_n_threads(n_jobs)
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(previous)


def _threadsafe_kernels():
    """Whether parallel kernels may be launched from several threads at once."""
    try:
        return numba.threading_layer() != "workqueue"
    except ValueError:  # no parallel kernel has run yet: the layer is unknown
        return numba.config.THREADING_LAYER not in ("workqueue",)


class BaseDiffusionDensity(DensityMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the score-based diffusion density estimators.

    Internally the data are standardized (``preprocessing='standard'``) to
    ``z_0``; the forward process noises them to ``z = cos(u) z_0 + sin(u) eps``
    on a grid of noise angles ``0 < u_1 < ... < u_K`` set by ``schedule`` and
    ``n_steps`` (every DDPM, VP or VE process is such a grid, see
    :mod:`skscore._schedules`).  The base distribution at ``u_K`` is
    ``N(cos(u_K) m, cos(u_K)^2 C + sin(u_K)^2 I)`` with ``m`` and ``C`` the
    mean and covariance of the standardized training data: the exact law of
    ``z`` at ``u_K`` up to second moments, so the schedule need not push the
    signal all the way to zero.

    Sampling and the log-density both use the probability-flow ODE
    ``dz/du = (eps_hat(z, u) - sin(u) z) / cos(u)``.  ``score_samples``
    integrates it from the data to ``u_K`` with Heun's method on the level
    grid, accumulating the divergence (instantaneous change of variables), and
    ``sample`` with the default ``sampler='heun'`` integrates the same ODE on
    the same grid backwards, so the two describe the same distribution up to
    the O(h^2) error of the integrator.  On ``[0, u_1]`` the velocity is
    interpolated linearly to its exact value 0 at ``u = 0``.

    Typed columns (``integer_features``, ``categorical_features``,
    ``bounds``, ``point_masses``; all None by default, the plain continuous
    model) are mapped to continuous coordinates before the standardization
    and back after sampling, with their Jacobian and discrete probabilities in
    ``score_samples`` (:mod:`skscore._columns`, the :ref:`column types
    <column_types>` guide).  A model fitted on a pandas DataFrame samples
    DataFrames with the same columns and dtypes.

    This class is not meant to be used directly: use one of its subclasses.
    """

    _chunk_size = 1024

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # one description of the column-type parameters for every estimator
        if cls.__doc__:
            cls.__doc__ = cls.__doc__.replace("    %(column_type_parameters)s\n", COLUMN_TYPE_PARAMETERS)

    @abstractmethod
    def __init__(
        self,
        *,
        n_steps,
        schedule,
        sampler,
        preprocessing,
        random_state,
        n_jobs,
        device,
        integer_features=None,
        categorical_features=None,
        bounds=None,
        point_masses=None,
    ):
        self.n_steps = n_steps
        self.schedule = schedule
        self.sampler = sampler
        self.preprocessing = preprocessing
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.integer_features = integer_features
        self.categorical_features = categorical_features
        self.bounds = bounds
        self.point_masses = point_masses

    # ------------------------------------------------------------------ hooks
    def _check_model_params(self):
        """Validate the model's own hyperparameters (raise ValueError)."""

    # the engine's own steps need these two; a composite model that overrides
    # the model-space steps need not provide them
    def _fit_predictor(self, Z, random_state):
        """Fit the noise predictor on standardized data ``Z``."""
        raise NotImplementedError

    def _predict_noise(self, z, level):
        """Predicted noise at ``level`` for rows ``z`` (n, d)."""
        raise NotImplementedError

    def _predict_noise_divergence(self, z, level):
        """Prediction and its divergence, by central finite differences."""
        eps = self._predict_noise(z, level)
        div = np.zeros(z.shape[0])
        shifted = z.copy()
        for j in range(z.shape[1]):
            shifted[:, j] = z[:, j] + _FD_STEP
            plus = self._predict_noise(shifted, level)[:, j]
            shifted[:, j] = z[:, j] - _FD_STEP
            minus = self._predict_noise(shifted, level)[:, j]
            shifted[:, j] = z[:, j]
            div += (plus - minus) / (2.0 * _FD_STEP)
        return eps, div

    # ----------------------------------------------------------------- device
    def _supports_cuda(self):
        """Whether the model has CUDA kernels (:meth:`_cuda_network`)."""
        return False

    def _cuda_network(self):
        """The fitted noise predictor as a :class:`skscore._kernels.cuda.DeviceNetwork`."""
        raise NotImplementedError

    def _check_cuda(self):
        """Raise a ValueError unless ``device='cuda'`` can run here."""
        if not self._supports_cuda():
            raise ValueError(
                f"device='cuda' is not supported by {type(self).__name__}: its noise predictor has no CUDA "
                "kernels (they exist for DiffusionRandomFeatures, ConvexTwoLayerScore and "
                "GaussianMixturePriorDiffusion with such a predictor). Use device='cpu', or 'auto'."
            )
        if not _cuda.cuda_usable():
            raise ValueError(
                f"device='cuda' needs a usable CUDA GPU, but {_cuda.cuda_unavailable_reason()}. Install the "
                "CUDA extra (pip install 'skscore[cuda]') on a machine with an NVIDIA GPU and driver, or use "
                "device='auto', which falls back to the CPU."
            )

    def _on_cuda(self):
        """Whether prediction runs on the GPU: 'cuda' (checked), or 'auto' with a usable GPU."""
        if self.device == "cuda":
            self._check_cuda()
            return True
        # 'auto' also keeps a model wider than the fused kernel's limit on the CPU
        return (
            self.device == "auto"
            and self._supports_cuda()
            and _cuda.cuda_usable()
            and len(getattr(self, "shift_", ())) <= _cuda.MAX_DIMS
        )

    # ------------------------------------------------------------ validation
    def _check_params(self):
        _check_int("n_steps", self.n_steps, 2)
        _check_option("schedule", self.schedule, SCHEDULES)
        _check_option("sampler", self.sampler, SAMPLERS)
        _check_option("preprocessing", self.preprocessing, _PREPROCESSING)
        _check_option("device", self.device, _DEVICES)
        if self.device == "cuda":
            self._check_cuda()
        if self.n_jobs is not None and (
            not isinstance(self.n_jobs, numbers.Integral) or isinstance(self.n_jobs, bool) or self.n_jobs == 0
        ):
            raise ValueError(f"n_jobs must be None or a non-zero integer, got {self.n_jobs!r}.")
        check_column_params(self.integer_features, self.categorical_features, self.bounds, self.point_masses)
        self._check_model_params()

    def _validate_X(self, X, reset):
        # a DataFrame's label columns (categorical, object, string dtypes)
        # enter as codes; its dtypes are kept to restore them on output
        if reset:
            self._frame_schema = frame_schema(X)
        schema = getattr(self, "_frame_schema", None)
        if schema is not None:
            X = schema.encode(X)
        return validate_data(
            self,
            X,
            dtype=np.float64,
            ensure_min_samples=2 if reset else 1,
            reset=reset,
            ensure_all_finite="allow-nan" if get_tags(self).input_tags.allow_nan else True,
        )

    def _standardize(self, X):
        return (X - self.shift_) / self.scale_

    # -------------------------------------------------------- forward process
    @property
    def _levels(self):
        """Signal and noise coefficients ``(cos u_k, sin u_k)`` of every level."""
        return np.cos(self.noise_angles_), np.sin(self.noise_angles_)

    def _training_pairs(self, Z, n_pairs, random_state):
        """Yield ``(k, z_k, eps)`` for every level: noised rows and their noise.

        Each level gets ``n_pairs`` rows of ``Z`` (every row once when
        ``n_pairs >= n``, the remainder drawn with replacement; a random subset
        otherwise) and fresh noise.
        """
        n, d = Z.shape
        for k, (a, s) in enumerate(zip(*self._levels)):
            if n_pairs < n:
                idx = random_state.choice(n, n_pairs, replace=False)
            else:
                extra = random_state.randint(0, n, n_pairs - n)
                idx = np.concatenate([np.arange(n), extra])
            eps = random_state.standard_normal((n_pairs, d))
            yield k, a * Z[idx] + s * eps, eps

    # ------------------------------------------------------------ preprocessing
    def _fit_preprocessing(self, X, random_state):
        """Learn the map from the units of ``X`` to the model's space; return ``Z``.

        First the column types (dequantization and filler noise drawn from
        ``random_state``, column after column, only when some column is
        discrete or has point masses), then the standardization of the
        resulting coordinates.
        """
        self.column_types_ = ColumnTypes(
            integer_features=self.integer_features,
            categorical_features=self.categorical_features,
            bounds=self.bounds,
            point_masses=self.point_masses,
        ).fit(X, feature_names=getattr(self, "feature_names_in_", None), schema=self._frame_schema)
        Y, _ = self.column_types_.transform(X, random_state)
        if self.preprocessing == "standard":
            # NaN-aware, for models that accept missing entries
            scale = np.nanstd(Y, axis=0)
            scale[~(scale >= 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.nanmax(np.abs(Y), axis=0)))] = 1.0
            self.shift_, self.scale_ = np.nan_to_num(np.nanmean(Y, axis=0)), scale
        else:
            self.shift_, self.scale_ = np.zeros(Y.shape[1]), np.ones(Y.shape[1])
        return self._standardize(Y)

    def _transform(self, X):
        """``Z`` for rows ``X``, and the log-Jacobian of the map per row.

        With typed columns the rows are repeated at the quadrature points of
        :meth:`ColumnTypes.quadrature` (fixed: deterministic) and the second
        term also holds its importance weights, ``-inf`` for impossible rows.
        """
        Y, log_term = self.column_types_.quadrature(X)
        return self._standardize(Y), log_term - np.log(self.scale_).sum()

    def _inverse_transform(self, Z):
        """Rows in the units of the training data for model-space rows ``Z``.

        Typed columns are decoded (integers floored, levels and point masses
        restored); a model fitted on a DataFrame returns a DataFrame.
        """
        X = self.column_types_.inverse_transform(self.shift_ + self.scale_ * Z)
        if self._frame_schema is not None:
            return self._frame_schema.decode(X, self.column_types_.kinds_)
        return X

    # --------------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Fit the diffusion model to the data.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Training data; at least two rows, no NaN or infinity.  A pandas
            DataFrame may hold label columns (categorical, object or string
            dtype), which must be declared categorical.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = self._validate_X(X, reset=True)
        self._check_params()
        random_state = check_random_state(self.random_state)
        # draw order: column dequantization (typed columns only), the model's
        # own draws, then the seed of the sampling generator
        Z = self._fit_preprocessing(X, random_state)
        with limit_threads(self.n_jobs):
            self._fit_density(Z, y, random_state)
        self._sample_random_state = np.random.RandomState(random_state.randint(np.iinfo(np.int32).max))
        return self

    def _fit_density(self, Z, y, random_state):
        """Fit the density of the model-space rows ``Z`` (``y`` is ignored here).

        The diffusion engine: the level grid, the Gaussian base distribution
        (exact to second moments at ``u_K``) and the model's noise predictor.
        """
        self.noise_angles_ = noise_angles(self.schedule, self.n_steps)
        a_last, s_last = np.cos(self.noise_angles_[-1]), np.sin(self.noise_angles_[-1])
        cov = np.atleast_2d(np.cov(Z, rowvar=False, bias=True))
        self.prior_mean_ = a_last * Z.mean(axis=0)
        self.prior_covariance_ = a_last**2 * cov + s_last**2 * np.eye(Z.shape[1])
        self._fit_predictor(Z, random_state)

    # ------------------------------------------------------------ base density
    def _prior_log_density(self, z):
        chol = linalg.cholesky(self.prior_covariance_, lower=True)
        w = linalg.solve_triangular(chol, (z - self.prior_mean_).T, lower=True, check_finite=False)
        d = z.shape[1]
        return -0.5 * np.sum(w**2, axis=0) - np.log(np.diag(chol)).sum() - 0.5 * d * np.log(2 * np.pi)

    def _prior_sample(self, n, random_state):
        chol = linalg.cholesky(self.prior_covariance_, lower=True)
        return self.prior_mean_ + random_state.standard_normal((n, chol.shape[0])) @ chol.T

    # ------------------------------------------------------------ row chunks
    def _map_chunks(self, func, n_rows):
        """``func(start, stop)`` on consecutive row chunks, concatenated.

        Chunks run in ``n_jobs`` joblib threads (BLAS and the ``nogil``
        kernels release the GIL), each integrating its rows through every step
        with single-threaded BLAS; leftover threads go to the Numba kernels
        inside each chunk.  Multi-threaded BLAS alternating with the Numba
        kernels was several times slower: OpenBLAS and OpenMP workers both
        spin-wait after each call and fought over the same cores.  Memory
        stays bounded by the chunk size times the number of threads, for any
        number of rows.
        """
        bounds = [(start, min(start + self._chunk_size, n_rows)) for start in range(0, n_rows, self._chunk_size)]
        n_threads = effective_n_threads(self.n_jobs)
        n_workers = min(n_threads, len(bounds)) if _threadsafe_kernels() else 1
        inner_threads = max(1, n_threads // n_workers)

        def run(start, stop):
            numba.set_num_threads(inner_threads)
            with np.errstate(all="ignore"):
                return func(start, stop)

        previous = numba.get_num_threads()
        try:
            with threadpool_limits(limits=1, user_api="blas"):
                if n_workers == 1:
                    parts = [run(*bound) for bound in bounds]
                else:
                    parts = Parallel(n_jobs=n_workers, backend="threading")(delayed(run)(*bound) for bound in bounds)
        finally:
            numba.set_num_threads(previous)
        return np.concatenate(parts)

    # ----------------------------------------------------------- log-density
    def _log_density_chunk(self, z):
        """Heun integration of the probability-flow ODE from the data to u_K."""
        cos_u, sin_u = self._levels
        n, d = z.shape
        z = z.copy()
        v_prev = np.zeros_like(z)  # the velocity is exactly 0 at u = 0
        div_prev = np.zeros(n)
        log_det = np.zeros(n)
        z_pred, z_next = np.empty_like(z), np.empty_like(z)
        u_prev = 0.0
        for k, u in enumerate(self.noise_angles_):
            h = u - u_prev
            np.add(z, h * v_prev, out=z_pred)
            eps, div_eps = self._predict_noise_divergence(z_pred, k)
            a, s = cos_u[k], sin_u[k]
            _kernels.velocity_heun(z_pred, eps, a, s, z, v_prev, h, z_next)
            div = (div_eps - s * d) / a
            log_det += 0.5 * h * (div_prev + div)
            z, z_next = z_next, z
            if k + 1 < len(self.noise_angles_):
                eps, div_eps = self._predict_noise_divergence(z, k)
                _kernels.velocity_euler(z, eps, a, s, z, 0.0, v_prev, z_pred)
                div_prev = (div_eps - s * d) / a
            u_prev = u
        return self._prior_log_density(z) + log_det

    def score_samples(self, X):
        """Log-density of each sample under the model.

        The exact change of variables along the probability-flow ODE (see the
        class notes), in the units of ``X``: the Jacobian of the internal
        standardization is included, so the density integrates to one.
        With typed columns it is the density with respect to Lebesgue
        measure on the continuous values and counting measure on the
        discrete ones (integers, categories, point masses), the discrete
        probabilities being quasi-Monte Carlo estimates of the model's mass
        on their cells (see the :ref:`column types <column_types>` guide).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Points at which to evaluate the density.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            Log-density of each row, finite (floored at ``-1e300``, which is
            also the value of rows the model gives probability zero: an
            unseen category, a value outside the bounds).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        Z, log_jacobian = self._transform(X)
        # typed columns: integrate over the quadrature points of each row's cell
        out = self.column_types_.integrate(self._log_density(Z) + log_jacobian)
        return np.nan_to_num(out, nan=LOG_DENSITY_FLOOR, neginf=LOG_DENSITY_FLOOR, posinf=LOG_DENSITY_FLOOR).clip(
            LOG_DENSITY_FLOOR
        )

    def _log_density(self, Z):
        """Log-density of model-space rows ``Z``, in row chunks (on the GPU: all steps on device)."""
        if self._on_cuda():
            z_end, log_det = _cuda.log_density_flow(self._cuda_network(), Z, self.noise_angles_)
            with np.errstate(all="ignore"):
                return self._prior_log_density(z_end) + log_det
        return self._map_chunks(lambda start, stop: self._log_density_chunk(np.ascontiguousarray(Z[start:stop])), len(Z))

    def score(self, X, y=None):
        """Mean log-likelihood of the data under the model.

        Higher is better, so ``GridSearchCV`` selects hyperparameters by
        held-out likelihood, as it does for ``GaussianMixture``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        log_likelihood : float
            Mean of :meth:`score_samples` over the rows of ``X``.
        """
        return float(np.mean(self.score_samples(X)))

    # ----------------------------------------------------------------- sample
    def _sample_chunk(self, z, random_state):
        cos_u, sin_u = self._levels
        n_levels = len(cos_u)
        z_next = np.empty_like(z)
        if self.sampler == "heun":
            v = np.empty_like(z)
            z_pred = np.empty_like(z)
            for k in range(n_levels - 1, -1, -1):
                h = (self.noise_angles_[k - 1] if k > 0 else 0.0) - self.noise_angles_[k]
                eps = self._predict_noise(z, k)
                _kernels.velocity_euler(z, eps, cos_u[k], sin_u[k], z, h, v, z_pred)
                if k > 0:
                    eps = self._predict_noise(z_pred, k - 1)
                    _kernels.velocity_heun(z_pred, eps, cos_u[k - 1], sin_u[k - 1], z, v, h, z_next)
                else:  # the velocity is exactly 0 at u = 0
                    np.add(z, 0.5 * h * v, out=z_next)
                z, z_next = z_next, z
            return z
        for k in range(n_levels - 1, -1, -1):
            eps = self._predict_noise(z, k)
            a_to, s_to = (cos_u[k - 1], sin_u[k - 1]) if k > 0 else (1.0, 0.0)
            if self.sampler == "ddim" or k == 0:
                # the last step of every sampler is the Tweedie denoising step
                _kernels.ddim_step(z, eps, cos_u[k], sin_u[k], a_to, s_to, z_next)
            elif self.sampler == "ddpm":
                noise = random_state.standard_normal(z.shape)
                _kernels.ancestral_step(z, eps, noise, cos_u[k], sin_u[k], a_to, s_to, z_next)
            else:
                noise = random_state.standard_normal(z.shape)
                _kernels.euler_maruyama_step(z, eps, noise, cos_u[k], sin_u[k], a_to, z_next)
            z, z_next = z_next, z
        return z

    def sample(self, n_samples=1, *, random_state=None):
        """Generate samples from the fitted model.

        Draws from the base distribution and integrates the reverse process
        with ``sampler``: 'heun' (default; the probability-flow ODE that
        ``score_samples`` integrates, so samples and log-densities describe
        the same distribution), 'ddim' (the same ODE, first order), 'ddpm'
        (ancestral sampling) or 'euler_maruyama' (the reverse SDE).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        random_state : int, RandomState instance or None, default=None
            Seed for this call.  When None, a generator seeded at ``fit`` and
            advanced by every call is used: repeated calls give fresh draws,
            and a cloned and refitted (or pickled) model repeats them.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, n_features)
            Samples in the units of the training data, typed columns decoded
            (integers, categories, point masses, within the bounds); a
            DataFrame with the training columns and dtypes when the model was
            fitted on one.
        """
        check_is_fitted(self)
        _check_int("n_samples", n_samples, 1)
        rng = self._sample_random_state if random_state is None else check_random_state(random_state)
        out = self._sample(n_samples, rng)
        if not np.all(np.isfinite(out)):  # pragma: no cover - defensive
            raise FloatingPointError("The reverse process diverged; try more n_steps or a stronger regularization.")
        return self._inverse_transform(out)

    def _sample(self, n_samples, rng):
        """Model-space samples: base draws integrated back through every level."""
        z = self._prior_sample(n_samples, rng)
        # one generator per chunk, seeded up front: draws do not depend on threads
        seeds = rng.randint(np.iinfo(np.int32).max, size=-(-n_samples // self._chunk_size))
        if self._on_cuda():  # the same draws from rng; the noise of 'ddpm', 'euler_maruyama' on device
            with np.errstate(all="ignore"):
                return _cuda.sample_flow(self._cuda_network(), z, self.noise_angles_, self.sampler, seeds)

        def sample_chunk(start, stop):
            chunk_rng = np.random.RandomState(seeds[start // self._chunk_size])
            return self._sample_chunk(np.ascontiguousarray(z[start:stop]), chunk_rng)

        return self._map_chunks(sample_chunk, n_samples)

    # ------------------------------------------------------------------ score
    def score_function(self, X, t=None):
        """The learned score, the gradient of the log-density.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points at which to evaluate the score.
        t : float in [0, 1] or None, default=None
            Diffusion time, mapped to the nearest noise level (0 is the
            smallest, 1 the largest).  None means the smallest level, where
            the noised law is closest to the data's.

        Returns
        -------
        score : ndarray of shape (n_samples, n_features)
            ``grad_x log p_t(x)`` in the units of ``X``, where ``p_t`` is the
            law of ``shift + scale * (cos(u) z_0 + sin(u) eps)`` at the level.

        Notes
        -----
        The score is ``-eps_hat / sin(u)``: a noise-prediction error is
        divided by the noise level, so models trained by denoising score
        matching give their least accurate score at the smallest level
        (on 2-D Gaussian data, DiffusionRandomFeatures is within 4 % of the
        exact score at ``t=0.8`` and 9 % at ``t=0.5``, but 80 % off at the
        smallest level).
        """
        check_is_fitted(self)
        if not self.column_types_.is_identity_:
            raise ValueError(
                "score_function needs continuous, unbounded columns: discrete columns have no score, and "
                "declared bounds or point masses make the model's space differ from the data's."
            )
        X = self._validate_X(X, reset=False)
        if t is None:
            level = 0
        else:
            _check_float("t", t)
            if t > 1:
                raise ValueError(f"t must lie in [0, 1], got {t!r}.")
            level = int(round(t * (len(self.noise_angles_) - 1)))
        Z = np.ascontiguousarray(self._standardize(X))
        with limit_threads(self.n_jobs):
            score = self._score(Z, level)
        return score / self.scale_

    def _score(self, Z, level):
        """Score of the noised model-space law at ``level``."""
        eps = _cuda.predict_noise(self._cuda_network(), Z, level) if self._on_cuda() else self._predict_noise(Z, level)
        return -eps / np.sin(self.noise_angles_[level])
