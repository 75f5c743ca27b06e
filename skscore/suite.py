"""The real-table suite: every skscore model against its peers, on tables we did not tune to.

:func:`run_suite` fits, on each table of :data:`skscore.datasets.SUITE_TABLES`
(one seeded 80/20 split, the training part capped at ``max_train`` rows), every
requested skscore model twice, as a plain continuous model and with its
column types declared (``integer_features='auto'``, the table's categorical
columns, ``bounds='auto'``, ``point_masses='auto'``: what a user who declares
types gets), and the peers: ``GaussianMixture`` (components by BIC),
``KernelDensity`` (bandwidth by cross-validation), adversarial random forests
(``ARF``: arfpy's forest and defaults, R arf's leaf laws and likelihood, see
``skscore._peers.AdversarialRandomForest``) and, when their packages are
installed (``bench`` extra), ForestDiffusion's flow and VP models.  Every configuration draws ``n_draws`` sample sets
as large as the test part; integer and categorical columns of every sample
are rounded (categories clipped to their levels), so that no configuration is
penalized for the dequantization of another.  Measured: W1 under
ForestDiffusion's protocol (mean and standard error over the draws), the
held-out log-likelihood (plain densities only: a typed model's is a
probability for its discrete columns, in another measure), the classifier
two-sample AUC of the draws against the test rows (mean over the draws), the draws' spread
(their column standard deviations over the training rows') and their DCR
ratio (:func:`skscore.metrics.dcr`: below 1, closer to training rows than
held-out rows are), and times.  Each table also gets a reference row,
"training rows": as many training rows as test rows, no model, measured
alike and ranked with none (a real sample's W1 and C2ST on that table).

:func:`summarize` turns the rows into mean ranks (per table, rank 1 is best;
ties share their mean rank), wins, and the typed-against-plain comparison of
each model; :func:`format_suite` prints it all as Markdown.
"""

import functools
import math
import sys
import time

import numpy as np
from scipy.stats import rankdata
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from . import _peers
from .boosted import GradientBoostedScore
from .convex import ConvexTwoLayerScore
from .datasets import EXTRA_TABLES, SUITE_TABLES, load_table
from .metrics import c2st_auc, dcr, wasserstein1
from .mixture_prior import GaussianMixturePriorDiffusion
from .random_features import DiffusionRandomFeatures

__all__ = ["SUITE_MODELS", "SUITE_PEERS", "available_peers", "run_suite", "summarize", "format_suite"]

SUITE_MODELS = {
    "random-features": DiffusionRandomFeatures,
    "mixture-prior": GaussianMixturePriorDiffusion,
    "convex": ConvexTwoLayerScore,
    "boosted": GradientBoostedScore,
    # the trees with more capacity, for synthetic rows: finer trees, twice as
    # many and leaves of two rows' copies buy W1 with likelihood on small
    # tables; a level stops after 3 trees without a better held-out error
    # instead of 10: scikit-learn's 10 are for its learning rate of 0.1, and
    # at 0.3 each tree takes three times the step (see the boosted guide)
    "boosted-samples": functools.partial(
        GradientBoostedScore, max_leaf_nodes=127, max_iter=200, min_training_rows_leaf=2, n_iter_no_change=3
    ),
    # the trees stopped on training rows kept out of each level's fit, for a
    # density and conditional draws that generalize (see the boosted guide)
    "boosted-density": functools.partial(GradientBoostedScore, early_stopping="held_out_rows"),
}
# peer name -> (factory, package it needs or None)
SUITE_PEERS = {
    "GaussianMixture": (_peers.BICGaussianMixture, None),
    "KernelDensity": (_peers.StandardizedKDE, None),
    "ForestFlow": (_peers.ForestDiffusion, "ForestDiffusion"),
    "ForestDiffusion-VP": (_peers.ForestDiffusion, "ForestDiffusion"),
    "ARF": (_peers.AdversarialRandomForest, None),
}
TYPED_SUFFIX = " +types"
TEST_SHARE = 0.2
# each table's reference row: a real sample, measured like the configurations but ranked with none
REFERENCE = _peers.TrainingRows.name


def _model_factories(models):
    """``{name: factory}`` for the ``models`` argument of :func:`run_suite`: keys of :data:`SUITE_MODELS` or pairs."""
    factories = {}
    for entry in models:
        if isinstance(entry, str):
            _check("model", [entry], list(SUITE_MODELS))
            name, factory = entry, SUITE_MODELS[entry]
        elif isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str) and callable(entry[1]):
            name, factory = entry
        else:
            raise ValueError(f"a model must be a key of SUITE_MODELS or a pair (name, factory), got {entry!r}.")
        if name in factories:
            raise ValueError(f"the model name {name!r} is given twice.")
        factories[name] = factory
    return factories


def _configurations(models, peers, table, seed, n_jobs):
    """``(name, family, typed, make)`` for every configuration on one table (``models``: name -> factory)."""
    kinds = {"integer_features": table.integer_features, "categorical_features": table.categorical_features}
    types = {
        "integer_features": "auto",
        "categorical_features": list(table.categorical_features) or None,
        "bounds": "auto",
        "point_masses": "auto",
    }
    configs = []
    for name, factory in models.items():
        configs.append((name, "skscore", False, lambda f=factory: f(random_state=seed, n_jobs=n_jobs)))
        configs.append(
            (name + TYPED_SUFFIX, "skscore", True, lambda f=factory: f(random_state=seed, n_jobs=n_jobs, **types))
        )
    for name in peers:
        factory, _ = SUITE_PEERS[name]
        options = {}
        if getattr(factory, "takes_column_kinds", False):
            options.update(kinds)
        if factory is _peers.ForestDiffusion:
            options["diffusion_type"] = "vp" if name.endswith("VP") else "flow"
        make = lambda f=factory, o=options: f(random_state=seed, n_jobs=n_jobs, **o)  # noqa: E731
        configs.append((name, "peer", False, make))
    return configs


def _split(X, seed, max_train, max_test):
    train, test = train_test_split(X, test_size=TEST_SHARE, random_state=seed)
    rng = np.random.RandomState(seed)
    if train.shape[0] > max_train:
        train = train[np.sort(rng.choice(train.shape[0], max_train, replace=False))]
    if test.shape[0] > max_test:
        test = test[np.sort(rng.choice(test.shape[0], max_test, replace=False))]
    return train, test


def _rounded(samples, table, levels):
    """Integer and categorical columns rounded, categories clipped to their levels."""
    out = np.array(samples, dtype=np.float64)
    for j in table.integer_features:
        out[:, j] = np.round(out[:, j])
    for j in table.categorical_features:
        out[:, j] = np.clip(np.round(out[:, j]), 0, levels[j] - 1)
    return out


def _spread(samples, train):
    """The samples' column standard deviations over the training rows', mean over the columns that vary (NaN if none).

    Below 1, the samples are narrower than the data: drawn towards the middle.
    """
    scale = np.std(train, axis=0)
    varies = scale > 0
    if not varies.any():
        return math.nan
    return float(np.mean(np.std(samples, axis=0)[varies] / scale[varies]))


def _mean_and_se(values):
    """The mean of one measure over the draws and its standard error (NaN for a single draw)."""
    values = np.asarray(values, dtype=np.float64)
    se = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else math.nan
    return float(values.mean()), se


def _measure(make, typed, table, train, test, scaler, levels, seed, n_draws):
    start = time.perf_counter()
    model = make().fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    # the draws' seeds wrap around below 2**32, as numpy's seeds must
    seeds = [(seed + r) % 2**32 for r in range(n_draws)]
    draws = [_rounded(model.sample(test.shape[0], random_state=s), table, levels) for s in seeds]
    sample_s = (time.perf_counter() - start) / n_draws
    w1, w1_se = _mean_and_se([wasserstein1(d, test, protocol="forestdiffusion") for d in draws])
    # every draw's AUC, not the first one's: on a few dozen test rows one AUC swings by a tenth
    scaled_test = scaler.transform(test)
    auc, auc_se = _mean_and_se([c2st_auc(scaled_test, scaler.transform(d), random_state=seed) for d in draws])
    # NaN: no density (a peer) or one in another measure (typed); a test row the
    # model deems impossible makes its log-likelihood -inf, which ranks last
    loglik = math.nan if typed else float(np.mean(model.score_samples(test)))
    return {
        "w1": w1,
        "w1_se": w1_se,
        "test_loglik": loglik,
        "c2st_auc": auc,
        "c2st_auc_se": auc_se,
        "spread": _spread(np.vstack(draws), train),
        "dcr": float(np.mean([dcr(train, d, test)["ratio"] for d in draws])),
        "fit_s": fit_s,
        "sample_s": sample_s,
    }


def _check(kind, names, known):
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown {kind} {', '.join(map(repr, unknown))}; choose from {', '.join(known)}.")


def available_peers():
    """The peers whose packages are installed, in :data:`SUITE_PEERS` order."""
    return [name for name, (_, package) in SUITE_PEERS.items() if package is None or _peers.installed(package)]


def run_suite(
    tables=SUITE_TABLES,
    models=("random-features", "mixture-prior", "boosted"),
    peers=None,
    *,
    seed=0,
    n_draws=5,
    max_train=1200,
    max_test=1000,
    n_jobs=None,
    progress=False,
    warm_up=True,
):
    """Fit and measure every configuration on every table of the suite.

    Parameters
    ----------
    tables : sequence of str, default=SUITE_TABLES
        Names for :func:`skscore.datasets.load_table`.
    models : sequence of str or (str, callable), default=('random-features', 'mixture-prior', 'boosted')
        Keys of :data:`SUITE_MODELS`, or pairs ``(name, factory)`` for a
        configuration of one's own (``factory(random_state=..., n_jobs=...,
        **types)`` returns an unfitted skscore estimator, e.g. a
        ``functools.partial`` of one); each is fitted plain and with types.
        Besides the four models, 'boosted-samples' is GradientBoostedScore
        with ``max_leaf_nodes=127, max_iter=200, min_training_rows_leaf=2,
        n_iter_no_change=3``,
        the trees' configuration for synthetic rows, and 'boosted-density'
        GradientBoostedScore with ``early_stopping='held_out_rows'``, its
        configuration for a density.
    peers : sequence of str or None, default=None
        Keys of :data:`SUITE_PEERS`; None takes every peer whose package is
        installed.
    seed : int, default=0
        Seed of the splits, the models and their samples.
    n_draws : int, default=5
        Sample sets per configuration (the standard error of W1 is over these).
    max_train, max_test : int, default=1200, 1000
        Caps on the training and test rows of a table (random subsets).
    n_jobs : int or None, default=None
        Threads of the skscore models and the bandwidth search; processes of
        ForestDiffusion.
    progress : bool, default=False
        One line per fitted configuration on stderr.
    warm_up : bool, default=True
        Fit, sample and score every model once on a few rows of the first
        table before anything is timed, so that the Numba kernels compile
        outside the timed fits; a caller that runs the suite one table at a
        time needs it on the first call only.

    Returns
    -------
    rows : list of dict
        One per (table, configuration), and one per table for the reference
        ``'training rows'`` (family 'reference'): ``table``, ``config``,
        ``family`` ('skscore', 'peer' or 'reference'), ``typed``,
        ``n_train``, ``n_test``, ``w1``, ``w1_se``, ``test_loglik`` (NaN for
        typed configurations and samplers without a density), ``c2st_auc``
        (mean over the draws) and ``c2st_auc_se`` (its standard error),
        ``spread`` (the draws' column standard deviations over the training
        rows', mean over the columns that vary), ``dcr`` (the DCR ratio, mean
        over the draws), ``fit_s``, ``sample_s``.
    """
    tables, models = list(tables), _model_factories(models)
    peers = available_peers() if peers is None else list(peers)
    _check("table", tables, SUITE_TABLES + EXTRA_TABLES)
    _check("peer", peers, list(SUITE_PEERS))
    if not tables or not (models or peers):
        raise ValueError("the suite needs at least one table and one model or peer.")
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1, got {n_draws}.")
    if min(max_train, max_test) < 10:
        raise ValueError(f"max_train and max_test must be at least 10, got {max_train} and {max_test}.")
    rows = []
    for i, name in enumerate(tables):
        table = load_table(name)
        train, test = _split(table.data, seed, max_train, max_test)
        if i == 0 and warm_up:
            _compile(models, train, test, seed, n_jobs)
        scaler = StandardScaler().fit(train)
        levels = {j: int(table.data[:, j].max()) + 1 for j in table.categorical_features}
        reference = (REFERENCE, "reference", False, _peers.TrainingRows)
        for config, family, typed, make in _configurations(models, peers, table, seed, n_jobs) + [reference]:
            row = _measure(make, typed, table, train, test, scaler, levels, seed, n_draws)
            rows.append(
                {
                    "table": name,
                    "config": config,
                    "family": family,
                    "typed": typed,
                    "n_train": train.shape[0],
                    "n_test": test.shape[0],
                    **row,
                }
            )
            if progress:
                print(
                    f"{name}: {config} W1 {row['w1']:.4f} fit {row['fit_s']:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    return rows


def _compile(models, train, test, seed, n_jobs):
    """Fit, sample and score every model once on a few rows, untimed.

    The Numba kernels compile here (seconds with an empty cache, as on a
    fresh machine), not inside the first table's timed fits.
    """
    for factory in models.values():
        model = factory(random_state=seed, n_jobs=n_jobs).fit(train[:100])
        model.sample(10, random_state=seed)
        model.score_samples(test[:10])


def _over_fewer(s):
    """`` (of K tables)`` where a configuration's likelihood figures cover fewer tables than the others."""
    k = s["n_loglik_tables"]
    return f" (of {k})" if 0 < k < s["n_tables"] else ""


def _ranks(values, higher_is_better=False):
    """Ranks of ``values`` (1 is best, ties share their mean rank, infinities rank as such); NaN stays NaN."""
    values = np.asarray(values, dtype=np.float64)
    ranks = np.full(values.shape, np.nan)
    known = ~np.isnan(values)
    if known.any():
        ranks[known] = rankdata(-values[known] if higher_is_better else values[known], method="average")
    return ranks


def summarize(rows):
    """Mean ranks and wins per configuration, and typed-against-plain comparisons.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`run_suite`.

    Returns
    -------
    summary : list of dict
        One per configuration, in the order of first appearance: ``config``,
        ``n_tables``, ``w1_rank`` (mean over tables of its W1 rank among all
        configurations), ``w1_wins`` (tables where its W1 is the best, alone
        or tied),
        ``w1_rank_vs_peers`` (mean W1 rank of an skscore configuration
        among itself and the peers alone; NaN for a peer), ``w1`` (mean W1),
        ``loglik_rank`` (mean rank of the held-out
        log-likelihood among the configurations that have one; NaN without),
        ``n_loglik_tables`` (the tables where it has one),
        ``loglik_beats_gmm`` (share of tables where its log-likelihood is
        above GaussianMixture's; NaN without a GaussianMixture row or a
        log-likelihood), ``c2st_gap`` (mean of ``|AUC - 0.5|``),
        ``c2st_rank`` (mean rank of that gap), ``w1_over_real`` (mean over
        the tables of its W1 over the reference's: below 1, closer to the
        held-out rows than real rows are), ``spread`` and ``dcr`` (means;
        NaN for rows that lack them).  The reference rows are ranked with
        none and get no entry.
    typed : list of dict
        One per (skscore model, table) with both a plain and a typed row:
        ``model``, ``table``, ``w1_plain``, ``w1_typed``, ``w1_change_se``
        (the change of W1 in standard errors of the difference; positive is
        worse), ``c2st_plain``, ``c2st_typed``.
    """
    references = {row["table"]: row for row in rows if row["family"] == "reference"}
    rows = [row for row in rows if row["family"] != "reference"]
    configs = list(dict.fromkeys(row["config"] for row in rows))
    tables = list(dict.fromkeys(row["table"] for row in rows))
    at = {(row["table"], row["config"]): row for row in rows}
    ranks = {config: {"w1": [], "loglik": [], "c2st": [], "w1_vs_peers": []} for config in configs}
    beats = {config: [] for config in configs}
    firsts = {config: 0 for config in configs}
    for table in tables:
        present = [c for c in configs if (table, c) in at]
        table_rows = [at[table, c] for c in present]
        for key, values, higher in (
            ("w1", [r["w1"] for r in table_rows], False),
            ("loglik", [r["test_loglik"] for r in table_rows], True),
            # AUCs equally far from 0.5 on either side tie (|0.55 - 0.5| and |0.45 - 0.5| differ in the last bits)
            ("c2st", [round(abs(r["c2st_auc"] - 0.5), 12) for r in table_rows], False),
        ):
            for config, rank in zip(present, _ranks(values, higher)):
                ranks[config][key].append(rank)
        # a win is the best W1 of the table, shared by configurations that tie for it
        best = min(r["w1"] for r in table_rows)
        for config, row in zip(present, table_rows):
            firsts[config] += row["w1"] == best
        # head to head: each skscore configuration ranked among the peers alone
        peers = [at[table, c]["w1"] for c in present if at[table, c]["family"] == "peer"]
        for config in present:
            if at[table, config]["family"] == "skscore" and peers:
                ranks[config]["w1_vs_peers"].append(_ranks([at[table, config]["w1"]] + peers)[0])
        gmm = at.get((table, "GaussianMixture"))
        if gmm is not None and not np.isnan(gmm["test_loglik"]):
            for config, row in zip(present, table_rows):
                if config != "GaussianMixture" and not np.isnan(row["test_loglik"]):
                    beats[config].append(row["test_loglik"] > gmm["test_loglik"])

    def mean(values):
        values = np.asarray(values, dtype=np.float64)
        return float(np.nanmean(values)) if (~np.isnan(values)).any() else math.nan

    summary = []
    for config in configs:
        own = [at[t, config] for t in tables if (t, config) in at]
        summary.append(
            {
                "config": config,
                "n_tables": len(own),
                "w1_rank": mean(ranks[config]["w1"]),
                "w1_wins": firsts[config],
                "w1_rank_vs_peers": mean(ranks[config]["w1_vs_peers"]),
                "w1": mean([r["w1"] for r in own]),
                "loglik_rank": mean(ranks[config]["loglik"]),
                "n_loglik_tables": int(np.sum(~np.isnan([r["test_loglik"] for r in own]))),
                "loglik_beats_gmm": mean(beats[config]) if beats[config] else math.nan,
                "c2st_gap": mean([abs(r["c2st_auc"] - 0.5) for r in own]),
                "c2st_rank": mean(ranks[config]["c2st"]),
                "w1_over_real": mean([r["w1"] / references[r["table"]]["w1"] for r in own if r["table"] in references]),
                "spread": mean([r.get("spread", math.nan) for r in own]),
                "dcr": mean([r.get("dcr", math.nan) for r in own]),
            }
        )
    typed = []
    for config in configs:
        if config.endswith(TYPED_SUFFIX):
            continue
        for table in tables:
            plain, declared = at.get((table, config)), at.get((table, config + TYPED_SUFFIX))
            if plain is None or declared is None:
                continue
            spread = math.hypot(plain["w1_se"], declared["w1_se"])
            typed.append(
                {
                    "model": config,
                    "table": table,
                    "w1_plain": plain["w1"],
                    "w1_typed": declared["w1"],
                    "w1_change_se": (declared["w1"] - plain["w1"]) / spread if spread > 0 else math.nan,
                    "c2st_plain": plain["c2st_auc"],
                    "c2st_typed": declared["c2st_auc"],
                }
            )
    return summary, typed


def _cell(value, spec):
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def _auc_cell(row):
    """A row's C2ST AUC, with its standard error when it has one (rows written before had the first draw's)."""
    se = row.get("c2st_auc_se", math.nan)
    return _cell(row["c2st_auc"], ".3f") + ("" if math.isnan(se) else f" +- {se:.3f}")


def _markdown(header, lines, left=1):
    """A Markdown table: the first ``left`` columns aligned left, the others (numbers) right."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * left + ["---:"] * (len(header) - left)) + "|"]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    return "\n".join(out)


def format_suite(rows):
    """The suite's results as Markdown: the ranks, then per-table W1, log-likelihood and C2ST, then types.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`run_suite`.

    Returns
    -------
    text : str
    """
    summary, typed = summarize(rows)
    tables = list(dict.fromkeys(row["table"] for row in rows))
    configs = [s["config"] for s in summary]
    if any(row["family"] == "reference" for row in rows):
        configs.append(REFERENCE)
    at = {(row["table"], row["config"]): row for row in rows}
    parts = [
        "Mean ranks over the tables (1 is best; W1 among all configurations, and each skscore configuration "
        "among itself and the peers alone; log-likelihood among those with a plain density; C2ST by "
        "|AUC - 0.5|).  W1 / real: W1 over that of as many training rows (the reference row, ranked with none; "
        "below 1, closer to the held-out rows than a real sample); spread: the draws' column SDs over the "
        "training rows'; DCR: below 1, draws closer to training rows than held-out rows are.",
        "",
        _markdown(
            [
                "configuration",
                "tables",
                "W1 rank",
                "W1 wins",
                "W1 rank vs peers",
                "mean W1",
                "LL rank",
                "LL > GMM",
                "C2ST distance to 0.5",
                "C2ST rank",
                "W1 / real",
                "spread",
                "DCR",
            ],
            [
                [
                    s["config"],
                    str(s["n_tables"]),
                    _cell(s["w1_rank"], ".2f"),
                    str(s["w1_wins"]),
                    _cell(s["w1_rank_vs_peers"], ".2f"),
                    _cell(s["w1"], ".4f"),
                    _cell(s["loglik_rank"], ".2f") + _over_fewer(s),
                    _cell(100 * s["loglik_beats_gmm"], ".0f")
                    + ("" if math.isnan(s["loglik_beats_gmm"]) else " %")
                    + _over_fewer(s),
                    _cell(s["c2st_gap"], ".3f"),
                    _cell(s["c2st_rank"], ".2f"),
                    _cell(s["w1_over_real"], ".3f"),
                    _cell(s["spread"], ".3f"),
                    _cell(s["dcr"], ".2f"),
                ]
                for s in sorted(summary, key=lambda s: s["w1_rank"])
            ],
        ),
    ]
    for title, cell in (
        (
            "W1 (ForestDiffusion's protocol; mean +- standard error over the draws)",
            lambda r: f"{r['w1']:.4f}" + ("" if math.isnan(r["w1_se"]) else f" +- {r['w1_se']:.4f}"),
        ),
        ("Held-out log-likelihood (mean per row, units of the data)", lambda r: _cell(r["test_loglik"], ".3f")),
        ("C2ST AUC (0.5 is best; mean +- standard error over the draws)", _auc_cell),
        ("Fit time, s", lambda r: _cell(r["fit_s"], ".1f")),
    ):
        parts += [
            "",
            title,
            "",
            _markdown(
                ["configuration"] + tables,
                [[config] + [cell(at[t, config]) if (t, config) in at else "" for t in tables] for config in configs],
            ),
        ]
    if typed:
        parts += [
            "",
            "Declared types against plain: W1 change in standard errors (positive is worse), C2ST plain -> typed.",
            "",
            _markdown(
                ["model", "table", "W1 plain", "W1 typed", "change (SE)", "C2ST plain", "C2ST typed"],
                [
                    [
                        t["model"],
                        t["table"],
                        f"{t['w1_plain']:.4f}",
                        f"{t['w1_typed']:.4f}",
                        _cell(t["w1_change_se"], "+.1f"),
                        f"{t['c2st_plain']:.3f}",
                        f"{t['c2st_typed']:.3f}",
                    ]
                    for t in typed
                ],
            ),
        ]
    parts += [
        "",
        "One seeded 80/20 split per table (at most "
        f"{max((r['n_train'] for r in rows), default=0)} training rows); every configuration's integer and "
        "categorical columns rounded.",
    ]
    return "\n".join(parts) + "\n"
