"""Change of the mean under a time-dependent forcing, from a tabulated response."""

import numpy as np
from scipy import signal
from sklearn.utils import Bunch

from ._validation import _check_dt


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
            if len(lags) == 1:
                raise ValueError("a response at lag 0 alone holds no time step: pass dt (or compute more lags).")
            dt = float(response.times[1] - response.times[0])
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
