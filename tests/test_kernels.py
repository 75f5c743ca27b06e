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


def _gate_problem(rng, K=3, N=16, d=2, m=60):
    S = np.sin(rng.standard_normal((K, m, N)))
    gram = S.transpose(0, 2, 1) @ S / m
    cross = S.transpose(0, 2, 1) @ rng.standard_normal((K, m, d)) / m
    return gram, cross, 0.5 * rng.standard_normal((N, d)), rng.uniform(-1, 1, (K, N))


def test_gate_step_lowers_every_levels_quadratic_and_stays_in_the_box():
    """Each level's ``g' H g / 2 - q' g`` falls, gates stay in [-1, 1], and enough steps reach the box optimum."""
    from scipy.optimize import minimize

    gram, cross, theta2, gates = _gate_problem(np.random.default_rng(0))
    outer = theta2 @ theta2.T
    start = gates.copy()
    directions = np.full(gates.shape, 1 / np.sqrt(gates.shape[1]))
    _kernels.update_gates(gram, cross, theta2, outer, gates, 500, 50, directions)
    assert np.all(np.abs(gates) <= 1)
    for G, C, g0, g in zip(gram, cross, start, gates):
        H, q = G * outer, np.sum(C * theta2, axis=1)
        loss = lambda x: 0.5 * x @ H @ x - q @ x  # noqa: E731
        assert loss(g) < loss(g0)
        best = minimize(loss, g0, jac=lambda x: H @ x - q, bounds=[(-1, 1)] * len(g), method="L-BFGS-B",
                        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
        assert loss(g) <= best.fun + 1e-6 * abs(best.fun)
    # the directions left behind are unit vectors along which each level's quadratic is near its
    # largest eigenvalue: a warm start for the next step
    for G, v in zip(gram, directions):
        H = G * outer
        assert np.linalg.norm(v) == pytest.approx(1) and v @ H @ v > 0.99 * np.linalg.eigvalsh(H)[-1]


def test_warm_power_steps_reach_the_gates_of_cold_ones():
    """Three power steps from the last leading direction give the step that fifteen from scratch give."""
    gram, cross, theta2, gates = _gate_problem(np.random.default_rng(2))
    outer = theta2 @ theta2.T
    warm = np.full(gates.shape, 1 / np.sqrt(gates.shape[1]))
    _kernels.update_gates(gram, cross, theta2, outer, gates.copy(), 30, 50, warm)
    theta2 = theta2 * 1.01  # the next alternation's quadratics: close to the last ones
    outer = theta2 @ theta2.T
    cold_gates, warm_gates, short_gates = gates.copy(), gates.copy(), gates.copy()
    _kernels.update_gates(gram, cross, theta2, outer, cold_gates, 30, 15, np.full(gates.shape, 1 / np.sqrt(gates.shape[1])))
    _kernels.update_gates(gram, cross, theta2, outer, warm_gates, 30, 3, warm)
    np.testing.assert_allclose(warm_gates, cold_gates, rtol=0, atol=1e-4)
    # three steps from scratch do not (their estimate of the largest eigenvalue is too low)
    _kernels.update_gates(gram, cross, theta2, outer, short_gates, 30, 3, np.full(gates.shape, 1 / np.sqrt(gates.shape[1])))
    assert np.abs(short_gates - cold_gates).max() > 1e-3


def test_gated_gram_sum_is_the_ridge_system():
    gram, _, _, gates = _gate_problem(np.random.default_rng(3), K=4, N=9)
    out = np.empty((9, 9))
    _kernels.gated_gram_sum(gram, gates, 0.25, out)
    expected = 0.25 * np.eye(9) + sum(np.outer(g, g) * G for g, G in zip(gates, gram)) / len(gates)
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-15)


def test_gate_step_is_the_same_on_any_number_of_threads():
    from numba import get_num_threads, set_num_threads

    gram, cross, theta2, gates = _gate_problem(np.random.default_rng(1), K=5)
    results, before = [], get_num_threads()
    try:
        for threads in (1, min(2, before)):
            set_num_threads(threads)
            out = gates.copy()
            directions = np.full(out.shape, 1 / np.sqrt(out.shape[1]))
            _kernels.update_gates(gram, cross, theta2, theta2 @ theta2.T, out, 30, 15, directions)
            results.append(out)
    finally:
        set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])


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


def test_bin_codes_count_the_edges_below_each_value():
    # values on the edges, NaN, infinities, a feature without edges, rows not a multiple of the batch
    rng = np.random.default_rng(8)
    X = np.round(rng.standard_normal((203, 3)), 1)
    X[rng.random(X.shape) < 0.05] = np.nan
    X[0, 0], X[1, 1] = np.inf, -np.inf
    max_bins = 255
    thresholds = np.full((3, max_bins), np.inf)
    edge_sets = [np.unique(np.round(rng.standard_normal(200), 1)), np.array([-0.3, 0.0, 0.4]), np.empty(0)]
    for f, edges in enumerate(edge_sets):
        thresholds[f, : len(edges)] = edges
    n_bins = np.array([len(edges) + 1 for edges in edge_sets])
    codes = np.empty(X.shape, dtype=np.uint8)
    _kernels.bin_codes(X, thresholds, n_bins, max_bins, codes)
    for f, edges in enumerate(edge_sets):
        expected = np.where(np.isnan(X[:, f]), max_bins, np.searchsorted(edges, X[:, f], side="left"))
        np.testing.assert_array_equal(codes[:, f], expected)


def _binned(X, max_bins):
    n_features = X.shape[1]
    thresholds = np.full((n_features, max_bins), np.inf)
    n_bins = np.empty(n_features, dtype=np.int64)
    for f in range(n_features):
        edges = np.unique(np.nanquantile(X[:, f], np.linspace(0, 1, max_bins + 1)[1:-1]))
        thresholds[f, : len(edges)] = edges
        n_bins[f] = len(edges) + 1
    codes = np.empty((X.shape[0], n_features), dtype=np.uint8)
    _kernels.bin_codes(X, thresholds, n_bins, max_bins, codes)
    return _kernels.BinnedFeatures(codes, n_bins, thresholds)


@pytest.mark.parametrize("sketch_size", [None, 2])
@pytest.mark.parametrize("missing_targets", [False, True])
def test_boosted_trees_predict_what_they_fit(sketch_size, missing_targets):
    rng = np.random.default_rng(3)
    n, n_outputs, n_trees = 400, 4, 8
    X = rng.standard_normal((n, 3))
    y = np.column_stack([np.sin(2 * X[:, 0]), X[:, 1] ** 2, X[:, 0] * X[:, 2], rng.standard_normal(n)])
    X[rng.random(X.shape) < 0.1] = np.nan
    weight = (rng.random(y.shape) > 0.2).astype(float) if missing_targets else np.empty((0, 0))
    sketches = (
        rng.standard_normal((n_trees, n_outputs, sketch_size)) if sketch_size else np.empty((0, 0, 0))
    )
    trees = _kernels.empty_ensemble(n_trees, 8, n_outputs)
    residual = y.copy()
    params = _kernels.BoosterParams(0.5, 1.0, 3, 5)
    _kernels.fit_boosted_trees(_binned(X, 16), residual, weight, sketches, params, trees, _kernels.no_early_stopping())
    assert (trees.left >= 0).sum() > n_trees  # the trees did split
    assert trees.leaf_values.shape == (n_trees, 8, n_outputs)
    pred = np.zeros_like(y)
    _kernels.predict_boosted_trees(X, trees, pred)
    observed = weight > 0 if missing_targets else np.ones(y.shape, dtype=bool)
    np.testing.assert_allclose(pred[observed], (y - residual)[observed], atol=1e-12)
    np.testing.assert_array_equal(residual[~observed], y[~observed])
    assert np.mean(residual[observed] ** 2) < 0.8 * np.mean(y[observed] ** 2)


@pytest.mark.parametrize("n_outputs", [3, 4])  # 4: the unrolled path of the default sketch
def test_first_split_is_the_exhaustive_best_split(n_outputs):
    # one split of one tree: its gain must be the largest over every
    # (feature, bin, side of the missing values) that keeps min_samples_leaf rows
    rng = np.random.default_rng(5)
    n, min_leaf = 300, 7
    X = rng.standard_normal((n, 3))
    X[rng.random(X.shape) < 0.15] = np.nan
    y = np.column_stack([np.sin(3 * np.nan_to_num(X[:, j % 3])) for j in range(n_outputs)]) + rng.standard_normal((n, n_outputs))
    binned = _binned(X, 16)
    trees = _kernels.empty_ensemble(1, 2, n_outputs)
    params = _kernels.BoosterParams(1.0, 2.0, 5, min_leaf)
    _kernels.fit_boosted_trees(
        binned, y.copy(), np.empty((0, 0)), np.empty((0, 0, 0)), params, trees, _kernels.no_early_stopping()
    )

    def score(rows):
        return (y[rows].sum(axis=0) ** 2).sum() / (rows.sum() + 2.0)

    best = (-np.inf, None)
    for f in range(3):
        missing = binned.codes[:, f] == binned.thresholds.shape[1]
        for b in range(binned.n_bins[f]):
            for missing_left in (False, True):
                left = (binned.codes[:, f] <= b) & ~missing | (missing & missing_left)
                if min(left.sum(), n - left.sum()) < min_leaf:
                    continue
                gain = score(left) + score(~left) - score(np.ones(n, bool))
                if gain > best[0] + 1e-9:
                    best = (gain, left)
    go_left = np.where(np.isnan(X[:, trees.feature[0, 0]]), trees.missing_left[0, 0], X[:, trees.feature[0, 0]] <= trees.threshold[0, 0])
    np.testing.assert_array_equal(go_left, best[1])


@pytest.mark.parametrize("jump_at", [10, 30])
def test_a_split_may_leave_exactly_min_samples_leaf_rows(jump_at):
    # the best threshold leaves exactly min_samples_leaf rows on one side (left, then
    # right): the split search skips the bins past which a side would keep fewer, not these
    X = np.arange(40.0)[:, None]
    y = (X >= jump_at).astype(float)
    trees = _kernels.empty_ensemble(1, 2, 1)
    params = _kernels.BoosterParams(1.0, 0.0, 5, 10)
    _kernels.fit_boosted_trees(
        _binned(X, 64), y.copy(), np.empty((0, 0)), np.empty((0, 0, 0)), params, trees, _kernels.no_early_stopping()
    )
    assert jump_at - 1 < trees.threshold[0, 0] < jump_at


@pytest.mark.parametrize("k", [3, 4])  # 4: the default sketch's unrolled path
def test_sketch_is_the_product_of_residual_and_projection(k):
    from skscore._kernels.trees import _sketch

    rng = np.random.default_rng(2)
    residual, projection = rng.standard_normal((50, 7)), rng.standard_normal((7, k))
    grad = np.empty((50, k))
    _sketch(residual, projection, grad)
    np.testing.assert_allclose(grad, residual @ projection, rtol=1e-12, atol=1e-12)


def _exhaustive_best_split(binned, y, rows, min_leaf, l2):
    """(gain, rows going left) of the best split of ``rows`` by brute force, or (0, None)."""

    def score(subset):
        return (y[subset].sum(axis=0) ** 2).sum() / (subset.sum() + l2)

    best = (0.0, None)
    parent = score(rows)
    for f in range(binned.codes.shape[1]):
        codes = binned.codes[:, f]
        missing = codes == binned.thresholds.shape[1]
        for b in range(binned.n_bins[f]):
            for missing_left in (False, True):
                left = rows & ((codes <= b) & ~missing | (missing & missing_left))
                right = rows & ~left
                if min(left.sum(), right.sum()) < min_leaf:
                    continue
                gain = score(left) + score(right) - parent
                if gain > best[0] + 1e-9:
                    best = (gain, left)
    return best


def test_grown_tree_is_the_exhaustive_best_first_tree():
    # a whole tree against a brute-force best-first grower: many of its leaves
    # are too small or too deep to split, so the kernel skips their histograms
    # and hands the histogram slots of its pool from parent to child
    rng = np.random.default_rng(11)
    n, n_outputs, max_leaves, min_leaf, max_depth, l2 = 400, 3, 12, 15, 4, 1.0
    X = rng.standard_normal((n, 3))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.sin(2 * np.nan_to_num(X)) + 0.3 * rng.standard_normal((n, n_outputs))
    binned = _binned(X, 16)
    trees = _kernels.empty_ensemble(1, max_leaves, n_outputs)
    params = _kernels.BoosterParams(1.0, l2, max_depth, min_leaf)
    _kernels.fit_boosted_trees(
        binned, y.copy(), np.empty((0, 0)), np.empty((0, 0, 0)), params, trees, _kernels.no_early_stopping()
    )

    nodes = [(np.ones(n, dtype=bool), 0)]  # (rows, depth), in the kernel's node order; a split node's rows emptied
    splits = {0: _exhaustive_best_split(binned, y, nodes[0][0], min_leaf, l2)}
    while (len(nodes) + 1) // 2 < max_leaves:
        open_leaves = [m for m in splits if splits[m][1] is not None]
        if not open_leaves:
            break
        m = max(open_leaves, key=lambda m: (splits[m][0], -m))
        rows, depth = nodes[m]
        left = splits.pop(m)[1]
        for child in (left, rows & ~left):
            nodes.append((child, depth + 1))
            fits = depth + 1 < max_depth and child.sum() >= 2 * min_leaf
            splits[len(nodes) - 1] = _exhaustive_best_split(binned, y, child, min_leaf, l2) if fits else (0.0, None)
        nodes[m] = (np.zeros(n, dtype=bool), depth)  # split: no longer a leaf
    expected = np.zeros_like(y)
    for rows, _ in nodes:
        if rows.any():
            expected[rows] = y[rows].sum(axis=0) / (rows.sum() + l2)
    assert sum(rows.any() for rows, _ in nodes) == (trees.left[0] >= 0).sum() + 1 > 6
    pred = np.zeros_like(y)
    _kernels.predict_boosted_trees(X, trees, pred)
    np.testing.assert_allclose(pred, expected, atol=1e-10)


def _fitted_trees(n_trees=6, n_features=3, seed=3):
    """Trees fitted to a smooth field of ``n_features`` inputs and as many outputs."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((500, n_features))
    y = np.column_stack([np.sin(2 * X[:, 0]), X[:, 1] ** 2, X[:, 0] * X[:, 2]])[:, :n_features]
    trees = _kernels.empty_ensemble(n_trees, 8, n_features)
    _kernels.fit_boosted_trees(
        _binned(X, 32),
        y.copy(),
        np.empty((0, 0)),
        np.empty((0, 0, 0)),
        _kernels.BoosterParams(0.5, 1.0, 3, 5),
        trees,
        _kernels.no_early_stopping(),
    )
    return trees


def _smoothed(X, trees, bandwidth):
    out, div = np.zeros_like(X), np.zeros(len(X))
    _kernels.predict_smoothed_trees(X, trees, bandwidth, out, div)
    return out, div


def test_smoothed_trees_divergence_is_the_trace_of_their_jacobian():
    trees = _fitted_trees()
    X = np.random.default_rng(4).standard_normal((300, 3))
    bandwidth = np.array([0.05, 0.2, 0.5])
    out, div = _smoothed(X, trees, bandwidth)
    step, trace = 1e-6, np.zeros(len(X))
    for j in range(3):
        shift = np.zeros(3)
        shift[j] = step
        trace += (_smoothed(X + shift, trees, bandwidth)[0][:, j] - _smoothed(X - shift, trees, bandwidth)[0][:, j]) / (
            2 * step
        )
    assert np.abs(div).max() > 0.1  # the field does vary
    np.testing.assert_allclose(div, trace, atol=1e-6 * np.abs(div).max())
    # an empty divergence array skips it and leaves the prediction unchanged
    alone = np.zeros_like(X)
    _kernels.predict_smoothed_trees(X, trees, bandwidth, alone, np.empty(0))
    np.testing.assert_array_equal(alone, out)


def test_smoothed_trees_are_the_hard_trees_away_from_their_thresholds():
    trees = _fitted_trees()
    X = np.random.default_rng(5).standard_normal((300, 3))
    hard = np.zeros_like(X)
    _kernels.predict_boosted_trees(X, trees, hard)
    # a window narrower than the distance of every row to every threshold
    gaps = np.abs(X[:, trees.feature.ravel()] - trees.threshold.ravel())[:, (trees.left >= 0).ravel()]
    tiny = 0.9 * gaps.min() / np.sqrt(7.0)
    out, div = _smoothed(X, trees, np.full(3, tiny))
    np.testing.assert_array_equal(out, hard)
    np.testing.assert_array_equal(div, 0.0)
    # a wide window averages leaves: outputs are convex mixtures of leaf values
    wide, _ = _smoothed(X, trees, np.full(3, 10.0))
    assert not np.allclose(wide, hard)
    assert np.all(np.abs(wide) <= np.abs(trees.leaf_values).max(axis=1).sum(axis=0) + 1e-12)


def test_smoothed_trees_send_a_missing_input_where_the_hard_trees_do():
    trees = _fitted_trees()
    X = np.random.default_rng(6).standard_normal((300, 3))
    X[::3, 0] = np.nan
    X[1::5, 2] = np.nan
    hard = np.zeros_like(X)
    _kernels.predict_boosted_trees(X, trees, hard)
    observed = X[:, trees.feature.ravel()]
    gaps = np.abs(observed - trees.threshold.ravel())[:, (trees.left >= 0).ravel()]
    out, div = _smoothed(X, trees, np.full(3, 0.9 * np.nanmin(gaps) / np.sqrt(7.0)))
    np.testing.assert_array_equal(out, hard)
    np.testing.assert_array_equal(div, 0.0)


def test_smoothed_trees_without_divergence_add_the_same_sums():
    # sampling and early stopping walk the trees without the divergence's slopes: the
    # same leaves, in the same order, with the same products (wide windows, NaN inputs)
    trees = _fitted_trees()
    X = np.random.default_rng(7).standard_normal((300, 3))
    X[::4, 1] = np.nan
    bandwidth = np.array([0.3, 0.6, 1.0])
    with_divergence, _ = _smoothed(X, trees, bandwidth)
    alone = np.zeros_like(X)
    _kernels.predict_smoothed_trees(X, trees, bandwidth, alone, np.empty(0))
    np.testing.assert_array_equal(alone, with_divergence)


def test_partition_keeps_the_order_on_each_side():
    from skscore._kernels.trees import _partition

    rng = np.random.default_rng(12)
    codes = rng.integers(0, 9, size=(300, 2)).astype(np.uint8)  # bin 8: missing
    idx = np.sort(rng.choice(300, 200, replace=False))
    for missing_left in (False, True):
        rows = idx.copy()
        n_left = _partition(codes[:, 1], rows, np.empty(300, dtype=np.int64), 3, 8, missing_left)
        bins = codes[idx, 1]
        goes_left = np.where(bins == 8, missing_left, bins <= 3)
        assert n_left == goes_left.sum()
        np.testing.assert_array_equal(rows[:n_left], idx[goes_left])
        np.testing.assert_array_equal(rows[n_left:], idx[~goes_left])


def _held_out_losses(X, y, weight, trees, bandwidth):
    """Held-out squared residual after each prefix of ``trees``, from the prediction kernels."""
    prediction, losses = np.zeros_like(y), [np.sum(weight * y**2)]
    for t in range(trees.feature.shape[0]):
        one = _kernels.TreeEnsemble(*(np.ascontiguousarray(field[t : t + 1]) for field in trees))
        if bandwidth is None:
            _kernels.predict_boosted_trees(X, one, prediction)
        else:
            _kernels.predict_smoothed_trees(X, one, bandwidth, prediction, np.empty(0))
        losses.append(np.sum(weight * (y - prediction) ** 2))
    return np.array(losses)


@pytest.mark.parametrize("bandwidth", [None, np.array([0.1, 0.2, 0.3])])
def test_early_stopping_keeps_the_trees_up_to_the_best_held_out_loss(bandwidth):
    # a weak signal in loud noise: the trees soon fit only their rows' noise
    rng = np.random.default_rng(7)
    n_trees, patience, tol = 60, 5, 1e-4

    def rows(n):
        X = rng.standard_normal((n, 3))
        signal = np.column_stack([np.sin(2 * X[:, 0]), X[:, 1] ** 2 - 1, X[:, 0] * X[:, 2]])
        y = signal + 2.0 * rng.standard_normal((n, 3))
        X[rng.random(X.shape) < 0.05] = np.nan
        return X, y, (rng.random(y.shape) > 0.1).astype(float)

    X, y, _ = rows(1000)
    X_out, y_out, weight_out = rows(400)
    y_out *= weight_out
    binned, params = _binned(X, 32), _kernels.BoosterParams(0.5, 0.0, 4, 10)
    full = _kernels.empty_ensemble(n_trees, 8, 3)
    assert _kernels.fit_boosted_trees(
        binned, y.copy(), np.empty((0, 0)), np.empty((0, 0, 0)), params, full, _kernels.no_early_stopping()
    ) == n_trees
    soft = np.empty(0) if bandwidth is None else bandwidth
    stopping = _kernels.EarlyStopping(X_out, y_out, weight_out, soft, patience, tol)
    stopped = _kernels.empty_ensemble(n_trees, 8, 3)
    no_weight, no_sketch = np.empty((0, 0)), np.empty((0, 0, 0))
    kept = _kernels.fit_boosted_trees(binned, y.copy(), no_weight, no_sketch, params, stopped, stopping)
    # the rule, replayed on the held-out losses of the full fit's prefixes
    losses = _held_out_losses(X_out, y_out, weight_out, full, bandwidth)
    best, expected = losses[0], 0
    for t in range(1, n_trees + 1):
        if losses[t] < best * (1 - tol):
            best, expected = losses[t], t
        elif t - expected >= patience:
            break
    assert 0 < kept == expected < n_trees - patience
    assert losses[kept] < losses[0]
    for field_stopped, field_full in zip(stopped, full):  # the kept trees are the full fit's first ones
        np.testing.assert_array_equal(field_stopped[:kept], field_full[:kept])


def test_gaussian_kde_log_sum_exp_matches_scipy():
    from scipy.special import logsumexp

    rng = np.random.default_rng(4)
    queries, points = rng.standard_normal((30, 3)), rng.standard_normal((200, 3))
    queries[0] = 1e200  # its distances overflow
    inv_two_h2 = 2.0
    out = np.empty(30)
    _kernels.gaussian_kde_log_sum_exp(queries, points, inv_two_h2, out)
    d2 = ((queries[1:, None, :] - points[None]) ** 2).sum(axis=-1)
    np.testing.assert_allclose(out[1:], logsumexp(-d2 * inv_two_h2, axis=1), rtol=1e-12)
    assert out[0] == -np.inf
