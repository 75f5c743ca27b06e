"""The alternations of DiffusionRandomFeatures: the gate step and the gated ridge system.

The gate step is one box-constrained quadratic per noise level.

For fixed output weights ``theta2`` the loss of level ``k`` is
``g' H_k g / 2 - q_k' g`` over ``g`` in ``[-1, 1]^N``, with ``H_k = G_k o
theta2 theta2'`` and ``q_k = (C_k o theta2) 1``.  The levels are independent,
so the kernel runs them in parallel (``prange`` over levels, each level's
arithmetic in the same order whatever the thread count).
"""

import numpy as np
from numba import njit, prange


@njit(fastmath=False, cache=True)
def _product(H, v, out):
    """``out = H v`` by BLAS (a loop of ordered sums would not vectorize)."""
    out[:] = np.dot(H, v)


@njit(fastmath=False, cache=True)
def _largest_eigenvalue(H, n_iter, v, w):
    """Power iteration for the symmetric positive semi-definite ``H``, from ``v`` (updated; ``w``: scratch)."""
    n = H.shape[0]
    value = 0.0
    for _ in range(n_iter):
        _product(H, v, w)
        value = np.sqrt(np.sum(w * w))
        if value == 0.0:
            v[:] = 1.0 / np.sqrt(n)
            return 0.0
        for i in range(n):
            v[i] = w[i] / value
    return value


@njit(parallel=True, fastmath=False, cache=True)
def update_gates(gram, cross, theta2, outer, gates, n_steps, n_power, directions):
    """Accelerated projected gradient (FISTA with adaptive restart) on every level's gates, in place.

    ``outer`` is ``theta2 theta2'``; ``n_steps`` gradient steps per level
    after ``n_power`` steps of power iteration for ``lambda_max(H_k)``,
    started from ``directions[k]`` (updated in place: the alternations
    change ``H_k`` little, so the last leading direction is a warm start).
    The step is ``1 / (1.2 lambda_max(H_k))``; a step that would raise the
    level's loss is refused and the momentum restarted, so the gates never
    raise it.  ``H y`` follows from ``H g`` by linearity: one product with
    ``H_k`` per step.
    """
    n_levels, n = gates.shape
    for k in prange(n_levels):
        H = gram[k] * outer
        q = np.sum(cross[k] * theta2, axis=1)
        v, w = directions[k], np.empty(n)
        step = 1.0 / (1.2 * _largest_eigenvalue(H, n_power, v, w) + 1e-300)
        g = gates[k].copy()
        y = g.copy()
        Hg = np.empty(n)
        _product(H, g, Hg)
        Hy = Hg.copy()
        g_new, Hg_new = np.empty(n), np.empty(n)
        t = 1.0
        f_old = 0.5 * np.dot(g, Hg) - np.dot(q, g)
        for _ in range(n_steps):
            for i in range(n):
                g_new[i] = min(1.0, max(-1.0, y[i] - step * (Hy[i] - q[i])))
            _product(H, g_new, Hg_new)
            f_new = 0.5 * np.dot(g_new, Hg_new) - np.dot(q, g_new)
            if f_new > f_old:  # restart the momentum
                t = 1.0
                y[:] = g
                Hy[:] = Hg
                continue
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            momentum = (t - 1.0) / t_new
            for i in range(n):
                y[i] = g_new[i] + momentum * (g_new[i] - g[i])
                Hy[i] = Hg_new[i] + momentum * (Hg_new[i] - Hg[i])
            g[:] = g_new
            Hg[:] = Hg_new
            t = t_new
            f_old = f_new
        gates[k] = g


@njit(parallel=True, fastmath=False, cache=True)
def gated_gram_sum(gram, gates, penalty, out):
    """``out = penalty I + mean_k diag(g_k) G_k diag(g_k)``: the ridge system of the output weights.

    One pass over the per-level Gram matrices, row by row in parallel (each
    entry summed over the levels in order, whatever the thread count).
    """
    n_levels, n = gates.shape
    for i in prange(n):
        for j in range(n):
            out[i, j] = 0.0
        for k in range(n_levels):
            gi = gates[k, i] / n_levels
            for j in range(n):
                out[i, j] += gi * gram[k, i, j] * gates[k, j]
        out[i, i] += penalty
