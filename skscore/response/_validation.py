"""Checks of the inputs of the response functions: trajectories, time step, lags and options.

:func:`_check_lags` is shared with the simulators of :mod:`skscore.response.systems`.
"""

import numbers

import numpy as np

_CORRECTIONS = (None, "stein")
# A covariance (or lag-0 response) more ill-conditioned than this is singular to working precision:
# its inverse keeps about four digits at best, and columns so nearly collinear give no response.
MAX_CONDITION = 1e12
# passes of row-then-column scaling before the condition number is taken (see balanced_inverse)
_BALANCING_PASSES = 4


def balanced_inverse(M):
    """The inverse of the square matrix ``M``, or None where it is singular to working precision.

    Columns in different units (pascals next to a humidity fraction) scale a
    covariance's rows and columns, and a lag-0 response's, by factors that
    say nothing of its singularity: the condition number is taken, and the
    inverse computed, after the rows and then the columns are scaled to a
    largest entry of one, a few passes over (for ``D1 M D2`` with positive
    diagonal ``D1``, ``D2``: the verdict of ``M``).  A zero row or column is
    singular.
    """
    A = np.array(M, dtype=np.float64)
    r, c = np.ones(len(A)), np.ones(len(A))
    for _ in range(_BALANCING_PASSES):
        for axis, scale in ((1, r), (0, c)):
            largest = np.abs(A).max(axis=axis)
            if not np.all(np.isfinite(largest)) or np.any(largest == 0):
                return None
            A /= largest[:, None] if axis == 1 else largest[None, :]
            scale /= largest
    try:
        if np.linalg.cond(A) > MAX_CONDITION:
            return None
        # M = diag(1/r) A diag(1/c), so M^-1 = diag(c) A^-1 diag(r)
        return c[:, None] * np.linalg.inv(A) * r[None, :]
    except np.linalg.LinAlgError:
        return None


def _check_lags(lags):
    """Lags as a sorted array of distinct non-negative step counts."""
    if isinstance(lags, numbers.Integral) and not isinstance(lags, bool):
        if lags < 0:
            raise ValueError(f"lags must be >= 0, got {lags!r}.")
        return np.arange(int(lags) + 1)
    arr = np.asarray(lags)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) or np.any(arr < 0):
        raise ValueError(
            "lags must be a non-negative integer (the largest lag, in steps of dt) or a 1-D array of them, "
            f"got {lags!r}."
        )
    if np.any(np.diff(arr) <= 0):
        raise ValueError("lags must be strictly increasing.")
    return arr.astype(np.int64)


def _check_trajectories(X, lags):
    """A list of finite 2-D float arrays with the same columns, each longer than the largest lag."""
    if isinstance(X, (list, tuple)):
        trajectories = [np.asarray(T, dtype=np.float64) for T in X]
    else:
        arr = np.asarray(X, dtype=np.float64)
        trajectories = list(arr) if arr.ndim == 3 else [arr]
    if len(trajectories) == 0:
        raise ValueError("X must hold at least one trajectory.")
    d = None
    for i, T in enumerate(trajectories):
        if T.ndim != 2 or T.shape[1] == 0:
            raise ValueError(
                f"Trajectory {i} must be a 2-D array (n_times, n_dims), got shape {T.shape}; "
                "use X.reshape(-1, 1) for a scalar series."
            )
        if d is None:
            d = T.shape[1]
        elif T.shape[1] != d:
            raise ValueError(
                f"All trajectories must have the same number of columns: trajectory 0 has {d}, "
                f"trajectory {i} has {T.shape[1]}."
            )
        if not np.all(np.isfinite(T)):
            raise ValueError(f"Trajectory {i} contains NaN or infinity.")
        if T.shape[0] <= lags[-1]:
            raise ValueError(
                f"Trajectory {i} has {T.shape[0]} time points, not more than the largest lag ({lags[-1]} steps)."
            )
    return trajectories


def _check_dt(dt):
    if not (isinstance(dt, numbers.Real) and not isinstance(dt, bool) and np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0, got {dt!r}.")


def _check_options(normalize, correction, n_bootstrap, block_length, snapshot_stride, score_time=None, n_jobs=None):
    if n_jobs is not None and (not isinstance(n_jobs, numbers.Integral) or isinstance(n_jobs, bool) or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a non-zero integer (-1: every core), got {n_jobs!r}.")
    if not (
        score_time is None
        or isinstance(score_time, str)
        and score_time == "auto"
        or isinstance(score_time, numbers.Real)
        and not isinstance(score_time, bool)
        and 0 <= score_time <= 1
    ):
        raise ValueError(f"score_time must be None, 'auto' or a number in [0, 1], got {score_time!r}.")
    if normalize not in (True, False):
        raise ValueError(f"normalize must be True or False, got {normalize!r}.")
    if not any(correction is c or correction == c for c in _CORRECTIONS):
        raise ValueError(f"correction must be one of {_CORRECTIONS}, got {correction!r}.")
    for name, value, minimum in (
        ("n_bootstrap", n_bootstrap, 0),
        ("block_length", block_length, 1),
        ("snapshot_stride", snapshot_stride, 1),
    ):
        if value is None and name != "n_bootstrap":
            continue
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
            raise ValueError(
                f"{name} must be {'None or ' if name != 'n_bootstrap' else ''}an integer >= {minimum}, got {value!r}."
            )
    if n_bootstrap == 1:
        raise ValueError("n_bootstrap must be 0 (no standard errors) or at least 2.")
