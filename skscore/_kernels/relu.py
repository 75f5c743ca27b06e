"""Two-layer ReLU / absolute-value networks: activations and cone projections.

The forward kernels fuse the bias and the activation around the BLAS product
``z @ U`` (as the sine kernels do); the slopes give the Jacobian of the
network, whose trace is then one BLAS product.

The cone kernels serve the exact (cone-constrained) convex program of
:mod:`skscore._convex_solver`: a neuron of arrangement pattern ``k`` must keep
that pattern on the training rows, ``a_i . v >= 0`` with ``a_i = sign_ik
x_i``.  The Euclidean projection onto such a polyhedral cone is computed from
its dual, the non-negative least-squares problem
``min_{mu >= 0} ||y + A' mu||`` (then ``v = y + A' mu``), by the active-set
method of Lawson & Hanson: in ``p`` dimensions at most ``p`` constraints are
active, so each projection solves a few systems of at most ``p`` unknowns.
"""

import numpy as np
from numba import njit, prange

_MAX_ACTIVE_FACTOR = 4


@njit(inline="always", fastmath=False)
def _activation(p, absolute):
    if absolute:
        return abs(p)
    return p if p > 0.0 else 0.0


@njit(inline="always", fastmath=False)
def _slope(p, absolute):
    if p > 0.0:
        return 1.0
    return -1.0 if absolute and p < 0.0 else 0.0


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def relu_features(proj, bias, absolute):
    """In place: ``proj <- act(proj + bias)``, ``act`` = ReLU, or ``|.|`` if ``absolute``."""
    n, m = proj.shape
    for i in prange(n):
        for j in range(m):
            proj[i, j] = _activation(proj[i, j] + bias[j], absolute)


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def relu_features_slopes(proj, bias, absolute, slopes):
    """In place ``proj <- act(proj + bias)``, and ``slopes <- act'(proj + bias)``."""
    n, m = proj.shape
    for i in prange(n):
        for j in range(m):
            p = proj[i, j] + bias[j]
            proj[i, j] = _activation(p, absolute)
            slopes[i, j] = _slope(p, absolute)


@njit(fastmath=False, cache=True, nogil=True)
def _cholesky_solve(G, b, n, z):
    """``z[:n] = G[:n, :n]^-1 b[:n]`` for a symmetric positive definite ``G`` (overwritten)."""
    for j in range(n):
        acc = G[j, j]
        for t in range(j):
            acc -= G[j, t] * G[j, t]
        acc = np.sqrt(max(acc, 1e-300))
        G[j, j] = acc
        for i in range(j + 1, n):
            s = G[i, j]
            for t in range(j):
                s -= G[i, t] * G[j, t]
            G[i, j] = s / acc
    for i in range(n):
        s = b[i]
        for t in range(i):
            s -= G[i, t] * z[t]
        z[i] = s / G[i, i]
    for i in range(n - 1, -1, -1):
        s = z[i]
        for t in range(i + 1, n):
            s -= G[t, i] * z[t]
        z[i] = s / G[i, i]


@njit(fastmath=False, cache=True, nogil=True)
def _dual_cone_solve(A, y, out, tol, warm, n_warm):
    """``out = y + A' mu`` with ``mu = argmin_{mu >= 0} ||y + A' mu||`` (Lawson-Hanson).

    ``out`` is the projection of ``y`` onto ``{v : A v >= 0}``.  The rows of
    ``A`` have unit norm; constraints violated by less than ``tol ||y||`` count
    as satisfied.  The search starts from the active set ``warm[:n_warm]``
    (the last solution's, for a nearby ``y``: usually already the answer) and
    leaves the final active set there; returns its size.
    """
    n, p = A.shape
    out[:] = y
    scale = np.sqrt(np.sum(y * y))
    if n == 0 or scale == 0.0:
        return 0
    threshold = -tol * scale
    max_active = min(n, p)
    active = np.empty(max_active, np.int64)
    mu = np.zeros(max_active)
    z = np.empty(max_active)
    G = np.empty((max_active, max_active))
    b = np.empty(max_active)
    ay = np.empty(n)  # A y, reused by every least-squares solve
    for i in range(n):
        acc = 0.0
        for a in range(p):
            acc += A[i, a] * y[a]
        ay[i] = acc
    is_active = np.zeros(n, np.bool_)
    n_active = 0
    for s in range(min(n_warm, max_active)):
        if warm[s] < n and not is_active[warm[s]]:
            active[n_active] = warm[s]
            is_active[warm[s]] = True
            n_active += 1
    for outer in range(_MAX_ACTIVE_FACTOR * p + 10):
        if outer > 0 or n_active == 0:
            worst, i_worst = threshold, -1
            for i in range(n):
                if not is_active[i]:
                    r = 0.0
                    for a in range(p):
                        r += A[i, a] * out[a]
                    if r < worst:
                        worst, i_worst = r, i
            if i_worst < 0 or n_active == max_active:
                break
            active[n_active] = i_worst
            mu[n_active] = 0.0
            is_active[i_worst] = True
            n_active += 1
        for _inner in range(_MAX_ACTIVE_FACTOR * p + 10):
            # unconstrained least squares on the active set
            for s in range(n_active):
                b[s] = -ay[active[s]]
                for t in range(s + 1):
                    acc = 0.0
                    for a in range(p):
                        acc += A[active[s], a] * A[active[t], a]
                    G[s, t] = acc
                    G[t, s] = acc
                G[s, s] += 1e-14
            _cholesky_solve(G, b, n_active, z)
            positive = True
            for s in range(n_active):
                if z[s] <= 0.0:
                    positive = False
            if positive:
                mu[:n_active] = z[:n_active]
                break
            # step back to the boundary of mu >= 0 and drop the zeros
            alpha = 1.0
            for s in range(n_active):
                if z[s] <= 0.0:
                    denom = mu[s] - z[s]
                    alpha = min(alpha, mu[s] / denom) if denom > 0.0 else 0.0
            keep = 0
            for s in range(n_active):
                value = mu[s] + alpha * (z[s] - mu[s])
                if value > 1e-15 * (1.0 + abs(mu[s])):
                    active[keep] = active[s]
                    mu[keep] = value
                    keep += 1
                else:
                    is_active[active[s]] = False
            n_active = keep
            if n_active == 0:
                break
        out[:] = y
        for s in range(n_active):
            for a in range(p):
                out[a] += mu[s] * A[active[s], a]
    for s in range(n_active):
        warm[s] = active[s]
    return n_active


@njit(fastmath=False, cache=True, nogil=True)
def _gather_rows(rows, signs, pattern, index, count, sign):
    p = rows.shape[1]
    A = np.empty((count, p))
    for r in range(count):
        i = index[r]
        s = sign * signs[i, pattern]
        for a in range(p):
            A[r, a] = s * rows[i, a]
    return A


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def cone_prox(groups, threshold, pattern_of_group, rows, signs, working, n_working, tol, warm, n_warm):
    """In place: the proximal map of ``threshold ||v||`` plus the cone indicator.

    Each row ``groups[g]`` is projected onto ``{v : signs[i, k] rows[i] . v >
    = 0}`` (``k = pattern_of_group[g]``, only the rows ``working[k,
    :n_working[k]]``, of unit norm), then shrunk by ``threshold`` (for a cone,
    projecting then soft-thresholding is the exact proximal map).  A group no
    longer than ``threshold`` goes to zero at once (projections do not
    lengthen), and a feasible one needs no projection.  ``warm[g,
    :n_warm[g]]`` holds each group's last active constraints (positions in its
    working set), used as the starting guess and updated.
    """
    n_groups, p = groups.shape
    for g in prange(n_groups):
        y = groups[g]
        norm = np.sqrt(np.sum(y * y))
        if norm <= threshold:
            groups[g] = 0.0
            continue
        k = pattern_of_group[g]
        feasible = True
        for r in range(n_working[k]):
            i = working[k, r]
            acc = 0.0
            for a in range(p):
                acc += rows[i, a] * y[a]
            if signs[i, k] * acc < -tol * norm:
                feasible = False
                break
        if not feasible:
            A = _gather_rows(rows, signs, k, working[k], n_working[k], 1.0)
            out = np.empty(p)
            n_warm[g] = _dual_cone_solve(A, y.copy(), out, tol, warm[g], n_warm[g])
            groups[g] = out
            norm = np.sqrt(np.sum(out * out))
        if norm <= threshold:
            groups[g] = 0.0
        else:
            groups[g] *= 1.0 - threshold / norm


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def cone_subgradients(groups, grads, beta, pattern_of_group, rows, signs, working, n_working, tol, out):
    """Norm of the minimum-norm subgradient of ``beta ||v|| + indicator(cone)`` plus the gradient.

    For ``v = 0``: ``max(||proj_K(-grad)|| - beta, 0)``; otherwise the distance
    from ``grad + beta v / ||v||`` to the normal cone at ``v``, spanned by
    ``-a_i`` over the constraints active at ``v`` (``|a_i . v| <= tol ||v||``).
    """
    n_groups, p = groups.shape
    for g in prange(n_groups):
        k = pattern_of_group[g]
        v = groups[g]
        norm = np.sqrt(np.sum(v * v))
        res = np.empty(p)
        if norm == 0.0:
            A = _gather_rows(rows, signs, k, working[k], n_working[k], 1.0)
            _dual_cone_solve(A, -grads[g], res, tol, np.empty(p, np.int64), 0)
            out[g] = max(np.sqrt(np.sum(res * res)) - beta, 0.0)
            continue
        # active constraints at v, negated: the normal cone is spanned by -a_i
        count = 0
        idx = np.empty(n_working[k], np.int64)
        for r in range(n_working[k]):
            i = working[k, r]
            acc = 0.0
            for a in range(p):
                acc += signs[i, k] * rows[i, a] * v[a]
            if abs(acc) <= tol * norm:
                idx[count] = i
                count += 1
        A = _gather_rows(rows, signs, k, idx, count, -1.0)
        z = grads[g] + beta * v / norm
        _dual_cone_solve(A, z, res, 0.0, np.empty(p, np.int64), 0)
        out[g] = np.sqrt(np.sum(res * res))


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def cone_projection_norms(groups, pattern_of_group, rows, signs, out):
    """``out[g] = ||proj_K(groups[g])||`` over the cone of *every* row of its pattern.

    ``K = {v : signs[i, k] rows[i] . v >= 0 for all i}`` with ``k =
    pattern_of_group[g]``: the dual feasibility test of the duality gap,
    so no working set here.
    """
    n_groups, p = groups.shape
    m = rows.shape[0]
    index = np.arange(m)
    for g in prange(n_groups):
        A = _gather_rows(rows, signs, pattern_of_group[g], index, m, 1.0)
        res = np.empty(p)
        _dual_cone_solve(A, groups[g].copy(), res, 0.0, np.empty(p, np.int64), 0)
        out[g] = np.sqrt(np.sum(res * res))
