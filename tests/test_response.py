"""skscore.response: response theory from a learned score.

Known answers: the Ornstein-Uhlenbeck response exp(-A tau), and for the
bimodal double-well chain the perturbed-ensemble ground truth.  Series are
simulated with the Numba kernels; models are small so that the file stays
fast on a 2-core machine.
"""

import numba
import numpy as np
import pytest

from skscore import DiffusionRandomFeatures
from skscore.response import (
    decorrelation_steps,
    forced_response,
    gaussian_response,
    observable_response,
    score_response,
)
from skscore.response._covariance import _lagged_covariance
from skscore.response.systems import DoubleWellChain, OrnsteinUhlenbeck, perturbation_response

DT = 0.1
OU = {
    2: OrnsteinUhlenbeck([[1.0, 0.6], [-0.4, 0.7]], [[1.0, 0.0], [0.5, 0.8]]),
    4: OrnsteinUhlenbeck(
        [[1.0, 0.1, 0.3, 0.7], [0.6, 0.7, 0.3, 0.0], [0.0, 0.1, 1.5, 0.4], [0.2, 0.0, 0.1, 2.1]],
        [[1.6, -0.1, 0.1, -0.3], [-1.0, 1.3, 0.3, -0.3], [0.9, -0.6, 1.0, -0.1], [0.6, 0.6, 0.1, 1.2]],
    ),
}


def relative_l2(R, truth):
    return float(np.linalg.norm(R - truth) / np.linalg.norm(truth))


class ExactScore:
    """A bare object with a score_function: the estimator-agnostic path."""

    def __init__(self, score):
        self.score = score

    def score_function(self, X):
        return self.score(X)


def mixture_model(**params):
    from skscore.mixture_prior import GaussianMixturePriorDiffusion

    return GaussianMixturePriorDiffusion(random_state=0, **params)


@pytest.fixture(scope="module", params=[2, 4])
def ou_case(request):
    """Lags up to 3 / lambda_min; T = 20,000 (2-D) and 4 x 15,000 (4-D, a list of trajectories) time units."""
    d = request.param
    ou = OU[d]
    lam = np.linalg.eigvals(ou.drift_matrix).real.min()
    lags = int(np.ceil(3 / lam / DT))
    X = (
        ou.simulate(200_000, DT, random_state=0)
        if d == 2
        else list(ou.simulate(150_000, DT, n_trajectories=4, random_state=0))
    )
    return ou, X, lags, ou.response(np.arange(lags + 1) * DT)


@pytest.fixture(scope="module")
def chain_case():
    chain = DoubleWellChain(4, coupling=0.5, noise=0.7, burn_in=50.0)
    X = chain.simulate(100_000, DT, random_state=1)
    lags = 40
    truth, se = perturbation_response(chain, lags, DT, n_members=2000, random_state=2)
    return chain, X, lags, truth, se


# ------------------------------------------------------------------ machinery
def test_columns_in_very_different_units_are_not_singular():
    # pressure in pascals next to a humidity fraction: the covariance's
    # condition number is 2e16, its correlation's 1.3; R_ij scales as D_i / D_j
    ou = OrnsteinUhlenbeck([[1.0, 0.5], [0.0, 2.0]])
    X = ou.simulate(5000, 0.1, random_state=0)
    D = np.array([1e5, 1e-3])
    rescale = np.outer(D, 1 / D)
    np.testing.assert_allclose(gaussian_response(X * D, 5, dt=0.1).response / rescale,
                               gaussian_response(X, 5, dt=0.1).response, atol=1e-12)
    exact = score_response(X, 5, ExactScore(ou.score), dt=0.1).response
    scaled = score_response(X * D, 5, ExactScore(lambda Y: ou.score(Y / D) / D), dt=0.1).response
    np.testing.assert_allclose(scaled / rescale, exact, atol=1e-12)
    collinear = np.column_stack([X[:, 0] * 1e5, X[:, 0] * 1e-3 * 2.0])
    with pytest.raises(ValueError, match="singular"):
        gaussian_response(collinear, 5, dt=0.1)


def test_fft_lagged_covariance_matches_direct_sums():
    rng = np.random.default_rng(0)
    As = [rng.standard_normal((n, 3)) for n in (500, 333)]
    Bs = [rng.standard_normal((n, 2)) for n in (500, 333)]
    lags = np.array([0, 1, 5, 40])
    mA, mB = np.concatenate(As).mean(0), np.concatenate(Bs).mean(0)
    direct = np.array(
        [
            sum((A[k:] - mA).T @ (B[: len(B) - k] - mB) for A, B in zip(As, Bs)) / sum(len(A) - k for A in As)
            for k in lags
        ]
    )
    for block_length in (None, 7, 64, 1000):
        estimate, _ = _lagged_covariance(As, Bs, lags, block_length=block_length)
        np.testing.assert_allclose(estimate, direct, rtol=0, atol=1e-13)


def test_exact_score_gives_the_analytic_response_and_gaussian_matches_its_definition():
    ou = OU[2]
    X = ou.simulate(100_000, DT, random_state=3)
    truth = ou.response(np.arange(31) * DT)
    exact = ExactScore(ou.score)
    result = score_response(X, 30, exact, dt=DT)
    assert result.response.shape == (31, 2, 2)
    np.testing.assert_allclose(result.times, np.arange(31) * DT)
    assert result.estimator is exact and result.snapshot_stride is None
    assert relative_l2(result.response, truth) < 0.06
    np.testing.assert_allclose(result.response_at_zero, np.eye(2), atol=0.03)
    # the Gaussian response is the score response with the data's Gaussian score
    mu, C = X.mean(axis=0), np.cov(X.T, bias=True)
    gaussian_score = ExactScore(lambda Y: -np.linalg.solve(C, (Y - mu).T).T)
    np.testing.assert_allclose(
        gaussian_response(X, 30, dt=DT).response, score_response(X, 30, gaussian_score).response, atol=1e-10
    )
    # a subset of lags, without 0, is the same numbers
    some = score_response(X, [3, 7, 30], ExactScore(ou.score), dt=DT)
    np.testing.assert_allclose(some.response, result.response[[3, 7, 30]], atol=1e-12)
    np.testing.assert_allclose(some.response_at_zero, result.response_at_zero)


def test_normalize_forces_identity_and_raw_zero_lag_is_reported():
    ou = OU[2]
    X = ou.simulate(50_000, DT, random_state=4)
    doubled = ExactScore(lambda Y: 2.0 * ou.score(Y))  # a score with the wrong scale
    raw = score_response(X, 20, doubled, correction=None)
    normalized = score_response(X, 20, doubled, correction=None, normalize=True)
    exact_zero = score_response(X, 0, ExactScore(ou.score), correction=None).response_at_zero
    np.testing.assert_allclose(exact_zero, np.eye(2), atol=0.15)
    np.testing.assert_allclose(raw.response_at_zero, 2 * exact_zero, rtol=1e-12)
    np.testing.assert_allclose(normalized.response_at_zero, raw.response_at_zero)
    np.testing.assert_allclose(normalized.response[0], np.eye(2), atol=1e-12)
    np.testing.assert_allclose(normalized.response, raw.response @ np.linalg.inv(raw.response[0]), atol=1e-12)
    truth = ou.response(np.arange(21) * DT)
    assert relative_l2(raw.response, truth) > 0.8 and relative_l2(normalized.response, truth) < 0.08


def test_stein_correction_removes_any_affine_error_and_keeps_the_nonlinear_part():
    ou = OU[2]
    X = ou.simulate(100_000, DT, random_state=5)
    truth = ou.response(np.arange(31) * DT)
    wrong = np.array([[1.7, 0.4], [-0.3, 0.6]])
    # wrong affine part plus a nonlinear error: the raw response is far off
    bad = ExactScore(lambda Y: ou.score(Y) @ wrong + 0.3 + 0.2 * np.sin(3 * Y[:, ::-1]))
    raw = score_response(X, 30, bad, dt=DT, correction=None)
    fixed = score_response(X, 30, bad, dt=DT, correction="stein")
    assert relative_l2(raw.response, truth) > 0.3
    np.testing.assert_allclose(fixed.response[0], np.eye(2), atol=1e-10)  # by construction
    assert relative_l2(fixed.response, truth) < 0.06  # exact for a linear system
    # the nonlinear part is kept: on the chain it changes the answer
    chain = DoubleWellChain(2, burn_in=10.0)
    Y = chain.simulate(20_000, DT, random_state=0)
    cubic = ExactScore(lambda Z: Z - Z**3)
    with_nl = score_response(Y, 10, cubic, correction="stein").response
    assert relative_l2(with_nl, gaussian_response(Y, 10).response) > 0.05


def test_bootstrap_standard_errors_match_the_spread_over_independent_series():
    ou = OU[2]
    score = ExactScore(ou.score)
    runs = ou.simulate(20_000, DT, n_trajectories=12, random_state=6)
    estimates = np.array([score_response(T, 20, score, correction=None).response for T in runs])
    spread = estimates.std(axis=0, ddof=1)
    result = score_response(runs[0], 20, score, correction=None, n_bootstrap=200, random_state=0)
    assert result.standard_error.shape == result.response.shape
    ratio = np.median(result.standard_error[1:] / spread[1:])
    assert 0.5 < ratio < 2.0, ratio
    again = score_response(runs[0], 20, score, correction=None, n_bootstrap=200, random_state=0)
    np.testing.assert_array_equal(again.standard_error, result.standard_error)
    g = gaussian_response(runs[0], 20, n_bootstrap=50, random_state=0)
    assert g.standard_error.shape == (21, 2, 2) and np.all(g.standard_error[1:] > 0)


def test_decorrelation_time_and_unfitted_estimator_fitted_on_snapshots():
    X = OrnsteinUhlenbeck([[1.0]]).simulate(50_000, DT, random_state=0)
    assert decorrelation_steps(X) in (9, 10, 11)  # exp(-t) crosses 1/e at t = 1
    model = DiffusionRandomFeatures(n_features=32, n_steps=10, random_state=0)
    result = score_response(X, 5, model, dt=DT, score_time=None, correction=None)
    assert result.snapshot_stride == decorrelation_steps(X)  # 5,000 decorrelated snapshots
    assert not hasattr(model, "theta2_")  # cloned, not fitted in place
    fitted = result.estimator
    assert fitted.n_features_in_ == 1
    again = score_response(X, 5, fitted, dt=DT, score_time=None, correction=None)
    np.testing.assert_array_equal(again.response, result.response)
    short = score_response(X[:5000], 5, model, score_time=None, correction=None)
    assert short.snapshot_stride == 2  # fewer than 2,000 decorrelation times: at least 2,000 snapshots


def test_auto_score_time_picks_the_level_with_the_smallest_score_matching_loss():
    ou = OU[2]
    X = ou.simulate(50_000, DT, random_state=7)
    model = DiffusionRandomFeatures(n_features=64, n_steps=12, random_state=0).fit(X[::10])
    result = score_response(X, 10, model, correction=None)  # score_time='auto'
    sel = result.score_time_selection
    assert result.score_time == sel.times[np.argmin(sel.losses)] and np.all(sel.times <= 0.5)
    # the chosen level is (close to) the one nearest to the true score in Fisher divergence
    fisher = [np.mean(np.sum((model.score_function(X[:5000], t) - ou.score(X[:5000])) ** 2, 1)) for t in sel.times]
    chosen = fisher[int(np.argmin(sel.losses))]
    assert chosen < 1.5 * min(fisher) and chosen < 0.5 * fisher[0]
    # a score without levels has nothing to choose from
    plain = score_response(X, 10, ExactScore(ou.score))
    assert plain.score_time is None and plain.score_time_selection is None


# ----------------------------------------------------------- known answers
@pytest.mark.parametrize("model", ["mixture_prior", "random_features"])
def test_ou_score_response_matches_exp_minus_A_tau(ou_case, model):
    """Must hold: within 10 % relative L2 over lags up to 3 / lambda_min, no normalization."""
    ou, X, lags, truth = ou_case
    snapshots = np.concatenate(X if isinstance(X, list) else [X])[::100]
    if model == "mixture_prior":
        # the model's own score, raw: the paper's estimator at the smallest level
        est = mixture_model(n_components=1, n_steps=10).fit(snapshots)
        result = score_response(X, lags, est, dt=DT, correction=None, score_time=None)
        np.testing.assert_allclose(result.response_at_zero, np.eye(ou.n_dims), atol=0.08)
    else:
        # denoising score matching is inaccurate at small noise: defaults (Stein correction, selected level)
        est = DiffusionRandomFeatures(n_features=64, n_steps=16, random_state=0).fit(snapshots)
        result = score_response(X, lags, est, dt=DT)
    assert relative_l2(result.response, truth) < 0.10
    assert relative_l2(gaussian_response(X, lags, dt=DT).response, truth) < 0.10


def test_ensemble_ground_truth_is_exact_on_ou():
    ou = OU[4]
    R, se = perturbation_response(ou, 30, DT, n_members=50, random_state=0)
    np.testing.assert_allclose(R, ou.response(np.arange(31) * DT), atol=1e-9)
    assert np.all(se < 1e-9)  # identical noise: the difference is deterministic for a linear system


def test_chain_score_response_beats_the_gaussian_one(chain_case):
    """Must hold: on bimodal marginals the score response is closer to the ensemble truth."""
    _, X, lags, truth, se = chain_case
    assert np.linalg.norm(se) < 0.05 * np.linalg.norm(truth)  # the truth is resolved
    gaussian_error = relative_l2(gaussian_response(X, lags, dt=DT).response, truth)
    assert gaussian_error > 0.4
    # 1,000 snapshots; defaults: Stein correction, level selected by the score-matching loss
    model = DiffusionRandomFeatures(n_features=128, n_steps=20, random_state=0)
    result = score_response(X, lags, model, dt=DT, snapshot_stride=100)
    assert relative_l2(result.response, truth) < 0.5 * gaussian_error
    mixture = mixture_model(n_components=4, n_steps=10, predictor=DiffusionRandomFeatures(64))
    result = score_response(X, lags, mixture, dt=DT, snapshot_stride=100)
    assert relative_l2(result.response, truth) < 0.5 * gaussian_error


# ------------------------------------------------------ observables, forcing
def test_observable_response_generalizes_the_matrix_and_forced_response_integrates_it():
    ou = OU[2]
    X = ou.simulate(50_000, DT, random_state=8)
    score = ExactScore(ou.score)
    R = score_response(X, 60, score, dt=DT, correction=None)
    col = observable_response(X, 60, None, [0.0, 1.0], score, dt=DT, correction=None)
    np.testing.assert_allclose(col.response, R.response[:, :, 1], atol=1e-12)

    # a state-dependent forcing: finite-difference divergence = the exact one
    def u(Y):
        return np.column_stack([np.sin(Y[:, 1]), Y[:, 0] * Y[:, 1]])

    def div_u(Y):
        return Y[:, 0]

    def A(Y):
        return Y[:, 0] ** 2

    fd = observable_response(X, 10, A, u, score, correction=None)
    exact = observable_response(X, 10, A, u, score, forcing_divergence=div_u, correction=None)
    np.testing.assert_allclose(fd.response, exact.response, atol=1e-6)
    # a forcing that returns its input (u(x) = x): its difference quotients once compared the
    # same array, shifted in place, and gave the divergence 0 (exact: 2)
    identity = observable_response(X, 10, A, lambda Y: Y, score, correction=None).response
    copied = observable_response(X, 10, A, lambda Y: Y.copy(), score, correction=None).response
    np.testing.assert_array_equal(identity, copied)
    from skscore.response._observable_response import _forcing_terms

    np.testing.assert_allclose(_forcing_terms(lambda Y: Y, None, X[:5])[1], 2.0, rtol=1e-8)
    # R_A(0) = < u . grad A > in theory
    np.testing.assert_allclose(exact.response_at_zero, np.mean(u(X)[:, 0] * 2 * X[:, 0]), atol=0.05)

    # a constant push f = 1 on x_1 from t = 0: the causal sum dt sum_{l <= n} R(l dt) e_1 ...
    forcing = np.zeros((400, 2))
    forcing[:, 0] = 1.0
    truth = ou.response(np.arange(61) * DT)
    exact_sum = DT * np.cumsum(truth[:, :, 0], axis=0)
    on_truth = forced_response(truth, forcing, dt=DT)
    np.testing.assert_allclose(on_truth[:61], exact_sum, atol=1e-12)
    np.testing.assert_allclose(on_truth[61:], np.broadcast_to(exact_sum[-1], (339, 2)), atol=1e-12)
    # ... close to the integral A^{-1} (I - exp(-A t)) e_1, and the estimate close to both
    t = np.arange(400) * DT
    # (the sum is a midpoint rule on [-dt / 2, t_n + dt / 2]; R is cut after lag 60)
    integral = np.array(
        [np.linalg.solve(ou.drift_matrix, (np.eye(2) - M) @ [1.0, 0.0]) for M in ou.response(t + DT / 2)]
    )
    midpoint = on_truth - DT / 2 * np.array([1.0, 0.0])  # the half cell before t = 0
    assert np.abs(midpoint[:61] - integral[:61]).max() < 0.01 and np.abs(midpoint - integral).max() < 0.02
    delta = forced_response(R, forcing)  # dt taken from the result
    assert delta.shape == (400, 2) and np.abs(delta - on_truth).max() < 0.1
    np.testing.assert_allclose(forced_response(col, forcing[:, 0]), forced_response(R, forcing[:, ::-1]), atol=1e-12)


# ---------------------------------------------------------------- simulators
def test_simulations_depend_on_the_seed_only():
    chain = DoubleWellChain(3, burn_in=1.0)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = chain.simulate(200, DT, n_trajectories=3, random_state=0)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = chain.simulate(200, DT, n_trajectories=3, random_state=0)
    finally:
        numba.set_num_threads(previous)
    np.testing.assert_array_equal(one, two)
    assert one.shape == (3, 200, 3) and chain.simulate(10, DT, random_state=0).shape == (10, 3)
    assert not np.allclose(one, chain.simulate(200, DT, n_trajectories=3, random_state=1))
    # OU: the sample covariance is the Lyapunov solution
    ou = OU[2]
    X = ou.simulate(100_000, DT, random_state=0)
    np.testing.assert_allclose(np.cov(X.T), ou.covariance, atol=0.1)


# ---------------------------------------------------------------- bad input
def test_bad_input_raises_clear_errors():
    ou = OU[2]
    X = ou.simulate(300, DT, random_state=0)
    score = ExactScore(ou.score)
    with pytest.raises(ValueError, match="not more than the largest lag"):
        score_response(X[:50], 50, score)
    with pytest.raises(ValueError, match="not more than the largest lag"):
        gaussian_response([X, X[:10]], 20)
    bad = X.copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        score_response(bad, 5, score)
    with pytest.raises(ValueError, match="NaN"):
        gaussian_response([X, bad], 5)
    with pytest.raises(ValueError, match="same number of columns"):
        score_response([X, X[:, :1]], 5, score)
    with pytest.raises(ValueError, match="2-D"):
        gaussian_response(X[:, 0], 5)
    for lags in (-1, [3, 1], [0.5, 1.0], [[1, 2]], 2.0):
        with pytest.raises(ValueError, match="lags"):
            gaussian_response(X, lags)
    with pytest.raises(ValueError, match="dt"):
        gaussian_response(X, 5, dt=0.0)
    with pytest.raises(ValueError, match="score_function"):
        score_response(X, 5, object())
    with pytest.raises(ValueError, match="fitted on 1 columns"):
        score_response(X, 5, DiffusionRandomFeatures(n_features=8, n_steps=4).fit(X[:, :1]))
    with pytest.raises(ValueError, match="NaN or infinity"):
        score_response(X, 5, ExactScore(lambda Y: np.full_like(Y, np.nan)))
    with pytest.raises(ValueError, match="shape"):
        score_response(X, 5, ExactScore(lambda Y: Y[:, :1]))
    for kwargs, name in (
        ({"n_bootstrap": 1}, "n_bootstrap"),
        ({"correction": "affine"}, "correction"),
        ({"score_time": 2.0}, "score_time"),
        ({"normalize": "yes"}, "normalize"),
        ({"block_length": 0}, "block_length"),
    ):
        with pytest.raises(ValueError, match=name):
            score_response(X, 5, score, **kwargs)
    constant = X.copy()
    constant[:, 1] = 1.0
    with pytest.raises(ValueError, match="singular"):
        gaussian_response(constant, 5)
    with pytest.raises(ValueError, match="singular"):
        score_response(constant, 5, score)
    with pytest.raises(ValueError, match="accepts t"):
        score_response(X, 5, score, score_time=0.1)
    with pytest.raises(ValueError, match="forcing"):
        observable_response(X, 5, None, [1.0, 2.0, 3.0], score)
    with pytest.raises(ValueError, match="every lag"):
        forced_response(score_response(X, [0, 2], score), np.ones(5))
    with pytest.raises(ValueError, match="forcing of shape"):
        forced_response(np.zeros((5, 2, 2)), np.ones(5), dt=0.1)
    # systems
    with pytest.raises(ValueError, match="positive real parts"):
        OrnsteinUhlenbeck([[-1.0]])
    with pytest.raises(ValueError, match="noise"):
        OrnsteinUhlenbeck(np.eye(2), np.eye(3))
    with pytest.raises(ValueError, match="noise"):
        DoubleWellChain(noise=0.0)
    with pytest.raises(ValueError, match="n_members"):
        perturbation_response(ou, 5, DT, n_members=1)
    with pytest.raises(ValueError, match="system"):
        perturbation_response("ou", 5, DT)


def test_edge_cases_found_by_an_audit():
    """Lags near the series length keep a finite bootstrap error; nearly collinear columns are refused."""
    X = OU[2].simulate(1000, DT, random_state=0)
    # a lag of 995 of 1000 steps: only the first blocks hold its pairs, most replicates draw none
    result = gaussian_response(X, [0, 10, 995], n_bootstrap=30, block_length=10, random_state=0)
    assert np.all(np.isfinite(result.standard_error)) and np.all(result.standard_error[-1] > 0)
    nearly = np.column_stack([X, X[:, 0] + X[:, 1] + 1e-13 * X[:, 0] ** 2])
    with pytest.raises(ValueError, match="collinear"):
        gaussian_response(nearly, 3)
    with pytest.raises(ValueError, match="collinear"):
        score_response(nearly, 3, ExactScore(lambda Y: -Y))
    assert decorrelation_steps(np.ones((100, 2))) == 1
    with pytest.raises(ValueError, match="n_jobs must be None or a non-zero integer"):
        gaussian_response(X, 3, n_jobs="a")
    with pytest.raises(ValueError, match="lag 0 alone holds no time step: pass dt"):
        forced_response(gaussian_response(X, 0), np.ones(5))
