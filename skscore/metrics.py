"""Distances between samples, for measuring generated data against held-out data.

Every argument is checked before any computation: a bad one raises a
``ValueError`` (scikit-learn's ``InvalidParameterError`` for the parameters)
that names it.  The distances are computed on copies of the samples rescaled
by a common power of two (an exact operation), so that data of any finite
magnitude give a finite, correct result; a result too large for float64
raises a ``ValueError`` instead of returning ``inf``.
"""

import functools
import inspect
import math
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from sklearn import get_config
from sklearn.base import clone, is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, InvalidParameterError, StrOptions, validate_params
from sklearn.utils.validation import check_array

__all__ = [
    "sliced_wasserstein",
    "wasserstein1",
    "mmd",
    "energy_distance",
    "c2st_auc",
    "dcr",
]


# ------------------------------------------------------------------ validation
def _validated(constraints, *, prefer_skip_nested_validation=True):
    """:func:`sklearn.utils._param_validation.validate_params`, refusing booleans for numbers.

    scikit-learn's numeric intervals accept ``True`` and ``False`` (``bool`` is
    an ``int``); here a boolean is always a mistake.  The wrapper is defined
    in this module so that doctest finds the docstrings of the decorated
    functions.
    """

    def decorator(func):
        checked = validate_params(constraints, prefer_skip_nested_validation=prefer_skip_nested_validation)(func)
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if not get_config()["skip_parameter_validation"]:
                bound = signature.bind(*args, **kwargs)
                for name, value in bound.arguments.items():
                    if isinstance(value, (bool, np.bool_)) and "boolean" not in constraints.get(name, ()):
                        raise InvalidParameterError(
                            f"The {name!r} parameter of {func.__qualname__} must not be a boolean. Got {value!r}."
                        )
            return checked(*args, **kwargs)

        return wrapper

    return decorator


def _check_sample(name, A):
    """``A`` as a finite 2-D float64 array; a ``ValueError`` that names ``name`` if it is not one."""
    try:
        ndim = np.ndim(A)
    except ValueError as exc:  # numpy cannot make an array of it: rows of different lengths
        raise ValueError(f"{name}: cannot be read as a 2-D array of numbers: {exc}") from None
    if ndim != 2:
        # scikit-learn's message for this prints the whole array
        raise ValueError(f"{name}: expected a 2-D array of shape (n_samples, n_features), got {ndim} dimension(s).")
    try:
        return check_array(A, dtype=np.float64, input_name=name)
    except ValueError as exc:
        # scikit-learn names the input in its NaN and infinity messages only
        message = str(exc)
        raise ValueError(message if message.startswith(f"Input {name} ") else f"{name}: {message}") from None


def _check_samples(names, arrays, min_rows=1):
    """Validate samples as finite 2-D float arrays with the same number of columns."""
    checked = []
    for name, A in zip(names, arrays):
        A = _check_sample(name, A)
        if A.shape[0] < min_rows:
            raise ValueError(f"{name} must have at least {min_rows} rows, got {A.shape[0]}.")
        checked.append(A)
    first = checked[0]
    for name, A in zip(names[1:], checked[1:]):
        if A.shape[1] != first.shape[1]:
            raise ValueError(
                f"{names[0]} and {name} must have the same number of columns, got {first.shape[1]} and {A.shape[1]}."
            )
    return checked


# ------------------------------------------------------------ exact rescaling
def _pow2_exponent(*arrays, axis=None):
    """Exponent ``e`` with ``max |A| / 2**e`` in [0.5, 1) over the arrays (0 where all are 0).

    Dividing by ``2**e`` (:func:`numpy.ldexp`) is exact, so homogeneous
    metrics computed on the rescaled arrays and scaled back agree with the
    exact values, without overflow in squares, sums or differences.
    """
    largest = np.max([np.max(np.abs(A), axis=axis) for A in arrays], axis=0)
    return np.frexp(largest)[1]


def _scale_back(value, exponent, what):
    """``value * 2**exponent`` as a float; a ``ValueError`` if it overflows float64."""
    try:
        return math.ldexp(float(value), int(exponent))
    except OverflowError:
        size = math.log10(float(value)) + int(exponent) * math.log10(2.0)
        raise ValueError(
            f"The {what} (about 10**{size:.1f}) overflows float64 (largest about 1.8e308); "
            "divide the data by a common factor."
        ) from None


def _standardize(ref, *others, what="data"):
    """Standardize arrays with the column means and standard deviations of ``ref``.

    Each column is first divided by a power of two (exact), so the moments
    do not overflow whatever the magnitude of the data; a constant column of
    ``ref`` is only centred.  Raises a ``ValueError`` if a standardized
    value overflows float64 (rows of ``others`` very far from ``ref``).
    """
    e = _pow2_exponent(ref, axis=0)
    R = np.ldexp(ref, -e)
    constant = np.ptp(R, axis=0) == 0
    mean = np.where(constant, R[0], R.mean(axis=0))
    std = np.where(constant, 1.0, R.std(axis=0))
    std[std == 0] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        out = [(np.ldexp(A, -e) - mean) / std for A in (ref, *others)]
    if not all(np.isfinite(Z).all() for Z in out):
        raise ValueError(f"The standardized {what} overflow float64: rows lie too far from the reference data.")
    return out


# -------------------------------------------------------------------- metrics
def _sliced_gaps(u, v):
    """Gaps between the quantile functions of the columns of ``u`` and ``v``.

    Exact for samples of any sizes: both quantile functions are step
    functions, so the integral over quantile levels is a finite sum over the
    merged breakpoints.  Returns the absolute gaps, of shape
    ``(n_levels, n_columns)``, and the widths of the levels, so that
    ``W_p^p`` of column ``j`` is ``sum(gaps[:, j] ** p * widths)``.
    """
    u = np.sort(u, axis=0)
    v = np.sort(v, axis=0)
    n, m = u.shape[0], v.shape[0]
    levels = np.union1d(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)
    widths = np.diff(np.concatenate([[0.0], levels]))
    mid = levels - 0.5 * widths
    iu = np.minimum((mid * n).astype(np.int64), n - 1)
    iv = np.minimum((mid * m).astype(np.int64), m - 1)
    return np.abs(u[iu] - v[iv]), widths


@_validated(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "n_projections": [Interval(Integral, 1, None, closed="left")],
        "p": [Interval(Real, 1, None, closed="left")],
        "random_state": ["random_state"],
    }
)
def sliced_wasserstein(X, Y, *, n_projections=500, p=2, random_state=0):
    """Sliced Wasserstein distance between two samples.

    ``SW_p = (E_theta W_p^p(theta'X, theta'Y))^(1/p)`` over directions
    ``theta`` uniform on the sphere, estimated with ``n_projections``
    directions; each one-dimensional distance is exact.  The result is
    homogeneous of degree 1: multiplying both samples by ``c > 0``
    multiplies it by ``c``.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        First sample: finite values, at least one row.
    Y : array-like of shape (n_samples_Y, n_features)
        Second sample, with the same columns (its size may differ).
    n_projections : int, default=500
        Number of random directions, an integer >= 1.
    p : float, default=2
        Order of the distance: any finite real number >= 1, integer or not
        (for ``p < 1`` ``W_p`` is not a distance and is refused).
    random_state : int, RandomState instance or None, default=0
        Seed of the directions (fixed by default, so that distances computed
        in one study share their directions).

    Returns
    -------
    distance : float
        The sliced Wasserstein distance, in the units of the data.

    Raises
    ------
    ValueError
        If a parameter is out of its range or of the wrong type, if the
        samples are not finite 2-D arrays with the same number of columns,
        or if the distance overflows float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.metrics import sliced_wasserstein
    >>> X = np.zeros((10, 3))
    >>> round(sliced_wasserstein(X, X + [1.0, 0.0, 0.0], n_projections=2000), 1)
    0.6
    """
    X, Y = _check_samples(("X", "Y"), (X, Y))
    p = float(p)
    rng = check_random_state(random_state)
    theta = rng.standard_normal((X.shape[1], n_projections))
    theta /= np.linalg.norm(theta, axis=0, keepdims=True)
    e = _pow2_exponent(X, Y)
    gaps, widths = _sliced_gaps(np.ldexp(X, -e) @ theta, np.ldexp(Y, -e) @ theta)
    # W_p^p relative to the largest gap: no overflow or underflow for any p
    largest = gaps.max()
    if largest == 0:
        return 0.0
    mean = np.mean(np.sum((gaps / largest) ** p * widths[:, None], axis=0))
    return _scale_back(largest * mean ** (1.0 / p), e, "sliced Wasserstein distance")


@_validated(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "protocol": [StrOptions({"forestdiffusion"}), None],
    }
)
def wasserstein1(X, Y, *, protocol=None):
    """Exact 1-Wasserstein distance between two samples of equal size.

    With ``n`` rows on each side, an optimal transport plan between the two
    empirical laws can be taken to be a permutation, so ``W_1`` is the mean
    cost of the optimal one-to-one matching of the rows of ``X`` with the rows
    of ``Y`` (solved exactly with :func:`scipy.optimize.linear_sum_assignment`).
    Its cost is cubic in ``n``: keep samples to a few thousand rows.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        First sample (e.g. generated data): finite values, at least one row.
    Y : array-like of shape (n_samples, n_features)
        Second sample, of the same size and columns (e.g. held-out test
        data).
    protocol : {None, 'forestdiffusion'}, default=None
        ``None``: Euclidean ground cost on the data as given (the distance is
        then homogeneous of degree 1 in the data).
        ``'forestdiffusion'``: the benchmark protocol of ForestDiffusion
        (Jolicoeur-Martineau et al., 2024): both samples are min-max scaled
        column-wise with the minimum and maximum of ``Y`` (the reference
        data; columns where ``Y`` is constant are not divided) and the ground
        cost is the L1 (cityblock) distance.

    Returns
    -------
    distance : float
        The mean cost of the optimal matching.

    Raises
    ------
    ValueError
        If the samples are not finite 2-D arrays of the same shape, if
        ``protocol`` is unknown, or if the distance (or a min-max scaled
        value) overflows float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.metrics import wasserstein1
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> wasserstein1(X, X[::-1] + 0.5)
    0.5
    >>> wasserstein1([[0.0, 0.0], [2.0, 10.0]], [[1.0, 0.0], [3.0, 20.0]],
    ...              protocol="forestdiffusion")
    0.75
    """
    X, Y = _check_samples(("X", "Y"), (X, Y))
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"wasserstein1 needs samples of equal size, got {X.shape[0]} and {Y.shape[0]} rows.")
    metric = "euclidean"
    if protocol == "forestdiffusion":
        # min-max scaling on columns divided by a power of two (exact): no overflow in hi - lo
        ec = _pow2_exponent(Y, axis=0)
        with np.errstate(over="ignore", invalid="ignore"):
            Xc, Yc = np.ldexp(X, -ec), np.ldexp(Y, -ec)
            lo, hi = Yc.min(axis=0), Yc.max(axis=0)
            span = hi - lo
            constant = span == 0
            span[constant] = 1.0
            X, Y = (np.where(constant, np.ldexp(A - lo, ec), (A - lo) / span) for A in (Xc, Yc))
        if not np.isfinite(X).all():
            raise ValueError("The min-max scaled X overflows float64: X lies too far from the range of Y.")
        metric = "cityblock"
    e = _pow2_exponent(X, Y)
    cost = cdist(np.ldexp(X, -e), np.ldexp(Y, -e), metric=metric)
    rows, cols = linear_sum_assignment(cost)
    return _scale_back(cost[rows, cols].mean(), e, "1-Wasserstein distance")


def _rbf_mean(A, B, h, leave_out_diagonal):
    """Mean of ``exp(-||a - b||^2 / (2 h^2))`` over the pairs, ``h`` possibly 0 or inf."""
    d = cdist(A, B)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        r = d / h
        k = np.where(d == 0, 1.0, np.exp(-0.5 * r * r))
    if leave_out_diagonal:
        n = k.shape[0]
        return (k.sum() - np.trace(k)) / (n * (n - 1))
    return k.mean()


@_validated(
    {
        "X": ["array-like"],
        "Y": ["array-like"],
        "bandwidth": [StrOptions({"median"}), Interval(Real, 0, None, closed="neither")],
    }
)
def mmd(X, Y, *, bandwidth="median"):
    """Unbiased estimate of the squared maximum mean discrepancy (RBF kernel).

    ``MMD^2 = E k(x, x') + E k(y, y') - 2 E k(x, y)`` with the Gaussian kernel
    ``k(x, y) = exp(-||x - y||^2 / (2 h^2))``. The within-sample averages
    leave out the diagonal terms ``k(x_i, x_i) = 1``, which makes the
    estimate unbiased (Gretton et al., 2012); for samples of equal size the
    cross average leaves out ``k(x_i, y_i)`` too (their ``MMD^2_u``, still
    unbiased, as ``x_i`` and ``y_j`` are independent for ``i != j``), so a
    sample against itself gives exactly 0.  The estimate can be slightly
    negative when the two laws are close. Memory and time are quadratic in
    the number of rows.  With the median bandwidth the estimate does not
    change when both samples are multiplied by the same ``c > 0`` (with a
    fixed bandwidth, multiply it by ``c`` too).

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        First sample: finite values, at least 2 rows.
    Y : array-like of shape (n_samples_Y, n_features)
        Second sample, at least 2 rows and the same columns (its size may
        differ).
    bandwidth : 'median' or float, default='median'
        Kernel bandwidth ``h``, a finite number > 0, or ``'median'``: the
        median of the nonzero pairwise Euclidean distances of the pooled
        sample.

    Returns
    -------
    mmd2 : float
        The unbiased estimate of the squared MMD.

    Raises
    ------
    ValueError
        If ``bandwidth`` is not ``'median'`` or a positive finite number, if
        the samples are not finite 2-D arrays with the same number of columns
        and at least 2 rows each, or if the median heuristic finds no two
        distinct rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.metrics import mmd
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 2))
    >>> mmd(X, X + 2.0) > 0.1
    True
    >>> abs(mmd(X, rng.standard_normal((200, 2)))) < 0.01
    True
    >>> mmd(X, X)
    0.0
    """
    X, Y = _check_samples(("X", "Y"), (X, Y), min_rows=2)
    n, m = X.shape[0], Y.shape[0]
    e = int(_pow2_exponent(X, Y))
    X, Y = np.ldexp(X, -e), np.ldexp(Y, -e)
    if isinstance(bandwidth, str):
        Z = np.vstack([X, Y])
        d = cdist(Z, Z)[np.triu_indices(n + m, k=1)]
        d = d[d > 0]
        if d.size == 0:
            raise ValueError("The median heuristic needs at least two distinct rows; pass a float bandwidth.")
        h = float(np.median(d))
    else:
        try:
            h = math.ldexp(float(bandwidth), -e)  # in the units of the rescaled data; may underflow to 0
        except OverflowError:
            h = math.inf
    xx = _rbf_mean(X, X, h, True)
    yy = _rbf_mean(Y, Y, h, True)
    xy = _rbf_mean(X, Y, h, True) if n == m else _rbf_mean(X, Y, h, False)
    return float(xx + yy - 2.0 * xy)


@_validated({"X": ["array-like"], "Y": ["array-like"]})
def energy_distance(X, Y):
    """Energy distance between two samples.

    ``2 E||X - Y|| - E||X - X'|| - E||Y - Y'||`` (Szekely and Rizzo), with
    Euclidean norms and all expectations taken over all pairs, diagonal
    included (V-statistic). It is nonnegative, exactly 0 for identical
    samples, and zero in the population limit only when the two laws agree;
    it is homogeneous of degree 1 in the data.  Memory and time are
    quadratic in the number of rows.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        First sample: finite values, at least one row.
    Y : array-like of shape (n_samples_Y, n_features)
        Second sample, with the same columns (its size may differ).

    Returns
    -------
    distance : float
        The energy distance, in the units of the data.

    Raises
    ------
    ValueError
        If the samples are not finite 2-D arrays with the same number of
        columns, or if the distance overflows float64.

    Examples
    --------
    >>> from skscore.metrics import energy_distance
    >>> energy_distance([[0.0], [1.0]], [[0.0], [1.0]])
    0.0
    >>> energy_distance([[0.0]], [[3.0]])
    6.0
    """
    X, Y = _check_samples(("X", "Y"), (X, Y))
    e = _pow2_exponent(X, Y)
    X, Y = np.ldexp(X, -e), np.ldexp(Y, -e)
    value = 2.0 * cdist(X, Y).mean() - cdist(X, X).mean() - cdist(Y, Y).mean()
    # the exact value is >= 0, but the three means are rounded separately: for two samples
    # of one empirical law (a permutation) they cancel to a few ulps either side of 0
    value = max(value, 0.0)
    return _scale_back(value, e, "energy distance")


@_validated(
    {
        "X_real": ["array-like"],
        "X_synthetic": ["array-like"],
        "classifier": [HasMethods(["fit", "predict_proba"]), HasMethods(["fit", "decision_function"]), None],
        "cv": [Interval(Integral, 2, None, closed="left"), HasMethods(["split", "get_n_splits"])],
        "random_state": ["random_state"],
    },
    # the classifier's own parameters are checked when it is fitted
    prefer_skip_nested_validation=False,
)
def c2st_auc(X_real, X_synthetic, *, classifier=None, cv=5, random_state=0):
    """Classifier two-sample test: cross-validated ROC AUC of real vs synthetic.

    Real rows are labelled 0 and synthetic rows 1; a classifier is trained to
    tell them apart and scored by ROC AUC over stratified, shuffled folds. An
    AUC of 0.5 means the classifier cannot distinguish the samples (the
    synthetic data look like the real data to it); 1.0 means they are
    perfectly separable. Values somewhat below 0.5 are noise; values well
    below it say that synthetic rows copy real ones (a row's twin, in the
    training folds with the other label, makes the classifier predict the
    opposite): check such a generator with :func:`dcr`.

    The pooled rows are standardized column-wise (with the means and
    standard deviations of the pooled sample, which do not depend on the
    labels; a constant column is only centred) before classification, so
    the result does not depend on the units of the columns, whatever the
    classifier.

    Parameters
    ----------
    X_real : array-like of shape (n_samples_real, n_features)
        Real data: finite values, at least ``cv`` rows when ``cv`` is an int.
    X_synthetic : array-like of shape (n_samples_synthetic, n_features)
        Synthetic data, with the same columns and at least ``cv`` rows when
        ``cv`` is an int.
    classifier : classifier, default=None
        A scikit-learn classifier instance (``is_classifier`` true) with
        ``fit`` and ``predict_proba`` or ``decision_function`` (it is cloned;
        the AUC is computed from ``decision_function`` when there is one,
        otherwise from the probability of the synthetic class). ``None``:
        ``HistGradientBoostingClassifier(max_iter=100, random_state=random_state)``.
    cv : int or cross-validation splitter, default=5
        An int >= 2: the number of folds of
        :class:`~sklearn.model_selection.StratifiedKFold` (shuffled, seeded
        with ``random_state``).  A splitter (an object with ``split`` and
        ``get_n_splits``, e.g. ``StratifiedKFold(3)``) is used as given; each
        of its test folds must hold rows of both samples.
    random_state : int, RandomState instance or None, default=0
        Seed of the fold shuffling and of the default classifier.

    Returns
    -------
    auc : float
        Mean ROC AUC over the folds.

    Raises
    ------
    ValueError
        If a parameter is out of its range or of the wrong type, if the
        samples are not finite 2-D arrays with the same number of columns
        and enough rows for the folds, or if the AUC is undefined on a fold
        (a test fold with rows of one sample only).  Errors raised by the
        classifier propagate.

    Warns
    -----
    UserWarning
        With the default classifier, when a training fold holds fewer rows
        than two of its leaves (``min_samples_leaf=20``): it cannot split
        them and predicts a constant, so the AUC is 0.5 whatever the
        samples (20 real and 20 synthetic rows in 5 folds, for instance).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skscore.metrics import c2st_auc
    >>> rng = np.random.default_rng(0)
    >>> real = rng.standard_normal((100, 2))
    >>> fake = rng.standard_normal((100, 2)) + 5.0
    >>> c2st_auc(real, fake, classifier=LogisticRegression()) > 0.99
    True
    """
    if classifier is not None and (isinstance(classifier, type) or not is_classifier(classifier)):
        raise InvalidParameterError(
            "The 'classifier' parameter of c2st_auc must be a scikit-learn classifier instance "
            f"(sklearn.base.is_classifier). Got {classifier!r} instead."
        )
    X_real, X_synthetic = _check_samples(("X_real", "X_synthetic"), (X_real, X_synthetic))
    n_real, n_synthetic = X_real.shape[0], X_synthetic.shape[0]
    if isinstance(cv, Integral):
        if min(n_real, n_synthetic) < cv:
            raise ValueError(
                f"c2st_auc with cv={cv} needs at least {cv} rows in each sample (one per fold), "
                f"got {n_real} real and {n_synthetic} synthetic rows."
            )
        folds = StratifiedKFold(int(cv), shuffle=True, random_state=random_state)
    else:
        folds = cv
    (X,) = _standardize(np.vstack([X_real, X_synthetic]))
    y = np.concatenate([np.zeros(n_real, dtype=int), np.ones(n_synthetic, dtype=int)])
    if classifier is None:
        classifier = HistGradientBoostingClassifier(max_iter=100, random_state=random_state)
        _warn_if_unsplittable(classifier.min_samples_leaf, folds, X, y)
    else:
        classifier = clone(classifier)
    try:
        scores = cross_val_score(classifier, X, y, scoring="roc_auc", cv=folds, error_score="raise")
    except InvalidParameterError as exc:
        # a bad parameter of the classifier: the decorators of cross_val_score and of
        # this function would name themselves in the message; keep the classifier's
        original = exc
        while isinstance(original.__cause__, InvalidParameterError):
            original = original.__cause__
        raise ValueError(f"The classifier refused its parameters: {original}") from exc
    if not np.isfinite(scores).all():
        raise ValueError(
            "The ROC AUC is undefined on a fold whose test rows all come from one sample; "
            "pass a cv splitter whose test folds hold rows of both samples (e.g. StratifiedKFold)."
        )
    return float(np.mean(scores))


def _warn_if_unsplittable(min_samples_leaf, folds, X, y):
    """Warn when a training fold is too small for a tree with leaves of ``min_samples_leaf`` rows to split."""
    fewest = min(len(train) for train, _ in folds.split(X, y))
    if fewest < 2 * min_samples_leaf:
        warnings.warn(
            f"c2st_auc: the default classifier's leaves hold at least {min_samples_leaf} rows, so it cannot "
            f"split the {fewest} training rows of a fold and predicts a constant: the AUC is 0.5 whatever "
            "the samples. Pass more rows, or a classifier that can split so few (for example "
            "HistGradientBoostingClassifier(min_samples_leaf=5)).",
            UserWarning,
            stacklevel=5,  # past c2st_auc and its two validation wrappers: the caller's line
        )


@_validated({"X_train": ["array-like"], "X_synthetic": ["array-like"], "X_holdout": ["array-like"]})
def dcr(X_train, X_synthetic, X_holdout):
    """Distance to closest record: a memorization (privacy) check.

    All three samples are standardized with the column means and standard
    deviations of ``X_train`` (a constant column is only centred), so the
    result does not depend on the units of the columns.  For each
    synthetic row, the Euclidean distance to its nearest training row is
    computed, and likewise for each holdout row (real data not used in
    training), which serves as the reference: a model that generalizes puts
    its samples no closer to the training rows than fresh real data are.

    How to read it: ``ratio`` near 1 and ``share_closer`` near 0.05 mean no
    sign of copying. A ``ratio`` well below 1, or a ``share_closer`` well
    above 0.05, means that synthetic rows sit unusually close to training
    rows: the model memorizes, and the synthetic data may leak training
    records (``ratio`` 0 and ``share_closer`` 1 when they are copies, or
    ``0.05 / p0`` on discrete data where a share ``p0 >= 0.05`` of the
    holdout rows are themselves copies of training rows: see below). A
    ``ratio`` above 1 means synthetic rows are farther from the training data
    than real data are, which is safe for privacy but can signal poor
    fidelity. Compare ``X_synthetic`` and ``X_holdout`` of similar sizes.

    Parameters
    ----------
    X_train : array-like of shape (n_samples_train, n_features)
        The data the generator was trained on: finite values, at least one
        row.
    X_synthetic : array-like of shape (n_samples_synthetic, n_features)
        Generated data, with the same columns.
    X_holdout : array-like of shape (n_samples_holdout, n_features)
        Real data from the same source, not used in training, with the same
        columns.

    Returns
    -------
    result : dict
        ``'synthetic_median'``: median distance of a synthetic row to its
        closest training row; ``'holdout_median'``: the same for holdout rows
        (both in standardized units);
        ``'ratio'``: ``synthetic_median / holdout_median`` (``inf`` or ``nan``
        when the holdout median is 0); ``'share_closer'``: fraction of
        synthetic rows closer to the training data than the 5th percentile
        ``t`` of the holdout distances, a row at distance exactly ``t``
        counting for the fraction ``w`` that makes exactly 5 % of the holdout
        rows closer: ``w = (0.05 n_holdout - #{holdout rows below t}) /
        #{holdout rows at t}``.  Such ties are common on discrete data, where
        ``t`` is 0 once 5 % of the holdout rows coincide with training rows.
        The holdout itself gives exactly 0.05, fresh draws from its law about
        0.05; exact copies give 1, or ``0.05 / p0`` when a share ``p0 >=
        0.05`` of the holdout rows are at distance 0: a copy is then no
        closer than those real rows (no share of rows can give both 1 for
        copies and about 0.05 for fresh draws).

    Raises
    ------
    ValueError
        If the samples are not finite 2-D arrays with the same number of
        columns, or if standardized values or distances overflow float64
        (rows extremely far from the training data).

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.metrics import dcr
    >>> rng = np.random.default_rng(0)
    >>> train = rng.standard_normal((200, 3))
    >>> holdout = rng.standard_normal((200, 3))
    >>> copied = dcr(train, train[:100], holdout)
    >>> copied["ratio"], copied["share_closer"]
    (0.0, 1.0)
    """
    names = ("X_train", "X_synthetic", "X_holdout")
    arrays = _check_samples(names, (X_train, X_synthetic, X_holdout))
    Z_train, Z_synthetic, Z_holdout = _standardize(*arrays, what="X_synthetic or X_holdout")
    # distances computed on the rows divided by a power of two (exact): no overflow in squares
    e = _pow2_exponent(Z_train, Z_synthetic, Z_holdout)
    train = np.ldexp(Z_train, -e)
    nn = NearestNeighbors(n_neighbors=1).fit(train)
    d_syn, d_hold = (_distance_to_nearest(nn, train, np.ldexp(Z, -e)) for Z in (Z_synthetic, Z_holdout))
    syn_med = float(np.median(d_syn))
    hold_med = float(np.median(d_hold))
    if hold_med > 0:
        ratio = syn_med / hold_med
    else:
        ratio = float("nan") if syn_med == 0 else float("inf")
    return {
        "synthetic_median": _scale_back(syn_med, e, "median synthetic distance"),
        "holdout_median": _scale_back(hold_med, e, "median holdout distance"),
        "ratio": float(ratio),
        "share_closer": _share_closer(d_syn, d_hold, 0.05),
    }


def _distance_to_nearest(nn, train, rows):
    """Euclidean distance of each of ``rows`` to its nearest row of ``train`` (``nn`` fitted on it).

    The neighbour comes from ``nn``, the distance is recomputed from the
    differences: in more than about 15 dimensions ``nn`` searches by brute
    force with ``|a|^2 - 2 a.b + |b|^2``, which leaves about 1e-7 instead of
    0 for a copy, and the ties at 0 of :func:`_share_closer` need exact zeros.
    """
    nearest = nn.kneighbors(rows, return_distance=False)[:, 0]
    return np.sqrt(np.sum((rows - train[nearest]) ** 2, axis=1))


def _share_closer(d_syn, d_hold, alpha):
    """Share of ``d_syn`` below the ``alpha`` quantile ``t`` of ``d_hold``, ties at ``t`` split.

    ``d_syn < t`` alone fails on discrete data: when ``alpha`` of the holdout
    rows or more copy a training row, ``t`` is 0 and even exact copies are not
    below it.  The holdout rows at distance exactly ``t`` are shared out so
    that ``alpha`` of the holdout counts as closer (weight ``(alpha n_holdout -
    #{d_hold < t}) / #{d_hold = t}`` each), and a synthetic row at distance
    ``t`` gets the same weight, since nothing tells it apart from them.
    """
    threshold = np.percentile(d_hold, 100 * alpha)
    tied = np.count_nonzero(d_hold == threshold)
    # no holdout row at t (t between two of them): a synthetic row exactly at t has probability 0
    weight = 0.0
    if tied:
        weight = min(max((alpha * d_hold.size - np.count_nonzero(d_hold < threshold)) / tied, 0.0), 1.0)
    closer = np.count_nonzero(d_syn < threshold) + weight * np.count_nonzero(d_syn == threshold)
    return float(closer / d_syn.size)
