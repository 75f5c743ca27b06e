"""Large data: fits partition by partition (dask), capacity that follows the rows, keyed training pairs."""

import numpy as np
import pytest
from sklearn.base import clone

from skscore import DiffusionRandomFeatures, GaussianMixturePriorDiffusion, GradientBoostedScore
from skscore._engine import KEY_BLOCK_ROWS, Diffusion, GaussianBase
from skscore._schedules import noise_angles


def _skewed_rows(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) @ np.array(
        [[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]]
    )
    X[:, 2] = X[:, 2] ** 2 + 1e3  # skewed, far from the origin
    return X


# ------------------------------------------------ keyed pairs (no dask needed)
def _pairs_by_row(diffusion, Z, parts, pairs_per_row, seed):
    """``{(level, row): sorted noise rows}`` collected over the partitions ``parts`` of ``Z``."""
    found = {}
    for start, stop in parts:
        for k, z, eps in diffusion.keyed_training_pairs(
            Z[start:stop], start, pairs_per_row, seed, batch_rows=500
        ):
            a, s = np.cos(diffusion.noise_angles[k]), np.sin(diffusion.noise_angles[k])
            rows = np.rint((z[:, 0] - s * eps[:, 0]) / a).astype(
                int
            )  # the first coordinate is the row
            for row, e in zip(rows, eps):
                found.setdefault((k, row), []).append(tuple(e))
    return {key: sorted(value) for key, value in found.items()}


@pytest.mark.parametrize("pairs_per_row", [0.3, 2.5])
def test_keyed_pairs_do_not_depend_on_the_partitions(pairs_per_row):
    n = KEY_BLOCK_ROWS + 300  # two keyed blocks, the second one partial
    Z = np.random.default_rng(1).standard_normal((n, 2))
    Z[:, 0] = np.arange(n)  # rows told apart by their first coordinate
    diffusion = Diffusion(
        noise_angles("cosine", 3), GaussianBase.noised(np.zeros(2), np.eye(2), 1.5)
    )
    whole = _pairs_by_row(diffusion, Z, [(0, n)], pairs_per_row, seed=7)
    split = _pairs_by_row(
        diffusion,
        Z,
        [(0, 1000), (1000, KEY_BLOCK_ROWS + 5), (KEY_BLOCK_ROWS + 5, n)],
        pairs_per_row,
        7,
    )
    assert whole == split
    # each row is noised floor(r) times plus once with probability frac(r), at every level
    counts = np.array([len(whole.get((1, i), [])) for i in range(n)])
    assert set(np.unique(counts)) <= {int(pairs_per_row), int(pairs_per_row) + 1}
    assert abs(counts.mean() - pairs_per_row) < 0.03
    # another seed, other draws
    assert _pairs_by_row(diffusion, Z[:50], [(0, 50)], pairs_per_row, seed=8) != {
        key: value for key, value in whole.items() if key[1] < 50
    }


def test_features_follow_the_rows_and_the_columns():
    model = DiffusionRandomFeatures()
    assert [
        model._resolve_n_features(n, 2) for n in (100, 16_384, 100_000, 1_000_000, 10**8)
    ] == [512, 512, 1280, 1536, 1536]
    # 96 features per model coordinate, from 512 up to 1024; the rows' term wins beyond it
    assert [model._resolve_n_features(1000, d) for d in (1, 5, 6, 8, 10, 11, 30)] == [512, 512, 576, 768, 960, 1024, 1024]
    assert model._resolve_n_features(100_000, 30) == 1280
    assert DiffusionRandomFeatures(n_features=64)._resolve_n_features(10**6, 30) == 64
    model.n_random_features_ = 1536
    assert (
        model._pairs_per_level(10**6) == 49_152
        and model._pairs_per_level(10_000) == 10_000
    )
    model.n_random_features_ = 512
    assert (
        model._pairs_per_level(100) == 2048 and model._pairs_per_level(10**6) == 16_384
    )
    fitted = DiffusionRandomFeatures(n_steps=4, max_iter=0, random_state=0).fit(
        _skewed_rows(300)
    )
    assert fitted.n_random_features_ == 512 and fitted.theta2_.shape == (512, 3)


def test_ridge_penalty_fades_with_the_rows_the_levels_draw():
    model = DiffusionRandomFeatures(alpha=5.0, n_steps=30)
    model.n_random_features_ = 1536  # 49,152 pairs a level, 1,474,560 in all
    assert model._ridge_penalty(10_000) == 5.0 / 10_000
    assert model._ridge_penalty(10**6) == 5.0 / 10**6
    floor = 5.0 / (30 * 49_152)
    assert model._ridge_penalty(10**7) == floor == model._ridge_penalty(10**9)


def test_fit_uses_the_penalty_floor_when_rows_outnumber_the_pairs(monkeypatch):
    # 8 features, 2 levels: 256 pairs a level, 512 in all, from 3000 rows
    used = []
    solve = DiffusionRandomFeatures._solve_theta2

    def recording(self, gram, cross, residual, gates, penalty):
        used.append(penalty)
        return solve(gram, cross, residual, gates, penalty)

    monkeypatch.setattr(DiffusionRandomFeatures, "_solve_theta2", recording)
    DiffusionRandomFeatures(n_features=8, n_steps=2, alpha=5.0, max_iter=1, random_state=0).fit(
        _skewed_rows(3000)
    )
    assert used and all(p == 5.0 / 512 for p in used)


# ----------------------------------------------------------------- dask
@pytest.fixture(scope="module")
def in_memory():
    X = _skewed_rows(20_000)
    model = DiffusionRandomFeatures(
        n_features=96, n_steps=6, max_iter=2, random_state=0
    ).fit(X)
    return X, model


def _assert_same_model(a, b, rtol=1e-7):
    assert a.n_random_features_ == b.n_random_features_
    # the same pairs of rows give the frequencies' directions, standardized as shift_ and scale_ are
    np.testing.assert_allclose(a.projection_, b.projection_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.shift_, b.shift_, rtol=1e-12)
    np.testing.assert_allclose(a.scale_, b.scale_, rtol=1e-12)
    scale = np.abs(a.theta2_).max()
    np.testing.assert_allclose(a.theta2_, b.theta2_, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(a.theta1_, b.theta1_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=rtol)


@pytest.mark.parametrize("chunks", [20_000, 7_000, (3_000, 9_000, 1, 7_999)])
def test_dask_fit_is_the_in_memory_fit(in_memory, chunks):
    da = pytest.importorskip("dask.array")
    X, model = in_memory
    lazy = da.from_array(
        X, chunks=(chunks, 2)
    )  # columns split too: gathered per partition
    fitted = DiffusionRandomFeatures(
        n_features=96, n_steps=6, max_iter=2, random_state=0
    ).fit(lazy)
    _assert_same_model(model, fitted)
    probe = X[:300]
    np.testing.assert_allclose(
        fitted.score_samples(probe), model.score_samples(probe), rtol=0, atol=1e-8
    )
    np.testing.assert_allclose(
        fitted.sample(50, random_state=3),
        model.sample(50, random_state=3),
        rtol=0,
        atol=1e-6,
    )
    # scoring a dask array is lazy, partition by partition
    scores = fitted.score_samples(da.from_array(probe, chunks=(100, 3)))
    assert hasattr(scores, "compute")
    np.testing.assert_allclose(
        scores.compute(), fitted.score_samples(probe), rtol=0, atol=1e-12
    )
    assert fitted.score(da.from_array(probe, chunks=(100, 3))) == pytest.approx(
        fitted.score(probe)
    )


def test_a_lazily_generated_table_is_fitted_without_gathering_it(monkeypatch):
    da = pytest.importorskip("dask.array")
    made = []

    def rows(block_info=None):
        start = block_info[None]["array-location"][0][0]
        made.append(start)
        return _skewed_rows(2_500, seed=start)

    lazy = da.map_blocks(rows, chunks=((2_500,) * 4, (3,)), dtype=np.float64)

    def gathered(*args, **kwargs):
        raise AssertionError("the whole table was gathered")

    with monkeypatch.context() as patch:
        for name in ("__array__", "compute", "persist"):
            patch.setattr(da.Array, name, gathered)
        model = DiffusionRandomFeatures(
            n_features=32, n_steps=4, max_iter=1, random_state=0
        ).fit(lazy)
    # each partition made once per pass: extremes, moments, the rows of the frequencies' directions and
    # the statistics of the levels
    assert sorted(made) == sorted(list(range(0, 10_000, 2_500)) * 4)
    in_memory = np.vstack(
        [_skewed_rows(2_500, seed=start) for start in range(0, 10_000, 2_500)]
    )
    _assert_same_model(
        DiffusionRandomFeatures(n_features=32, n_steps=4, max_iter=1, random_state=0).fit(
            in_memory
        ),
        model,
    )


def test_dask_dataframe_keeps_names_and_scores_lazily():
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X = _skewed_rows(3_000)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = DiffusionRandomFeatures(n_features=32, n_steps=4, max_iter=1, random_state=0)
    model.fit(dd.from_pandas(frame, npartitions=3))
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c"])
    np.testing.assert_allclose(
        model.score_samples(dd.from_pandas(frame[:200], npartitions=2)).compute(),
        model.score_samples(frame[:200]),
        rtol=0,
        atol=1e-12,
    )
    assert list(model.sample(5, random_state=0).columns) == ["a", "b", "c"]


def test_dask_scoring_is_lazy_and_takes_empty_partitions(monkeypatch):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    da = pytest.importorskip("dask.array")
    X = _skewed_rows(600)
    table = pd.DataFrame(X, columns=["a", "b", "c"])
    model = DiffusionRandomFeatures(n_features=16, n_steps=4, max_iter=1, random_state=0).fit(table)
    frame = dd.from_pandas(table, npartitions=3)
    calls = []
    score_samples = type(model).score_samples
    def counted(self, rows):
        calls.append(rows)
        return score_samples(self, rows)

    monkeypatch.setattr(type(model), "score_samples", counted)
    lazy = model.score_samples(frame)
    assert len(calls) == 1  # the call on the dask frame itself: no partition scored yet
    expected = score_samples(model, table)
    np.testing.assert_allclose(lazy.compute(), expected, rtol=0, atol=1e-12)
    assert sorted(len(rows) for rows in calls[1:]) == [200, 200, 200]  # each partition once
    monkeypatch.undo()
    # a filter leaves empty partitions: they give no rows, not an error
    top = X[:, 0] > np.quantile(X[:, 0], 0.9)
    kept = frame[frame["a"] > np.quantile(X[:, 0], 0.9)]
    np.testing.assert_allclose(model.score_samples(kept).compute(), expected[top], rtol=0, atol=1e-12)
    assert model.score(kept) == pytest.approx(np.mean(expected[top]))
    plain = DiffusionRandomFeatures(n_features=16, n_steps=4, max_iter=1, random_state=0).fit(X)
    gapped = da.concatenate([da.from_array(X[:200]), da.from_array(X[:0]), da.from_array(X[200:])])
    np.testing.assert_allclose(plain.score_samples(gapped).compute(), expected, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="Expected a 2D dask array"):
        plain.score_samples(da.from_array(X[:, 0]))


def test_dask_constant_column_is_a_point_mass_as_in_memory():
    da = pytest.importorskip("dask.array")
    X = _skewed_rows(2_000)
    X[:, 1] = 4.25
    kwargs = dict(n_features=32, n_steps=4, max_iter=1, random_state=0)
    model = DiffusionRandomFeatures(**kwargs).fit(da.from_array(X, chunks=(700, 3)))
    _assert_same_model(DiffusionRandomFeatures(**kwargs).fit(X), model)
    assert np.all(model.sample(20, random_state=0)[:, 1] == 4.25)


@pytest.mark.parametrize("magnitude", [1e155, 1e-200])
def test_dask_fit_of_extreme_magnitudes_is_the_in_memory_fit(magnitude):
    """The moments are taken in [-1, 1] units: squares of 1e155 overflow, of 1e-200 vanish."""
    da = pytest.importorskip("dask.array")
    X = _skewed_rows(400) * magnitude
    kwargs = dict(n_features=32, n_steps=4, max_iter=1, random_state=0)
    model = DiffusionRandomFeatures(**kwargs).fit(da.from_array(X, chunks=(150, 3)))
    _assert_same_model(DiffusionRandomFeatures(**kwargs).fit(X), model)


def test_models_without_partition_fits_compute_the_data():
    da = pytest.importorskip("dask.array")
    X = _skewed_rows(600)
    kwargs = dict(
        n_components=2,
        n_steps=4,
        predictor=DiffusionRandomFeatures(n_features=16, max_iter=0),
        random_state=0,
    )
    lazy = GaussianMixturePriorDiffusion(**kwargs).fit(
        da.from_array(X, chunks=(250, 3))
    )
    direct = GaussianMixturePriorDiffusion(**kwargs).fit(X)
    np.testing.assert_array_equal(
        lazy.sample(10, random_state=0), direct.sample(10, random_state=0)
    )


BAD_DASK_FITS = [
    (
        "column types",
        dict(integer_features=[0]),
        lambda X: X,
        "continuous columns only, but integer_features=\\[0\\]",
    ),
    (
        "NaN",
        {},
        lambda X: np.where(np.arange(len(X))[:, None] == 5, np.nan, X),
        "contains NaN or infinity",
    ),
    ("one row", {}, lambda X: X[:1], "minimum of 2 is required"),
    ("complex", {}, lambda X: X + 1j, "Complex data not supported"),
]


@pytest.mark.parametrize(
    "params, change, match",
    [c[1:] for c in BAD_DASK_FITS],
    ids=[c[0] for c in BAD_DASK_FITS],
)
def test_bad_dask_fits_are_refused(params, change, match):
    da = pytest.importorskip("dask.array")
    model = DiffusionRandomFeatures(n_features=8, n_steps=3, **params)
    with pytest.raises(ValueError, match=match):
        model.fit(da.from_array(change(_skewed_rows(100)), chunks=(40, 3)))
    assert not hasattr(model, "theta2_")


def test_dask_dataframe_nullable_missing_values_are_nan():
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    frame = pd.DataFrame({"x": np.arange(10.0), "count": pd.array([1, 2, None, 4, 5, 6, 7, 8, 9, 10], dtype="Int64")})
    with pytest.raises(ValueError, match="contains NaN or infinity"):
        DiffusionRandomFeatures(n_features=8, n_steps=3).fit(dd.from_pandas(frame, npartitions=2))
    complex_frame = pd.DataFrame({"x": np.arange(10.0), "z": np.arange(10.0) + 1j})
    with pytest.raises(ValueError, match=r"columns \['z'\] of the dask DataFrame are not real numbers"):
        DiffusionRandomFeatures(n_features=8, n_steps=3).fit(dd.from_pandas(complex_frame, npartitions=2))


def test_dask_dataframe_with_labels_is_refused():
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    frame = pd.DataFrame({"x": np.arange(10.0), "plan": ["a", "b"] * 5})
    with pytest.raises(
        ValueError, match=r"columns \['plan'\] of the dask DataFrame are not real numbers"
    ):
        DiffusionRandomFeatures(n_features=8, n_steps=3).fit(
            dd.from_pandas(frame, npartitions=2)
        )


def test_fit_on_a_local_cluster_is_the_in_memory_fit(in_memory):
    pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    import dask.array as da

    X, model = in_memory
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster):
            fitted = DiffusionRandomFeatures(
                n_features=96, n_steps=6, max_iter=2, random_state=0
            )
            fitted.fit(da.from_array(X, chunks=(5_000, 3)))
    _assert_same_model(model, fitted)


def test_tree_leaves_follow_the_rows():
    from skscore.boosted import _auto_leaves

    np.testing.assert_array_equal(_auto_leaves([100, 8192, 100_000, 1_000_000]), [31, 31, 108, 255])
    X = _skewed_rows(400)
    y = np.repeat([0, 1], 200)
    model = GradientBoostedScore(n_noise_levels=3, duplicate_K=2, max_iter=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.max_leaf_nodes_, [31, 31])
    np.testing.assert_array_equal(model.min_samples_leaf_, [20, 20])  # four rows' copies are fewer than 20
    auto_copies = GradientBoostedScore(n_noise_levels=3, max_iter=2, random_state=0).fit(X[:300], y[:300])
    np.testing.assert_array_equal(auto_copies.duplicate_K_, [100, 100])
    np.testing.assert_array_equal(auto_copies.min_samples_leaf_, [400, 400])
    pairs = clone(auto_copies).set_params(min_training_rows_leaf=2).fit(X[:300], y[:300])
    np.testing.assert_array_equal(pairs.min_samples_leaf_, [200, 200])
    fixed_leaf = clone(pairs).set_params(min_samples_leaf=30).fit(X[:300], y[:300])
    np.testing.assert_array_equal(fixed_leaf.min_samples_leaf_, [30, 30])  # a number overrides the rows
    fixed = GradientBoostedScore(n_noise_levels=3, duplicate_K=2, max_iter=2, max_leaf_nodes=4, random_state=0).fit(X)
    np.testing.assert_array_equal(fixed.max_leaf_nodes_, [4])
    # the trees are grown with room for that many leaves
    assert {level.trees.leaf_values.shape[1] for level in fixed.diffusions_[0].predictor.levels} == {4}
    assert {level.trees.leaf_values.shape[1] for level in model.diffusions_[1].predictor.levels} == {31}


def test_auto_duplication_caps_the_rows_of_a_level(monkeypatch, capsys):
    from skscore import boosted

    monkeypatch.setattr(boosted, "_MAX_AUTO_ROWS_PER_LEVEL", 50)
    X = _skewed_rows(200)
    GradientBoostedScore(n_noise_levels=2, max_iter=2, verbose=2, random_state=0).fit(X)
    lines = [line for line in capsys.readouterr().out.splitlines() if "trees on" in line]
    # 'auto': 100 copies of a fresh subset of 50 rows per level
    assert len(lines) == 2 and all(" trees on 5000 noised rows (" in line for line in lines)
    GradientBoostedScore(n_noise_levels=2, duplicate_K=3, max_iter=2, verbose=2, random_state=0).fit(X)
    lines = [line for line in capsys.readouterr().out.splitlines() if "trees on" in line]
    assert len(lines) == 2 and all(" trees on 600 noised rows (" in line for line in lines)


def test_convex_gates_follow_the_rows():
    from skscore import ConvexTwoLayerScore
    from skscore.convex import _auto_gates

    assert [_auto_gates(n) for n in (100, 1024, 10_000, 100_000)] == [32, 32, 100, 160]
    assert [_auto_gates(n, 2) for n in (100, 256, 1024, 10_000, 100_000)] == [32, 32, 64, 200, 320]
    model = ConvexTwoLayerScore(n_steps=4, noise_levels=2, tol=0.5, random_state=0).fit(_skewed_rows(300)[:, :2])
    assert model.n_gates_ == 32 and model.n_patterns_.max() <= 32
    assert ConvexTwoLayerScore(n_gates=5, n_steps=4, noise_levels=2, tol=0.5).fit(_skewed_rows(300)).n_gates_ == 5
