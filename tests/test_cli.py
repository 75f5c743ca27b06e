"""The command line: ``python -m skscore benchmark``."""

import functools
import importlib.util
import math
import sys
import types

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skscore import DiffusionRandomFeatures, cli
from skscore._tabular import read_csv

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
BASELINES = ["GaussianMixture", "KernelDensity"]


@pytest.fixture
def tiny_models(monkeypatch):
    """A registry whose skscore model is small enough for a fast test.

    ForestDiffusion is hidden (slow, and optional) unless a test installs a fake.
    Native thread pools are limited to one thread: the classifier two-sample
    test (HistGradientBoosting, OpenMP) slows down tenfold on a busy machine
    when its threads wait on each other.
    """

    def tiny(random_state=None, n_jobs=None):
        return DiffusionRandomFeatures(n_features=32, n_steps=8, random_state=0)

    monkeypatch.setattr(cli, "MODELS", {"random-features": tiny})
    monkeypatch.setattr(cli, "DEFAULT_MODELS", ("random-features",))
    monkeypatch.setitem(sys.modules, "ForestDiffusion", None)  # import raises ImportError
    with threadpool_limits(limits=1):
        yield


class _FakeForestDiffusionModel:
    """Stands in for ForestDiffusion.ForestDiffusionModel: trains in __init__, draws from np.random."""

    def __init__(self, X, n_t, duplicate_K, diffusion_type, n_jobs, seed):
        self.X = X
        np.random.seed(seed)

    def generate(self, batch_size=None):
        rows = self.X[np.random.randint(len(self.X), size=batch_size)]
        return rows + 0.1 * np.random.standard_normal(rows.shape)


def _table_rows(text):
    return [line.strip("|").split("|") for line in text.splitlines() if line.startswith("| iris")]


def test_benchmark_writes_table(tiny_models, tmp_path, capsys):
    out = tmp_path / "results"
    assert cli.main(["benchmark", "--datasets", "iris", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    report = (out / "benchmark.md").read_text()
    assert captured.out == report
    # No progress lines (stderr is not a terminal); only the note when matplotlib is missing.
    assert len(captured.err.splitlines()) == (0 if HAVE_MATPLOTLIB else 1)
    figures = ["iris_marginals.png", "iris_pairs.png"] if HAVE_MATPLOTLIB else []
    assert sorted(p.name for p in out.iterdir()) == ["benchmark.md"] + figures  # no temp file left
    for name in figures:
        assert (out / name).read_bytes().startswith(b"\x89PNG")

    header = report.splitlines()[0].strip("|").split("|")
    assert [cell.strip() for cell in header] == list(cli.COLUMNS)
    for column in ("SW", "W1 (FD)", "MMD", "C2ST AUC", "DCR ratio"):
        assert column in cli.COLUMNS
    rows = _table_rows(report)
    assert [cells[1].strip() for cells in rows] == ["random-features"] + BASELINES
    for cells in rows:
        assert len(cells) == len(cli.COLUMNS)
        assert all(math.isfinite(float(cell)) for cell in cells[2:])
    for column in ("MMD", "SW", "W1 (FD)"):
        assert all(-0.05 < float(cells[cli.COLUMNS.index(column)]) < 5 for cells in rows)
    assert all(0 <= float(cells[cli.COLUMNS.index("C2ST AUC")]) <= 1 for cells in rows)
    assert all(float(cells[cli.COLUMNS.index("DCR ratio")]) > 0 for cells in rows)


def test_without_matplotlib_only_the_table(tiny_models, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(cli, "_benchmark_datasets", _canned_results)
    assert cli.main(["benchmark", "--datasets", "iris", "--out", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["benchmark.md"]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "matplotlib" in err[0]


def _canned_results(datasets, models, **kwargs):
    """One dataset's results without fitting anything (for tests of the output side)."""
    X = np.random.default_rng(0).standard_normal((40, 3))
    row = {key: 1.0 for _, key, _ in cli._MEASURES}
    yield "toy", X[:30], X[30:], [{"dataset": "toy", "model": "m", **row}], {"m": X[30:] + 0.1}


def test_forest_diffusion_joins_when_installed(tiny_models, monkeypatch, capsys):
    fake = types.ModuleType("ForestDiffusion")
    fake.ForestDiffusionModel = _FakeForestDiffusionModel
    monkeypatch.setitem(sys.modules, "ForestDiffusion", fake)
    state = np.random.get_state()

    rows = cli.run_benchmark(["iris"], ["random-features"], progress=True)
    assert [row["model"] for row in rows] == ["random-features"] + BASELINES + ["ForestDiffusion"]
    assert np.array_equal(np.random.get_state()[1], state[1])  # global RNG left as it was
    progress = capsys.readouterr().err.splitlines()
    assert progress[-1].startswith("[4/4] iris: ForestDiffusion fit ")

    fd = rows[-1]
    assert math.isnan(fd["test_loglik"]) and math.isnan(fd["score_s"])
    measured = ("sw", "w1", "mmd", "c2st_auc", "dcr_ratio", "dcr_share_closer", "fit_s", "sample_s")
    assert all(math.isfinite(fd[key]) for key in measured)
    cells = [cell.strip() for cell in cli.format_table(rows).splitlines()[-3].strip("|").split("|")]
    assert cells[:3] == ["iris", "ForestDiffusion", "n/a"] and cells[-1] == "n/a"


@pytest.mark.parametrize(
    "argv",
    [
        ["benchmark", "--datasets", "no-such-dataset"],
        ["benchmark", "--datasets", "iris", "--models", "no-such-model"],
        ["benchmark", "--datasets", "iris", "--test-size", "1.5"],
        ["benchmark", "--test-size", "abc"],
        ["benchmark", "--no-such-option"],
        [],
    ],
    ids=["dataset", "model", "test-size", "not-a-number", "option", "no-command"],
)
def test_errors_are_one_line(tiny_models, argv, capsys):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("skscore: error: ")


def test_unknown_names_are_listed(tiny_models, capsys):
    assert cli.main(["benchmark", "--datasets", "iris,nope"]) == 2
    assert "'nope'" in capsys.readouterr().err
    assert cli.main(["benchmark", "--models", "mlp"]) == 2
    assert "'mlp'" in capsys.readouterr().err


# ---------------------------------------------------------------- generate
def _mixed_csv(path, n=120, seed=0):
    rng = np.random.default_rng(seed)
    colors = np.array(["red", "green", "blue"])[rng.integers(0, 3, n)]
    lines = ["height,count,color"]
    for h, c, col in zip(rng.normal(170, 10, n), rng.poisson(3, n), colors):
        lines.append(f"{h:.3f},{c},{col}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tiny_generate_model(monkeypatch):
    monkeypatch.setattr(
        cli, "MODELS", {"random-features": functools.partial(DiffusionRandomFeatures, n_features=32, n_steps=8)}
    )


def test_generate_keeps_columns_and_types(tmp_path, capsys, tiny_generate_model):
    data = _mixed_csv(tmp_path / "data.csv")
    out = tmp_path / "synthetic.csv"
    assert cli.main(["generate", str(data), "-n", "50", "-o", str(out), "--seed", "0"]) == 0
    assert "wrote 50 rows" in capsys.readouterr().out
    original, synthetic = read_csv(data), read_csv(out)
    assert synthetic.names == original.names and synthetic.kinds == original.kinds
    assert synthetic.n_rows == 50
    count = synthetic.columns[1]
    assert np.all(count == np.round(count)) and count.min() >= original.columns[1].min()
    assert set(synthetic.columns[2]) <= {"red", "green", "blue"}
    # the same seed gives the same file
    again = tmp_path / "again.csv"
    assert cli.main(["generate", str(data), "-n", "50", "-o", str(again), "--seed", "0"]) == 0
    assert again.read_text() == out.read_text()


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "make_input, extra, message",
    [
        (lambda d: d / "missing.csv", [], "no such file"),
        (lambda d: _write(d / "empty.csv", ""), [], "no data rows"),
        (lambda d: _write(d / "header.csv", "a,b\n"), [], "no data rows"),
        (lambda d: _write(d / "one.csv", "a,b\n1,2\n"), [], "at least 2 rows"),
        (
            lambda d: _write(d / "ids.csv", "id,x\n" + "".join(f"user{i},{i}\n" for i in range(3000))),
            [],
            "distinct text values",
        ),
        (lambda d: _mixed_csv(d / "ok.csv"), ["--model", "gan"], "unknown model"),
        (lambda d: _mixed_csv(d / "ok.csv"), ["--integer", "nope"], "nope"),
    ],
)
def test_generate_bad_input_is_one_line_and_exit_2(tmp_path, capsys, tiny_generate_model, make_input, extra, message):
    out = tmp_path / "out.csv"
    status = cli.main(["generate", str(make_input(tmp_path)), "-n", "5", "-o", str(out)] + extra)
    captured = capsys.readouterr()
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not out.exists()
