"""The score along the trajectories: fitting the estimator, evaluating it, correcting it.

- the estimator is fitted, if it is not yet, on snapshots of the trajectories
  (:func:`_fitted_estimator`);
- its score is evaluated in row chunks (:func:`_evaluate_score`);
- the Stein correction swaps the affine part of the learned score for the
  exact one (:func:`_affine_correction`);
- ``score_time='auto'`` picks the diffusion time with the smallest
  score-matching loss (:func:`_resolve_score_time`).
"""

import inspect

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._covariance import _decorrelation_steps
from ._validation import balanced_inverse

# Rows per score_function call: bounds the memory of feature-based models.
_SCORE_CHUNK = 16384
# The default estimator is fitted on at least this many snapshots (see
# _snapshots): a floor on the sample size of the density estimate.
_MIN_SNAPSHOTS = 2000
# Relative step of the central differences (divergences), see _difference_steps.
_FD_STEP = 1e-5
# score_time='auto': candidate times up to this (at most _MAX_CANDIDATES of
# the levels, evenly thinned), rows of the loss, and the levels assumed for a
# score_function that takes t but has no noise_angles_.
_MAX_AUTO_TIME = 0.5
_AUTO_EVAL_ROWS = 2000
_MAX_CANDIDATES = 8
_DEFAULT_TIME_GRID = 15


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


def _scores_along(trajectories, estimator, snapshot_stride, score_time, correction):
    """The learned score at every state of the trajectories, before any correction.

    Returns the scores (one array per trajectory) and what the result reports
    about them: the fitted ``estimator``, its ``snapshot_stride``, the
    ``score_time`` used and its ``score_time_selection``.
    """
    estimator, stride = _fitted_estimator(estimator, trajectories, snapshot_stride)
    score_time, selection = _resolve_score_time(score_time, estimator, trajectories, correction)
    scores = [_evaluate_score(estimator, T, score_time) for T in trajectories]
    report = dict(estimator=estimator, snapshot_stride=stride, score_time=score_time, score_time_selection=selection)
    return scores, report


def _difference_steps(X):
    """Steps of central differences along each column of ``X``, relative to the column's spread."""
    return _FD_STEP * np.maximum(X.std(axis=0), np.finfo(np.float64).eps ** 0.5)


# -------------------------------------------------------- Stein correction
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
    cov_inv = balanced_inverse(cov)
    if cov_inv is None:
        raise ValueError(
            "The covariance of X is singular (a constant or collinear column): the Stein correction needs it "
            "invertible; use correction=None."
        ) from None
    beta = cov_inv @ (Xc.T @ (S - S.mean(axis=0)) / len(X))
    return mu, -S.mean(axis=0), -(beta + cov_inv)


def _stein_correct(trajectories, scores):
    mu, c, M = _affine_correction(np.concatenate(trajectories), np.concatenate(scores))
    return [s + c + (T - mu) @ M for T, s in zip(trajectories, scores)]


# --------------------------------------------------- score-time selection
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
    step = _difference_steps(X)
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
