import numpy as np
import pytest

from skscore.datasets import (
    DATASETS,
    EXTRA_TABLES,
    SUITE_TABLES,
    BananaSkewLaw,
    GaussianMixtureLaw,
    circle_mixture_2d,
    correlated_mixture_8d,
    load_dataset,
    load_table,
    make_checkerboard,
    make_mixed_table,
    make_moons,
    make_rings,
    mixture_2d,
)


@pytest.mark.parametrize("law", [mixture_2d(), correlated_mixture_8d(), circle_mixture_2d()])
def test_mixture_law_is_a_normalized_density_with_its_score(law):
    X = law.sample(2000, random_state=0)
    # the sample mean of the log-density estimates minus the entropy: compare with a Monte Carlo of itself
    assert np.all(np.isfinite(law.logpdf(X)))
    eps = 1e-5
    x = X[:5]
    numerical = np.array(
        [(law.logpdf(x + eps * e) - law.logpdf(x - eps * e)) / (2 * eps) for e in np.eye(law.n_features)]
    ).T
    np.testing.assert_allclose(law.score(x), numerical, rtol=1e-5, atol=1e-6)
    score, div = law.score_divergence(x)
    numerical_div = sum(
        (law.score(x + eps * e)[:, j] - law.score(x - eps * e)[:, j]) / (2 * eps) for j, e in enumerate(np.eye(law.n_features))
    )
    np.testing.assert_allclose(div, numerical_div, rtol=1e-4, atol=1e-5)


def test_two_dimensional_law_integrates_to_one():
    law = mixture_2d()
    xs = np.linspace(-7, 6, 400)
    grid = np.column_stack([g.ravel() for g in np.meshgrid(xs, xs)])
    assert np.exp(law.logpdf(grid)).sum() * (xs[1] - xs[0]) ** 2 == pytest.approx(1.0, abs=1e-3)


def test_toy_generators():
    rings = make_rings(4000, n_rings=3, noise=0.01, random_state=0)
    assert set(np.round(np.linalg.norm(rings, axis=1)).astype(int)) == {1, 2, 3}
    board = make_checkerboard(1000, random_state=0)
    assert board.shape == (1000, 2) and np.all(np.abs(board) <= 2)
    cells = np.floor(board + 2).astype(int)
    assert np.all(cells.sum(axis=1) % 2 == 0)
    moons = make_moons(100, random_state=0)
    assert moons.shape == (100, 2) and moons.dtype == np.float64
    np.testing.assert_array_equal(make_rings(50, random_state=1), make_rings(50, random_state=1))


@pytest.mark.parametrize("name", DATASETS)
def test_bundled_datasets_are_float_arrays(name):
    X = load_dataset(name)
    assert X.dtype == np.float64 and X.ndim == 2 and X.shape[0] > 100


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="Unknown dataset"):
        load_dataset("mnist")
    # a list used to raise a TypeError in the lookup
    with pytest.raises(ValueError, match="Unknown dataset"):
        load_dataset(["iris"])
    with pytest.raises(ValueError, match="Unknown table"):
        load_table(["iris"])


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: BananaSkewLaw(df=1.5), "df"),  # used to sample NaN
        (lambda: BananaSkewLaw(df=2), "df"),  # used to give a NaN log-density
        (lambda: BananaSkewLaw(skew=0.0), "skew"),
        (lambda: BananaSkewLaw(curvature=np.nan), "curvature"),
        (lambda: BananaSkewLaw().sample(-1), "n_samples"),
        (lambda: BananaSkewLaw().logpdf(np.zeros((3, 2))), "X"),
        (lambda: make_rings(10, n_rings=0), "n_rings"),  # used to raise "high <= 0"
        (lambda: make_rings(-1), "n_samples"),  # used to raise "negative dimensions are not allowed"
        (lambda: make_rings(10, noise=-0.1), "noise"),
        (lambda: make_rings(10, random_state=-1), "random_state"),
        (lambda: make_checkerboard(10, n_squares=0), "n_squares"),  # used to raise "high <= 0"
        (lambda: make_checkerboard(2.5), "n_samples"),
        (lambda: make_moons(10, noise=np.inf), "noise"),
        (lambda: make_mixed_table(0), "n_samples"),
        (lambda: make_mixed_table(10, as_frame="no"), "as_frame"),
        (lambda: circle_mixture_2d(std=0.0), "std"),
        (lambda: circle_mixture_2d(n_components=True), "n_components"),
        (lambda: correlated_mixture_8d(random_state="a"), "random_state"),
        (lambda: load_table("iris", as_frame=1), "as_frame"),
    ],
)
def test_bad_parameters_are_refused_by_name(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        call()


def test_edge_parameters_are_accepted():
    law = BananaSkewLaw(df=2.5, curvature=0)
    assert law.sample(0).shape == (0, 8)
    assert np.all(np.isfinite(law.logpdf(law.sample(100, random_state=0))))
    assert law.logpdf(np.zeros(8)).shape == (1,)  # one row
    assert make_checkerboard(5, n_squares=1, random_state=0).shape == (5, 2)
    np.testing.assert_allclose(np.linalg.norm(make_rings(5, n_rings=1, noise=0.0, random_state=0), axis=1), 1.0)


KINDS = ("continuous", "integer", "categorical")


@pytest.fixture(scope="module")
def suite():
    """Every table of the suite, loaded once for the module."""
    return {name: load_table(name) for name in SUITE_TABLES}


def check_table(table):
    X = table.data
    assert isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == 2
    assert not np.isnan(X).any() and np.isfinite(X).all()
    n_rows, n_cols = X.shape
    assert 100 <= n_rows <= 20_000 and 2 <= n_cols <= 30
    assert len(table.feature_names) == n_cols and all(isinstance(f, str) for f in table.feature_names)
    assert len(set(table.feature_names)) == n_cols
    assert len(table.kinds) == n_cols and set(table.kinds) <= set(KINDS)
    assert table.integer_features == [j for j, k in enumerate(table.kinds) if k == "integer"]
    assert table.categorical_features == [j for j, k in enumerate(table.kinds) if k == "categorical"]
    assert table.integer_features == sorted(table.integer_features)
    assert table.categorical_features == sorted(table.categorical_features)
    assert not set(table.integer_features) & set(table.categorical_features)
    for j in table.integer_features:
        np.testing.assert_array_equal(X[:, j], np.round(X[:, j]), err_msg=table.feature_names[j])
    assert sorted(table.categories) == table.categorical_features
    for j in table.categorical_features:
        levels = table.categories[j]
        assert len(levels) >= 2 and len(set(levels)) == len(levels)
        # codes 0..L-1, every level present
        np.testing.assert_array_equal(np.unique(X[:, j]), np.arange(len(levels), dtype=np.float64))
    for j, kind in enumerate(table.kinds):
        if kind == "continuous":  # a continuous column is not a few codes in disguise
            assert len(np.unique(X[:, j])) >= 5, table.feature_names[j]
    assert isinstance(table.description, str) and 100 < len(table.description) < 1500
    assert table.frame is None


def check_frame(table, frame):
    assert list(frame.columns) == table.feature_names and len(frame) == len(table.data)
    for j, (name, kind) in enumerate(zip(table.feature_names, table.kinds)):
        column = frame[name]
        if kind == "integer":
            assert column.dtype == np.int64
            np.testing.assert_array_equal(column.to_numpy(dtype=np.float64), table.data[:, j])
        elif kind == "categorical":
            assert column.dtype == "category"
            assert list(column.cat.categories) == table.categories[j]
            assert all(isinstance(label, str) for label in column.cat.categories)
            np.testing.assert_array_equal(column.cat.codes.to_numpy(), table.data[:, j])
        else:
            assert column.dtype == np.float64
            np.testing.assert_array_equal(column.to_numpy(), table.data[:, j])


def test_suite_has_at_least_ten_offline_tables():
    assert len(SUITE_TABLES) >= 10 and len(set(SUITE_TABLES)) == len(SUITE_TABLES)
    assert not set(SUITE_TABLES) & set(EXTRA_TABLES)


@pytest.mark.parametrize("name", SUITE_TABLES)
def test_suite_table_is_well_formed(suite, name):
    check_table(suite[name])


@pytest.mark.parametrize("name", SUITE_TABLES)
def test_suite_table_loads_are_deterministic(suite, name):
    again = load_table(name)
    np.testing.assert_array_equal(again.data, suite[name].data)
    assert again.kinds == suite[name].kinds and again.feature_names == suite[name].feature_names
    assert again.data is not suite[name].data


@pytest.mark.parametrize("name", SUITE_TABLES)
def test_suite_table_as_frame(suite, name):
    pytest.importorskip("pandas")
    table = load_table(name, as_frame=True)
    np.testing.assert_array_equal(table.data, suite[name].data)
    check_frame(table, table.frame)


def test_unknown_table_is_refused_with_the_names():
    with pytest.raises(ValueError, match="Unknown table 'mnist'.*geyser.*fair"):
        load_table("mnist")


def _on_grid(x, step):
    return np.allclose(x / step, np.round(x / step), rtol=0, atol=1e-6)


def test_suite_covers_the_promised_kinds(suite):
    shapes = np.array([t.data.shape for t in suite.values()])
    assert shapes[:, 0].min() <= 160 and shapes[:, 0].max() >= 19_000
    assert shapes[:, 1].min() == 2 and shapes[:, 1].max() >= 24
    zero_inflated = grid_01 = grid_05 = top_coded = limit = skewed = 0
    for table in suite.values():
        assert set(table.kinds) != {"categorical"}
        for j, kind in enumerate(table.kinds):
            x = table.data[:, j]
            if kind != "continuous":
                continue
            _, counts = np.unique(x, return_counts=True)
            zero_inflated += np.mean(x == 0) >= 0.2
            if _on_grid(x, 0.1) and not _on_grid(x, 1.0) and counts.max() >= 5 and len(counts) < len(x) / 3:
                grid_01 += 1
            if _on_grid(x, 0.5) and not _on_grid(x, 1.0) and len(counts) < len(x) / 10:
                grid_05 += 1
            positive = x[x > 0]
            if np.all(x >= 0) and np.mean(positive) > 1.3 * np.median(positive):
                skewed += 1
            # an atom at the maximum (a top code) or at the minimum (a detection limit)
            top_coded += 0.005 <= np.mean(x == x.max()) <= 0.1 and counts[-2] < 0.005 * len(x)
            limit += x.min() > 0 and np.mean(x == x.min()) >= 0.1
    assert zero_inflated >= 2 and grid_01 >= 3 and grid_05 >= 3 and top_coded >= 1 and limit >= 2 and skewed >= 5
    assert sum(bool(t.integer_features) for t in suite.values()) >= 6
    assert sum(bool(t.categorical_features) for t in suite.values()) >= 4
    # counts: some integer column starts at 0 with many zeros
    assert any(np.mean(t.data[:, j] == 0) >= 0.2 for t in suite.values() for j in t.integer_features)


def test_generated_tables_have_their_shapes(suite):
    geyser = suite["geyser"].data
    short = geyser[:, 0] < 3.0
    assert 0.2 < short.mean() < 0.5  # bimodal durations
    assert np.mean(geyser[short, 1]) + 15 < np.mean(geyser[~short, 1])  # shorter eruption, shorter wait
    households = suite["households"]
    names = households.feature_names
    X = households.data
    hours, education = X[:, names.index("weekly_hours")], X[:, names.index("education_years")]
    income = X[:, names.index("income")]
    assert np.mean(hours == 40) > 0.3 and np.mean(education == 12) > 0.2 and np.mean(education == 16) > 0.15
    assert 0.005 < np.mean(income == income.max()) < 0.05
    assert np.corrcoef(education, np.log(income))[0, 1] > 0.2
    insurance = suite["insurance"]
    claims = insurance.data[:, insurance.feature_names.index("claims")]
    total = insurance.data[:, insurance.feature_names.index("claim_total")]
    np.testing.assert_array_equal(total == 0, claims == 0)
    assert np.mean(claims == 0) > np.exp(-claims.mean()) + 0.08  # zero inflated beyond Poisson
    crops = suite["crops"]
    dose = crops.data[:, crops.feature_names.index("fertilizer_kg_ha")]
    assert set(np.unique(dose)) == {0.0, 25.0, 50.0, 75.0, 100.0}


def test_sklearn_tables_keep_the_source_numbers(suite):
    from sklearn import datasets

    np.testing.assert_array_equal(suite["wine"].data, datasets.load_wine().data)
    diabetes = datasets.load_diabetes(scaled=False).data
    table = suite["diabetes"]
    assert table.kinds[:2] == ["integer", "categorical"]
    np.testing.assert_array_equal(table.data[:, 1], diabetes[:, 1] - 1)
    np.testing.assert_array_equal(np.delete(table.data, 1, axis=1), np.delete(diabetes, 1, axis=1))


@pytest.mark.parametrize("name", EXTRA_TABLES)
def test_statsmodels_tables(name):
    pytest.importorskip("statsmodels")
    table = load_table(name, as_frame=True)
    frame = table.pop("frame")
    table["frame"] = None
    check_table(table)
    check_frame(table, frame)
    np.testing.assert_array_equal(load_table(name).data, table.data)


def test_statsmodels_tables_name_the_extra_when_missing(monkeypatch):
    import sys

    for module in ("statsmodels", "statsmodels.datasets", "statsmodels.datasets.fair"):
        monkeypatch.setitem(sys.modules, module, None)  # a None entry makes the import fail
    with pytest.raises(ImportError, match=r"skscore\[bench\]"):
        load_table("fair")


def test_banana_skew_law_is_a_normalized_density_of_its_samples():
    from scipy import stats

    from skscore.datasets import BananaSkewLaw

    law = BananaSkewLaw()
    X = law.sample(20000, random_state=1)
    assert X.shape == (20000, 8) and np.all(np.isfinite(law.logpdf(X)))
    # importance sampling from a broad Gaussian: E_q[p / q] = 1 for a normalized p
    q = stats.multivariate_normal(X.mean(axis=0), 2.5 * np.cov(X.T))
    Y = q.rvs(100000, random_state=2)
    ratio = np.exp(law.logpdf(Y) - q.logpdf(Y))
    assert abs(ratio.mean() - 1.0) < 4 * ratio.std() / np.sqrt(len(ratio)) + 0.01
    # not a Gaussian: skewed and heavy-tailed along its own coordinates
    v = X @ law.rotation
    assert stats.skew(v[:, 4]) > 1.0 and stats.kurtosis(v[:, 6]) > 2.0
    # a point below the skewed coordinates' floor is outside the support
    outside = (np.eye(8)[4] * (-2.0 / law.skew)) @ law.rotation.T
    assert law.logpdf(outside[None])[0] == -np.inf


@pytest.mark.parametrize(
    "weights, means, covariances, match",
    [
        ([1, -1], [[0, 0], [1, 1]], [np.eye(2)] * 2, "weights must be"),
        ([0, 0], [[0, 0], [1, 1]], [np.eye(2)] * 2, "weights must be"),
        ([1, 1], [[0, 0]], [np.eye(2)] * 2, r"means must be a finite array of shape \(2, n_features\)"),
        ([1, 1], [[0, 0], [1, np.nan]], [np.eye(2)] * 2, "means must be a finite array"),
        ([1, 1], [[0, 0], [1, 1]], [np.eye(3)] * 2, r"covariances must be a finite array of shape \(2, 2, 2\)"),
        ([1, 1], [[0, 0], [1, 1]], [np.eye(2), -np.eye(2)], r"covariances\[1\] is not symmetric positive definite"),
    ],
)
def test_gaussian_mixture_law_refuses_what_is_not_a_mixture(weights, means, covariances, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureLaw(weights, means, covariances)
