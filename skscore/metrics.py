"""Distances between samples, for measuring generated data against held-out data."""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

__all__ = ["sliced_wasserstein"]


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
