"""Lagged covariances by FFT, their block bootstrap, and the decorrelation time.

Averages are centred and pool all pairs ``(t, t + lag)`` inside each
trajectory; a pair belongs to the bootstrap block of its earlier point.
"""

import warnings

import numpy as np
import scipy.fft
from sklearn.utils import check_random_state

from .._parallel import effective_n_threads
from ._validation import _check_trajectories

# Bootstrap blocks: at least four decorrelation times long, at most this many.
_MAX_BLOCKS = 1000
_MIN_BLOCKS = 20


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
    # a lag near the length of the series has pairs in the first blocks only: a replicate that
    # draws none of them has no value there (0 / 0), and the error comes from the others
    with np.errstate(divide="ignore", invalid="ignore"):
        for r in range(n_bootstrap):
            weights = np.bincount(rng.randint(0, n_blocks, n_blocks), minlength=n_blocks).astype(np.float64)
            total = (weights @ flat).reshape(sums.shape[1:])
            replicates[r] = transform(total / (weights @ counts)[:, None, None])
    defined = np.isfinite(replicates)
    standard_error = np.full(estimate.shape, np.nan)
    enough = defined.sum(axis=0) >= 2
    if enough.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the entries without two values, left NaN
            spread = np.nanstd(np.where(defined, replicates, np.nan), axis=0, ddof=1)
        standard_error[enough] = spread[enough]
    missing = ~enough.reshape(len(lags), -1).all(axis=1)
    if missing.any():
        warnings.warn(
            f"No bootstrap standard error at lag(s) {lags[missing].tolist()} (NaN): fewer than two of the "
            f"{n_bootstrap} replicates drew a block with a pair that far apart; use a shorter block_length "
            "or lags shorter than the series.",
            UserWarning,
        )
    return estimate, standard_error


def _bootstrap_lagged_covariance(
    As, Bs, lags, trajectories, *, block_length, n_bootstrap, transform, random_state, n_jobs
):
    """:func:`_lagged_covariance` with the options of the public functions.

    ``block_length`` None is the default block length of ``trajectories``
    (see :func:`_block_length`), and ``n_jobs`` sets the threads of the FFTs.
    """
    return _lagged_covariance(
        As,
        Bs,
        lags,
        block_length=_block_length(trajectories, block_length, n_bootstrap),
        n_bootstrap=n_bootstrap,
        transform=transform,
        random_state=random_state,
        workers=effective_n_threads(n_jobs),
    )


def _zero_lag_covariance(As, Bs):
    A, B = np.concatenate(As), np.concatenate(Bs)
    return (A - A.mean(axis=0)).T @ (B - B.mean(axis=0)) / len(A)


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


def _with_zero(lags):
    """Lags with 0 prepended if missing, and the positions of the requested ones."""
    if lags[0] == 0:
        return lags, slice(None)
    return np.concatenate([[0], lags]), slice(1, None)


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
    # a constant series is "below" at lag 0 (its autocorrelation is 0 / tiny): one step, as documented
    return max(int(np.argmax(below)) if below.any() else len(acf) - 1, 1)
