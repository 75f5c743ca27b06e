"""Numerical edge cases of the estimator shell: column scales, constant columns,
label columns at score time, far points and the memory of score_samples.

Small fits (a second or so each), on every model where the shell is shared.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skscore.base
from skscore import ConvexTwoLayerScore, DiffusionRandomFeatures, GaussianMixturePriorDiffusion, GradientBoostedScore
from skscore._columns import ColumnTypes
from skscore.base import LOG_DENSITY_FLOOR

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

MODELS = {
    "DRF": lambda **kw: DiffusionRandomFeatures(n_features=32, n_steps=6, random_state=0, **kw),
    "Convex": lambda **kw: ConvexTwoLayerScore(n_gates=8, max_iter=30, n_steps=4, random_state=0, **kw),
    "GBS": lambda **kw: GradientBoostedScore(
        n_noise_levels=5, max_iter=5, n_density_samples=300, random_state=0, **kw
    ),
    "GMP": lambda **kw: GaussianMixturePriorDiffusion(
        n_components=2, predictor=DiffusionRandomFeatures(n_features=16), n_steps=4, random_state=0, **kw
    ),
}


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 2))
    X[:, 1] += 0.5 * X[:, 0] + 0.3 * X[:, 0] ** 2
    return X


# ------------------------------------------------------- 5: column scales
@pytest.mark.parametrize("name", ["DRF", "Convex", "GBS"])
@pytest.mark.parametrize("factor", [1e-100, 1e-15, 1e100, 1e200])
def test_rescaling_a_column_rescales_samples_and_shifts_the_log_density(X, name, factor):
    reference = MODELS[name]().fit(X)
    scaled_X = X * [1.0, factor]
    scaled = MODELS[name]().fit(scaled_X)
    np.testing.assert_allclose(scaled.scale_ / reference.scale_, [1.0, factor], rtol=1e-12)
    S0, S = reference.sample(200, random_state=0), scaled.sample(200, random_state=0)
    np.testing.assert_allclose(S[:, 0], S0[:, 0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(S[:, 1] / factor, S0[:, 1], rtol=1e-6, atol=1e-9)
    log_density = scaled.score_samples(scaled_X[:20])
    assert np.all(log_density > LOG_DENSITY_FLOOR)
    np.testing.assert_allclose(log_density, reference.score_samples(X[:20]) - np.log(factor), rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("name", ["DRF", "GBS"])
def test_a_large_offset_keeps_the_spread_of_the_column(X, name):
    # 1e9 + 1e-6 noise: float64 resolves the noise to about 1/8 of its spread
    reference = MODELS[name]().fit(X)
    offset_X = np.column_stack([X[:, 0], 1e9 + 1e-6 * X[:, 1]])
    model = MODELS[name]().fit(offset_X)
    S0, S = reference.sample(2000, random_state=0), model.sample(2000, random_state=0)
    assert np.std(S[:, 1] - 1e9) / 1e-6 == pytest.approx(np.std(S0[:, 1]), rel=0.05)
    gap = model.score_samples(offset_X) - (reference.score_samples(X) - np.log(1e-6))
    # the rounded data make a slightly different fit (the kernel estimate of GBS moves most); 1.5e5 times too
    # wide, the offset column used to cost log(1.5e5) = 11.9
    assert abs(np.mean(gap)) < 0.3


@pytest.mark.parametrize("name", ["DRF", "GBS"])
def test_preprocessing_none_warns_where_the_levels_do_not_suit_the_scale(X, name):
    # the noise levels suppose unit-scale data: at 1e-3 the first level drowns
    # the data (random features: samples 79 times too wide, silently, before)
    with pytest.warns(UserWarning, match="preprocessing=None: 2 of the 2 model coordinates have a spread outside"):
        MODELS[name](preprocessing=None).fit(1e-3 * X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        MODELS[name](preprocessing=None).fit(X)  # unit scale: nothing to say
        MODELS["GMP"](preprocessing=None).fit(1e3 * X)  # its components whiten their rows themselves


def test_moments_are_exact_at_every_magnitude():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((500, 1))
    mean, scale = skscore.base.location_scale(np.column_stack([y * 2.0**-600, y * 2.0**600, 1e9 + 1e-6 * y]))
    # the plain moments (the same sums), scaled: no overflow of the squares above 1e154
    np.testing.assert_allclose(mean[:2], np.mean(y, axis=0) * 2.0 ** np.array([-600, 600]), rtol=1e-15)
    np.testing.assert_allclose(scale[:2], np.std(y, axis=0) * 2.0 ** np.array([-600, 600]), rtol=1e-15)
    assert scale[2] == pytest.approx(1e-6 * np.std(y), rel=1e-2)  # the values are rounded to 1/8 of it
    # a column that varies by rounding only gets the rounding level, not 1
    _, scale = skscore.base.location_scale(np.array([[0.3], [0.1 + 0.2], [0.3]]) * 1e-20)
    assert 0 < scale[0] < 1e-34


def test_point_mass_filler_has_the_width_of_its_column():
    rng = np.random.default_rng(2)
    x = np.where(rng.random(400) < 0.3, 0.0, rng.standard_normal(400) + 3.0)
    widths = []
    for factor in (1.0, 1e-15, 1e-100):
        types = ColumnTypes(point_masses={0: 0.0}).fit(factor * x[:, None])
        widths.append(types.columns_[0].fill_std / factor)
    np.testing.assert_allclose(widths, widths[0], rtol=1e-9)


# ---------------------------------------------------- 6: constant columns
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("types", [{}, {"integer_features": "auto", "bounds": "auto", "point_masses": "auto"}])
def test_a_constant_column_stays_that_constant(X, name, types):
    with_constant = np.column_stack([X, np.full(len(X), 7.0)])
    model = MODELS[name](**types).fit(with_constant)
    without = MODELS[name](**types).fit(X)
    np.testing.assert_array_equal(model.sample(500, random_state=0)[:, 2], 7.0)
    # a point mass of probability one next to the density of the other columns
    rows = with_constant[:10]
    np.testing.assert_allclose(model.score_samples(rows), without.score_samples(X[:10]), rtol=1e-9)
    off = rows.copy()
    off[:, 2] = [7.0 + 1e-12, 6.52, 7.5, 0.0, -7.0, 1e9, 7.0 - 1e-12, 8.0, 6.0, 3.0]
    np.testing.assert_array_equal(model.score_samples(off), LOG_DENSITY_FLOOR)


def test_every_column_constant_still_raises():
    with pytest.raises(ValueError, match="every column takes a single value"):
        MODELS["DRF"]().fit(np.column_stack([np.full(50, 7.0), np.full(50, -1.5)]))


def test_integers_beyond_float64_precision_are_refused():
    """Ten distinct identifiers near 2**63 would merge into one float64 value: a column read as constant."""
    ids = np.random.default_rng(0).integers(0, 10, (50, 2)).astype(np.uint64) + np.uint64(2**63)
    with pytest.raises(ValueError, match=r"integers beyond 2\*\*53 in magnitude"):
        MODELS["DRF"]().fit(ids)
    MODELS["DRF"]().fit(ids - np.uint64(2**63))  # with the offset subtracted, as the message says


def test_score_function_names_the_constant_column(X):
    model = MODELS["DRF"]().fit(np.column_stack([X, np.full(len(X), 7.0)]))
    with pytest.raises(ValueError, match=r"single value in fit: 2 \(= 7\)"):
        model.score_function(np.column_stack([X[:5], np.full(5, 7.0)]))
    # the model without the column is the same model, with a score
    assert MODELS["DRF"]().fit(X).score_function(X[:5]).shape == (5, 2)


def test_impute_fills_a_constant_column_with_its_value(X):
    data = np.column_stack([X, np.full(len(X), 7.0)])
    data[::10, 2] = np.nan
    data[1::10, 1] = np.nan
    model = MODELS["GBS"]().fit(data)
    queries = data[:20].copy()
    queries[2, 2] = queries[3, 0] = np.nan
    filled = model.impute(queries, random_state=0)
    np.testing.assert_array_equal(filled[:, 2], 7.0)
    assert not np.isnan(filled).any()
    observed = ~np.isnan(queries)
    np.testing.assert_array_equal(filled[observed], queries[observed])


# ----------------------------------------------- 9: labels, far points
def test_codes_for_a_model_fitted_with_label_columns_raise(X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": X[:, 0], "plan": np.where(X[:, 1] > 0, "gold", "basic")})
    model = MODELS["DRF"](categorical_features="auto").fit(frame)
    codes = np.column_stack([X[:5, 0], (X[:5, 1] > 0).astype(float)])
    with pytest.raises(ValueError, match=r"label columns \['plan'\]: pass a DataFrame"):
        model.score_samples(codes)
    assert np.all(model.score_samples(frame.iloc[:5]) > -50)


def test_gradient_boosted_far_points_get_finite_decreasing_log_densities(X):
    model = MODELS["GBS"]().fit(X)
    distances = np.array([1e2, 1e5, 1e8, 1e9, 1e10, 1e12, 1e20, 1e50, 1e100, 1e140])
    log_density = model.score_samples(np.column_stack([distances, np.zeros_like(distances)]))
    assert np.all(np.isfinite(log_density)) and np.all(log_density > LOG_DENSITY_FLOOR)
    assert np.all(np.diff(log_density) < 0)
    # beyond what float64 holds (the standardized row overflows): the floor, no error
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(model.score_samples([[1e308, 0.0], [-1e308, 1e308]]), LOG_DENSITY_FLOOR)


# ------------------------------------------------ 12: memory of score_samples
def _typed_table(n, rng):
    g = rng.standard_normal(n)
    return np.column_stack(
        [g + 0.5 * rng.standard_normal(n), rng.poisson(np.exp(0.5 + 0.3 * g)), (g > 0).astype(float) + (g > 1)]
    )


TYPED = {"integer_features": [1], "categorical_features": [2]}


def test_typed_score_samples_memory_is_bounded():
    rng = np.random.default_rng(3)
    model = DiffusionRandomFeatures(n_features=16, n_steps=2, random_state=0, **TYPED).fit(_typed_table(500, rng))
    # the quadrature and the integration are measured, not the network
    model._log_density = lambda Z: -0.5 * np.einsum("ij,ij->i", Z, Z)
    rows = _typed_table(50_000, rng)
    tracemalloc.start()
    try:
        model.score_samples(rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # all 64 quadrature copies at once: 64 x 50,000 x 3 coordinates, 128 MB, several times over
    assert peak < 64e6, f"peak {peak / 1e6:.0f} MB"  # 410 MB before chunking, 30 MB after


@pytest.mark.parametrize("types", [{}, TYPED], ids=["plain", "typed"])
def test_chunked_score_samples_are_bit_for_bit(monkeypatch, types):
    rng = np.random.default_rng(4)
    model = DiffusionRandomFeatures(n_features=16, n_steps=2, random_state=0, **types).fit(_typed_table(500, rng))
    rows = _typed_table(1100, rng)
    monkeypatch.setattr(skscore.base, "SCORE_CHUNK_ROWS", 2**40)
    whole = model.score_samples(rows)
    # 100 rows a chunk with types (64 quadrature points each), 1024 (the engine's chunk) without
    monkeypatch.setattr(skscore.base, "SCORE_CHUNK_ROWS", 6400 if types else 1024)
    np.testing.assert_array_equal(model.score_samples(rows), whole)


def test_no_warning_from_scales(X):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        MODELS["DRF"]().fit(X * [1e-300, 1e300]).score_samples(X[:3] * [1e-300, 1e300])
