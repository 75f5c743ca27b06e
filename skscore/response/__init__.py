"""Response theory from a learned score: how a stochastic system answers a small forcing.

For a stochastic system with stationary density ``rho`` and score
``s = grad log rho``, the generalized fluctuation-dissipation theorem gives
the mean response of an observable ``A`` to a forcing ``u(x) f(t)`` added to
the drift from stationary data alone (Giorgini, Deck, Bischoff & Souza, PRL
133, 267302, 2024)::

    R_A(tau) = < A(x(t + tau)) B(x(t)) >,    B = -div u - u . s,
    delta <A>(t) = sum_j R_A(t - t_j) f(t_j) dt.

For ``A = x_i`` and an impulse on ``x_j`` (``u = e_j``) this is the response
matrix ``R_ij(tau) = -< x_i(t + tau) s_j(x(t)) >``, equal to the identity
at ``tau = 0``.  The score comes from any fitted skscore model (or any
object with a ``score_function``); the averages over time are lagged
covariances computed by FFT.

Conventions
-----------
Trajectories are sampled every ``dt`` time units; **lags are integer numbers
of steps** (``times = lags * dt``).  ``lags=L`` means ``0, 1, ..., L``.
Averages are centred covariances: ``< A(x(t + tau)) B(x(t)) >`` is computed
as ``mean_t (A(t + tau) - mean A) (B(t) - mean B)``, over all pairs inside
each trajectory; the means vanish in theory (``< B > = 0``) and centring
removes the bias that a small error in them would cause.
"""

import inspect
import numbers
import warnings

import numpy as np
import scipy.fft
from scipy import linalg, signal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_is_fitted

from ..base import effective_n_threads
from .systems import _check_lags

__all__ = [
    "decorrelation_steps",
    "forced_response",
    "gaussian_response",
    "observable_response",
    "score_response",
]

_CORRECTIONS = (None, "stein")
# Rows per score_function call: bounds the memory of feature-based models.
_SCORE_CHUNK = 16384
# The default estimator is fitted on at least this many snapshots (see
# _snapshots): a floor on the sample size of the density estimate.
_MIN_SNAPSHOTS = 2000
# Bootstrap blocks: at least four decorrelation times long, at most this many.
_MAX_BLOCKS = 1000
_MIN_BLOCKS = 20
_FD_STEP = 1e-5
# score_time='auto': candidate times up to this (at most _MAX_CANDIDATES of
# the levels, evenly thinned), rows of the loss, and the levels assumed for a
# score_function that takes t but has no noise_angles_.
_MAX_AUTO_TIME = 0.5
_AUTO_EVAL_ROWS = 2000
_MAX_CANDIDATES = 8
_DEFAULT_TIME_GRID = 15


# ---------------------------------------------------------------- validation
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


def _check_options(normalize, correction, n_bootstrap, block_length, snapshot_stride, score_time=None):
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


# ------------------------------------------------------- lagged covariances
def _block_lagged_sums(A, B, lags, block_length, workers):
    """Per block of ``t``: sums of ``A(t + lag) B(t)^T`` and their counts.

    ``A`` (n, m) and ``B`` (n, k) are one trajectory, already centred.  The
    blocks cut ``t`` (the time of ``B``) into consecutive pieces; a pair
    belongs to the block of its earlier point, and only pairs inside the
    trajectory count.  Each block's correlation is one FFT product, zero
    padded so that the circular correlation has no wrap-around.
    """
    n, m = A.shape
    k = B.shape[1]
    max_lag = int(lags[-1])
    n_blocks = -(-n // block_length)
    span = block_length + max_lag
    A_pad = np.zeros((n_blocks * block_length + max_lag, m))
    A_pad[:n] = A
    B_pad = np.zeros((n_blocks * block_length, k))
    B_pad[:n] = B
    # segment b of A covers [b L, b L + L + max_lag): every later point a pair of block b can reach
    A_seg = np.lib.stride_tricks.sliding_window_view(A_pad, span, axis=0)[::block_length]  # (blocks, m, span)
    B_seg = B_pad.reshape(n_blocks, block_length, k).transpose(0, 2, 1)  # (blocks, k, L)
    nfft = scipy.fft.next_fast_len(span, real=True)
    FA = scipy.fft.rfft(A_seg, nfft, axis=2, workers=workers)
    FB = np.conj(scipy.fft.rfft(B_seg, nfft, axis=2, workers=workers))
    sums = np.empty((n_blocks, len(lags), m, k))
    for i in range(m):
        corr = scipy.fft.irfft(FA[:, i, None, :] * FB, nfft, axis=2, workers=workers)  # (blocks, k, nfft)
        sums[:, :, i, :] = corr[:, :, lags].transpose(0, 2, 1)
    starts = np.arange(n_blocks) * block_length
    stops = np.minimum(starts + block_length, n)
    counts = np.clip(np.minimum(stops[:, None], n - lags[None, :]) - starts[:, None], 0, None)
    return sums, counts.astype(np.float64)


def _lagged_covariance(As, Bs, lags, *, block_length=None, n_bootstrap=0, transform=None, random_state=None, workers=1):
    """Lagged covariance ``< A(t + lag) B(t)^T >`` over trajectories, and bootstrap standard errors.

    ``transform`` maps the covariance (n_lags, m, k) to the reported
    estimate (default: identity); it is applied to each bootstrap replicate
    too.  Replicates resample the blocks of ``t`` with replacement (a
    non-overlapping block bootstrap).
    """
    transform = (lambda c: c) if transform is None else transform
    mean_A = np.concatenate(As).mean(axis=0)
    mean_B = np.concatenate(Bs).mean(axis=0)
    parts = [_block_lagged_sums(A - mean_A, B - mean_B, lags, block_length or len(A), workers) for A, B in zip(As, Bs)]
    sums = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    estimate = transform(sums.sum(axis=0) / counts.sum(axis=0)[:, None, None])
    if n_bootstrap == 0:
        return estimate, None
    rng = check_random_state(random_state)
    n_blocks = len(counts)
    flat = sums.reshape(n_blocks, -1)
    replicates = np.empty((n_bootstrap,) + estimate.shape)
    for r in range(n_bootstrap):
        weights = np.bincount(rng.randint(0, n_blocks, n_blocks), minlength=n_blocks).astype(np.float64)
        total = (weights @ flat).reshape(sums.shape[1:])
        replicates[r] = transform(total / (weights @ counts)[:, None, None])
    return estimate, replicates.std(axis=0, ddof=1)


def _zero_lag_covariance(As, Bs):
    A, B = np.concatenate(As), np.concatenate(Bs)
    return (A - A.mean(axis=0)).T @ (B - B.mean(axis=0)) / len(A)


# ------------------------------------------------------ decorrelation time
def decorrelation_steps(X):
    """Decorrelation time of a multivariate series, in steps.

    The e-folding time of the autocorrelation: the first lag at which the
    autocorrelation of every column, pooled over trajectories, has fallen
    below ``1/e``.  Lags up to half the longest trajectory are examined; a
    series still correlated there returns that half length.

    Parameters
    ----------
    X : array-like of shape (n_times, n_dims), or a list of such arrays
        One trajectory or several sharing a time step.

    Returns
    -------
    steps : int
        Decorrelation time in steps (at least 1).

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.response import decorrelation_steps
    >>> from skscore.response.systems import OrnsteinUhlenbeck
    >>> X = OrnsteinUhlenbeck([[1.0]]).simulate(20000, 0.1, random_state=0)
    >>> decorrelation_steps(X)  # exp(-t) falls below 1/e after one time unit
    10
    """
    trajectories = _check_trajectories(X, np.array([0]))
    return _decorrelation_steps(trajectories)


def _decorrelation_steps(trajectories):
    max_lag = max(1, max(len(T) for T in trajectories) // 2)
    mean = np.concatenate(trajectories).mean(axis=0)
    acov = np.zeros((max_lag + 1, trajectories[0].shape[1]))
    counts = np.zeros(max_lag + 1)
    for T in trajectories:
        n = len(T)
        lags = min(max_lag, n - 1)
        nfft = scipy.fft.next_fast_len(n + lags, real=True)
        F = scipy.fft.rfft(T - mean, nfft, axis=0)
        acov[: lags + 1] += scipy.fft.irfft(F * np.conj(F), nfft, axis=0)[: lags + 1]
        counts[: lags + 1] += n - np.arange(lags + 1)
    valid = counts > 0
    acov, counts = acov[valid], counts[valid]
    acf = (acov / counts[:, None]) / np.maximum(acov[0] / counts[0], np.finfo(np.float64).tiny)
    below = np.all(acf < np.exp(-1.0), axis=1)
    return int(np.argmax(below)) if below.any() else len(acf) - 1 or 1


# ------------------------------------------------------------- estimators
def _default_estimator():
    from ..mixture_prior import GaussianMixturePriorDiffusion

    return GaussianMixturePriorDiffusion(random_state=0)


def _snapshots(trajectories, stride):
    """Every ``stride``-th state of every trajectory."""
    return np.concatenate([T[::stride] for T in trajectories])


def _auto_stride(trajectories):
    """One decorrelation time, but never fewer than ``_MIN_SNAPSHOTS`` snapshots.

    Snapshots closer than a decorrelation time still add information (the
    fast, within-regime structure decorrelates sooner than the slowest
    component that sets the decorrelation time), and the density models need
    a few thousand rows to resolve non-Gaussian structure.
    """
    n_total = sum(len(T) for T in trajectories)
    return max(1, min(_decorrelation_steps(trajectories), n_total // _MIN_SNAPSHOTS))


def _is_fitted(estimator):
    if not hasattr(estimator, "fit"):
        return True  # a bare score: nothing to fit
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def _fitted_estimator(estimator, trajectories, snapshot_stride):
    """The estimator to take the score from, fitted on snapshots if it is not yet."""
    if estimator is None:
        estimator = _default_estimator()
    if not callable(getattr(estimator, "score_function", None)):
        raise ValueError(f"estimator must have a score_function method, got {estimator!r}.")
    stride = None
    if not _is_fitted(estimator):
        stride = snapshot_stride or _auto_stride(trajectories)
        estimator = clone(estimator, safe=False).fit(_snapshots(trajectories, stride))
    d = trajectories[0].shape[1]
    n_in = getattr(estimator, "n_features_in_", d)
    if n_in != d:
        raise ValueError(f"The estimator was fitted on {n_in} columns but the trajectories have {d}.")
    return estimator, stride


def _evaluate_score(estimator, X, score_time):
    """``estimator.score_function`` on row chunks; a clear error if it is not a finite (n, d) array."""
    parts = []
    for start in range(0, len(X), _SCORE_CHUNK):
        chunk = X[start : start + _SCORE_CHUNK]
        s = estimator.score_function(chunk) if score_time is None else estimator.score_function(chunk, t=score_time)
        s = np.asarray(s, dtype=np.float64)
        if s.shape != chunk.shape:
            raise ValueError(f"score_function returned shape {s.shape} for input of shape {chunk.shape}.")
        if not np.all(np.isfinite(s)):
            raise ValueError("score_function returned NaN or infinity on the trajectory.")
        parts.append(s)
    return np.concatenate(parts)


def _right_divide(R, M, what):
    """``R[k] M^{-1}`` for every lag ``k``, with a clear error for a singular ``M``."""
    try:
        return np.linalg.solve(M.T, R.transpose(0, 2, 1)).transpose(0, 2, 1)
    except np.linalg.LinAlgError:
        raise ValueError(f"{what} is singular: a column of X is constant, or columns are collinear.") from None


def _affine_correction(X, S):
    """The Stein correction of scores ``S`` at rows ``X``: ``S + c + (X - mu) M``.

    Every score satisfies ``< s > = 0`` and ``< s (x - mu)^T > = -I``
    (integration by parts), so the least-squares projection of the true score
    on affine functions of ``x`` is the Gaussian score
    ``-C^{-1} (x - mu)``, known from the data.  The correction swaps the
    learned score's own affine projection for it: the error of the affine
    part, the one that denoising score matching amplifies at small noise, is
    removed exactly, and the nonlinear part of the learned score is kept
    (the corrected score is closer to the true one in the L2 norm of the
    data, up to sampling error).  The response at lag 0 is then the identity
    by construction.  Returns ``mu``, ``c`` and ``M`` (whose trace is the
    change of the divergence).
    """
    mu = X.mean(axis=0)
    Xc = X - mu
    cov = Xc.T @ Xc / len(X)
    # learned affine part: S ~ mean(S) + (x - mu) beta; exact: -(x - mu) C^{-1}
    try:
        cov_inv = linalg.inv(cov)
    except linalg.LinAlgError:
        raise ValueError(
            "The covariance of X is singular (a constant or collinear column): the Stein correction needs it "
            "invertible; use correction=None."
        ) from None
    beta = cov_inv @ (Xc.T @ (S - S.mean(axis=0)) / len(X))
    return mu, -S.mean(axis=0), -(beta + cov_inv)


def _stein_correct(trajectories, scores):
    mu, c, M = _affine_correction(np.concatenate(trajectories), np.concatenate(scores))
    return [s + c + (T - mu) @ M for T, s in zip(trajectories, scores)]


def _takes_time(estimator):
    """Whether ``score_function`` accepts a diffusion time ``t``."""
    try:
        params = inspect.signature(estimator.score_function).parameters
    except (TypeError, ValueError):
        return False
    return "t" in params or any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())


def _candidate_times(estimator):
    """Diffusion times of the lower half of the estimator's noise levels, at most ``_MAX_CANDIDATES``."""
    angles = getattr(estimator, "noise_angles_", None)
    n_levels = len(angles) if angles is not None and len(angles) > 1 else _DEFAULT_TIME_GRID
    times = np.arange(n_levels) / (n_levels - 1)
    times = times[times <= _MAX_AUTO_TIME]
    every = -(-len(times) // _MAX_CANDIDATES)
    return times[::every]


def _score_matching_loss(estimator, X, t, correction):
    """Hyvarinen's loss ``mean(|s|^2 / 2 + div s)`` at rows ``X``.

    It equals half the mean squared distance to the true score, up to a
    constant that does not depend on the score: the smaller, the closer.
    The divergence is by central differences, steps relative to each
    column's spread.
    """
    n, d = X.shape
    step = _FD_STEP * np.maximum(X.std(axis=0), np.finfo(np.float64).eps ** 0.5)
    # one call on the rows and their 2 d shifted copies
    shifts = np.concatenate([np.zeros((1, d)), np.diag(step), -np.diag(step)])
    scores = _evaluate_score(estimator, (X[None] + shifts[:, None]).reshape(-1, d), t).reshape(2 * d + 1, n, d)
    S = scores[0]
    div = sum((scores[1 + j, :, j] - scores[1 + d + j, :, j]) / (2.0 * step[j]) for j in range(d))
    if correction == "stein":
        mu, c, M = _affine_correction(X, S)
        S = S + c + (X - mu) @ M
        div += np.trace(M)
    return float(np.mean(0.5 * np.sum(S**2, axis=1) + div))


def _resolve_score_time(score_time, estimator, trajectories, correction):
    """The diffusion time to evaluate the score at, and the loss of each candidate for 'auto'."""
    if score_time is None:
        return None, None
    if not _takes_time(estimator):
        if isinstance(score_time, str):  # 'auto' for a score without levels: its only score
            return None, None
        raise ValueError("score_time needs an estimator whose score_function accepts t.")
    if not isinstance(score_time, str):
        return score_time, None
    X = np.concatenate(trajectories)
    # evaluation rows spread evenly over the whole series
    m = min(len(X), _AUTO_EVAL_ROWS)
    X_eval = np.ascontiguousarray(X[((np.arange(m) + 0.5) * len(X) / m).astype(np.intp)])
    times = _candidate_times(estimator)
    losses = np.array([_score_matching_loss(estimator, X_eval, t, correction) for t in times])
    return float(times[np.argmin(losses)]), Bunch(times=times, losses=losses)


# -------------------------------------------------------- block bootstrap
def _block_length(trajectories, block_length, n_bootstrap):
    if n_bootstrap == 0:
        return None
    if block_length is None:
        n_total = sum(len(T) for T in trajectories)
        block_length = max(4 * _decorrelation_steps(trajectories), -(-n_total // _MAX_BLOCKS))
    n_blocks = sum(-(-len(T) // block_length) for T in trajectories)
    if n_blocks < 2:
        raise ValueError(f"The block bootstrap needs at least 2 blocks; block_length={block_length} leaves {n_blocks}.")
    if n_blocks < _MIN_BLOCKS:
        warnings.warn(
            f"Only {n_blocks} bootstrap blocks of {block_length} steps: the series spans few decorrelation "
            "times and the standard errors are unreliable.",
            UserWarning,
        )
    return block_length


def _result(response, standard_error, lags, dt, **extra):
    return Bunch(response=response, standard_error=standard_error, lags=lags, times=lags * dt, **extra)


def _with_zero(lags):
    """Lags with 0 prepended if missing, and the positions of the requested ones."""
    if lags[0] == 0:
        return lags, slice(None)
    return np.concatenate([[0], lags]), slice(1, None)


# -------------------------------------------------------------- public API
def score_response(
    X,
    lags,
    estimator=None,
    *,
    dt=1.0,
    normalize=False,
    correction="stein",
    score_time="auto",
    snapshot_stride=None,
    n_bootstrap=0,
    block_length=None,
    random_state=None,
    n_jobs=None,
):
    """Response matrix from a learned score: ``R_ij(tau) = -< x_i(t + tau) s_j(x(t)) >``.

    The linear response of the mean state to an impulse on ``x_j`` at time
    0, from stationary data and the score ``s = grad log rho`` of their
    stationary density (the generalized fluctuation-dissipation theorem,
    Giorgini et al. 2024).  In theory ``R(0) = I``.

    Read more in the :ref:`User Guide <response>`.

    Parameters
    ----------
    X : array-like of shape (n_times, n_dims), or a list of such arrays
        A stationary trajectory sampled every ``dt``, or several sharing the
        time step (a 3-D array is a stack of trajectories).  Averages pool
        all pairs inside each trajectory.
    lags : int or array-like of int
        Lags in **steps** of ``dt``: an int ``L`` means ``0, 1, ..., L``,
        an array the listed lags (increasing).  Every trajectory must be
        longer than the largest lag.
    estimator : object or None, default=None
        Where the score comes from: a fitted estimator with a
        ``score_function(X)`` method (any skscore model, or any object with
        that method) is used as is; an unfitted estimator is cloned and
        fitted on snapshots of ``X`` (see ``snapshot_stride``).  None means
        an unfitted :class:`~skscore.GaussianMixturePriorDiffusion`.
    dt : float, default=1.0
        Time step of the trajectories; only sets ``times = lags * dt``.
    normalize : bool, default=False
        Report ``R(tau) R(0)^{-1}`` (the authors' normalization), which
        forces ``R(0) = I`` by dividing every lag by the lag-0 error, and so
        hides errors in the overall scale of the score.  The raw ``R(0)`` is
        returned as ``response_at_zero`` either way.  With
        ``correction='stein'``, ``R(0)`` is already the identity and
        normalizing changes nothing.
    correction : {'stein', None}, default='stein'
        'stein' replaces the affine part of the learned score by the exact
        one, ``-C^{-1} (x - mu)`` with ``mu``, ``C`` the mean and covariance
        of ``X``: every score satisfies ``< s > = 0`` and
        ``< s (x - mu)^T > = -I`` (integration by parts), so that is its
        least-squares affine projection.  The learned nonlinear part is
        kept.  This removes exactly the error that denoising score matching
        makes in the score's scale at small noise, gives ``R(0) = I`` by
        construction and is exact for linear (Ornstein-Uhlenbeck) systems;
        unlike ``normalize`` it does not rescale the nonlinear part.  None
        uses the learned score as it is (the paper's estimator).
    score_time : 'auto', float in [0, 1] or None, default='auto'
        Diffusion time at which the score is evaluated,
        ``score_function(X, t=score_time)``.  'auto' picks, among the
        estimator's noise levels with ``t <= 0.5`` (at most 8, evenly
        spaced, always including the smallest), the one with the
        smallest Hyvarinen score-matching loss ``< |s|^2 / 2 + div s >`` on
        2,000 states of ``X`` (after the correction): the level whose score
        is closest to the true one in mean squared error.  None calls
        ``score_function(X)`` (the smallest level of skscore models).  For a
        ``score_function`` without ``t``, 'auto' means None.
    snapshot_stride : int or None, default=None
        Steps between the snapshots an unfitted estimator is fitted on.
        None: the decorrelation time (:func:`decorrelation_steps`), reduced
        if needed to keep at least 2,000 snapshots.
    n_bootstrap : int, default=0
        Block-bootstrap replicates for standard errors (0: none).  The
        errors reflect the finite length of the series for the fitted score,
        not the error of the score model itself.
    block_length : int or None, default=None
        Bootstrap block length in steps.  None: four decorrelation times,
        lengthened if needed to keep at most 1,000 blocks.
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.
    n_jobs : int or None, default=None
        Threads of the FFTs; None uses every core.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With attributes

        - ``response``: ndarray of shape (n_lags, n_dims, n_dims),
          ``response[k, i, j]`` the response of ``x_i`` at lag ``lags[k]``
          to a unit impulse on ``x_j``;
        - ``standard_error``: ndarray of the same shape, or None when
          ``n_bootstrap=0``;
        - ``lags`` (steps) and ``times`` (``lags * dt``);
        - ``response_at_zero``: the raw estimate of ``R(0)``, before
          normalization or correction; its distance from the identity
          measures the error in the score's scale;
        - ``estimator``: the fitted estimator;
        - ``snapshot_stride``: the stride of the snapshots it was fitted
          on (None when it came fitted);
        - ``score_time``: the diffusion time used (None: ``score_function(X)``);
        - ``score_time_selection``: for 'auto', a Bunch with the candidate
          ``times`` and their score-matching ``losses``; None otherwise.

    See Also
    --------
    gaussian_response : The quasi-Gaussian baseline ``C(tau) C(0)^{-1}``.
    observable_response : Any observable and forcing pattern.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.response import score_response
    >>> from skscore.response.systems import OrnsteinUhlenbeck
    >>> ou = OrnsteinUhlenbeck([[1.0, 0.5], [0.0, 2.0]])
    >>> X = ou.simulate(20000, 0.05, random_state=0)
    >>> class ExactScore:  # any object with a score_function
    ...     def score_function(self, X):
    ...         return ou.score(X)
    >>> result = score_response(X, 20, ExactScore(), dt=0.05)
    >>> result.response.shape
    (21, 2, 2)
    >>> bool(np.abs(result.response - ou.response(result.times)).max() < 0.1)
    True
    """
    _check_dt(dt)
    _check_options(normalize, correction, n_bootstrap, block_length, snapshot_stride, score_time)
    lags = _check_lags(lags)
    trajectories = _check_trajectories(X, lags)
    estimator, stride = _fitted_estimator(estimator, trajectories, snapshot_stride)
    score_time, selection = _resolve_score_time(score_time, estimator, trajectories, correction)
    scores = [_evaluate_score(estimator, T, score_time) for T in trajectories]
    raw_zero = -_zero_lag_covariance(trajectories, scores)
    if correction == "stein":
        scores = _stein_correct(trajectories, scores)
    all_lags, keep = _with_zero(lags)

    def transform(cov):
        R = -cov
        if normalize:
            R = _right_divide(R, R[0], "The lag-0 response R(0)")
        return R[keep]

    response, standard_error = _lagged_covariance(
        trajectories,
        scores,
        all_lags,
        block_length=_block_length(trajectories, block_length, n_bootstrap),
        n_bootstrap=n_bootstrap,
        transform=transform,
        random_state=random_state,
        workers=effective_n_threads(n_jobs),
    )
    return _result(
        response,
        standard_error,
        lags,
        dt,
        response_at_zero=raw_zero,
        estimator=estimator,
        snapshot_stride=stride,
        score_time=score_time,
        score_time_selection=selection,
    )


def gaussian_response(X, lags, *, dt=1.0, n_bootstrap=0, block_length=None, random_state=None, n_jobs=None):
    """The quasi-Gaussian response ``C(tau) C(0)^{-1}``.

    The score response with the Gaussian score ``-C^{-1} (x - mu)``, where
    ``C(tau) = < (x(t + tau) - mu) (x(t) - mu)^T >`` is the lagged
    covariance.  Exact for linear (Ornstein-Uhlenbeck) systems, where it
    equals ``exp(-A tau)``; the baseline a learned score should beat on
    non-Gaussian ones.

    Read more in the :ref:`User Guide <response>`.

    Parameters
    ----------
    X : array-like of shape (n_times, n_dims), or a list of such arrays
        One or several stationary trajectories sampled every ``dt``.
    lags : int or array-like of int
        Lags in steps of ``dt`` (an int ``L`` means ``0, 1, ..., L``).
    dt : float, default=1.0
        Time step; only sets ``times = lags * dt``.
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
        ``response`` (n_lags, n_dims, n_dims), ``standard_error`` (same
        shape, or None), ``lags``, ``times`` and ``covariance`` (the lag-0
        covariance ``C(0)``).

    Examples
    --------
    >>> from skscore.response import gaussian_response
    >>> from skscore.response.systems import OrnsteinUhlenbeck
    >>> X = OrnsteinUhlenbeck([[1.0, 0.5], [0.0, 2.0]]).simulate(5000, 0.1, random_state=0)
    >>> gaussian_response(X, 10, dt=0.1).response.shape
    (11, 2, 2)
    """
    _check_dt(dt)
    _check_options(False, None, n_bootstrap, block_length, None)
    lags = _check_lags(lags)
    trajectories = _check_trajectories(X, lags)
    all_lags, keep = _with_zero(lags)

    def transform(cov):
        return _right_divide(cov, cov[0], "The covariance C(0)")[keep]

    response, standard_error = _lagged_covariance(
        trajectories,
        trajectories,
        all_lags,
        block_length=_block_length(trajectories, block_length, n_bootstrap),
        n_bootstrap=n_bootstrap,
        transform=transform,
        random_state=random_state,
        workers=effective_n_threads(n_jobs),
    )
    covariance = _zero_lag_covariance(trajectories, trajectories)
    return _result(response, standard_error, lags, dt, covariance=covariance)


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
    step = _FD_STEP * np.maximum(X.std(axis=0), np.finfo(np.float64).eps ** 0.5)
    div = np.zeros(n)
    shifted = X.copy()
    for j in range(d):
        shifted[:, j] = X[:, j] + step[j]
        plus = np.asarray(forcing(shifted), dtype=np.float64)[:, j]
        shifted[:, j] = X[:, j] - step[j]
        minus = np.asarray(forcing(shifted), dtype=np.float64)[:, j]
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
    _check_options(False, correction, n_bootstrap, block_length, snapshot_stride, score_time)
    if forcing is None:
        raise ValueError("forcing is required: a vector of length n_dims or a callable u(X).")
    lags = _check_lags(lags)
    trajectories = _check_trajectories(X, lags)
    estimator, stride = _fitted_estimator(estimator, trajectories, snapshot_stride)
    score_time, selection = _resolve_score_time(score_time, estimator, trajectories, correction)
    scores = [_evaluate_score(estimator, T, score_time) for T in trajectories]
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
    response, standard_error = _lagged_covariance(
        As,
        Bs,
        all_lags,
        block_length=_block_length(trajectories, block_length, n_bootstrap),
        n_bootstrap=n_bootstrap,
        transform=lambda cov: cov[:, :, 0],
        random_state=random_state,
        workers=effective_n_threads(n_jobs),
    )
    return _result(
        response[keep],
        None if standard_error is None else standard_error[keep],
        lags,
        dt,
        response_at_zero=response[0],
        estimator=estimator,
        snapshot_stride=stride,
        score_time=score_time,
        score_time_selection=selection,
    )


def forced_response(response, forcing, dt=None):
    """Change of the mean under a time-dependent forcing: ``delta <A>(t) = sum_j R(t - t_j) f(t_j) dt``.

    The forcing starts at ``t_0 = 0`` and is sampled at ``t_j = j dt``; the
    response must be tabulated at lags ``0, 1, ..., L`` steps of the same
    ``dt`` and is taken as zero beyond ``L`` (choose ``L`` long enough for
    it to have decayed).  The sum is causal: ``delta <A>(t_n)`` involves
    ``f(t_j)`` for ``j <= n`` (a left Riemann sum of the convolution
    integral, as in Giorgini et al.).

    Parameters
    ----------
    response : ndarray or Bunch
        Either an observable response of shape (n_lags,) or (n_lags, m) and
        a scalar forcing amplitude, or a response matrix of shape
        (n_lags, m, k) (as from :func:`score_response`) and one forcing
        amplitude per input ``j``.  A result of :func:`score_response`,
        :func:`gaussian_response` or :func:`observable_response` is accepted
        (its ``response``, ``lags`` and ``dt`` are used).
    forcing : array-like of shape (n_times,) or (n_times, k)
        Forcing amplitudes ``f(t_j)``: 1-D for a response of 1 or 2
        dimensions, 2-D with ``k`` columns for a response matrix.
    dt : float or None, default=None
        Time step; None takes it from a result's ``times`` (required for a
        plain array).

    Returns
    -------
    delta : ndarray of shape (n_times,) or (n_times, m)
        The change of the mean of each output at ``t_n = n dt``.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.response import forced_response
    >>> R = np.exp(-0.1 * np.arange(100))  # response of a unit-rate relaxation, dt = 0.1
    >>> step = np.ones(300)  # a constant forcing switched on at t = 0
    >>> delta = forced_response(R, step, dt=0.1)
    >>> round(float(delta[-1]), 2)  # close to the static response, integral of exp(-t) = 1
    1.05
    """
    if isinstance(response, Bunch) or hasattr(response, "lags"):
        lags = np.asarray(response.lags)
        if lags[0] != 0 or np.any(np.diff(lags) != 1):
            raise ValueError("forced_response needs the response at every lag 0, 1, ..., L.")
        if dt is None:
            dt = float(response.times[1] - response.times[0]) if len(lags) > 1 else None
        response = response.response
    if dt is None:
        raise ValueError("dt is required for a response given as an array.")
    _check_dt(dt)
    R = np.asarray(response, dtype=np.float64)
    f = np.asarray(forcing, dtype=np.float64)
    if R.ndim == 0 or R.ndim > 3 or R.shape[0] == 0 or not np.all(np.isfinite(R)):
        raise ValueError(f"response must be a finite array of 1 to 3 dimensions, got shape {R.shape}.")
    if not np.all(np.isfinite(f)) or f.size == 0:
        raise ValueError("forcing must be a non-empty finite array.")
    if R.ndim == 3:
        if f.ndim != 2 or f.shape[1] != R.shape[2]:
            raise ValueError(
                f"A response matrix of shape {R.shape} needs forcing of shape (n_times, {R.shape[2]}), got {f.shape}."
            )
        out = sum(signal.fftconvolve(R[:, :, j], f[:, j, None], axes=0) for j in range(R.shape[2]))
    else:
        if f.ndim != 1:
            raise ValueError(f"A response of shape {R.shape} needs a 1-D forcing, got shape {f.shape}.")
        kernel = R if R.ndim == 2 else R[:, None]
        out = signal.fftconvolve(kernel, f[:, None], axes=0)
        out = out if R.ndim == 2 else out[:, 0]
    return dt * out[: len(f)]
