"""Response of any observable to any forcing pattern ``u(x)``."""

import numpy as np

from ._covariance import _bootstrap_lagged_covariance, _with_zero
from ._matrix_response import _result
from ._score import _difference_steps, _scores_along, _stein_correct
from ._validation import _check_dt, _check_lags, _check_options, _check_trajectories


def _as_columns(values, n, name):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[0] != n:
        raise ValueError(
            f"{name} must return an array of shape (n_samples,) or (n_samples, n_outputs) "
            f"for {n} rows, got shape {values.shape}."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} returned NaN or infinity on the trajectory.")
    return values


def _forcing_terms(forcing, forcing_divergence, X):
    """The forcing pattern ``u`` (n, d) and its divergence (n,) at the rows of ``X``."""
    n, d = X.shape
    if not callable(forcing):
        u = np.asarray(forcing, dtype=np.float64)
        if u.shape != (d,) or not np.all(np.isfinite(u)):
            raise ValueError(f"forcing must be a callable or a finite vector of length {d}, got {forcing!r}.")
        return np.broadcast_to(u, (n, d)), np.zeros(n)
    u = np.asarray(forcing(X), dtype=np.float64)
    if u.shape != (n, d) or not np.all(np.isfinite(u)):
        raise ValueError(f"forcing(X) must return a finite array of shape ({n}, {d}), got shape {u.shape}.")
    if forcing_divergence is not None:
        div = _as_columns(forcing_divergence(X), n, "forcing_divergence")
        if div.shape[1] != 1:
            raise ValueError("forcing_divergence must return one value per row.")
        return u, div[:, 0]
    # central differences, with steps relative to each column's spread
    step = _difference_steps(X)
    div = np.zeros(n)
    shifted = X.copy()
    for j in range(d):
        shifted[:, j] = X[:, j] + step[j]
        # copies: a forcing may return its input (u(x) = x), which the next shift would change
        plus = np.array(forcing(shifted), dtype=np.float64)[:, j]
        shifted[:, j] = X[:, j] - step[j]
        minus = np.array(forcing(shifted), dtype=np.float64)[:, j]
        shifted[:, j] = X[:, j]
        div += (plus - minus) / (2.0 * step[j])
    return u, div


def observable_response(
    X,
    lags,
    observable=None,
    forcing=None,
    estimator=None,
    *,
    forcing_divergence=None,
    dt=1.0,
    correction="stein",
    score_time="auto",
    snapshot_stride=None,
    n_bootstrap=0,
    block_length=None,
    random_state=None,
    n_jobs=None,
):
    """Response of an observable to a forcing pattern: ``R_A(tau) = < A(x(t + tau)) B(x(t)) >``.

    For the system forced as ``dx = [F(x) + u(x) f(t)] dt + noise``, the
    conjugate variable is ``B = -div u - u . s`` and the change of the mean
    of ``A`` is ``delta <A>(t) = sum_j R_A(t - t_j) f(t_j) dt``
    (:func:`forced_response`).  With ``A = x`` and ``u = e_j`` this is
    column ``j`` of :func:`score_response`.

    Read more in the :ref:`User Guide <response>`.

    Parameters
    ----------
    X : array-like of shape (n_times, n_dims), or a list of such arrays
        One or several stationary trajectories sampled every ``dt``.
    lags : int or array-like of int
        Lags in steps of ``dt`` (an int ``L`` means ``0, 1, ..., L``).
    observable : callable or None, default=None
        ``A(X)``: rows (n, n_dims) to values (n,) or (n, n_observables).
        None is the state itself.
    forcing : array-like of shape (n_dims,) or callable
        The forcing pattern ``u``: a constant vector (then ``div u = 0``) or
        a callable mapping rows (n, n_dims) to (n, n_dims).
    estimator : object or None, default=None
        As in :func:`score_response`.
    forcing_divergence : callable or None, default=None
        ``div u(X)`` (n,) for a callable ``forcing``; None computes it by
        central finite differences (``2 n_dims`` extra calls of ``forcing``).
    dt : float, default=1.0
        Time step; only sets ``times = lags * dt``.
    correction : {'stein', None}, default='stein'
        As in :func:`score_response`.
    score_time : 'auto', float in [0, 1] or None, default='auto'
        As in :func:`score_response`.
    snapshot_stride : int or None, default=None
        As in :func:`score_response`.
    n_bootstrap : int, default=0
        Block-bootstrap replicates for standard errors (0: none).
    block_length : int or None, default=None
        Bootstrap block length in steps (None: as in :func:`score_response`).
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.
    n_jobs : int or None, default=None
        Threads of the FFTs; None uses every core.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``response`` of shape (n_lags, n_observables), ``standard_error``
        (same shape, or None), ``lags``, ``times``, ``response_at_zero``
        (``R_A(0)``, equal to ``< u . grad A >`` in theory), ``estimator``,
        ``snapshot_stride``, ``score_time`` and ``score_time_selection``.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.response import observable_response
    >>> from skscore.response.systems import OrnsteinUhlenbeck
    >>> ou = OrnsteinUhlenbeck([[1.0]])
    >>> X = ou.simulate(20000, 0.1, random_state=0)
    >>> class ExactScore:
    ...     def score_function(self, X):
    ...         return ou.score(X)
    >>> # response of <x^2> to a constant push on x: zero by symmetry
    >>> r = observable_response(X, 5, lambda X: X[:, 0] ** 2, [1.0], ExactScore(), dt=0.1)
    >>> r.response.shape
    (6, 1)
    """
    _check_dt(dt)
    _check_options(False, correction, n_bootstrap, block_length, snapshot_stride, score_time, n_jobs)
    if forcing is None:
        raise ValueError("forcing is required: a vector of length n_dims or a callable u(X).")
    lags = _check_lags(lags)
    trajectories = _check_trajectories(X, lags)
    scores, report = _scores_along(trajectories, estimator, snapshot_stride, score_time, correction)
    if correction == "stein":
        scores = _stein_correct(trajectories, scores)
    As, Bs = [], []
    for T, s in zip(trajectories, scores):
        As.append(T.copy() if observable is None else _as_columns(observable(T), len(T), "observable"))
        u, div = _forcing_terms(forcing, forcing_divergence, T)
        Bs.append((-div - np.sum(u * s, axis=1))[:, None])
    if len({A.shape[1] for A in As}) != 1:
        raise ValueError("observable must return the same number of columns for every trajectory.")
    all_lags, keep = _with_zero(lags)
    response, standard_error = _bootstrap_lagged_covariance(
        As,
        Bs,
        all_lags,
        trajectories,
        block_length=block_length,
        n_bootstrap=n_bootstrap,
        transform=lambda cov: cov[:, :, 0],
        random_state=random_state,
        n_jobs=n_jobs,
    )
    standard_error = None if standard_error is None else standard_error[keep]
    return _result(response[keep], standard_error, lags, dt, response_at_zero=response[0], **report)
