"""Declared column types against none, over several splits: C2ST and W1 with their spread.

The suite (:func:`skscore.suite.run_suite`) measures one split and scores the
classifier two-sample test (C2ST) on the first of its draws.  On the small
tables (iris, wine and geyser hold 30 to 55 test rows) that number moves by
more than the effect of the column types: held-out rows against as many
*training* rows, two samples of the same law, give AUCs from about 0.4 to
0.7 from one split to the next.  This script repeats the suite's protocol on
``--splits`` splits (the suite's seeds 0, 1, ...), fits every model plain and
with the suite's 'auto' types on each, and scores C2ST on every draw:

- ``floor``: the C2ST AUC of the test rows against as many training rows
  (what a perfect generator would get: two samples of the table's law);
- per model, the mean C2ST AUC of the plain and the typed samples (over the
  splits and draws) and the typed-minus-plain change of ``|AUC - 0.5|``
  (positive: types moved the samples away from the real rows), with its
  standard error over the splits (each split's change averaged over its
  draws); likewise W1 (the suite's: ForestDiffusion's protocol).

An AUC below 0.5 is no better than 0.5: cross-validated AUCs of two samples
of one law spread on both sides of it, and integer columns, whose exact ties
a classifier cannot split, push them down.  The change is therefore also
given for ``max(AUC, 0.5)``, the one-sided reading of the test.

Usage::

    python benchmarks/bench_typed_splits.py [--tables geyser,wine,iris]
        [--models random-features,mixture-prior,boosted] [--splits 5] [--draws 3]

``--models convex`` adds the convex model (as in the suite, not by default:
its programs take minutes on wine's 13 columns).
"""

import argparse
import math
import time

import numpy as np
from sklearn.preprocessing import StandardScaler

from skscore.datasets import load_table
from skscore.metrics import c2st_auc, wasserstein1
from skscore.suite import SUITE_MODELS, TYPED_SUFFIX, _configurations, _model_factories, _rounded, _split


def _measure(model, table, train, test, scaler, levels, seed, n_draws):
    """Mean C2ST AUC, mean one-sided AUC and mean W1 of ``n_draws`` sample sets of a fitted model."""
    aucs, w1 = [], []
    for r in range(n_draws):
        draw = _rounded(model.sample(test.shape[0], random_state=seed + r), table, levels)
        aucs.append(c2st_auc(scaler.transform(test), scaler.transform(draw), random_state=seed + r))
        w1.append(wasserstein1(draw, test, protocol="forestdiffusion"))
    aucs = np.array(aucs)
    return np.mean(np.abs(aucs - 0.5)), np.mean(np.maximum(aucs, 0.5) - 0.5), np.mean(aucs), np.mean(w1)


def _floor(train, test, scaler, seed):
    """C2ST AUC of the test rows against as many training rows: two samples of the table's law."""
    rng = np.random.RandomState(seed)
    rows = train[rng.choice(train.shape[0], min(test.shape[0], train.shape[0]), replace=False)]
    return c2st_auc(scaler.transform(test), scaler.transform(rows), random_state=seed)


def _mean_se(values):
    values = np.asarray(values, dtype=np.float64)
    se = values.std(ddof=1) / math.sqrt(values.size) if values.size > 1 else math.nan
    return values.mean(), se


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="geyser,wine,iris")
    parser.add_argument("--models", default="random-features,mixture-prior,boosted")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--max-train", type=int, default=1200)
    parser.add_argument("--max-test", type=int, default=1000)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args(argv)
    models = args.models.split(",")
    for name in models:
        if name not in SUITE_MODELS:
            parser.error(f"unknown model {name!r}; choose from {', '.join(SUITE_MODELS)}")

    print(f"{args.splits} splits (seeds 0-{args.splits - 1}), {args.draws} draws each; C2ST: |AUC - 0.5| "
          "(one-sided: max(AUC, 0.5) - 0.5); changes typed - plain, mean +- standard error over the splits\n")
    print("| table | test rows | floor AUC | model | AUC plain | AUC typed | change of abs(AUC - 0.5) "
          "| one-sided change | W1 plain | W1 typed | W1 change |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.tables.split(","):
        table = load_table(name)
        levels = {j: int(table.data[:, j].max()) + 1 for j in table.categorical_features}
        by_model = {m: {"plain": [], "typed": []} for m in models}
        floors = []
        start = time.perf_counter()
        for seed in range(args.splits):
            train, test = _split(table.data, seed, args.max_train, args.max_test)
            scaler = StandardScaler().fit(train)
            floors.append(_floor(train, test, scaler, seed))
            for config, _, typed, make in _configurations(_model_factories(models), [], table, seed, args.n_jobs):
                model = make().fit(train)
                key = config[: -len(TYPED_SUFFIX)] if typed else config
                by_model[key]["typed" if typed else "plain"].append(
                    _measure(model, table, train, test, scaler, levels, seed, args.draws)
                )
        floor = _mean_se(floors)
        for model in models:
            plain, typed = np.array(by_model[model]["plain"]), np.array(by_model[model]["typed"])
            change = [_mean_se(typed[:, i] - plain[:, i]) for i in (0, 1, 3)]
            print(
                f"| {name} | {test.shape[0]} | {floor[0]:.3f} +- {floor[1]:.3f} | {model} "
                f"| {plain[:, 2].mean():.3f} | {typed[:, 2].mean():.3f} "
                f"| {change[0][0]:+.3f} +- {change[0][1]:.3f} | {change[1][0]:+.3f} +- {change[1][1]:.3f} "
                f"| {plain[:, 3].mean():.4f} | {typed[:, 3].mean():.4f} | {change[2][0]:+.4f} +- {change[2][1]:.4f} |",
                flush=True,
            )
        print(f"<!-- {name}: {time.perf_counter() - start:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
