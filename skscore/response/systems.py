"""Stochastic systems with a known response, and the ensemble ground truth.

- :class:`OrnsteinUhlenbeck`: ``dx = -A x dt + B dW``, simulated exactly
  (no discretization error); its response to an impulse is ``exp(-A tau)``.
- :class:`DoubleWellChain`: a small stochastic Allen-Cahn equation, a ring of
  double wells coupled by a discrete Laplacian, with bimodal marginals: the
  case where the Gaussian response fails.
- :func:`perturbation_response`: the response measured the way Giorgini et
  al. do, by perturbed and unperturbed ensemble copies driven by identical
  noise.

Trajectories are sampled every ``dt`` time units and lags are counted in
those steps, as in :func:`skscore.response.score_response`.  The simulators
are Numba kernels (:mod:`skscore._kernels.systems`) that run ensemble
members in parallel; noise is drawn in a fixed order, so results depend on
``random_state`` only, not on the number of threads.
"""

import numbers

import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state

from .._checks import check_int, check_real
from .._kernels.systems import double_well_chain_run, ou_run
from ._validation import _check_lags

__all__ = ["DoubleWellChain", "OrnsteinUhlenbeck", "perturbation_response"]

# Standard normals drawn per call: bounds the memory of long simulations.
_NOISE_CHUNK = 1 << 21
# Ensemble members integrated together by perturbation_response.
_MEMBER_CHUNK = 512


class _StochasticSystem:
    """Shared driver: initial states, ensemble integration in noise chunks."""

    n_dims = None

    def _draw_noise(self, rng, n_members, n_out, dt):
        raise NotImplementedError

    def _run(self, states, noise, dt, out):
        raise NotImplementedError

    def _noise_per_step(self, dt):
        return self.n_dims

    def _initial_states(self, n, dt, rng):
        raise NotImplementedError

    def _advance(self, states, n_out, dt, rng):
        """Advance ``states`` (members, copies, d) in place by ``n_out`` steps of ``dt``.

        Returns the states after each step, shape (members, copies, n_out, d).
        """
        n_members, n_copies, d = states.shape
        out = np.empty((n_members, n_copies, n_out, d))
        per_step = n_members * self._noise_per_step(dt)
        chunk = max(1, _NOISE_CHUNK // per_step)
        for start in range(0, n_out, chunk):
            stop = min(start + chunk, n_out)
            noise = self._draw_noise(rng, n_members, stop - start, dt)
            part = np.empty((n_members, n_copies, stop - start, d))
            self._run(states, noise, dt, part)
            out[:, :, start:stop] = part
        return out

    def simulate(self, n_times, dt, *, n_trajectories=None, random_state=None):
        """Simulate stationary trajectories sampled every ``dt``.

        Parameters
        ----------
        n_times : int
            Number of time points of each trajectory.
        dt : float
            Sampling interval, in the system's time units.
        n_trajectories : int or None, default=None
            None gives one trajectory, an int that many independent ones.
        random_state : int, RandomState instance or None, default=None
            Seed of the initial states and the noise.

        Returns
        -------
        X : ndarray of shape (n_times, n_dims) or (n_trajectories, n_times, n_dims)
            The trajectories; the first row is a draw from (close to) the
            stationary law.
        """
        check_int("n_times", n_times, 1)
        check_real("dt", dt, above=0)
        if n_trajectories is not None:
            check_int("n_trajectories", n_trajectories, 1)
        rng = check_random_state(random_state)
        m = 1 if n_trajectories is None else n_trajectories
        states = self._initial_states(m, dt, rng)[:, None, :].copy()
        X = np.empty((m, n_times, self.n_dims))
        X[:, 0] = states[:, 0]
        if n_times > 1:
            X[:, 1:] = self._advance(states, n_times - 1, dt, rng)[:, 0]
        return X[0] if n_trajectories is None else X


class OrnsteinUhlenbeck(_StochasticSystem):
    """Ornstein-Uhlenbeck process ``dx = -A x dt + B dW`` with correlated noise.

    Simulated exactly: ``x(t + dt) = exp(-A dt) x(t) + xi`` with ``xi``
    Gaussian of covariance ``C - exp(-A dt) C exp(-A dt)^T``, where the
    stationary covariance ``C`` solves ``A C + C A^T = B B^T``.  The first
    state is drawn from the stationary law ``N(0, C)``.

    Parameters
    ----------
    drift : array-like of shape (n_dims, n_dims)
        The matrix ``A``; its eigenvalues must have positive real parts.
    noise : array-like of shape (n_dims, n_dims) or None, default=None
        The matrix ``B``; None is the identity.  ``B B^T`` is the noise
        covariance per unit time.

    Attributes
    ----------
    n_dims : int
        Dimension of the state.
    drift_matrix : ndarray of shape (n_dims, n_dims)
        ``A``.
    noise_matrix : ndarray of shape (n_dims, n_dims)
        ``B``.
    covariance : ndarray of shape (n_dims, n_dims)
        Stationary covariance ``C``.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.response.systems import OrnsteinUhlenbeck
    >>> ou = OrnsteinUhlenbeck([[1.0, 0.5], [0.0, 2.0]])
    >>> ou.simulate(1000, 0.1, random_state=0).shape
    (1000, 2)
    >>> ou.response([0.0, 1.0]).shape
    (2, 2, 2)
    """

    def __init__(self, drift, noise=None):
        A = np.asarray(drift, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0 or not np.all(np.isfinite(A)):
            raise ValueError(f"drift must be a finite square matrix, got shape {A.shape}.")
        if np.any(np.linalg.eigvals(A).real <= 0):
            raise ValueError("drift must have eigenvalues with positive real parts (a stable process).")
        d = A.shape[0]
        B = np.eye(d) if noise is None else np.asarray(noise, dtype=np.float64)
        if B.shape != (d, d) or not np.all(np.isfinite(B)):
            raise ValueError(f"noise must be a finite ({d}, {d}) matrix, got shape {B.shape}.")
        C = linalg.solve_continuous_lyapunov(A, B @ B.T)
        C = 0.5 * (C + C.T)
        try:
            linalg.cholesky(C, lower=True)
        except linalg.LinAlgError:
            raise ValueError("The stationary covariance is singular: the noise does not reach every direction.")
        self.n_dims = d
        self.drift_matrix = A
        self.noise_matrix = B
        self.covariance = C

    def response(self, times):
        """Exact response ``exp(-A tau)`` to an impulse, at each time.

        Parameters
        ----------
        times : array-like of shape (n_times,)
            Lags in time units (``lags * dt``).

        Returns
        -------
        response : ndarray of shape (n_times, n_dims, n_dims)
        """
        return np.array([linalg.expm(-self.drift_matrix * t) for t in np.atleast_1d(times)])

    def score(self, X):
        """Exact score of the stationary law, ``-C^{-1} x``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_dims)

        Returns
        -------
        score : ndarray of shape (n_samples, n_dims)
        """
        return -linalg.solve(self.covariance, np.asarray(X, dtype=np.float64).T, assume_a="pos").T

    def _step_matrices(self, dt):
        F = linalg.expm(-self.drift_matrix * dt)
        Q = self.covariance - F @ self.covariance @ F.T
        w, V = linalg.eigh(0.5 * (Q + Q.T))  # a symmetric square root: Q may be near singular
        return F, (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T

    def _initial_states(self, n, dt, rng):
        return rng.standard_normal((n, self.n_dims)) @ linalg.cholesky(self.covariance, lower=True).T

    def _draw_noise(self, rng, n_members, n_out, dt):
        return rng.standard_normal((n_members, n_out, self.n_dims))

    def _run(self, states, noise, dt, out):
        F, L = self._step_matrices(dt)
        ou_run(states, F, L, noise, out)


class DoubleWellChain(_StochasticSystem):
    """A ring of coupled stochastic double wells (a small stochastic Allen-Cahn).

    ``du_k = [c (u_{k+1} - 2 u_k + u_{k-1}) + u_k - u_k^3] dt + sigma dW_k``
    for ``k = 1 .. n_sites`` on a ring (periodic neighbours), integrated by
    Euler-Maruyama with a step of at most ``time_step`` (``dt`` is split
    into ``ceil(dt / time_step)`` equal steps).  Each site sits near one of
    the wells ``u = +-1`` and hops over the barrier at ``u = 0``, driven by
    the noise; the coupling makes neighbours hop together.  The marginals
    are bimodal, so the response is far from the quasi-Gaussian one.

    Parameters
    ----------
    n_sites : int, default=4
        Number of sites (the dimension).
    coupling : float, default=0.5
        Diffusion coefficient ``c`` of the discrete Laplacian.
    noise : float, default=0.7
        Noise amplitude ``sigma``.
    time_step : float, default=0.01
        Largest Euler-Maruyama step.
    burn_in : float, default=100.0
        Time simulated from random wells before the first recorded state,
        so that it is a draw from (close to) the stationary law.

    Attributes
    ----------
    n_dims : int
        Dimension of the state (``n_sites``).

    Examples
    --------
    >>> from skscore.response.systems import DoubleWellChain
    >>> chain = DoubleWellChain(n_sites=3, burn_in=1.0)
    >>> chain.simulate(100, 0.1, random_state=0).shape
    (100, 3)
    """

    def __init__(self, n_sites=4, *, coupling=0.5, noise=0.7, time_step=0.01, burn_in=100.0):
        check_int("n_sites", n_sites, 1)
        check_real("noise", noise, above=0)
        check_real("time_step", time_step, above=0)
        for name, value in (("coupling", coupling), ("burn_in", burn_in)):
            if not (
                isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value) and value >= 0
            ):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
        self.n_dims = int(n_sites)
        self.coupling = float(coupling)
        self.noise = float(noise)
        self.time_step = float(time_step)
        self.burn_in = float(burn_in)

    def _n_sub(self, dt):
        return max(1, int(np.ceil(dt / self.time_step - 1e-9)))

    def _noise_per_step(self, dt):
        return self.n_dims * self._n_sub(dt)

    def _initial_states(self, n, dt, rng):
        states = rng.choice([-1.0, 1.0], size=(n, 1, self.n_dims))
        n_burn = int(np.ceil(self.burn_in / dt))
        if n_burn > 0:
            self._advance_quietly(states, n_burn, dt, rng)
        return states[:, 0]

    def _advance_quietly(self, states, n_out, dt, rng):
        """Advance without keeping the path (bounded memory for long burn-ins)."""
        chunk = max(1, _NOISE_CHUNK // (states.shape[0] * self._noise_per_step(dt)))
        for start in range(0, n_out, chunk):
            steps = min(chunk, n_out - start)
            noise = self._draw_noise(rng, states.shape[0], steps, dt)
            self._run(states, noise, dt, np.empty(states.shape[:2] + (steps, self.n_dims)))

    def _draw_noise(self, rng, n_members, n_out, dt):
        return rng.standard_normal((n_members, n_out, self._n_sub(dt), self.n_dims))

    def _run(self, states, noise, dt, out):
        double_well_chain_run(states, self.coupling, dt / self._n_sub(dt), self.noise, noise, out)


def perturbation_response(system, lags, dt, *, n_members=1000, epsilon=0.01, random_state=None):
    """Response to an impulse measured by perturbed ensembles (the ground truth).

    For each of ``n_members`` independent stationary initial states ``x``,
    the unperturbed copy and the copies ``x + epsilon e_j`` (one per
    direction ``j``) are integrated with identical noise; the response is the
    ensemble mean of ``(x_perturbed(tau) - x(tau)) / epsilon``, with standard
    error ``std / sqrt(n_members)``, as in Giorgini et al. (2024).

    Parameters
    ----------
    system : OrnsteinUhlenbeck or DoubleWellChain
        The system.
    lags : int or array-like of int
        Lags in steps of ``dt``: an int ``L`` means ``0, 1, ..., L``.
    dt : float
        Time step between lags.
    n_members : int, default=1000
        Ensemble size.
    epsilon : float, default=0.01
        Size of the initial perturbation, in the units of the state: small
        against the spread of the stationary law (linear response), large
        against round-off.
    random_state : int, RandomState instance or None, default=None
        Seed of the initial states and the noise.

    Returns
    -------
    response : ndarray of shape (n_lags, n_dims, n_dims)
        ``response[k, i, j]``: mean change of ``x_i`` at lag ``lags[k]`` per
        unit impulse on ``x_j`` at lag 0.
    standard_error : ndarray of shape (n_lags, n_dims, n_dims)
        Standard error of the ensemble mean.

    Examples
    --------
    >>> from skscore.response.systems import OrnsteinUhlenbeck, perturbation_response
    >>> ou = OrnsteinUhlenbeck([[1.0, 0.0], [0.0, 2.0]])
    >>> R, se = perturbation_response(ou, 3, 0.5, n_members=10, random_state=0)
    >>> R.shape
    (4, 2, 2)
    """
    if not isinstance(system, _StochasticSystem):
        raise ValueError(f"system must be one of the systems of skscore.response.systems, got {system!r}.")
    lags = _check_lags(lags)
    check_real("dt", dt, above=0)
    check_int("n_members", n_members, 2)
    check_real("epsilon", epsilon, above=0)
    rng = check_random_state(random_state)
    d, n_out = system.n_dims, int(lags[-1])
    mean = np.zeros((len(lags), d, d))
    sum_sq = np.zeros((len(lags), d, d))  # of deviations from the running mean
    for start in range(0, n_members, _MEMBER_CHUNK):
        m = min(_MEMBER_CHUNK, n_members - start)
        base = system._initial_states(m, dt, rng)
        states = np.repeat(base[:, None, :], d + 1, axis=1)
        states[:, 1:] += epsilon * np.eye(d)[None]
        path = np.empty((m, d + 1, n_out + 1, d))
        path[:, :, 0] = states
        if n_out > 0:
            path[:, :, 1:] = system._advance(states, n_out, dt, rng)
        # diff[member, lag, i, j]: change of x_i from the impulse on x_j
        diff = (path[:, 1:, lags] - path[:, :1, lags]).transpose(0, 2, 3, 1) / epsilon
        # Chan et al.'s pairwise update: no cancellation when the spread is tiny
        chunk_mean = diff.mean(axis=0)
        delta = chunk_mean - mean
        sum_sq += ((diff - chunk_mean) ** 2).sum(axis=0) + delta**2 * start * m / (start + m)
        mean += delta * m / (start + m)
    var = sum_sq / (n_members - 1)
    return mean, np.sqrt(var / n_members)
