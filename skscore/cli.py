"""Command-line interface: ``python -m skscore benchmark``.

The benchmark fits every requested skscore model and two scikit-learn
baselines (``GaussianMixture`` with its number of components chosen by BIC,
``KernelDensity`` with its bandwidth chosen by cross-validation on
standardized data) on one train/test split of each dataset, and reports the
held-out log-likelihood, the sliced Wasserstein distance between samples and
the test set, and wall-clock times, as one Markdown table.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

from .datasets import DATASETS, load_dataset
from .metrics import sliced_wasserstein
from .random_features import DiffusionRandomFeatures

__all__ = ["MODELS", "main", "run_benchmark", "format_table"]

# Name -> factory called as ``factory(random_state=seed, n_jobs=n_jobs)``.
MODELS = {
    "random-features": DiffusionRandomFeatures,
}

DEFAULT_DATASETS = ("iris", "wine", "breast_cancer")
GMM_COMPONENTS = range(1, 11)
KDE_BANDWIDTHS = np.logspace(-1.5, 0.5, 20)
COLUMNS = ("dataset", "model", "test log-lik", "SW (std. units)", "fit s", "sample s", "score s")
NOTE = (
    "Test log-lik: mean held-out log-density in the units of the data. "
    "Fit times of the baselines include their model selection "
    f"(GaussianMixture: BIC over {GMM_COMPONENTS.start}..{GMM_COMPONENTS.stop - 1} components; "
    f"KernelDensity: 5-fold CV over {len(KDE_BANDWIDTHS)} bandwidths)."
)


class _UsageError(Exception):
    """A command-line usage error (raised instead of argparse's exit)."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(message)


# ----------------------------------------------------------------- baselines
class _BICGaussianMixture:
    """Full-covariance ``GaussianMixture`` with ``n_components`` chosen by BIC."""

    name = "GaussianMixture"

    def __init__(self, random_state):
        self.random_state = random_state

    def fit(self, X):
        fits = [
            GaussianMixture(k, covariance_type="full", random_state=self.random_state).fit(X)
            for k in GMM_COMPONENTS
            if k <= X.shape[0]
        ]
        self.model_ = min(fits, key=lambda gmm: gmm.bic(X))
        return self

    def sample(self, n_samples, random_state):
        return self.model_.sample(n_samples)[0]

    def score_samples(self, X):
        return self.model_.score_samples(X)


class _StandardizedKDE:
    """``KernelDensity`` on standardized data, bandwidth by 5-fold CV.

    Log-densities and samples are mapped back to the units of the data.
    """

    name = "KernelDensity"

    def __init__(self, n_jobs):
        self.n_jobs = n_jobs

    def fit(self, X):
        self.scaler_ = StandardScaler().fit(X)
        search = GridSearchCV(KernelDensity(), {"bandwidth": KDE_BANDWIDTHS}, cv=5, n_jobs=self.n_jobs)
        self.model_ = search.fit(self.scaler_.transform(X)).best_estimator_
        return self

    def sample(self, n_samples, random_state):
        return self.scaler_.inverse_transform(self.model_.sample(n_samples, random_state=random_state))

    def score_samples(self, X):
        log_jacobian = np.sum(np.log(self.scaler_.scale_))
        return self.model_.score_samples(self.scaler_.transform(X)) - log_jacobian


# ---------------------------------------------------------------- benchmark
def number(text):
    """``--test-size``: a count when written as an integer, else a fraction."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _split_names(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def _check_names(kind, names, known):
    if not names:
        raise ValueError(f"no {kind} given; choose from {', '.join(known)}.")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown {kind} {', '.join(map(repr, unknown))}; choose from {', '.join(known)}.")


def _evaluate(model, X_train, X_test, scaler, seed):
    """Fit, sample and score one model; returns the measurements."""
    start = time.perf_counter()
    model.fit(X_train)
    fit_s = time.perf_counter() - start

    start = time.perf_counter()
    samples = model.sample(X_test.shape[0], random_state=seed)
    sample_s = time.perf_counter() - start

    start = time.perf_counter()
    log_density = model.score_samples(X_test)
    score_s = time.perf_counter() - start

    sw = sliced_wasserstein(scaler.transform(samples), scaler.transform(X_test))
    return {
        "test_loglik": float(np.mean(log_density)),
        "sw": sw,
        "fit_s": fit_s,
        "sample_s": sample_s,
        "score_s": score_s,
    }


def run_benchmark(datasets, models, seed=0, test_size=0.3, n_jobs=None):
    """Fit the models and the baselines on each dataset and measure them.

    Parameters
    ----------
    datasets : sequence of str
        Names from :data:`skscore.datasets.DATASETS`.
    models : sequence of str
        Names from :data:`MODELS` (skscore models).
    seed : int, default=0
        Seed of the train/test split, the models and their samples.
    test_size : float or int, default=0.3
        Test part, as for :func:`sklearn.model_selection.train_test_split`.
    n_jobs : int or None, default=None
        Passed to the skscore models and to the bandwidth search.

    Returns
    -------
    rows : list of dict
        One dict per (dataset, model) with keys ``dataset``, ``model``,
        ``test_loglik`` (mean held-out log-density, original units), ``sw``
        (sliced Wasserstein distance between ``n_test`` samples and the test
        set, both standardized with the train scaler), ``fit_s``,
        ``sample_s`` and ``score_s`` (wall-clock seconds).

    Raises
    ------
    ValueError
        For an unknown or empty list of names, or invalid arguments.
    """
    datasets, models = list(datasets), list(models)
    _check_names("dataset", datasets, DATASETS)
    _check_names("model", models, list(MODELS))
    rows = []
    for dataset in datasets:
        X = load_dataset(dataset)
        X_train, X_test = train_test_split(X, test_size=test_size, random_state=seed)
        scaler = StandardScaler().fit(X_train)
        candidates = [(name, MODELS[name](random_state=seed, n_jobs=n_jobs)) for name in models]
        candidates += [
            (_BICGaussianMixture.name, _BICGaussianMixture(random_state=seed)),
            (_StandardizedKDE.name, _StandardizedKDE(n_jobs=n_jobs)),
        ]
        for name, model in candidates:
            row = {"dataset": dataset, "model": name}
            row.update(_evaluate(model, X_train, X_test, scaler, seed))
            rows.append(row)
    return rows


def format_table(rows):
    """The rows of :func:`run_benchmark` as a Markdown table (with a note).

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`run_benchmark`.

    Returns
    -------
    table : str
        Markdown text ending with a newline.
    """
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * 5) + "|"]
    for row in rows:
        cells = [
            row["dataset"],
            row["model"],
            f"{row['test_loglik']:.3f}",
            f"{row['sw']:.4f}",
            f"{row['fit_s']:.3f}",
            f"{row['sample_s']:.3f}",
            f"{row['score_s']:.3f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + NOTE + "\n"


def _write_atomic(directory, filename, text):
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, os.path.join(directory, filename))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------- main
def _build_parser():
    parser = _ArgumentParser(prog="skscore", description="Score-based diffusion density estimators.")
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser(
        "benchmark",
        help="compare skscore models with GaussianMixture and KernelDensity",
        description=(
            "Fit the skscore models, GaussianMixture (components by BIC) and KernelDensity "
            "(bandwidth by CV) on one train/test split of each dataset, and print the held-out "
            "log-likelihood, the sliced Wasserstein distance of samples to the test set and "
            "wall-clock times as a Markdown table."
        ),
    )
    bench.add_argument("--datasets", default=",".join(DEFAULT_DATASETS), help=f"comma-separated, from {', '.join(DATASETS)}")
    bench.add_argument("--models", default="random-features", help=f"comma-separated, from {', '.join(MODELS)}")
    bench.add_argument("--out", metavar="DIR", help="also write the table to DIR/benchmark.md")
    bench.add_argument("--n-jobs", type=int, default=None, metavar="N", help="threads of the skscore models and of the bandwidth search")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--test-size", type=number, default=0.3, help="fraction (or number) of test rows")
    return parser


def main(argv=None):
    """Run the command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 2 on a usage error (reported on one line of stderr).
    """
    try:
        args = _build_parser().parse_args(argv)
        rows = run_benchmark(
            _split_names(args.datasets),
            _split_names(args.models),
            seed=args.seed,
            test_size=args.test_size,
            n_jobs=args.n_jobs,
        )
        table = format_table(rows)
        if args.out:
            _write_atomic(args.out, "benchmark.md", table)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except (_UsageError, ValueError, OSError) as exc:
        print("skscore: error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    sys.stdout.write(table)
    return 0
