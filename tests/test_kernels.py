import numpy as np
import pytest

from skscore import _kernels


def test_sine_features_match_numpy():
    rng = np.random.default_rng(0)
    proj = rng.standard_normal((64, 33)) * 300
    bias, gate, weight = rng.standard_normal(33), rng.standard_normal(33), rng.standard_normal(33)
    expected = np.sin(proj + bias) * gate
    expected_trace = (np.cos(proj + bias) * gate * weight).sum(axis=1)
    out = proj.copy()
    _kernels.sine_features(out, bias, gate)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-11)
    out, cosines = proj.copy(), np.empty_like(proj)
    _kernels.sine_cosine_features(out, bias, gate, cosines)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-11)
    np.testing.assert_allclose(cosines @ weight, expected_trace, rtol=0, atol=1e-10)


def test_integrator_steps_match_their_formulas():
    rng = np.random.default_rng(1)
    z, eps, noise, v_prev = (rng.standard_normal((20, 3)) for _ in range(4))
    a, s, a2, s2, h = 0.6, 0.8, 0.8, 0.6, -0.2
    v, out = np.empty_like(z), np.empty_like(z)
    _kernels.velocity_euler(z, eps, a, s, z, h, v, out)
    np.testing.assert_allclose(v, (eps - s * z) / a)
    np.testing.assert_allclose(out, z + h * v)
    _kernels.velocity_heun(z, eps, a, s, z, v_prev, h, out)
    np.testing.assert_allclose(out, z + 0.5 * h * (v_prev + (eps - s * z) / a))
    _kernels.ddim_step(z, eps, a, s, a2, s2, out)
    np.testing.assert_allclose(out, a2 * (z - s * eps) / a + s2 * eps)
    _kernels.ancestral_step(z, eps, noise, a, s, a2, s2, out)
    r = a / a2
    c2 = s**2 - r**2 * s2**2
    mean = (r * s2**2 * z + a2 * c2 * (z - s * eps) / a) / s**2
    np.testing.assert_allclose(out, mean + np.sqrt(c2 * s2**2 / s**2) * noise)
    _kernels.euler_maruyama_step(z, eps, noise, a, s, a2, out)
    beta = 1 - r**2
    np.testing.assert_allclose(out, (1 + beta / 2) * z - beta * eps / s + np.sqrt(beta) * noise)


@pytest.mark.parametrize("flags", ["C", "F"])
def test_kernels_accept_any_layout_and_readonly_inputs(flags):
    rng = np.random.default_rng(2)
    z = np.asarray(rng.standard_normal((10, 4)), order=flags)
    eps = np.asarray(rng.standard_normal((10, 4)), order=flags)
    z.setflags(write=False)
    eps.setflags(write=False)
    out = np.empty((10, 4))
    _kernels.ddim_step(z, eps, 0.6, 0.8, 0.8, 0.6, out)
    np.testing.assert_allclose(out, 0.8 * (z - 0.8 * eps) / 0.6 + 0.6 * eps)
