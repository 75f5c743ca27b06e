"""The real-table suite: its ranking code, one small run, and the command line."""

import math
import re

import numpy as np
import pytest
from sklearn.base import clone

from skscore.cli import main
from skscore import GradientBoostedScore
from skscore.suite import SUITE_MODELS, _ranks, _rounded, _split, format_suite, run_suite, summarize


def _row(table, config, w1, loglik=math.nan, auc=0.6, se=0.01, typed=False):
    return {
        "table": table,
        "config": config,
        "family": "reference" if config == "training rows" else "peer" if config[0].isupper() else "skscore",
        "typed": typed,
        "n_train": 100,
        "n_test": 25,
        "w1": w1,
        "w1_se": se,
        "test_loglik": loglik,
        "c2st_auc": auc,
        "fit_s": 1.0,
        "sample_s": 0.1,
    }


def test_ranks_share_ties_and_leave_missing_values_out():
    np.testing.assert_array_equal(_ranks([0.3, 0.1, 0.3, np.nan]), [2.5, 1.0, 2.5, np.nan])
    np.testing.assert_array_equal(_ranks([-2.0, -1.0, np.nan], higher_is_better=True), [2.0, 1.0, np.nan])
    # a log-likelihood of -inf (a test row deemed impossible) ranks last, it is not left out
    np.testing.assert_array_equal(_ranks([-np.inf, -1.0, -3.0], higher_is_better=True), [3.0, 1.0, 2.0])
    assert np.all(np.isnan(_ranks([np.nan, np.nan])))


def test_summary_ranks_wins_likelihood_share_and_typed_changes():
    rows = [
        _row("a", "boosted", 0.10, loglik=-1.0, auc=0.55),
        _row("a", "boosted +types", 0.14, auc=0.52, typed=True),
        _row("a", "GaussianMixture", 0.12, loglik=-1.5, auc=0.70),
        _row("b", "boosted", 0.30, loglik=-3.0, auc=0.45),
        _row("b", "boosted +types", 0.20, auc=0.51, typed=True),
        _row("b", "GaussianMixture", 0.25, loglik=-2.0, auc=0.60),
    ]
    summary, typed = summarize(rows)
    by = {s["config"]: s for s in summary}
    # W1 ranks: a -> boosted 1, GMM 2, typed 3; b -> typed 1, GMM 2, boosted 3
    assert by["boosted"]["w1_rank"] == 2.0 and by["boosted"]["w1_wins"] == 1
    assert by["boosted +types"]["w1_rank"] == 2.0 and by["GaussianMixture"]["w1_rank"] == 2.0
    assert by["boosted"]["w1"] == pytest.approx(0.2)
    # head to head with the peers alone: boosted 1 then 2, typed 2 then 1; peers get none
    assert by["boosted"]["w1_rank_vs_peers"] == 1.5 and by["boosted +types"]["w1_rank_vs_peers"] == 1.5
    assert math.isnan(by["GaussianMixture"]["w1_rank_vs_peers"])
    # log-likelihood: only the plain densities are ranked; boosted beats GMM on one table of two
    assert by["boosted"]["loglik_rank"] == 1.5 and by["boosted"]["loglik_beats_gmm"] == 0.5
    assert math.isnan(by["boosted +types"]["loglik_rank"]) and math.isnan(by["GaussianMixture"]["loglik_beats_gmm"])
    # C2ST gap |AUC - 0.5|: a -> typed .02, boosted .05, GMM .2; b -> typed .01, boosted .05, GMM .1
    assert by["boosted +types"]["c2st_rank"] == 1.0 and by["GaussianMixture"]["c2st_rank"] == 3.0
    assert by["boosted"]["c2st_gap"] == pytest.approx(0.05)
    assert [(t["table"], round(t["w1_change_se"], 3)) for t in typed] == [
        ("a", round(0.04 / math.hypot(0.01, 0.01), 3)),
        ("b", round(-0.10 / math.hypot(0.01, 0.01), 3)),
    ]
    text = format_suite(rows)
    assert "| boosted | a | 0.1000 | 0.1400 | +2.8 | 0.550 | 0.520 |" in text
    assert "50 %" in text


def test_every_markdown_table_has_as_many_cells_as_its_header():
    # the summary's header "C2ST |AUC-.5|" held two pipes: 15 header cells over 13 columns, not a table
    rows = [_row("a", "boosted", 0.10, loglik=-1.0, se=math.nan), _row("a", "GaussianMixture", 0.12, loglik=-1.5)]
    text = format_suite(rows)
    blocks = [block.splitlines() for block in text.split("\n\n") if block.lstrip().startswith("|")]
    assert blocks
    for lines in blocks:
        widths = {line.count("|") - line.count("\\|") for line in lines if line.lstrip().startswith("|")}
        assert len(widths) == 1, lines[:2]
    assert "nan" not in text.replace("(nan", "")  # one draw: a W1 without "+- nan"


def test_ties_for_first_are_wins_and_likelihoods_over_fewer_tables_are_marked():
    rows = [
        _row("a", "boosted", 0.10, loglik=-1.0, auc=0.55),
        _row("a", "random-features", 0.10, loglik=-1.2, auc=0.45),
        _row("a", "GaussianMixture", 0.10, loglik=-1.5, auc=0.70),
        _row("b", "boosted", 0.30, auc=0.70),  # a table where it has no plain density
        _row("b", "random-features", 0.20, loglik=-2.5, auc=0.30),
        _row("b", "GaussianMixture", 0.25, loglik=-2.0, auc=0.60),
    ]
    summary, _ = summarize(rows)
    by = {s["config"]: s for s in summary}
    # three-way tie for the best W1 on a: a win each (each ranks 2.0 there)
    assert [by[c]["w1_wins"] for c in ("boosted", "random-features", "GaussianMixture")] == [1, 2, 1]
    # |0.55 - 0.5| and |0.45 - 0.5| (and |0.7 - 0.5|, |0.3 - 0.5|) differ in their last bits only: they tie
    assert by["boosted"]["c2st_rank"] == by["random-features"]["c2st_rank"] == 2.0
    assert by["boosted"]["n_loglik_tables"] == 1 and by["random-features"]["n_loglik_tables"] == 2
    text = format_suite(rows)
    assert "| boosted | 2 |" in text and "| 1.00 (of 1) | 100 % (of 1) |" in text


def test_the_reference_rows_are_shown_but_ranked_with_none():
    rows = [
        _row("a", "boosted", 0.10, loglik=-1.0, auc=0.55),
        _row("a", "GaussianMixture", 0.12, loglik=-1.5, auc=0.70),
        _row("a", "training rows", 0.20, auc=0.50),
        _row("b", "boosted", 0.30, loglik=-3.0, auc=0.45),
        _row("b", "GaussianMixture", 0.25, loglik=-2.0, auc=0.60),
        _row("b", "training rows", 0.25, auc=0.50),
    ]
    rows[0].update(spread=0.9, dcr=0.8, c2st_auc_se=0.02)
    summary, _ = summarize(rows)
    by = {s["config"]: s for s in summary}
    # the reference (W1 0.20 and 0.25, AUC exactly 0.5) would rank first or second: it is left out of every rank
    assert "training rows" not in by
    assert by["boosted"]["w1_rank"] == 1.5 and by["boosted"]["w1_wins"] == 1 and by["GaussianMixture"]["c2st_rank"] == 2.0
    # W1 over the reference's, per table: (0.10 / 0.20 + 0.30 / 0.25) / 2
    assert by["boosted"]["w1_over_real"] == pytest.approx(0.85)
    assert by["GaussianMixture"]["w1_over_real"] == pytest.approx((0.6 + 1.0) / 2)
    # spread and DCR: means over the rows that have them (rows written before they were measured lack them)
    assert (by["boosted"]["spread"], by["boosted"]["dcr"]) == (0.9, 0.8)
    assert math.isnan(by["GaussianMixture"]["spread"])
    text = format_suite(rows)
    assert "| training rows | 0.2000 +- 0.0100 | 0.2500 +- 0.0100 |" in text
    assert "| boosted | 2 | 1.50 | 1 |" in text and "| 0.850 | 0.900 | 0.80 |" in text
    # the C2ST AUC with its standard error over the draws where the row has one (older rows: the AUC alone)
    assert "| boosted | 0.550 +- 0.020 | 0.450 |" in text
    # without reference rows (files written before them) the ratio is missing, not wrong
    plain = summarize([r for r in rows if r["config"] != "training rows"])[0]
    assert all(math.isnan(s["w1_over_real"]) for s in plain)


def test_named_configurations_are_estimators_with_their_parameters():
    # 'boosted-samples' is the trees with more capacity: a plain estimator (clonable), not a wrapper
    model = SUITE_MODELS["boosted-samples"](random_state=0, n_jobs=1, bounds="auto")
    assert type(model) is GradientBoostedScore
    params = clone(model).get_params()
    chosen = {"max_leaf_nodes": 127, "max_iter": 200, "min_training_rows_leaf": 2, "n_iter_no_change": 3, "bounds": "auto"}
    assert {name: params[name] for name in chosen} == chosen
    density = clone(SUITE_MODELS["boosted-density"](random_state=0))
    assert type(density) is GradientBoostedScore and density.get_params()["early_stopping"] == "held_out_rows"


def test_split_caps_rows_and_rounding_respects_levels():
    X = np.arange(1000.0).reshape(500, 2)
    train, test = _split(X, 0, max_train=100, max_test=30)
    assert train.shape == (100, 2) and test.shape == (30, 2)
    assert not set(train[:, 0]) & set(test[:, 0])

    class Table:
        integer_features, categorical_features = [0], [1]

    out = _rounded(np.array([[1.4, -0.7], [2.6, 3.9]]), Table, {1: 3})
    np.testing.assert_array_equal(out, [[1.0, 0.0], [3.0, 2.0]])


def test_a_small_suite_runs_and_reports_every_configuration():
    rows = run_suite(
        ["geyser"],
        ["random-features"],
        ["GaussianMixture", "KernelDensity", "ARF"],
        n_draws=2,
        max_train=120,
        max_test=40,
    )
    assert [r["config"] for r in rows] == [
        "random-features",
        "random-features +types",
        "GaussianMixture",
        "KernelDensity",
        "ARF",
        "training rows",
    ]
    for r in rows:
        assert r["n_train"] == 120 and r["n_test"] == 40
        assert np.isfinite(r["w1"]) and r["w1_se"] >= 0 and 0 <= r["c2st_auc"] <= 1
        assert 0.5 < r["spread"] < 1.5 and r["dcr"] >= 0 and r["c2st_auc_se"] >= 0
    assert np.isfinite(rows[0]["test_loglik"]) and math.isnan(rows[1]["test_loglik"])
    # GaussianMixture's held-out log-likelihood on two columns is finite and sensible
    assert -20 < rows[2]["test_loglik"] < 5
    assert -20 < rows[4]["test_loglik"] < 5  # adversarial random forests' density (R arf's lik)
    # the reference: training rows themselves, at distance 0 from the closest training row, with no density
    reference = rows[-1]
    assert reference["family"] == "reference" and reference["dcr"] == 0.0 and math.isnan(reference["test_loglik"])
    assert min(r["dcr"] for r in rows[:-1]) > 0.3


def test_a_configuration_of_ones_own_runs_under_its_name_with_the_types():
    calls = []

    def small_trees(**params):
        calls.append(params)
        return GradientBoostedScore(n_noise_levels=5, duplicate_K=5, max_iter=5, **params)

    rows = run_suite(["geyser"], [("small trees", small_trees)], [], n_draws=1, max_train=60, max_test=20, warm_up=False)
    assert [r["config"] for r in rows] == ["small trees", "small trees +types", "training rows"]
    # warm_up=False: no untimed fit before the measured ones; the typed fit gets the suite's types
    assert len(calls) == 2 and calls[0] == {"random_state": 0, "n_jobs": None}
    assert calls[1]["bounds"] == "auto" and calls[1]["integer_features"] == "auto"
    assert all(np.isfinite(r["w1"]) for r in rows)


@pytest.mark.parametrize(
    "models, message",
    [
        (["trees"], "unknown model 'trees'"),
        ([("mine", "not callable")], "a pair (name, factory)"),
        (["boosted", ("boosted", GradientBoostedScore)], "'boosted' is given twice"),
    ],
)
def test_run_suite_refuses_bad_models(models, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        run_suite(["geyser"], models, [])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--tables", "nope"], "unknown table 'nope'"),
        (["--peers", "Forest"], "unknown peer 'Forest'"),
        (["--models", "trees"], "unknown model 'trees'"),
        (["--draws", "0"], "--draws must be at least 1"),
    ],
)
def test_suite_command_refuses_bad_arguments(argv, message, capsys):
    assert main(["benchmark", "--suite", "real", *argv]) == 2
    assert message in capsys.readouterr().err


def test_forest_diffusion_peer_gets_categories_and_rounds_integers_itself(monkeypatch):
    import sys
    import types

    from skscore._peers import ForestDiffusion

    seen = {}

    class Fake:
        # ForestDiffusion's own int_indexes rounding writes into a read-only array under pandas 3: never passed
        def __init__(self, X, n_t, duplicate_K, diffusion_type, n_jobs, seed, cat_indexes=()):
            seen.update(cat_indexes=list(cat_indexes), diffusion_type=diffusion_type)
            self.X = X

        def generate(self, batch_size=None):
            return self.X[np.random.randint(len(self.X), size=batch_size)] + 0.3

    module = types.ModuleType("ForestDiffusion")
    module.ForestDiffusionModel = Fake
    monkeypatch.setitem(sys.modules, "ForestDiffusion", module)
    X = np.column_stack([np.arange(20.0), np.arange(20.0) % 2, np.linspace(0, 1, 20)])
    peer = ForestDiffusion(0, diffusion_type="vp", integer_features=[0], categorical_features=[1]).fit(X)
    samples = peer.sample(10, random_state=1)
    assert seen == {"cat_indexes": [1], "diffusion_type": "vp"}
    assert np.all(samples[:, 0] == np.round(samples[:, 0])) and not np.all(samples[:, 2] == np.round(samples[:, 2]))
    np.testing.assert_array_equal(samples, peer.sample(10, random_state=1))


def test_adversarial_random_forest_learns_the_dependence_and_respects_column_kinds():
    from skscore._peers import AdversarialRandomForest

    rng = np.random.default_rng(0)
    Z = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 600)
    X = np.column_stack([Z, (Z[:, 0] > 0).astype(float), np.round(3 * Z[:, 1])])
    peer = AdversarialRandomForest(0, integer_features=[3], categorical_features=[2]).fit(X)
    # the first forest tells the rows from their shuffled columns; the loop's draws fool the last one better
    assert peer.accuracy_[0] > 0.6 and min(peer.accuracy_) < peer.accuracy_[0]
    samples = peer.sample(2000, random_state=1)
    assert np.isfinite(samples).all()
    # shuffled columns would be uncorrelated; the leaves carry the correlation
    assert np.corrcoef(samples[:, :2].T)[0, 1] > 0.7
    assert set(np.unique(samples[:, 2])) <= {0.0, 1.0}
    assert np.mean((samples[:, 0] > 0) == (samples[:, 2] == 1)) > 0.8  # the category follows its column
    np.testing.assert_array_equal(samples[:, 3], np.round(samples[:, 3]))
    np.testing.assert_array_equal(samples, peer.sample(2000, random_state=1))
    # every leaf drawn from holds at least min_node_size training rows; their shares sum to one
    leaves = peer.leaves_
    assert (leaves.weight * len(X) * len(leaves.trees)).min() >= 5 - 1e-9 and np.isclose(leaves.weight.sum(), 1.0)
    # a categorical column makes the likelihood a probability in part: not a density in the data's units
    assert np.isnan(peer.score_samples(X[:3])).all()


def test_adversarial_random_forest_density_integrates_to_one_and_is_what_it_draws():
    from scipy.stats import truncnorm

    from skscore._peers import AdversarialRandomForest

    rng = np.random.default_rng(0)
    X = np.c_[np.r_[rng.normal(-2, 0.5, 150), rng.normal(1, 1, 350)], rng.normal(0, 1, 500)]
    peer = AdversarialRandomForest(0).fit(X)
    g = np.linspace(-7, 7, 281)
    grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    log_density = peer.score_samples(grid)
    assert np.isfinite(log_density).all()
    assert abs(np.exp(log_density).sum() * (g[1] - g[0]) ** 2 - 1) < 0.01
    # the draws' first column against the exact mass of the leaves' truncated normals in 20 bins
    laws = peer.leaves_
    a, b = (laws.low[:, 0] - laws.mean[:, 0]) / laws.sd[:, 0], (laws.high[:, 0] - laws.mean[:, 0]) / laws.sd[:, 0]
    edges = np.linspace(-4, 4, 21)
    cdf = [np.sum(laws.weight * truncnorm.cdf(e, a, b, loc=laws.mean[:, 0], scale=laws.sd[:, 0])) for e in edges]
    exact = np.diff(cdf)
    draws = peer.sample(100_000, random_state=1)[:, 0]
    frequency = np.histogram(draws, edges)[0] / len(draws)
    assert np.all(np.abs(frequency - exact) <= 5 * np.sqrt(exact * (1 - exact) / len(draws)) + 1e-4)


def test_pruning_sends_the_rows_of_small_leaves_to_their_siblings():
    from skscore._peers import _Tree

    # root: x <= 0 -> leaf 1; else node 2: x <= 1 -> leaf 3, else leaf 4
    feature, threshold = np.zeros(5, np.intp), np.array([0.0, -2, 1.0, -2, -2])
    tree = _Tree(feature, threshold, np.array([1, -1, 3, -1, -1]), np.array([2, -1, 4, -1, -1]))
    X = np.r_[-np.ones(10), np.full(6, 0.5), [2.0]][:, None]
    np.testing.assert_array_equal(np.unique(tree.apply(X)), [1, 3, 4])
    # leaf 4 (one row) goes into its sibling, leaf 3, which then holds seven
    pruned = _Tree(*(a.copy() for a in (tree.feature, tree.threshold, tree.left, tree.right))).pruned(X, 5)
    np.testing.assert_array_equal(np.bincount(pruned.apply(X)), [0, 10, 0, 7])
    assert pruned.leaf_bounds(1)[3] == (np.array([0.0]), np.array([np.inf]))
    # with a floor of eight, the branch of leaves 3 and 4 goes into leaf 1, whose box is then the whole line
    pruned = _Tree(*(a.copy() for a in (tree.feature, tree.threshold, tree.left, tree.right))).pruned(X, 8)
    np.testing.assert_array_equal(np.unique(pruned.apply(X)), [1])
    low, high = pruned.leaf_bounds(1)[1]
    assert low[0] == -np.inf and high[0] == np.inf


def test_the_peer_s_trees_send_rows_to_scikit_learn_s_leaves():
    from sklearn.ensemble import RandomForestClassifier

    from skscore._peers import _Tree

    rng = np.random.default_rng(0)
    scales = np.array([1.0, 1e-3, 1e3, 1.0])  # thresholds compared in float32, as scikit-learn does
    X, X_new = rng.standard_normal((300, 4)) * scales, rng.standard_normal((500, 4)) * scales
    forest = RandomForestClassifier(5, min_samples_leaf=5, random_state=0).fit(X, rng.integers(0, 2, 300))
    for estimator in forest.estimators_:
        np.testing.assert_array_equal(_Tree.of(estimator.tree_).apply(X_new), estimator.apply(X_new))


def test_adversarial_random_forest_imputes_from_the_leaves_given_the_observed_entries():
    from skscore._peers import AdversarialRandomForest

    rng = np.random.default_rng(1)
    Z = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 900)
    X = np.column_stack([Z, (Z[:, 0] > 0).astype(float), np.round(3 * Z[:, 1] + 0.3)])
    peer = AdversarialRandomForest(0, integer_features=[3], categorical_features=[2]).fit(X[:600])
    truth = X[600:]
    holes = truth.copy()
    holes[::2, 1] = np.nan  # the second column of every other row
    holes[1::4, 2] = np.nan  # the category of a quarter
    draws = peer.impute(holes, n_draws=10, random_state=0)
    assert draws.shape == (10,) + holes.shape and np.isfinite(draws).all()
    known = ~np.isnan(holes)
    assert np.array_equal(draws[:, known], np.broadcast_to(holes[known], draws[:, known].shape))  # observed untouched
    # the leaves carry the dependence: the draws follow the first column, as the exact conditional law does
    mean = draws[:, ::2, 1].mean(axis=0)
    assert np.corrcoef(mean, truth[::2, 1])[0, 1] > 0.8 and draws[:, ::2, 1].std(axis=0).mean() > 0.1
    assert set(np.unique(draws[:, 1::4, 2])) <= {0.0, 1.0}
    assert np.mean(draws[:, 1::4, 2] == truth[1::4, 2]) > 0.8
    np.testing.assert_array_equal(draws[:, :, 3], np.round(draws[:, :, 3]))
    np.testing.assert_array_equal(draws, peer.impute(holes, n_draws=10, random_state=0))
