"""GaussianMixturePriorDiffusion: estimator contract, reduction, known answers, baselines."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KernelDensity
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skscore import DiffusionRandomFeatures, GaussianMixturePriorDiffusion, GradientBoostedScore
from skscore.datasets import (
    GaussianMixtureLaw,
    circle_mixture_2d,
    correlated_mixture_8d,
    load_dataset,
    make_moons,
    mixture_2d,
)
from skscore.metrics import sliced_wasserstein

# small shapes; one thread, so that the many small component fits stay fast
SMALL = dict(n_components=2, n_steps=8, predictor=DiffusionRandomFeatures(n_features=32), n_jobs=1)


@pytest.fixture(scope="module")
def small_model(data_2d):
    # 3 components of ~200 rows; without validation every component keeps
    # its diffusion (the data are a Gaussian mixture: it would keep the Gaussians)
    params = {**SMALL, "n_components": 3, "validation_fraction": None}
    return GaussianMixturePriorDiffusion(**params, random_state=0).fit(data_2d)


def test_pipeline_and_grid_search_select_n_components_by_likelihood():
    X = circle_mixture_2d().sample(480, random_state=0)
    model = GaussianMixturePriorDiffusion(
        n_steps=8, predictor=DiffusionRandomFeatures(n_features=16), n_jobs=1, random_state=0
    )
    pipe = Pipeline([("scale", StandardScaler()), ("model", model)])
    search = GridSearchCV(pipe, {"model__n_components": [1, 8]}, cv=3).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and scores[1] > scores[0] + 1.0
    assert search.best_params_ == {"model__n_components": 8}
    assert search.best_estimator_[-1].n_components_ == 8
    assert np.all(np.isfinite(search.best_estimator_.score_samples(X[:10])))


def test_clone_and_pickle_reproduce_samples_and_scores(small_model, data_2d):
    assert all(model is not None for model in small_model.component_models_)
    refit = clone(small_model).fit(data_2d)
    np.testing.assert_array_equal(refit.sample(50, random_state=1), small_model.sample(50, random_state=1))
    np.testing.assert_array_equal(refit.score_samples(data_2d[:50]), small_model.score_samples(data_2d[:50]))

    restored = pickle.loads(pickle.dumps(small_model))
    np.testing.assert_array_equal(restored.score_samples(data_2d[:50]), small_model.score_samples(data_2d[:50]))
    np.testing.assert_array_equal(restored.sample(20), small_model.sample(20))
    # unseeded calls give fresh draws, seeded ones repeat
    assert not np.allclose(small_model.sample(10), small_model.sample(10))
    other = clone(small_model).set_params(random_state=1).fit(data_2d)
    assert not np.allclose(other.score_samples(data_2d[:20]), small_model.score_samples(data_2d[:20]))


def test_density_integrates_to_one(grid_mass_fn):
    # no validation trial: every component keeps its diffusion, so the grid
    # integrates the mixture of probability flows, not a plain mixture
    X = make_moons(1000, random_state=0)
    model = GaussianMixturePriorDiffusion(n_components=4, validation_fraction=None, random_state=0, n_jobs=1).fit(X)
    assert all(m is not None for m in model.component_models_)
    assert grid_mass_fn(model, (-2.0, -1.5), (3.0, 2.0), 160) == pytest.approx(1.0, abs=0.02)


def test_one_identity_component_is_the_standard_prior_model(data_2d):
    # the component's diffusion is the first draw from the seed and the
    # validation trial comes after it, so the default validation_fraction
    # does not change the kept diffusion; the Gaussian fallback would
    # (validation_gain_ > 0 checks that the diffusion was kept)
    predictor = DiffusionRandomFeatures(n_features=64, n_steps=16, random_state=0, n_jobs=1)
    standard = clone(predictor).fit(data_2d)
    X_test = mixture_2d().sample(200, random_state=1)
    for validation_fraction in (0.2, None):
        model = GaussianMixturePriorDiffusion(
            1,
            prior_covariance="identity",
            predictor=DiffusionRandomFeatures(n_features=64),
            validation_fraction=validation_fraction,
            n_steps=16,
            random_state=0,
            n_jobs=1,
        ).fit(data_2d)
        assert model.component_models_[0] is not None
        assert validation_fraction is None or model.validation_gain_[0] > 0
        np.testing.assert_allclose(model.component_models_[0].theta2_, standard.theta2_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(model.score_samples(X_test), standard.score_samples(X_test), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(model.sample(100, random_state=3), standard.sample(100, random_state=3), atol=1e-9)
        np.testing.assert_allclose(model.reverse_effort_, model.reverse_effort_standard_, rtol=1e-9)


@pytest.mark.parametrize("prior_covariance", ["full", "identity"])
def test_circle_mixture_small_budget_beats_the_standard_prior(prior_covariance):
    # the paper's claim, measured: 200 rows, 16 random features, 16 levels
    law = circle_mixture_2d()
    X = law.sample(200, random_state=100)
    X_test = law.sample(2000, random_state=200)
    reference = law.sample(20000, random_state=300)
    budget = dict(n_steps=16, random_state=0, n_jobs=1)
    standard = DiffusionRandomFeatures(n_features=16, **budget).fit(X)
    ours = GaussianMixturePriorDiffusion(
        8, prior_covariance=prior_covariance, predictor=DiffusionRandomFeatures(n_features=16), **budget
    ).fit(X)
    assert ours.score(X_test) > standard.score(X_test) + 0.5
    sw_ours = sliced_wasserstein(ours.sample(2000, random_state=1), reference)
    sw_standard = sliced_wasserstein(standard.sample(2000, random_state=1), reference)
    assert sw_ours < 0.95 * sw_standard
    assert ours.reverse_effort_ < 0.8 * ours.reverse_effort_standard_


def test_known_answer_8d_four_full_components():
    law = correlated_mixture_8d()
    X = law.sample(5000, random_state=100)
    X_test = law.sample(4000, random_state=200)
    reference = law.sample(20000, random_state=300)
    model = GaussianMixturePriorDiffusion(4, prior_covariance="full", n_steps=16, random_state=0, n_jobs=1).fit(X)
    gap = law.logpdf(X_test).mean() - model.score(X_test)
    assert abs(gap) < 0.1

    scaler = StandardScaler().fit(X)
    # bandwidths a factor 2 apart (the 25-point grid of bench_known_answers.py picks 0.42)
    search = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1.2, 0.3, 6)}, cv=3)
    kde = search.fit(scaler.transform(X)).best_estimator_
    theirs = sliced_wasserstein(kde.sample(4000, random_state=1), scaler.transform(reference))
    ours = sliced_wasserstein(scaler.transform(model.sample(4000, random_state=1)), scaler.transform(reference))
    assert ours < theirs


def test_bundled_datasets_at_least_as_likely_as_gaussian_mixture():
    # the same mixture on the same (standardized) data; log-likelihoods in
    # the data's units.  A component keeps its Gaussian unless its diffusion
    # wins on held-out rows, so the model starts from GaussianMixture exactly
    for name, n_components in (("iris", 3), ("wine", 3), ("breast_cancer", 2)):
        X_train, X_test = train_test_split(load_dataset(name), test_size=0.3, random_state=0)
        scaler = StandardScaler().fit(X_train)
        log_jacobian = np.log(scaler.scale_).sum()
        for covariance in ("full", "diag"):
            gmm = GaussianMixture(n_components, covariance_type=covariance, random_state=0)
            theirs = gmm.fit(scaler.transform(X_train)).score(scaler.transform(X_test)) - log_jacobian
            model = GaussianMixturePriorDiffusion(
                n_components,
                prior_covariance=covariance,
                predictor=DiffusionRandomFeatures(n_features=128),
                n_steps=16,
                random_state=0,
                n_jobs=1,
            ).fit(X_train)
            assert model.score(X_test) >= theirs - 1e-6, (name, covariance)


def test_components_that_keep_their_gaussian_are_the_fitted_mixture(data_2d):
    model = GaussianMixturePriorDiffusion(3, min_component_rows=10**6, random_state=0, n_jobs=1).fit(data_2d)
    assert all(m is None for m in model.component_models_)
    gmm = GaussianMixture(3, random_state=0).fit((data_2d - model.shift_) / model.scale_)
    np.testing.assert_allclose(model.weights_, gmm.weights_)
    np.testing.assert_allclose(model.means_, model.shift_ + model.scale_ * gmm.means_)
    law = mixture_2d()
    X = law.sample(300, random_state=5)
    expected = gmm.score_samples((X - model.shift_) / model.scale_) - np.log(model.scale_).sum()
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    # the score of the fitted mixture, in the units of X
    fitted = GaussianMixtureLaw(model.weights_, model.means_, model.covariances_)
    np.testing.assert_allclose(model.score_function(X), fitted.score(X), rtol=1e-8, atol=1e-10)
    samples = model.sample(4000, random_state=0)
    assert sliced_wasserstein(samples, fitted.sample(4000, random_state=1)) < 0.1


@pytest.mark.parametrize(
    "params",
    [
        dict(prior_init="kmeans", dispatcher="nearest"),
        dict(prior_covariance="diag", shared_predictor=True),
        dict(prior_covariance="identity", prior_init="kmeans"),
        dict(n_components="auto", sampler="ddpm", schedule="linear"),
    ],
)
def test_every_option_runs(data_2d, params):
    model = GaussianMixturePriorDiffusion(**{**SMALL, "n_components": 3, **params}, random_state=0).fit(data_2d)
    assert model.n_components_ == len(model.weights_) == len(model.component_models_)
    assert np.isclose(model.weights_.sum(), 1.0)
    assert np.all(np.isfinite(model.score_samples(data_2d[:20])))
    assert np.all(np.isfinite(model.sample(50, random_state=0)))
    assert np.all(np.isfinite(model.score_function(data_2d[:20], t=0.5)))
    if params.get("shared_predictor"):
        assert all(m is model.component_models_[0] for m in model.component_models_)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "n_components"),
        ({"n_components": 2.5}, "n_components"),
        ({"n_components": True}, "n_components"),
        ({"n_components": "many"}, "n_components"),
        ({"n_components": 601}, "exceeds the number of training rows"),
        ({"prior_covariance": "tied"}, "prior_covariance"),
        ({"prior_init": "random"}, "prior_init"),
        ({"dispatcher": "soft"}, "dispatcher"),
        ({"shared_predictor": "yes"}, "shared_predictor"),
        ({"min_component_rows": 1}, "min_component_rows"),
        ({"validation_fraction": 0.0}, "validation_fraction"),
        ({"validation_fraction": 1.5}, "validation_fraction"),
        ({"predictor": GaussianMixture()}, "predictor"),
        ({"n_steps": 1}, "n_steps"),
        ({"schedule": "exp"}, "schedule"),
    ],
)
def test_bad_parameters_are_refused_clearly(data_2d, params, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixturePriorDiffusion(**{**SMALL, **params}).fit(data_2d)


def test_bad_data_is_refused_clearly(small_model):
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixturePriorDiffusion(**SMALL).fit(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="3 features"):
        small_model.score_samples(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        small_model.score_samples(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="n_samples"):
        small_model.sample(0)


def test_nothing_non_finite_comes_out_even_far_from_the_data(small_model):
    far = np.array([[1e3, -1e3], [1e8, 1e8], [-1e150, 3.0], [0.0, 1e300]])
    log_density = small_model.score_samples(far)
    assert np.all(np.isfinite(log_density))
    assert np.all(log_density < small_model.score_samples(np.zeros((1, 2))))
    assert np.all(np.isfinite(small_model.score_function(far[:2])))
    assert np.all(np.isfinite(small_model.sample(2000, random_state=0)))


def test_a_predictor_with_its_own_level_grid_works(data_2d):
    # GradientBoostedScore has no n_steps, schedule or sampler: it keeps its own
    # (this raised scikit-learn's "Invalid parameter 'n_steps'")
    trees = GradientBoostedScore(n_noise_levels=4, duplicate_K=2, max_iter=3, max_leaf_nodes=4, n_density_samples=40)
    model = GaussianMixturePriorDiffusion(n_components=2, predictor=trees, n_jobs=1, random_state=0).fit(data_2d)
    fitted = [m for m in model.component_models_ if m is not None]
    assert all(isinstance(m, GradientBoostedScore) and m.n_noise_levels == 4 for m in fitted)
    assert np.all(np.isfinite(model.sample(20, random_state=0)))
    assert np.all(np.isfinite(model.score_samples(data_2d[:20])))


def test_sampler_set_after_fit_reaches_the_component_models(data_2d):
    """The component models draw with the prior's sampler as it is now, as a model fitted with it draws."""
    params = {**SMALL, "validation_fraction": None, "random_state": 0}
    heun = GaussianMixturePriorDiffusion(**params).fit(data_2d)
    ddim = GaussianMixturePriorDiffusion(**params, sampler="ddim").fit(data_2d)
    before = heun.sample(50, random_state=0)
    heun.set_params(sampler="ddim")
    np.testing.assert_array_equal(heun.sample(50, random_state=0), ddim.sample(50, random_state=0))
    assert not np.array_equal(before, ddim.sample(50, random_state=0))
