"""numba.cuda kernels: the two-layer noise predictor and the reverse-time flow on the GPU.

What runs here, for the models with a CUDA path (``device='cuda'``, or
``'auto'`` on a machine with a usable GPU):

- :func:`_projection_kernel`: the fused two-layer predictor
  ``eps = sum_t w_t [(act(z W_t + b_t) * g_t) V_t + z A_t + c_t]`` and, on
  request, its closed-form divergence ``sum_j act'(.)_j g_j m_j + tr A_t``
  (``m_j = sum_l W[l, j] V[j, l]``).  One thread per row; the block stages
  tiles of ``W``, ``V``, ``b``, ``g`` and ``m`` in shared memory and never
  materializes the ``n x N`` feature matrix.  ``act`` is the sine of
  :class:`~skscore.DiffusionRandomFeatures` or the ReLU / absolute value of
  :class:`~skscore.ConvexTwoLayerScore`;
- the per-step reverse-time updates of :mod:`skscore._kernels.integrators`
  (Heun, DDIM, DDPM ancestral, Euler-Maruyama), the stochastic ones drawing
  their normal variates on the device (xoroshiro128+, one generator per
  thread of a fixed grid, so the draws do not depend on the block size);
- the log-density accumulation along the probability-flow ODE (the
  trapezoidal rule on the divergence, as in the engine).

:class:`CudaSteps` implements the engine's step interface
(:mod:`skscore._steps`) with these kernels, so the engine's one sampling loop
and one likelihood loop run every step on device arrays: the rows go to the
GPU once and come back once.

``numba.cuda`` is imported only when a kernel is first needed, so importing
skscore never requires CUDA; :func:`cuda_usable` never raises.
"""

import functools
import math
import os
import warnings
from contextlib import contextmanager

import numpy as np
from numba import float64, uint32, uint64

# launch geometry: one thread per row (the simulator runs a Python thread per
# CUDA thread, so it gets small blocks; results do not depend on the geometry)
_SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")
_ROWS_PER_BLOCK = 32 if _SIMULATOR else 128
_MAX_RNG_STATES = 1 << 16
# rows integrated at once: bounds device memory (about five arrays of rows x d)
_DEVICE_CHUNK = 1 << 20
MAX_DIMS = 2048  # model columns the fused kernel takes (per-thread row storage)
ACTIVATIONS = {"sine": 0, "relu": 1, "abs": 2}


# ------------------------------------------------------------------ probing
@functools.lru_cache(maxsize=None)
def _probe():
    """``(usable, reason)``: whether numba.cuda has a device to run on."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from numba import cuda
    except Exception as exc:  # pragma: no cover - numba without its CUDA target
        return False, f"numba.cuda cannot be imported ({exc})"
    try:
        if not cuda.is_available():
            return False, "numba.cuda finds no CUDA driver or GPU"
    except Exception as exc:  # pragma: no cover - broken driver installations
        return False, f"numba.cuda failed to initialize ({exc})"
    try:  # a driver is not enough: the toolkit (NVVM, libdevice) must compile for this GPU
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probe = cuda.jit(_py_probe)
            out = cuda.to_device(np.zeros(1))
            probe[1, 1](out, 2.0)
            if out.copy_to_host()[0] != 2.0:
                raise RuntimeError("a test kernel returned a wrong value")
    except Exception as exc:  # pragma: no cover - needs a GPU without a working toolkit
        return False, f"a GPU was found but a test kernel failed ({type(exc).__name__}: {exc})"
    return True, ""


def _py_probe(out, value):
    out[0] = math.sqrt(value * value)


def check_columns(n_dims):
    """Raise a ValueError unless the fused kernel takes ``n_dims`` model columns."""
    if n_dims > MAX_DIMS:
        raise ValueError(
            f"device='cuda' supports at most {MAX_DIMS} model columns (after typed columns are encoded), got "
            f"{n_dims}; use device='cpu' or 'auto'."
        )


def cuda_usable():
    """Whether the CUDA kernels can run here (a GPU, or Numba's CUDA simulator)."""
    return _probe()[0]


def cuda_unavailable_reason():
    """Why :func:`cuda_usable` is False ('' when it is True)."""
    return _probe()[1]


# the numba.cuda module once imported: a module global, because the kernels
# refer to it by that global name (the simulator swaps it for its fake module)
cuda = None


def _cuda():
    global cuda
    if cuda is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from numba import cuda as module
        cuda = module
    return cuda


@contextmanager
def _quiet():
    """Silence Numba's low-occupancy warnings for small launches (and the simulator's notices)."""
    from numba.core.errors import NumbaDeprecationWarning, NumbaPerformanceWarning, NumbaWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        warnings.simplefilter("ignore", NumbaDeprecationWarning)
        if _SIMULATOR:
            # numba.cuda.random seeds its states through object-mode functions
            # there, and numpy scalars warn as the uint64 arithmetic wraps
            warnings.simplefilter("ignore", NumbaWarning)
            warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
        yield


# ------------------------------------------------------------------ kernels
def _shared_tile(n_dims):
    """Features staged per shared-memory tile: two ``tile x d`` float64 tiles stay under 32 KiB."""
    return max(1, min(64, 2048 // n_dims))


@functools.lru_cache(maxsize=None)
def _projection_kernel(n_dims, activation):
    """The fused predictor kernel for ``n_dims`` columns and an activation code.

    ``kernel[blocks, _ROWS_PER_BLOCK](z, W, b, g, V, A, c, m, trace, weight,
    accumulate, with_div, eps, div)`` sets (or, with ``accumulate``, adds to)
    ``eps[i] = weight * ((act(z[i] W + b) * g) V + z[i] A + c)`` and, with
    ``with_div``, ``div[i] = weight * (sum_j act'(z[i] W + b)_j g_j m_j + trace)``.
    ``n_dims`` and the activation are compile-time constants (fixed-size
    per-thread arrays, no branch on the activation in the inner loop).
    """
    _cuda()
    D = n_dims
    TILE = _shared_tile(n_dims)
    TPB = _ROWS_PER_BLOCK
    ACT = activation

    @cuda.jit
    def kernel(z, W, b, g, V, A, c, m, trace, weight, accumulate, with_div, eps, div):
        tx = cuda.threadIdx.x
        i = cuda.blockIdx.x * TPB + tx
        n = z.shape[0]
        N = W.shape[1]
        Ws = cuda.shared.array((D, TILE), float64)
        Vs = cuda.shared.array((TILE, D), float64)
        bs = cuda.shared.array(TILE, float64)
        gs = cuda.shared.array(TILE, float64)
        ms = cuda.shared.array(TILE, float64)
        zl = cuda.local.array(D, float64)
        acc = cuda.local.array(D, float64)
        active = i < n
        slope_sum = 0.0
        if active:
            for l in range(D):
                zl[l] = z[i, l]
            for l in range(D):
                t = c[l]
                for q in range(D):
                    t += zl[q] * A[q, l]
                acc[l] = t
        for start in range(0, N, TILE):
            width = min(TILE, N - start)
            # cooperative load of the tile: every thread of the block helps
            for e in range(tx, width * D, TPB):
                jj = e // D
                l = e - jj * D
                Ws[l, jj] = W[l, start + jj]
                Vs[jj, l] = V[start + jj, l]
            for e in range(tx, width, TPB):
                bs[e] = b[start + e]
                gs[e] = g[start + e]
                ms[e] = m[start + e]
            cuda.syncthreads()
            if active:
                for jj in range(width):
                    p = 0.0
                    for l in range(D):
                        p += zl[l] * Ws[l, jj]
                    p += bs[jj]
                    if ACT == 0:
                        f = math.sin(p)
                    elif ACT == 1:
                        f = p if p > 0.0 else 0.0
                    else:
                        f = abs(p)
                    f *= gs[jj]
                    for l in range(D):
                        acc[l] += f * Vs[jj, l]
                    if with_div:  # act'(p) g_j m_j
                        if ACT == 0:
                            slope = math.cos(p)
                        elif ACT == 1:
                            slope = 1.0 if p > 0.0 else 0.0
                        else:
                            slope = 1.0 if p > 0.0 else (-1.0 if p < 0.0 else 0.0)
                        slope_sum += slope * gs[jj] * ms[jj]
            cuda.syncthreads()
        if active:
            for l in range(D):
                if accumulate:
                    eps[i, l] += weight * acc[l]
                else:
                    eps[i, l] = weight * acc[l]
            if with_div:
                if accumulate:
                    div[i] += weight * (slope_sum + trace)
                else:
                    div[i] = weight * (slope_sum + trace)

    return kernel


# ------------------------------------------------------- random numbers
# xoroshiro128+ on the states of numba.cuda.random (create_xoroshiro128p_states
# seeds them with SplitMix64 and spaces them 2^64 draws apart); the normal
# variates are a float64 Box-Muller on 53-bit uniforms in (0, 1) (numba's own
# xoroshiro128p_normal_float64 draws its uniforms in float32).  Written here as
# CUDA device functions so that the simulator runs them as plain Python too.
_TWO_PI = 2.0 * math.pi
_INV_2_53 = 1.0 / 9007199254740992.0


def _py_next_uint64(states, index):
    """The next xoroshiro128+ output of ``states[index]``, advancing it."""
    s0 = uint64(states[index]["s0"])
    s1 = uint64(states[index]["s1"])
    result = uint64(s0 + s1)
    s1 = uint64(s1 ^ s0)
    states[index]["s0"] = uint64(((s0 << uint32(55)) | (s0 >> uint32(9))) ^ s1 ^ (s1 << uint32(14)))
    states[index]["s1"] = uint64((s1 << uint32(36)) | (s1 >> uint32(28)))
    return result


def _py_normal(states, index):
    """A standard normal variate from ``states[index]`` (Box-Muller, two draws)."""
    u1 = (float64(_dev_next_uint64(states, index) >> uint32(11)) + 0.5) * _INV_2_53
    u2 = float64(_dev_next_uint64(states, index) >> uint32(11)) * _INV_2_53
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)


_dev_next_uint64 = _dev_normal = create_xoroshiro128p_states = None  # compiled with the step kernels


@functools.lru_cache(maxsize=None)
def _step_kernels():
    """Elementwise reverse-time updates (grid-stride loops over rows)."""
    global _dev_next_uint64, _dev_normal, create_xoroshiro128p_states
    _cuda()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from numba.cuda.random import create_xoroshiro128p_states
    _dev_next_uint64 = cuda.jit(device=True)(_py_next_uint64)
    _dev_normal = cuda.jit(device=True)(_py_normal)

    @cuda.jit
    def velocity_euler(z_eval, eps, a, s, z_base, h, v_out, z_out):
        n, d = z_eval.shape
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            for j in range(d):
                v = (eps[i, j] - s * z_eval[i, j]) / a
                v_out[i, j] = v
                z_out[i, j] = z_base[i, j] + h * v

    @cuda.jit
    def velocity_heun(z_eval, eps, a, s, z_base, v_prev, h, z_out):
        n, d = z_eval.shape
        half = 0.5 * h
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            for j in range(d):
                v = (eps[i, j] - s * z_eval[i, j]) / a
                z_out[i, j] = z_base[i, j] + half * (v_prev[i, j] + v)

    @cuda.jit
    def axpy(z, h, v, z_out):
        n, d = z.shape
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            for j in range(d):
                z_out[i, j] = z[i, j] + h * v[i, j]

    @cuda.jit
    def ddim_step(z, eps, a_from, s_from, a_to, s_to, out):
        n, d = z.shape
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            for j in range(d):
                x0 = (z[i, j] - s_from * eps[i, j]) / a_from
                out[i, j] = a_to * x0 + s_to * eps[i, j]

    @cuda.jit
    def ancestral_step(z, eps, states, r, c2, inv, std, a_from, s_from, a_to, s_to, out):
        # r, c2, inv and std as in integrators.ancestral_step, computed on the host
        n, d = z.shape
        tid = cuda.grid(1)
        stride = states.shape[0]  # thread t < stride owns generator t
        if tid >= stride:
            return
        for i in range(tid, n, stride):
            for j in range(d):
                x0 = (z[i, j] - s_from * eps[i, j]) / a_from
                mean = (r * s_to * s_to * z[i, j] + a_to * c2 * x0) * inv
                out[i, j] = mean + std * _dev_normal(states, tid)

    @cuda.jit
    def euler_maruyama_step(z, eps, states, beta, sq, s_from, out):
        n, d = z.shape
        tid = cuda.grid(1)
        stride = states.shape[0]
        if tid >= stride:
            return
        for i in range(tid, n, stride):
            for j in range(d):
                noise = _dev_normal(states, tid)
                out[i, j] = (1.0 + 0.5 * beta) * z[i, j] - beta * eps[i, j] / s_from + sq * noise

    @cuda.jit
    def log_det_trapezoid(div_eps, a, s, d, h, div_prev, log_det):
        # div = (div_eps - s d) / a; log_det += h / 2 (div_prev + div)
        n = div_eps.shape[0]
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            log_det[i] += 0.5 * h * (div_prev[i] + (div_eps[i] - s * d) / a)

    @cuda.jit
    def flow_divergence(div_eps, a, s, d, div_out):
        n = div_eps.shape[0]
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            div_out[i] = (div_eps[i] - s * d) / a

    return {
        "velocity_euler": velocity_euler,
        "velocity_heun": velocity_heun,
        "axpy": axpy,
        "ddim_step": ddim_step,
        "ancestral_step": ancestral_step,
        "euler_maruyama_step": euler_maruyama_step,
        "log_det_trapezoid": log_det_trapezoid,
        "flow_divergence": flow_divergence,
    }


def _row_blocks(n):
    return max(1, -(-n // _ROWS_PER_BLOCK))


def _launch(kernel, n, *args):
    """An elementwise kernel over ``n`` rows, one thread per row."""
    kernel[_row_blocks(n), _ROWS_PER_BLOCK](*args)


# ---------------------------------------------------------------- network
class DeviceNetwork:
    """A level-indexed two-layer noise predictor whose weights live on the GPU.

    ``eps(z, k) = sum_{(w, t) in levels[k]} w [(act(z W_t + b_t) * g_t) V_t + z A_t + c_t]``.

    Parameters
    ----------
    terms : list of tuple
        ``(W, b, g, V, A, c)`` host arrays: ``W`` (d, N), ``b`` and ``g``
        (N,), ``V`` (N, d), ``A`` (d, d), ``c`` (d,).  Arrays shared by
        several terms (the same object) are uploaded once.
    levels : list of list of (float, int)
        For each engine level, the weighted terms that make its prediction.
    activation : {'sine', 'relu', 'abs'}
        The hidden activation.
    """

    def __init__(self, terms, levels, activation):
        _cuda()
        self.n_dims = int(terms[0][0].shape[0])
        check_columns(self.n_dims)
        uploaded = {}

        def upload(array):
            key = id(array)
            if key not in uploaded:
                uploaded[key] = (array, cuda.to_device(np.ascontiguousarray(array, dtype=np.float64)))
            return uploaded[key][1]

        self._terms = []
        for W, b, g, V, A, c in terms:
            m = np.einsum("lj,jl->j", W, V)
            self._terms.append(
                tuple(upload(x) for x in (W, b, g, V, A, c)) + (cuda.to_device(m), float(np.trace(A)))
            )
        self._levels = [[(float(w), int(t)) for w, t in level] for level in levels]
        self._kernel = _projection_kernel(self.n_dims, ACTIVATIONS[activation])
        self._dummy = cuda.device_array(1)

    def predict(self, z, level, eps, div=None):
        """Fill device arrays ``eps`` (n, d) and, if given, ``div`` (n,) at ``level``."""
        n = z.shape[0]
        with_div = div is not None
        div_out = div if with_div else self._dummy
        for index, (weight, t) in enumerate(self._levels[level]):
            W, b, g, V, A, c, m, trace = self._terms[t]
            self._kernel[_row_blocks(n), _ROWS_PER_BLOCK](
                z, W, b, g, V, A, c, m, trace, weight, index > 0, with_div, eps, div_out
            )


# ------------------------------------------------------------- the flows
def predict_noise(network, Z, level, with_divergence=False):
    """Host rows in, the predicted noise (and divergence) at ``level`` out."""
    _cuda()
    with _quiet():
        z = cuda.to_device(np.ascontiguousarray(Z, dtype=np.float64))
        eps = cuda.device_array(z.shape)
        div = cuda.device_array(z.shape[0]) if with_divergence else None
        network.predict(z, level, eps, div)
        return (eps.copy_to_host(), div.copy_to_host()) if with_divergence else eps.copy_to_host()


def map_device_chunks(func, n_rows):
    """``func(chunk, start, stop)`` on consecutive chunks of ``2^20`` rows, concatenated.

    Bounds device memory (about five arrays of rows x d per chunk); Numba's
    low-occupancy warnings and floating-point warnings are silenced inside.
    """
    _cuda()
    bounds = [(start, min(start + _DEVICE_CHUNK, n_rows)) for start in range(0, n_rows, _DEVICE_CHUNK)]
    with _quiet(), np.errstate(all="ignore"):
        return np.concatenate([func(chunk, start, stop) for chunk, (start, stop) in enumerate(bounds)])


class CudaSteps:
    """The engine's steps (:mod:`skscore._steps`) as numba.cuda kernels on device arrays.

    Parameters
    ----------
    network : DeviceNetwork
        The noise predictor on the GPU.
    n_rows : int
        Rows of the chunk.
    seed : int or None
        Seed of the chunk's xoroshiro128+ generators (one per thread of a
        fixed grid of ``min(n_rows, 2^16)`` threads, so the draws do not
        depend on the block size); None when no stochastic step runs.
    """

    def __init__(self, network, n_rows, seed=None):
        self.network = network
        self.kernels = _step_kernels()
        self.n_rows = n_rows
        self.n_states = min(n_rows, _MAX_RNG_STATES)
        self.seed = seed
        self._states = None
        self._eps = self._div = None

    # -------------------------------------------------------------- arrays
    def to_backend(self, z):
        return cuda.to_device(np.ascontiguousarray(z, dtype=np.float64))

    def to_host(self, z):
        return z.copy_to_host()

    def empty_like(self, z):
        return cuda.device_array_like(z)

    def zeros(self, shape):
        return cuda.to_device(np.zeros(shape))

    # ----------------------------------------------------------- predictor
    def predict(self, z, level):
        if self._eps is None:
            self._eps = cuda.device_array_like(z)
        self.network.predict(z, level, self._eps)
        return self._eps

    def predict_with_divergence(self, z, level):
        if self._div is None:
            self._eps, self._div = cuda.device_array_like(z), cuda.device_array(z.shape[0])
        self.network.predict(z, level, self._eps, self._div)
        return self._eps, self._div

    # -------------------------------------------------------------- updates
    def _run(self, name, *args):
        _launch(self.kernels[name], self.n_rows, *args)

    def axpy(self, z, h, v, out):
        self._run("axpy", z, float(h), v, out)

    def velocity_euler(self, z_eval, eps, a, s, z_base, h, v_out, z_out):
        self._run("velocity_euler", z_eval, eps, a, s, z_base, float(h), v_out, z_out)

    def velocity_heun(self, z_eval, eps, a, s, z_base, v_prev, h, z_out):
        self._run("velocity_heun", z_eval, eps, a, s, z_base, v_prev, float(h), z_out)

    def ddim(self, z, eps, a_from, s_from, a_to, s_to, out):
        self._run("ddim_step", z, eps, a_from, s_from, a_to, s_to, out)

    def _stochastic(self, name, *args):
        if self._states is None:
            self._states = create_xoroshiro128p_states(self.n_states, seed=int(self.seed))
        # exactly n_states threads: thread t owns generator t
        blocks = max(1, -(-self.n_states // _ROWS_PER_BLOCK))
        self.kernels[name][blocks, _ROWS_PER_BLOCK](*args[:2], self._states, *args[2:])

    def ancestral(self, z, eps, a_from, s_from, a_to, s_to, out):
        # the constants of integrators.ancestral_step, computed on the host
        r = a_from / a_to
        c2 = max(s_from * s_from - r * r * s_to * s_to, 0.0)
        inv = 1.0 / (s_from * s_from)
        std = (c2 * s_to * s_to * inv) ** 0.5
        self._stochastic("ancestral_step", z, eps, r, c2, inv, std, a_from, s_from, a_to, s_to, out)

    def euler_maruyama(self, z, eps, a_from, s_from, a_to, out):
        r = a_from / a_to
        beta = 1.0 - r * r
        self._stochastic("euler_maruyama_step", z, eps, beta, beta**0.5, s_from, out)

    # ----------------------------------------------------------- divergence
    def log_det_trapezoid(self, div_eps, a, s, d, h, div_prev, log_det):
        self._run("log_det_trapezoid", div_eps, a, s, float(d), float(h), div_prev, log_det)

    def flow_divergence(self, div_eps, a, s, d, out):
        self._run("flow_divergence", div_eps, a, s, float(d), out)
