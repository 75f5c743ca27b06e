"""Command-line interface: ``skscore generate``, ``skscore impute`` and ``skscore benchmark``.

``generate`` fits a model to a CSV file and writes synthetic rows with the
same columns and types: it reads the file (see :mod:`skscore._tabular`) and
passes its integer and categorical columns to the model's column types.
Columns with a different integer or label on every row (identifiers) are
refused unless dropped (``--drop``) or typed explicitly; integers beyond the
models' integer range (2**40) are modelled as continuous and rounded on
output.  The column lists are read as one CSV record each (a name holding a
comma in double quotes), and a quoted field left open in the input is
refused rather than read to the end of the file.  Outputs never lose
data: an existing file is replaced only with ``--force`` (atomically, keeping
its permission bits), never the input file, a symbolic link is followed and
kept, a named pipe or character device is written to as it is, and ``-o -``
writes to standard output.  Arguments are checked before anything is fitted,
and Ctrl-C exits with status 130 after one line.

``impute`` reads a CSV file with missing cells, fits a model with the same
column types (by default the gradient-boosted trees, which fit rows with
missing cells; another model is fitted on the complete rows only) and writes
the file back with each missing cell drawn from the model's conditional law
given the row's observed cells (``impute``), every other cell as it was
written.  ``--draws K`` writes K completed tables, stacked, numbered by a first
column ``draw``.  Its outputs are written as those of ``generate``.

The benchmark fits every requested skscore model and the baselines
(``GaussianMixture`` with its number of components chosen by BIC,
``KernelDensity`` with its bandwidth chosen by cross-validation on
standardized data, and ForestDiffusion when its package is installed) on one
train/test split of each dataset. It reports, as one Markdown table, the
held-out log-likelihood, four distances between ``n_test`` samples and the
test set (sliced Wasserstein, exact W1 under ForestDiffusion's protocol, MMD,
classifier two-sample AUC), the distance-to-closest-record ratio and
wall-clock times. With ``--out DIR`` it also writes the table and, when
matplotlib is installed, two figures per dataset.
"""

import argparse
import codecs
import contextlib
import csv
import io
import math
import os
import stat
import sys
import time
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags

from ._columns import MAX_INTEGER_MAGNITUDE
from ._io import atomic_write, check_directory, write_stream
from ._peers import (
    FD_PARAMS,
    GMM_COMPONENTS,
    KDE_BANDWIDTHS,
    AdversarialRandomForest,
    BICGaussianMixture,
    ForestDiffusion,
    StandardizedKDE,
    installed,
)
from ._tabular import (
    _MAX_INT64,
    Table,
    format_csv,
    format_filled_csv,
    identifier_columns,
    option_value,
    read_csv_source,
)
from .boosted import GradientBoostedScore
from .convex import MAX_RELU_COLUMNS, ConvexTwoLayerScore
from .datasets import DATASETS, SUITE_TABLES, load_dataset
from .metrics import c2st_auc, dcr, mmd, sliced_wasserstein, wasserstein1
from .mixture_prior import GaussianMixturePriorDiffusion
from .random_features import DiffusionRandomFeatures
from .suite import SUITE_MODELS, SUITE_PEERS, _cell, _markdown, format_suite, run_suite

__all__ = ["DEFAULT_MODELS", "MODELS", "PEERS", "main", "run_benchmark", "format_table"]

# Name -> factory called as ``factory(random_state=seed, n_jobs=n_jobs)``.
MODELS = {
    "random-features": DiffusionRandomFeatures,
    "mixture-prior": GaussianMixturePriorDiffusion,
    "convex": ConvexTwoLayerScore,
    "boosted": GradientBoostedScore,
}
# What ``skscore benchmark`` fits without --models.  'convex' is left out: its
# cone-constrained programs grow quickly with the number of columns (measured
# times in the command-line and convex guides).
DEFAULT_MODELS = ("random-features", "mixture-prior", "boosted")

DEFAULT_DATASETS = ("iris", "wine", "breast_cancer")
# The baselines of ``skscore benchmark``: name -> class; without --peers,
# ForestDiffusion joins them when its package (the ``bench`` extra) is installed.
PEERS = {cls.name: cls for cls in (BICGaussianMixture, StandardizedKDE, AdversarialRandomForest, ForestDiffusion)}
MAX_MARGINALS = 8  # columns shown in DIR/<dataset>_marginals.png
# Fewest train and test rows of a benchmark split: KernelDensity's bandwidth
# search and the classifier two-sample test both use 5 folds.
MIN_SPLIT_ROWS = 5
# ``generate -o``: these names write to standard output.
STDOUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
# ``impute``: the default model (its trees fit rows with missing cells), the
# fewest complete rows (and rows per column) on which a model that needs
# complete rows is fitted, and the first column numbering the tables of --draws.
IMPUTE_MODEL = "boosted"
MIN_COMPLETE_ROWS = 20
MIN_COMPLETE_ROWS_PER_COLUMN = 2
DRAW_COLUMN = "draw"

# Table columns after dataset and model: (header, row key, format).
_MEASURES = (
    ("test log-lik", "test_loglik", ".3f"),
    ("SW", "sw", ".4f"),
    ("W1 (FD)", "w1", ".4f"),
    ("MMD", "mmd", ".4f"),
    ("C2ST AUC", "c2st_auc", ".3f"),
    ("DCR ratio", "dcr_ratio", ".3f"),
    ("fit s", "fit_s", ".3f"),
    ("sample s", "sample_s", ".3f"),
    ("score s", "score_s", ".3f"),
)
COLUMNS = ("dataset", "model") + tuple(header for header, _, _ in _MEASURES)
NOTE = (
    "Each model draws as many samples as there are test rows. "
    "Test log-lik: mean held-out log-density in the units of the data (higher is better; "
    "n/a for a model without a density). "
    "SW: sliced Wasserstein distance between samples and test set, both standardized with the "
    "train statistics (lower is better). "
    "W1 (FD): exact 1-Wasserstein distance under ForestDiffusion's protocol, min-max scaling by "
    "the test set and L1 cost (lower is better). "
    "MMD: unbiased squared maximum mean discrepancy, RBF kernel with median bandwidth, on "
    "standardized data (lower is better; it can dip slightly below 0 when the laws agree). "
    "C2ST AUC: cross-validated ROC AUC of a gradient-boosting classifier telling test rows from "
    "samples (0.5 is best: indistinguishable; 1 means perfectly separable). "
    "DCR ratio: median distance from a sample to its closest training row over the same for a "
    "test row (about 1 is best; well below 1 means copied training rows, above 1 samples farther "
    "from the data than real rows). "
    "Fit times of the baselines include their model selection "
    f"(GaussianMixture: BIC over {GMM_COMPONENTS.start}..{GMM_COMPONENTS.stop - 1} components; "
    f"KernelDensity: 5-fold CV over {len(KDE_BANDWIDTHS)} bandwidths). "
    "ARF: adversarial random forests (Watson et al., 2023): arfpy's forest and defaults, R arf's leaf laws "
    "and likelihood. "
    "ForestDiffusion (listed when its package is installed): flow matching, "
    f"n_t={FD_PARAMS['n_t']}, duplicate_K={FD_PARAMS['duplicate_K']}."
)


class _UsageError(Exception):
    """A command-line usage error (raised instead of argparse's exit)."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(message)


# ---------------------------------------------------------------- benchmark
def number(text):
    """``--test-size``: a count when written as an integer, else a fraction."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _split_names(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def _check_unique(option, names):
    """Refuse a name given twice: its rows, samples and files would collide (checked before any fit)."""
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{option} names {name!r} twice; give each name once.")
        seen.add(name)


def _check_names(kind, names, known):
    if not names:
        raise ValueError(f"no {kind} given; choose from {', '.join(known)}.")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown {kind} {', '.join(map(repr, unknown))}; choose from {', '.join(known)}.")


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def _evaluate(model, X_train, X_test, scaler, seed):
    """Fit, sample and score one model; returns the measurements and the samples."""
    _, fit_s = _timed(model.fit, X_train)
    samples, sample_s = _timed(model.sample, X_test.shape[0], random_state=seed)
    log_density, score_s = _timed(model.score_samples, X_test)
    if np.all(np.isnan(log_density)):  # no density: nothing was scored
        score_s = math.nan

    Z_samples, Z_test = scaler.transform(samples), scaler.transform(X_test)
    privacy = dcr(X_train, samples, X_test)
    row = {
        "test_loglik": float(np.mean(log_density)),
        "sw": sliced_wasserstein(Z_samples, Z_test),
        "w1": wasserstein1(samples, X_test, protocol="forestdiffusion"),
        "mmd": mmd(Z_samples, Z_test),
        "c2st_auc": c2st_auc(Z_test, Z_samples),
        "dcr_ratio": privacy["ratio"],
        "dcr_share_closer": privacy["share_closer"],
        "fit_s": fit_s,
        "sample_s": sample_s,
        "score_s": score_s,
    }
    return row, samples


def _check_seed_and_jobs(seed, n_jobs):
    if seed is not None and not 0 <= seed < 2**32:
        raise ValueError(f"--seed must be an integer in 0..2**32-1, got {seed}.")
    if n_jobs == 0:
        raise ValueError("--n-jobs must not be 0 (give a number of threads, or -1 for all cores).")


def _benchmark_peers(peers):
    """The baseline classes for ``peers`` (None: GaussianMixture, KernelDensity, ARF, an installed ForestDiffusion)."""
    if peers is None:
        return [cls for name, cls in PEERS.items() if name != ForestDiffusion.name or installed("ForestDiffusion")]
    unknown = [name for name in peers if name not in PEERS]
    if unknown:
        raise ValueError(f"unknown peer {', '.join(map(repr, unknown))}; choose from {', '.join(PEERS)}.")
    if ForestDiffusion.name in peers and not installed("ForestDiffusion"):
        raise ValueError("peer 'ForestDiffusion' needs its package: pip install 'skscore[bench]'.")
    return [PEERS[name] for name in peers]


def _benchmark_splits(datasets, models, seed, test_size, n_jobs):
    """Check the arguments and split each dataset: a list of ``(dataset, X_train, X_test)``.

    The datasets, models, seed, jobs and test size are checked here (the
    peers just before, by :func:`_benchmark_peers`), all before any fit, so
    that a bad argument is reported at once rather than after minutes of
    fitting.
    """
    _check_names("dataset", datasets, DATASETS)
    if models:  # none, with peers only
        _check_names("model", models, list(MODELS))
    _check_seed_and_jobs(seed, n_jobs)
    splits = []
    for dataset in datasets:
        X = load_dataset(dataset)
        try:
            X_train, X_test = train_test_split(X, test_size=test_size, random_state=seed)
        except ValueError as exc:
            raise ValueError(f"--test-size {test_size} on {dataset} ({X.shape[0]} rows): {exc}") from None
        for part, rows in (("test", X_test.shape[0]), ("training", X_train.shape[0])):
            if rows < MIN_SPLIT_ROWS:
                raise ValueError(
                    f"--test-size {test_size} leaves {rows} {part} rows of {dataset} ({X.shape[0]} rows); "
                    f"the benchmark needs at least {MIN_SPLIT_ROWS} in each part (5-fold model selection and "
                    f"two-sample test)."
                )
        # the convex model's cone-constrained programs refuse wide data: say so before any other fit
        varying = int(np.sum(np.ptp(X_train, axis=0) > 0))  # constant columns are left out of the model
        if "convex" in models and varying > MAX_RELU_COLUMNS:
            raise ValueError(
                f"--models convex takes at most {MAX_RELU_COLUMNS} columns that vary, and {dataset} has {varying}: "
                "leave convex out of --models, or this dataset out of --datasets."
            )
        splits.append((dataset, X_train, X_test))
    return splits


def _benchmark_datasets(datasets, models, seed=0, test_size=0.3, n_jobs=None, progress=False, peers=None):
    """Yield ``(dataset, X_train, X_test, rows, samples)`` dataset by dataset.

    ``samples`` maps each model name to its ``n_test`` samples. With
    ``progress``, one line per fitted model goes to stderr.
    """
    datasets, models = list(datasets), list(models)
    for option, names in (("datasets", datasets), ("models", models), ("peers", peers or ())):
        _check_unique(option, names)
    peer_classes = _benchmark_peers(None if peers is None else list(peers))
    if not models and not peer_classes:
        raise ValueError("the benchmark needs at least one model or peer.")
    splits = _benchmark_splits(datasets, models, seed, test_size, n_jobs)  # the other checks, before any fit
    factories = [(name, MODELS[name]) for name in models] + [(cls.name, cls) for cls in peer_classes]
    total, done = len(splits) * len(factories), 0
    for dataset, X_train, X_test in splits:
        scaler = StandardScaler().fit(X_train)
        rows, samples = [], {}
        for name, factory in factories:
            row, samples[name] = _evaluate(factory(random_state=seed, n_jobs=n_jobs), X_train, X_test, scaler, seed)
            rows.append({"dataset": dataset, "model": name, **row})
            done += 1
            if progress:
                print(f"[{done}/{total}] {dataset}: {name} fit {row['fit_s']:.1f} s", file=sys.stderr, flush=True)
        yield dataset, X_train, X_test, rows, samples


def run_benchmark(datasets, models, seed=0, test_size=0.3, n_jobs=None, progress=False, peers=None):
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
        Passed to the skscore models, to the bandwidth search and to
        ForestDiffusion (where None means all CPUs, its own default).
    progress : bool, default=False
        Print one line per fitted model on stderr.
    peers : sequence of str or None, default=None
        Baselines from :data:`PEERS` ('GaussianMixture', 'KernelDensity',
        'ARF', 'ForestDiffusion'); None fits GaussianMixture, KernelDensity,
        adversarial random forests (arfpy's forest, R arf's leaf laws and
        likelihood; under a second on these tables) and, when its package is
        installed, ForestDiffusion (which takes an hour or more on breast
        cancer with 2 cores).

    Returns
    -------
    rows : list of dict
        One dict per (dataset, model) with keys ``dataset``, ``model``,
        ``test_loglik`` (mean held-out log-density, original units; NaN for
        ForestDiffusion, which has no density), the distances between
        ``n_test`` samples and the test set ``sw`` (sliced Wasserstein, both
        standardized with the train scaler), ``w1`` (exact W1 under
        ForestDiffusion's protocol), ``mmd`` (squared MMD, standardized) and
        ``c2st_auc`` (classifier two-sample AUC, standardized), the
        memorization check ``dcr_ratio`` and ``dcr_share_closer`` (see
        :func:`skscore.metrics.dcr`), and ``fit_s``, ``sample_s`` and
        ``score_s`` (wall-clock seconds; ``score_s`` is NaN without a density).

    Raises
    ------
    ValueError
        For an unknown or empty list of names, a ForestDiffusion peer
        without its package, or invalid arguments.
    """
    results = _benchmark_datasets(datasets, models, seed, test_size, n_jobs, progress, peers)
    return [row for *_, rows, _ in results for row in rows]


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
    lines = [[row["dataset"], row["model"]] + [_cell(row[key], spec) for _, key, spec in _MEASURES] for row in rows]
    return _markdown(COLUMNS, lines, left=2) + "\n\n" + NOTE + "\n"


def _write_atomic(directory, filename, data, force=False):
    """Write ``data`` (str or bytes) to ``directory/filename`` atomically.

    An existing file is replaced only with ``force`` (keeping its permission bits).
    """
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, filename)
    try:
        atomic_write(path, data, overwrite=force)
    except FileExistsError:
        raise ValueError(f"{path} was created during the benchmark; pass --force to replace it") from None


def _benchmark_files(datasets, figures):
    names = ["benchmark.md"]
    if figures:
        names += [f"{dataset}_{kind}.png" for dataset in datasets for kind in ("marginals", "pairs")]
    return names


def _check_files_can_be_created(directory, what):
    """One line naming ``what`` unless a file can be created in ``directory`` (tried, then removed)."""
    try:
        check_directory(directory)
    except OSError as exc:
        raise ValueError(f"{what}: cannot create files in {directory} ({exc.strerror})") from None


def _check_out_directory(directory, filenames, force):
    """Before any fit: ``--out DIR`` must be (or become) a writable directory whose files may be written.

    A missing DIR is not created here (a later error would leave it behind);
    its nearest existing ancestor must be a writable directory.  Existing
    files need ``force`` and must be regular files.
    """
    if os.path.isdir(directory):
        existing = directory
    else:
        if os.path.lexists(directory):
            raise ValueError(f"--out {directory} exists and is not a directory")
        existing = os.path.dirname(os.path.abspath(directory))
        while not os.path.lexists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise ValueError(f"--out {directory}: {existing} is not a directory")
    _check_files_can_be_created(existing, f"--out {directory}")
    if existing != directory:
        return
    present = [name for name in filenames if os.path.lexists(os.path.join(directory, name))]
    for name in present:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):  # follows links: a link to a regular file is fine
            raise ValueError(f"--out {directory}: {name} exists and is not a regular file")
    if present and not force:
        raise ValueError(
            f"--out {directory} already holds {', '.join(present)}; pass --force to replace "
            f"{'it' if len(present) == 1 else 'them'}"
        )


# ------------------------------------------------------------------- figures
def _have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _write_figure(directory, filename, fig, force=False):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    _write_atomic(directory, filename, buffer.getvalue(), force)


def _write_figures(directory, dataset, X_train, X_test, samples, force=False):
    """``<dataset>_marginals.png`` and ``<dataset>_pairs.png``: test data vs each model's samples.

    Uses matplotlib's Agg canvas directly, so pyplot's global state is left alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    real = {"color": "0.6", "label": "test data"}

    # Per-column histograms, on bins shared by the data and all models.
    n_cols = min(MAX_MARGINALS, X_test.shape[1])
    grid = (math.ceil(n_cols / 4), min(n_cols, 4))
    fig = Figure(figsize=(3.2 * grid[1], 2.6 * grid[0] + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(*grid, squeeze=False).ravel()
    for j, ax in enumerate(axes[:n_cols]):
        pooled = np.concatenate([X_test[:, j]] + [s[:, j] for s in samples.values()])
        bins = np.histogram_bin_edges(pooled, bins=20, range=tuple(np.percentile(pooled, [0.5, 99.5])))
        ax.hist(X_test[:, j], bins, density=True, alpha=0.5, **real)
        for i, (name, s) in enumerate(samples.items()):
            ax.hist(s[:, j], bins, density=True, histtype="step", linewidth=1.5, color=f"C{i}", label=name)
        ax.set_title(f"column {j}", fontsize="medium")
    for ax in axes[n_cols:]:
        ax.set_visible(False)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=len(samples) + 1)
    fig.suptitle(f"{dataset}: marginals of the first {n_cols} columns")
    _write_figure(directory, f"{dataset}_marginals.png", fig, force)

    # First two principal components of the standardized train data.
    scaler = StandardScaler().fit(X_train)
    pca = PCA(n_components=2, random_state=0).fit(scaler.transform(X_train))

    def project(X):
        return pca.transform(scaler.transform(X))

    P_test = project(X_test)
    fig = Figure(figsize=(3.2 * len(samples), 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(samples), sharex=True, sharey=True, squeeze=False)[0]
    for i, (ax, (name, s)) in enumerate(zip(axes, samples.items())):
        P = project(s)
        ax.scatter(P_test[:, 0], P_test[:, 1], s=8, **real)
        ax.scatter(P[:, 0], P[:, 1], s=8, alpha=0.7, color=f"C{i}", label="samples")
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("PC 1")
        ax.legend(fontsize="small")
    axes[0].set_ylabel("PC 2")
    fig.suptitle(f"{dataset}: first two principal components (standardized train data)")
    _write_figure(directory, f"{dataset}_pairs.png", fig, force)


# ---------------------------------------------------------------------- main
def _build_parser():
    parser = _ArgumentParser(prog="skscore", description="Score-based diffusion density estimators.")
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser(
        "benchmark",
        help="compare skscore models with GaussianMixture, KernelDensity (and ForestDiffusion)",
        description=(
            "Fit the skscore models, GaussianMixture (components by BIC), KernelDensity "
            "(bandwidth by CV) and, when installed, ForestDiffusion on one train/test split of "
            "each dataset, and print as a Markdown table the held-out log-likelihood, distances "
            "of samples to the test set (sliced Wasserstein, W1 under ForestDiffusion's protocol, "
            "MMD, classifier two-sample AUC), the distance-to-closest-record ratio and wall-clock "
            "times."
        ),
    )
    bench.add_argument(
        "--datasets", default=",".join(DEFAULT_DATASETS), help=f"comma-separated, from {', '.join(DATASETS)}"
    )
    bench.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"comma-separated, from {', '.join(MODELS)} (default: {','.join(DEFAULT_MODELS)}); with --suite "
        f"also the named configurations {', '.join(name for name in SUITE_MODELS if name not in MODELS)} "
        "(skscore.suite.SUITE_MODELS)",
    )
    bench.add_argument(
        "--out",
        metavar="DIR",
        help="also write the table to DIR/benchmark.md and, with matplotlib, "
        "DIR/<dataset>_marginals.png and DIR/<dataset>_pairs.png (existing files need --force)",
    )
    bench.add_argument("--force", action="store_true", help="replace files that already exist in --out DIR")
    bench.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        metavar="N",
        help="threads of the skscore models and of the bandwidth search; processes of ForestDiffusion",
    )
    bench.add_argument(
        "--suite",
        choices=["real"],
        help="run the real-table suite instead (skscore.suite): every model plain and with declared types, "
        "the peers, W1 with standard errors over --draws sample sets, mean ranks; --datasets is ignored",
    )
    bench.add_argument(
        "--tables", help=f"suite only: comma-separated tables (default: all of {', '.join(SUITE_TABLES)})"
    )
    bench.add_argument(
        "--peers",
        help=f"comma-separated baselines, or 'none': from {', '.join(PEERS)}, with --suite from "
        f"{', '.join(SUITE_PEERS)} (default: those installed)",
    )
    bench.add_argument("--draws", type=int, default=5, metavar="R", help="suite only: sample sets per model")
    bench.add_argument("--max-train", type=int, default=1200, metavar="N", help="suite only: training rows per table")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument(
        "--test-size",
        type=number,
        default=None,
        help="fraction (or number) of test rows (default 0.3; not with --suite)",
    )
    bench.add_argument(
        "--progress",
        action="store_true",
        help="print one line per fitted model on stderr (default: only when stderr is a terminal)",
    )
    gen = commands.add_parser(
        "generate",
        help="fit a model to a CSV file and write synthetic rows",
        description=(
            "Read a CSV file with a header (numeric, integer and categorical columns, detected "
            "automatically or forced with --integer/--categorical), fit a model and write "
            "synthetic rows with the same columns and types.  The model is given the integer and "
            "categorical columns (integer_features, categorical_features) with bounds='auto' and "
            "point_masses='auto': integers are dequantized for the fit and floored on output, "
            "categories take only their input labels, columns without negative values stay "
            "non-negative (within [0, 1] when they lie there), and spikes of a float column (values "
            "held by at least 5% of the rows and five times as many as the values around them, such as "
            "exact zeros or a cap) are reproduced as point masses.  "
            "Columns with a different integer or label on every row look like identifiers and are "
            "refused: leave them out with --drop, or name them in --integer/--categorical."
        ),
    )
    _add_table_arguments(gen)
    gen.add_argument("-n", "--n-samples", type=int, required=True, metavar="N", help="number of rows to generate")
    gen.add_argument("--model", default="random-features", help=f"one of {', '.join(MODELS)}")
    gen.add_argument("--seed", type=int, default=None, help="seed of the fit and the samples (default: fresh)")
    gen.add_argument(
        "--drop", default="", metavar="COLS", help="comma-separated columns to leave out (of the fit and the output)"
    )
    gen.add_argument("--progress", action="store_true", help="report fit and sampling times on stderr (default: on a terminal)")
    imp = commands.add_parser(
        "impute",
        help="fill the missing cells of a CSV file by drawing them from a model fitted to it",
        description=(
            "Read a CSV file with a header whose missing cells are empty or NA, N/A, NaN, null (any case), fit "
            f"a model with the column types of 'generate' (default: {IMPUTE_MODEL}, whose trees fit rows with "
            "missing cells; any other model is fitted on the complete rows only), and write the file again "
            "with each missing cell drawn from the model's law given the observed cells of its row.  Observed "
            "cells are written as they were; integer columns get integers, categorical columns labels of the "
            f"input.  With --draws K, K completed tables are written one after the other, numbered 1..K by a "
            f"first column '{DRAW_COLUMN}' (a multiple imputation).  A file without missing cells is written "
            "unchanged; a row whose every cell is missing is refused."
        ),
    )
    _add_table_arguments(imp)
    imp.add_argument(
        "--model",
        default=IMPUTE_MODEL,
        help=f"one of {', '.join(MODELS)} (default: {IMPUTE_MODEL}; the others fit on the complete rows only)",
    )
    imp.add_argument(
        "--draws",
        type=int,
        default=1,
        metavar="K",
        help=f"write K completed tables, stacked, with a first column '{DRAW_COLUMN}' (1..K) (default: 1, "
        "one table without that column)",
    )
    imp.add_argument("--seed", type=int, default=None, help="seed of the fit and the draws (default: fresh)")
    imp.add_argument(
        "--drop",
        default="",
        metavar="COLS",
        help="comma-separated columns to leave out of the model; they are copied to the output as they are",
    )
    imp.add_argument(
        "--progress", action="store_true", help="report fit and imputation times on stderr (default: on a terminal)"
    )
    return parser


def _add_table_arguments(command):
    """The arguments that ``generate`` and ``impute`` share: the CSV file in, the file out, column kinds."""
    command.add_argument("data", help="input CSV file with a header row")
    command.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="output CSV file, written atomically ('-': standard output); an existing file needs --force",
    )
    command.add_argument("--force", action="store_true", help="replace an existing output file (keeping its permissions)")
    command.add_argument("--integer", default="", metavar="COLS", help="comma-separated columns to treat as integers")
    command.add_argument(
        "--categorical", default="", metavar="COLS", help="comma-separated columns to treat as categories"
    )
    command.add_argument(
        "--delimiter",
        type=_delimiter,
        default=None,
        metavar="SEP",
        help="field separator of the input and the output: one character, 'tab', or 'auto' (default: "
        "detect among , ; tab |)",
    )
    command.add_argument(
        "--max-categories", type=int, default=50, metavar="K", help="most distinct values of a text column"
    )
    command.add_argument("--n-jobs", type=int, default=None, metavar="N", help="threads of the model")
    command.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="print the model's fit progress on stderr, one line per stage (the model's verbose); -vv adds detail",
    )


def _delimiter(text):
    """``--delimiter``: 'auto' (None), 'tab' or '\\t', or one character."""
    if text == "auto":
        return None
    if text in ("tab", "\\t"):
        return "\t"
    if len(text) != 1 or text in '"\r\n' or text.isalnum():
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'tab' or one character other than a letter or digit, got {text!r}"
        )
    return text


def _output_plan(path, data, force, what="the samples"):
    """How ``generate`` (and ``impute``) writes ``-o PATH``, decided before anything is fitted.

    Returns 'stdout' (``-``, ``/dev/stdout``), 'stream' (an existing named
    pipe or character device, written to as it is) or 'file' (a new or
    existing regular file, written atomically; a symbolic link is followed
    and kept).  Raises ValueError for the input file itself, an existing
    regular file without ``force``, a directory or another kind of file, or
    a directory where no file can be created, an empty path and one that
    names a directory (``new/``, ``dir/.``) whether it exists or not.
    """
    if not path:
        raise ValueError("-o needs a file name ('-' for standard output), got an empty one")
    if path.endswith(tuple(sep for sep in (os.sep, os.altsep) if sep)) or os.path.basename(path) in (".", ".."):
        raise ValueError(f"the output {path} names a directory; give a file name")
    if path in STDOUT_NAMES or os.path.abspath(path) in STDOUT_NAMES:
        return "stdout"
    try:
        status = os.stat(path)  # follows symbolic links
    except FileNotFoundError:
        status = None
    if status is not None:
        try:
            same = os.path.samestat(status, os.stat(data))
        except OSError:
            same = False
        if same or os.path.realpath(path) == os.path.realpath(data):
            raise ValueError(f"the output {path} is the input file {data}; write {what} to another file")
        mode = status.st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
            return "stream"
        if stat.S_ISDIR(mode):
            raise ValueError(f"the output {path} is a directory; give a file name")
        if not stat.S_ISREG(mode):
            raise ValueError(f"the output {path} is not a regular file, a named pipe or a character device")
        if not force:
            raise ValueError(f"the output {path} exists; pass --force to replace it")
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"cannot write {path}: no directory {directory}")
    _check_files_can_be_created(directory, f"cannot write {path}")
    return "file"


def _check_scale(table, X):
    """Refuse columns whose spread overflows float64 (the models standardize the data)."""
    with np.errstate(all="ignore"):
        spread = np.nanstd(X, axis=0)  # missing cells (impute) left out
    bad = np.flatnonzero(~np.isfinite(spread))
    if bad.size:
        j = int(bad[0])
        raise ValueError(
            f"column {table.names[j]!r} holds values too large to model (up to "
            f"{np.nanmax(np.abs(X[:, j])):.3g} in magnitude; its variance overflows): rescale it first"
        )


def _refuse_identifiers(table, exempt, impute=False):
    """``generate`` and ``impute`` refuse columns that look like identifiers (see ``identifier_columns``)."""
    flagged = identifier_columns(table, exempt)
    if not flagged:
        return
    names = [name for name, _ in flagged]
    listed = option_value(names)  # as the options read it, quoted for the shell
    if len(names) == 1:
        name, reason = flagged[0]
        flag = "--integer" if table.kinds[table.names.index(name)] == "integer" else "--categorical"
        if impute:
            raise ValueError(
                f"column {name!r} looks like an identifier ({reason}): a model learns nothing from it and would "
                f"draw made-up identifiers for its missing cells; pass --drop {listed} to copy it to the output "
                f"without modelling it, or {flag} {listed} to model it anyway"
            )
        raise ValueError(
            f"column {name!r} looks like an identifier ({reason}): synthetic rows would copy or imitate real "
            f"identifiers; leave it out with --drop {listed}, or pass {flag} {listed} to model it anyway"
        )
    if impute:
        raise ValueError(
            f"columns {', '.join(map(repr, names))} look like identifiers (a different value on every row): a "
            f"model learns nothing from them; pass --drop {listed} to copy them to the output without "
            "modelling them, or name them in --integer or --categorical to model them anyway"
        )
    raise ValueError(
        f"columns {', '.join(map(repr, names))} look like identifiers (a different value on every row): synthetic "
        f"rows would copy or imitate real identifiers; leave them out with --drop {listed}, or name them "
        "in --integer or --categorical to model them anyway"
    )


# ----------------------------------------------------------- the CSV file in
# --integer, --categorical, --drop: the attribute of ``args`` for each option.
_COLUMN_OPTIONS = {"--integer": "integer", "--categorical": "categorical", "--drop": "drop"}


def _column_list(option, text):
    """The value of ``--integer``, ``--categorical`` or ``--drop``, read as one CSV record.

    ``a,b`` names two columns; a name that holds a comma (or a double quote)
    is written in double quotes as in a CSV file: ``"customer, id",b``.
    Names are stripped of surrounding spaces; empty ones are left out.
    """
    try:
        records = list(csv.reader([text], skipinitialspace=True, strict=True))
    except csv.Error as exc:
        raise ValueError(
            f"{option} {text!r} does not read as comma-separated column names ({exc}); write a name that holds "
            "a comma in double quotes, as in --drop '\"customer, id\",age'"
        ) from None
    return [name.strip() for name in (records[0] if records else []) if name.strip()]


def _continuous_wide_integers(table):
    """Integer columns beyond the models' integer range become continuous ('float') columns.

    The models dequantize integers only up to ``MAX_INTEGER_MAGNITUDE``
    (2**40) in magnitude; an integer column with larger values (epoch
    milliseconds, say; detected or named in ``--integer``) is modelled as
    continuous instead, where a step of 1 is far below its spread, and its
    values are rounded to integers on output (see :func:`_decode`).
    Returns the positions of those columns.
    """
    wide = []
    for j, (kind, column) in enumerate(zip(table.kinds, table.columns)):
        if kind == "integer" and np.nanmax(np.abs(np.asarray(column, dtype=np.float64))) > MAX_INTEGER_MAGNITUDE:
            table.kinds[j] = "float"
            wide.append(j)
    return wide


def _decode(table, wide, X):
    """``table.from_array(X)``, the columns of ``wide`` (integers modelled as continuous) rounded to integers."""
    if not wide:
        return table.from_array(X)
    X, kinds = np.array(X, dtype=np.float64), list(table.kinds)
    for j in wide:
        X[:, j] = np.rint(X[:, j])
        if np.all(np.abs(X[:, j]) < _MAX_INT64):
            kinds[j] = "integer"
    return Table(names=table.names, kinds=kinds, columns=table.columns, delimiter=table.delimiter).from_array(X)


def _read_table(args, *, allow_missing=False):
    """The CSV file of ``generate`` or ``impute`` read with the column options of ``args``.

    Returns ``(table, source)`` as :func:`read_csv_source` returns them,
    the columns whose kind was forced (``--integer``, ``--categorical``) and
    the dropped ones (``--drop``).
    """
    if args.max_categories < 1:
        raise ValueError(f"--max-categories must be a positive number of labels, got {args.max_categories}.")
    lists = {option: _column_list(option, getattr(args, attribute)) for option, attribute in _COLUMN_OPTIONS.items()}
    integer, categorical, dropped = lists["--integer"], lists["--categorical"], lists["--drop"]
    table, source = read_csv_source(
        args.data,
        integer_columns=integer or None,
        categorical_columns=categorical or None,
        max_categories=args.max_categories,
        delimiter=args.delimiter,
        drop_columns=dropped or None,
        allow_missing=allow_missing,
    )
    return (table, source), integer, categorical, dropped


def _typed_model(args, table):
    """``--model`` with the table's integer and categorical columns, bounds and point masses detected."""
    return MODELS[args.model](
        random_state=args.seed,
        n_jobs=args.n_jobs,
        verbose=args.verbose,
        integer_features=table.indices("integer"),
        categorical_features=table.indices("categorical"),
        bounds="auto",
        point_masses="auto",
    )


def _generate_command(args):
    """``generate``: fit on a CSV file, write synthetic rows.

    Returns what goes to standard output: the summary line, or the CSV text
    itself with ``-o -`` (the summary then goes to stderr).
    """
    _check_names("model", [args.model], list(MODELS))
    if args.n_samples < 1:
        raise ValueError(f"-n must be a positive number of rows, got {args.n_samples}.")
    _check_seed_and_jobs(args.seed, args.n_jobs)
    plan = _output_plan(args.output, args.data, args.force)
    (table, _), integer, categorical, dropped = _read_table(args)
    _refuse_identifiers(table, exempt=set(integer) | set(categorical))
    wide = _continuous_wide_integers(table)
    progress = args.progress or sys.stderr.isatty()
    X = table.to_array()  # categorical columns as the codes of their sorted labels
    _check_scale(table, X)
    model = _typed_model(args, table)
    if progress:
        print(f"skscore: fitting {args.model} on {X.shape[0]} rows x {X.shape[1]} columns ...", file=sys.stderr)
    # Numeric warnings (overflow on extreme values) are not shown: the samples are checked instead.
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        with contextlib.redirect_stdout(sys.stderr):  # the model's progress (--verbose); -o - writes CSV on stdout
            _, fit_s = _timed(model.fit, X)
        if progress:
            print(f"skscore: fitted in {fit_s:.1f} s; sampling {args.n_samples} rows ...", file=sys.stderr)
        samples, sample_s = _timed(model.sample, args.n_samples)  # seeded at fit
    if not np.all(np.isfinite(samples)):
        raise ValueError(
            f"the {args.model} model produced non-finite values (a numeric overflow); rescale columns with "
            "very large values and try again"
        )
    text = format_csv(_decode(table, wide, samples))
    left_out = f", left out: {', '.join(dropped)}" if dropped else ""
    destination = "standard output" if plan == "stdout" else args.output
    summary = (
        f"wrote {args.n_samples} rows x {len(table.names)} columns to {destination} "
        f"(fit {fit_s:.1f} s, sample {sample_s:.1f} s{left_out})\n"
    )
    return _deliver(args, plan, text, summary)


def _deliver(args, plan, text, summary):
    """Write ``text`` (str, or bytes written as they are) to ``-o`` as planned by :func:`_output_plan`.

    Returns what goes to standard output: ``summary``, or the text itself
    with ``-o -`` (the summary then goes to stderr).
    """
    if plan == "stdout":
        sys.stderr.write(summary)
        return text.decode("utf-8") if isinstance(text, bytes) else text
    if plan == "stream":
        try:
            write_stream(args.output, text)
        except BrokenPipeError:
            raise ValueError(f"the reader of {args.output} went away before all rows were written") from None
    else:
        try:
            atomic_write(args.output, text, overwrite=args.force)
        except FileExistsError:
            raise ValueError(
                f"the output {args.output} was created while the model was fitted; pass --force to replace it"
            ) from None
    return summary


def _fits_missing(model):
    """Whether ``model.fit`` takes rows with missing entries (NaN)."""
    try:
        return bool(get_tags(model).input_tags.allow_nan)
    except (AttributeError, TypeError):  # pragma: no cover - not a scikit-learn estimator
        return False


def _plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def _observed_bounds(table, X):
    """``bounds='auto'`` as computed on every row's observed cells, as an explicit dict.

    A model fitted on the complete rows only gets the bounds of the whole
    table: with 'auto', an observed value of an incomplete row outside the
    complete rows' range (a negative value in a column whose complete rows are
    all positive) would be impossible for it.
    """
    bounds = {}
    for j, kind in enumerate(table.kinds):
        values = X[:, j][~np.isnan(X[:, j])]
        if kind != "categorical" and values.size and values.min() >= 0.0:
            bounds[j] = (0.0, 1.0 if values.max() <= 1.0 else None)
    return bounds


def _suggest_trees():
    return f"use --model {IMPUTE_MODEL}, whose trees fit rows with missing cells"


def _check_complete_rows(args, table, source, X, complete):
    """A model fitted on the complete rows only: enough of them, and among them every label of the table
    and every value of a column that takes a single value there."""
    n_complete, n_rows = int(complete.sum()), X.shape[0]
    needed = max(MIN_COMPLETE_ROWS, MIN_COMPLETE_ROWS_PER_COLUMN * X.shape[1])
    if n_complete < needed:
        raise ValueError(
            f"the {args.model} model needs complete rows to fit, and {args.data} has {n_complete} of {n_rows} "
            f"rows without a missing cell (it needs at least {needed}, the larger of {MIN_COMPLETE_ROWS} and "
            f"{MIN_COMPLETE_ROWS_PER_COLUMN} per column); {_suggest_trees()}"
        )
    for j, kind in enumerate(table.kinds):
        seen = set(X[complete, j])
        if kind != "categorical" and len(seen) > 1:
            continue  # a numeric column with several values: any other value is possible
        for i in np.flatnonzero(~complete & ~np.isnan(X[:, j])):
            if X[i, j] not in seen:
                what = f"the label {table.columns[j][i]!r}" if kind == "categorical" else f"the value {X[i, j]:g}"
                raise ValueError(
                    f"column {table.names[j]!r} holds {what} (line {source.lines[i]}) only in rows with missing "
                    f"cells, which the {args.model} model cannot fit on: it could not condition on that "
                    f"{'label' if kind == 'categorical' else 'value'}; {_suggest_trees()}"
                )


def _impossible_row(model_name, model, table, source, X, error):
    """``error`` (raised by ``impute`` of a model fitted on the complete rows), with the line it is about.

    Such a model gives probability zero to an observed value of an incomplete
    row that its complete rows do not allow (a value strictly between 0 and
    1 in a column whose complete rows hold only 0 and 1, say): the first such
    row is named.
    """
    names = np.array(table.names, dtype=object)
    for i in np.flatnonzero(np.isnan(X).any(axis=1)):
        try:
            model.column_types_.check_observed(X[i : i + 1], feature_names=names)
        except ValueError as exc:
            return ValueError(
                f"line {source.lines[i]}: {str(exc).rstrip('.')}; the {model_name} model, fitted on the complete "
                f"rows only, cannot condition on that value: {_suggest_trees()}"
            )
    return error


def _keep_bom(source, text):
    """``text`` written from the file of ``source``, with the file's UTF-8 byte-order mark when it has one."""
    return "\ufeff" + text if source.data.startswith(codecs.BOM_UTF8) else text


def _impute_command(args):
    """``impute``: fill the missing cells of a CSV file by conditional draws from a fitted model.

    Returns what goes to standard output: the summary line, or the CSV text
    itself with ``-o -`` (the summary then goes to stderr).
    """
    _check_names("model", [args.model], list(MODELS))
    if args.draws < 1:
        raise ValueError(f"--draws must be a positive number of completed tables, got {args.draws}.")
    _check_seed_and_jobs(args.seed, args.n_jobs)
    plan = _output_plan(args.output, args.data, args.force, what="the completed table")
    (table, source), integer, categorical, dropped = _read_table(args, allow_missing=True)
    draw_column = DRAW_COLUMN if args.draws > 1 else None
    if draw_column is not None and draw_column in [name.strip() for name in source.header]:
        raise ValueError(
            f"{args.data} has a column named {draw_column!r}, the name of the column that numbers the tables of "
            "--draws; rename it"
        )
    X = table.to_array()  # categorical columns as the codes of their sorted labels, missing cells NaN
    missing = np.isnan(X)
    destination = "standard output" if plan == "stdout" else args.output
    n_rows, n_columns = X.shape[0], len(source.header) + (draw_column is not None)
    outside = " outside the dropped columns" if dropped else ""
    if not missing.any():
        if draw_column is None:
            summary = f"no missing cell in {args.data}{outside}: wrote it unchanged to {destination}\n"
            return _deliver(args, plan, source.data, summary)
        text = _keep_bom(source, format_filled_csv(source, table, [table] * args.draws, draw_column=draw_column))
        summary = (
            f"no missing cell in {args.data}{outside}: wrote {args.draws} unchanged copies of its {n_rows} rows "
            f"({args.draws * n_rows} rows x {n_columns} columns, {draw_column!r} first) to {destination}\n"
        )
        return _deliver(args, plan, text, summary)

    _refuse_identifiers(table, exempt=set(integer) | set(categorical), impute=True)
    wide = _continuous_wide_integers(table)
    _check_scale(table, X)
    progress = args.progress or sys.stderr.isatty()
    model = _typed_model(args, table)
    complete = ~missing.any(axis=1)
    if _fits_missing(model):
        X_fit, fitted_on = X, f"all {n_rows} rows"
    else:
        _check_complete_rows(args, table, source, X, complete)
        model.set_params(bounds=_observed_bounds(table, X))  # those of every row, as 'auto' would give them
        X_fit, fitted_on = X[complete], f"the {int(complete.sum())} complete rows of {n_rows}"
    n_missing, n_incomplete = int(missing.sum()), int((~complete).sum())
    if progress:
        print(
            f"skscore: fitting {args.model} on {fitted_on} x {X.shape[1]} columns ...", file=sys.stderr, flush=True
        )
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        with contextlib.redirect_stdout(sys.stderr):  # the model's progress (--verbose); -o - writes CSV on stdout
            _, fit_s = _timed(model.fit, X_fit)
        if progress:
            print(
                f"skscore: fitted in {fit_s:.1f} s; drawing {_plural(n_missing, 'missing cell')} of "
                f"{_plural(n_incomplete, 'row')}{f' {args.draws} times' if args.draws > 1 else ''} ...",
                file=sys.stderr,
                flush=True,
            )
        try:
            draws, impute_s = _timed(model.impute, X, n_draws=args.draws)  # seeded at fit
        except ValueError as exc:
            if X_fit is X:
                raise
            raise _impossible_row(args.model, model, table, source, X, exc) from None
    if not np.all(np.isfinite(draws)):
        raise ValueError(
            f"the {args.model} model produced non-finite values (a numeric overflow); rescale columns with "
            "very large values and try again"
        )
    completed = [_decode(table, wide, draw) for draw in draws]
    text = _keep_bom(source, format_filled_csv(source, table, completed, draw_column=draw_column))
    written = (
        f"{n_rows} rows x {n_columns} columns"
        if draw_column is None
        else f"{args.draws} completed tables ({args.draws * n_rows} rows x {n_columns} columns, {draw_column!r} first)"
    )
    copied = f", copied as they were: {', '.join(dropped)}" if dropped else ""
    summary = (
        f"filled {_plural(n_missing, 'missing cell')} in {n_incomplete} of {n_rows} rows with {args.model} "
        f"fitted on {fitted_on}; wrote {written} to {destination} (fit {fit_s:.1f} s, impute {impute_s:.1f} s"
        f"{copied})\n"
    )
    return _deliver(args, plan, text, summary)


def _benchmark_command(args):
    """``benchmark``: returns the table; writes the files of ``--out``."""
    _check_out_name(args.out)
    if args.suite:
        return _suite_command(args)
    datasets, models = _split_names(args.datasets), _split_names(args.models)
    _check_unique("--datasets", datasets)
    _check_unique("--models", models)
    _check_unique("--peers", _peer_names(args.peers) or ())
    figures = args.out is not None and _have_matplotlib()
    if args.out is not None:
        _check_names("dataset", datasets, DATASETS)
        _check_out_directory(args.out, _benchmark_files(datasets, figures), args.force)
    results = _benchmark_datasets(
        datasets,
        models,
        seed=args.seed,
        test_size=0.3 if args.test_size is None else args.test_size,
        n_jobs=args.n_jobs,
        progress=args.progress or sys.stderr.isatty(),
        peers=_peer_names(args.peers),
    )
    rows = []
    for dataset, X_train, X_test, dataset_rows, samples in results:
        rows += dataset_rows
        if figures:
            _write_figures(args.out, dataset, X_train, X_test, samples, args.force)
    table = format_table(rows)
    if args.out is not None:
        _write_atomic(args.out, "benchmark.md", table, args.force)
        if not figures:
            print("skscore: note: matplotlib is not installed; wrote the table only, no figures.", file=sys.stderr)
    return table


def _check_out_name(directory):
    """``--out ""`` is refused rather than ignored."""
    if directory is not None and not directory:
        raise ValueError("--out needs a directory name, got an empty one")


def _peer_names(text):
    """``--peers``: None when not given (every installed peer), an empty list for 'none'."""
    if text is None:
        return None
    return [] if text.strip() == "none" else _split_names(text)


def _suite_command(args):
    """``benchmark --suite real``: returns the suite's Markdown; writes DIR/suite.md with ``--out``.

    The options the suite takes as parameters are checked here, so that a
    message names the option (``--draws``, not ``n_draws``).
    """
    tables = _split_names(args.tables) if args.tables is not None else list(SUITE_TABLES)
    models, peers = _split_names(args.models), _peer_names(args.peers)
    for option, names in (("--tables", tables), ("--models", models), ("--peers", peers or ())):
        _check_unique(option, names)
    if args.tables is not None and not tables:
        raise ValueError(f"--tables names no table; choose from {', '.join(SUITE_TABLES)}.")
    if args.draws < 1:
        raise ValueError(f"--draws must be at least 1 (sample sets per model), got {args.draws}.")
    if args.max_train < 10:
        raise ValueError(f"--max-train must be at least 10 (training rows per table), got {args.max_train}.")
    if args.test_size is not None:
        raise ValueError(
            "--test-size does not apply to --suite, whose splits are fixed (a fifth of each table held out; "
            "--max-train bounds the training rows)."
        )
    if args.out is not None:
        _check_out_directory(args.out, ["suite.md"], args.force)
    _check_seed_and_jobs(args.seed, args.n_jobs)
    rows = run_suite(
        tables,
        models,
        peers,
        seed=args.seed,
        n_draws=args.draws,
        max_train=args.max_train,
        n_jobs=args.n_jobs,
        progress=args.progress or sys.stderr.isatty(),
    )
    text = format_suite(rows)
    if args.out is not None:
        _write_atomic(args.out, "suite.md", text, args.force)
    return text


_COMMANDS = {"benchmark": _benchmark_command, "generate": _generate_command, "impute": _impute_command}


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning the command lets through (a model's ConvergenceWarning, say): one line on stderr."""
    print("skscore: warning: " + " ".join(str(message).split()), file=sys.stderr, flush=True)


def main(argv=None):
    """Run the command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 2 on a usage error (reported on one line of stderr),
        130 when interrupted (Ctrl-C; one line on stderr, no file left half
        written).
    """
    try:
        with warnings.catch_warnings():  # restores the warning machinery on the way out
            warnings.showwarning = _show_warning
            args = _build_parser().parse_args(argv)
            output = _COMMANDS[args.command](args)
        sys.stdout.write(output)
        sys.stdout.flush()
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print("skscore: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of standard output went away (``| head``)
        with contextlib.suppress(Exception):  # no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (_UsageError, ValueError, OSError) as exc:
        print("skscore: error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    except MemoryError as exc:  # numpy says how much it wanted
        detail = " ".join(str(exc).split()) or "out of memory"
        print(f"skscore: error: {detail}; is -n (or --draws) larger than meant?", file=sys.stderr)
        return 2
    return 0
