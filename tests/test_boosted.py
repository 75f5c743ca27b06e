"""GradientBoostedScore: estimator API, density, imputation, classes, parallelism."""

import functools
import pickle

import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skscore import GradientBoostedScore, _engine, boosted
from skscore._steps import CpuSteps
from skscore.datasets import mixture_2d

# small everything: the estimator checks fit dozens of times on tiny data
TINY = dict(n_noise_levels=4, duplicate_K=2, max_iter=3, max_leaf_nodes=4, n_density_samples=40)
SMALL = dict(n_noise_levels=10, duplicate_K=10, max_iter=10, n_density_samples=1000)


class _UnlabelledChecks(GradientBoostedScore):
    """Drops the labels: scikit-learn's checks pass ``y`` to every ``fit``.

    The plain instance of the checks (tests/test_estimator_checks.py)
    therefore covers ``fit(X, y)`` (one diffusion per class) and this one
    ``fit(X)``.
    """

    def fit(self, X, y=None):
        return super().fit(X)


@parametrize_with_checks([_UnlabelledChecks(**TINY, random_state=0)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def small_model(data_2d):
    return GradientBoostedScore(**SMALL, random_state=0).fit(data_2d)


@pytest.fixture(scope="module")
def iris_split():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def iris_model(iris_split):
    X_train, _, y_train, _ = iris_split
    return GradientBoostedScore(n_noise_levels=20, duplicate_K=30, max_iter=20, n_density_samples=500, random_state=0).fit(
        X_train, y_train
    )


# ------------------------------------------------------------- API basics
def test_pipeline_and_grid_search_select_by_likelihood(data_2d):
    # trees (max_iter=20) beat the Gaussian model of the linear maps alone
    # (max_iter=0) on a two-component mixture, by held-out likelihood
    pipe = Pipeline(
        [("scale", StandardScaler()), ("model", GradientBoostedScore(**{**SMALL, "max_iter": 0}, random_state=0))]
    )
    search = GridSearchCV(pipe, {"model__max_iter": [0, 20]}, cv=3).fit(data_2d)
    assert search.best_params_ == {"model__max_iter": 20}
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and scores[1] > scores[0]


def test_clone_and_pickle_reproduce_samples_and_scores(small_model, data_2d):
    refit = clone(small_model).fit(data_2d)
    np.testing.assert_array_equal(refit.sample(50, random_state=1), small_model.sample(50, random_state=1))
    np.testing.assert_array_equal(refit.score_samples(data_2d[:50]), small_model.score_samples(data_2d[:50]))
    restored = pickle.loads(pickle.dumps(small_model))
    np.testing.assert_array_equal(restored.score_samples(data_2d[:50]), small_model.score_samples(data_2d[:50]))
    np.testing.assert_array_equal(restored.sample(20), small_model.sample(20))
    other = GradientBoostedScore(**SMALL, random_state=1).fit(data_2d)
    assert not np.allclose(other.sample(20, random_state=1), small_model.sample(20, random_state=1))


def test_labelled_model_clone_and_pickle(iris_model, iris_split):
    X_train, X_test, y_train, _ = iris_split
    refit = clone(iris_model).fit(X_train, y_train)
    X_a, y_a = refit.sample(30, random_state=2)
    X_b, y_b = pickle.loads(pickle.dumps(iris_model)).sample(30, random_state=2)
    np.testing.assert_array_equal(X_a, X_b)
    np.testing.assert_array_equal(y_a, y_b)
    np.testing.assert_array_equal(refit.score_samples(X_test), iris_model.score_samples(X_test))


@pytest.fixture(scope="module")
def grid_model():
    X = mixture_2d().sample(2000, random_state=0)
    return GradientBoostedScore(n_noise_levels=20, duplicate_K=20, max_iter=20, random_state=0).fit(X), X


@pytest.mark.parametrize("split_smoothing", [0.25, None])
def test_density_integrates_to_one(grid_mass_fn, split_smoothing, grid_model):
    model, X = grid_model
    if split_smoothing is None:  # hard splits: the kernel density of model draws
        model = clone(model).set_params(split_smoothing=None, n_density_samples=2000).fit(X)
        assert model._sampler == "ddim" and model.bandwidth_ > 0
    assert grid_mass_fn(model, (-6.5, -5.5), (5.5, 5.0), 180) == pytest.approx(1.0, abs=0.02)


def test_a_terminal_noise_is_sampled_and_scored_alike(grid_mass_fn, grid_model):
    model, X = grid_model
    blurred = clone(model).set_params(terminal_noise=0.3).fit(X)
    angles = blurred.noise_angles_
    level = blurred.diffusions_[0].terminal_level
    assert level == np.argmin(np.abs(np.tan(angles) - 0.3))
    np.testing.assert_allclose(blurred.terminal_noise_, [np.tan(angles[level])])
    assert grid_mass_fn(blurred, (-6.5, -5.5), (5.5, 5.0), 180) == pytest.approx(1.0, abs=0.02)
    # the same trees as the flow to the data, their rows widened by the noise
    for a, b in zip(model.diffusions_[0].predictor.levels, blurred.diffusions_[0].predictor.levels):
        np.testing.assert_array_equal(a.trees.leaf_values, b.trees.leaf_values)
    spread = np.std(blurred.sample(20000, random_state=1), axis=0) ** 2
    sharp = np.std(model.sample(20000, random_state=1), axis=0) ** 2
    np.testing.assert_allclose(spread, sharp + (blurred.terminal_noise_[0] * blurred.scale_) ** 2, rtol=0.05)


def test_terminal_noise_auto_blurs_a_memorized_table_only():
    # 80 rows x 50 copies: at the smallest noise levels the trees learn the
    # training rows, a held-out fifth of them prefers a level of noise, and
    # rows scored there generalize; rows repeating a few recorded values
    # prefer the flow to the data, which puts its mass on them
    law = mixture_2d()
    X, X_test = law.sample(80, random_state=0), law.sample(4000, random_state=100)
    params = dict(n_noise_levels=10, duplicate_K=50, max_iter=40, random_state=0)
    sharp = GradientBoostedScore(**params).fit(X)
    auto = GradientBoostedScore(**params, terminal_noise="auto").fit(X)
    assert auto.terminal_noise_[0] > 0
    assert auto.score(X_test) > sharp.score(X_test) + 0.2
    for a, b in zip(sharp.diffusions_[0].predictor.levels, auto.diffusions_[0].predictor.levels):
        np.testing.assert_array_equal(a.trees.leaf_values, b.trees.leaf_values)  # the pilot fit is not the model
    recorded = np.round(law.sample(400, random_state=1))
    on_grid = GradientBoostedScore(**params, terminal_noise="auto").fit(recorded)
    np.testing.assert_array_equal(on_grid.terminal_noise_, [0.0])
    # hard splits have no likelihood to choose by
    hard = GradientBoostedScore(**params, split_smoothing=None, terminal_noise="auto").fit(X)
    np.testing.assert_array_equal(hard.terminal_noise_, [0.0])


def test_terminal_noise_auto_fits_no_pilot_for_a_class_too_small_to_hold_rows_out(monkeypatch):
    # a class of 6 rows holds out no fifth of two rows or more: it keeps the
    # flow, and the pilot fit grows no trees for it
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((60, 2)), rng.standard_normal((6, 2)) + 3])
    y = np.r_[np.zeros(60), np.ones(6)]
    fits = []
    original = GradientBoostedScore._fit_levels

    def recording(self, groups, copies, seeds):
        fits.append([rows is not None for rows in groups])
        return original(self, groups, copies, seeds)

    monkeypatch.setattr(GradientBoostedScore, "_fit_levels", recording)
    params = dict(n_noise_levels=4, duplicate_K=5, max_iter=5, terminal_noise="auto", random_state=0)
    model = GradientBoostedScore(**params).fit(X, y)
    assert fits == [[True, True], [True, False]]  # the model, then the pilot of the first class only
    assert model.terminal_noise_[1] == 0.0
    assert all(level is not None for level in model.diffusions_[1].predictor.levels)


def _change_of_variables_gap(model, X):
    """|log-density the engine integrates - log-density by the flow map's finite-difference Jacobian|, per row."""
    diffusion = model.diffusions_[0]
    Z = model._transform(X)[0]

    def flow_map(z):
        return _engine._forward_flow(CpuSteps(diffusion.predictor), z, diffusion.noise_angles, diffusion.held_first_level)[0]

    step, jacobian = 1e-5, np.empty((len(Z), 2, 2))
    for j in range(2):
        shift = np.zeros(2)
        shift[j] = step
        jacobian[:, :, j] = (flow_map(Z + shift) - flow_map(Z - shift)) / (2 * step)
    brute_force = diffusion.base.log_density(flow_map(Z)) + np.log(np.abs(np.linalg.det(jacobian)))
    return np.abs(brute_force - diffusion.log_density(Z))


def test_density_is_the_change_of_variables_of_the_flow(grid_model):
    # oracle: the flow map's Jacobian by finite differences, against the
    # divergence the engine integrates along the same path; what is left is
    # the integrator's error, which shrinks with more levels
    model, X = grid_model
    gap = _change_of_variables_gap(model, X[:200])
    assert gap.mean() < 0.02 and np.quantile(gap, 0.95) < 0.06
    finer = clone(model).set_params(n_noise_levels=40).fit(X)
    assert _change_of_variables_gap(finer, X[:200]).mean() < 0.75 * gap.mean()


def test_samples_follow_the_density_they_are_scored_with(grid_model):
    model, X = grid_model
    assert model._sampler == "heun"
    samples = model.sample(20000, random_state=1)
    xs, ys = np.linspace(-6.5, 5.5, 180), np.linspace(-5.5, 5.0, 180)
    grid = np.column_stack([g.ravel() for g in np.meshgrid(xs, ys)])
    mass = np.exp(model.score_samples(grid)) * (xs[1] - xs[0]) * (ys[1] - ys[0])
    centre = np.median(X, axis=0)
    for right in (False, True):
        for upper in (False, True):
            in_grid = ((grid[:, 0] > centre[0]) == right) & ((grid[:, 1] > centre[1]) == upper)
            in_samples = ((samples[:, 0] > centre[0]) == right) & ((samples[:, 1] > centre[1]) == upper)
            assert mass[in_grid].sum() == pytest.approx(in_samples.mean(), abs=0.02)


def test_density_is_close_to_the_truth_on_a_known_mixture():
    law = mixture_2d()
    model = GradientBoostedScore(n_noise_levels=20, duplicate_K=20, max_iter=30, n_density_samples=3000, random_state=0)
    model.fit(law.sample(3000, random_state=100))
    X_test = law.sample(3000, random_state=200)
    gap = law.logpdf(X_test).mean() - model.score(X_test)
    assert -0.05 < gap < 0.15  # the KL divergence of the model, up to sampling noise


def test_leaves_hold_four_training_rows_so_a_small_table_is_not_memorized():
    # with leaves of 20 noised rows, a level of 40 rows x 50 copies can give
    # one row's copies a leaf of their own at small noise: the flow then
    # carries its mass back onto the training rows
    rng = np.random.default_rng(0)
    X, X_test = rng.standard_normal((40, 2)), rng.standard_normal((4000, 2))
    auto = GradientBoostedScore(n_noise_levels=10, duplicate_K=50, max_iter=10, random_state=0).fit(X)
    np.testing.assert_array_equal(auto.min_samples_leaf_, [200])
    for level in auto.diffusions_[0].predictor.levels:
        assert ((level.trees.left >= 0).sum(axis=1) + 1 <= len(X) // 4).all()  # leaves per tree
    for min_leaf in (20, 100):  # one row's copies, two rows' copies
        small_leaves = clone(auto).set_params(min_samples_leaf=min_leaf).fit(X)
        assert auto.score(X_test) > small_leaves.score(X_test) + 0.1


def test_early_stopping_only_truncates_the_levels_trees(data_2d):
    stopped = GradientBoostedScore(n_noise_levels=6, duplicate_K=10, max_iter=40, random_state=0).fit(data_2d)
    full = clone(stopped).set_params(early_stopping=False).fit(data_2d)
    assert stopped.n_trees_.shape == (1, 6)
    np.testing.assert_array_equal(full.n_trees_, 40)
    assert stopped.n_trees_.min() < 40
    levels, whole_levels = stopped.diffusions_[0].predictor.levels, full.diffusions_[0].predictor.levels
    for kept, level, whole in zip(stopped.n_trees_[0], levels, whole_levels):
        assert level.trees.feature.shape[0] == kept
        np.testing.assert_array_equal(level.coef, whole.coef)
        for field, whole_field in zip(level.trees, whole.trees):
            np.testing.assert_array_equal(field, whole_field[:kept])


def test_early_stopping_auto_stops_small_classes_only():
    # 'auto': a class of at most 8192 rows stops early, a larger one fits
    # every tree (its density keeps improving after the held-out error stops)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8293, 2))
    y = np.r_[np.zeros(8193), np.ones(100)]
    model = GradientBoostedScore(n_noise_levels=3, duplicate_K=1, max_iter=30, random_state=0).fit(X, y)
    assert model.early_stopping_.tolist() == [False, True]
    np.testing.assert_array_equal(model.n_trees_[0], 30)
    assert model.n_trees_[1].min() < 30
    per_class = functools.partial(boosted._per_class, auto=boosted._auto_early_stopping)
    assert per_class("held_out_rows", of=[10, 10**6]).tolist() == ["held_out_rows"] * 2
    assert per_class(False, of=[10]).tolist() == [False]
    assert per_class("auto", of=[8192, 8193]).tolist() == [True, False]


def test_held_out_rows_are_a_share_of_a_level_or_a_number():
    assert boosted._held_out_size(0.1, 10_500) == 1050
    assert boosted._held_out_size(0.1, 5) == 1  # at least one row
    assert boosted._held_out_size(0.1, 10**6) == 10_000  # a share, at most 10,000 rows
    assert boosted._held_out_size(50_000, 10**6) == 50_000  # a number, as asked
    assert boosted._held_out_size(np.int64(7), 100) == 7


def test_held_out_split_keeps_a_share_of_the_rows_out_of_a_level():
    Z, rng = np.arange(40.0).reshape(20, 2), np.random.RandomState(0)
    fitted, checked = boosted._held_out_split(Z, 0.1, 50, rng)
    assert (len(fitted), len(checked)) == (18, 2)
    assert sorted(np.vstack([fitted, checked])[:, 0]) == sorted(Z[:, 0])  # disjoint, every row on one side
    assert len(boosted._held_out_split(Z, 120, 50, rng)[1]) == 3  # a number: rows enough for 120 noised copies
    assert len(boosted._held_out_split(Z, 0.5, 50, rng)[0]) == 10  # at most half kept out (0.99: a ValueError)
    assert len(boosted._held_out_split(Z[:2], 0.01, 50, rng)[1]) == 1  # and one kept out
    fitted, checked = boosted._held_out_split(Z[:1], 0.1, 50, rng)
    assert len(fitted) == len(checked) == 1  # a single row is both


def test_stopping_on_held_out_rows_stops_before_the_trees_learn_the_training_rows():
    # 80 rows x 50 copies: fresh noise on the training rows keeps rewarding
    # trees that learn those rows at the smallest noise levels (39 trees of
    # 40 there), rows kept out of the level's fit do not (1); the density
    # generalizes better (held-out log-likelihood measured: -3.55 -> -3.13,
    # truth -2.95; +0.19 to +0.68 over four draws of the rows)
    law = mixture_2d()
    X, X_test = law.sample(80, random_state=0), law.sample(4000, random_state=100)
    noise = GradientBoostedScore(n_noise_levels=10, duplicate_K=50, max_iter=40, random_state=0).fit(X)
    rows = clone(noise).set_params(early_stopping="held_out_rows").fit(X)
    assert rows.n_trees_[0, :2].sum() < noise.n_trees_[0, :2].sum() / 2
    assert rows.score(X_test) > noise.score(X_test) + 0.2
    assert np.all(np.isfinite(rows.sample(200, random_state=0)))


def test_early_stopping_stops_where_the_trees_have_nothing_left_to_learn():
    # Gaussian data: the linear maps hold every level's exact answer, so past
    # the smallest noise levels (where trees still learn the training rows,
    # of which the held-out rows are fresh copies) the trees only fit noise
    rng = np.random.default_rng(1)
    model = GradientBoostedScore(n_noise_levels=10, duplicate_K=20, max_iter=60, random_state=0)
    model.fit(rng.standard_normal((500, 2)) @ [[1.0, 0.5], [0.0, 1.0]])
    assert model.n_trees_[0, 2:].max() <= 30  # measured: 11
    assert model.n_trees_[0, 2:].mean() <= 15  # measured: 3.4


def test_hard_splits_impute_without_a_divergence(data_2d):
    # hard splits have no divergence: the conditional sampler's kernel then goes without x0's spread
    model = GradientBoostedScore(**SMALL, split_smoothing=None, random_state=0).fit(data_2d)
    assert not model.diffusions_[0].predictor.divergence_in_closed_form
    X = data_2d[:20].copy()
    X[:, 1] = np.nan
    filled = model.impute(X, random_state=0)
    assert np.all(np.isfinite(filled))
    np.testing.assert_array_equal(filled[:, 0], X[:, 0])


def test_vp_diffusion_samples_the_data(data_2d):
    model = GradientBoostedScore(**{**SMALL, "n_noise_levels": 30}, diffusion_type="vp", random_state=0).fit(data_2d)
    samples = model.sample(600, random_state=0)
    assert np.all(np.isfinite(samples))
    np.testing.assert_allclose(samples.mean(axis=0), data_2d.mean(axis=0), atol=0.25)
    np.testing.assert_allclose(samples.std(axis=0), data_2d.std(axis=0), rtol=0.15)
    with pytest.warns(UserWarning, match="not a normalized density"):
        model.score_samples(data_2d[:5])


# ------------------------------------------------------------- bad input
BAD_FIT_INPUTS = {
    "inf": np.array([[0.0, 1.0], [np.inf, 2.0], [1.0, 1.0]]),
    "1d": np.arange(5.0),
    "3d": np.zeros((4, 2, 2)),
    "one_row": np.zeros((1, 3)),
    "strings": np.array([["a", "b"], ["c", "d"], ["e", "f"]]),
    "empty_column": np.array([[0.0, np.nan], [1.0, np.nan], [2.0, np.nan]]),
}


@pytest.mark.parametrize("name", BAD_FIT_INPUTS)
def test_bad_training_data_is_refused_clearly(name):
    with pytest.raises(ValueError):
        GradientBoostedScore(**TINY).fit(BAD_FIT_INPUTS[name])


@pytest.mark.parametrize("fraction", [20000, 0.999])
def test_held_out_rows_cannot_take_most_of_the_rows(data_2d, fraction):
    # an int counts noised copies: 20000 of 100 copies each kept 199 of 200 rows out, fitting each level on one
    model = GradientBoostedScore(**TINY, early_stopping="held_out_rows", validation_fraction=fraction)
    with pytest.raises(ValueError, match="at most half can be"):
        model.fit(data_2d)


@pytest.mark.parametrize("split_smoothing", [0.25, None])
def test_diffusion_type_set_after_fit_changes_nothing_until_refit(data_2d, split_smoothing):
    # it switched a hard-split flow's sampler to Euler-Maruyama, and warned about a VP density that was not
    model = GradientBoostedScore(**TINY, split_smoothing=split_smoothing).fit(data_2d)
    before = model.sample(50, random_state=0), model.score_samples(data_2d[:5])
    model.set_params(diffusion_type="vp")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        after = model.sample(50, random_state=0), model.score_samples(data_2d[:5])
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])


def test_bad_labels_are_refused_clearly(data_2d):
    with pytest.raises(ValueError, match="labels but X has"):
        GradientBoostedScore(**TINY).fit(data_2d, np.zeros(3))
    with pytest.raises(ValueError, match="continuous|Unknown label type"):
        GradientBoostedScore(**TINY).fit(data_2d, np.linspace(0, 1, len(data_2d)))
    pd = pytest.importorskip("pandas")
    for missing in (None, np.nan, pd.NA):
        y = np.array(["a", "b"] * (len(data_2d) // 2) + ["a"] * (len(data_2d) % 2), dtype=object)
        y[5] = missing
        message = r"y holds 1 missing label\(s\) \(None, NaN or pd.NA; the first at row 5\)"
        with pytest.raises(ValueError, match=message):
            GradientBoostedScore(**TINY).fit(data_2d, y)
    y = pd.Series(["a", "b"] * (len(data_2d) // 2) + ["a"] * (len(data_2d) % 2), dtype="string")
    y[7] = None  # pandas' string dtype stores pd.NA: np.unique raised "boolean value of NA is ambiguous"
    with pytest.raises(ValueError, match=r"missing label\(s\) .* the first at row 7"):
        GradientBoostedScore(**TINY).fit(data_2d, y)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((3, 3)), "3 features"),
        (np.array([[np.nan, 0.0]]), "missing values"),
        (np.array([[np.inf, 0.0]]), "infinity"),
        (np.zeros(2), "2D array"),
    ],
)
def test_bad_scoring_data_is_refused_clearly(small_model, X, match):
    with pytest.raises(ValueError, match=match):
        small_model.score_samples(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_noise_levels": 1}, "n_noise_levels"),
        ({"duplicate_K": 0}, "duplicate_K"),
        ({"duplicate_K": "many"}, "duplicate_K"),
        ({"diffusion_type": "ve"}, "diffusion_type"),
        ({"max_iter": -1}, "max_iter"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"max_leaf_nodes": 1}, "max_leaf_nodes"),
        ({"max_depth": 0}, "max_depth"),
        ({"min_samples_leaf": 0}, "min_samples_leaf"),
        ({"min_samples_leaf": "most"}, "min_samples_leaf"),
        ({"min_training_rows_leaf": 0}, "min_training_rows_leaf"),
        ({"min_training_rows_leaf": 2.5}, "min_training_rows_leaf"),
        ({"l2_regularization": -1.0}, "l2_regularization"),
        ({"max_bins": 256}, "max_bins"),
        ({"sketch_size": 0}, "sketch_size"),
        ({"linear_term": "yes"}, "linear_term"),
        ({"early_stopping": "often"}, "early_stopping"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"validation_fraction": 0}, "validation_fraction"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
        ({"tol": -1e-4}, "tol"),
        ({"n_density_samples": 5}, "n_density_samples"),
        ({"split_smoothing": 0.0}, "split_smoothing"),
        ({"split_smoothing": "soft"}, "split_smoothing"),
        ({"terminal_noise": -0.1}, "terminal_noise"),
        ({"terminal_noise": "cv"}, "terminal_noise"),
        ({"n_particles": 0}, "n_particles"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"device": "cuda"}, "cuda"),
    ],
)
def test_bad_parameters_are_refused_clearly(data_2d, params, match):
    with pytest.raises(ValueError, match=match):
        GradientBoostedScore(**{**TINY, **params}).fit(data_2d)


def test_bad_sample_and_impute_calls_are_refused(small_model, iris_model, data_2d):
    for n in (0, -3, 2.5):
        with pytest.raises(ValueError, match="n_samples"):
            small_model.sample(n)
    with pytest.raises(ValueError, match="without labels"):
        small_model.sample(3, y=[0, 0, 0])
    with pytest.raises(ValueError, match="not seen in fit"):
        iris_model.sample(2, y=[0, 7])
    with pytest.raises(ValueError, match="one label per row"):
        iris_model.sample(3, y=[0, 1])
    with pytest.raises(ValueError, match="impute\\(X, y=y\\)"):
        iris_model.impute(np.array([[np.nan, 3.0, 1.0, 0.2]]))
    with pytest.raises(ValueError, match="2 features"):
        small_model.impute(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="labels"):
        iris_model.score_function(np.zeros((2, 4)))


def test_nothing_non_finite_comes_out_even_far_from_the_data(small_model):
    far = np.array([[1e3, -1e3], [1e8, 1e8], [-1e150, 3.0], [0.0, 1e300]])
    log_density = small_model.score_samples(far)
    assert np.all(np.isfinite(log_density))
    assert np.all(log_density < small_model.score_samples(np.zeros((1, 2))))
    assert np.all(np.isfinite(small_model.sample(2000, random_state=0)))
    assert np.all(np.isfinite(small_model.score_function(far[:2], t=0.5)))


# ------------------------------------------------------------- missing values
def _correlated_gaussian(n, random_state):
    d = 5
    cov = 0.8 ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))  # AR(1), rho = 0.8
    rng = np.random.RandomState(random_state)
    scales = np.linspace(0.5, 1.5, d)
    return rng.multivariate_normal(np.arange(d, dtype=float), cov * np.outer(scales, scales), size=n)


@pytest.fixture(scope="module")
def gaussian_with_holes():
    X = _correlated_gaussian(1000, 0)
    mask = np.random.RandomState(1).uniform(size=X.shape) < 0.2
    mask[mask.all(axis=1), 0] = False  # keep one entry of every row
    X_missing = np.where(mask, np.nan, X)
    return X, X_missing, mask


@pytest.fixture(scope="module")
def imputing_model(gaussian_with_holes):
    _, X_missing, _ = gaussian_with_holes
    return GradientBoostedScore(n_noise_levels=20, duplicate_K=10, max_iter=20, n_density_samples=200, random_state=0).fit(
        X_missing
    )


def test_impute_fills_every_nan_and_keeps_observed_entries(imputing_model, gaussian_with_holes):
    _, X_missing, mask = gaussian_with_holes
    filled = imputing_model.impute(X_missing, random_state=0)
    assert not np.isnan(filled).any() and np.all(np.isfinite(filled))
    np.testing.assert_array_equal(filled[~mask], X_missing[~mask])  # bit-identical
    np.testing.assert_array_equal(X_missing[mask], np.full(mask.sum(), np.nan))  # input untouched
    complete = X_missing[~mask.any(axis=1)][:5]
    np.testing.assert_array_equal(imputing_model.impute(complete), complete)


def test_impute_beats_mean_imputation_and_matches_iterative_imputer(imputing_model, gaussian_with_holes):
    X, X_missing, mask = gaussian_with_holes
    scale = X.std(axis=0)

    def mse(filled):
        return float(np.mean(((filled - X) / scale)[mask] ** 2))

    ours = np.mean([mse(imputing_model.impute(X_missing, random_state=s)) for s in range(3)])
    mean_imputation = mse(SimpleImputer().fit_transform(X_missing))
    iterative = np.mean(
        [mse(IterativeImputer(sample_posterior=True, random_state=s).fit_transform(X_missing)) for s in range(3)]
    )
    assert ours < mean_imputation
    assert ours <= 1.10 * iterative, (ours, iterative, mean_imputation)


def test_fit_with_missing_values_still_samples_the_data(imputing_model, gaussian_with_holes):
    X, _, _ = gaussian_with_holes
    samples = imputing_model.sample(2000, random_state=0)
    np.testing.assert_allclose(samples.mean(axis=0), X.mean(axis=0), atol=0.1 * X.std(axis=0).max())
    np.testing.assert_allclose(np.corrcoef(samples.T), np.corrcoef(X.T), atol=0.1)


# ------------------------------------------------------------- classes
def test_conditional_sampling_returns_the_requested_labels(iris_model):
    labels = np.array([2, 0, 1, 1, 0, 2, 2])
    X = iris_model.sample(len(labels), y=labels, random_state=0)
    assert X.shape == (7, 4) and not isinstance(X, tuple)
    X_one = iris_model.sample(5, y=1, random_state=0)
    assert X_one.shape == (5, 4)


def test_unconditional_sampling_draws_labels_from_training_frequencies(iris_model, iris_split):
    _, _, y_train, _ = iris_split
    X, y = iris_model.sample(3000, random_state=0)
    assert X.shape == (3000, 4) and set(np.unique(y)) <= set(iris_model.classes_)
    expected = np.bincount(y_train) / len(y_train)
    observed = np.bincount(y, minlength=3) / len(y)
    np.testing.assert_allclose(observed, expected, atol=3 * np.sqrt(0.25 / 3000))
    np.testing.assert_allclose(iris_model.class_prior_, expected)


def test_class_samples_sit_nearer_their_own_class(iris_model, iris_split):
    X_train, X_test, y_train, y_test = iris_split
    classifier = LinearDiscriminantAnalysis().fit(X_train, y_train)
    real = classifier.score(X_test, y_test)
    labels = np.repeat(iris_model.classes_, 100)
    synthetic = classifier.score(iris_model.sample(len(labels), y=labels, random_state=0), labels)
    assert synthetic >= real - 0.05, (synthetic, real)


def test_labelled_impute_uses_the_class_model(iris_model, iris_split):
    _, X_test, _, y_test = iris_split
    X_missing = X_test.copy()
    X_missing[:, 2] = np.nan  # petal length: nearly determined by the class
    filled = iris_model.impute(X_missing, y=y_test, random_state=0)
    np.testing.assert_array_equal(filled[:, [0, 1, 3]], X_test[:, [0, 1, 3]])
    class_means = np.array([X_test[y_test == c, 2].mean() for c in range(3)])
    # each imputed value is nearest its own class's mean petal length
    assert np.mean(np.argmin(np.abs(filled[:, [2]] - class_means), axis=1) == y_test) > 0.85


# ------------------------------------------------------------- parallelism
def test_thread_count_does_not_change_results(small_model, data_2d):
    one = clone(small_model).set_params(n_jobs=1).fit(data_2d)
    two = clone(small_model).set_params(n_jobs=2).fit(data_2d)
    np.testing.assert_array_equal(one.sample(50, random_state=0), two.sample(50, random_state=0))
    np.testing.assert_array_equal(one.score_samples(data_2d[:20]), two.score_samples(data_2d[:20]))


def test_level_workers_cap_their_inner_threads(data_2d, monkeypatch):
    import numba
    from threadpoolctl import threadpool_info

    seen = []
    original = boosted._fit_level

    def spy(*args, **kwargs):
        seen.append((numba.get_num_threads(), [lib["num_threads"] for lib in threadpool_info()]))
        return original(*args, **kwargs)

    monkeypatch.setattr(boosted, "_fit_level", spy)
    GradientBoostedScore(**SMALL, n_jobs=2, random_state=0).fit(data_2d)
    assert len(seen) == SMALL["n_noise_levels"]
    # two levels run at once on one thread each: never more threads than n_jobs
    assert all(numba_threads == 1 and all(n == 1 for n in pools) for numba_threads, pools in seen)


def test_runs_unchanged_on_a_dask_cluster(data_2d):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    reference = GradientBoostedScore(**SMALL, n_jobs=2, random_state=0).fit(data_2d)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster):
            with parallel_backend("dask"):
                model = GradientBoostedScore(**SMALL, n_jobs=2, random_state=0).fit(data_2d)
    np.testing.assert_array_equal(model.sample(50, random_state=0), reference.sample(50, random_state=0))
