"""The step interface of the engine, and its CPU implementation.

The engine (:mod:`skscore._engine`) writes its sampling and likelihood loops
once, against a *steps* object that owns the arrays of a chunk of rows and
the operations on them:

- ``to_backend(z)`` / ``to_host(z)``, ``empty_like(z)``, ``zeros(shape)``;
- ``predict(z, k)`` and ``predict_with_divergence(z, k)``: the noise
  predictor at level ``k`` (and the trace of its Jacobian);
- the elementwise updates of :mod:`skscore._kernels.integrators`:
  ``axpy``, ``velocity_euler``, ``velocity_heun``, ``ddim``, and the
  stochastic ``ancestral`` and ``euler_maruyama``, which draw their normal
  variates from the steps object's own generator;
- ``log_det_trapezoid`` and ``flow_divergence``, the divergence terms of the
  instantaneous change of variables.

:class:`CpuSteps` runs them on numpy arrays (Numba kernels fused around BLAS);
:class:`skscore._kernels.cuda.CudaSteps` runs the same operations as
numba.cuda kernels on device arrays.  A new backend implements these few
methods and gets every sampler and the log-density.
"""

import numpy as np

from . import _kernels


class CpuSteps:
    """The engine's steps on the CPU, for one chunk of rows.

    Parameters
    ----------
    predictor : NoisePredictor
        The fitted noise predictor.
    random_state : RandomState or None
        Source of the stochastic samplers' normal draws, one
        ``standard_normal(z.shape)`` per step.
    """

    def __init__(self, predictor, random_state=None):
        self.predictor = predictor
        self.random_state = random_state

    # -------------------------------------------------------------- arrays
    def to_backend(self, z):
        # a copy: the loops write into their arrays, never into the caller's
        return np.array(z, dtype=np.float64, order="C")

    def to_host(self, z):
        return z

    def empty_like(self, z):
        return np.empty_like(z)

    def zeros(self, shape):
        return np.zeros(shape)

    # ----------------------------------------------------------- predictor
    def predict(self, z, level):
        return self.predictor.predict(z, level)

    def predict_with_divergence(self, z, level):
        return self.predictor.predict_with_divergence(z, level)

    # -------------------------------------------------------------- updates
    def axpy(self, z, h, v, out):
        np.add(z, h * v, out=out)

    def velocity_euler(self, z_eval, eps, a, s, z_base, h, v_out, z_out):
        _kernels.velocity_euler(z_eval, eps, a, s, z_base, h, v_out, z_out)

    def velocity_heun(self, z_eval, eps, a, s, z_base, v_prev, h, z_out):
        _kernels.velocity_heun(z_eval, eps, a, s, z_base, v_prev, h, z_out)

    def ddim(self, z, eps, a_from, s_from, a_to, s_to, out):
        _kernels.ddim_step(z, eps, a_from, s_from, a_to, s_to, out)

    def ancestral(self, z, eps, a_from, s_from, a_to, s_to, out):
        noise = self.random_state.standard_normal(z.shape)
        _kernels.ancestral_step(z, eps, noise, a_from, s_from, a_to, s_to, out)

    def euler_maruyama(self, z, eps, a_from, s_from, a_to, out):
        noise = self.random_state.standard_normal(z.shape)
        _kernels.euler_maruyama_step(z, eps, noise, a_from, s_from, a_to, out)

    # ----------------------------------------------------------- divergence
    def log_det_trapezoid(self, div_eps, a, s, d, h, div_prev, log_det):
        log_det += 0.5 * h * (div_prev + (div_eps - s * d) / a)

    def flow_divergence(self, div_eps, a, s, d, out):
        out[:] = (div_eps - s * d) / a
