"""Typed columns for every model: integers, categories, bounds, point masses, DataFrames.

The column types live in the base class (skscore._columns), so every check
here runs on all four models.  Fits are small (a few seconds each) and shared
through module-scoped fixtures.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from skscore import ConvexTwoLayerScore, DiffusionRandomFeatures, GaussianMixturePriorDiffusion, GradientBoostedScore
from skscore._columns import AUTO_POINT_MASS_SHARE, SPIKE_RATIO, ColumnTypes, _grid, _lattice
from skscore.base import LOG_DENSITY_FLOOR
from skscore.datasets import make_mixed_table
from skscore.metrics import c2st_auc

N_TRAIN, N_HELD_OUT, N_SAMPLES = 2000, 1500, 4000

# visits (Poisson count), plan (4 levels), spend (>= 0, 30 % zeros), discount ([0, 1]), score
TYPES = dict(
    integer_features=[0],
    categorical_features=[1],
    bounds={0: (0, None), 2: (0, None), 3: (0, 1)},
    point_masses={2: 0.0},
)

MODELS = {
    "DiffusionRandomFeatures": lambda **types: DiffusionRandomFeatures(
        n_features=512, n_steps=15, random_state=0, **types
    ),
    "GaussianMixturePriorDiffusion": lambda **types: GaussianMixturePriorDiffusion(
        n_components=2, predictor=DiffusionRandomFeatures(n_features=256), n_steps=10, random_state=0, **types
    ),
    # 64 gates: with the default 32 the weight decay blurs the zero/continuous
    # state of spend (zero share 3.7 points high; 2.6 with 64 gates or beta=1e-4)
    "ConvexTwoLayerScore": lambda **types: ConvexTwoLayerScore(
        n_gates=64, max_iter=300, n_steps=10, random_state=0, **types
    ),
    # 20 noise levels: with 10 its samples shrink (standard deviation 0.87 on a standard
    # normal column), which moves a level's share by up to 0.045 (its probability stays
    # within 1 %) and the NaN table's zero share by 0.036
    "GradientBoostedScore": lambda **types: GradientBoostedScore(
        n_noise_levels=20, max_iter=30, n_density_samples=500, random_state=0, **types
    ),
}


def small(**types):
    """DiffusionRandomFeatures for the normalization checks (one or two columns)."""
    return DiffusionRandomFeatures(n_features=64, n_steps=15, random_state=0, **types)


def tiny(**types):
    return DiffusionRandomFeatures(n_features=16, n_steps=4, random_state=0, **types)


@pytest.fixture(scope="module")
def table():
    X = make_mixed_table(N_TRAIN + N_HELD_OUT, random_state=0)
    return X[:N_TRAIN], X[N_TRAIN:]


@pytest.fixture(scope="module")
def fitted(table):
    """Every model fitted with the types declared, and its samples."""
    X_train, _ = table
    out = {}
    for name, make in MODELS.items():
        model = make(**TYPES).fit(X_train)
        out[name] = model, model.sample(N_SAMPLES, random_state=1)
    return out


# ------------------------------------------------------------------ dataset
def test_mixed_table_has_the_declared_types():
    X = make_mixed_table(20000, random_state=1)
    visits, plan, spend, discount = X[:, 0], X[:, 1], X[:, 2], X[:, 3]
    assert np.all(visits == np.floor(visits)) and visits.min() >= 0 and len(np.unique(visits)) > 5
    # Poisson given the latent: overdispersed counts, variance above the mean
    assert visits.var() > visits.mean()
    shares = np.bincount(plan.astype(int)) / len(plan)
    np.testing.assert_allclose(shares, [0.45, 0.30, 0.15, 0.10], atol=0.01)
    assert abs(np.mean(spend == 0) - 0.30) < 0.01
    positive = spend[spend > 0]
    assert positive.min() > 0 and np.mean(positive) > 1.2 * np.median(positive)  # right-skewed
    assert discount.min() > 0 and discount.max() < 1


# ---------------------------------------------------------- every model
@pytest.mark.parametrize("name", list(MODELS))
def test_samples_are_typed_and_reproduce_shares(name, fitted, table):
    X_train, _ = table
    model, S = fitted[name]
    assert model.column_types_.kinds_ == ["integer", "categorical", "continuous", "continuous", "continuous"]
    assert np.all(np.isfinite(S))
    assert np.all(S[:, 0] == np.floor(S[:, 0])) and S[:, 0].min() >= 0
    assert set(np.unique(S[:, 1])) <= {0.0, 1.0, 2.0, 3.0}
    assert S[:, 2].min() >= 0
    assert S[:, 3].min() >= 0 and S[:, 3].max() <= 1
    # the continuous part of spend is continuous: no other repeated value
    positive = S[:, 2][S[:, 2] > 0]
    assert len(np.unique(positive)) == len(positive)
    shares = np.bincount(S[:, 1].astype(int), minlength=4) / len(S)
    train_shares = np.bincount(X_train[:, 1].astype(int), minlength=4) / len(X_train)
    assert np.max(np.abs(shares - train_shares)) <= 0.03, (shares, train_shares)
    zero_error = abs(np.mean(S[:, 2] == 0) - np.mean(X_train[:, 2] == 0))
    assert zero_error <= 0.03, zero_error


def test_classifier_cannot_tell_the_best_model_from_held_out_rows(fitted, table):
    _, X_held_out = table
    aucs = {name: c2st_auc(X_held_out, S[:N_HELD_OUT], cv=3) for name, (_, S) in fitted.items()}
    assert min(aucs.values()) <= 0.65, aucs
    # the same table with the types ignored: a classifier tells at once
    untyped = small().fit(table[0])
    auc_untyped = c2st_auc(X_held_out, untyped.sample(N_HELD_OUT, random_state=1), cv=3)
    assert auc_untyped >= 0.9, auc_untyped
    assert auc_untyped > aucs["DiffusionRandomFeatures"] + 0.2


@pytest.mark.parametrize("name", list(MODELS))
def test_score_samples_is_finite(name, fitted, table):
    model, _ = fitted[name]
    _, X_held_out = table
    log_density = model.score_samples(X_held_out[:300])
    assert log_density.shape == (300,)
    assert np.all(np.isfinite(log_density))
    assert np.all(log_density > LOG_DENSITY_FLOOR)  # every held-out row is possible
    # a row in the spike at zero gets the atom's probability times the others' density
    assert np.isfinite(model.score(X_held_out[X_held_out[:, 2] == 0][:50]))


# ---------------------------------------------------------- normalization
def _integer_continuous_mass(model, counts, grid):
    h = grid[1] - grid[0]
    total = 0.0
    for k in counts:
        rows = np.column_stack([np.full_like(grid, k), grid])
        total += np.exp(model.score_samples(rows)).sum() * h
    return total


@pytest.mark.parametrize("make", [small, MODELS["GradientBoostedScore"]], ids=["DRF", "GBS"])
def test_integer_and_continuous_probabilities_sum_to_one(make):
    rng = np.random.RandomState(0)
    g = rng.standard_normal(1500)
    X = np.column_stack([rng.poisson(np.exp(0.5 + 0.4 * g)), g])
    model = make(integer_features=[0], bounds={0: (0, None)}).fit(X)
    # sum over the integers times the integral over the continuous column
    mass = _integer_continuous_mass(model, range(0, 25), np.linspace(-6, 6, 241))
    assert abs(mass - 1.0) < 0.03, mass


def test_categorical_probabilities_sum_to_one_and_match_the_samples():
    # not seed 0: rng.choice would draw the very uniforms that the model (random_state=0)
    # draws next as the levels' offsets (one per row), tying each offset to its level
    rng = np.random.RandomState(1)
    plan = rng.choice(4, 2000, p=[0.45, 0.30, 0.15, 0.10]).astype(np.float64)
    model = small(categorical_features=[0]).fit(plan[:, None])
    probabilities = np.exp(model.score_samples(np.arange(4.0)[:, None]))
    assert abs(probabilities.sum() - 1.0) < 0.05, probabilities
    shares = np.bincount(model.sample(20000, random_state=0)[:, 0].astype(int), minlength=4) / 20000
    np.testing.assert_allclose(shares, np.bincount(plan.astype(int)) / len(plan), atol=0.04)


# cheap settings of every model for the many-level checks (each fit is about a second);
# GaussianMixturePriorDiffusion with 64 features and 15 steps: with 256 features and
# 10 steps (MODELS) its density has spikes beyond 5 deviations (0.01 at -5.4 on a
# standard normal column), which the end levels' quadrature points can reach
CHEAP = {
    "DiffusionRandomFeatures": small,
    "GaussianMixturePriorDiffusion": lambda **types: GaussianMixturePriorDiffusion(
        n_components=2, predictor=DiffusionRandomFeatures(n_features=64), n_steps=15, random_state=0, **types
    ),
    "ConvexTwoLayerScore": MODELS["ConvexTwoLayerScore"],
    "GradientBoostedScore": MODELS["GradientBoostedScore"],
}


def _many_levels(n_levels, n_rows=2000, seed=0):
    """Codes of a column whose level shares fall as 1 / rank^0.7, in shuffled label order."""
    rng = np.random.RandomState(seed)
    shares = rng.permutation(1.0 / np.arange(1, n_levels + 1) ** 0.7)
    return rng.choice(n_levels, n_rows, p=shares / shares.sum()).astype(np.float64)


@pytest.mark.parametrize("n_levels", [2, 5, 30, 200])
@pytest.mark.parametrize("name", list(CHEAP))
def test_level_probabilities_sum_to_one_at_any_number_of_levels(name, n_levels):
    # argmax cells in K dimensions summed to 0.96 to 1.05 at 2 and 5 levels, 0.12 to
    # 0.75 at 30 and 6e-17 to 0.11 at 200: 64 quadrature points cannot cover them
    x = _many_levels(n_levels)
    model = CHEAP[name](categorical_features=[0]).fit(x[:, None])
    levels, counts = np.unique(x, return_counts=True)
    probabilities = np.exp(model.score_samples(levels[:, None]))
    assert abs(probabilities.sum() - 1.0) < 0.02, probabilities.sum()
    # and each probability is near its level's share (the model's density is near its
    # training law): the log of their ratio, averaged over the levels' rows
    assert abs(np.sum(counts * np.log(probabilities * len(x) / counts)) / len(x)) < 0.05


@pytest.mark.parametrize("make", [small, MODELS["GradientBoostedScore"]], ids=["DRF", "GBS"])
def test_level_probabilities_and_continuous_density_sum_to_one(make):
    # 30 levels next to a continuous column whose mean depends on the level
    rng = np.random.RandomState(0)
    level = _many_levels(30, seed=1)
    X = np.column_stack([level, rng.permutation(np.linspace(-1.5, 1.5, 30))[level.astype(int)] + rng.randn(2000)])
    model = make(categorical_features=[0]).fit(X)
    grid = np.linspace(-6, 6, 121)
    levels = np.unique(level)
    rows = np.column_stack([np.repeat(levels, len(grid)), np.tile(grid, len(levels))])
    joint = np.exp(model.score_samples(rows)).reshape(len(levels), len(grid))
    # sum over the levels, then integrate over the continuous column
    mass = joint.sum(axis=0).sum() * (grid[1] - grid[0])
    assert abs(mass - 1.0) < 0.02, mass


def test_unused_declared_categories_do_not_change_the_used_ones():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    labels = np.where(rng.random_sample(1000) < 0.3, "a", "b")
    g = rng.randn(1000) + (labels == "a")
    few = pd.DataFrame({"c": pd.Categorical(labels, categories=["a", "b"]), "g": g})
    declared = [f"unused {i}" for i in range(250)] + ["a"] + [f"unused {i}" for i in range(250, 499)] + ["b"]
    many = pd.DataFrame({"c": pd.Categorical(labels, categories=declared), "g": g})
    model_few = small(categorical_features="auto").fit(few)
    model_many = small(categorical_features="auto").fit(many)
    # was near -11,600 on the training rows with the 500 declared categories
    np.testing.assert_allclose(model_many.score_samples(many.iloc[:50]), model_few.score_samples(few.iloc[:50]))
    # a declared but unused category has probability zero and is never sampled
    unused = many.iloc[:1].copy()
    unused["c"] = pd.Categorical(["unused 3"], categories=declared)
    assert model_many.score_samples(unused)[0] == LOG_DENSITY_FLOOR
    S = model_many.sample(2000, random_state=0)
    assert S["c"].cat.categories.tolist() == declared and set(S["c"]) == {"a", "b"}
    assert abs(np.mean(S["c"] == "a") - np.mean(labels == "a")) < 0.03


def test_point_mass_and_continuous_part_sum_to_one():
    rng = np.random.RandomState(0)
    x = np.where(rng.random_sample(2000) < 0.3, 0.0, np.exp(0.5 * rng.standard_normal(2000)))
    model = small(bounds={0: (0, None)}).fit(x[:, None])
    assert model.column_types_.point_masses_[0].tolist() == [0.0]  # a value on the bound is an atom
    atom = np.exp(model.score_samples([[0.0]]))[0]
    # the probability of the atom is the one the sampler reproduces (the model's own share)
    sampled = np.mean(model.sample(20000, random_state=0)[:, 0] == 0)
    assert abs(atom - sampled) < 0.03, (atom, sampled)
    log_grid = np.linspace(-8, 5, 1301)  # integrate the density over (0, inf) in log x
    density = np.exp(model.score_samples(np.exp(log_grid)[:, None]))
    continuous = np.sum(density * np.exp(log_grid)) * (log_grid[1] - log_grid[0])
    assert abs(atom + continuous - 1.0) < 0.03, (atom, continuous)


def test_a_point_mass_state_is_one_coordinate_growing_with_the_value():
    # a floor and a cap around a continuous bulk: three states, one coordinate
    # (an argmax coordinate per state cost the models accuracy on the other
    # columns), whose intervals follow the values: floor < bulk < cap
    rng = np.random.RandomState(0)
    bulk = rng.uniform(1.0, 9.0, 1000)
    x = np.where(rng.random_sample(1000) < 0.2, 0.0, np.where(rng.random_sample(1000) < 0.1, 10.0, bulk))
    types = ColumnTypes(point_masses={0: [0.0, 10.0]}).fit(x[:, None])
    assert types.n_features_out_ == 2  # the state, then the continuous coordinate
    rows = np.array([[0.0], [5.0], [10.0]])
    Y, _ = types.transform(np.repeat(rows, 200, axis=0), np.random.RandomState(1))
    state = Y[:, 0].reshape(3, 200)
    assert state[0].max() < state[1].min() and state[1].max() < state[2].min()
    assert np.array_equal(types.inverse_transform(Y)[::200], rows)
    # the intervals are the states' shares: the training rows' coordinate is standard normal
    Y, _ = types.transform(x[:, None], np.random.RandomState(2))
    assert abs(Y[:, 0].mean()) < 0.1 and abs(Y[:, 0].std() - 1.0) < 0.1


def test_an_integer_columns_cells_are_as_wide_as_their_shares():
    # hours worked: 0 and 40 on 20 % and 40 % of the rows, the others spread
    # over 1 to 80.  In cells of unit width a cell holding 40 % of the rows is
    # a spike the model's smoothing spreads over its neighbours; warped, a
    # frequent value's cell is as wide as its share (see _ShareWarp)
    rng = np.random.RandomState(0)
    u = rng.random_sample(3000)
    x = np.where(u < 0.2, 0.0, np.where(u < 0.6, 40.0, np.clip(np.round(rng.normal(40, 12, 3000)), 1, 80)))
    auto = dict(integer_features="auto", bounds="auto")
    types = ColumnTypes(**auto).fit(x[:, None])
    warp = types.columns_[0].warp
    assert warp.weight == pytest.approx(np.mean((x != 0) & (x != 40)))  # the smooth law: the other values' rows
    Y, _ = types.transform(x[:, None], np.random.RandomState(1))
    assert np.array_equal(types.inverse_transform(Y)[:, 0], x)
    # a frequent value's cell holds about its share of a standard normal coordinate
    from scipy.special import ndtr

    for value in [0.0, 40.0]:
        z_cell, _ = warp.forward(np.array([value, value + 1.0]))
        assert abs(np.diff(ndtr(z_cell))[0] - np.mean(x == value)) < 0.02
    # dz/dt is the derivative of z (within cells; G jumps in slope at their edges), and z decodes to its cell
    t = np.linspace(0.05, 120.0, 120001)  # (the log singularity at the bound 0 left out)
    z, _ = warp.forward(t)
    _, log_slope = warp.forward(0.5 * (t[1:] + t[:-1]))
    within = np.floor(t[1:]) == np.floor(t[:-1])
    np.testing.assert_allclose(np.exp(log_slope[within]) * np.diff(t)[within], np.diff(z)[within], rtol=1e-3)
    assert np.all(np.diff(z) > 0) and np.array_equal(np.floor(warp.inverse(z)), np.floor(t))
    model = DiffusionRandomFeatures(random_state=0, **auto).fit(x[:, None])
    p = np.exp(model.score_samples(np.arange(0.0, 301.0)[:, None]))
    assert abs(p.sum() - 1.0) < 0.03, p.sum()
    assert np.all(p[81:] > 0)  # beyond the training values: the smooth part's mass
    drawn = model.sample(20000, random_state=0)[:, 0]
    # in unit cells a small random-features model gave 40 a share of 0.08 (0.41 in the data)
    for value in [0.0, 40.0]:
        share = np.mean(x == value)
        assert abs(np.mean(drawn == value) - share) < 0.06 and abs(p[int(value)] - share) < 0.06


def test_only_frequent_values_get_cells_as_wide_as_their_shares():
    from skscore._columns import _Integer

    rng = np.random.RandomState(0)
    rating = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], 600, p=[0.05, 0.1, 0.2, 0.4, 0.25])
    warp = _Integer(0, np.inf, values=rating).warp
    assert warp.weight == pytest.approx(1 / 601)  # every value frequent: the smooth law keeps one row's share
    np.testing.assert_allclose(warp.shares, [np.mean(rating == v) for v in [1, 2, 3, 4, 5]])
    # identifiers, or a count's tail: every value on a few rows keeps the plain map
    assert _Integer(0, np.inf, values=rng.choice(50000, 300, replace=False).astype(float)).warp is None
    # zero-inflated counts: the zero's cell only, the tail on the smooth law
    counts = np.where(rng.random_sample(1000) < 0.5, 0.0, rng.poisson(40, 1000) + 1.0)
    warp = _Integer(0, np.inf, values=counts).warp
    assert warp.shares.tolist() == [1.0] and warp.weight == pytest.approx(np.mean(counts > 0))
    wide = np.repeat([0.0, 2.0**20], 10)  # frequent values farther apart than MAX_SHARE_WARP_CELLS
    assert _Integer(0, np.inf, values=wide).warp is None
    # a measurement on a decimal grid: its frequent points are a smooth law's mode, not shared values
    temperature = np.round(2 * rng.normal(40.0, 2.0, 1000)) / 2
    assert _Integer(0, np.inf, *_grid(temperature), values=temperature).warp is None


# ------------------------------------------------------ types that do not fit
@pytest.fixture(scope="module")
def typed_tiny(table):
    return tiny(**TYPES).fit(table[0][:500])


def test_rows_the_types_cannot_produce_get_the_floor(typed_tiny, table):
    row = table[1][:1].copy()
    assert typed_tiny.score_samples(row)[0] > LOG_DENSITY_FLOOR
    cases = {
        "unseen category": (1, 7.0),
        "non-integral count": (0, 2.5),
        "count below its bound": (0, -1.0),
        "negative spend": (2, -0.5),
        "discount above 1": (3, 1.5),
    }
    for what, (j, value) in cases.items():
        bad = row.copy()
        bad[0, j] = value
        log_density = typed_tiny.score_samples(bad)
        assert log_density[0] == LOG_DENSITY_FLOOR, what
    # a bad row does not spoil the good rows scored with it
    mixed = np.vstack([row, row])
    mixed[1, 1] = 7.0
    np.testing.assert_allclose(typed_tiny.score_samples(mixed)[0], typed_tiny.score_samples(row)[0])


def test_nan_and_wrong_width_at_score_time_raise(typed_tiny, table):
    row = table[1][:1].copy()
    row[0, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        typed_tiny.score_samples(row)
    with pytest.raises(ValueError, match="features"):
        typed_tiny.score_samples(table[1][:2, :3])


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(integer_features="all"), "integer_features"),
        (dict(integer_features=[1.5]), "integer_features"),
        (dict(integer_features=[9]), "integer_features"),
        (dict(integer_features=["visits"]), "integer_features"),  # names need a DataFrame
        (dict(integer_features=[True, False]), "integer_features"),  # a mask of the wrong length
        (dict(categorical_features=1), "categorical_features"),
        (dict(categorical_features={1: 4}), "categorical_features"),
        (dict(bounds=[(0, 1)]), "bounds"),
        (dict(bounds={3: (1, 0)}), "bounds"),
        (dict(bounds={3: (None, None)}), "bounds"),
        (dict(bounds={3: (0, "one")}), "bounds"),
        (dict(bounds={3: 1.0}), "bounds"),
        (dict(bounds={3: (0, np.inf)}), "bounds"),
        (dict(bounds={12: (0, 1)}), "bounds"),
        (dict(point_masses=[0.0]), "point_masses"),
        (dict(point_masses={2: "zero"}), "point_masses"),
        (dict(point_masses={2: [0.0, np.nan]}), "point_masses"),
    ],
)
def test_bad_parameter_formats_name_the_parameter(params, message, table):
    with pytest.raises(ValueError, match=message):
        tiny(**params).fit(table[0][:100])


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(integer_features=[2]), "declared integer but holds non-integral"),
        (dict(integer_features=[1], categorical_features=[1]), "both integer and categorical"),
        (dict(bounds={2: (1.0, None)}), "outside its bounds"),
        (dict(bounds={4: (0, 1)}), "outside its bounds"),
        (dict(categorical_features=[1], bounds={1: (0, 3)}), "categorical: it takes no bounds"),
        (dict(integer_features=[0], point_masses={0: 0}), "point masses already"),
    ],
)
def test_types_that_do_not_fit_the_training_data_raise(params, message, table):
    with pytest.raises(ValueError, match=message):
        tiny(**params).fit(table[0][:100])


def test_score_function_needs_plain_columns(typed_tiny, table):
    with pytest.raises(ValueError, match="score_function needs continuous"):
        typed_tiny.score_function(table[1][:5])


# --------------------------------------------------------------- 'auto'
def test_auto_detection_on_an_array(table):
    X = table[0][:400]
    types = ColumnTypes(integer_features="auto", bounds="auto", point_masses="auto").fit(X)
    # plan's codes are integral: an array's categories must be declared
    assert types.kinds_ == ["integer", "integer", "continuous", "continuous", "continuous"]
    assert types.bounds_[0] == (0.0, np.inf)
    assert types.bounds_[2] == (0.0, np.inf) and types.bounds_[3] == (0.0, 1.0)
    assert types.bounds_[4] == (-np.inf, np.inf)  # score takes negative values
    assert types.point_masses_[2].tolist() == [0.0] and types.point_masses_[4].size == 0
    assert ColumnTypes(categorical_features="auto").fit(X).kinds_ == ["continuous"] * 5


def test_auto_point_masses_need_a_five_percent_share():
    rng = np.random.RandomState(0)
    x = rng.standard_normal(1000)
    x[:40] = 3.0  # 4 %: not an atom
    x[40:100] = -1.0  # 6 %: an atom
    types = ColumnTypes(point_masses="auto").fit(x[:, None])
    assert types.point_masses_[0].tolist() == [-1.0]


def _auto_atoms(x, **types):
    return ColumnTypes(point_masses="auto", **types).fit(np.asarray(x, dtype=np.float64)[:, None]).point_masses_[0]


def _has_five_percent_values(x):
    """Whether some value holds 5 % of the rows: an atom under a share-only rule."""
    _, counts = np.unique(x, return_counts=True)
    return bool(np.any(counts >= AUTO_POINT_MASS_SHARE * len(x)))


@pytest.mark.parametrize("seed", range(5))
def test_auto_point_masses_skip_a_measurement_on_a_grid(seed):
    # a length recorded to 0.1: many values of 5 % and more, each next to grid points
    # holding as many rows, and none of them an atom
    x = np.round(np.random.RandomState(seed).normal(5.0, 0.8, 300), 1)
    assert _has_five_percent_values(x)
    assert _auto_atoms(x).size == 0
    assert _auto_atoms(x, bounds="auto").size == 0


@pytest.mark.parametrize("column", range(4))
def test_auto_point_masses_skip_the_iris_measurements(column):
    # lengths and widths in cm to 0.1; petal width 0.2 (29 of 150 rows, next to 5 and 7)
    # is a narrow cluster on the grid, 4.1 times its largest neighbour, below SPIKE_RATIO
    from sklearn.datasets import load_iris

    x = load_iris().data[:, column]
    assert _has_five_percent_values(x)
    assert _auto_atoms(x).size == 0
    assert _auto_atoms(x, bounds="auto").size == 0


def test_auto_point_masses_find_coarse_readings_that_hold_most_rows():
    # diabetes' s4 (total over HDL cholesterol): 86 % of the rows read as integers 2..9, the
    # others to 0.01 between them; the integers of 5 % and more hold 83 % of the rows, each a
    # spike among the fine readings next to it (samples without them are told from real rows)
    from sklearn.datasets import load_diabetes

    x = load_diabetes(scaled=False).data[:, 7]
    assert _auto_atoms(x).tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]
    rng = np.random.RandomState(0)
    mixed = np.where(rng.rand(400) < 0.8, np.round(rng.normal(4, 1, 400)), np.round(rng.normal(4, 1, 400), 2))
    values, counts = np.unique(mixed, return_counts=True)
    frequent = values[counts >= AUTO_POINT_MASS_SHARE * mixed.size]
    assert frequent.size >= 3 and np.all(frequent == np.round(frequent))
    assert _auto_atoms(mixed).tolist() == frequent.tolist()


@pytest.mark.parametrize("column", [3, 8])
def test_auto_point_masses_skip_a_lone_coarse_reading(column):
    # wine's alcalinity of ash (16.0 on 11 of 178 rows, among readings to 0.5 and 0.1) and
    # proanthocyanins (1.35 on 9 rows among readings to 0.01): a coarse value of 5 or 6 %
    # next to fine readings of a row or two, but its fellow coarse readings hold as many
    # rows and the coarse readings of 5 % hold far less than half of the column
    from sklearn.datasets import load_wine

    x = load_wine().data[:, column]
    assert _has_five_percent_values(x)
    assert _auto_atoms(x).size == 0


def test_auto_point_masses_skip_a_uniform_grid():
    x = np.random.RandomState(0).permutation(np.repeat(np.arange(10) * 0.5 + 0.25, 30))
    assert _has_five_percent_values(x)
    assert _auto_atoms(x).size == 0


@pytest.mark.parametrize("factor, atom", [(3, False), (SPIKE_RATIO + 1, True)])
def test_a_grid_value_is_an_atom_when_it_is_a_spike_on_its_grid(factor, atom):
    grid = np.repeat(np.arange(10) * 0.5 + 0.25, 30)
    x = np.concatenate([grid, np.full(30 * (factor - 1), 2.25)])  # 2.25 holds factor times its neighbours
    assert _auto_atoms(x).tolist() == ([2.25] if atom else [])


def test_auto_point_masses_find_a_top_code():
    rng = np.random.RandomState(0)
    income = rng.lognormal(10.0, 0.8, 500)
    cap = np.quantile(income, 0.92)
    income = np.minimum(income, cap)  # incomes above the cap recorded as the cap: 8 % of the rows
    assert _auto_atoms(income).tolist() == [cap]
    assert _auto_atoms(income, bounds="auto").tolist() == [cap]  # bounded below by 0 only


def test_auto_point_masses_find_a_default_among_grid_values():
    # hours per week in whole hours, 30 % at 40 among values of about 2 % each
    rng = np.random.RandomState(0)
    hours = np.clip(np.round(rng.normal(38.0, 12.0, 500)), 1, 80)
    hours[rng.rand(500) < 0.3] = 40.0
    assert _auto_atoms(hours).tolist() == [40.0]


def test_auto_point_masses_find_a_detection_limit():
    rng = np.random.RandomState(0)
    x = rng.lognormal(0.0, 1.0, 300)
    limit = np.sort(x)[45]
    x = np.maximum(x, limit)  # the 15 % below the limit recorded as the limit
    assert _auto_atoms(x).tolist() == [limit]
    assert _auto_atoms(x, bounds="auto").tolist() == [limit]  # the limit is not the bound 0


def test_auto_point_masses_find_zeros_among_negative_and_positive_values():
    rng = np.random.RandomState(0)
    x = rng.standard_normal(300)
    x[rng.rand(300) < 0.2] = 0.0
    assert _auto_atoms(x).tolist() == [0.0]
    assert _auto_atoms(x, bounds="auto").tolist() == [0.0]  # negative values: no bound at 0


# ----------------------------------------------- reproducible, clone, pickle
def test_typed_model_is_reproducible_and_pickles(typed_tiny, table):
    X = table[0][:500]
    again = clone(typed_tiny).fit(X)
    np.testing.assert_array_equal(again.sample(50, random_state=3), typed_tiny.sample(50, random_state=3))
    restored = pickle.loads(pickle.dumps(typed_tiny))
    np.testing.assert_array_equal(restored.score_samples(table[1][:20]), typed_tiny.score_samples(table[1][:20]))
    np.testing.assert_array_equal(restored.sample(20, random_state=4), typed_tiny.sample(20, random_state=4))


def test_default_model_is_the_plain_continuous_model(table):
    X = table[0][:300, 2:]
    model = tiny().fit(X)
    assert model.column_types_.is_identity_
    # identity map: the quadrature is a single point and the scores are the engine's
    Z, log_jacobian = model._transform(X[:5])
    np.testing.assert_allclose(Z, (X[:5] - model.shift_) / model.scale_)


# ------------------------------------------------------------- DataFrames
def test_dataframe_in_dataframe_out_with_same_columns_and_dtypes():
    pd = pytest.importorskip("pandas")
    frame = make_mixed_table(1500, as_frame=True, random_state=0)
    frame["member"] = frame["plan"].isin(["pro", "team"])  # bool
    frame["region"] = np.where(frame["score"] > 0, "north", "south").astype(object)  # text labels
    model = tiny(integer_features="auto", categorical_features="auto", bounds="auto", point_masses="auto")
    model.fit(frame)
    assert model.column_types_.kinds_ == [
        "integer", "categorical", "continuous", "continuous", "continuous", "categorical", "categorical"
    ]
    assert list(model.feature_names_in_) == list(frame.columns)
    S = model.sample(400, random_state=0)
    assert isinstance(S, pd.DataFrame)
    assert list(S.columns) == list(frame.columns)
    assert list(S.dtypes) == list(frame.dtypes)
    assert S["plan"].cat.categories.tolist() == ["basic", "plus", "pro", "team"]
    assert set(S["region"]) <= {"north", "south"}
    assert S["spend"].min() >= 0 and (S["spend"] == 0).any()
    assert S["discount"].between(0, 1).all()
    log_density = model.score_samples(frame.iloc[:50])
    assert np.all(np.isfinite(log_density)) and np.all(log_density > LOG_DENSITY_FLOOR)
    # a label never seen in fit: probability zero, the floor
    unseen = frame.iloc[:2].copy()
    unseen["region"] = np.array(["west", "north"], dtype=object)
    out = model.score_samples(unseen)
    assert out[0] == LOG_DENSITY_FLOOR and out[1] > LOG_DENSITY_FLOOR
    # columns given by name
    named = tiny(
        integer_features=["visits"], categorical_features=["plan", "member", "region"], bounds={"spend": (0, None)}
    )
    named.fit(frame)
    assert named.column_types_.kinds_ == model.column_types_.kinds_
    assert named.column_types_.point_masses_[2].tolist() == [0.0]


def test_dataframe_label_column_must_be_declared():
    pytest.importorskip("pandas")
    frame = make_mixed_table(200, as_frame=True, random_state=0)
    with pytest.raises(ValueError, match="declare it in categorical_features"):
        tiny().fit(frame)
    with pytest.raises(ValueError, match="unknown column 'nope'"):
        tiny(categorical_features=["plan"], integer_features=["nope"]).fit(frame)


def test_gradient_boosted_keeps_its_missing_value_handling_with_types(table):
    X = table[0].copy()
    X[np.random.RandomState(0).random_sample(X.shape) < 0.1] = np.nan
    model = MODELS["GradientBoostedScore"](**TYPES)
    S = model.fit(X).sample(2000, random_state=0)
    assert not np.isnan(S).any()
    assert np.all(S[:, 0] == np.floor(S[:, 0])) and set(np.unique(S[:, 1])) <= {0.0, 1.0, 2.0, 3.0}
    assert abs(np.mean(S[:, 2] == 0) - np.mean(X[:, 2][~np.isnan(X[:, 2])] == 0)) <= 0.03


def test_a_constant_integer_column_stays_that_constant():
    # dequantized, a single value could come out one off; it is a point mass instead
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.standard_normal(300), np.full(300, 7.0), rng.integers(0, 5, 300)])
    model = DiffusionRandomFeatures(n_features=32, n_steps=8, integer_features="auto", random_state=0).fit(X)
    assert model.column_types_.kinds_ == ["continuous", "integer", "integer"]
    np.testing.assert_array_equal(np.unique(model.sample(2000, random_state=0)[:, 1]), [7.0])
    log_density = model.score_samples(np.array([[0.0, 7.0, 2.0], [0.0, 8.0, 2.0], [0.0, 7.5, 2.0]]))
    assert log_density[0] > -10 and np.all(log_density[1:] == LOG_DENSITY_FLOOR)


def test_an_integer_column_on_a_coarser_lattice_keeps_it():
    # a dose in steps of 25 (suite table crops): samples spread over the integers between
    # the doses were told from real rows at once (C2ST AUC 0.92)
    rng = np.random.RandomState(0)
    dose = rng.choice([0.0, 25.0, 50.0, 75.0, 100.0], 1500, p=[0.2, 0.2, 0.3, 0.2, 0.1])
    g = 0.02 * dose + rng.standard_normal(1500)
    X = np.column_stack([dose, g])
    model = small(integer_features=[0], bounds="auto").fit(X)
    column = model.column_types_.columns_[0]
    assert (column.step, column.origin) == (25.0, 0.0)
    doses = model.sample(4000, random_state=0)[:, 0]
    assert np.all(doses % 25.0 == 0.0) and doses.min() >= 0.0
    assert np.mean(doses <= 100.0) > 0.95  # no upper bound declared: the small model leaks a few per cent
    # the probabilities of the lattice points, each integrated over the continuous column
    mass = _integer_continuous_mass(model, np.arange(0.0, 401.0, 25.0), np.linspace(-6, 8, 281))
    assert abs(mass - 1.0) < 0.03, mass
    assert np.all(model.score_samples(np.array([[30.0, 0.5], [-25.0, 0.5]])) == LOG_DENSITY_FLOOR)
    with pytest.raises(ValueError, match="lattice 0 \\+ 25 k"):
        model.impute(np.array([[30.0, np.nan]]))
    # two values are no evidence of a lattice, and neither are consecutive integers
    assert (_lattice(np.array([0.0, 2.0, 2.0])), _lattice(np.array([1.0, 2.0, 4.0]))) == ((1.0, 0.0), (1.0, 0.0))
    assert _lattice(np.array([5.0, 30.0, 80.0, np.nan])) == (25.0, 5.0)


def test_auto_integers_take_a_measurement_on_a_filled_grid():
    # temperatures recorded to 0.5 (suite table sensors): samples spread between the grid
    # points were told from real rows at once (C2ST AUC 0.74; 0.55 with them on the grid)
    rng = np.random.RandomState(0)
    temperature = np.round(rng.normal(40.0, 3.0, 1500) * 2.0) / 2.0
    X = np.column_stack([temperature, 0.3 * (temperature - 40.0) + rng.standard_normal(1500)])
    model = small(integer_features="auto").fit(X)
    assert model.column_types_.kinds_ == ["integer", "continuous"]
    column = model.column_types_.columns_[0]
    assert (column.step, column.decimals) == (0.5, 1)
    samples = model.sample(4000, random_state=0)[:, 0]
    np.testing.assert_array_equal(samples * 2.0, np.round(samples * 2.0))
    np.testing.assert_array_equal(samples, np.round(samples, 1))  # 40.5, not 40.50000000000001
    mass = _integer_continuous_mass(model, np.arange(20.0, 60.25, 0.5), np.linspace(-9, 9, 241))
    assert abs(mass - 1.0) < 0.03, mass
    assert model.score_samples(np.array([[40.25, 0.0]]))[0] == LOG_DENSITY_FLOOR
    # sparse or fine grids stay continuous: readings to 0.01 clustered on integers (diabetes'
    # s4), a 0.1 grid over a wide range, a BMI to 0.1 whose values hold 2 % of the rows at
    # most (diabetes' bmi: the grid cost the mixture prior W1), and values with more decimals
    from sklearn.datasets import load_diabetes

    assert _grid(load_diabetes(scaled=False).data[:, 7]) is None
    assert _grid(np.round(rng.normal(0.0, 30.0, 300), 1)) is None
    assert _grid(load_diabetes(scaled=False).data[:, 2]) is None
    assert _grid(rng.standard_normal(300)) is None
    assert _grid(np.array([1.5, 2.0, 2.5, np.nan])) == (0.5, 1.5, 1)


def test_a_bound_on_a_decimal_grid_point_keeps_that_point():
    # shares recorded to 0.1 in [0.3, 1.0], bounds (0, 1) by 'auto': (1.0 - 0.3) / 0.1 is 6.999999999999999,
    # whose floor left 1.0 out of the column (its rows scored -1e300 and were never drawn)
    rng = np.random.RandomState(0)
    x = np.round(rng.choice(np.arange(3, 11) / 10, size=300), 1)[:, None]
    model = small(integer_features="auto", bounds="auto").fit(x)
    column = model.column_types_.columns_[0]
    assert (column.low, column.high) == (-3.0, 7.0)  # 0.0 and 1.0, on the grid of origin 0.3
    assert np.all(model.score_samples(np.array([[0.3], [1.0]])) > LOG_DENSITY_FLOOR)
    samples = model.sample(4000, random_state=0)
    assert abs(np.mean(samples == 1.0) - np.mean(x == 1.0)) < 0.04
    assert samples.min() >= 0.0 and samples.max() <= 1.0


@pytest.mark.parametrize("low, high", [(0.0, 1.0), (0.0, np.inf), (-np.inf, 1.0)])
def test_bound_maps_never_round_onto_a_bound(low, high):
    # expit(40) is 1.0 in float64: Beta(0.1, 0.1) data drew 190 of 20,000 rows exactly at 1.0, scored -1e300
    from skscore._columns import _BoundMap

    bound_map = _BoundMap(low, high)
    y = bound_map.inverse(np.array([-800.0, -50.0, 0.0, 50.0, 800.0]))
    assert np.all((y > low) & (y < high))
    z, log_term = bound_map.forward(y)
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(log_term))


def test_a_spike_on_a_decimal_grid_keeps_its_share():
    # rain to 0.1 with 40 % exact zeros: grid columns got no share warp, and 0 was drawn on 27.6 % of the rows
    rng = np.random.RandomState(0)
    x = np.round(rng.exponential(2, 500), 1)
    x[:200] = 0.0
    model = small(integer_features="auto", bounds="auto", point_masses="auto").fit(x[:, None])
    assert model.column_types_.kinds_ == ["integer"] and model.column_types_.columns_[0].decimals == 1
    samples = model.sample(10000, random_state=0)[:, 0]
    assert abs(np.mean(samples == 0.0) - np.mean(x == 0.0)) < 0.1  # 0.496 against 0.416 (0.277 unwarped)
    # the other grid points keep the plain map: no warp of a smooth law's frequent points
    iris_like = np.round(rng.normal(5.8, 0.8, 300), 1)[:, None]
    assert small(integer_features="auto").fit(iris_like).column_types_.columns_[0].warp is None


# ------------------------------------------- found by the property suite
def test_integers_beyond_float64_resolution_are_not_dequantized():
    # every float beyond 2**52 is integral: 'auto' took such columns for integers and
    # the dequantization noise rounded onto a declared bound (log(0): an internal error)
    X = np.array([[2.0**52], [2.0**52 + 2], [2.0**52 + 4], [2.0**52 + 8], [2.0**52]])
    with pytest.raises(ValueError, match="beyond 2\\*\\*40"):
        DiffusionRandomFeatures(n_features=16, n_steps=4, integer_features=[0], bounds={0: (2.0**52, None)}).fit(X)
    model = DiffusionRandomFeatures(n_features=16, n_steps=4, integer_features="auto", random_state=0).fit(X)
    assert model.column_types_.kinds_ == ["continuous"]
    assert np.all(np.isfinite(model.score_samples(X)))


@pytest.mark.parametrize("atom, message", [(-1.0, "outside its bounds"), (5.0, "outside its bounds"), (0.5, "never occurs")])
def test_declared_point_masses_must_be_possible_and_seen(atom, message):
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.standard_normal(40), rng.beta(2, 3, 40)])
    X[:8, 1], X[8:12, 1] = 0.0, 1.0
    with pytest.raises(ValueError, match=message):
        DiffusionRandomFeatures(bounds={1: (0, 1)}, point_masses={1: atom}).fit(X)


def test_nullable_and_object_dtypes_come_back():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "n": pd.array([1, 2, 3, 1, 2, 5, 3, 2, 1, 4] * 3, dtype="Int64"),
            "b": pd.array([True, False, True] * 10, dtype="boolean"),
            "s": pd.Series(list("abc") * 10, dtype=object),
            "x": np.arange(30.0),
        }
    )
    model = DiffusionRandomFeatures(
        n_features=16, n_steps=4, integer_features=["n"], categorical_features="auto", random_state=0
    ).fit(frame)
    samples = model.sample(5, random_state=0)
    assert samples.dtypes.to_dict() == frame.dtypes.to_dict()
    assert set(samples["s"]) <= {"a", "b", "c"}


def test_repeated_column_names_are_refused_in_one_line():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(np.c_[np.arange(10.0), np.arange(10.0) ** 2], columns=["a", "a"])
    with pytest.raises(ValueError, match="^The DataFrame's column names must be unique; repeated: a.$"):
        DiffusionRandomFeatures().fit(frame)


def test_integer_offsets_sit_mid_cell_in_fit_and_probabilities_use_the_whole_cell():
    from skscore._columns import DEQUANTIZATION_SHAPE, ColumnTypes

    x = np.repeat(np.arange(5.0), 2000)[:, None]
    types = ColumnTypes(integer_features=[0]).fit(x)
    types.columns_[0].warp = None  # the offsets as they are: the plain map of an unbounded column is the identity
    Y, _ = types.transform(x, np.random.RandomState(0))
    offsets = Y[:, 0] - x[:, 0]
    a = DEQUANTIZATION_SHAPE
    # Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)), below the uniform's 1/12
    assert abs(offsets.mean() - 0.5) < 0.01
    assert offsets.var() == pytest.approx(1.0 / (4 * (2 * a + 1)), rel=0.05) and offsets.var() < 1.0 / 12 - 0.02
    assert np.all(types.inverse_transform(Y) == x)
    # the quadrature spreads its points over the whole cell, uniformly
    Q, log_term = types.quadrature(x[:1])
    assert np.all(log_term == 0.0) and abs(Q[:, 0].mean() - 0.5) < 0.02 and Q[:, 0].var() == pytest.approx(1 / 12, rel=0.1)


def test_a_continuous_columns_one_sided_bound_bends_only_within_its_spread_of_the_bound():
    from skscore._columns import _SoftplusMap

    rng = np.random.RandomState(0)
    far = 13.0 + 0.8 * rng.standard_normal(500)  # a positive column far from 0 (an alcohol content)
    skewed = rng.lognormal(0.0, 1.0, 500)  # an amount crowded at 0
    X = np.column_stack([far, skewed, -skewed])
    types = ColumnTypes(bounds={0: (0, None), 1: (0, None), 2: (None, 0)}).fit(X)
    for j in range(3):
        m = types.columns_[j].map
        assert isinstance(m, _SoftplusMap) and m.scale == pytest.approx(np.std(X[:, j]))
        y = np.sort(X[:, j])[[0, 1, 250, 498, 499]]
        z, log_jacobian = m.forward(y)
        np.testing.assert_allclose(m.inverse(z), y, rtol=1e-12)
        eps = 1e-7 * np.abs(y)
        np.testing.assert_allclose(np.log(np.abs(m.forward(y + eps)[0] - z) / eps), log_jacobian, atol=1e-4)
    # far from the bound the map is the column in units of its spread: a shift, no bend
    z, _ = types.columns_[0].map.forward(far)
    np.testing.assert_allclose(z, far / np.std(far), atol=1e-6)
    # near the bound it is logarithmic: a value 1e-9 spreads from it lies ~20 units below 0
    z, _ = types.columns_[1].map.forward(np.array([1e-9 * np.std(skewed)]))
    assert z[0] == pytest.approx(np.log(1e-9), abs=1e-6)
    # the tail stays linear (the logarithm would squeeze the largest values together)
    top = np.sort(skewed)[-2:]
    z, _ = types.columns_[1].map.forward(top)
    assert np.diff(z)[0] == pytest.approx(np.diff(top)[0] / np.std(skewed), rel=1e-2)
    # a column with no spread left to measure in keeps the logarithm
    one = ColumnTypes(bounds={0: (0, None)}, point_masses={0: 0.0}).fit(np.array([[0.0], [0.0], [2.0]]))
    assert not isinstance(one.columns_[0].map, _SoftplusMap)


def test_a_bound_map_pickled_before_its_scale_existed_still_maps_in_cells():
    from skscore._columns import _CellMap, _SoftplusMap

    old = _SoftplusMap.__new__(_CellMap)
    old.low, old.high = 0.0, np.inf  # the attributes such a map had
    np.testing.assert_allclose(old.forward(np.array([3.5]))[0], _SoftplusMap(0.0, np.inf).forward(np.array([3.5]))[0])


def test_an_integer_column_pickled_before_lattices_still_maps_the_integers():
    from skscore._columns import _Integer, _SoftplusMap

    old = _Integer.__new__(_Integer)
    old.low, old.high, old.map = 0.0, np.inf, _SoftplusMap(0.0, np.inf)  # the attributes such a column had
    new = _Integer(0.0, np.inf)
    x, U = np.array([0.0, 3.0, 2.5]), np.full((3, 1), 0.5)
    np.testing.assert_array_equal(old.encode(x, U)[1], new.encode(x, U)[1])
    np.testing.assert_array_equal(old.decode(np.array([[0.3], [2.0]])), new.decode(np.array([[0.3], [2.0]])))


def test_an_integer_columns_one_sided_bound_keeps_cells_of_unit_width_away_from_it():
    from skscore._columns import _CellMap

    for m, y in ((_CellMap(0.0, np.inf), np.array([0.01, 0.5, 1.0, 3.5, 40.0, 1e6])), (_CellMap(-np.inf, 7.0), 7.0 - np.array([0.01, 0.5, 3.5, 40.0]))):
        z, log_jacobian = m.forward(y)
        np.testing.assert_allclose(m.inverse(z), y, rtol=1e-12, atol=1e-12)
        eps = 1e-7 * np.maximum(1.0, np.abs(y))
        z_eps, _ = m.forward(y + eps)
        np.testing.assert_allclose(np.log(np.abs(z_eps - z) / eps), log_jacobian, atol=1e-4)
    # linear beyond a few cells (a count of 40 stays 40 cells from the bound), logarithmic near it
    z, _ = _CellMap(0.0, np.inf).forward(np.array([10.0, 11.0, 40.0, 41.0]))
    np.testing.assert_allclose(np.diff(z)[[0, 2]], [1.0, 1.0], atol=1e-4)
    assert _CellMap(0.0, np.inf).forward(np.array([1e-12]))[0][0] < -25
    # two bounds keep the logit of the continuous columns
    two = _CellMap(0.0, 11.0)
    np.testing.assert_allclose(two.forward(np.array([5.5]))[0], [0.0], atol=1e-12)
