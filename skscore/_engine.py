"""The diffusion engine: an object that the estimators hold.

A :class:`Diffusion` is a fitted forward process and what reverses it:

- the noise angles ``0 < u_1 < ... < u_K`` of the levels (every DDPM, VP or
  VE process has marginals ``z = cos(u) z_0 + sin(u) eps``, see
  :mod:`skscore._schedules`);
- the Gaussian base distribution at ``u_K`` (:class:`GaussianBase`, its
  Cholesky factor computed once);
- a :class:`NoisePredictor`, the model's own part: ``predict(z, k)`` and
  ``predict_with_divergence(z, k)``.

Its methods draw training pairs, sample (every sampler), compute the
log-density along the probability-flow ODE, the score, and inpaint missing
entries (RePaint).  The sampling and likelihood loops are written once, here,
against the step interface of :mod:`skscore._steps`; the CPU steps run them on
row chunks in parallel threads, the CUDA steps on the GPU.

An estimator holds one diffusion (:class:`~skscore.DiffusionRandomFeatures`),
one per mixture component or one per class; it keeps validation, column
types, standardization and the public API (:mod:`skscore.base`).
"""

import numpy as np
from scipy import linalg
from scipy.special import ndtr, ndtri

from . import _kernels
from ._kernels import cuda as _cuda  # numba.cuda itself is imported only when a kernel runs
from ._parallel import map_chunks
from ._steps import CpuSteps

__all__ = ["SAMPLERS", "DEVICES", "Diffusion", "GaussianBase", "NoisePredictor", "check_cuda", "repaint_path", "draw_by_weight"]

SAMPLERS = ("heun", "ddim", "ddpm", "euler_maruyama")
DEVICES = ("cpu", "cuda", "auto")
# rows per chunk on the CPU: each chunk runs every step in one thread
CHUNK_SIZE = 1024
# keyed training pairs: the rows that share a generator, and the pairs of a batch
KEY_BLOCK_ROWS = 8192
KEYED_BATCH_ROWS = 16384
_MAX_SEED = np.iinfo(np.int32).max
# rows known only by intervals (see Diffusion._draws_in_box): sweeps of elliptical slice
# sampling per stage and at the end, the share of a population a stage keeps, the
# particles of one system that starts a population, the stages before a population
# gives up, the shrinks before a sweep stays put
CELL_STAGE_SWEEPS = 4
CELL_FINAL_SWEEPS = 10
CELL_KEPT_SHARE = 0.5
CELL_SYSTEM_PARTICLES = 8192
_MAX_CELL_STAGES = 60
_MAX_SHRINKS = 50
_FD_STEP = 1e-4


def check_cuda(owner, supported, n_columns=None):
    """Raise a ValueError unless ``device='cuda'`` can run ``owner``'s kernels here.

    ``n_columns``, the model columns once known (after the typed columns are
    encoded), is checked against the kernels' limit too.
    """
    if not supported:
        raise ValueError(
            f"device='cuda' is not supported by {owner} with these parameters: its noise predictor has no CUDA "
            "kernels (they exist for DiffusionRandomFeatures, ConvexTwoLayerScore with formulation='relu', and "
            "GaussianMixturePriorDiffusion with such a predictor). Use device='cpu', or 'auto'."
        )
    if not _cuda.cuda_usable():
        raise ValueError(
            f"device='cuda' needs a usable CUDA GPU, but {_cuda.cuda_unavailable_reason()}. Install the CUDA "
            "extra (pip install 'skscore[cuda]') on a machine with an NVIDIA GPU and driver, or use "
            "device='auto', which falls back to the CPU."
        )
    if n_columns is not None:
        _cuda.check_columns(n_columns)


class GaussianBase:
    """The base distribution ``N(mean, covariance)``, its Cholesky factor cached.

    Parameters
    ----------
    mean : ndarray of shape (d,)
    covariance : ndarray of shape (d, d)
        Symmetric positive definite.
    """

    def __init__(self, mean, covariance):
        self.mean = mean
        self.covariance = covariance
        self.cholesky = linalg.cholesky(covariance, lower=True)

    @classmethod
    def noised(cls, mean, covariance, angle):
        """The law of ``cos(u) z_0 + sin(u) eps`` up to second moments, for ``z_0`` of these moments."""
        a, s = np.cos(angle), np.sin(angle)
        return cls(a * mean, a**2 * covariance + s**2 * np.eye(len(mean)))

    def log_density(self, z):
        w = linalg.solve_triangular(self.cholesky, (z - self.mean).T, lower=True, check_finite=False)
        d = z.shape[1]
        return -0.5 * np.sum(w**2, axis=0) - np.log(np.diag(self.cholesky)).sum() - 0.5 * d * np.log(2 * np.pi)

    def sample(self, n_samples, random_state):
        return self.from_standard(random_state.standard_normal((n_samples, self.cholesky.shape[0])))

    def from_standard(self, nu):
        """Rows of this law from rows ``nu`` of the standard normal, ``mean + L nu``."""
        return self.mean + nu @ self.cholesky.T

    def to_standard(self, z):
        """The inverse of :meth:`from_standard`, ``L^-1 (z - mean)``."""
        return linalg.solve_triangular(self.cholesky, (z - self.mean).T, lower=True, check_finite=False).T


class NoisePredictor:
    """What a model plugs into the engine: the noise of ``z = cos(u_k) z_0 + sin(u_k) eps``.

    Subclasses implement :meth:`predict`; :meth:`predict_with_divergence`
    defaults to central finite differences (exact up to ``O(h^2)``, ``2 d``
    extra evaluations), which models with a closed form override, setting
    ``divergence_in_closed_form``.  A
    predictor with CUDA kernels sets ``supports_cuda`` and returns its
    :class:`skscore._kernels.cuda.DeviceNetwork` from :meth:`device_network`.
    """

    supports_cuda = False
    # whether predict_with_divergence has a closed form (the conditional sampler's kernel uses it only then)
    divergence_in_closed_form = False

    def predict(self, z, level):
        """Predicted noise at ``level`` for rows ``z`` (n, d)."""
        raise NotImplementedError

    def predict_with_divergence(self, z, level):
        """The prediction and its divergence ``sum_j d eps_j / d z_j`` (here by finite differences)."""
        eps = self.predict(z, level)
        div = np.zeros(z.shape[0])
        shifted = z.copy()
        for j in range(z.shape[1]):
            shifted[:, j] = z[:, j] + _FD_STEP
            # copies: a predictor may return a view of its input, which the next shift would change
            plus = np.array(self.predict(shifted, level)[:, j])
            shifted[:, j] = z[:, j] - _FD_STEP
            minus = np.array(self.predict(shifted, level)[:, j])
            shifted[:, j] = z[:, j]
            div += (plus - minus) / (2.0 * _FD_STEP)
        return eps, div

    def device_network(self):
        """The predictor's weights on the GPU (only when ``supports_cuda``)."""
        raise NotImplementedError


class _FromLevel(NoisePredictor):
    """A diffusion's noise predictor read from its level ``j``: the predictor of :meth:`Diffusion.from_terminal_level`.

    With ``y = z_j / cos(u_j)`` (``t = tan(u_j)``), a level ``k > j`` holds
    ``z_k = a_k y + s'_k eps'`` with ``s'_k^2 = s_k^2 - a_k^2 t^2``, and
    ``w = z_k / c_k``, ``c_k = sqrt(a_k^2 + s'_k^2)``, is a level of angle
    ``atan(s'_k / a_k)`` of a diffusion of ``y``.  Both noises are
    ``-s grad log p_k`` for their own ``s``, so the new one is ``s'_k /
    s_k`` times the predicted one at ``c_k w``.
    """

    def __init__(self, inner, first, scales, ratios):
        self.inner = inner
        self.first = first
        self.scales = scales
        self.ratios = ratios
        self.divergence_in_closed_form = inner.divergence_in_closed_form

    def predict(self, z, level):
        return self.ratios[level] * self.inner.predict(self.scales[level] * z, self.first + level)

    def predict_with_divergence(self, z, level):
        eps, div = self.inner.predict_with_divergence(self.scales[level] * z, self.first + level)
        return self.ratios[level] * eps, (self.ratios[level] * self.scales[level]) * div


def repaint_path(n_levels, n_resamplings, jump_fraction):
    """Levels visited by RePaint: down the grid, going back up ``jump`` levels every ``jump`` levels.

    Every ``ceil(jump_fraction n_levels)`` levels the rows are noised back up
    as many levels and the stretch is run again, ``n_resamplings`` times in
    all; the path ends with ``-1``, the data.
    """
    jump = max(1, int(np.ceil(jump_fraction * n_levels)))
    path, k, passes = [n_levels - 1], n_levels - 1, 0
    while k > 0:
        k -= 1
        path.append(k)
        if (n_levels - 1 - k) % jump == 0 and k > 0:
            if passes < n_resamplings - 1:
                passes += 1
                k += jump
                path.append(k)
            else:
                passes = 0
    return path + [-1]


# ------------------------------------------------------------------ the loops
def _reverse_step(steps, z, k, k_to, cos_u, sin_u, sampler, out):
    """One step of a first-order sampler from level ``k`` to ``k_to`` (-1: the data)."""
    eps = steps.predict(z, k)
    a_to, s_to = (cos_u[k_to], sin_u[k_to]) if k_to >= 0 else (1.0, 0.0)
    if sampler == "ddim" or k_to < 0:
        # the last step of every sampler is the Tweedie denoising step
        steps.ddim(z, eps, cos_u[k], sin_u[k], a_to, s_to, out)
    elif sampler == "ddpm":
        steps.ancestral(z, eps, cos_u[k], sin_u[k], a_to, s_to, out)
    else:
        steps.euler_maruyama(z, eps, cos_u[k], sin_u[k], a_to, out)


def _reverse_flow(steps, z, angles, sampler, held_first_level=False, last_level=None):
    """Rows at the last level integrated back to the data, with ``sampler``.

    ``held_first_level``: see :func:`_forward_flow` (Heun only).  With
    ``last_level`` ``j``, the integration stops at level ``j`` and returns
    the rows there (not divided by ``cos(u_j)``).
    """
    cos_u, sin_u = np.cos(angles), np.sin(angles)
    z = steps.to_backend(z)
    z_next = steps.empty_like(z)
    stop = -1 if last_level is None else last_level
    if sampler != "heun":
        for k in range(len(angles) - 1, stop, -1):
            _reverse_step(steps, z, k, k - 1, cos_u, sin_u, sampler, z_next)
            z, z_next = z_next, z
        return steps.to_host(z)
    # Heun on the probability-flow ODE dz/du = (eps_hat - sin(u) z) / cos(u)
    v, z_pred = steps.empty_like(z), steps.empty_like(z)
    for k in range(len(angles) - 1, stop, -1):
        h = (angles[k - 1] if k > 0 else 0.0) - angles[k]
        eps = steps.predict(z, k)
        steps.velocity_euler(z, eps, cos_u[k], sin_u[k], z, h, v, z_pred)
        if k > 0:
            eps = steps.predict(z_pred, k - 1)
            steps.velocity_heun(z_pred, eps, cos_u[k - 1], sin_u[k - 1], z, v, h, z_next)
        elif held_first_level:  # the first level's noise prediction, at u = 0
            eps = steps.predict(z_pred, 0)
            steps.velocity_heun(z_pred, eps, 1.0, 0.0, z, v, h, z_next)
        else:  # the velocity is exactly 0 at u = 0
            steps.axpy(z, 0.5 * h, v, z_next)
        z, z_next = z_next, z
    return steps.to_host(z)


def _forward_flow(steps, z, angles, held_first_level=False, with_log_det=True, first_level=None):
    """Heun integration of the probability-flow ODE from the data to ``u_K``.

    Returns the rows at ``u_K`` and the integral of the divergence of the
    velocity (the trapezoidal rule on the same grid), the log-determinant of
    the flow's Jacobian (None without ``with_log_det``: the rows alone, at the
    cost of the noise predictions).  On ``[0, u_1]`` the velocity is
    interpolated linearly to its value 0 at ``u = 0`` (exact for data with a
    smooth density); with ``held_first_level``, the noise predicted at
    ``u_1`` is held down to ``u = 0`` instead, so the flow keeps denoising to
    the end (for data with structure finer than the first level's noise:
    values on a grid, tight clusters).  With ``first_level`` ``j``, ``z``
    are rows at level ``j`` and the integration starts there.
    """
    cos_u, sin_u = np.cos(angles), np.sin(angles)
    z = steps.to_backend(z)
    n, d = z.shape
    if with_log_det:
        predict = steps.predict_with_divergence
    else:

        def predict(z, level):
            return steps.predict(z, level), None

    v_prev, div_prev, log_det = steps.zeros((n, d)), steps.zeros(n), steps.zeros(n)
    z_pred, z_next = steps.empty_like(z), steps.empty_like(z)
    start, u_prev = (0, 0.0) if first_level is None else (first_level + 1, angles[first_level])
    if first_level is not None or held_first_level:
        # the velocity where the rows are: at level j, or at u = 0 the first level's predicted noise itself
        k, a, s = (0, 1.0, 0.0) if first_level is None else (first_level, cos_u[first_level], sin_u[first_level])
        eps, div_eps = predict(z, k)
        steps.velocity_euler(z, eps, a, s, z, 0.0, v_prev, z_pred)
        if with_log_det:
            steps.flow_divergence(div_eps, a, s, d, div_prev)
    for k in range(start, len(angles)):
        u = angles[k]
        h = u - u_prev
        a, s = cos_u[k], sin_u[k]
        steps.axpy(z, h, v_prev, z_pred)
        eps, div_eps = predict(z_pred, k)
        steps.velocity_heun(z_pred, eps, a, s, z, v_prev, h, z_next)
        if with_log_det:
            steps.log_det_trapezoid(div_eps, a, s, d, h, div_prev, log_det)
        z, z_next = z_next, z
        if k + 1 < len(angles):
            eps, div_eps = predict(z, k)
            steps.velocity_euler(z, eps, a, s, z, 0.0, v_prev, z_pred)
            if with_log_det:
                steps.flow_divergence(div_eps, a, s, d, div_prev)
        u_prev = u
    return steps.to_host(z), steps.to_host(log_det) if with_log_det else None


def _kernel_terms(a, s, a_to, s_to):
    """``(alpha, beta)`` of the reverse kernel from ``(a, s)`` to ``(a_to, s_to)``: its variance is ``alpha + beta Cov[x0 | z]``.

    The DDPM posterior ``q(z_to | z, x0)`` has variance ``alpha = c2 s_to^2 /
    s^2`` (``c2 = s^2 - (a / a_to)^2 s_to^2``, the noise added between the
    levels) and a mean in which ``x0`` enters as ``a_to c2 / s^2 x0``, so
    ``x0``'s spread given ``z`` adds ``beta = (a_to c2 / s^2)^2`` times it.
    """
    c2 = max(s * s - (a / a_to) ** 2 * s_to * s_to, 0.0)
    return c2 * s_to * s_to / (s * s), (a_to * c2 / (s * s)) ** 2


def _x0_spread(div, d, a, s):
    """The mean over the coordinates of ``Cov[x0 | z]``, one per row ``z``, from the noise's divergence.

    By Tweedie's second-order formula ``Cov[x0 | z] = (s / a)^2 (I - s d
    eps / dz)``; its trace over ``d`` is ``(s / a)^2 (1 - s div(eps) / d)``,
    clipped to what a law's can be (between 0 and ``(s / a)^2``).
    """
    return (s / a) ** 2 * np.clip(1.0 - s * div / d, 0.0, 1.0)


def _reverse_variance(div, d, a, s, a_to, s_to):
    """Variance of the isotropic reverse kernel from level ``(a, s)`` to ``(a_to, s_to)``, one per row ``z``.

    Drawing with ``x0`` at its posterior mean, as the ancestral step does,
    ignores the spread of ``x0`` given ``z`` and narrows the draws on a
    coarse grid (the conditional guide has the figures); this kernel adds
    its mean over the coordinates (:func:`_x0_spread`): isotropic, so too
    wide along the directions where ``x0``'s posterior is narrower than its
    mean and too narrow where it is wider (:class:`_ShapedKernel` shapes
    it).  ``div`` None (a predictor without a closed-form divergence, which
    finite differences would make ``2 d`` times dearer): the ancestral
    step's variance alone.  Floored for a grid with no noise between two
    levels.
    """
    alpha, beta = _kernel_terms(a, s, a_to, s_to)
    spread = 0.0 if div is None else _x0_spread(div, d, a, s)
    return np.maximum(alpha + beta * spread, 1e-300)


class _ShapedKernel:
    """The reverse kernel with ``x0``'s spread shaped like a Gaussian reference's, for rows known by coordinates.

    For ``x0 ~ N(mu, S)`` the spread of ``x0`` given ``z = a x0 + s eps`` is
    ``Cov[x0 | z] = s^2 S (a^2 S + s^2 I)^-1`` at every ``z``; with ``S``
    the training rows' covariance this is the shape of the spread, scaled
    at each particle so that its trace is the model's (:func:`_x0_spread`).
    Exact for Gaussian data (where the isotropic kernel is too wide along
    the narrow directions of a correlated table, see the conditional
    guide), and the isotropic kernel where ``S`` is a multiple of the
    identity.

    The kernel ``N(m, V)`` couples the known and unknown coordinates, so a
    transition draws both jointly from the kernel times the known part's
    potential ``N(a_to y, s_to^2)``, by conditioning a draw of the kernel on
    a draw of the potential's noise (Matheron's rule); the weight's
    predictive density is ``N(a_to y; m_known, V_known + s_to^2 I)``.  Both
    use the eigendecomposition of the known block of the reference's spread
    for each pattern of what is known (a batch of ``d x d`` ones per level,
    one per distinct pattern of the rows), so every particle needs only
    ``O(d^2)`` work.
    """

    def __init__(self, covariance, projectors):
        lam, self.axes = np.linalg.eigh(covariance)
        self.lam = np.maximum(lam, 0.0)
        self.projectors = projectors  # (n rows, d, d): onto what is known of each row
        self.rank = np.rint(np.trace(projectors, axis1=1, axis2=2))
        n, d, _ = projectors.shape
        patterns, self.pattern_of_row = np.unique(projectors.reshape(n, d * d), axis=0, return_inverse=True)
        self.patterns = patterns.reshape(-1, d, d)
        self.pattern_of_row = self.pattern_of_row.ravel()

    def transition(self, mean, spread, y, a, s, a_to, s_to, rng):
        """Draws ``z_to`` of the kernel times the potential, and the log predictive density, per particle.

        ``mean`` and ``y`` are ``(n * N, d)``, the particles of a row consecutive, ``y`` the known part
        (in the projector's range); ``spread`` the model's ``x0`` spread per particle.
        """
        P = self.projectors
        (n, d, _), nN = P.shape, len(mean)
        N = nN // n
        shape = s * s * self.lam / (a * a * self.lam + s * s)  # the reference's spread along its axes
        if not shape.mean() > 0:  # a reference without spread gives no shape
            shape = np.ones(d)
        alpha, beta = _kernel_terms(a, s, a_to, s_to)
        scale = (spread / shape.mean()).reshape(n, N, 1)
        kernel = np.maximum(alpha + beta * scale * shape, 1e-300)  # V's eigenvalues along the axes
        U = self.axes
        mean, y = mean.reshape(n, N, d), y.reshape(n, N, d)
        draw = mean + (np.sqrt(kernel) * rng.standard_normal((n, N, d))) @ U.T
        # the reference's spread on the known subspace of each pattern, its complement set apart (eigenvalue -1)
        R = self.patterns
        mu, Q = np.linalg.eigh(R @ ((U * shape) @ U.T)[None] @ R - (np.eye(d)[None] - R))
        mu, Q = mu[self.pattern_of_row], Q[self.pattern_of_row]
        inside = (mu > -0.5)[:, None, :]
        # floored for the last transition (s_to = 0) where the model gives x0 no spread
        floor = s_to * s_to + 1e-6 * beta * (s / a) ** 2
        g = np.where(inside, np.maximum(alpha + s_to * s_to + beta * scale * np.maximum(mu, 0.0)[:, None, :], floor), 1.0)
        residual = (a_to * y - mean @ P) @ Q  # P is symmetric: rows times P project them
        log_predictive = -0.5 * np.sum(np.where(inside, residual**2 / g + np.log(g), 0.0), axis=2)
        log_predictive -= 0.5 * self.rank[:, None] * np.log(2 * np.pi)
        # Matheron's rule: the kernel's draw moved by V P (P V P + s_to^2 P)^+ (a_to y + s_to e - P draw)
        observed = (a_to * y + s_to * rng.standard_normal((n, N, d)) - draw) @ P
        gap = np.where(inside, (observed @ Q) / g, 0.0) @ np.swapaxes(Q, 1, 2)
        z_to = draw + ((gap @ U) * kernel) @ U.T
        return z_to.reshape(nN, d), log_predictive.ravel()


def _normal_mass(lower, upper):
    """``Phi(upper) - Phi(lower)`` from the side where it does not cancel, floored at 1e-300."""
    mass = np.where(lower > 0, ndtr(-lower) - ndtr(-upper), ndtr(upper) - ndtr(lower))
    return np.maximum(mass, 1e-300)


def _normalized(log_w):
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def draw_by_weight(log_w, u):
    """The particle of each row whose cumulative weight first passes ``u`` (one uniform per row)."""
    cumulative = np.cumsum(_normalized(log_w), axis=1)
    return np.minimum((cumulative < u[:, None]).sum(axis=1), log_w.shape[1] - 1)


def _repeated_or_none(array, times):
    """Each row of ``array`` repeated ``times`` times in a row (None stays None)."""
    return None if array is None else np.repeat(array, times, axis=0)


def _systematic_picks(w, n_picks, u):
    """Systematic resampling: ``n_picks`` particles of each row of weights ``w`` (rows sum to 1), offsets ``u``."""
    positions = (u[:, None] + np.arange(n_picks)) / n_picks
    cumulative = np.cumsum(w, axis=1)
    picks = np.stack([np.searchsorted(c, p) for c, p in zip(cumulative, positions)])
    return np.minimum(picks, w.shape[1] - 1)


def _resampled(particles, log_w, rng):
    """Systematic resampling of the rows whose effective sample size fell below half (``log_w`` reset in place)."""
    w = _normalized(log_w)
    n_particles = w.shape[1]
    low = np.flatnonzero(1.0 / np.sum(w * w, axis=1) < n_particles / 2)
    if len(low):
        picks = _systematic_picks(w[low], n_particles, rng.random_sample(len(low)))
        particles[low] = particles[low[:, None], picks]
        log_w[low] = 0.0
    return particles


def _slice_sweep(nu, x, gap, level, image, outside, rng):
    """One sweep of elliptical slice sampling of ``N(0, I)`` restricted to ``outside(image(nu)) <= level``.

    Updates every row of ``nu`` (the states), ``x`` (their images) and
    ``gap`` (their distances) in place; each row moves along the ellipse
    through its state and a fresh normal draw, its bracket shrinking towards
    the state until a point satisfies the restriction.
    """
    other = rng.standard_normal(nu.shape)
    theta = rng.uniform(0.0, 2 * np.pi, len(nu))
    lower, upper = theta - 2 * np.pi, theta.copy()
    moving = np.arange(len(nu))
    for _ in range(_MAX_SHRINKS):
        proposal = nu[moving] * np.cos(theta[moving, None]) + other[moving] * np.sin(theta[moving, None])
        x_proposal = image(proposal)
        gap_proposal = outside(x_proposal)
        accepted = gap_proposal <= level
        moved = moving[accepted]
        nu[moved], x[moved], gap[moved] = proposal[accepted], x_proposal[accepted], gap_proposal[accepted]
        moving = moving[~accepted]
        if not len(moving):
            return
        below = theta[moving] < 0
        lower[moving[below]] = theta[moving[below]]
        upper[moving[~below]] = theta[moving[~below]]
        theta[moving] = rng.uniform(lower[moving], upper[moving])


# ---------------------------------------------------------------- the engine
class Diffusion:
    """A fitted diffusion: levels, base distribution and noise predictor.

    Parameters
    ----------
    noise_angles : ndarray of shape (K,)
        Increasing noise angles of the levels.
    base : GaussianBase
        The base distribution at the last level.
    predictor : NoisePredictor or None, default=None
        The fitted noise predictor (set once fitted; :meth:`training_pairs`
        needs none).
    held_first_level : bool, default=False
        How the probability-flow ODE (Heun sampling and the log-density)
        closes on ``[0, u_1]``: False interpolates the velocity to 0 at
        ``u = 0``, True holds the first level's noise prediction down to
        ``u = 0`` (see :func:`_forward_flow`).
    data_covariance : ndarray of shape (d, d) or None, default=None
        The training rows' covariance: the shape of the conditional
        sampler's kernel (:class:`_ShapedKernel`); None, an isotropic kernel.
    terminal_level : int or None, default=None
        None: the flow runs to the data, ``u = 0``.  A level ``j``: the
        model's rows are the flow's rows at ``u_j`` divided by ``cos(u_j)``,
        the learned law blurred by Gaussian noise of standard deviation
        ``tan(u_j)``, a bandwidth: :meth:`sample`, :meth:`log_density` and
        :meth:`condition` (which runs on :meth:`from_terminal_level`)
        follow it; :meth:`inpaint` runs to the data.

    Notes
    -----
    ``score_samples`` integrates the probability-flow ODE from the data to
    ``u_K`` with Heun's method on the level grid, accumulating the divergence
    (instantaneous change of variables); ``sample`` with ``sampler='heun'``
    integrates the same ODE on the same grid backwards, so the two describe
    the same distribution up to the ``O(h^2)`` error of the integrator.
    """

    held_first_level = False  # also for diffusions pickled before the option existed
    data_covariance = None
    terminal_level = None

    def __init__(
        self, noise_angles, base, predictor=None, held_first_level=False, data_covariance=None, terminal_level=None
    ):
        self.noise_angles = noise_angles
        self.base = base
        self.predictor = predictor
        self.held_first_level = held_first_level
        self.data_covariance = data_covariance
        self.terminal_level = terminal_level

    @property
    def terminal_noise(self):
        """Standard deviation of the noise the model's rows keep, ``tan(u_j)`` (0 for a flow to the data)."""
        return 0.0 if self.terminal_level is None else float(np.tan(self.noise_angles[self.terminal_level]))

    @property
    def n_levels(self):
        return len(self.noise_angles)

    def training_pairs(self, Z, n_pairs, random_state):
        """Yield ``(k, z_k, eps)`` for every level: noised rows and their noise.

        Each level gets ``n_pairs`` rows of ``Z`` (every row once when
        ``n_pairs >= n``, the remainder drawn with replacement; a random subset
        otherwise) and fresh noise.
        """
        n, d = Z.shape
        for k, (a, s) in enumerate(zip(np.cos(self.noise_angles), np.sin(self.noise_angles))):
            if n_pairs < n:
                idx = random_state.choice(n, n_pairs, replace=False)
            else:
                extra = random_state.randint(0, n, n_pairs - n)
                idx = np.concatenate([np.arange(n), extra])
            eps = random_state.standard_normal((n_pairs, d))
            yield k, a * Z[idx] + s * eps, eps

    def keyed_training_pairs(self, Z, offset, pairs_per_row, seed, levels=None, batch_rows=KEYED_BATCH_ROWS):
        """Yield ``(k, z_k, eps)`` batches of noised rows of ``Z`` and their noise, level by level.

        ``Z`` holds rows ``offset`` to ``offset + len(Z)`` of the data.  At
        every level each row is noised ``floor(pairs_per_row)`` times, plus
        once more with probability ``pairs_per_row - floor(pairs_per_row)``,
        with fresh noise each time.  These draws are keyed by position: for
        level ``k`` and the block of ``KEY_BLOCK_ROWS`` rows holding row ``i``
        they come from ``numpy.random.default_rng([seed, k, i // KEY_BLOCK_ROWS])``,
        drawn for the whole block, so a row gets the same draws whichever
        partition of the data it is visited in (and whichever ``levels``,
        all by default, are asked for).  Batches hold about ``batch_rows``
        pairs, which bounds the memory of their features.
        """
        n, d = Z.shape
        whole, fraction = divmod(float(pairs_per_row), 1.0)
        blocks = range(offset // KEY_BLOCK_ROWS, (offset + n - 1) // KEY_BLOCK_ROWS + 1)
        for k in range(self.n_levels) if levels is None else levels:
            a, s = np.cos(self.noise_angles[k]), np.sin(self.noise_angles[k])
            rows, noise, pending = [], [], 0
            for block in blocks:
                rng = np.random.default_rng([seed, k, block])
                copies = int(whole) + (rng.random(KEY_BLOCK_ROWS) < fraction)
                position = np.repeat(np.arange(KEY_BLOCK_ROWS), copies) + (block * KEY_BLOCK_ROWS - offset)
                eps = rng.standard_normal((len(position), d))
                mine = (position >= 0) & (position < n)
                rows.append(position[mine])
                noise.append(eps[mine])
                pending += rows[-1].size
                if pending >= batch_rows or block == blocks[-1]:
                    rows, noise = np.concatenate(rows), np.concatenate(noise)
                    if len(rows):
                        yield k, a * Z[rows] + s * noise, noise
                    rows, noise, pending = [], [], 0

    def uses_cuda(self, device):
        """Whether ``device`` runs the predictor on the GPU ('cuda' is checked, 'auto' falls back)."""
        supported = self.predictor.supports_cuda
        if device == "cuda":
            check_cuda(type(self.predictor).__name__, supported)
            return True
        # 'auto' also keeps a model wider than the fused kernel's limit on the CPU
        return device == "auto" and supported and _cuda.cuda_usable() and len(self.base.mean) <= _cuda.MAX_DIMS

    def _map_rows(self, run, n_rows, *, device, n_jobs, seeds=None):
        """``run(steps, start, stop)`` on row chunks, each with its own steps on the device.

        Chunk ``c`` draws its normal variates from ``seeds[c]``; the CPU
        chunks run in ``n_jobs`` threads, the GPU chunks (larger) in turn.
        """
        if self.uses_cuda(device):
            network = self.predictor.device_network()

            def device_chunk(chunk, start, stop):
                seed = None if seeds is None else seeds[chunk]
                return run(_cuda.CudaSteps(network, stop - start, seed), start, stop)

            return _cuda.map_device_chunks(device_chunk, n_rows)

        def cpu_chunk(start, stop):
            rng = None if seeds is None else np.random.RandomState(seeds[start // CHUNK_SIZE])
            return run(CpuSteps(self.predictor, rng), start, stop)

        return map_chunks(cpu_chunk, n_rows, CHUNK_SIZE, n_jobs)

    def sample(self, n_samples, random_state, *, sampler="heun", n_jobs=None, device="cpu"):
        """Base draws integrated back through every level with ``sampler``."""
        z = self.base.sample(n_samples, random_state)
        # one generator per chunk, seeded up front: draws do not depend on threads
        seeds = random_state.randint(_MAX_SEED, size=-(-n_samples // CHUNK_SIZE))
        return self._carried_to_data(z, sampler=sampler, n_jobs=n_jobs, device=device, seeds=seeds)

    def _carried_to_data(self, z, *, sampler="heun", n_jobs=None, device="cpu", seeds=None):
        """Rows ``z`` at the last level integrated back to the data with ``sampler``, on row chunks."""
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}.")

        j, scale = self.terminal_level, self._scale_at(self.terminal_level)

        def run(steps, start, stop):
            rows = _reverse_flow(steps, z[start:stop], self.noise_angles, sampler, self.held_first_level, j)
            return rows if j is None else rows / scale

        return self._map_rows(run, len(z), device=device, n_jobs=n_jobs, seeds=seeds)

    def _carried_to_base(self, X, *, n_jobs=None):
        """Rows ``X`` integrated forward to the last level (Heun, the inverse of :meth:`_carried_to_data`)."""

        j, scale = self.terminal_level, self._scale_at(self.terminal_level)

        def run(steps, start, stop):
            rows = X[start:stop] * scale
            flowed, _ = _forward_flow(steps, rows, self.noise_angles, self.held_first_level, False, first_level=j)
            return flowed

        return self._map_rows(run, len(X), device="cpu", n_jobs=n_jobs)

    def log_density(self, Z, *, n_jobs=None, device="cpu"):
        """Log-density of rows ``Z`` along the probability-flow ODE (from the terminal level, if any)."""
        return self._log_density_at(Z, self.terminal_level, n_jobs=n_jobs, device=device)

    def _log_density_at(self, Z, j, *, n_jobs=None, device="cpu"):
        """:meth:`log_density` with terminal level ``j`` (None: the flow to the data)."""
        scale = self._scale_at(j)
        log_scale = Z.shape[1] * np.log(scale)

        def run(steps, start, stop):
            rows = Z[start:stop] * scale
            z_end, log_det = _forward_flow(steps, rows, self.noise_angles, self.held_first_level, first_level=j)
            with np.errstate(all="ignore"):
                return self.base.log_density(z_end) + log_det + log_scale

        return self._map_rows(run, len(Z), device=device, n_jobs=n_jobs)

    def from_terminal_level(self):
        """The same law as a diffusion whose data are the model's rows (self without a terminal level).

        The levels above the terminal one, reparametrized (see
        :class:`_FromLevel`); its flow to the data is the flow to the
        terminal level, on another grid of the same ODE.  :meth:`condition`,
        which runs to the data with the known part of each row, runs on it.
        """
        j = self.terminal_level
        if j is None:
            return self
        t2 = np.tan(self.noise_angles[j]) ** 2
        a, s = np.cos(self.noise_angles[j + 1 :]), np.sin(self.noise_angles[j + 1 :])
        s_left = np.sqrt(np.maximum(s * s - a * a * t2, 0.0))
        c = np.hypot(a, s_left)
        base = GaussianBase(self.base.mean / c[-1], self.base.covariance / c[-1] ** 2)
        covariance = None if self.data_covariance is None else self.data_covariance + t2 * np.eye(len(base.mean))
        predictor = _FromLevel(self.predictor, j + 1, c, s_left / s)
        return Diffusion(np.arctan2(s_left, a), base, predictor, data_covariance=covariance)

    def best_terminal_level(self, Z, *, max_noise=1.0, n_jobs=None):
        """The terminal level under which held-out rows ``Z`` are likeliest (None: the flow to the data).

        A bandwidth chosen by held-out likelihood, as for a kernel density:
        the candidates are the flow to the data and every level whose noise
        ``tan(u_j)`` is at most ``max_noise``, each scored by the log-density
        of ``Z`` (rows the model has not been fitted on).  A level replaces
        the flow to the data only where its gain in mean log-likelihood is
        more than its standard error (paired over the rows), the
        one-standard-error rule of cross-validation (Hastie, Tibshirani &
        Friedman, *The Elements of Statistical Learning*, 7.10) with the
        flow the model was fitted for as the simpler model: a mean
        log-likelihood is swayed by a few rows, and on a small held-out set
        a few rows far out can prefer a blur that most rows do not.  The
        diffusion's own :attr:`terminal_level` is not used.
        """
        candidates = [j for j, u in enumerate(self.noise_angles[:-1]) if np.tan(u) <= max_noise]
        flow = self._finite_log_density(Z, None, n_jobs)
        best, best_mean = None, flow.mean()
        for j in candidates:
            gain = self._finite_log_density(Z, j, n_jobs) - flow
            se = gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else np.inf
            if gain.mean() > se and flow.mean() + gain.mean() > best_mean:
                best, best_mean = j, flow.mean() + gain.mean()
        return best

    def _finite_log_density(self, Z, j, n_jobs):
        """The log-density with terminal level ``j``, a non-finite value (a row the flow loses) taken as a very low one."""
        with np.errstate(all="ignore"):
            log_density = self._log_density_at(Z, j, n_jobs=n_jobs)
            return np.nan_to_num(log_density, nan=-1e6, neginf=-1e6, posinf=-1e6).clip(-1e6)

    def _scale_at(self, j):
        """``cos(u_j)`` of terminal level ``j`` (1 for None): model rows times it are the flow's rows there."""
        return 1.0 if j is None else float(np.cos(self.noise_angles[j]))

    def score(self, Z, level, *, device="cpu"):
        """Score of the noised law at ``level``, ``-eps_hat / sin(u)``."""
        if self.uses_cuda(device):
            eps = _cuda.predict_noise(self.predictor.device_network(), Z, level)
        else:
            eps = self.predictor.predict(Z, level)
        return -eps / np.sin(self.noise_angles[level])

    def condition(self, Z, random_state, *, n_particles, n_jobs=None, projectors=None, cells=None):
        """One draw of what is unknown of each row ``Z`` given what is known (SMC, on the CPU).

        What is known of a row is some of its coordinates (``Z`` holds NaN
        for the others) or, with ``projectors``, its orthogonal projection
        ``projectors[i] z_i = Z[i]`` onto a subspace (a linear constraint, as
        on a mixture component's whitened coordinates).

        A sequential Monte Carlo sampler: each row gets ``n_particles``
        particles that run the reverse process with a Gaussian kernel: the
        DDPM posterior at the predicted ``x0``, widened by the spread of
        ``x0`` given the particle, shaped like the training rows' covariance
        where it is known (:class:`_ShapedKernel`), else the same in every
        direction (:func:`_reverse_variance`).  Under the
        forward process the known part of a row at level
        ``k`` is ``N(a_k y, s_k^2)`` around its value ``y``; the particles at
        level ``k`` target the model's law times that potential, so at the
        smallest level they target the model's conditional law (up to the
        noise ``s_1``, which the final denoising step removes).  Each
        transition draws the known part from the kernel times the
        potential (both Gaussian: exact), the unknown part from the kernel
        (jointly with the known part where the kernel is shaped);
        the weights are the ratio of the new potential's predictive density
        to the old potential, and a row's particles are resampled
        (systematic) when their effective number falls below half.  One
        particle per row, drawn by weight, is denoised to the data (with the
        shaped kernel, by a last transition to the data on which the known
        coordinates are exact).  With an
        exact noise predictor the draws are exact conditional draws as the
        particles and the levels grow (in contrast to RePaint's replacement, see
        :meth:`inpaint`); the :ref:`conditional <conditional>` guide has the
        measurements.

        ``cells``, a pair ``(low, high)`` of arrays like ``Z``, makes
        coordinates known to lie in an interval (an observed category's),
        infinite bounds elsewhere; they are NaN in ``Z``.  Their potential at
        level ``k`` is the forward process's chance of the interval,
        ``Phi((a_k high - z) / s_k) - Phi((a_k low - z) / s_k)``, which tends
        to the interval's indicator at the data, where it becomes the
        indicator: a particle whose denoised row leaves the intervals gets
        weight zero (unless every particle of its row does).

        Rows known only by intervals (no coordinate known exactly, as in
        ``sample(n, given={category: level})``) are drawn another way, see
        :meth:`_draw_in_cells`: by rejection, or by a population that one
        large particle system starts in the intervals and slice sampling
        moves, where the particles of one row lean towards the common
        categories when a condition has little mass.

        With a :attr:`terminal_level`, all of this runs on
        :meth:`from_terminal_level`, whose data are the model's rows.
        """
        if self.terminal_level is not None:
            view = self.from_terminal_level()
            kwargs = dict(n_particles=n_particles, n_jobs=n_jobs, projectors=projectors, cells=cells)
            return view.condition(Z, random_state, **kwargs)
        X = np.empty_like(Z)
        by_cells = np.zeros(len(Z), dtype=bool)
        if cells is not None and projectors is None:
            by_cells = np.isnan(Z).all(axis=1) & np.any(np.isfinite(cells[0]) | np.isfinite(cells[1]), axis=1)
            if by_cells.any():
                low, high = cells[0][by_cells], cells[1][by_cells]
                X[by_cells] = self._draw_in_cells(low, high, random_state, n_particles=n_particles, n_jobs=n_jobs)
                if by_cells.all():
                    return X
                Z, cells = Z[~by_cells], (cells[0][~by_cells], cells[1][~by_cells])
        rest = np.flatnonzero(~by_cells)
        in_cells = np.zeros(len(Z), dtype=bool)
        if cells is not None:
            in_cells = np.any(np.isfinite(cells[0]) | np.isfinite(cells[1]), axis=1)
        # rows without an interval keep the kernel shaped like the data, which intervals rule out:
        # another row's category must not widen their draws
        for part, part_cells in ((~in_cells, None), (in_cells, cells)):
            if part.any():
                part_projectors = None if projectors is None else projectors[part]
                part_cells = None if part_cells is None else (part_cells[0][part], part_cells[1][part])
                X[rest[part]] = self._condition_by_particles(
                    Z[part], random_state, n_particles, n_jobs, part_projectors, part_cells
                )
        return X

    def _condition_by_particles(self, Z, random_state, n_particles, n_jobs, projectors, cells, draws_per_row=1):
        """:meth:`condition` by the SMC sampler, in row chunks (``draws_per_row`` consecutive draws per row)."""
        n = len(Z)
        rows_per_chunk = max(1, CHUNK_SIZE // n_particles)
        seeds = random_state.randint(_MAX_SEED, size=-(-n // rows_per_chunk))

        def chunk(start, stop):
            rng = np.random.RandomState(seeds[start // rows_per_chunk])
            rows = slice(start, stop)
            return self._smc(
                Z[rows],
                None if projectors is None else projectors[rows],
                None if cells is None else (cells[0][rows], cells[1][rows]),
                rng,
                n_particles,
                draws_per_row,
            )

        return map_chunks(chunk, n, rows_per_chunk, n_jobs)

    def _smc(self, Z, projectors, cells, rng, n_particles, draws_per_row=1):
        """The sampler of :meth:`condition` for one chunk of rows.

        With ``draws_per_row`` above 1, that many particles of each row are
        drawn (systematic resampling) and denoised, one row of output each:
        dependent draws of one particle system.
        """
        (n, d), N = Z.shape, n_particles

        def repeated(array):
            return _repeated_or_none(array, N)

        particles = _Known(repeated(Z), repeated(projectors), None if cells is None else tuple(map(repeated, cells)))
        y = particles.value
        steps = CpuSteps(self.predictor, rng)
        cos_u, sin_u = np.cos(self.noise_angles), np.sin(self.noise_angles)
        K = len(cos_u)

        def potential(z, k):
            """Log-potentials of particles ``z`` at level ``k``: ``N(a y, s^2)`` at their known part, per row."""
            a, s = cos_u[k], sin_u[k]
            return particles.log_normal(particles.part(z) - a * y, s * s).reshape(n, N)

        z = self.base.sample(n * N, rng)
        log_w = potential(z, K - 1)
        if particles.low is not None:
            log_w += particles.log_cell_mass(z, cos_u[-1], sin_u[-1]).reshape(n, N)
        mean, no_noise = np.empty_like(z), np.zeros_like(z)
        with_spread = self.predictor.divergence_in_closed_form
        # the spread shaped like the training rows' (rows known by coordinates, without intervals)
        shaped = None
        if with_spread and self.data_covariance is not None and cells is None:
            onto = np.eye(d)[None] * (~np.isnan(Z))[:, None, :] if projectors is None else projectors
            shaped = _ShapedKernel(self.data_covariance, onto)

        def shaped_step(z, k, a_to, s_to):
            """The shaped kernel's draws from level ``k`` to ``(a_to, s_to)`` and their weights' change."""
            a, s = cos_u[k], sin_u[k]
            eps, div = steps.predict_with_divergence(z, k)
            _kernels.ancestral_step(z, eps, no_noise, a, s, a_to, s_to, mean)
            z_to, log_predictive = shaped.transition(mean, _x0_spread(div, d, a, s), y, a, s, a_to, s_to, rng)
            return z_to, log_predictive.reshape(n, N) - potential(z, k)

        for k in range(K - 1, 0, -1):
            a, s, a_to, s_to = cos_u[k], sin_u[k], cos_u[k - 1], sin_u[k - 1]
            if shaped is not None:
                z_next, change = shaped_step(z, k, a_to, s_to)
                log_w += change
                z = _resampled(z_next.reshape(n, N, d), log_w, rng).reshape(n * N, d)
                continue
            if with_spread:
                eps, div = steps.predict_with_divergence(z, k)
            else:
                eps, div = steps.predict(z, k), None
            _kernels.ancestral_step(z, eps, no_noise, a, s, a_to, s_to, mean)
            log_w -= potential(z, k)
            var = np.broadcast_to(_reverse_variance(div, d, a, s, a_to, s_to), (len(z),))[:, None]  # one per particle
            log_w += particles.log_normal(a_to * y - particles.part(mean), var[:, 0] + s_to * s_to).reshape(n, N)
            # the known part: the kernel times the potential N(a_to y, s_to^2), a Gaussian
            v = 1.0 / (1.0 / var + 1.0 / (s_to * s_to))
            noise = rng.standard_normal(z.shape)
            z_next = particles.combined(mean + np.sqrt(var) * noise, v * (mean / var + a_to * y / (s_to * s_to)) + np.sqrt(v) * noise)
            if particles.low is not None:
                # interval-known coordinates: the kernel times the interval's potential, drawn exactly
                log_w -= particles.log_cell_mass(z, a, s).reshape(n, N)
                z_cells, log_predictive = particles.cell_proposal(mean, var, a_to, s_to, noise, rng)
                z_next = np.where(particles.in_cell, z_cells, z_next)
                log_w += log_predictive.reshape(n, N)
            z = z_next
            z = _resampled(z.reshape(n, N, d), log_w, rng).reshape(n * N, d)
        a, s = cos_u[0], sin_u[0]
        if shaped is not None:
            # a last transition, to the data: x0 drawn given z and its known coordinates, whose noise at the
            # first level would otherwise reach the unknown ones through the Tweedie mean
            x0, change = shaped_step(z, 0, 1.0, 0.0)
            log_w += change
            x0 = x0[self._picked(log_w, draws_per_row, rng)]
        elif particles.low is None:
            z = z[self._picked(log_w, draws_per_row, rng)]
            x0 = (z - s * steps.predict(z, 0)) / a  # the Tweedie step to the data
        else:
            # at the data the intervals' potential is their indicator: the particles are weighted by
            # 1[x0(z) in the cells] / potential(z), except in a row none of whose particles lands there
            x0 = (z - s * steps.predict(z, 0)) / a
            inside = np.all((x0 >= particles.low) & (x0 <= particles.high), axis=1).reshape(n, N)
            at_data = np.where(inside, log_w - particles.log_cell_mass(z, a, s).reshape(n, N), -np.inf)
            x0 = x0[self._picked(np.where(inside.any(axis=1, keepdims=True), at_data, log_w), draws_per_row, rng)]
        if draws_per_row > 1:
            Z, projectors = np.repeat(Z, draws_per_row, axis=0), _repeated_or_none(projectors, draws_per_row)
        known = _Known(Z, projectors)
        return known.combined(x0, known.value)

    @staticmethod
    def _picked(log_w, draws_per_row, rng):
        """Flat indices of ``draws_per_row`` particles per row drawn by weight (systematic beyond one)."""
        n, N = log_w.shape
        if draws_per_row == 1:
            return np.arange(n) * N + draw_by_weight(log_w, rng.random_sample(n))
        picks = _systematic_picks(_normalized(log_w), draws_per_row, rng.random_sample(n))
        return (np.arange(n)[:, None] * N + picks).ravel()

    def _draw_in_cells(self, low, high, random_state, *, n_particles, n_jobs=None):
        """Draws of the flow's law restricted to the boxes ``[low, high]``, one per row.

        The law of :meth:`sample` (Heun) is the image of the base law under
        the flow, so its restriction to a box is the image of the base law
        restricted to the points whose image lies in the box.  The rows that
        share a box are drawn together (:meth:`_draws_in_box`): by rejection
        (exact, independent) while the box's share makes it cheaper than
        ``n_particles`` flows per row, otherwise by a population that the
        particle sampler starts in the box and slice sampling restricted to
        it moves.  A box the population does not reach in
        ``_MAX_CELL_STAGES`` stages (no mass under the model) falls back to
        the particle sampler of :meth:`condition`.
        """
        d = low.shape[1]
        patterns, group = np.unique(np.concatenate([low, high], axis=1), axis=0, return_inverse=True)
        group = group.ravel()
        out = np.empty_like(low)
        for g, pattern in enumerate(patterns):
            rows = np.flatnonzero(group == g)
            box = pattern[:d], pattern[d:]
            draws = self._draws_in_box(box, len(rows), n_particles, random_state, n_jobs)
            if draws is None:
                nothing = np.full((len(rows), d), np.nan)
                boxes = tuple(np.tile(bound, (len(rows), 1)) for bound in box)
                draws = self._condition_by_particles(nothing, random_state, n_particles, n_jobs, None, boxes)
            out[rows] = draws
        return out

    def _draws_in_box(self, box, n_draws, n_particles, rng, n_jobs):
        """``n_draws`` rows of the flow's law in ``box`` (see :meth:`_draw_in_cells`), or None.

        Batches of ``max(n_draws, n_particles)`` base draws are carried
        through the flow while the rows still needed, at the share of the
        box seen so far, fit in a budget of ``n_particles`` flows per row;
        their rows in the box are exact, independent draws.  The rows still
        needed then come from a population in the base law's whitened
        coordinates, started where the particle sampler of :meth:`condition`
        puts the box's rows: ``n_particles`` particles per member, pooled
        into systems of up to ``CELL_SYSTEM_PARTICLES`` (a large system
        weighs the parts of a box better than many small ones), each
        system's draws taken by systematic resampling and carried back to the
        base (:meth:`_carried_to_base`).  They are close to the base law
        restricted to the box's preimage, not equal to it (the particles run
        the ancestral sampler, and a finite system leans towards where the
        model has more mass).  Moves that leave that restricted law invariant correct
        them: ``CELL_FINAL_SWEEPS`` sweeps of elliptical slice sampling
        (Murray, Adams & MacKay 2010) restricted to the box, once at least
        half of the population is in it; before, stages of an SMC sampler
        for rare events (Cerou, Del Moral, Furon & Guyader 2012) each keep
        the share ``CELL_KEPT_SHARE`` of the population whose image is
        closest to the box (the distance outside it, summed over
        coordinates), resample them back to the population's size and move
        each by ``CELL_STAGE_SWEEPS`` sweeps restricted to the kept distance.
        The cost does not grow with the box's rarity beyond the sweeps'
        shrinking brackets; the draws are exact as the sweeps grow.
        """
        low, high = box
        size = max(n_draws, n_particles)

        def image(nu):
            return self._carried_to_data(self.base.from_standard(nu), n_jobs=n_jobs)

        def outside(x):
            gap = np.sum(np.maximum(low - x, 0.0) + np.maximum(x - high, 0.0), axis=1)
            return np.where(np.isfinite(gap), gap, np.inf)  # a diverged row is never kept

        found, flows, budget = [], 0, n_particles * n_draws
        while True:
            x = image(rng.standard_normal((size, len(self.base.mean))))
            flows += size
            found.append(x[outside(x) == 0])
            n_found = sum(len(f) for f in found)
            if n_found >= n_draws:
                return np.concatenate(found)[:n_draws]
            share = n_found / flows
            if share == 0 or (n_draws - n_found) / share > budget - flows:
                break
        n_left = n_draws - n_found
        # the start: n_particles particles per member pooled into systems of up to CELL_SYSTEM_PARTICLES,
        # since a large system finds the box's parts in better proportions than many small ones
        n_systems = -(-max(n_left, n_particles) * n_particles // CELL_SYSTEM_PARTICLES)
        per_system = -(-max(n_left, n_particles) // n_systems)
        size = n_systems * per_system
        boxes = tuple(np.tile(bound, (n_systems, 1)) for bound in box)
        nothing = np.full((n_systems, len(low)), np.nan)
        system_size = per_system * n_particles
        started = self._condition_by_particles(nothing, rng, system_size, n_jobs, None, boxes, draws_per_row=per_system)
        nu = self.base.to_standard(self._carried_to_base(started, n_jobs=n_jobs))
        x = image(nu)
        gap = outside(x)
        for _ in range(_MAX_CELL_STAGES):
            level = max(np.quantile(gap, 1.0 - CELL_KEPT_SHARE), 0.0)
            kept = np.flatnonzero(gap <= level)
            picks = kept[((rng.random_sample() + np.arange(size)) * len(kept) / size).astype(np.int64)]
            nu, x, gap = nu[picks], x[picks], gap[picks]
            sweeps = CELL_STAGE_SWEEPS if level > 0 else CELL_FINAL_SWEEPS
            for _ in range(sweeps):
                _slice_sweep(nu, x, gap, level, image, outside, rng)
            if level == 0:
                return np.concatenate(found + [x[rng.permutation(size)[:n_left]]])
        return None

    def inpaint(self, Z, random_state, *, path, sampler, n_jobs=None):
        """Draws of the NaN entries of rows ``Z`` given the others (RePaint, on the CPU).

        Kept as the measured alternative to :meth:`condition` (see the
        :ref:`conditional <conditional>` guide).  The reverse process runs on
        whole rows along ``path`` (see :func:`repaint_path`) with the steps of
        ``sampler``; at every level the observed entries are replaced by a
        fresh forward noising of their values, and where the path goes up
        the rows are noised back up.  It runs to the data, whatever the
        :attr:`terminal_level`.
        """
        seeds = random_state.randint(_MAX_SEED, size=-(-len(Z) // CHUNK_SIZE))
        start_z = self.base.sample(len(Z), random_state)
        cos_u, sin_u = np.cos(self.noise_angles), np.sin(self.noise_angles)

        def chunk(start, stop):
            rng = np.random.RandomState(seeds[start // CHUNK_SIZE])
            steps = CpuSteps(self.predictor, rng)
            known = _Known(Z[start:stop])
            z = steps.to_backend(start_z[start:stop])
            out = np.empty_like(z)
            for k, k_to in zip(path[:-1], path[1:]):
                if k_to > k:  # back up from level k to k_to: the forward transition
                    r = cos_u[k_to] / cos_u[k]
                    extra = np.sqrt(max(sin_u[k_to] ** 2 - (r * sin_u[k]) ** 2, 0.0))
                    z = r * z + extra * rng.standard_normal(z.shape)
                    continue
                z = known.replaced(z, cos_u[k], sin_u[k], rng.standard_normal(z.shape))
                _reverse_step(steps, z, k, k_to, cos_u, sin_u, sampler, out)
                z, out = out, z
            return known.replaced(z, 1.0, 0.0, None)

        return map_chunks(chunk, len(Z), CHUNK_SIZE, n_jobs)


class _Known:
    """What is known of some rows: coordinates (NaN elsewhere), or a projection per row.

    With ``projectors`` (n, d, d), row ``i`` is known up to the orthogonal
    projector ``projectors[i]`` and ``Z[i]`` is its known part; without, the
    known part of a row is its non-NaN coordinates (a diagonal projector).
    ``cells`` ``(low, high)``: intervals of coordinates known to lie in one
    (see :meth:`Diffusion.condition`), None for none.
    """

    def __init__(self, Z, projectors=None, cells=None):
        self.projectors = projectors
        self.low, self.high = (None, None) if cells is None else cells
        if projectors is None:
            self.unknown = np.isnan(Z)
            self.value = np.nan_to_num(Z)
            self.rank = (~self.unknown).sum(axis=1)
        else:
            self.value = Z
            self.rank = np.rint(np.trace(projectors, axis1=1, axis2=2))

    @property
    def in_cell(self):
        return np.isfinite(self.low) | np.isfinite(self.high)

    def log_cell_mass(self, z, a, s):
        """The potential of the interval-known coordinates at ``z``: ``sum log P(z - s eps in [a low, a high])``."""
        return np.sum(np.log(_normal_mass((a * self.low - z) / s, (a * self.high - z) / s)), axis=1)

    def cell_proposal(self, mean, var, a_to, s_to, noise, rng):
        """Draws of the kernel ``N(mean, var)`` times the potential of the intervals at ``(a_to, s_to)``.

        The product is a mixture over the data value ``x`` in the interval of
        ``N(z; m(x), v)``, ``x`` with density ``N(a_to x; mean, var + s_to^2)``
        on the interval (a truncated normal, drawn by inversion); its mass,
        returned with the draws (summed per row), is the weight's predictive
        term.
        """
        spread = np.sqrt(var + s_to * s_to)
        lower, upper = (a_to * self.low - mean) / spread, (a_to * self.high - mean) / spread
        mass = _normal_mass(lower, upper)
        u = rng.random_sample(mean.shape)
        # inversion from the side of the interval away from the bulk, where the CDF does not round to 1
        above = lower > 0
        t = np.where(
            above,
            -ndtri(np.clip(ndtr(-lower) - u * mass, 1e-300, 1.0)),
            ndtri(np.clip(ndtr(lower) + u * mass, 1e-300, 1.0 - 1e-16)),
        )
        t = np.clip(t, lower, upper)
        scaled_x = mean + spread * t  # a_to x
        v = 1.0 / (1.0 / var + 1.0 / (s_to * s_to))
        z = v * (mean / var + scaled_x / (s_to * s_to)) + np.sqrt(v) * noise
        log_mass = np.where(self.in_cell, np.log(mass), 0.0)
        return z, log_mass.sum(axis=1)

    def part(self, z):
        """The known part of rows ``z`` (zero on the unknown coordinates or subspace)."""
        if self.projectors is None:
            return np.where(self.unknown, 0.0, z)
        return np.einsum("nij,nj->ni", self.projectors, z)

    def combined(self, z_unknown, z_known):
        """Rows with the unknown part of ``z_unknown`` and the known part of ``z_known``."""
        if self.projectors is None:
            return np.where(self.unknown, z_unknown, z_known)
        return z_unknown - self.part(z_unknown) + self.part(z_known)

    def log_normal(self, residual, variance):
        """``log N(r; 0, variance I)`` on the known subspace, for residuals ``r`` lying in it."""
        return -0.5 * np.sum(residual**2, axis=1) / variance - 0.5 * self.rank * np.log(2 * np.pi * variance)

    def replaced(self, z, a, s, noise):
        """``z`` with its known coordinates replaced by ``a * value + s * noise`` (RePaint; coordinates only)."""
        noised = a * self.value if noise is None else a * self.value + s * noise
        return np.where(self.unknown, z, noised)
