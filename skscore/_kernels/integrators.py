"""One step of each reverse-time integrator, in the angle variable.

All samplers work on ``z = cos(u) x_0 + sin(u) eps`` (see ``_schedules``); a
level is described by its signal and noise coefficients ``a = cos(u)`` and
``s = sin(u)``.  ``eps`` is the model's noise prediction at the current level.
"""

from numba import njit, prange


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def velocity_euler(z_eval, eps, a, s, z_base, h, v_out, z_out):
    """``v = (eps - s z_eval) / a`` (the ODE's velocity), ``z_out = z_base + h v``."""
    n, d = z_eval.shape
    for i in prange(n):
        for j in range(d):
            v = (eps[i, j] - s * z_eval[i, j]) / a
            v_out[i, j] = v
            z_out[i, j] = z_base[i, j] + h * v


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def velocity_heun(z_eval, eps, a, s, z_base, v_prev, h, z_out):
    """Heun corrector: ``z_out = z_base + h / 2 (v_prev + (eps - s z_eval) / a)``."""
    n, d = z_eval.shape
    half = 0.5 * h
    for i in prange(n):
        for j in range(d):
            v = (eps[i, j] - s * z_eval[i, j]) / a
            z_out[i, j] = z_base[i, j] + half * (v_prev[i, j] + v)


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def ddim_step(z, eps, a_from, s_from, a_to, s_to, out):
    """Deterministic DDIM (eta = 0): ``a_to x0_hat + s_to eps``."""
    n, d = z.shape
    for i in prange(n):
        for j in range(d):
            x0 = (z[i, j] - s_from * eps[i, j]) / a_from
            out[i, j] = a_to * x0 + s_to * eps[i, j]


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def ancestral_step(z, eps, noise, a_from, s_from, a_to, s_to, out):
    """DDPM ancestral step: a draw from q(z_to | z_from, x0_hat).

    With ``r = a_from / a_to`` and ``c2 = s_from^2 - r^2 s_to^2`` (the variance
    added between the two levels), the posterior has mean
    ``(r s_to^2 z + a_to c2 x0_hat) / s_from^2`` and variance
    ``c2 s_to^2 / s_from^2``.
    """
    n, d = z.shape
    r = a_from / a_to
    c2 = s_from * s_from - r * r * s_to * s_to
    if c2 < 0.0:
        c2 = 0.0
    inv = 1.0 / (s_from * s_from)
    std = (c2 * s_to * s_to * inv) ** 0.5
    for i in prange(n):
        for j in range(d):
            x0 = (z[i, j] - s_from * eps[i, j]) / a_from
            mean = (r * s_to * s_to * z[i, j] + a_to * c2 * x0) * inv
            out[i, j] = mean + std * noise[i, j]


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def euler_maruyama_step(z, eps, noise, a_from, s_from, a_to, out):
    """Euler-Maruyama step of the reverse VP SDE with ``beta = 1 - (a_from / a_to)^2``.

    ``z - beta (-z / 2 + score) + sqrt(beta) noise`` with ``score = -eps / s_from``.
    """
    n, d = z.shape
    r = a_from / a_to
    beta = 1.0 - r * r
    sq = beta**0.5
    for i in prange(n):
        for j in range(d):
            out[i, j] = (1.0 + 0.5 * beta) * z[i, j] - beta * eps[i, j] / s_from + sq * noise[i, j]
