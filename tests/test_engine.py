"""The engine alone, on known answers: an exact noise predictor run through the engine.

A Gaussian mixture stays one under the forward process, so its noise (score) is
known in closed form at every level; with it, every remaining error is
integration or likelihood error, not learning error.
"""

import numpy as np
import pytest
from _oracle import ExactMixtureScore
from scipy.stats import wasserstein_distance

from skscore._engine import SAMPLERS, Diffusion, GaussianBase, NoisePredictor
from skscore._schedules import SCHEDULES, noise_angles
from skscore.datasets import correlated_mixture_8d, mixture_2d
from skscore.metrics import sliced_wasserstein


@pytest.mark.parametrize("law_fn", [mixture_2d, correlated_mixture_8d], ids=["2d", "8d"])
def test_log_density_matches_truth(law_fn):
    law = law_fn()
    model = ExactMixtureScore(law, random_state=0).fit(law.sample(2000, random_state=0))
    X_test = law.sample(1000, random_state=1)
    err = model.score_samples(X_test) - law.logpdf(X_test)
    assert np.mean(np.abs(err)) < 0.02
    assert abs(np.mean(err)) < 0.02


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_gives_the_true_log_density(schedule):
    law = mixture_2d()
    model = ExactMixtureScore(law, schedule=schedule).fit(law.sample(500, random_state=0))
    X_test = law.sample(300, random_state=1)
    assert np.mean(np.abs(model.score_samples(X_test) - law.logpdf(X_test))) < 0.02


def _fresh_sample_distances(law, reference, n, seeds=range(4)):
    return [sliced_wasserstein(law.sample(n, random_state=100 + s), reference) for s in seeds]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samples_are_as_close_as_a_fresh_sample_2d(sampler):
    law = mixture_2d()
    reference = law.sample(20000, random_state=7)
    model = ExactMixtureScore(law, sampler=sampler, random_state=0).fit(law.sample(500, random_state=0))
    distance = sliced_wasserstein(model.sample(3000, random_state=3), reference)
    assert distance <= 1.25 * max(_fresh_sample_distances(law, reference, 3000))


def test_samples_are_as_close_as_a_fresh_sample_8d():
    law = correlated_mixture_8d()
    reference = law.sample(20000, random_state=7)
    model = ExactMixtureScore(law, random_state=0).fit(law.sample(500, random_state=0))
    distance = sliced_wasserstein(model.sample(1500, random_state=3), reference)
    assert distance <= 1.25 * max(_fresh_sample_distances(law, reference, 1500))


def test_density_integrates_to_one(grid_mass_fn):
    law = mixture_2d()
    model = ExactMixtureScore(law, n_steps=30).fit(law.sample(500, random_state=0))
    assert grid_mass_fn(model, (-6.0, -5.0), (5.0, 5.0), 110) == pytest.approx(1.0, abs=0.01)


def test_standardization_jacobian_is_included():
    law = mixture_2d()
    scale, shift = np.array([1000.0, 0.01]), np.array([5.0, -3.0])
    moved = law.affine(scale, shift)
    X_test = moved.sample(300, random_state=1)
    for preprocessing in ("standard", None):
        if preprocessing is None:
            # without standardization the model works in the data's own units
            moved_small = law.affine(np.array([2.0, 0.5]), shift)
            model = ExactMixtureScore(moved_small, preprocessing=None).fit(moved_small.sample(500, random_state=0))
            X_small = moved_small.sample(300, random_state=1)
            err = model.score_samples(X_small) - moved_small.logpdf(X_small)
        else:
            model = ExactMixtureScore(moved, preprocessing=preprocessing).fit(moved.sample(500, random_state=0))
            err = model.score_samples(X_test) - moved.logpdf(X_test)
        assert np.mean(np.abs(err)) < 0.02


def test_finite_difference_divergence_matches_closed_form():
    law = correlated_mixture_8d()
    model = ExactMixtureScore(law).fit(law.sample(300, random_state=0))
    z = model._standardize(law.sample(50, random_state=1))
    predictor = model.diffusion_.predictor
    for level in (0, 20, 49):
        eps, div = predictor.predict_with_divergence(z, level)
        eps_fd, div_fd = NoisePredictor.predict_with_divergence(predictor, z, level)
        np.testing.assert_allclose(eps_fd, eps)
        np.testing.assert_allclose(div_fd, div, rtol=1e-5, atol=1e-5)


def test_score_function_is_the_true_score():
    law = mixture_2d()
    model = ExactMixtureScore(law).fit(law.sample(500, random_state=0))
    X = law.sample(200, random_state=1)
    smallest = model.noise_angles_[0]
    noised = law.affine(1.0 / model.scale_, -model.shift_ / model.scale_).noised(np.cos(smallest), np.sin(smallest))
    expected = noised.score(model._standardize(X)) / model.scale_
    np.testing.assert_allclose(model.score_function(X), expected, rtol=1e-10)
    assert model.score_function(X, t=1.0).shape == X.shape
    with pytest.raises(ValueError, match="t must"):
        model.score_function(X, t=2.0)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_are_increasing_angle_grids(schedule):
    angles = noise_angles(schedule, 40)
    assert angles.shape == (40,)
    assert np.all(np.diff(angles) > 0)
    assert 0 < angles[0] < 0.1 and np.cos(angles[-1]) <= 0.011


@pytest.mark.parametrize("sampler", ["heun", "ddim"])
def test_a_terminal_level_gives_the_law_blurred_by_its_noise(sampler):
    # stopped at level j, the model's rows are its rows there divided by
    # cos(u_j): the data plus Gaussian noise of standard deviation tan(u_j),
    # for a Gaussian mixture another known mixture
    law = mixture_2d()
    model = ExactMixtureScore(law, sampler=sampler, preprocessing=None, random_state=0)
    model.fit(law.sample(500, random_state=0))
    model.diffusion_.terminal_level = 8
    blurred = law.noised(1.0, model.diffusion_.terminal_noise)
    assert model.diffusion_.terminal_noise == pytest.approx(np.tan(model.diffusion_.noise_angles[8]))
    X_test = blurred.sample(1000, random_state=1)
    assert np.mean(np.abs(model.score_samples(X_test) - blurred.logpdf(X_test))) < 0.02
    reference = blurred.sample(20000, random_state=7)
    fresh = max(_fresh_sample_distances(blurred, reference, 3000))
    assert sliced_wasserstein(model.sample(3000, random_state=3), reference) <= 1.25 * fresh
    # the blur is there: the law itself is far from the blurred one
    assert np.mean(np.abs(law.logpdf(X_test) - blurred.logpdf(X_test))) > 0.1


def test_the_terminal_level_chosen_by_held_out_likelihood_is_the_rows_blur():
    law = mixture_2d()
    model = ExactMixtureScore(law, preprocessing=None).fit(law.sample(500, random_state=0))
    diffusion = model.diffusion_
    for level in (9, 14):  # noises 0.33 and 0.52
        rows = law.noised(1.0, np.tan(diffusion.noise_angles[level])).sample(2000, random_state=level)
        assert abs(diffusion.best_terminal_level(rows, max_noise=0.8) - level) <= 1
        assert diffusion.terminal_level is None  # left as it was
    # rows of the law itself: the flow to the data, or a level of negligible noise
    for seed in (1, 5):
        level = diffusion.best_terminal_level(law.sample(2000, random_state=seed), max_noise=0.8)
        assert level is None or np.tan(diffusion.noise_angles[level]) < 0.1


def test_the_diffusion_read_from_its_terminal_level_is_the_same_law():
    # a diffusion of the blurred rows, on the levels above the terminal one:
    # its density and its conditional draws are those of the blurred law
    law = mixture_2d()
    model = ExactMixtureScore(law, preprocessing=None, random_state=0).fit(law.sample(500, random_state=0))
    model.diffusion_.terminal_level = 14
    blurred = law.noised(1.0, model.diffusion_.terminal_noise)
    view = model.diffusion_.from_terminal_level()
    assert view.terminal_level is None and view.n_levels == model.diffusion_.n_levels - 15
    X_test = blurred.sample(1000, random_state=1)
    assert np.mean(np.abs(view.log_density(X_test) - blurred.logpdf(X_test))) < 0.02
    # conditional draws given the first column, against the blurred law's exact ones
    queries = np.full((2000, 2), np.nan)
    queries[:, 0] = np.repeat([-1.0, 1.0], 1000)
    draws = model.impute(queries, random_state=0)
    np.testing.assert_array_equal(draws[:, 0], queries[:, 0])
    exact, again, sharp = (
        blurred.sample_conditional(queries, random_state=1),
        blurred.sample_conditional(queries, random_state=2),
        law.sample_conditional(queries, random_state=1),
    )
    for part in (slice(0, 1000), slice(1000, 2000)):
        floor = wasserstein_distance(again[part, 1], exact[part, 1])
        assert wasserstein_distance(draws[part, 1], exact[part, 1]) < 2 * floor + 0.02
    # the blur shows in the conditional law: the sharp one is further
    first = slice(0, 1000)
    floor = wasserstein_distance(again[first, 1], exact[first, 1])
    assert wasserstein_distance(sharp[first, 1], exact[first, 1]) > 3 * floor


def test_a_level_replaces_the_flow_only_on_a_gain_beyond_its_standard_error(monkeypatch):
    # held-out rows scored under each level by hand: level 0 gains on average
    # only through one row far out (most rows lose), level 1 gains a little on
    # every row, level 2 more on average but as unevenly as level 0
    diffusion = Diffusion(np.array([0.1, 0.2, 0.3, 1.5]), GaussianBase(np.zeros(1), np.eye(1)))
    rng = np.random.default_rng(0)
    scores = {None: np.zeros(50), 0: np.r_[np.full(49, -1.0), 100.0], 1: 0.3 + 0.01 * rng.standard_normal(50)}
    scores[2] = np.r_[np.full(49, -1.0), 200.0]
    monkeypatch.setattr(diffusion, "_log_density_at", lambda Z, j, n_jobs=None: scores[j])
    assert diffusion.best_terminal_level(np.zeros((50, 1))) == 1  # the argmax of the means would be 2
    scores[1] = np.full(50, -2.0)
    assert diffusion.best_terminal_level(np.zeros((50, 1))) is None  # the argmax would be 2
