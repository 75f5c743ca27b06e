"""The estimator shell shared by every model: validation, typed columns, standardization, public API.

:class:`BaseDiffusionDensity` owns the flow of the public methods, in the
manner of scikit-learn's mixture base class: ``fit`` checks the parameters
(declared in ``_parameter_constraints``) before anything is touched,
validates the data, maps them to the model's space (typed columns, then
standardization) and calls one hook; ``score_samples``, ``sample`` and
``score_function`` map rows between the units of the data and the model's
space around three more hooks.  A model supplies:

- ``_fit_density(Z, y, random_state)``: fit the density of model-space rows;
  the default builds one :class:`~skscore._engine.Diffusion` from the
  model's ``schedule`` and ``n_steps`` and asks ``_fit_predictor(Z,
  diffusion, random_state)`` for its :class:`~skscore._engine.NoisePredictor`;
- ``_log_density(Z)``, ``_sample(n_samples, random_state)``,
  ``_score(Z, level)``: by default the diffusion's own methods.  A model made
  of several diffusions (one per mixture component, one per class) holds
  them and overrides these.

While ``fit`` runs, the hooks report their stages through
``self._progress().report(message, *args, level=1)`` (:class:`_Progress`):
lines printed to standard output when the ``verbose`` parameter reaches
``level``, with the seconds since ``fit`` began.

The mathematics of diffusion lives in :mod:`skscore._engine`; threads in
:mod:`skscore._parallel`; typed columns in :mod:`skscore._columns`.
"""

import sys
import time
import warnings
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from ._checks import check_int, check_real
from ._columns import (
    COLUMN_TYPE_PARAMETERS,
    ColumnTypes,
    _column_name,
    check_column_params,
    check_index_keys,
    frame_schema,
    location_scale,
    missing_as_nan,
)
from ._columns import column_position as _column_position
from ._engine import DEVICES, SAMPLERS, Diffusion, GaussianBase, check_cuda
from ._parallel import limit_threads
from ._rows import RowPartitions, is_dask_collection
from ._schedules import SCHEDULES, noise_angles

__all__ = ["BaseDiffusionDensity", "LOG_DENSITY_FLOOR", "SAMPLERS"]

# Log-densities are floored here so that no -inf (or NaN from an overflow far
# outside the data) ever leaves score_samples; such points have ~zero mass.
LOG_DENSITY_FLOOR = -1e300
_MAX_SEED = np.iinfo(np.int32).max
# score_samples maps, scores and integrates its rows in chunks of at most this
# many model-space rows (a row counts once per quadrature point of typed
# columns): memory stays bounded for any number of rows.  A multiple of the
# engine's chunk, so that the engine's chunks of the rows are unchanged.
SCORE_CHUNK_ROWS = 2**18

# impute and sample(given=...) map and draw their rows in blocks of this many
CONDITION_CHUNK_ROWS = 2**14
# an observed value conditioned on is at most this many training standard deviations from the mean
CONDITIONING_REACH = 1e6
# the spreads of model coordinates that preprocessing=None leaves without a warning
_UNIT_SCALE_RANGE = (0.1, 10.0)

# the parameters of a model with one level grid and a sampler
DIFFUSION_PARAMETERS = {
    "n_steps": [Interval(Integral, 2, None, closed="left")],
    "schedule": [StrOptions(set(SCHEDULES))],
    "sampler": [StrOptions(set(SAMPLERS))],
}


_N_PARTICLES_PARAMETER = """\
    n_particles : int, default=32
        Particles per row of the sequential Monte Carlo sampler behind
        :meth:`impute` and ``sample(given=...)``: each conditional draw costs
        about as much as drawing ``n_particles`` rows, and its error (with
        respect to the model's exact conditional law) shrinks as they grow.
        Rows given only categories are drawn together, by rejection within
        a budget of ``n_particles`` flows per row and beyond it by a
        population of at least ``n_particles`` members (see the
        :ref:`conditional generation <conditional>` guide).
    verbose : int, default=0
        Progress of ``fit``, printed to standard output: 0 prints nothing, 1
        one line per stage (a noise level or group of levels, a mixture
        component, a convex program) with the seconds elapsed since ``fit``
        began, 2 and more add detail.  It does not change the fitted model.
"""


def _check_exact_in_float64(X):
    """Refuse integers that float64, the models' arithmetic, cannot tell apart (beyond 2**53).

    Distinct identifiers or timestamps there would merge silently into
    fewer values (a column of ten would read as constant).
    """
    integers = getattr(X, "dtype", None) is not None and X.dtype.kind in "iu" and X.size
    if integers and max(abs(int(X.min())), abs(int(X.max()))) > 2**53:
        raise ValueError(
            "X holds integers beyond 2**53 in magnitude, which float64 arithmetic cannot tell apart: "
            "subtract an offset (the column's minimum) or rescale them first."
        )


def _label_position(value, labels):
    """The position of ``value`` in ``labels``, or None."""
    for position, label in enumerate(labels):
        try:
            if value is label or bool(value == label):
                return position
        except TypeError:  # pandas' NA compares as NA, which has no truth value
            continue
    return None


class _Progress:
    """The progress lines of one ``fit``, printed when ``verbose`` reaches their level.

    ``report(message, *args, level=1)`` prints ``[name] message (elapsed s)``
    to ``sys.stdout`` (as scikit-learn's estimators print; the command line
    redirects it to stderr), the seconds counted from this object's creation,
    at the start of ``fit``.  ``message % args`` is formatted only when the
    line is printed, so a silent reporter costs a comparison.  Each line is
    one write: the worker threads of a fit (levels, programs) may report.
    """

    def __init__(self, verbose, name):
        self.verbose = int(verbose)  # True counts as 1, as in scikit-learn
        self.name = name
        self.start = time.perf_counter()

    def __bool__(self):
        return self.verbose > 0

    def report(self, message, *args, level=1):
        if self.verbose < level:
            return
        if args:
            message = message % args
        stream = sys.stdout
        stream.write(f"[{self.name}] {message} ({time.perf_counter() - self.start:.1f} s)\n")
        stream.flush()


_SILENT = _Progress(0, "")


COLUMN_TYPE_NAMES = ("integer_features", "categorical_features", "bounds", "point_masses")
# the parameters that sample, impute and score_samples read (set_params may change them after fit)
_RUN_PARAMETERS = ("sampler", "n_particles", "n_jobs", "device")


class _ModelSpace:
    """Rows in the units of the data to model space: column types, then standardization (picklable)."""

    def __init__(self, column_types, shift, scale):
        self.column_types, self.shift, self.scale = column_types, shift, scale
        self.n_features_out = len(shift)

    def __call__(self, Y):
        # continuous columns draw nothing (the generator is a formality)
        Y, _ = self.column_types.transform(Y, np.random.RandomState(0))
        return (Y - self.shift) / self.scale


def _map_partitions(func, X):
    """``func`` (rows to one value per row) over the row partitions of a dask collection, lazily.

    An empty partition (what a filter leaves) gives no values without a call.
    The result of a dask DataFrame has partitions of unknown length: learning
    them would compute every partition once more.
    """

    def values(rows):
        return np.empty(0) if len(rows) == 0 else func(rows)

    if hasattr(X, "columns"):  # a dask DataFrame: each partition goes in as a pandas DataFrame
        import pandas as pd

        def scored(frame):
            return pd.Series(values(frame), index=frame.index, dtype=np.float64)

        return X.map_partitions(scored, meta=(None, "f8")).to_dask_array()
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D dask array (rows, columns), got {X.ndim}D with shape {X.shape}.")
    return X.rechunk({1: -1}).map_blocks(values, drop_axis=1, dtype=np.float64)


@contextmanager
def _restored_on_error(estimator):
    """Put the estimator's attributes back as they were if the enclosed code raises.

    A refit that fails (a bad parameter found with the data, bad data) then
    leaves the previous fit intact.  Fitting replaces attributes, never
    mutates them, so a shallow copy suffices.
    """
    previous = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(previous)
        raise


class BaseDiffusionDensity(DensityMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the score-based diffusion density estimators.

    Internally the data are mapped to continuous coordinates (typed columns:
    ``integer_features``, ``categorical_features``, ``bounds``,
    ``point_masses``; all None by default, the plain continuous model) and
    standardized (``preprocessing='standard'``) to ``z_0``; the model's
    density of ``z_0`` comes from its diffusion(s) (:mod:`skscore._engine`),
    and ``score_samples`` adds the Jacobian and discrete probabilities of the
    maps (:mod:`skscore._columns`, the :ref:`column types <column_types>`
    guide).  A model fitted on a pandas DataFrame samples DataFrames with the
    same columns and dtypes.

    This class is not meant to be used directly: use one of its subclasses.
    """

    _parameter_constraints = {
        "preprocessing": [StrOptions({"standard"}), None],
        "random_state": ["random_state"],
        "n_jobs": [Interval(Integral, None, -1, closed="right"), Interval(Integral, 1, None, closed="left"), None],
        "device": [StrOptions(set(DEVICES))],
        "integer_features": [StrOptions({"auto"}), "array-like", None],
        "categorical_features": [StrOptions({"auto"}), "array-like", None],
        "bounds": [StrOptions({"auto"}), dict, None],
        "point_masses": [StrOptions({"auto"}), dict, None],
        "n_particles": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    # whether fit takes a dask collection partition by partition
    # (_fit_predictor_on_partitions); the other models compute it into memory
    _fits_partitions = False

    # whether _condition takes the intervals of observed categories (cells=);
    # otherwise an observed category is a point drawn uniformly in its interval
    _conditions_on_cells = True

    # whether the noise levels suppose the model's coordinates of unit scale
    # (preprocessing=None warns when they are far from it); the mixture prior
    # whitens each component itself
    _levels_assume_unit_scale = True

    # a column of a single training value is a point mass left out of the model
    # (see ColumnTypes.fit); GaussianMixturePriorDiffusion turns it off in its
    # component models, whose whitened coordinates are continuous
    _lone_point_masses = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # one description of the column-type parameters for every estimator
        if cls.__doc__:
            cls.__doc__ = cls.__doc__.replace(
                "    %(column_type_parameters)s\n", COLUMN_TYPE_PARAMETERS + _N_PARTICLES_PARAMETER
            )

    @abstractmethod
    def __init__(
        self,
        *,
        preprocessing,
        random_state,
        n_jobs,
        device,
        integer_features=None,
        categorical_features=None,
        bounds=None,
        point_masses=None,
        n_particles=32,
        verbose=0,
    ):
        self.preprocessing = preprocessing
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.integer_features = integer_features
        self.categorical_features = categorical_features
        self.bounds = bounds
        self.point_masses = point_masses
        self.n_particles = n_particles
        self.verbose = verbose

    # ------------------------------------------------------------ parameters
    def _validate_params(self):
        """Check every parameter, before any data or fitted attribute is touched."""
        super()._validate_params()
        self._refuse_booleans(self.get_params(deep=False))
        check_column_params(self.integer_features, self.categorical_features, self.bounds, self.point_masses)
        self._check_params_together()
        if self.device == "cuda":
            check_cuda(type(self).__name__, self._supports_cuda())

    def _refuse_booleans(self, params):
        """scikit-learn's integer intervals take booleans; here they are a mistake."""
        for name, value in params.items():
            constraints = self._parameter_constraints.get(name)
            # verbose=True is scikit-learn's 1
            if constraints is None or name == "verbose":
                continue
            if isinstance(value, (bool, np.bool_)) and "boolean" not in constraints:
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must not be a boolean. Got {value!r}."
                )

    def _check_ready(self):
        """``check_is_fitted``, then the parameters read after fit checked as ``fit`` checks them.

        ``set_params`` may change them on a fitted model (another sampler, more
        particles): a bad value is refused here, not met inside a loop.
        """
        check_is_fitted(self)
        params = {name: getattr(self, name) for name in _RUN_PARAMETERS if name in self._parameter_constraints}
        validate_parameter_constraints(
            {name: self._parameter_constraints[name] for name in params}, params, caller_name=type(self).__name__
        )
        self._refuse_booleans(params)
        if self.device == "cuda":  # named here by the estimator, not by its private noise predictor
            check_cuda(type(self).__name__, self._supports_cuda(), len(self.scale_))

    def _check_params_together(self):
        """Rules that tie parameters together (raise ValueError)."""

    def _supports_cuda(self):
        """Whether the model's noise predictors have CUDA kernels."""
        return False

    # ------------------------------------------------------------------ data
    def _validate_X(self, X, reset, allow_nan=None):
        # a DataFrame's label columns (categorical, object, string dtypes)
        # enter as codes; its dtypes are kept to restore them on output
        if reset:
            self._frame_schema = frame_schema(X)
        schema = getattr(self, "_frame_schema", None)
        X = missing_as_nan(X)
        if schema is not None:
            X = schema.encode(X)
        _check_exact_in_float64(X)
        return validate_data(
            self,
            X,
            dtype=np.float64,
            ensure_min_samples=2 if reset else 1,
            reset=reset,
            ensure_all_finite="allow-nan" if (allow_nan or get_tags(self).input_tags.allow_nan) else True,
        )

    def _standardize(self, X):
        return (X - self.shift_) / self.scale_

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
        ).fit(
            X,
            feature_names=getattr(self, "feature_names_in_", None),
            schema=self._frame_schema,
            lone_point_masses=self._lone_point_masses,
        )
        Y, _ = self.column_types_.transform(X, random_state)
        # NaN-aware, for models that accept missing entries; exact for any
        # magnitude, and relative to it for columns that vary by rounding only
        self.shift_, self.scale_ = location_scale(Y)
        if self.preprocessing != "standard":
            self._warn_off_unit_scale(self.scale_)
            self.shift_, self.scale_ = np.zeros(Y.shape[1]), np.ones(Y.shape[1])
        return self._standardize(Y)

    def _warn_off_unit_scale(self, scale):
        """Warn that ``preprocessing=None`` leaves model coordinates of spread ``scale`` the levels do not suit.

        The noise levels run from a few hundredths to one standard deviation
        of unit-scale data: a column much narrower is drowned by the first
        level, one much wider never reaches the Gaussian base.
        """
        off = (scale < _UNIT_SCALE_RANGE[0]) | (scale > _UNIT_SCALE_RANGE[1])
        if self._levels_assume_unit_scale and off.any():
            warnings.warn(
                f"preprocessing=None: {off.sum()} of the {len(scale)} model coordinates have a spread outside "
                f"[{_UNIT_SCALE_RANGE[0]:g}, {_UNIT_SCALE_RANGE[1]:g}] (from {scale.min():.3g} to {scale.max():.3g}), "
                "but the noise levels suppose data of unit scale: samples and densities will be poor. Use "
                "preprocessing='standard' (the default) or standardize the data.",
                UserWarning,
            )

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

    # ------------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Fit the density model to the data.

        Parameters
        ----------
        X : array-like, DataFrame, dask array or dask DataFrame of shape (n_samples, n_features)
            Training data; at least two rows, no NaN or infinity.  A pandas
            DataFrame may hold label columns (categorical, object or string
            dtype), which must be declared categorical.  A dask collection
            is fitted partition by partition, never gathered, by the models
            whose fit is made of sums over rows (DiffusionRandomFeatures;
            continuous columns only); the other models compute it into
            memory first (see the :ref:`large data <large_data>` guide).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        progress = _Progress(self.verbose, getattr(self, "_progress_name", type(self).__name__))
        if is_dask_collection(X):
            if self._fits_partitions:
                with _restored_on_error(self):
                    self._fit_partitions(RowPartitions(X), progress)
                progress.report("fit done")
                return self
            X = X.compute()
        with _restored_on_error(self):
            X = self._validate_X(X, reset=True)
            random_state = check_random_state(self.random_state)
            # draw order: column dequantization (typed columns only), the model's
            # own draws, then the seed of the sampling generator
            Z = self._fit_preprocessing(X, random_state)
            progress.report("%d rows x %d columns, %d model coordinates", *X.shape, Z.shape[1], level=2)
            if self.device == "cuda":  # before training, not at the first sample
                check_cuda(type(self).__name__, self._supports_cuda(), Z.shape[1])
            with self._fitting(progress):
                self._fit_density(Z, y, random_state)
            self._sample_random_state = np.random.RandomState(random_state.randint(_MAX_SEED))
        progress.report("fit done")
        return self

    def _fit_partitions(self, rows, progress):
        """``fit`` for data in partitions (a :class:`~skscore._rows.RowPartitions`), never gathered.

        The same model as an in-memory fit of the same rows, up to the order
        of floating-point sums: the moments of the columns are merged over
        partitions, then :meth:`_fit_predictor_on_partitions` sums the
        model's statistics over them.
        """
        declared = [name for name in COLUMN_TYPE_NAMES if getattr(self, name) is not None]
        if declared:
            raise ValueError(
                f"a fit on a dask collection takes continuous columns only, but {declared[0]}="
                f"{getattr(self, declared[0])!r} is set: leave the column types at None, or compute() the data "
                "and fit it in memory."
            )
        if rows.n_rows < 2:
            raise ValueError(f"Found array with {rows.n_rows} sample(s) while a minimum of 2 is required.")
        self.n_features_in_ = rows.n_columns
        if rows.feature_names is not None:
            self.feature_names_in_ = rows.feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self._frame_schema = None if rows.meta is None else frame_schema(rows.meta)
        random_state = check_random_state(self.random_state)
        low, high, shift, scale, mean, covariance = rows.moments()  # mean and covariance in units of the scale
        # the column types of continuous columns depend on their extremes only
        # (a column of one value is a point mass, left out of the model)
        self.column_types_ = ColumnTypes().fit(
            np.vstack([low, high]),
            feature_names=getattr(self, "feature_names_in_", None),
            lone_point_masses=self._lone_point_masses,
        )
        kept = np.flatnonzero([column.width > 0 for column in self.column_types_.columns_])
        shift, scale, mean, covariance = shift[kept], scale[kept], mean[kept], covariance[np.ix_(kept, kept)]
        if self.preprocessing != "standard":
            self._warn_off_unit_scale(scale)
            mean, covariance = shift + scale * mean, covariance * np.outer(scale, scale)
            shift, scale = np.zeros(len(kept)), np.ones(len(kept))
        self.shift_, self.scale_ = shift, scale
        progress.report(
            "%d rows x %d columns in %d partitions, %d model coordinates",
            rows.n_rows, rows.n_columns, rows.n_partitions, len(kept), level=2,
        )
        diffusion = self._diffusion(mean, covariance)
        with self._fitting(progress):
            to_model = _ModelSpace(self.column_types_, shift, scale)
            predictor = self._fit_predictor_on_partitions(rows, diffusion, random_state, to_model)
        self._set_diffusion(diffusion, predictor)
        self._sample_random_state = np.random.RandomState(random_state.randint(_MAX_SEED))

    @contextmanager
    def _fitting(self, progress):
        """The hooks of a fit run here: on ``n_jobs`` threads, reporting through :meth:`_progress`."""
        self._fit_progress = progress
        try:
            with limit_threads(self.n_jobs):
                yield
        finally:
            del self._fit_progress

    def _fit_predictor_on_partitions(self, rows, diffusion, random_state, to_model):
        """The fitted noise predictor from rows in partitions, each mapped to model space by ``to_model``.

        Only the models whose class sets ``_fits_partitions`` implement it.
        """
        raise NotImplementedError

    def _progress(self):
        """The :class:`_Progress` of the ``fit`` that is running (a silent one outside ``fit``)."""
        return getattr(self, "_fit_progress", _SILENT)

    def _fit_density(self, Z, y, random_state):
        """Fit the density of the model-space rows ``Z`` (``y`` is ignored here).

        One diffusion: the level grid of ``schedule`` and ``n_steps``, the
        Gaussian base distribution (exact to second moments at ``u_K``) and
        the model's noise predictor.
        """
        diffusion = self._diffusion(Z.mean(axis=0), np.atleast_2d(np.cov(Z, rowvar=False, bias=True)))
        self._set_diffusion(diffusion, self._fit_predictor(Z, diffusion, random_state))

    def _diffusion(self, mean, covariance):
        """The diffusion of ``schedule`` and ``n_steps`` for data of this mean and covariance, unfitted."""
        angles = noise_angles(self.schedule, self.n_steps)
        return Diffusion(angles, GaussianBase.noised(mean, covariance, angles[-1]), data_covariance=covariance)

    def _set_diffusion(self, diffusion, predictor):
        diffusion.predictor = predictor
        self.diffusion_ = diffusion
        self.noise_angles_ = diffusion.noise_angles
        self.prior_mean_, self.prior_covariance_ = diffusion.base.mean, diffusion.base.covariance

    def _fit_predictor(self, Z, diffusion, random_state):
        """The fitted :class:`~skscore._engine.NoisePredictor` of ``diffusion`` for rows ``Z``."""
        raise NotImplementedError

    def _run_options(self):
        """How the engine runs now (the parameters may change after fit)."""
        return {"n_jobs": self.n_jobs, "device": self.device}

    # ----------------------------------------------------------- log-density
    def score_samples(self, X):
        """Log-density of each sample under the model.

        The exact change of variables along the probability-flow ODE (see the
        :ref:`engine <engine>` guide), in the units of ``X``: the Jacobian of
        the internal standardization is included, so the density integrates
        to one.  With typed columns it is the density with respect to
        Lebesgue measure on the continuous values and counting measure on
        the discrete ones (integers, categories, point masses), the discrete
        probabilities being quasi-Monte Carlo estimates of the model's mass
        on their cells (see the :ref:`column types <column_types>` guide).

        Parameters
        ----------
        X : array-like, DataFrame, dask array or dask DataFrame of shape (n_samples, n_features)
            Points at which to evaluate the density.  A dask collection is
            scored partition by partition, lazily.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            Log-density of each row, finite (floored at ``-1e300``, which is
            also the value of rows the model gives probability zero: an
            unseen category, a value outside the bounds); a dask array for a
            dask collection.
        """
        self._check_ready()
        if is_dask_collection(X):
            return _map_partitions(self.score_samples, X)
        X = self._validate_X(X, reset=False)
        types = self.column_types_
        # typed columns repeat each row at every quadrature point: chunks of
        # rows keep the model-space rows (and memory) bounded for any n
        n_points = 1 if types.is_identity_ else len(types.points_)
        step = max(1, SCORE_CHUNK_ROWS // n_points)
        out = np.empty(len(X))
        for start in range(0, len(X), step):
            Z, log_jacobian = self._transform(X[start : start + step])
            # typed columns: integrate over the quadrature points of each row's cell
            out[start : start + step] = types.integrate(self._log_density(Z) + log_jacobian)
        return np.nan_to_num(out, nan=LOG_DENSITY_FLOOR, neginf=LOG_DENSITY_FLOOR, posinf=LOG_DENSITY_FLOOR).clip(
            LOG_DENSITY_FLOOR
        )

    def _log_density(self, Z):
        """Log-density of model-space rows ``Z``."""
        return self.diffusion_.log_density(Z, **self._run_options())

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
        log_density = self.score_samples(X)
        if is_dask_collection(log_density):  # reduced where the partitions live
            return float(log_density.mean().compute())
        return float(np.mean(log_density))

    # ---------------------------------------------------------------- sample
    def sample(self, n_samples=1, *, given=None, random_state=None):
        """Generate samples from the fitted model.

        Draws from the base distribution and integrates the reverse process
        with ``sampler``: 'heun' (default; the probability-flow ODE that
        ``score_samples`` integrates, so samples and log-densities describe
        the same distribution), 'ddim' (the same ODE, first order), 'ddpm'
        (ancestral sampling) or 'euler_maruyama' (the reverse SDE).  With
        ``given``, rows are drawn from the model's conditional law given
        those columns' values (see :meth:`impute`).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        given : dict or None, default=None
            ``{column: value}``, columns by name (a model fitted on a
            DataFrame) or index, categorical levels by their labels: every
            row has these values and the other columns are drawn given
            them.  A value may also be an array of ``n_samples`` values, one
            per row (many conditions at once).
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
        self._check_ready()
        check_int("n_samples", n_samples, 1)
        rng = self._sampling_random_state(random_state)
        if given is not None:
            return self._decoded(self._completed(self._given_rows(given, n_samples), rng)[0])
        return self._inverse_transform(self._checked_sample(n_samples, rng))

    def _sampling_random_state(self, random_state):
        return self._sample_random_state if random_state is None else check_random_state(random_state)

    def _checked_sample(self, n_samples, random_state, **kwargs):
        Z = self._sample(n_samples, random_state, **kwargs)
        if not np.all(np.isfinite(Z)):  # pragma: no cover - defensive
            raise FloatingPointError("The reverse process diverged; try more n_steps or a stronger regularization.")
        return Z

    def _sample(self, n_samples, random_state):
        """Model-space samples."""
        return self.diffusion_.sample(n_samples, random_state, sampler=self.sampler, **self._run_options())


    # ----------------------------------------------------------- conditional
    def impute(self, X, *, n_draws=None, random_state=None):
        """Fill the missing entries (NaN) of ``X`` by drawing them from the model given the rest.

        Each row's missing entries are drawn from the model's conditional law
        given its observed entries, by a sequential Monte Carlo sampler that
        runs the reverse process with ``n_particles`` particles per row and
        weights them by their agreement with the forward-noised observed
        values; rows whose only observed entries are categories are drawn
        from the model's own rows of those categories, by rejection or by a
        population started in them (see the
        :ref:`conditional generation <conditional>` guide).
        Observed entries, and rows without a NaN, come back unchanged; typed
        columns are respected (integers, categories, bounds, point masses).
        With ``n_draws``, the draws of a multiple imputation: their spread
        gives intervals, their mean a point estimate.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with missing entries as NaN (or pandas' missing values).
            Every row needs at least one observed entry (draw rows with no
            condition with :meth:`sample`).
        n_draws : int or None, default=None
            None returns one completed table; an integer returns that many,
            independent given ``X``.
        random_state : int, RandomState instance or None, default=None
            Seed for this call; None uses the model's sampling generator (as
            :meth:`sample` does).

        Returns
        -------
        X_imputed : ndarray or DataFrame of shape (n_samples, n_features)
            ``X`` with every NaN replaced (a DataFrame, with ``X``'s index,
            when ``X`` is one and the model was fitted on one).  With
            ``n_draws``: an ndarray of shape (n_draws, n_samples,
            n_features), or a list of ``n_draws`` DataFrames.

        Raises
        ------
        ValueError
            For a row with no observed entry, or an observed value that the
            model gives probability zero: a category not seen in fit, a
            value outside a column's bounds, a non-integral value in an
            integer column.
        """
        self._check_ready()
        return self._impute(X, n_draws, random_state)

    def _impute(self, X, n_draws, random_state, **kwargs):
        """:meth:`impute`; ``kwargs`` go to :meth:`_condition` (a model's per-row options)."""
        if n_draws is not None:
            check_int("n_draws", n_draws, 1)
        frame = X if self._frame_schema is not None and hasattr(X, "iloc") else None
        X = self._validate_X(X, reset=False, allow_nan=True)
        empty = np.flatnonzero(np.isnan(X).all(axis=1))
        if empty.size:
            raise ValueError(
                f"{empty.size} row(s) of X have no observed entry (the first: row {empty[0]}): there is "
                "nothing to condition on; draw such rows with sample()."
            )
        draws = self._completed(X, self._sampling_random_state(random_state), 1 if n_draws is None else n_draws, **kwargs)
        if frame is None:
            return draws[0] if n_draws is None else np.stack(draws)
        tables = [self._decoded(draw, index=frame.index) for draw in draws]
        return tables[0] if n_draws is None else tables

    def _completed(self, X, rng, n_draws=1, **kwargs):
        """``n_draws`` copies of the numeric rows ``X`` with their NaN drawn given the rest.

        The observed entries are mapped to the model's space as in ``fit``
        (typed ones dequantized at random, which is exact: in the model's
        space the position within a cell is independent of the other
        columns), the missing coordinates drawn by :meth:`_condition`, and
        the rows mapped back; observed entries are copied from ``X``.
        """
        self.column_types_.check_observed(
            X, feature_names=getattr(self, "feature_names_in_", None), schema=self._frame_schema
        )
        missing = np.isnan(X)
        rows = np.flatnonzero(missing.any(axis=1))
        draws = [X.copy() for _ in range(n_draws)]
        if len(rows) == 0:
            return draws
        partial = np.tile(X[rows], (n_draws, 1))
        options = {name: np.tile(value[rows], n_draws) for name, value in kwargs.items()}
        filled = np.empty_like(partial)
        # blocks of rows: the model-space arrays (a mixture's projectors) stay bounded
        for start in range(0, len(partial), CONDITION_CHUNK_ROWS):
            block = slice(start, start + CONDITION_CHUNK_ROWS)
            Y, _ = self.column_types_.transform(partial[block], rng)
            block_options = {k: v[block] for k, v in options.items()}
            if self._conditions_on_cells:
                # an observed category is its interval, not a point drawn in it
                low, high = self.column_types_.cells(partial[block])
                in_cell = np.isfinite(low) | np.isfinite(high)
                if in_cell.any():
                    Y[in_cell] = np.nan
                    block_options["cells"] = (self._standardize(low), self._standardize(high))
            Z = np.ascontiguousarray(self._standardize(Y))
            self._check_within_reach(Z, rows[np.arange(start, start + len(Z)) % len(rows)], X)
            with limit_threads(self.n_jobs):
                Z = self._condition(Z, rng, **block_options)
            if not np.all(np.isfinite(Z)):  # pragma: no cover - defensive
                raise FloatingPointError("The conditional sampler diverged; try more n_steps or a stronger regularization.")
            filled[block] = self.column_types_.inverse_transform(self.shift_ + self.scale_ * Z)
        for i, draw in enumerate(draws):
            values = filled[i * len(rows) : (i + 1) * len(rows)]
            draw[rows] = np.where(missing[rows], values, X[rows])
        return draws

    def _check_within_reach(self, Z, rows, X):
        """Refuse an observed value too far from the training data to condition on.

        ``Z`` holds the standardized model coordinates of the rows ``X[rows]``
        (NaN where unknown).

        The samplers weigh particles by squared distances to the observed
        coordinates: far beyond anything seen in fit they lose every digit
        (or overflow), and such a value is more often a sentinel than a
        measurement.
        """
        far = np.abs(np.nan_to_num(Z)) > CONDITIONING_REACH
        if not far.any():
            return
        i, k = np.argwhere(far)[0]
        ends = np.cumsum([column.width for column in self.column_types_.columns_])
        j = int(np.searchsorted(ends, k, side="right"))
        name = _column_name(j, getattr(self, "feature_names_in_", None))
        raise ValueError(
            f"row {rows[i]}: column {name} holds {X[rows[i], j]:g}, more than {CONDITIONING_REACH:g} training "
            "standard deviations from the training mean: too far outside the data to condition on (a sentinel "
            "for a missing value? Make it NaN)."
        )

    def _condition(self, Z, random_state, projectors=None, cells=None):
        """Model-space rows ``Z`` with what is unknown drawn given what is known.

        Known: the non-NaN coordinates, or with ``projectors`` a linear image,
        and with ``cells`` intervals of some coordinates (see
        :meth:`skscore._engine.Diffusion.condition`).
        """
        return self.diffusion_.condition(
            Z, random_state, n_particles=self.n_particles, n_jobs=self.n_jobs, projectors=projectors, cells=cells
        )

    def _decoded(self, X, index=None):
        """Numeric rows in the type of the training data (a DataFrame with its dtypes, when fitted on one)."""
        if self._frame_schema is None:
            return X
        frame = self._frame_schema.decode(X, self.column_types_.kinds_)
        if index is not None:
            frame.index = index
        return frame

    def _given_rows(self, given, n_samples):
        """Rows of NaN with the columns of ``given`` set (numeric codes for labels)."""
        if not isinstance(given, dict):
            raise ValueError(f"given must be a dict {{column: value}}, got {type(given).__name__}.")
        names = getattr(self, "feature_names_in_", None)
        X = np.full((n_samples, self.n_features_in_), np.nan)
        schema = self._frame_schema
        check_index_keys("given", given, schema.index_labels if schema is not None and names is None else None)
        keys = {}
        for key, value in given.items():
            j = _column_position("given", key, self.n_features_in_, names)
            if j in keys:
                raise ValueError(f"given names column {_column_name(j, names)} twice: as {keys[j]!r} and as {key!r}.")
            keys[j] = key
            values = np.asarray(value, dtype=object if schema is not None and j in schema.labels else None)
            if values.ndim > 1 or (values.ndim == 1 and len(values) != n_samples):
                raise ValueError(
                    f"given[{key!r}] must be one value or one per row ({n_samples}), got shape {values.shape}."
                )
            if schema is not None and j in schema.labels:
                codes = self.column_types_.columns_[j].seen_levels
                seen = [schema.labels[j][int(code)] for code in codes]
                positions = [_label_position(v, seen) for v in np.atleast_1d(values)]
                if None in positions:
                    unknown = np.atleast_1d(values)[positions.index(None)]
                    raise ValueError(
                        f"given[{key!r}] = {unknown!r} is not a label seen in fit; the labels seen: {seen}."
                    )
                values = codes[positions]
            try:
                values = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"given[{key!r}] must be numeric, got {value!r}.") from None
            if not np.all(np.isfinite(values)):
                raise ValueError(f"given[{key!r}] must be finite, got {value!r}.")
            X[:, j] = values
        if not np.isnan(X).any():
            raise ValueError("given fixes every column: there is nothing to draw.")
        return X

    # ----------------------------------------------------------------- score
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

        Raises
        ------
        ValueError
            When the model's space differs from the data's: typed columns
            (discrete, bounded, point masses), or a column that took a single
            value in fit (a point mass left out of the model, with no
            gradient; the model fitted without it is the same and has a
            score).

        Notes
        -----
        The score is ``-eps_hat / sin(u)``: a noise-prediction error is
        divided by the noise level, so models trained by denoising score
        matching give their least accurate score at the smallest level (see
        the :ref:`response theory <response>` guide for measurements).
        """
        self._check_ready()
        self._plain_columns("score_function", constants_allowed=False)
        X = self._validate_X(X, reset=False)
        if t is None:
            level = 0
        else:
            check_real("t", t, at_least=0.0)
            if t > 1:
                raise ValueError(f"t must lie in [0, 1], got {t!r}.")
            level = int(round(t * (len(self.noise_angles_) - 1)))
        Z = np.ascontiguousarray(self._standardize(X))
        with limit_threads(self.n_jobs):
            score = self._score(Z, level)
        return score / self.scale_

    def _plain_columns(self, method, constants_allowed):
        """Check that ``method`` can run in the units of the data; return the constant columns.

        The model's space must be the data's: every column continuous,
        unbounded and without point masses, except, where
        ``constants_allowed``, the columns that took a single value in fit,
        which the model leaves out (a point mass).  Returns ``{position:
        value}`` of those; raises ValueError otherwise.
        """
        types = self.column_types_
        if types.is_identity_:
            return {}
        names = getattr(self, "feature_names_in_", None)
        # no coordinate: a lone point mass, or a categorical column of one level
        constants = {j: float(c.decode(np.empty((1, 0)))[0]) for j, c in enumerate(types.columns_) if c.width == 0}
        plain = all(
            j in constants or (c.kind == "continuous" and c.map.is_identity and c.state is None)
            for j, c in enumerate(types.columns_)
        )
        if not plain:
            raise ValueError(
                f"{method} needs continuous, unbounded columns: this model declares typed columns (discrete "
                "columns have no score, and bounds or point masses make the model's space differ from the data's)."
            )
        if not constants_allowed:
            listed = ", ".join(f"{names[j] if names is not None else j} (= {v:g})" for j, v in constants.items())
            raise ValueError(
                f"{method} has no value for a column that took a single value in fit: {listed}.  The model "
                "leaves such a column out (a point mass, with no gradient); fit without it for the score "
                "of the other columns (the same model)."
            )
        return constants

    def _score(self, Z, level):
        """Score of the noised model-space law at ``level``."""
        return self.diffusion_.score(Z, level, device=self.device)
