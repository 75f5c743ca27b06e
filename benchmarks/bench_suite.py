"""The real-table suite in parts, with its rows kept in a JSON file.

``skscore benchmark --suite real`` runs everything in one go.  On a small
machine the peers from the ``bench`` extra (ForestDiffusion above all: 50
levels x 100 duplicates x one XGBoost model per column and level) take far
longer than the skscore models, so this script runs any subset of tables,
models and peers and merges its rows into ``--rows FILE`` (a row of the same
table and configuration is replaced), then prints the suite's Markdown for
everything in the file.  Same seed, split and measures as the command line.

Usage::

    python benchmarks/bench_suite.py --rows suite.json --peers GaussianMixture,KernelDensity
    python benchmarks/bench_suite.py --rows suite.json --models none --peers ForestFlow --tables iris,geyser
    python benchmarks/bench_suite.py --rows suite.json --report-only
    python benchmarks/bench_suite.py --rows depth.json --models boosted-samples --peers none \
        --variant boosted-samples:max_depth=8

``--variant MODEL:KEY=VALUE[:KEY=VALUE...]`` (repeatable) runs a suite
model with some parameters changed as one more configuration, named
``MODEL KEY=VALUE ...``; the values are Python literals (``8``, ``None``,
``'auto'``).
"""

import argparse
import ast
import functools
import json
import os

from skscore.datasets import SUITE_TABLES
from skscore.suite import SUITE_MODELS, format_suite, run_suite


def _names(text, default):
    if text is None:
        return list(default)
    return [] if text == "none" else [name.strip() for name in text.split(",") if name.strip()]


def _variant(text):
    """``MODEL:KEY=VALUE[:KEY=VALUE...]`` as a suite configuration: ``(name, factory)``."""
    model, *settings = text.split(":")
    if model not in SUITE_MODELS:
        raise SystemExit(f"--variant {text!r}: unknown model {model!r}; the suite's are {', '.join(SUITE_MODELS)}")
    params = {}
    for setting in settings:
        key, equals, value = setting.partition("=")
        if not equals or not key.strip():
            raise SystemExit(f"--variant {text!r}: {setting!r} is not KEY=VALUE")
        try:
            params[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise SystemExit(f"--variant {text!r}: {value!r} is not a Python literal (quote strings: 'auto')") from None
    name = " ".join([model] + [f"{key}={value!r}" for key, value in params.items()])
    return name, functools.partial(SUITE_MODELS[model], **params)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", required=True, help="JSON file of rows, read and extended")
    parser.add_argument("--tables", help="comma-separated (default: the whole suite)")
    parser.add_argument("--models", help="comma-separated skscore models, or 'none' (default: the suite's)")
    parser.add_argument("--peers", help="comma-separated peers, or 'none' (default: GaussianMixture,KernelDensity)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="MODEL:KEY=VALUE[:KEY=VALUE...]",
        help="a suite model with parameters changed, run as one more configuration (repeatable)",
    )
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--max-train", type=int, default=1200)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--complete-only",
        action="store_true",
        help="report only the tables on which every configuration in the file ran (ranks comparable)",
    )
    args = parser.parse_args()

    rows = []
    if os.path.exists(args.rows):
        with open(args.rows) as f:
            rows = json.load(f)
    variants = [_variant(text) for text in args.variant]
    if not args.report_only:
        for i, table in enumerate(_names(args.tables, SUITE_TABLES)):
            models = _names(args.models, ("random-features", "mixture-prior", "boosted")) + variants
            peers = _names(args.peers, ("GaussianMixture", "KernelDensity"))
            if not models and not peers:
                break
            new = run_suite(
                [table],
                models,
                peers,
                seed=args.seed,
                n_draws=args.draws,
                max_train=args.max_train,
                n_jobs=args.n_jobs,
                progress=True,
                warm_up=i == 0,
            )
            done = {(r["table"], r["config"]) for r in new}
            rows = [r for r in rows if (r["table"], r["config"]) not in done] + new
            tmp = args.rows + ".tmp"
            with open(tmp, "w") as f:
                json.dump(rows, f, indent=1)
            os.replace(tmp, args.rows)
    if args.complete_only:
        configs = {r["config"] for r in rows}
        tables = {t for t in {r["table"] for r in rows} if {r["config"] for r in rows if r["table"] == t} == configs}
        left_out = sorted({r["table"] for r in rows} - tables)
        rows = [r for r in rows if r["table"] in tables]
        if left_out:
            print(f"Left out (not every configuration ran): {', '.join(left_out)}\n")
    print(format_suite(rows))


if __name__ == "__main__":
    main()
