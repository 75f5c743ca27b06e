"""Response theory from a learned score: how a stochastic system answers a small forcing.

For a stochastic system with stationary density ``rho`` and score
``s = grad log rho``, the generalized fluctuation-dissipation theorem gives
the mean response of an observable ``A`` to a forcing ``u(x) f(t)`` added to
the drift from stationary data alone (Giorgini, Deck, Bischoff & Souza, PRL
133, 267302, 2024)::

    R_A(tau) = < A(x(t + tau)) B(x(t)) >,    B = -div u - u . s,
    delta <A>(t) = sum_j R_A(t - t_j) f(t_j) dt.

For ``A = x_i`` and an impulse on ``x_j`` (``u = e_j``) this is the response
matrix ``R_ij(tau) = -< x_i(t + tau) s_j(x(t)) >``, equal to the identity
at ``tau = 0``.  The score comes from any fitted skscore model (or any
object with a ``score_function``); the averages over time are lagged
covariances computed by FFT.

Conventions
-----------
Trajectories are sampled every ``dt`` time units; **lags are integer numbers
of steps** (``times = lags * dt``).  ``lags=L`` means ``0, 1, ..., L``.
Averages are centred covariances: ``< A(x(t + tau)) B(x(t)) >`` is computed
as ``mean_t (A(t + tau) - mean A) (B(t) - mean B)``, over all pairs inside
each trajectory; the means vanish in theory (``< B > = 0``) and centring
removes the bias that a small error in them would cause.
"""

from ._covariance import decorrelation_steps
from ._forced_response import forced_response
from ._matrix_response import gaussian_response, score_response
from ._observable_response import observable_response

__all__ = [
    "decorrelation_steps",
    "forced_response",
    "gaussian_response",
    "observable_response",
    "score_response",
]
