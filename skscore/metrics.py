"""Distances between samples, for measuring generated data against held-out data."""

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

__all__ = [
    "sliced_wasserstein",
    "wasserstein1",
    "mmd",
    "energy_distance",
    "c2st_auc",
    "dcr",
]


def _check_pair(X, Y, names=("X", "Y")):
    """Validate two samples as 2-D float arrays with the same number of columns."""
    X = check_array(X, dtype=np.float64)
    Y = check_array(Y, dtype=np.float64)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of columns, "
            f"got {X.shape[1]} and {Y.shape[1]}."
        )
    return X, Y


def _wasserstein_1d(u, v, p):
    """W_p^p between the empirical laws of the columns of ``u`` and ``v``.

    Exact for samples of any sizes: both quantile functions are step
    functions, so the integral over quantile levels is a finite sum over the
    merged breakpoints.
    """
    u = np.sort(u, axis=0)
    v = np.sort(v, axis=0)
    n, m = u.shape[0], v.shape[0]
    levels = np.union1d(np.arange(1, n + 1) / n, np.arange(1, m + 1) / m)
    widths = np.diff(np.concatenate([[0.0], levels]))
    mid = levels - 0.5 * widths
    iu = np.minimum((mid * n).astype(np.int64), n - 1)
    iv = np.minimum((mid * m).astype(np.int64), m - 1)
    return np.sum(np.abs(u[iu] - v[iv]) ** p * widths[:, None], axis=0)


def sliced_wasserstein(X, Y, *, n_projections=500, p=2, random_state=0):
    """Sliced Wasserstein distance between two samples.

    ``SW_p = (E_theta W_p^p(theta'X, theta'Y))^(1/p)`` over directions
    ``theta`` uniform on the sphere, estimated with ``n_projections``
    directions; each one-dimensional distance is exact.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        First sample.
    Y : array-like of shape (n_samples_Y, n_features)
        Second sample (its size may differ).
    n_projections : int, default=500
        Number of random directions.
    p : float, default=2
        Order of the distance.
    random_state : int, RandomState instance or None, default=0
        Seed of the directions (fixed by default, so that distances computed
        in one study share their directions).

    Returns
    -------
    distance : float
        The sliced Wasserstein distance, in the units of the data.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.metrics import sliced_wasserstein
    >>> X = np.zeros((10, 3))
    >>> round(sliced_wasserstein(X, X + [1.0, 0.0, 0.0], n_projections=2000), 1)
    0.6
    """
    X = check_array(X, dtype=np.float64)
    Y = check_array(Y, dtype=np.float64)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of columns, got {X.shape[1]} and {Y.shape[1]}.")
    rng = check_random_state(random_state)
    theta = rng.standard_normal((X.shape[1], n_projections))
    theta /= np.linalg.norm(theta, axis=0, keepdims=True)
    return float(np.mean(_wasserstein_1d(X @ theta, Y @ theta, p)) ** (1.0 / p))


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
        First sample (e.g. generated data).
    Y : array-like of shape (n_samples, n_features)
        Second sample, of the same size (e.g. held-out test data).
    protocol : {None, 'forestdiffusion'}, default=None
        ``None``: Euclidean ground cost on the data as given.
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
        If the samples differ in size or number of columns, or if
        ``protocol`` is unknown.

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
    X, Y = _check_pair(X, Y)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            "wasserstein1 needs samples of equal size, "
            f"got {X.shape[0]} and {Y.shape[0]} rows."
        )
    if protocol is None:
        metric = "euclidean"
    elif protocol == "forestdiffusion":
        lo, hi = Y.min(axis=0), Y.max(axis=0)
        scale = hi - lo
        scale[scale == 0] = 1.0
        X = (X - lo) / scale
        Y = (Y - lo) / scale
        metric = "cityblock"
    else:
        raise ValueError(
            f"protocol must be None or 'forestdiffusion', got {protocol!r}."
        )
    cost = cdist(X, Y, metric=metric)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


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
    the number of rows.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        First sample, at least 2 rows.
    Y : array-like of shape (n_samples_Y, n_features)
        Second sample, at least 2 rows (its size may differ).
    bandwidth : 'median' or float, default='median'
        Kernel bandwidth ``h``. ``'median'``: the median of the nonzero
        pairwise Euclidean distances of the pooled sample.

    Returns
    -------
    mmd2 : float
        The unbiased estimate of the squared MMD.

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
    X, Y = _check_pair(X, Y)
    n, m = X.shape[0], Y.shape[0]
    if n < 2 or m < 2:
        raise ValueError(f"mmd needs at least 2 rows in each sample, got {n} and {m}.")
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise ValueError(f"bandwidth must be 'median' or a positive float, got {bandwidth!r}.")
        Z = np.vstack([X, Y])
        d = cdist(Z, Z)[np.triu_indices(n + m, k=1)]
        d = d[d > 0]
        if d.size == 0:
            raise ValueError("The median heuristic needs at least two distinct rows; pass a float bandwidth.")
        h = float(np.median(d))
    else:
        h = float(bandwidth)
        if not np.isfinite(h) or h <= 0:
            raise ValueError(f"bandwidth must be 'median' or a positive float, got {bandwidth!r}.")
    gamma = 1.0 / (2.0 * h * h)
    kxx = np.exp(-gamma * cdist(X, X, "sqeuclidean"))
    kyy = np.exp(-gamma * cdist(Y, Y, "sqeuclidean"))
    kxy = np.exp(-gamma * cdist(X, Y, "sqeuclidean"))
    xx = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    xy = (kxy.sum() - np.trace(kxy)) / (n * (n - 1)) if n == m else kxy.mean()
    return float(xx + yy - 2.0 * xy)


def energy_distance(X, Y):
    """Energy distance between two samples.

    ``2 E||X - Y|| - E||X - X'|| - E||Y - Y'||`` (Szekely and Rizzo), with
    Euclidean norms and all expectations taken over all pairs, diagonal
    included (V-statistic). It is nonnegative, exactly 0 for identical
    samples, and zero in the population limit only when the two laws agree.
    Memory and time are quadratic in the number of rows.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        First sample.
    Y : array-like of shape (n_samples_Y, n_features)
        Second sample (its size may differ).

    Returns
    -------
    distance : float
        The energy distance, in the units of the data.

    Examples
    --------
    >>> from skscore.metrics import energy_distance
    >>> energy_distance([[0.0], [1.0]], [[0.0], [1.0]])
    0.0
    >>> energy_distance([[0.0]], [[3.0]])
    6.0
    """
    X, Y = _check_pair(X, Y)
    return float(2.0 * cdist(X, Y).mean() - cdist(X, X).mean() - cdist(Y, Y).mean())


def c2st_auc(X_real, X_synthetic, *, classifier=None, cv=5, random_state=0):
    """Classifier two-sample test: cross-validated ROC AUC of real vs synthetic.

    Real rows are labelled 0 and synthetic rows 1; a classifier is trained to
    tell them apart and scored by ROC AUC over stratified, shuffled folds. An
    AUC of 0.5 means the classifier cannot distinguish the samples (the
    synthetic data look like the real data to it); 1.0 means they are
    perfectly separable. Values somewhat below 0.5 are noise.

    Parameters
    ----------
    X_real : array-like of shape (n_samples_real, n_features)
        Real data.
    X_synthetic : array-like of shape (n_samples_synthetic, n_features)
        Synthetic data.
    classifier : classifier, default=None
        Any scikit-learn classifier with ``predict_proba`` or
        ``decision_function`` (it is cloned). ``None``:
        ``HistGradientBoostingClassifier(max_iter=100, random_state=random_state)``.
    cv : int, default=5
        Number of folds of :class:`~sklearn.model_selection.StratifiedKFold`.
    random_state : int, RandomState instance or None, default=0
        Seed of the fold shuffling and of the default classifier.

    Returns
    -------
    auc : float
        Mean ROC AUC over the folds.

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
    X_real, X_synthetic = _check_pair(X_real, X_synthetic, names=("X_real", "X_synthetic"))
    X = np.vstack([X_real, X_synthetic])
    y = np.concatenate([np.zeros(X_real.shape[0], dtype=int), np.ones(X_synthetic.shape[0], dtype=int)])
    if classifier is None:
        classifier = HistGradientBoostingClassifier(max_iter=100, random_state=random_state)
    else:
        classifier = clone(classifier)
    folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    return float(np.mean(cross_val_score(classifier, X, y, scoring="roc_auc", cv=folds)))


def dcr(X_train, X_synthetic, X_holdout):
    """Distance to closest record: a memorization (privacy) check.

    All three samples are standardized with the column means and standard
    deviations of ``X_train`` (a constant column is only centred). For each
    synthetic row, the Euclidean distance to its nearest training row is
    computed, and likewise for each holdout row (real data not used in
    training), which serves as the reference: a model that generalizes puts
    its samples no closer to the training rows than fresh real data are.

    How to read it: ``ratio`` near 1 and ``share_closer`` near 0.05 mean no
    sign of copying. A ``ratio`` well below 1, or a ``share_closer`` well
    above 0.05, means that synthetic rows sit unusually close to training
    rows: the model memorizes, and the synthetic data may leak training
    records (``ratio`` 0 and ``share_closer`` 1 when they are copies). A
    ``ratio`` above 1 means synthetic rows are farther from the training data
    than real data are, which is safe for privacy but can signal poor
    fidelity. Compare ``X_synthetic`` and ``X_holdout`` of similar sizes.

    Parameters
    ----------
    X_train : array-like of shape (n_samples_train, n_features)
        The data the generator was trained on.
    X_synthetic : array-like of shape (n_samples_synthetic, n_features)
        Generated data.
    X_holdout : array-like of shape (n_samples_holdout, n_features)
        Real data from the same source, not used in training.

    Returns
    -------
    result : dict
        ``'synthetic_median'``: median distance of a synthetic row to its
        closest training row; ``'holdout_median'``: the same for holdout rows;
        ``'ratio'``: ``synthetic_median / holdout_median`` (``inf`` or ``nan``
        when the holdout median is 0); ``'share_closer'``: fraction of
        synthetic rows closer to the training data than the 5th percentile of
        the holdout distances.

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
    X_train = check_array(X_train, dtype=np.float64)
    X_synthetic = check_array(X_synthetic, dtype=np.float64)
    X_holdout = check_array(X_holdout, dtype=np.float64)
    for name, A in (("X_synthetic", X_synthetic), ("X_holdout", X_holdout)):
        if A.shape[1] != X_train.shape[1]:
            raise ValueError(
                f"X_train and {name} must have the same number of columns, "
                f"got {X_train.shape[1]} and {A.shape[1]}."
            )
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std[std == 0] = 1.0
    nn = NearestNeighbors(n_neighbors=1).fit((X_train - mean) / std)
    d_syn = nn.kneighbors((X_synthetic - mean) / std)[0][:, 0]
    d_hold = nn.kneighbors((X_holdout - mean) / std)[0][:, 0]
    syn_med = float(np.median(d_syn))
    hold_med = float(np.median(d_hold))
    if hold_med > 0:
        ratio = syn_med / hold_med
    else:
        ratio = float("nan") if syn_med == 0 else float("inf")
    threshold = np.percentile(d_hold, 5)
    return {
        "synthetic_median": syn_med,
        "holdout_median": hold_med,
        "ratio": float(ratio),
        "share_closer": float(np.mean(d_syn < threshold)),
    }
