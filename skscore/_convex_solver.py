"""Convex training of two-layer ReLU and absolute-value networks.

A two-layer network ``sum_i act(x~ u_i) alpha_i`` (``x~ = [x, 1]``) fitted by
least squares with weight decay ``beta / 2 sum_i (||u_i||^2 + alpha_i^2)`` is
a convex program over the *arrangement patterns* of its training inputs
(Pilanci & Ergen 2020; Zhang & Pilanci, arXiv 2402.01965, for score
matching).  With patterns ``D_k = diag(1[X~ g_k >= 0])`` (ReLU) or
``diag(sign(X~ g_k))`` (absolute value) it reads

    min  1/(2m) ||sum_k D_k X~ (v_k - w_k) - Y||^2 + beta sum_k (||v_k|| + ||w_k||)
    s.t. sign_k * X~ v_k >= 0,  sign_k * X~ w_k >= 0   (the cones K_k)

with ``sign_k = 2 D_k - 1`` for the ReLU and ``D_k`` for the absolute value.
Dropping the cone constraints (and the ``w_k``) gives the *gated ReLU*
relaxation, a group lasso.  Every output column has neurons of its own (a
network whose hidden units each feed one output), so the groups are the
columns ``v_k[:, j]`` and the program separates over outputs.  An
unpenalized linear term ``X~ L`` is added and eliminated exactly.

Exact (not denoising) score matching adds ``-trace_weight`` times the mean
divergence of the network, which is linear in the variables: a neuron of
pattern ``k`` feeding output ``j`` contributes ``mean_i D_k[i] * v_k[j]``.

Everything is expressed through the sufficient statistics of the design
``Phi = [D_1 X~, ..., D_P X~]``: the Gram matrix ``H`` (``P p`` square, with
the linear term eliminated by a Schur complement) and the cross moments
``q``, so that one gradient costs ``O((P p)^2 c)`` whatever the number of
rows.  The solvers:

- gated ReLU: accelerated proximal gradient (FISTA) with backtracking, a
  monotone restart and the gradient restart of O'Donoghue & Candes, and the
  group soft-threshold as proximal step;
- ReLU: the same FISTA with the exact proximal map of ``beta ||v||`` plus
  the cone indicator (projection onto the cone by its dual non-negative
  least squares, then the group soft-threshold), so every iterate is
  feasible.  Rather than a multiplier method (an augmented Lagrangian, as in
  the ``scnn`` library), the cones are handled by constraint generation:
  each pattern's cone starts with the few rows nearest its gate's
  hyperplane, rows that the solution violates are added, and FISTA resumes,
  until the solution satisfies the constraints of every row.

Both stop on a certificate.  Inside, FISTA stops on the relative KKT
residual: the norm of the minimum-norm subgradient of the objective (over
the working cones) divided by the norm of the gradient at zero.  Outside,
:func:`solve` confirms with the relative duality gap of the least-squares
program (:meth:`ConvexProgram.duality_gap`), an upper bound on the relative
suboptimality, and tightens the KKT target until the gap is below ``tol``.
"""

import numpy as np
from scipy import linalg

from . import _kernels
from ._rows import distinct_pairs

ACTIVATIONS = ("relu", "abs")
FORMULATIONS = ("gated_relu", "relu")
_CHUNK_ROWS = 2048


class UnboundedProgramError(ValueError):
    """The program has no minimum: its objective decreases without bound."""


# ------------------------------------------------------------------ patterns
def draw_gates(n_inputs, n_gates, random_state):
    """Random gates for inputs ``[x, 1]`` (``n_inputs`` columns, the bias last).

    The direction part is uniform on the sphere and the offset standard
    normal: on standardized inputs the hyperplane ``x g + b = 0`` then cuts the
    projection of the data at a random point of its spread, instead of near
    its centre as ``g ~ N(0, I)`` does in high dimension.
    """
    gates = random_state.standard_normal((n_inputs, n_gates))
    norms = np.linalg.norm(gates[:-1], axis=0)
    gates[:-1] /= np.where(norms > 0, norms, 1.0)
    return gates


def bisector_gates(X, n_gates, random_state):
    """Gates whose hyperplanes bisect pairs of rows of ``X`` (bias column last).

    Gate ``k`` is the perpendicular bisector of two distinct rows ``x_i`` and
    ``x_j`` drawn at random: direction ``(x_j - x_i) / ||x_j - x_i||``,
    through the midpoint ``(x_i + x_j) / 2``.  The directions then follow the
    data's spread (they are distributed as the differences of two rows), and
    the kinks of the network sit between data points: between the modes of
    a mixture, where its score turns, rather than along random directions,
    most of which see little of that structure in several dimensions.  With
    repeated rows the pairs are drawn from the distinct rows; with fewer than
    two of them the gates are :func:`draw_gates`'s.
    """

    def pairs(points):
        first, second = distinct_pairs(len(points), n_gates, random_state)
        return first, second, points[second] - points[first]

    points = X[:, :-1]
    if len(points) < 2:
        return draw_gates(X.shape[1], n_gates, random_state)
    first, second, diff = pairs(points)
    norms = np.linalg.norm(diff, axis=1)
    if not np.all(norms > 0):
        points = np.unique(points, axis=0)
        if len(points) < 2:
            return draw_gates(X.shape[1], n_gates, random_state)
        first, second, diff = pairs(points)
        norms = np.linalg.norm(diff, axis=1)
    direction = diff / norms[:, None]
    midpoint = 0.5 * (points[first] + points[second])
    return np.vstack([direction.T, -np.einsum("ij,ij->i", direction, midpoint)])


def arrangement_patterns(X, gates, activation):
    """Deduplicated activation patterns of the inputs ``X`` (bias column last).

    Returns
    -------
    signs : ndarray of shape (n_rows, n_patterns)
        ``D_k`` as 0/1 (``'relu'``) or -1/+1 (``'abs'``) columns.  Patterns
        that are linear on the data (ReLU: all rows on or all off; absolute
        value: all one sign) duplicate the linear term and are dropped, as
        are repeats (for ``'abs'`` a pattern and its negation are one).
    gates : ndarray of shape (n_inputs, n_patterns)
        The gate that produced each kept pattern.
    """
    on = X @ gates >= 0
    if activation == "abs":
        on ^= on[:1]  # a pattern and its negation give the same |x v|
        keep = on.any(axis=0)
    else:
        keep = on.any(axis=0) & ~on.all(axis=0)
    on, gates = on[:, keep], gates[:, keep]
    packed = np.packbits(on, axis=0)
    _, first = np.unique(packed, axis=1, return_index=True)
    first = np.sort(first)
    on, gates = on[:, first], gates[:, first]
    signs = on.astype(np.float64)
    if activation == "abs":
        signs = 2.0 * signs - 1.0
    return signs, gates


def _cone_signs(signs, activation):
    """Row signs of the cone constraints ``sign_k * X~ v >= 0``."""
    return 2.0 * signs - 1.0 if activation == "relu" else signs


# ------------------------------------------------------------------ program
class ConvexProgram:
    """Sufficient statistics of one convex two-layer program.

    ``min_V 1/2 <V, H V> - <q, V> + const + beta sum_g ||V_g||`` over
    ``V`` of shape ``(P, p, c)`` (groups ``V[k, :, j]``), the linear term
    ``X~ L`` eliminated; the ReLU formulation adds the cones.

    Parameters
    ----------
    X : ndarray of shape (m, p)
        Network inputs, the bias column last.
    Y : ndarray of shape (m, c)
        Targets (zeros for exact score matching).
    signs : ndarray of shape (m, P)
        Activation patterns from :func:`arrangement_patterns`.
    beta : float
        Weight decay (against the mean squared error over ``m`` rows, halved).
    activation : {'relu', 'abs'}
    linear_inputs : ndarray of shape (m, p_lin), default=None
        Inputs of the unpenalized linear term; None means ``X``.
    trace_weight : float, default=0.0
        Coefficient of ``-mean_i div(network)(x_i)`` (exact score matching;
        output ``j`` is differentiated with respect to column ``j`` of ``X``
        and of the linear inputs, which must then be ``X``).
    """

    def __init__(self, X, Y, signs, beta, activation, linear_inputs=None, trace_weight=0.0):
        m, p = X.shape
        c = Y.shape[1]
        P = signs.shape[1]
        lin = X if linear_inputs is None else linear_inputs
        self.X, self.signs, self.beta, self.activation = X, signs, float(beta), activation
        self.shape = (P, p, c)
        G = np.zeros((P * p, P * p))
        B = np.zeros((P * p, lin.shape[1]))
        q_phi = np.zeros((P * p, c))
        for start in range(0, m, _CHUNK_ROWS):
            rows = slice(start, start + _CHUNK_ROWS)
            phi = (signs[rows, :, None] * X[rows, None, :]).reshape(-1, P * p)
            G += phi.T @ phi
            B += phi.T @ lin[rows]
            q_phi += phi.T @ Y[rows]
        G, B, q_phi = G / m, B / m, q_phi / m
        S = lin.T @ lin / m
        q_lin = lin.T @ Y / m
        const = 0.5 * np.sum(Y**2) / m
        if trace_weight:
            idx = np.arange(c)
            q_phi.reshape(P, p, c)[:, idx, idx] += trace_weight * signs.mean(axis=0)[:, None]
            q_lin[idx, idx] += trace_weight
        # eliminate the unpenalized linear term (Schur complement)
        S_inv = linalg.pinvh(S)
        BS = B @ S_inv
        self.H = G - BS @ B.T
        self.H = 0.5 * (self.H + self.H.T)
        self.q = q_phi - BS @ q_lin
        self.const = const - 0.5 * np.sum(q_lin * (S_inv @ q_lin))
        self._S_inv, self._B, self._q_lin = S_inv, B, q_lin
        self.scale = max(np.linalg.norm(self.q), np.finfo(np.float64).tiny)
        self.least_squares = not trace_weight

    def linear_term(self, net):
        """The optimal linear term ``L`` (shape ``(p_lin, c)``) for the network ``net``."""
        P, p, c = self.shape
        return self._S_inv @ (self._q_lin - self._B.T @ net.reshape(P * p, c))

    def objective(self, x):
        """Objective at the network ``x`` (``(P, p, c)``) or the pair ``(V, W)``."""
        P, p, c = self.shape
        net = x[0] - x[1] if x.ndim == 4 else x
        flat = net.reshape(P * p, c)
        return 0.5 * np.sum(flat * (self.H @ flat)) - np.sum(self.q * flat) + self.const + self.beta * _penalty(x)

    def duality_gap(self, V, W=None):
        """Relative duality gap ``(primal - dual) / primal`` at ``V`` (and ``W``).

        The program is a least-squares fit ``1/2 ||y~ - Phi~ n||^2 / m`` (the
        linear term projected out) plus ``h(V) + h(-W)``, ``h`` the group
        penalty (and, for the ReLU program, the cone indicators).  Its dual is
        ``max 1/2 ||y~||^2 / m - 1/2 ||y~ - theta||^2 / m`` over ``theta``
        with ``||proj_K(Phi~_g' theta / m)|| <= beta`` for every group ``g``
        (``K = R^p`` for the gated program); the residual ``r`` scaled to
        the largest feasible multiple, ``theta = s r``, is dual feasible, so
        the gap bounds the relative suboptimality of ``V`` from above.  Every
        quantity is a moment of ``H`` and ``q``: ``Phi~' r / m = q - H n``,
        ``y~' r / m = 2 const - q' n``.  NaN for exact score matching, whose
        program is not a least-squares fit.
        """
        if not self.least_squares:
            return float("nan")
        P, p, c = self.shape
        net = V if W is None else V - W
        flat = net.reshape(P * p, c)
        image = self.H @ flat
        quad, linear = float(np.sum(flat * image)), float(np.sum(self.q * flat))
        pieces = V[None] if W is None else np.stack([V, W])
        primal = 0.5 * quad - linear + self.const + self.beta * _penalty(pieces)
        corr = (self.q - image).reshape(P, p, c)  # Phi~' r / m, group by group
        if W is None:
            norms = np.sqrt(np.sum(corr**2, axis=1))
        else:
            # the dual constraint of a cone group: the norm of the projection onto the cone
            groups = np.ascontiguousarray(np.concatenate([corr, -corr]).transpose(0, 2, 1)).reshape(-1, p)
            pattern_of_group = np.repeat(np.tile(np.arange(P), 2), c).astype(np.int64)
            row_norms = np.linalg.norm(self.X, axis=1)
            rows = np.ascontiguousarray(self.X / np.where(row_norms > 0, row_norms, 1.0)[:, None])
            signs = np.ascontiguousarray(_cone_signs(self.signs, self.activation))
            norms = np.empty(groups.shape[0])
            _kernels.cone_projection_norms(groups, pattern_of_group, rows, signs, norms)
        largest = float(norms.max()) if norms.size else 0.0
        residual2 = max(quad - 2.0 * linear + 2.0 * self.const, 0.0)  # ||r||^2 / m
        fit = 2.0 * self.const - linear  # y~' r / m
        s_max = np.inf if largest == 0.0 else self.beta / largest
        s = min(max(fit / residual2, 0.0), s_max) if residual2 > 0 else 0.0
        dual = s * fit - 0.5 * s * s * residual2
        return max(primal - dual, 0.0) / max(primal, np.finfo(np.float64).tiny)

    def lipschitz(self, n_iter=30):
        """Largest eigenvalue of ``H`` (power iteration, an upper estimate)."""
        v = np.random.RandomState(0).standard_normal(self.H.shape[0])
        value = 0.0
        for _ in range(n_iter):
            w = self.H @ v
            value = np.linalg.norm(w)
            if value == 0.0:
                return 1.0
            v = w / value
        return 1.05 * value


def _penalty(V):
    return float(np.sqrt(np.sum(V**2, axis=-2)).sum())


def group_soft_threshold(V, threshold):
    """Proximal map of ``threshold * sum_g ||V_g||`` (groups along axis -2)."""
    norms = np.sqrt(np.sum(V**2, axis=-2, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(norms > threshold, 1.0 - threshold / norms, 0.0)
    return V * shrink


def min_norm_subgradient(V, grad, beta):
    """Norm of the minimum-norm element of ``grad + beta d sum_g ||V_g||``."""
    norms = np.sqrt(np.sum(V**2, axis=-2, keepdims=True))
    gnorms = np.sqrt(np.sum(grad**2, axis=-2, keepdims=True))
    active = norms > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        on = np.where(active, grad + beta * V / np.where(active, norms, 1.0), 0.0)
    off = np.where(active, 0.0, np.maximum(gnorms - beta, 0.0))
    return float(np.sqrt(np.sum(on**2) + np.sum(off**2)))


# ------------------------------------------------------------ smooth part
class _Quadratic:
    """``1/2 <n, H n> - <q, n>`` of the network ``n``; the cached image is ``H n``.

    The gated program's variable is the network ``V``; the ReLU program's is
    the pair ``(V, W)`` of shape ``(2, P, p, c)``, whose network is ``V - W``.
    """

    def __init__(self, program, paired):
        self.program, self.paired = program, paired

    def _net(self, x):
        return x[0] - x[1] if self.paired else x

    def image(self, x):
        P, p, c = self.program.shape
        net = self._net(x)
        return (self.program.H @ net.reshape(P * p, c)).reshape(net.shape)

    def value(self, x, image):
        net = self._net(x)
        return 0.5 * np.vdot(net, image) - np.vdot(self.program.q, net)

    def gradient(self, x, image):
        g = image - self.program.q.reshape(image.shape)
        return np.stack([g, -g]) if self.paired else g


class _Cones:
    """The cone constraints of the ReLU program, on working sets of rows.

    A neuron of pattern ``k`` must satisfy ``sign_ik x_i . v >= 0`` on every
    training row, but only the few rows that bound the cone matter.  Each
    pattern starts with the rows nearest (in angle) to its gate's hyperplane;
    rows violated by a solution are added and the program solved again, so
    the final solution satisfies every constraint (checked on all rows).
    """

    def __init__(self, program, gates, initial_rows):
        X = program.X
        m, p = X.shape
        P, _, c = program.shape
        self.shape = program.shape
        norms = np.linalg.norm(X, axis=1)
        self.rows = np.ascontiguousarray(X / np.where(norms > 0, norms, 1.0)[:, None])
        self.signs = np.ascontiguousarray(_cone_signs(program.signs, program.activation))
        unit_gates = gates / np.linalg.norm(gates, axis=0)
        closeness = np.abs(self.rows @ unit_gates)  # (m, P)
        n0 = min(m, initial_rows)
        order = np.argsort(closeness, axis=0)[:n0].T  # (P, n0)
        self.working = np.ascontiguousarray(order, dtype=np.int64)
        self.n_working = np.full(P, n0, dtype=np.int64)
        self.in_working = np.zeros((m, P), dtype=bool)
        self.in_working[order.T, np.arange(P)] = True
        # groups are laid out as (side, pattern, output) rows of length p
        self.pattern_of_group = np.repeat(np.tile(np.arange(P), 2), c).astype(np.int64)
        self.warm = np.zeros((2 * P * c, p), dtype=np.int64)
        self.n_warm = np.zeros(2 * P * c, dtype=np.int64)
        self.polar = np.zeros((2 * P * c, p))

    def _groups(self, x):
        P, p, c = self.shape
        return np.ascontiguousarray(x.transpose(0, 1, 3, 2)).reshape(-1, p)

    def _ungroup(self, groups):
        P, p, c = self.shape
        return groups.reshape(2, P, c, p).transpose(0, 1, 3, 2)

    def prox(self, y, threshold):
        """Projection onto the cones, then the group soft-threshold (exact for cones)."""
        groups = self._groups(y)
        _kernels.cone_prox(
            groups, threshold, self.pattern_of_group, self.rows, self.signs, self.working, self.n_working, 1e-13,
            self.warm, self.n_warm, self.polar,
        )
        return self._ungroup(groups)

    def residual(self, x, grad, beta):
        out = np.empty(self.pattern_of_group.shape[0])
        _kernels.cone_subgradients(
            self._groups(x), self._groups(grad), beta, self.pattern_of_group, self.rows, self.signs,
            self.working, self.n_working, 1e-9, self.polar, out,
        )
        return float(np.sqrt(np.sum(out**2)))

    def add_violated_rows(self, x, tol=1e-10):
        """Add the rows whose constraint ``x`` violates; return how many."""
        P, p, c = self.shape
        values = self.rows @ x.transpose(2, 0, 1, 3).reshape(p, -1)  # (m, 2 P c)
        values = values.reshape(-1, 2, P, c) * self.signs[:, None, :, None]
        norms = np.sqrt(np.sum(x**2, axis=2))  # (2, P, c)
        violated = (values < -tol * norms[None]).any(axis=(1, 3)) & ~self.in_working  # (m, P)
        n_new = violated.sum(axis=0)
        if not n_new.any():
            return 0
        capacity = int((self.n_working + n_new).max())
        if capacity > self.working.shape[1]:
            grown = np.zeros((P, capacity), dtype=np.int64)
            grown[:, : self.working.shape[1]] = self.working
            self.working = grown
        for k in np.nonzero(n_new)[0]:
            new = np.nonzero(violated[:, k])[0]
            self.working[k, self.n_working[k] : self.n_working[k] + new.size] = new
            self.n_working[k] += new.size
            self.in_working[new, k] = True
        return int(n_new.sum())


def _combine(a, b, weight):
    """``a + weight (a - b)``: the cached image of an extrapolated point."""
    return a + weight * (a - b)


# --------------------------------------------------------------------- FISTA
def fista(smooth, prox, residual, x, beta, *, tol, scale, max_iter, lipschitz, check_every=1):
    """Accelerated proximal gradient with backtracking and restarts.

    Minimizes ``smooth(x) + beta sum_g ||x_g||`` (plus, through ``prox``, the
    cone indicators).  Restarts the momentum when the objective would
    increase (monotone FISTA) and when the step turns against the momentum
    (O'Donoghue & Candes).  Stops when ``residual(x, grad)``, the norm of the
    minimum-norm subgradient, is at most ``tol * scale``; that is computed
    every ``check_every`` iterations, and whenever ``2 L ||x_new - y||`` (which
    bounds it when ``L`` bounds the curvature) is small enough.

    Returns
    -------
    x, n_iter, relative_residual
    """
    image = smooth.image(x)
    value = smooth.value(x, image) + beta * _penalty(x)
    y, image_y, t, L = x, image, 1.0, lipschitz
    rel = residual(x, smooth.gradient(x, image), beta) / scale
    n_iter = 0
    while rel > tol and n_iter < max_iter:
        n_iter += 1
        grad_y = smooth.gradient(y, image_y)
        f_y = smooth.value(y, image_y)
        refreshed = False
        while True:
            x_new = prox(y - grad_y / L, beta / L)
            image_new = smooth.image(x_new)
            f_new = smooth.value(x_new, image_new)
            step = x_new - y
            bound = f_y + np.vdot(grad_y, step) + 0.5 * L * np.vdot(step, step)
            if f_new <= bound + 1e-12 * max(abs(f_y), abs(f_new), 1e-300):
                break
            if not refreshed:
                # the extrapolated image drifts by rounding over many iterations: recompute it once
                image_y = smooth.image(y)
                grad_y, f_y, refreshed = smooth.gradient(y, image_y), smooth.value(y, image_y), True
                continue
            L *= 2.0
            if not (np.isfinite(f_new) and L <= 1e16 * lipschitz):
                # a quadratic obeys its curvature bound up to rounding: the iterates ran away
                raise UnboundedProgramError("The convex program diverged: its objective is unbounded below.")
        value_new = f_new + beta * _penalty(x_new)
        if value_new > value and t > 1.0:
            y, image_y, t = x, image, 1.0  # monotone restart: step again from x
            continue
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        momentum = (t - 1.0) / t_new
        if np.vdot(y - x_new, x_new - x) > 0:  # gradient restart
            momentum, t_new = 0.0, 1.0
        y = x_new + momentum * (x_new - x)
        image_y = _combine(image_new, image, momentum)
        x, image, value, t = x_new, image_new, value_new, t_new
        if n_iter % check_every == 0 or 2.0 * L * np.sqrt(np.vdot(step, step)) <= tol * scale:
            rel = residual(x, smooth.gradient(x, image), beta) / scale
    if rel > tol:
        rel = residual(x, smooth.gradient(x, image), beta) / scale
    return x, n_iter, rel


# --------------------------------------------------------------------- solve
_MIN_KKT_TARGET = 1e-13
# the factors by which a round's KKT target may shrink after a gap above tol: at least 2, at most 10
_TARGET_STEPS = (0.1, 0.5)


def solve(program, formulation, gates=None, *, tol, max_iter, report=None):
    """Solve a :class:`ConvexProgram` to a relative duality gap ``tol``.

    FISTA runs until the relative KKT residual (minimum-norm subgradient
    over the norm of the gradient at zero) is below a target, starting at
    ``tol``; then the relative duality gap
    (:meth:`ConvexProgram.duality_gap`, an upper bound on the relative
    suboptimality) is computed, and while it exceeds ``tol`` the target is
    multiplied by ``tol / (2 gap)``, between a tenth and a half, and FISTA
    resumes from where it stopped: the gap falls about in proportion to the
    residual, so the next target aims at the residual where the gap would
    meet ``tol``, with a margin of 2, rather than always ten times lower
    (which solved programs whose gap was just above ``tol`` much further
    than needed).  Exact score matching has no least-squares dual: its
    certificate is the KKT residual, in the same rule.

    Parameters
    ----------
    program : ConvexProgram
    formulation : {'gated_relu', 'relu'}
    gates : ndarray of shape (p, P), default=None
        The gates of the patterns (``'relu'``: they seed the working sets).
    tol : float
        Target relative duality gap (KKT residual for exact score matching).
    max_iter : int
        FISTA iterations allowed (over all rounds).
    report : callable or None, default=None
        ``report(message, *args)`` is called with ``message % args`` after
        each round (and, for ``'relu'``, each addition of violated rows):
        the progress lines of ``verbose=2``.

    Returns
    -------
    result : dict
        ``V`` (network, ``(P, p, c)``; for ``'relu'`` the positive neurons),
        ``W`` (``'relu'``: the negative neurons, else None), ``objective``,
        ``residual`` (relative KKT residual), ``gap`` (relative duality gap,
        NaN for exact score matching), ``certificate`` (the gap, or the
        residual when there is no gap), ``n_iter``, ``converged``
        (``certificate <= tol``).
    """
    P, p, c = program.shape
    L0 = program.lipschitz()
    if formulation == "gated_relu":
        smooth = _Quadratic(program, paired=False)
        x = np.zeros((P, p, c))

        def run(x, target, budget):
            return fista(
                smooth, group_soft_threshold, min_norm_subgradient, x, program.beta, tol=target,
                scale=program.scale, max_iter=budget, lipschitz=L0,
            )

        def split(x):
            return x, None

    else:
        cones = _Cones(program, gates, initial_rows=4 * p)
        x = np.zeros((2, P, p, c))

        def run(x, target, budget):
            return _solve_relu(program, cones, x, tol=target, max_iter=budget, L0=L0, report=report)

        def split(x):
            return x[0], x[1]

    target, total = tol, 0
    while True:
        x, n_iter, rel = run(x, target, max_iter - total)
        total += n_iter
        V, W = split(x)
        gap = program.duality_gap(V, W)
        certificate = gap if program.least_squares else rel
        if report is not None:
            report(
                "round to a relative KKT residual of %.0e: %d iterations (%d in all), KKT residual %.2g, duality gap %.2g",
                target, n_iter, total, rel, gap,
            )
        if certificate <= tol or total >= max_iter or target <= _MIN_KKT_TARGET:
            break
        target = max(target * min(max(0.5 * tol / certificate, _TARGET_STEPS[0]), _TARGET_STEPS[1]), _MIN_KKT_TARGET)
    objective = program.objective(V) if W is None else program.objective(np.stack([V, W]))
    if not (np.isfinite(objective) and np.all(np.isfinite(V))):
        raise UnboundedProgramError("The convex program diverged: its objective is unbounded below.")
    return {
        "V": V,
        "W": W,
        "objective": objective,
        "residual": rel,
        "gap": gap,
        "certificate": certificate,
        "n_iter": total,
        "converged": certificate <= tol,
    }


def _solve_relu(program, cones, x, *, tol, max_iter, L0, report=None):
    """Augmented working sets: FISTA on the cones of the working rows, then add violated rows."""
    smooth = _Quadratic(program, paired=True)
    scale = np.sqrt(2.0) * program.scale
    total, rel = 0, np.inf
    round_tol = max(tol, 1e-3)
    while True:
        x, n_iter, rel = fista(
            smooth, cones.prox, cones.residual, x, program.beta, tol=round_tol, scale=scale,
            max_iter=max_iter - total, lipschitz=L0, check_every=20,
        )
        total += n_iter
        added = cones.add_violated_rows(x)
        if report is not None:
            report("cones: %d iterations to a KKT residual of %.2g, %d violated rows added", n_iter, rel, added)
        if added:
            x = cones.prox(x, 0.0)  # back into the tightened cones
            if total < max_iter:
                continue
            # out of iterations: the residual of FISTA's last iterate no longer describes x
            rel = cones.residual(x, smooth.gradient(x, smooth.image(x)), program.beta) / scale
            break
        if round_tol <= tol or total >= max_iter:
            break
        round_tol = max(tol, round_tol * 1e-3)
    return x, total, rel
