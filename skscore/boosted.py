"""GradientBoostedScore: gradient-boosted trees as the noise model (ForestDiffusion)."""

import functools
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from . import _kernels
from ._checks import check_int
from ._engine import CHUNK_SIZE, Diffusion, GaussianBase, NoisePredictor
from ._kernels.kde import gaussian_kde_log_sum_exp
from ._kernels.trees import (
    BinnedFeatures,
    BoosterParams,
    EarlyStopping,
    TreeEnsemble,
    bin_codes,
    empty_ensemble,
    no_early_stopping,
)
from ._parallel import map_chunks, parallel_map
from ._schedules import noise_angles
from .base import BaseDiffusionDensity

# 'auto' duplication: copies of each row up to this many noised rows per level
_AUTO_ROWS_PER_LEVEL = 65536
_MAX_AUTO_COPIES = 100
_MAX_AUTO_ROWS_PER_LEVEL = 1 << 19
# max_leaf_nodes='auto': this many leaves up to this many rows, then growing as the square root of the rows
_AUTO_LEAVES, _AUTO_LEAVES_ROWS, _MAX_AUTO_LEAVES = 31, 8192, 255
# min_samples_leaf='auto': never fewer noised rows than this, whatever min_training_rows_leaf asks
_MIN_AUTO_LEAF = 20
_BIN_SUBSAMPLE = 200_000
# early stopping: a level's held-out rows measure a tree's gain well long before this many
_MAX_HELD_OUT_ROWS = 10_000
# early_stopping='auto': on for classes of at most this many rows (past it, max_leaf_nodes='auto' grows the trees too)
_AUTO_EARLY_STOPPING_ROWS = _AUTO_LEAVES_ROWS
_MAX_BANDWIDTH_DRAWS = 1000
# terminal_noise='auto': the share of each class's rows kept out of the pilot fit, to choose by
_TERMINAL_VALIDATION_SHARE = 0.2
_MAX_TERMINAL_VALIDATION_ROWS = 2000


def _per_class(value, auto, of):
    """A parameter for each class: ``auto(of)`` for 'auto', else ``value`` for all (``of`` has one entry per class)."""
    return auto(of) if isinstance(value, str) and value == "auto" else np.full(len(of), value)


def _auto_early_stopping(n_rows):
    """``early_stopping='auto'`` for classes of ``n_rows`` rows: stop early up to 8192 rows and not beyond.

    On a small class the trees soon fit nothing but the noise of its rows'
    copies, and stopping there costs no held-out likelihood and saves fit
    time.  On a large class the squared error of a level's held-out rows
    stops improving while its trees still sharpen the density (the gains of
    the small-noise levels are tiny against their noise; the large-data
    guide measures it).
    """
    return np.asarray(n_rows) <= _AUTO_EARLY_STOPPING_ROWS


def _auto_copies(n_rows):
    """``duplicate_K='auto'`` for classes of ``n_rows`` rows: up to 100 copies, 65,536 noised rows per level."""
    return np.clip(-(-_AUTO_ROWS_PER_LEVEL // np.asarray(n_rows)), 1, _MAX_AUTO_COPIES)


def _auto_leaves(n_rows):
    """``max_leaf_nodes='auto'`` for classes of ``n_rows`` rows: 31, then growing as ``sqrt(n)`` past 8192 rows."""
    leaves = _AUTO_LEAVES * np.sqrt(np.asarray(n_rows) / _AUTO_LEAVES_ROWS)
    return np.clip(np.round(leaves), _AUTO_LEAVES, _MAX_AUTO_LEAVES).astype(np.int64)


def _auto_min_leaf(copies, training_rows):
    """``min_samples_leaf='auto'`` for classes noised ``copies`` times: ``training_rows`` rows' copies, at least 20.

    At small noise the copies of one row form a tight cloud; a leaf smaller
    than it can be fitted to the noise around that row alone, which makes the
    flow carry its mass back onto the training rows (memorization: the
    held-out likelihood drops while samples look like training rows).  A leaf
    of two rows' copies still lets a level carry draws towards the midpoint of
    a pair where rows are sparse (small tables with many columns); four (the
    default) keep the leaves' averages over enough rows that the likelihood
    rises on most tables while the samples stay as close to held-out rows.
    """
    return np.maximum(_MIN_AUTO_LEAF, training_rows * np.asarray(copies)).astype(np.int64)


# ------------------------------------------------------------------ binning
def _bin_features(X, max_bins, random_state):
    """Quantile bins of every column (NaN gets the code ``max_bins``).

    Returns the codes (row-major, uint8), the number of non-missing bins
    of each feature and the bin edges, as the tree kernels expect them.  A
    column with at most ``max_bins`` distinct values gets one bin per value
    (edges at the midpoints); otherwise the edges are the quantiles of
    ``numpy.quantile`` (linear interpolation), read off one sort.
    """
    n, n_features = X.shape
    codes = np.empty((n, n_features), dtype=np.uint8)
    thresholds = np.full((n_features, max_bins), np.inf)
    n_bins = np.empty(n_features, dtype=np.int64)
    sub = random_state.choice(n, _BIN_SUBSAMPLE, replace=False) if n > _BIN_SUBSAMPLE else slice(None)
    probs = np.linspace(0.0, 1.0, max_bins + 1)[1:-1]
    for f in range(n_features):
        observed = np.sort(X[sub, f])
        observed = observed[: np.searchsorted(observed, np.nan)]  # NaN sorts last
        m = len(observed)
        new = np.ones(m, dtype=bool)
        np.not_equal(observed[1:], observed[:-1], out=new[1:])
        distinct = observed[new]
        if len(distinct) <= max_bins:
            edges = 0.5 * (distinct[:-1] + distinct[1:])
        else:
            pos = probs * (m - 1)
            lo = np.floor(pos).astype(np.int64)
            hi = np.minimum(lo + 1, m - 1)
            edges = np.unique(observed[lo] + (pos - lo) * (observed[hi] - observed[lo]))
        n_bins[f] = len(edges) + 1
        thresholds[f, : len(edges)] = edges
    bin_codes(X, thresholds, n_bins, max_bins, codes)
    return codes, n_bins, thresholds


# -------------------------------------------------------------- one level
class _LevelModel:
    """The predictor of one noise level: a linear map plus boosted trees.

    With a ``bandwidth`` (one per column), the trees' splits are smoothed
    (:func:`skscore._kernels.predict_smoothed_trees`) and the prediction is a
    smooth function with an exact divergence; None keeps the hard splits.
    """

    def __init__(self, coef, trees, bandwidth=None):
        self.coef = coef
        self.trees = trees
        self.bandwidth = bandwidth

    def predict(self, z):
        return self._predict(z, with_divergence=False)[0]

    def predict_with_divergence(self, z):
        """The prediction and its divergence (None for hard splits, which have none)."""
        return self._predict(z, with_divergence=True)

    def _predict(self, z, with_divergence):
        out = z @ self.coef[:-1] + self.coef[-1]
        if self.bandwidth is None:
            if self.trees.feature.shape[0]:
                _kernels.predict_boosted_trees(z, self.trees, out)
            return out, None
        # an empty divergence array tells the kernel to skip it
        div = np.full(len(z), np.trace(self.coef[:-1])) if with_divergence else np.empty(0)
        if self.trees.feature.shape[0]:
            _kernels.predict_smoothed_trees(z, self.trees, self.bandwidth, out, div)
        return out, (div if with_divergence else None)


def _is_missing_label(label):
    """None, a float NaN or pandas' NA (whose truth value raises a TypeError)."""
    if label is None:
        return True
    try:
        return bool(label != label)
    except TypeError:
        return True


def _linear_fit(inputs, targets, weight):
    """Least-squares linear map of the targets on ``[inputs, 1]``.

    Fitted on the rows where everything is observed; with fewer of them than
    columns, on all rows with missing inputs read as 0 (the mean of the
    standardized data) and missing targets left out output by output.
    """
    n, d = inputs.shape
    design = np.hstack([inputs, np.ones((n, 1))])
    complete = ~np.isnan(design).any(axis=1)
    if weight is not None:
        complete &= weight.all(axis=1)
    ridge = 1e-8 * n * np.eye(d + 1)
    if complete.sum() > 2 * (d + 1):
        A, T = design[complete], targets[complete]
        return linalg.solve(A.T @ A + ridge, A.T @ T, assume_a="pos")
    design = np.nan_to_num(design)
    coef = np.empty((d + 1, targets.shape[1]))
    for j in range(targets.shape[1]):
        rows = slice(None) if weight is None else weight[:, j] > 0
        A = design[rows]
        coef[:, j] = linalg.solve(A.T @ A + ridge + 1e-8 * np.eye(d + 1), A.T @ np.nan_to_num(targets[rows, j]), assume_a="pos")
    return coef


def _fit_level(Z, n_copies, angle, target, params, seed):
    """Fit the predictor of one level (and class) on ``Z`` noised ``n_copies`` times.

    Run by joblib workers (threads, processes or dask): everything it needs
    comes in its arguments.
    """
    rng = np.random.RandomState(seed)
    if params["max_rows"] is not None and len(Z) > params["max_rows"]:
        Z = Z[np.sort(rng.choice(len(Z), params["max_rows"], replace=False))]
    Z_check = Z
    if isinstance(params["early_stopping"], str):  # 'held_out_rows'
        Z, Z_check = _held_out_split(Z, params["validation_fraction"], n_copies, rng)
    z, y, missing = _noised(np.tile(Z, (n_copies, 1)), angle, target, rng)
    weight = (~missing).astype(np.float64) if missing.any() else None
    if params["linear_term"]:
        coef = _linear_fit(z, y, weight)
    else:
        coef = np.zeros((Z.shape[1] + 1, Z.shape[1]))
    bandwidth = _split_bandwidth(z, np.sin(angle), params["split_smoothing"])

    def held_out_rows(n_rows, rng):
        """Fresh noised copies of ``n_rows`` rows drawn at random from ``Z_check``: the early stopping's rows."""
        z_out, y_out, missing_out = _noised(Z_check[rng.randint(len(Z_check), size=n_rows)], angle, target, rng)
        weight_out = (~missing_out).astype(np.float64) if missing_out.any() else np.empty((0, 0))
        bandwidth_out = np.empty(0) if bandwidth is None else bandwidth
        return z_out, _residual(z_out, y_out, missing_out, coef), weight_out, bandwidth_out

    trees = _fit_trees(z, _residual(z, y, missing, coef), weight, params, rng, held_out_rows)
    return _LevelModel(coef, trees, bandwidth)


def _held_out_count(validation_fraction, n, n_copies):
    """How many of ``n`` training rows a level keeps out of its fit (see :func:`_held_out_split`).

    ``validation_fraction`` of the rows (a float), or as many rows as give
    that many noised copies (an int); at least one, at most half of them (a
    ValueError beyond: the trees would be fitted on fewer rows than judge
    them, one row for 199 kept out).
    """
    if isinstance(validation_fraction, Integral):
        n_out = -(-int(validation_fraction) // n_copies)
    else:
        n_out = int(np.ceil(validation_fraction * n))
    n_out = max(n_out, 1)
    if n_out > n // 2:
        raise ValueError(
            f"early_stopping='held_out_rows' with validation_fraction={validation_fraction!r} keeps {min(n_out, n)} "
            f"of {n} training rows (of a class) out of each level's fit; at most half can be: use a smaller "
            "validation_fraction (a share such as 0.1)."
        )
    return n_out


def _held_out_split(Z, validation_fraction, n_copies, rng):
    """The rows a level is fitted on and the rows kept out of its fit to judge its trees.

    As many as :func:`_held_out_count` says are kept out, except for a
    single row, which is both.
    """
    n = len(Z)
    if n < 2:
        return Z, Z
    n_out = _held_out_count(validation_fraction, n, n_copies)
    order = rng.permutation(n)
    return Z[np.sort(order[n_out:])], Z[np.sort(order[:n_out])]


def _noised(z0, angle, target, rng):
    """Rows ``z0`` noised at ``angle``: the inputs, the regression targets and where ``z0`` is missing."""
    a, s = np.cos(angle), np.sin(angle)
    eps = rng.standard_normal(z0.shape)
    z = a * z0 + s * eps
    y = eps - z0 if target == "velocity" else eps
    return z, y, np.isnan(z0)


def _residual(z, y, missing, coef):
    """What the linear map leaves of the targets, for the trees.

    A missing input counts as 0 there, and a missing target (the row's own
    noise is then unknowable) is left out: its residual is 0.
    """
    residual = np.ascontiguousarray(y - np.nan_to_num(z) @ coef[:-1] - coef[-1])
    residual[missing] = 0.0
    return residual


def _fit_level_reported(progress, name, *args):
    """:func:`_fit_level`, then its progress line (printed at ``verbose >= 1``, by the worker that fitted it)."""
    model = _fit_level(*args)
    Z, n_copies, params = args[0], args[1], args[4]
    n_rows = len(Z) if params["max_rows"] is None else min(len(Z), params["max_rows"])
    progress.report("%s: linear map and %d trees on %d noised rows", name, model.trees.feature.shape[0], n_rows * n_copies)
    return model


def _split_bandwidth(z, noise_scale, smoothing):
    """Standard deviation of the soft splits of one level, per column (None: hard splits).

    The noised law at this level is the data convolved with a Gaussian of
    standard deviation ``noise_scale``: its velocity field varies on that
    scale, so smoothing a split over a fraction of it blurs little of what
    the trees could learn, while it gives the field a bounded divergence.
    """
    if smoothing is None:
        return None
    return np.full(z.shape[1], smoothing * noise_scale)


def _fit_trees(z, residual, weight, params, rng, held_out_rows):
    """The level's boosted trees on ``residual``, stopped early on ``held_out_rows(n, rng)`` when asked."""
    n_trees = params["max_iter"]
    n_outputs = residual.shape[1]
    trees = empty_ensemble(n_trees, params["max_leaf_nodes"], n_outputs)
    if n_trees == 0:
        return trees
    binned = BinnedFeatures(*_bin_features(z, params["max_bins"], rng))
    k = params["sketch_size"]
    if k is not None and k < n_outputs:
        sketches = rng.standard_normal((n_trees, n_outputs, k)) / np.sqrt(k)
    else:
        sketches = np.empty((0, 0, 0))
    booster = BoosterParams(
        float(params["learning_rate"]),
        float(params["l2_regularization"]),
        int(params["max_depth"]),
        int(params["min_samples_leaf"]),
    )
    weight = np.empty((0, 0)) if weight is None else weight
    if params["early_stopping"]:
        # drawn after the sketches, so that the trees up to the stop are those of a fit without it
        n_held_out = _held_out_size(params["validation_fraction"], len(z))
        stopping = EarlyStopping(*held_out_rows(n_held_out, rng), int(params["n_iter_no_change"]), float(params["tol"]))
    else:
        stopping = no_early_stopping()
    n_kept = _kernels.fit_boosted_trees(binned, residual, weight, sketches, booster, trees, stopping)
    if n_kept < n_trees:
        trees = TreeEnsemble(*(np.ascontiguousarray(field[:n_kept]) for field in trees))
    return trees


def _held_out_size(validation_fraction, n_rows):
    """Held-out rows of a level: a number (an int), or a share of its noised rows (a float), from 1 to 10,000."""
    if isinstance(validation_fraction, Integral):
        return int(validation_fraction)
    return int(np.clip(np.ceil(validation_fraction * n_rows), 1, _MAX_HELD_OUT_ROWS))


# ---------------------------------------------------- one class's diffusion
class _TreePredictor(NoisePredictor):
    """The level models of one class; with ``target='velocity'``, the flow's velocity turned into noise."""

    def __init__(self, levels, target, noise_angles):
        self.levels = levels
        self.target = target
        self.noise_angles = noise_angles

    @property
    def smoothed(self):
        """Whether the trees' splits are soft: then the field has an exact divergence, hard splits have none."""
        return self.levels[0].bandwidth is not None

    divergence_in_closed_form = smoothed

    def predict(self, z, level):
        return self._as_noise(self.levels[level].predict(z), z, level)

    def predict_with_divergence(self, z, level):
        pred, div = self.levels[level].predict_with_divergence(z)
        if div is None:
            raise ValueError("Trees with hard splits have no divergence: fit with split_smoothing set.")
        eps = self._as_noise(pred, z, level)
        if self.target == "noise":
            return eps, div
        a, s = np.cos(self.noise_angles[level]), np.sin(self.noise_angles[level])
        return eps, (z.shape[1] + a * div) / (a + s)

    def _as_noise(self, pred, z, level):
        """The noise predicted at ``level``, from the level model's output (in place)."""
        if self.target == "noise":
            return pred
        # z = a z0 + s eps and v = eps - z0 give eps = (z + a v) / (a + s)
        a, s = np.cos(self.noise_angles[level]), np.sin(self.noise_angles[level])
        pred *= a
        pred += z
        pred /= a + s
        return pred


def _nan_moments(Z):
    """Mean and covariance of rows with missing entries (pairwise available)."""
    mean = np.nanmean(Z, axis=0)
    filled = np.where(np.isnan(Z), mean, Z) - mean
    observed = (~np.isnan(Z)).astype(np.float64)
    counts = np.maximum(observed.T @ observed, 1.0)
    return mean, filled.T @ filled / counts


class GradientBoostedScore(BaseDiffusionDensity):
    """Diffusion or flow-matching density estimator with gradient-boosted trees.

    The tabular generator of ForestDiffusion (Jolicoeur-Martineau, Fatras &
    Kachman, AISTATS 2024) as a scikit-learn estimator, on the shared engine.
    The training rows are copied ``duplicate_K`` times with fresh noise; at
    each of ``n_noise_levels`` levels a regressor learns, from the noised
    rows, the noise (``diffusion_type='vp'``) or the velocity ``eps - x_0`` of
    the straight flow-matching path ``x_t = (1 - t) x_0 + t eps``
    (``'flow'``, the default).  New rows are drawn by integrating back from
    noise through the engine: Euler steps of the flow ODE (the engine's DDIM
    step, which is exactly Euler in ``t`` on the flow grid) or
    Euler-Maruyama steps of the reverse VP SDE, ending with the Tweedie step.

    The regressor of a level is a linear map, fitted by least squares, plus
    ``max_iter`` gradient-boosted regression trees fitted to what it leaves.
    The trees are multi-output: one tree structure predicts every column,
    with splits chosen on a random ``sketch_size``-dimensional projection of
    the residuals (SketchBoost) and exact per-column leaf values, so a level
    costs about as much as a single-output booster whatever the number of
    columns.  The linear map carries the Gaussian part of the answer, which
    trees can only approximate by staircases.

    Missing values (NaN) are accepted by ``fit``: trees send them down their
    own branch, and a missing entry's own noise is left out of the loss.
    :meth:`impute` fills them by conditional sampling (the engine's sequential
    Monte Carlo sampler, as for every model).  With class
    labels, ``fit(X, y)`` trains one diffusion per class, ``sample`` draws
    labelled rows and ``sample(n, y=labels)`` rows of given classes.

    Trees are piecewise constant: their divergence is zero almost
    everywhere, so the change of variables along the flow gives no density.
    By default every split is therefore smoothed (``split_smoothing``): a
    row goes right with a probability that rises from 0 to 1 over a window
    around the threshold, as wide as a fraction of the level's noise scale,
    which makes each tree a smooth function whose divergence has a closed
    form.  :meth:`sample` integrates the probability-flow ODE of this
    smoothed field with Heun's method, and :meth:`score_samples` is the
    log-density of that flow, by the instantaneous change of variables along
    the same ODE on the same grid (the engine's, as for the other models):
    the two describe one distribution, up to the integrator's error.
    ``split_smoothing=None`` keeps ForestDiffusion's hard splits and its
    Euler sampler; :meth:`score_samples` is then a Gaussian kernel density
    estimate of ``n_density_samples`` draws of the model.

    Read more in the :ref:`User Guide <boosted>`.

    Parameters
    ----------
    n_noise_levels : int, default=50
        Number of noise levels, each with its own regressor (ForestDiffusion's
        ``n_t``); sampling makes one prediction per level and row.
    duplicate_K : int or 'auto', default='auto'
        Noised copies of each training row per level.  'auto' uses 100
        copies (ForestDiffusion's default) up to 65,536 noised rows per level
        and class, fewer copies beyond (at least one), and past 524,288 rows
        of a class a fresh random subset of 524,288 rows at each level, so
        that the cost of a level stops growing with the number of rows (the
        levels together still see every row).
    diffusion_type : {'flow', 'vp'}, default='flow'
        'flow': flow matching on the straight path, velocity target, Euler
        sampler.  'vp': the variance-preserving diffusion (the engine's 'vp'
        schedule, beta from 0.1 to 20), noise target, Euler-Maruyama sampler;
        its log-density is not normalized (a warning says so): its first
        levels are too far apart for the change of variables.
    max_iter : int, default=100
        Most boosted trees per level (and class); fewer with
        ``early_stopping``.  0 keeps only the linear maps: a Gaussian model.
    learning_rate : float, default=0.3
        Shrinkage of each tree's values (ForestDiffusion's ``eta``).
    max_leaf_nodes : int or 'auto', default='auto'
        Largest number of leaves of a tree (trees grow best-first).  'auto'
        uses 31 up to 8192 rows (of a class), then ``31 sqrt(n / 8192)``, at
        most 255: capacity growing as the square root of the data, so that
        large tables get finer trees (the :ref:`large data <large_data>`
        guide has the learning curves).  The boosted guide compares 31 with
        128, the capacity of ForestDiffusion's trees of depth 7, on real
        tables.
    max_depth : int or None, default=None
        Deepest level of a tree; None for no limit besides ``max_leaf_nodes``.
    min_samples_leaf : int or 'auto', default='auto'
        Fewest noised rows in a leaf.  'auto' uses the noised copies of
        ``min_training_rows_leaf`` training rows
        (``min_training_rows_leaf * duplicate_K_``, at least 20), so that no
        leaf can be fitted to the noise around a single training row: with
        20, small tables' trees memorize their rows at the smallest noise
        levels and the held-out likelihood drops (the boosted guide has the
        figures and the fit time it costs: balanced splits make larger
        histograms).  With four rows (the default), from about 13,100 rows of
        a class on, 'auto' duplication makes this 20.
    min_training_rows_leaf : int, default=4
        With ``min_samples_leaf='auto'``, the fewest training rows whose
        noised copies a leaf holds (ignored when ``min_samples_leaf`` is a
        number).  Fewer rows give draws closer to the training rows and a
        lower held-out likelihood on small tables; the suite's
        ``boosted-samples`` uses 2.
    l2_regularization : float, default=0.0
        Ridge penalty on the leaf values, in rows.
    max_bins : int, default=255
        Quantile bins per column for the split search (at most 255; missing
        values get a bin of their own).
    sketch_size : int or None, default=4
        Dimension of the random projection of the residuals on which splits
        are chosen; None (or a number not below the number of columns)
        chooses them on all columns.
    linear_term : bool, default=True
        Fit the per-level linear map before the trees.  False gives
        ForestDiffusion's pure-tree regressor.
    early_stopping : bool, 'held_out_rows' or 'auto', default='auto'
        True stops adding trees to a level once they no longer lower the
        squared error on held-out rows: fresh noised copies of training rows
        drawn at random, scored with the level's own (soft or hard) splits.
        The level keeps its trees up to the best one.  Where the noise drowns
        what the data hold (the largest noise levels), later trees fit only
        their own rows' noise, so stopping costs nothing and saves the fit
        time they would take; False fits ``max_iter`` trees at every level,
        as ForestDiffusion does.  'auto' is True for a class of at most 8192
        rows and False for a larger one, whose trees keep sharpening the
        density after the held-out error stops showing it (the small-noise
        levels' gains are tiny against their noise).  'held_out_rows' keeps
        a share of the training rows (``validation_fraction``, a fresh draw
        at each level) out of the level's fit and judges the trees on
        noised copies of those rows: the levels then also stop where the
        trees begin to learn the training rows themselves, for a density and
        conditional draws that generalize (higher held-out likelihood,
        imputation intervals that cover) at the cost of samples further from
        held-out rows on small tables (the boosted guide has the trade).
    validation_fraction : float or int, default=0.1
        With ``early_stopping``: the held-out rows of a level, as a share of
        its noised rows (a float in (0, 1); at most 10,000 rows) or a number
        (an int).  With 'held_out_rows' the same share of the training rows
        (or as many as give that many noised copies) is kept out of each
        level's fit, at least one and at most half of them.
    n_iter_no_change : int, default=10
        With ``early_stopping``: a level stops after this many trees in a row
        without an improvement of the held-out error.
    tol : float, default=1e-4
        With ``early_stopping``: an improvement is a relative decrease of the
        held-out squared error by more than ``tol``.
    split_smoothing : float or None, default=0.25
        Standard deviation of the soft splits, in units of each level's noise
        scale ``sin(u_k)`` (the data are standardized): a split ``x <= t``
        sends a row right with the probability ``F((x - t) / (sqrt(7) h))``,
        ``F`` the distribution function of a biweight kernel, which is 0 or 1
        outside ``t +- sqrt(7) h``.  Wider windows cost more paths per row in
        ``sample`` and ``score_samples``.  None: hard splits, Euler (or
        Euler-Maruyama) sampling as in ForestDiffusion, and a kernel density
        of model draws for :meth:`score_samples`.
    terminal_noise : 'auto' or float, default=0.0
        Gaussian noise left in the model's rows, a bandwidth: the model is
        the flow stopped at the level whose noise ``tan(u_j)`` (in standard
        deviations of the standardized data) is closest to it, its rows
        divided by ``cos(u_j)``; :meth:`sample` and :meth:`score_samples`
        both stop there.  0 runs the flow to the data.  'auto' chooses
        among the flow to the data and the levels of noise up to 1 by
        held-out likelihood: the trees are fitted first without a share of
        the rows (a fifth of each class's rows, at most 2,000), the level
        under which those rows are likeliest is kept where its gain over
        the flow to the data is more than its standard error (a class too
        small to hold two rows out keeps the flow to the data), and
        the trees are fitted again on every row, so ``fit`` costs two to
        three times as much.  Where the trees learn the training rows themselves
        at the smallest noise levels (small tables of continuous
        measurements), this trades a little of the samples' closeness for a
        density that generalizes; where the held-out rows repeat the
        training rows' values (coarsely recorded columns), the flow to the
        data stays.  With ``split_smoothing=None`` 'auto' is 0 (the hard
        splits have no likelihood to choose by).  :meth:`impute` and
        conditional sampling draw from the same blurred law;
        :meth:`score_function` keeps the scores of the noise levels.
    n_density_samples : int, default=10000
        With ``split_smoothing=None`` only: model draws behind the kernel
        density estimate of :meth:`score_samples` (plus a fifth as many, at
        most 1,000, to choose its bandwidth), drawn at the end of ``fit``;
        ``score_samples`` then costs ``O(n_density_samples x n_features)``
        per row.
    preprocessing : {'standard', None}, default='standard'
        Internal standardization of the columns (NaN-aware), or none: the
        noise levels then suppose data of about unit scale (a warning names
        a spread outside [0.1, 10]).
    random_state : int, RandomState instance or None, default=None
        Seed of the training noise, the random sketches, the density draws
        and the default sampling generator.
    n_jobs : int or None, default=None
        Workers: levels (and classes) are fitted in parallel with joblib,
        each worker's threads capped so that the total stays at ``n_jobs``;
        sampling runs row chunks in parallel.  None uses every core, -1 too.
        Under ``joblib.parallel_backend`` (dask, for a cluster) the levels
        go to that backend's workers.
    device : {'cpu', 'auto'}, default='cpu'
        Where the kernels run: the tree ensembles have no CUDA kernels, so
        'auto' runs on the CPU and 'cuda' raises a ValueError (see the
        :ref:`GPU guide <gpu>`).
    %(column_type_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or None
        Class labels seen by ``fit`` (None when fitted without ``y``).
    class_prior_ : ndarray of shape (n_classes,)
        Share of each class in the training rows (``[1.0]`` without ``y``).
    duplicate_K_ : ndarray of shape (n_classes,)
        Noised copies of each row used for each class.
    max_leaf_nodes_ : ndarray of shape (n_classes,)
        Largest number of leaves of the trees of each class.
    min_samples_leaf_ : ndarray of shape (n_classes,)
        Fewest noised rows in a leaf of the trees of each class.
    early_stopping_ : ndarray of shape (n_classes,)
        The early stopping of each class: True, False or 'held_out_rows'
        ('auto' resolved by the class's rows).
    n_trees_ : ndarray of shape (n_classes, n_noise_levels)
        Trees kept at each level of each class (``max_iter`` where
        ``early_stopping_`` is False).
    diffusions_ : list of Diffusion
        One per class, the engine of each (levels, base distribution, tree
        predictor); see :ref:`architecture`.
    noise_angles_ : ndarray of shape (n_noise_levels,)
        Noise angle ``u_k`` of each level (see :mod:`skscore._schedules`).
    terminal_noise_ : ndarray of shape (n_classes,)
        Noise ``tan(u_j)`` of each class's terminal level, 0 where the flow
        runs to the data (``terminal_noise`` resolved).
    bandwidth_ : float
        Bandwidth of the kernel density estimate, in whitened units (set only
        with ``split_smoothing=None``).
    shift_ : ndarray of shape (`n_features_in_`,)
        Column means removed by the internal standardization.
    scale_ : ndarray of shape (`n_features_in_`,)
        Column scales divided out by the internal standardization.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen during fit, when ``X`` has string column names.

    See Also
    --------
    DiffusionRandomFeatures : Diffusion with a random-feature noise model.
    sklearn.ensemble.HistGradientBoostingRegressor : Gradient-boosted trees.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore import GradientBoostedScore
    >>> X = np.random.default_rng(0).standard_normal((100, 2))
    >>> model = GradientBoostedScore(n_noise_levels=10, max_iter=10, duplicate_K=10,
    ...                              random_state=0).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    >>> model.score_samples(X[:2]).shape
    (2,)
    >>> X_missing = X.copy()
    >>> X_missing[0, 1] = np.nan
    >>> bool(np.isnan(model.impute(X_missing, random_state=0)).any())
    False
    """

    _parameter_constraints = {
        **BaseDiffusionDensity._parameter_constraints,
        "n_noise_levels": [Interval(Integral, 2, None, closed="left")],
        "duplicate_K": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "diffusion_type": [StrOptions({"flow", "vp"})],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_leaf_nodes": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"})],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "min_training_rows_leaf": [Interval(Integral, 1, None, closed="left")],
        "l2_regularization": [Interval(Real, 0, None, closed="left")],
        "max_bins": [Interval(Integral, 2, 255, closed="both")],
        "sketch_size": [Interval(Integral, 1, None, closed="left"), None],
        "linear_term": ["boolean"],
        "early_stopping": ["boolean", StrOptions({"held_out_rows", "auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), Interval(Integral, 1, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_density_samples": [Interval(Integral, 10, None, closed="left")],
        "split_smoothing": [Interval(Real, 0, None, closed="neither"), None],
        "terminal_noise": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        n_noise_levels=50,
        *,
        duplicate_K="auto",
        diffusion_type="flow",
        max_iter=100,
        learning_rate=0.3,
        max_leaf_nodes="auto",
        max_depth=None,
        min_samples_leaf="auto",
        min_training_rows_leaf=4,
        l2_regularization=0.0,
        max_bins=255,
        sketch_size=4,
        linear_term=True,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        n_density_samples=10000,
        split_smoothing=0.25,
        terminal_noise=0.0,
        preprocessing="standard",
        random_state=None,
        n_jobs=None,
        device="cpu",
        integer_features=None,
        categorical_features=None,
        bounds=None,
        point_masses=None,
        n_particles=32,
        verbose=0,
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
            verbose=verbose,
        )
        self.n_noise_levels = n_noise_levels
        self.duplicate_K = duplicate_K
        self.diffusion_type = diffusion_type
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.min_training_rows_leaf = min_training_rows_leaf
        self.l2_regularization = l2_regularization
        self.max_bins = max_bins
        self.sketch_size = sketch_size
        self.linear_term = linear_term
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.n_density_samples = n_density_samples
        self.split_smoothing = split_smoothing
        self.terminal_noise = terminal_noise

    @property
    def _smoothed(self):
        """Whether the fitted trees have soft splits (read off the fit, not the parameter)."""
        return self.diffusions_[0].predictor.smoothed

    @property
    def _target(self):
        """What the level regressors learn: the flow's velocity or the VP diffusion's noise."""
        return "velocity" if self.diffusion_type == "flow" else "noise"

    @property
    def _fitted_flow(self):
        """Whether the fitted levels are the flow's (read off the fit: diffusion_type may be set since)."""
        return self.diffusions_[0].predictor.target == "velocity"

    @property
    def _sampler(self):
        # smoothed splits: the ODE and grid that score_samples integrates
        if self._smoothed:
            return "heun"
        # Euler steps of the flow ODE are the engine's DDIM steps on the flow grid
        return "ddim" if self._fitted_flow else "euler_maruyama"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------ validation
    def _check_labels(self, y, n_rows):
        y = column_or_1d(y, warn=True)
        if len(y) != n_rows:
            raise ValueError(f"y has {len(y)} labels but X has {n_rows} rows.")
        if y.dtype == object:
            # a missing label sorts with no other (np.unique raised "'<' not supported")
            missing = [i for i, label in enumerate(y) if _is_missing_label(label)]
            if missing:
                raise ValueError(
                    f"y holds {len(missing)} missing label(s) (None, NaN or pd.NA; the first at row {missing[0]})."
                )
        check_classification_targets(y)
        return y

    def _label_codes(self, y, n_samples):
        """Class indices of the labels ``y`` (a scalar is repeated)."""
        if np.ndim(y) == 0:
            y = np.full(n_samples, y, dtype=np.asarray(y).dtype)
        y = column_or_1d(y)
        if len(y) != n_samples:
            raise ValueError(f"y must hold one label per row: {n_samples} rows, got {len(y)} labels.")
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        unknown = self.classes_[codes] != y
        if np.any(unknown):
            raise ValueError(f"y holds labels not seen in fit: {np.unique(y[unknown])!r}; classes are {self.classes_!r}.")
        return codes

    # ----------------------------------------------------------------- fit
    def _fit_preprocessing(self, X, random_state):
        # before the NaN-aware standardization, which would warn on them
        empty = np.isnan(X).all(axis=0)
        if np.any(empty):
            raise ValueError(f"Columns {np.flatnonzero(empty).tolist()} of X have no observed value.")
        return super()._fit_preprocessing(X, random_state)

    def _fit_density(self, Z, y, random_state):
        """Fit one diffusion per class (one in all without labels), then the density."""
        if y is None:
            self.classes_ = None
            codes = np.zeros(len(Z), dtype=np.int64)
            n_classes = 1
        else:
            y = self._check_labels(y, len(Z))
            self.classes_, codes = np.unique(y, return_inverse=True)
            n_classes = len(self.classes_)
        counts = np.bincount(codes, minlength=n_classes)
        self.class_prior_ = counts / counts.sum()
        copies = self.duplicate_K_ = _per_class(self.duplicate_K, _auto_copies, counts)
        self.max_leaf_nodes_ = _per_class(self.max_leaf_nodes, _auto_leaves, counts)
        self.early_stopping_ = _per_class(self.early_stopping, _auto_early_stopping, counts)
        for count, n_copies, stopping in zip(counts, copies, self.early_stopping_):
            if stopping == "held_out_rows" and count >= 2:  # refused before any level is fitted
                _held_out_count(self.validation_fraction, count, n_copies)
        self.min_samples_leaf_ = _per_class(
            self.min_samples_leaf, functools.partial(_auto_min_leaf, training_rows=self.min_training_rows_leaf), copies
        )
        # the flow's straight path, or the VP process, as the engine's grid of angles
        angles = noise_angles(self.diffusion_type, self.n_noise_levels)
        self.noise_angles_ = angles

        groups = [np.ascontiguousarray(Z[codes == c]) for c in range(n_classes)]
        seeds = random_state.randint(np.iinfo(np.int32).max, size=(n_classes, self.n_noise_levels))
        levels = self._fit_levels(groups, copies, seeds)
        self.n_trees_ = np.array([[level.trees.feature.shape[0] for level in class_levels] for class_levels in levels])
        self.diffusions_ = []
        for Zc, class_levels in zip(groups, levels):
            mean, cov = _nan_moments(Zc) if len(Zc) > 1 else (np.nan_to_num(Zc[0]), np.zeros((Z.shape[1],) * 2))
            mean, cov = np.nan_to_num(mean), np.nan_to_num(cov)
            base = GaussianBase.noised(mean, cov, angles[-1])
            self.diffusions_.append(self._class_diffusion(class_levels, base, cov))
        terminal = self._terminal_levels(groups, copies, random_state)
        for diffusion, level in zip(self.diffusions_, terminal):
            diffusion.terminal_level = level
        self.terminal_noise_ = np.array([diffusion.terminal_noise for diffusion in self.diffusions_])
        if self.split_smoothing is None:
            self._fit_kde(random_state)

    def _class_diffusion(self, class_levels, base, covariance=None):
        """The diffusion of one class's fitted level regressors (the model's, or the pilot fit's)."""
        predictor = _TreePredictor(class_levels, self._target, self.noise_angles_)
        return Diffusion(self.noise_angles_, base, predictor, held_first_level=True, data_covariance=covariance)

    def _terminal_levels(self, groups, copies, random_state):
        """The terminal level of each class's diffusion (None: the flow to the data), see ``terminal_noise``."""
        n_classes = len(groups)
        if self.terminal_noise != "auto":
            if self.terminal_noise == 0:
                return [None] * n_classes
            # the last level is the base distribution itself: the nearest of the others
            return [int(np.argmin(np.abs(np.tan(self.noise_angles_[:-1]) - self.terminal_noise)))] * n_classes
        if self.split_smoothing is None:
            return [None] * n_classes
        # a pilot fit without each class's validation rows (complete rows only: they are scored)
        fitted, held_out = [], []
        for Zc in groups:
            complete = np.flatnonzero(~np.isnan(Zc).any(axis=1))
            n_val = min(int(round(_TERMINAL_VALIDATION_SHARE * len(Zc))), _MAX_TERMINAL_VALIDATION_ROWS)
            if n_val < 2 or len(Zc) - n_val < 2 or len(complete) < n_val:
                fitted.append(None)  # too few rows to hold any out: the flow, and no pilot trees
                held_out.append(None)
                continue
            val = random_state.choice(complete, n_val, replace=False)
            fitted.append(np.ascontiguousarray(np.delete(Zc, val, axis=0)))
            held_out.append(Zc[val])
        if all(rows is None for rows in held_out):
            return [None] * n_classes
        seeds = random_state.randint(np.iinfo(np.int32).max, size=(n_classes, self.n_noise_levels))
        pilot = self._fit_levels(fitted, copies, seeds)
        levels = []
        for diffusion, class_levels, rows in zip(self.diffusions_, pilot, held_out):
            if rows is None:
                levels.append(None)
                continue
            trial = self._class_diffusion(class_levels, diffusion.base)
            levels.append(trial.best_terminal_level(rows, n_jobs=self.n_jobs))
        self._progress().report("terminal level of each class: %s", levels, level=1)
        return levels

    def _fit_levels(self, groups, copies, seeds):
        """Every (class, level) regressor, in parallel joblib workers (none for a class whose group is None)."""
        params = {
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "max_depth": np.iinfo(np.int32).max if self.max_depth is None else self.max_depth,
            "l2_regularization": self.l2_regularization,
            "max_bins": self.max_bins,
            "sketch_size": self.sketch_size,
            "linear_term": self.linear_term,
            "validation_fraction": self.validation_fraction,
            "n_iter_no_change": self.n_iter_no_change,
            "tol": self.tol,
            "split_smoothing": self.split_smoothing,
            # 'auto' duplication: a level's rows stop growing with the data
            "max_rows": _MAX_AUTO_ROWS_PER_LEVEL if isinstance(self.duplicate_K, str) else None,
        }
        tasks = [(c, k) for c, rows in enumerate(groups) if rows is not None for k in range(self.n_noise_levels)]
        params = [
            {**params, "max_leaf_nodes": int(leaves), "min_samples_leaf": int(min_leaf), "early_stopping": stopping}
            for leaves, min_leaf, stopping in zip(self.max_leaf_nodes_, self.min_samples_leaf_, self.early_stopping_)
        ]
        arguments = [
            (groups[c], int(copies[c]), self.noise_angles_[k], self._target, params[c], seeds[c, k]) for c, k in tasks
        ]
        progress = self._progress()
        progress.report(
            "%d levels x %d class(es), noised copies of each row: %s",
            self.n_noise_levels,
            len(tasks) // self.n_noise_levels,
            copies.tolist(),
            level=2,
        )
        # threads by default; a backend set by joblib.parallel_backend (dask) takes over
        # each worker reports the level it fitted (a silent reporter prints nothing)
        names = [self._level_name(c, k) for c, k in tasks]
        fitted = parallel_map(
            _fit_level_reported, [(progress, name, *task) for name, task in zip(names, arguments)], self.n_jobs
        )
        levels = [[None] * self.n_noise_levels for _ in groups]
        for (c, k), model in zip(tasks, fitted):
            levels[c][k] = model
        return levels

    def _level_name(self, c, k):
        """How the progress lines of ``fit`` name the regressor of class ``c`` at level ``k``."""
        level = f"level {k + 1} of {self.n_noise_levels}"
        return level if self.classes_ is None else f"class {self.classes_[c]}, {level}"

    # --------------------------------------------------------------- sample
    def _sample(self, n_samples, rng, codes=None):
        """Model-space rows of the given classes (drawn from ``class_prior_`` when None)."""
        if codes is None:
            codes = (
                np.zeros(n_samples, dtype=np.int64)
                if len(self.diffusions_) == 1
                else rng.choice(len(self.diffusions_), size=n_samples, p=self.class_prior_)
            )
        Z = np.empty((len(codes), len(self.shift_)))  # model-space width (typed columns widen it)
        for c, diffusion in enumerate(self.diffusions_):
            rows = np.flatnonzero(codes == c)
            if len(rows):
                Z[rows] = diffusion.sample(len(rows), rng, sampler=self._sampler, n_jobs=self.n_jobs)
        return Z

    def sample(self, n_samples=1, *, y=None, given=None, random_state=None):
        """Generate samples from the fitted model.

        Draws from each class's base distribution and integrates back through
        every level: Heun steps of the probability-flow ODE of the smoothed
        trees (the flow :meth:`score_samples` scores); with
        ``split_smoothing=None``, Euler steps of the flow ODE
        (``diffusion_type='flow'``) or Euler-Maruyama steps of the reverse
        SDE (``'vp'``).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to generate.
        y : array-like of shape (n_samples,), label or None, default=None
            Classes of the rows to draw, for a model fitted with labels (a
            single label is used for every row).  None draws the classes
            from their training frequencies.
        given : dict or None, default=None
            ``{column: value}`` (one value, or one per row): rows drawn given
            these columns' values, as in
            :meth:`BaseDiffusionDensity.sample <skscore.base.BaseDiffusionDensity.sample>`
            (with labels, from the given classes; ``y`` is then required).
        random_state : int, RandomState instance or None, default=None
            Seed for this call.  When None, a generator seeded at ``fit`` and
            advanced by every call is used: repeated calls give fresh draws,
            and a cloned and refitted (or pickled) model repeats them.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples in the units of the training data.
        y : ndarray of shape (n_samples,)
            Their classes; returned (as ``(X, y)``, the convention of
            :meth:`sklearn.mixture.GaussianMixture.sample`) only by a model
            fitted with labels and called with ``y=None``.
        """
        self._check_ready()
        check_int("n_samples", n_samples, 1)
        if self.classes_ is None:
            if y is not None:
                raise ValueError("This model was fitted without labels: sample(n_samples) takes no y.")
            return super().sample(n_samples, given=given, random_state=random_state)
        rng = self._sampling_random_state(random_state)
        if given is not None:
            if y is None:
                raise ValueError("This model was fitted with labels: sample(n_samples, given=...) needs the classes y.")
            rows = self._given_rows(given, n_samples)
            return self._decoded(self._completed(rows, rng, codes=self._label_codes(y, n_samples))[0])
        if y is None:
            codes = rng.choice(len(self.classes_), size=n_samples, p=self.class_prior_)
        else:
            codes = self._label_codes(y, n_samples)
        X = self._inverse_transform(self._checked_sample(n_samples, rng, codes=codes))
        return (X, self.classes_[codes]) if y is None else X

    # -------------------------------------------------------------- density
    def _fit_kde(self, random_state):
        """Kernel density estimate of the fitted model, from its own draws.

        ``n_density_samples`` draws are the kernel centres, whitened by their
        covariance; the bandwidth maximizes the likelihood of a fifth as many
        fresh draws (at most 1,000), by a bounded scalar search.
        """
        n_fit = self.n_density_samples
        n_val = min(max(n_fit // 5, 2), _MAX_BANDWIDTH_DRAWS)
        rng = np.random.RandomState(random_state.randint(np.iinfo(np.int32).max))
        with np.errstate(all="ignore"):
            draws = self._sample(n_fit + n_val, rng)
        points, held_out = draws[:n_fit], draws[n_fit:]
        d = points.shape[1]
        self._kde_mean = points.mean(axis=0)
        cov = np.atleast_2d(np.cov(points, rowvar=False))
        cov += 1e-10 * max(np.trace(cov) / d, 1.0) * np.eye(d)
        self._kde_chol = linalg.cholesky(cov, lower=True)
        self._kde_points = np.ascontiguousarray(self._whiten(points))
        held_out = np.ascontiguousarray(self._whiten(held_out))
        scott = n_fit ** (-1.0 / (d + 4))

        def neg_loglik(log_h):
            return -np.mean(self._kde_whitened(held_out, np.exp(log_h)))

        result = minimize_scalar(
            neg_loglik, bounds=(np.log(scott / 30.0), np.log(2.0 * scott)), method="bounded", options={"xatol": 0.02}
        )
        self.bandwidth_ = float(np.exp(result.x))
        self._progress().report(
            "kernel density estimate: %d model draws, bandwidth %.3g (chosen on %d more)", n_fit, self.bandwidth_, n_val
        )

    def _whiten(self, z):
        # rows far enough to overflow the standardization (infinite) get the floor from the kernel
        return linalg.solve_triangular(self._kde_chol, (z - self._kde_mean).T, lower=True, check_finite=False).T

    def _kde_whitened(self, w, bandwidth):
        """Log-density of the kernel estimate at whitened rows ``w``."""
        d = self._kde_points.shape[1]
        log_norm = np.log(len(self._kde_points)) + d * np.log(bandwidth) + 0.5 * d * np.log(2 * np.pi)
        out = np.empty(len(w))
        gaussian_kde_log_sum_exp(w, self._kde_points, 0.5 / bandwidth**2, out)
        return out - log_norm

    def _log_density(self, Z):
        if np.isnan(Z).any():
            raise ValueError(
                "score_samples does not accept missing values (NaN): the density of partly observed rows "
                "is not computed; impute them first with impute(X)."
            )
        if self._smoothed:
            return self._flow_log_density(Z)
        log_det = np.log(np.diag(self._kde_chol)).sum()

        def chunk(start, stop):
            w = np.ascontiguousarray(self._whiten(Z[start:stop]))
            return self._kde_whitened(w, self.bandwidth_) - log_det

        return map_chunks(chunk, len(Z), CHUNK_SIZE, self.n_jobs)

    def _flow_log_density(self, Z):
        """Log-density along the probability flow, mixed over the classes."""
        if not self._fitted_flow:
            warnings.warn(
                "GradientBoostedScore(diffusion_type='vp'): the VP grid's first levels are too far apart for the "
                "change of variables along the flow (the splits there are nearly hard), so score_samples is not a "
                "normalized density: it spikes at the training rows. Use diffusion_type='flow' for densities.",
                UserWarning,
            )
        terms = [
            np.log(prior) + diffusion.log_density(Z, n_jobs=self.n_jobs)
            for prior, diffusion in zip(self.class_prior_, self.diffusions_)
        ]
        return terms[0] if len(terms) == 1 else logsumexp(terms, axis=0)

    # ---------------------------------------------------------------- score
    def _score(self, Z, level):
        if self.classes_ is not None:
            raise ValueError(
                "score_function is not available for a model fitted with labels: the score of the "
                "mixture of its classes needs their noised densities."
            )
        if np.isnan(Z).any():
            raise ValueError("score_function does not accept missing values (NaN).")
        return self.diffusions_[0].score(Z, level)

    # --------------------------------------------------------------- impute
    def impute(self, X, *, y=None, n_draws=None, random_state=None):
        """Fill the missing entries (NaN) of ``X`` by drawing them from the model given the rest.

        As :meth:`BaseDiffusionDensity.impute <skscore.base.BaseDiffusionDensity.impute>`;
        a model fitted with labels draws each row from its class's diffusion.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Rows with missing entries as NaN; every row needs an observed entry.
        y : array-like of shape (n_samples,) or None, default=None
            Classes of the rows; required by a model fitted with labels.
        n_draws : int or None, default=None
            None returns one completed table; an integer returns that many.
        random_state : int, RandomState instance or None, default=None
            Seed for this call; None uses the model's sampling generator.

        Returns
        -------
        X_imputed : ndarray or DataFrame of shape (n_samples, n_features)
            ``X`` with every NaN replaced, observed entries unchanged; with
            ``n_draws``, an ndarray of shape (n_draws, n_samples, n_features)
            or a list of DataFrames.
        """
        self._check_ready()
        if self.classes_ is None:
            if y is not None:
                raise ValueError("This model was fitted without labels: impute(X) takes no y.")
            return self._impute(X, n_draws, random_state)
        if y is None:
            raise ValueError("This model was fitted with labels: pass the rows' classes, impute(X, y=y).")
        if np.ndim(X) != 2:  # not rows: let the validation of X say so before the labels are counted
            self._validate_X(X, reset=False, allow_nan=True)
        return self._impute(X, n_draws, random_state, codes=self._label_codes(y, len(X)))

    def _condition(self, Z, random_state, codes=None, projectors=None, cells=None):
        """Each row drawn given its known part by its class's diffusion."""
        if codes is None:
            codes = np.zeros(len(Z), dtype=np.int64)
        out = np.empty_like(Z)
        for c, diffusion in enumerate(self.diffusions_):
            rows = np.flatnonzero(codes == c)
            if len(rows):
                out[rows] = diffusion.condition(
                    Z[rows],
                    random_state,
                    n_particles=self.n_particles,
                    n_jobs=self.n_jobs,
                    projectors=None if projectors is None else projectors[rows],
                    cells=None if cells is None else (cells[0][rows], cells[1][rows]),
                )
        return out
