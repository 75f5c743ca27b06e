"""Forward noising processes, expressed as a grid of noise angles.

Every forward process used here (discrete DDPM, the continuous variance
preserving (VP) and variance exploding (VE) SDEs) has Gaussian marginals
``x_t = a(t) x_0 + s(t) eps``.  Only the signal-to-noise ratio ``a / s``
matters for what a noise predictor has to learn: dividing ``x_t`` by
``sqrt(a^2 + s^2)`` gives ``z = cos(u) x_0 + sin(u) eps`` with the *noise angle*
``u = arctan(s / a)``.  The engine therefore works with one internal variable
``z`` and a grid of angles ``0 < u_1 < ... < u_K < pi / 2``; a schedule is
nothing but the choice of that grid.  In this variable the probability-flow
ODE reads ``dz/du = E[cos(u) eps - sin(u) x_0 | z]`` (the "v" target of
Salimans & Ho), which is smooth in ``u`` and exactly stationary for
standard-normal data, so Heun steps on it stay accurate all the way to noise.
"""

import numpy as np

SCHEDULES = ("cosine", "linear", "vp", "ve", "flow")

# Signal coefficient left at the last level.  The base distribution accounts
# for it exactly up to second moments (see skscore._engine.GaussianBase), so the grid
# does not need to go to a = 0, where eps -> v conversions divide by ~0.
_FINAL_SIGNAL = 1e-2


def _cosine_abar(t, offset=0.008):
    """Nichol & Dhariwal (2021) cumulative signal share."""
    phi = 0.5 * np.pi * (t + offset) / (1.0 + offset)
    phi0 = 0.5 * np.pi * offset / (1.0 + offset)
    return (np.cos(phi) / np.cos(phi0)) ** 2


def noise_angles(schedule, n_steps):
    """Noise angles ``u_k = arctan(s_k / a_k)`` of a forward process.

    Parameters
    ----------
    schedule : {'cosine', 'linear', 'vp', 've', 'flow'}
        - 'cosine': discrete DDPM with the cosine schedule of Nichol &
          Dhariwal, stopped where the signal coefficient is 0.01;
        - 'linear': discrete DDPM with betas from 0.1 / K to 20 / K (the
          classic 1e-4 .. 0.02 at K = 1000, rescaled so that any K reaches
          noise, and clipped at 0.999; the paper's K = 100 with unscaled betas
          does not reach noise);
        - 'vp': the continuous VP SDE, beta(t) = 0.1 + 19.9 t, on a uniform
          time grid t in [1e-3, 1];
        - 've': the continuous VE SDE, sigma(t) = 0.01 * 1e4 ** t (sigma from
          0.01 to 100 on standardized data), uniform time grid;
        - 'flow': the straight path of flow matching (rectified flow),
          ``x_t = (1 - t) x_0 + t eps``, on the uniform grid
          ``t_k = k t_end / K`` with ``t_end`` where the signal coefficient
          is 0.01.  Since ``x_t / sqrt((1 - t)^2 + t^2)`` is ``z`` at the
          angle ``u = arctan(t / (1 - t))``, it is a grid of angles like the
          others; DDIM steps between its levels are exactly Euler steps of
          the flow ODE ``dx/dt = E[eps - x_0 | x_t]`` in ``t``.
    n_steps : int
        Number of noise levels K.

    Returns
    -------
    angles : ndarray of shape (n_steps,)
        Strictly increasing angles in (0, pi / 2).
    """
    k = np.arange(1, n_steps + 1, dtype=np.float64)
    if schedule == "cosine":
        phi0 = 0.5 * np.pi * 0.008 / 1.008
        phi_end = np.arccos(_FINAL_SIGNAL * np.cos(phi0))
        t_end = phi_end / (0.5 * np.pi) * 1.008 - 0.008
        abar = _cosine_abar(k / n_steps * t_end)
    elif schedule == "linear":
        betas = np.minimum(np.linspace(0.1, 20.0, n_steps) / n_steps, 0.999)
        abar = np.cumprod(1.0 - betas)
    elif schedule == "vp":
        t = np.linspace(1e-3, 1.0, n_steps)
        abar = np.exp(-(0.1 * t + 0.5 * (20.0 - 0.1) * t**2))
    elif schedule == "flow":
        # (1 - t) / sqrt((1 - t)^2 + t^2) = _FINAL_SIGNAL at t = t_end
        ratio = _FINAL_SIGNAL / np.sqrt(1.0 - _FINAL_SIGNAL**2)
        t = k / n_steps / (1.0 + ratio)
        return np.arctan2(t, 1.0 - t)
    elif schedule == "ve":
        t = np.linspace(0.0, 1.0, n_steps)
        sigma = 0.01 * (1e4) ** t
        return np.arctan(sigma)
    else:  # pragma: no cover - validated by the estimator
        raise ValueError(f"Unknown schedule {schedule!r}; expected one of {SCHEDULES}.")
    return np.arctan2(np.sqrt(1.0 - abar), np.sqrt(abar))
