"""The numba.cuda kernels and the device selection.

The kernel tests need a GPU or Numba's CUDA simulator; CI runs them as a
separate step (``.ci/run``)::

    NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/test_cuda.py -p no:cacheprovider

Without either they skip.  The simulator runs every CUDA thread as a Python
thread, so the shapes here are small.  The device-selection tests at the end
run in the normal suite too.
"""

import os
import warnings

import numpy as np
import pytest
from scipy import stats

from skscore import (
    ConvexTwoLayerScore,
    DiffusionRandomFeatures,
    GaussianMixturePriorDiffusion,
    GradientBoostedScore,
    _kernels,
)
from skscore._engine import _reverse_flow
from skscore._kernels import cuda as kc
from skscore._steps import CpuSteps
from skscore.metrics import energy_distance

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")
needs_cuda = pytest.mark.skipif(
    not kc.cuda_usable(), reason="the CUDA kernels need a GPU or NUMBA_ENABLE_CUDASIM=1 (see .ci/run)"
)
RTOL = 1e-6


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2)) @ np.array([[1.0, 0.6], [0.0, 0.5]]) + np.array([1.0, -2.0])


@pytest.fixture(scope="module")
def fitted_drf():
    return DiffusionRandomFeatures(n_features=24, n_steps=6, random_state=0).fit(_data())


def _assert_close(actual, desired):
    np.testing.assert_allclose(actual, desired, rtol=RTOL, atol=1e-12 * np.max(np.abs(desired)))


# ----------------------------------------------------------------- kernels
def _cpu_two_layer(z, W, b, g, V, A, c, activation):
    """The CPU kernels' prediction and divergence for one term."""
    proj = z @ W
    slopes = np.empty_like(proj)
    if activation == "sine":
        _kernels.sine_cosine_features(proj, b, g, slopes)
    else:
        _kernels.relu_features_slopes(proj, b, activation == "abs", slopes)
        proj *= g
        slopes *= g
    eps = proj @ V + z @ A + c
    div = slopes @ np.einsum("lj,jl->j", W, V) + np.trace(A)
    return eps, div


@needs_cuda
@pytest.mark.parametrize("activation", ["sine", "relu", "abs"])
def test_projection_kernel_matches_cpu_kernels(activation):
    # more features than one shared-memory tile, rows not a multiple of the
    # block; two weighted terms exercise the accumulation (level interpolation)
    rng = np.random.default_rng(1)
    n, d = 45, 3
    N = kc._shared_tile(d) + 13
    terms = []
    for _ in range(2):
        W = rng.standard_normal((d, N))
        terms.append(
            (W, rng.uniform(-3, 3, N), rng.uniform(-1, 1, N), rng.standard_normal((N, d)),
             rng.standard_normal((d, d)), rng.standard_normal(d))
        )
    z = rng.standard_normal((n, d))
    network = kc.DeviceNetwork(terms, [[(1.0, 0)], [(0.3, 0), (0.7, 1)]], activation)
    for level, weights in enumerate([[1.0, 0.0], [0.3, 0.7]]):
        expected = [_cpu_two_layer(z, *term, activation) for term in terms]
        eps_ref = sum(w * e for w, (e, _) in zip(weights, expected))
        div_ref = sum(w * v for w, (_, v) in zip(weights, expected))
        eps, div = kc.predict_noise(network, z, level, with_divergence=True)
        _assert_close(eps, eps_ref)
        _assert_close(div, div_ref)
        _assert_close(kc.predict_noise(network, z, level), eps_ref)


def _device(*arrays):
    return [kc.cuda.to_device(np.ascontiguousarray(a)) for a in arrays]


@needs_cuda
def test_deterministic_step_kernels_match_cpu_kernels():
    rng = np.random.default_rng(2)
    z, eps, v_prev = (rng.standard_normal((37, 3)) for _ in range(3))
    a, s, h = 0.8, 0.6, -0.05
    kernels = kc._step_kernels()
    with kc._quiet():
        dz, deps, dv_prev = _device(z, eps, v_prev)
        out_v, out_z = kc.cuda.device_array(z.shape), kc.cuda.device_array(z.shape)
        kc._launch(kernels["velocity_euler"], len(z), dz, deps, a, s, dz, h, out_v, out_z)
        ref_v, ref_z = np.empty_like(z), np.empty_like(z)
        _kernels.velocity_euler(z, eps, a, s, z, h, ref_v, ref_z)
        _assert_close(out_v.copy_to_host(), ref_v)
        _assert_close(out_z.copy_to_host(), ref_z)

        kc._launch(kernels["velocity_heun"], len(z), dz, deps, a, s, dz, dv_prev, h, out_z)
        _kernels.velocity_heun(z, eps, a, s, z, v_prev, h, ref_z)
        _assert_close(out_z.copy_to_host(), ref_z)

        kc._launch(kernels["ddim_step"], len(z), dz, deps, a, s, 0.9, 0.43, out_z)
        _kernels.ddim_step(z, eps, a, s, 0.9, 0.43, ref_z)
        _assert_close(out_z.copy_to_host(), ref_z)


def _stochastic_step(sampler, z, eps, a_from, s_from, a_to, s_to, seed, n_states):
    """One device step of ``sampler`` (the kernels that CudaSteps launches)."""
    kernels = kc._step_kernels()
    with kc._quiet():
        dz, deps = _device(z, eps)
        out = kc.cuda.device_array(z.shape)
        states = kc.create_xoroshiro128p_states(n_states, seed=seed)
        blocks = -(-n_states // kc._ROWS_PER_BLOCK)
        r = a_from / a_to
        if sampler == "ddpm":
            c2 = max(s_from**2 - r**2 * s_to**2, 0.0)
            inv = 1.0 / s_from**2
            std = (c2 * s_to**2 * inv) ** 0.5
            kernels["ancestral_step"][blocks, kc._ROWS_PER_BLOCK](
                dz, deps, states, r, c2, inv, std, a_from, s_from, a_to, s_to, out
            )
        else:
            beta = 1.0 - r * r
            kernels["euler_maruyama_step"][blocks, kc._ROWS_PER_BLOCK](dz, deps, states, beta, beta**0.5, s_from, out)
        return out.copy_to_host()


@needs_cuda
def test_device_generator_is_numba_xoroshiro128p():
    # the device draws advance numba.cuda.random's states exactly as its own
    # xoroshiro128p_next does (checked on a host copy of the states)
    from numba.cuda import random as nrandom

    kc._step_kernels()
    with kc._quiet():
        states = kc.create_xoroshiro128p_states(3, seed=11)
        host = states.copy_to_host()
        out = kc.cuda.device_array((3, 2))
        zeros = kc.cuda.to_device(np.zeros((3, 2)))
        # beta = 1, sqrt(beta) = 1, z = eps = 0: the output is the raw normal draws
        kc._step_kernels()["euler_maruyama_step"][1, kc._ROWS_PER_BLOCK](zeros, zeros, states, 0.0, 1.0, 1.0, out)
        expected = np.empty((3, 2))
        for i in range(3):
            for j in range(2):
                u1 = ((int(nrandom.xoroshiro128p_next(host, i)) >> 11) + 0.5) / 2.0**53
                u2 = (int(nrandom.xoroshiro128p_next(host, i)) >> 11) / 2.0**53
                expected[i, j] = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        np.testing.assert_allclose(out.copy_to_host(), expected, rtol=1e-12)
        np.testing.assert_array_equal(states.copy_to_host(), host)


@needs_cuda
@pytest.mark.parametrize("sampler", ["ddpm", "euler_maruyama"])
def test_stochastic_step_kernels_agree_in_distribution(sampler):
    # one step from the same rows: the device's xoroshiro128+ normals against
    # the CPU kernel fed numpy normals (fewer generators than rows, so each
    # generator serves several rows)
    rng = np.random.default_rng(3)
    n = 600
    z = np.repeat(rng.standard_normal((1, 2)), n, axis=0)
    eps = np.repeat(rng.standard_normal((1, 2)), n, axis=0)
    args = (0.5, np.sqrt(0.75), 0.7, np.sqrt(0.51))
    gpu = _stochastic_step(sampler, z, eps, *args, seed=7, n_states=97)
    noise = rng.standard_normal((4 * n, 2))
    cpu = np.empty((4 * n, 2))
    big_z, big_eps = np.repeat(z[:1], 4 * n, axis=0), np.repeat(eps[:1], 4 * n, axis=0)
    if sampler == "ddpm":
        _kernels.ancestral_step(big_z, big_eps, noise, *args, cpu)
    else:
        _kernels.euler_maruyama_step(big_z, big_eps, noise, *args[:3], cpu)
    for j in range(2):
        assert stats.ks_2samp(gpu[:, j], cpu[:, j]).pvalue > 1e-3
    # the two coordinates and consecutive rows are independent draws
    assert abs(stats.pearsonr(gpu[:, 0], gpu[:, 1])[0]) < 4 / np.sqrt(n)
    assert abs(stats.pearsonr(gpu[:-1, 0], gpu[1:, 0])[0]) < 4 / np.sqrt(n)
    # a seed repeats its draws, another seed does not
    np.testing.assert_array_equal(_stochastic_step(sampler, z[:40], eps[:40], *args, seed=7, n_states=97), gpu[:40])
    assert not np.allclose(_stochastic_step(sampler, z[:40], eps[:40], *args, seed=8, n_states=97), gpu[:40])


# --------------------------------------------------------- fitted models
def _on(model, device, **params):
    return model.set_params(device=device, **params)


@needs_cuda
def test_fitted_model_log_density_and_score_match_cpu(fitted_drf):
    X = _data(40, seed=1)
    cpu = _on(fitted_drf, "cpu").score_samples(X)
    cpu_score = fitted_drf.score_function(X, t=0.5)
    assert fitted_drf.diffusion_.uses_cuda("auto")  # 'auto' takes the usable device
    _assert_close(fitted_drf.score_samples(X), cpu)
    _assert_close(_on(fitted_drf, "cuda").score_samples(X), cpu)
    _assert_close(fitted_drf.score_function(X, t=0.5), cpu_score)
    _on(fitted_drf, "cpu")


@needs_cuda
@pytest.mark.parametrize("sampler", ["heun", "ddim"])
def test_deterministic_samplers_match_cpu(fitted_drf, sampler):
    cpu = _on(fitted_drf, "cpu", sampler=sampler).sample(40, random_state=3)
    _assert_close(_on(fitted_drf, "cuda").sample(40, random_state=3), cpu)
    _on(fitted_drf, "cpu", sampler="heun")


class _Draws:
    """Stands for a RandomState whose standard_normal returns given arrays in turn."""

    def __init__(self, arrays):
        self._arrays = list(arrays)

    def standard_normal(self, shape):
        out = self._arrays.pop(0)
        assert out.shape == shape
        return out


def _xoroshiro_normals(states, n_rows, n_dims, n_draws):
    """The device's normal draws, emulated with Python integers: ``n_draws`` arrays (n_rows, n_dims).

    Generator ``t`` serves rows ``t, t + S, t + 2 S, ...`` (``S`` generators),
    each row's columns in order, one array per stochastic step.
    """
    mask = (1 << 64) - 1
    s = [[int(row["s0"]), int(row["s1"])] for row in states]

    def next_uint64(t):
        s0, s1 = s[t]
        result = (s0 + s1) & mask
        s1 ^= s0
        s[t] = [(((s0 << 55) | (s0 >> 9)) ^ s1 ^ (s1 << 14)) & mask, ((s1 << 36) | (s1 >> 28)) & mask]
        return result

    draws = []
    for _ in range(n_draws):
        noise = np.empty((n_rows, n_dims))
        for t in range(len(s)):
            for i in range(t, n_rows, len(s)):
                for j in range(n_dims):
                    u1 = ((next_uint64(t) >> 11) + 0.5) / 2.0**53
                    u2 = (next_uint64(t) >> 11) / 2.0**53
                    noise[i, j] = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        draws.append(noise)
    return draws


@needs_cuda
@pytest.mark.parametrize("sampler", ["ddpm", "euler_maruyama"])
def test_stochastic_samplers_match_cpu_steps_fed_the_device_draws(fitted_drf, sampler, monkeypatch):
    # the whole device sampler equals the engine's CPU steps given the same
    # normal draws; 7 generators for 30 rows, so each serves several rows
    monkeypatch.setattr(kc, "_MAX_RNG_STATES", 7)
    diffusion = fitted_drf.diffusion_
    z = diffusion.base.sample(30, np.random.RandomState(0))
    network = diffusion.predictor.device_network()
    gpu = kc.map_device_chunks(
        lambda chunk, start, stop: _reverse_flow(kc.CudaSteps(network, stop - start, 123), z, diffusion.noise_angles, sampler),
        len(z),
    )
    kc._step_kernels()
    with kc._quiet():
        states = kc.create_xoroshiro128p_states(7, seed=123).copy_to_host()
    draws = _xoroshiro_normals(states, 30, z.shape[1], len(diffusion.noise_angles) - 1)
    cpu = _reverse_flow(CpuSteps(diffusion.predictor, _Draws(draws)), z.copy(), diffusion.noise_angles, sampler)
    _assert_close(gpu, cpu)


@needs_cuda
@pytest.mark.parametrize("sampler", ["ddpm", "euler_maruyama"])
def test_stochastic_samplers_agree_in_distribution(fitted_drf, sampler):
    n = 150
    gpu = _on(fitted_drf, "cuda", sampler=sampler).sample(n, random_state=4)
    cpu = _on(fitted_drf, "cpu").sample(20 * n, random_state=5)
    _on(fitted_drf, "cpu", sampler="heun")
    assert np.all(np.isfinite(gpu))
    for j in range(2):
        assert stats.ks_2samp(gpu[:, j], cpu[:, j]).pvalue > 1e-3
    # the energy distance to the CPU draws is no larger than that of another
    # CPU sample of the same size would typically be (permutation null)
    observed = energy_distance(gpu, cpu[:n])
    rng = np.random.default_rng(6)
    null = []
    for _ in range(40):
        pooled = rng.permutation(np.vstack([gpu, cpu[:n]]))
        null.append(energy_distance(pooled[:n], pooled[n:]))
    assert np.mean(np.array(null) >= observed) > 0.01


@needs_cuda
@pytest.mark.parametrize("levels", [dict(), dict(n_steps=6, noise_levels=3)], ids=["every level", "interpolated"])
def test_convex_relu_network_on_device(levels):
    # between trained levels the device sums both neighbours' units and the level's own linear map
    X = _data(120)
    model = ConvexTwoLayerScore(**{"n_gates": 4, "n_steps": 5, "max_iter": 300, "random_state": 0, **levels}).fit(X)
    cpu = model.score_samples(X[:20])
    cpu_sample = model.sample(20, random_state=1)
    model.set_params(device="cuda")
    _assert_close(model.score_samples(X[:20]), cpu)
    _assert_close(model.sample(20, random_state=1), cpu_sample)


@needs_cuda
def test_mixture_prior_passes_the_device_to_its_components():
    X = np.vstack([_data(100), _data(100, seed=2) + 6.0])
    make = lambda device: GaussianMixturePriorDiffusion(  # noqa: E731
        n_components=2, predictor=DiffusionRandomFeatures(n_features=16), n_steps=5, random_state=0, device=device
    ).fit(X)
    cpu, gpu = make("cpu"), make("cuda")
    assert all(m.device == "cuda" for m in gpu.component_models_ if m is not None)
    _assert_close(gpu.score_samples(X[:20]), cpu.score_samples(X[:20]))
    _assert_close(gpu.sample(20, random_state=2), cpu.sample(20, random_state=2))


# ---------------------------------------------------------- device choice
@pytest.fixture
def no_gpu(monkeypatch):
    """This process sees no usable GPU, whatever the machine has."""
    monkeypatch.setattr(kc, "_probe", lambda: (False, "numba.cuda finds no CUDA driver or GPU"))


def test_auto_without_gpu_is_the_cpu_silently(no_gpu):
    X = _data(200)
    cpu = DiffusionRandomFeatures(n_features=16, n_steps=5, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auto = DiffusionRandomFeatures(n_features=16, n_steps=5, random_state=0, device="auto").fit(X)
        assert not auto.diffusion_.uses_cuda("auto")
        np.testing.assert_array_equal(auto.score_samples(X[:10]), cpu.score_samples(X[:10]))
        np.testing.assert_array_equal(auto.sample(10), cpu.sample(10))
        np.testing.assert_array_equal(auto.score_function(X[:5]), cpu.score_function(X[:5]))


def test_cuda_without_gpu_raises(no_gpu):
    X = _data(100)
    with pytest.raises(ValueError, match="device='cuda' needs a usable CUDA GPU.*no CUDA driver"):
        DiffusionRandomFeatures(n_features=8, n_steps=3, device="cuda").fit(X)
    # a model fitted elsewhere (or switched afterwards) raises when predicting
    model = DiffusionRandomFeatures(n_features=8, n_steps=3, random_state=0).fit(X).set_params(device="cuda")
    for call in (lambda: model.sample(2), lambda: model.score_samples(X[:2]), lambda: model.score_function(X[:2])):
        with pytest.raises(ValueError, match="device='auto'"):
            call()


def test_too_many_model_columns_refused_before_training(monkeypatch):
    """More model columns than the fused kernel takes: refused by fit before training, and before sampling.

    The limit (2048) is lowered to 1 so that 2-column data exceed it; the device counts as usable.
    """
    monkeypatch.setattr(kc, "_probe", lambda: (True, ""))
    monkeypatch.setattr(kc, "MAX_DIMS", 1)
    X = _data(60)
    fitted = []
    monkeypatch.setattr(DiffusionRandomFeatures, "_fit_predictor", lambda *args: fitted.append(1))
    with pytest.raises(ValueError, match="at most 1 model columns .*got 2; use device='cpu' or 'auto'"):
        DiffusionRandomFeatures(n_features=8, n_steps=3, device="cuda").fit(X)
    assert not fitted
    monkeypatch.undo()
    model = DiffusionRandomFeatures(n_features=8, n_steps=3, random_state=0).fit(X).set_params(device="cuda")
    monkeypatch.setattr(kc, "_probe", lambda: (True, ""))
    monkeypatch.setattr(kc, "MAX_DIMS", 1)
    for call in (lambda: model.sample(2), lambda: model.score_samples(X[:2])):
        with pytest.raises(ValueError, match="at most 1 model columns"):
            call()


@pytest.mark.skipif(SIMULATOR, reason="the simulator counts as a usable device")
def test_probe_on_this_machine_never_raises():
    usable = kc.cuda_usable()
    assert isinstance(usable, bool)
    if not usable:  # the machine's own answer, without monkeypatching
        assert kc.cuda_unavailable_reason()
        with pytest.raises(ValueError, match="usable CUDA GPU"):
            DiffusionRandomFeatures(n_features=8, n_steps=3, device="cuda").fit(_data(50))


def test_models_without_cuda_kernels_say_so():
    X = _data(60)
    with pytest.raises(ValueError, match="not supported by GradientBoostedScore"):
        GradientBoostedScore(device="cuda").fit(X)
    with pytest.raises(ValueError, match="not supported by GaussianMixturePriorDiffusion"):
        GaussianMixturePriorDiffusion(predictor=GradientBoostedScore(), device="cuda").fit(X)
    with pytest.raises(ValueError, match="'device' parameter"):
        DiffusionRandomFeatures(device="gpu").fit(X)
    # gated units have no kernels: the message says which formulation has, also when set after fit
    with pytest.raises(ValueError, match="not supported by ConvexTwoLayerScore with these .*formulation='relu'"):
        ConvexTwoLayerScore(formulation="gated_relu", device="cuda").fit(X)
    gated = ConvexTwoLayerScore(formulation="gated_relu", n_gates=4, n_steps=4, max_iter=20).fit(X)
    with pytest.raises(ValueError, match="not supported by ConvexTwoLayerScore with these"):
        gated.set_params(device="cuda").sample(2)
