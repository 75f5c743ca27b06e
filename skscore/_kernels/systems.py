"""Simulators of the stochastic systems of :mod:`skscore.response.systems`.

Every kernel advances an ensemble ``states`` of shape (members, copies, d) in
place and records the state after each output step in ``out`` of shape
(members, copies, n_out, d).  The copies of a member share its noise (the
perturbed and unperturbed twins of a perturbation experiment); members have
their own.  Noise is drawn by the caller, in a fixed order, so that results
do not depend on the number of threads.  ``prange`` runs over all
(member, copy) pairs: a single long trajectory is one sequential loop, an
ensemble spreads over the cores.
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def ou_run(states, transition, noise_factor, noise, out):
    """Exact Ornstein-Uhlenbeck steps ``x <- F x + L xi``.

    ``transition`` is ``F = exp(-A dt)``, ``noise_factor`` a square root
    ``L`` of the one-step noise covariance, ``noise`` (members, n_out, d)
    standard normals.
    """
    n_members, n_copies, d = states.shape
    n_out = noise.shape[1]
    for flat in prange(n_members * n_copies):
        member = flat // n_copies
        copy = flat - member * n_copies
        x = states[member, copy].copy()
        y = np.empty(d)
        for t in range(n_out):
            for a in range(d):
                acc = 0.0
                for b in range(d):
                    acc += transition[a, b] * x[b] + noise_factor[a, b] * noise[member, t, b]
                y[a] = acc
            for a in range(d):
                x[a] = y[a]
                out[member, copy, t, a] = y[a]
        states[member, copy] = x


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def double_well_chain_run(states, coupling, step, noise_scale, noise, out):
    """Euler-Maruyama steps of the stochastic double-well chain on a ring.

    ``du_k = [c (u_{k+1} - 2 u_k + u_{k-1}) + u_k - u_k^3] dt + sigma dW_k``
    with step ``step``; ``noise`` (members, n_out, n_sub, d) holds the
    standard normals of the ``n_sub`` steps between two outputs.
    """
    n_members, n_copies, d = states.shape
    n_out, n_sub = noise.shape[1], noise.shape[2]
    amplitude = noise_scale * np.sqrt(step)
    for flat in prange(n_members * n_copies):
        member = flat // n_copies
        copy = flat - member * n_copies
        x = states[member, copy].copy()
        drift = np.empty(d)
        for t in range(n_out):
            for s in range(n_sub):
                for k in range(d):
                    left = x[k - 1] if k > 0 else x[d - 1]
                    right = x[k + 1] if k < d - 1 else x[0]
                    drift[k] = coupling * (left - 2.0 * x[k] + right) + x[k] - x[k] * x[k] * x[k]
                for k in range(d):
                    x[k] += step * drift[k] + amplitude * noise[member, t, s, k]
            for k in range(d):
                out[member, copy, t, k] = x[k]
        states[member, copy] = x
