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
# the groups of cone_prox are split into this many blocks, each with its own scratch space:
# enough blocks to balance the threads, few enough that the allocations do not count
_PROX_BLOCKS = 64


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


@njit(inline="always", fastmath=False)
def _row_sign(signs, pattern, index, r, sign):
    return sign * signs[index[r], pattern]


@njit(fastmath=False, cache=True, nogil=True)
def _constraint_values(rows, signs, pattern, index, count, sign, y, out):
    """``out[r] = a_r . y`` for the constraint rows ``a_r = sign * signs[i, pattern] * rows[i]``, ``i = index[r]``."""
    p = rows.shape[1]
    for r in range(count):
        i = index[r]
        s = _row_sign(signs, pattern, index, r, sign)
        acc = 0.0
        for a in range(p):
            acc += s * rows[i, a] * y[a]
        out[r] = acc


@njit(fastmath=False, cache=True, nogil=True)
def _work_space(p, n_rows):
    """Scratch space of :func:`_dual_cone_solve` for ``p`` columns and up to ``n_rows`` constraints."""
    return np.empty((p + 3, p)), np.empty(p, np.int64), np.empty(n_rows, np.bool_), np.empty(n_rows)


@njit(fastmath=False, cache=True, nogil=True)
def _dual_cone_solve(
    rows, signs, pattern, index, n, sign, y, ay, out, tol, warm, n_warm, work, active, is_active, values
):
    """``out = y + A' mu`` with ``mu = argmin_{mu >= 0} ||y + A' mu||`` (Lawson-Hanson).

    ``out`` is the projection of ``y`` onto ``{v : A v >= 0}``, whose rows
    ``a_r = sign * signs[i, pattern] * rows[i]`` (``i = index[r]``, ``r < n``)
    are read in place rather than gathered: the projection runs for every
    group at every iteration of the solver.  The rows have unit norm;
    ``ay[:n]`` holds ``A y`` (:func:`_constraint_values`).  Constraints
    violated by less than ``tol ||y||`` count as satisfied.  The search
    starts from the active set ``warm[:n_warm]`` (the last solution's, for a
    nearby ``y``: usually already the answer) and leaves the final active set
    there; returns its size.  ``work``, ``active``, ``is_active`` and
    ``values`` (:func:`_work_space`) are scratch space, allocated once for a loop over
    many projections.
    """
    p = rows.shape[1]
    out[:] = y
    scale = np.sqrt(np.sum(y * y))
    if n == 0 or scale == 0.0:
        return 0
    threshold = -tol * scale
    max_active = min(n, p)
    G, mu, z, b = work[:p], work[p], work[p + 1], work[p + 2]
    mu[:] = 0.0
    is_active[:n] = False
    n_active = 0
    for s in range(min(n_warm, max_active)):
        if warm[s] < n and not is_active[warm[s]]:
            active[n_active] = warm[s]
            is_active[warm[s]] = True
            n_active += 1
    for outer in range(_MAX_ACTIVE_FACTOR * p + 10):
        if outer > 0 or n_active == 0:
            worst, i_worst = threshold, -1
            _constraint_values(rows, signs, pattern, index, n, sign, out, values)
            for r in range(n):
                if not is_active[r] and values[r] < worst:
                    worst, i_worst = values[r], r
            if i_worst < 0 or n_active == max_active:
                break
            active[n_active] = i_worst
            mu[n_active] = 0.0
            is_active[i_worst] = True
            n_active += 1
        for _inner in range(_MAX_ACTIVE_FACTOR * p + 10):
            # unconstrained least squares on the active set
            for s in range(n_active):
                i_s = index[active[s]]
                s_s = _row_sign(signs, pattern, index, active[s], sign)
                b[s] = -ay[active[s]]
                for t in range(s + 1):
                    i_t = index[active[t]]
                    s_t = _row_sign(signs, pattern, index, active[t], sign)
                    acc = 0.0
                    for a in range(p):
                        acc += (s_s * rows[i_s, a]) * (s_t * rows[i_t, a])
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
            i_s = index[active[s]]
            s_s = _row_sign(signs, pattern, index, active[s], sign)
            for a in range(p):
                out[a] += mu[s] * (s_s * rows[i_s, a])
    for s in range(n_active):
        warm[s] = active[s]
    return n_active


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def cone_prox(groups, threshold, pattern_of_group, rows, signs, working, n_working, tol, warm, n_warm, polar):
    """In place: the proximal map of ``threshold ||v||`` plus the cone indicator.

    Each row ``groups[g]`` is projected onto ``{v : signs[i, k] rows[i] . v >
    = 0}`` (``k = pattern_of_group[g]``, only the rows ``working[k,
    :n_working[k]]``, of unit norm), then shrunk by ``threshold`` (for a cone,
    projecting then soft-thresholding is the exact proximal map).  A group no
    longer than ``threshold`` goes to zero at once (projections do not
    lengthen), and a feasible one needs no projection.  ``warm[g,
    :n_warm[g]]`` holds each group's last active constraints (positions in its
    working set), used as the starting guess and updated.

    ``polar[g]`` holds ``(y - proj_K(y)) / threshold`` of the group's last
    projection with a positive ``threshold``: a point of the polar cone of
    ``K``, and so ``||proj_K(y)|| <= ||y - t polar[g]||`` for every ``y`` and
    ``t >= 0``.  Where that bound (``t = threshold``) is at most
    ``threshold`` the group is zero without a projection: most groups are
    zero near the optimum, and their inputs move little from one iteration
    to the next.  The bound stays valid when rows join the working set (the
    cone shrinks, its polar grows); zeros are a valid start.
    """
    n_groups, p = groups.shape
    n_rows = working.shape[1]
    n_blocks = min(n_groups, _PROX_BLOCKS)
    for block in prange(n_blocks):
        work, active, is_active, values = _work_space(p, n_rows)
        ay = np.empty(n_rows)
        out = np.empty(p)
        for g in range(block * n_groups // n_blocks, (block + 1) * n_groups // n_blocks):
            y = groups[g]
            norm = np.sqrt(np.sum(y * y))
            bound = 0.0
            for a in range(p):
                bound += (y[a] - threshold * polar[g, a]) ** 2
            if norm <= threshold or np.sqrt(bound) <= threshold:
                groups[g] = 0.0
                continue
            k = pattern_of_group[g]
            n = n_working[k]
            _constraint_values(rows, signs, k, working[k], n, 1.0, y, ay)
            feasible = True
            for r in range(n):
                if ay[r] < -tol * norm:
                    feasible = False
                    break
            if not feasible:
                n_warm[g] = _dual_cone_solve(
                    rows, signs, k, working[k], n, 1.0, y, ay, out, tol, warm[g], n_warm[g],
                    work, active, is_active, values,
                )
                if threshold > 0.0:
                    for a in range(p):
                        polar[g, a] = (y[a] - out[a]) / threshold
                groups[g] = out
                norm = np.sqrt(np.sum(out * out))
            elif threshold > 0.0:
                polar[g] = 0.0
            if norm <= threshold:
                groups[g] = 0.0
            else:
                groups[g] *= 1.0 - threshold / norm


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def cone_subgradients(groups, grads, beta, pattern_of_group, rows, signs, working, n_working, tol, polar, out):
    """Norm of the minimum-norm subgradient of ``beta ||v|| + indicator(cone)`` plus the gradient.

    For ``v = 0``: ``max(||proj_K(-grad)|| - beta, 0)``; otherwise the distance
    from ``grad + beta v / ||v||`` to the normal cone at ``v``, spanned by
    ``-a_i`` over the constraints active at ``v`` (``|a_i . v| <= tol ||v||``).
    ``polar`` is :func:`cone_prox`'s: ``beta polar[g]`` lies in the polar
    cone, so ``||proj_K(-grad)|| <= ||-grad - beta polar[g]||``, and where
    that is at most ``beta`` the zero group's residual is 0 without a
    projection.
    """
    n_groups, p = groups.shape
    for g in prange(n_groups):
        k = pattern_of_group[g]
        v = groups[g]
        norm = np.sqrt(np.sum(v * v))
        res = np.empty(p)
        if norm == 0.0:
            y = -grads[g]
            bound = 0.0
            for a in range(p):
                bound += (y[a] - beta * polar[g, a]) ** 2
            if np.sqrt(bound) <= beta:
                out[g] = 0.0
                continue
            ay = np.empty(n_working[k])
            _constraint_values(rows, signs, k, working[k], n_working[k], 1.0, y, ay)
            _dual_cone_solve(
                rows, signs, k, working[k], n_working[k], 1.0, y, ay, res, tol, np.empty(p, np.int64), 0,
                *_work_space(p, n_working[k]),
            )
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
        z = grads[g] + beta * v / norm
        az = np.empty(count)
        _constraint_values(rows, signs, k, idx, count, -1.0, z, az)
        _dual_cone_solve(
            rows, signs, k, idx, count, -1.0, z, az, res, 0.0, np.empty(p, np.int64), 0, *_work_space(p, count)
        )
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
        y = groups[g].copy()
        ay = np.empty(m)
        _constraint_values(rows, signs, pattern_of_group[g], index, m, 1.0, y, ay)
        res = np.empty(p)
        _dual_cone_solve(
            rows, signs, pattern_of_group[g], index, m, 1.0, y, ay, res, 0.0, np.empty(p, np.int64), 0,
            *_work_space(p, m),
        )
        out[g] = np.sqrt(np.sum(res * res))
