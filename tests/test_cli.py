"""The command line: ``python -m skscore benchmark`` and ``python -m skscore generate``."""

import functools
import importlib.util
import io
import math
import os
import shlex
import stat
import sys
import threading
import types
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skscore import DiffusionRandomFeatures, _io, cli
from skscore._tabular import option_value, read_csv
from skscore.datasets import make_mixed_table
from skscore.metrics import c2st_auc

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
BASELINES = ["GaussianMixture", "KernelDensity", "ARF"]


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

    def __init__(self, X, n_t, duplicate_K, diffusion_type, n_jobs, seed, cat_indexes=()):
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
    assert progress[-1].startswith("[5/5] iris: ForestDiffusion fit ")

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
    assert np.all(count == np.round(count)) and count.min() >= 0  # 'auto' bounds: no negative counts
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
        (lambda d: _mixed_csv(d / "ok.csv"), ["--integer", "height"], "given as integer"),
        (lambda d: _write(d / "flat.csv", "a,b\nx,1.5\nx,1.5\n"), [], "single value"),
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


def test_generate_odd_columns(tmp_path, capsys, tiny_generate_model):
    """Constant columns, a one-level category, negative integers, a [0, 1] column."""
    rng = np.random.default_rng(0)
    n = 200
    lines = ["const,level,delta,share,kind,seven"] + [
        f"2.5,only,{d},{float(s)!r},{k},7"
        for d, s, k in zip(rng.integers(-5, 3, n), rng.beta(2, 5, n), rng.choice(["a", "b"], n))
    ]
    data = _write(tmp_path / "odd.csv", "\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    assert cli.main(["generate", str(data), "-n", "300", "-o", str(out), "--seed", "0"]) == 0
    table = read_csv(out)
    assert table.kinds == ["float", "categorical", "integer", "float", "categorical", "integer"]
    const, level, delta, share, kind, seven = table.columns
    assert np.all(const == 2.5) and np.all(seven == 7) and set(level) == {"only"} and set(kind) == {"a", "b"}
    assert delta.min() < 0 and np.all(delta == np.floor(delta))
    assert np.all((share > 0) & (share < 1))


def test_generate_only_categorical_columns(tmp_path, tiny_generate_model):
    rng = np.random.default_rng(0)
    pairs = [("x", "u"), ("y", "v"), ("y", "u")]
    lines = ["a,b"] + [",".join(pairs[i]) for i in rng.choice(3, 150, p=[0.5, 0.3, 0.2])]
    data = _write(tmp_path / "labels.csv", "\n".join(lines) + "\n")
    out = tmp_path / "out.csv"
    assert cli.main(["generate", str(data), "-n", "200", "-o", str(out), "--seed", "0"]) == 0
    table = read_csv(out)
    assert table.kinds == ["categorical", "categorical"]
    assert set(table.columns[0]) <= {"x", "y"} and set(table.columns[1]) <= {"u", "v"}


def test_generate_mixed_table_matches_held_out_rows(tmp_path):
    """The default model with the estimators' column types, on a realistic mixed table."""
    pd = pytest.importorskip("pandas")
    frame = make_mixed_table(5000, as_frame=True, random_state=0)
    train, held_out = frame.iloc[:3000], frame.iloc[3000:]
    data, out = tmp_path / "train.csv", tmp_path / "synthetic.csv"
    train.to_csv(data, index=False)
    argv = ["generate", str(data), "-n", "2000", "-o", str(out), "--seed", "0", "--n-jobs", "1"]
    assert cli.main(argv) == 0

    real, synthetic = pd.read_csv(data), pd.read_csv(out)
    assert list(synthetic.columns) == list(real.columns) and list(synthetic.dtypes) == list(real.dtypes)
    assert len(synthetic) == 2000
    assert synthetic["visits"].dtype == np.int64 and synthetic["visits"].min() >= 0
    assert set(synthetic["plan"]) <= set(real["plan"])
    assert synthetic["discount"].between(0, 1).all() and (synthetic["spend"] >= 0).all()

    # one-hot plan columns, built on both sets together so they line up
    both = pd.get_dummies(pd.concat([held_out.astype({"plan": str}), synthetic]), columns=["plan"], dtype=float)
    with threadpool_limits(limits=1):  # HistGradientBoosting is 10x slower on a busy machine otherwise
        auc = c2st_auc(both.iloc[:2000].to_numpy(), both.iloc[2000:].to_numpy())
    assert auc <= 0.56  # the same measure gave 0.612 with one-hot inputs and training-range clipping
    zeros, train_zeros = np.mean(synthetic["spend"] == 0), np.mean(real["spend"] == 0)
    assert abs(zeros - train_zeros) <= 0.03  # 0.13 against 0.29 without point masses


# ------------------------------------------------- output safety (issue 17)
def _small_csv(path, n=40, seed=0, delimiter=","):
    """A float column and a small-count column (no column looks like an identifier)."""
    rng = np.random.default_rng(seed)
    pairs = zip(rng.normal(size=n), rng.integers(0, 4, n))
    rows = [delimiter.join(["x", "k"])] + [f"{x:.3f}{delimiter}{k}" for x, k in pairs]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def no_fit(monkeypatch):
    """A model registry whose model must not be built: the command has to fail before fitting."""

    def forbidden(**kwargs):
        raise AssertionError("a model was built although the command should have failed first")

    monkeypatch.setattr(cli, "MODELS", {"random-features": forbidden})
    monkeypatch.setattr(cli, "DEFAULT_MODELS", ("random-features",))


def _one_error_line(capsys, *words):
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("skscore: error: "), captured.err
    for word in words:
        assert word in lines[0]
    return lines[0]


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("alias", ["same", "dotted", "symlink", "hardlink"])
@pytest.mark.parametrize("force", [False, True])
def test_generate_refuses_to_write_over_its_input(tmp_path, capsys, monkeypatch, no_fit, alias, force):
    data = _small_csv(tmp_path / "in.csv")
    before = data.read_bytes()
    monkeypatch.chdir(tmp_path)
    output = {"same": "in.csv", "dotted": "././in.csv", "symlink": "link.csv", "hardlink": "hard.csv"}[alias]
    if alias == "symlink":
        os.symlink("in.csv", tmp_path / "link.csv")
    if alias == "hardlink":
        os.link(data, tmp_path / "hard.csv")
    argv = ["generate", "in.csv", "-n", "5", "-o", output] + (["--force"] if force else [])
    assert cli.main(argv) == 2
    _one_error_line(capsys, "is the input file")
    assert data.read_bytes() == before


def test_generate_existing_output_needs_force_and_keeps_its_mode(tmp_path, capsys, tiny_generate_model):
    data = _small_csv(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    os.chmod(out, 0o640)
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(out), "--seed", "0"]) == 2
    _one_error_line(capsys, "--force")
    assert out.read_text() == "precious\n"
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(out), "--seed", "0", "--force"]) == 0
    assert read_csv(out).n_rows == 5
    assert os.stat(out).st_mode & 0o777 == 0o640
    assert _leftovers(tmp_path) == []


def test_generate_to_standard_output(tmp_path, capsys, tiny_generate_model):
    data = _small_csv(tmp_path / "in.csv")
    for name in ("-", "/dev/stdout"):
        assert cli.main(["generate", str(data), "-n", "4", "-o", name, "--seed", "0"]) == 0
        captured = capsys.readouterr()
        lines = captured.out.splitlines()
        assert lines[0] == "x,k" and len(lines) == 5
        assert captured.err.startswith("wrote 4 rows") and "standard output" in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_generate_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path, tiny_generate_model):
    data = _small_csv(tmp_path / "in.csv")
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.csv"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    link = tmp_path / "link.csv"
    os.symlink(target, link)
    assert cli.main(["generate", str(data), "-n", "3", "-o", str(link), "--force", "--seed", "0"]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert read_csv(target).n_rows == 3 and os.stat(target).st_mode & 0o777 == 0o600
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "real") == []
    # a dangling link: its target is created, the link kept
    dangling = tmp_path / "dangling.csv"
    os.symlink(tmp_path / "real" / "new.csv", dangling)
    assert cli.main(["generate", str(data), "-n", "3", "-o", str(dangling), "--seed", "0"]) == 0
    assert dangling.is_symlink() and read_csv(tmp_path / "real" / "new.csv").n_rows == 3


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_generate_writes_into_a_named_pipe(tmp_path, tiny_generate_model):
    data = _small_csv(tmp_path / "in.csv")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    assert cli.main(["generate", str(data), "-n", "3", "-o", str(fifo), "--seed", "0"]) == 0
    reader.join(10)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a pipe, not replaced by a file
    assert received and received[0].splitlines()[0] == "x,k" and len(received[0].splitlines()) == 4


def test_generate_refuses_a_directory_output(tmp_path, capsys, no_fit):
    data = _small_csv(tmp_path / "in.csv")
    (tmp_path / "dir").mkdir()
    assert cli.main(["generate", str(data), "-n", "3", "-o", str(tmp_path / "dir"), "--force"]) == 2
    _one_error_line(capsys, "is a directory")
    assert cli.main(["generate", str(data), "-n", "3", "-o", str(tmp_path / "nodir" / "out.csv")]) == 2
    _one_error_line(capsys, "no directory")


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_generate_detects_the_delimiter(tmp_path, capsys, tiny_generate_model, delimiter):
    data = _small_csv(tmp_path / "in.csv", delimiter=delimiter)
    out = tmp_path / "out.csv"
    assert cli.main(["generate", str(data), "-n", "30", "-o", str(out), "--seed", "0"]) == 0
    table = read_csv(out)
    assert table.names == ["x", "k"] and table.kinds == ["float", "integer"] and table.delimiter == delimiter
    assert out.read_text().splitlines()[0] == delimiter.join(["x", "k"])  # written with the input's separator
    rows = {tuple(line) for line in zip(*(np.round(c, 3) for c in table.columns))}
    assert len(rows) > 10  # not copies of a few input rows


def test_generate_ambiguous_delimiter_is_refused(tmp_path, capsys, no_fit):
    data = _write(tmp_path / "ragged.csv", "a;b\n1;2\n3;4\n5\n")
    assert cli.main(["generate", str(data), "-n", "3", "-o", str(tmp_path / "out.csv")]) == 2
    _one_error_line(capsys, "--delimiter ';'")
    assert cli.main(["generate", str(data), "-n", "3", "-o", str(tmp_path / "out.csv"), "--delimiter", ";"]) == 2
    _one_error_line(capsys, "line 4: 1 field, the header has 2")


def _id_csv(path, n=40, seed=0):
    rng = np.random.default_rng(seed)
    pairs = zip(rng.normal(size=n), rng.integers(0, 3, n))
    lines = ["id,x,k"] + [f"{1000 + i},{x:.3f},{k}" for i, (x, k) in enumerate(pairs)]
    return _write(path, "\n".join(lines) + "\n")


def test_generate_refuses_identifier_columns(tmp_path, capsys, no_fit):
    data = _id_csv(tmp_path / "ids.csv")
    out = tmp_path / "out.csv"
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(out)]) == 2
    _one_error_line(capsys, "'id'", "identifier", "--drop id", "--integer id")
    names = _write(tmp_path / "names.csv", "name,x\n" + "".join(f"user{i},{i % 3}\n" for i in range(20)))
    assert cli.main(["generate", str(names), "-n", "5", "-o", str(out)]) == 2
    _one_error_line(capsys, "'name'", "--drop name")
    assert not out.exists()


def test_generate_drop_and_forced_identifier(tmp_path, capsys, tiny_generate_model):
    data = _id_csv(tmp_path / "ids.csv")
    out = tmp_path / "out.csv"
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(out), "--drop", "id", "--seed", "0"]) == 0
    assert "left out: id" in capsys.readouterr().out
    assert read_csv(out).names == ["x", "k"]  # dropped columns are left out of the output
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(out), "--integer", "id", "--force"]) == 0
    assert read_csv(out).names == ["id", "x", "k"]


def _warning_model(message, category, value):
    """A stand-in for a CLI model: its fit warns ``message``, its draws are 2-column rows of ``value``."""

    class Warning2D:
        def __init__(self, **kwargs):
            pass

        def fit(self, X):
            warnings.warn(message, category)
            return self

        def sample(self, n):
            return np.full((n, 2), value)

    return Warning2D


def test_generate_huge_values_give_one_line(tmp_path, capsys, no_fit):
    rng = np.random.default_rng(0)
    lines = [f"{float(v) * 1e200!r},{float(w)!r}" for v, w in rng.normal(size=(30, 2))]
    data = _write(tmp_path / "big.csv", "a,b\n" + "\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would be a failure here, not a line on stderr
        assert cli.main(["generate", str(data), "-n", "5", "-o", str(tmp_path / "out.csv")]) == 2
    _one_error_line(capsys, "'a'", "too large")


def test_generate_non_finite_samples_are_one_line(tmp_path, capsys, monkeypatch):
    overflowing = _warning_model("overflow encountered in multiply", RuntimeWarning, np.inf)
    monkeypatch.setattr(cli, "MODELS", {"random-features": overflowing})
    data = _small_csv(tmp_path / "in.csv")
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(tmp_path / "out.csv")]) == 2
    _one_error_line(capsys, "non-finite")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize("where", ["fit", "write"])
def test_generate_ctrl_c_is_one_line_exit_130_and_no_temp_file(
    tmp_path, capsys, monkeypatch, tiny_generate_model, where
):
    data = _small_csv(tmp_path / "in.csv")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if where == "fit":
        monkeypatch.setattr(DiffusionRandomFeatures, "fit", interrupt)
    else:
        monkeypatch.setattr(_io.os, "fsync", interrupt)  # inside the atomic write, temp file open
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(tmp_path / "out.csv"), "--seed", "0"]) == 130
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["skscore: interrupted"] and captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_peers_choose_the_baselines(tiny_models, monkeypatch, capsys):
    fake = types.ModuleType("ForestDiffusion")
    fake.ForestDiffusionModel = _FakeForestDiffusionModel
    monkeypatch.setitem(sys.modules, "ForestDiffusion", fake)  # installed, yet left out when not named
    rows = cli.run_benchmark(["iris"], [], peers=["KernelDensity"])
    assert [row["model"] for row in rows] == ["KernelDensity"]
    assert cli.main(["benchmark", "--datasets", "iris", "--peers", "none"]) == 0
    assert [cells[1].strip() for cells in _table_rows(capsys.readouterr().out)] == ["random-features"]


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--peers", "xgb"], ["unknown peer 'xgb'", "GaussianMixture"]),
        (["--peers", "ForestDiffusion"], ["ForestDiffusion", "skscore[bench]"]),
        (["--peers", "none", "--models", ""], ["at least one model or peer"]),
    ],
    ids=["unknown", "not-installed", "nothing"],
)
def test_benchmark_checks_peers_before_fitting(capsys, no_fit, monkeypatch, extra, words):
    monkeypatch.setitem(sys.modules, "ForestDiffusion", None)  # import raises ImportError
    assert cli.main(["benchmark", "--datasets", "iris"] + extra) == 2
    _one_error_line(capsys, *words)


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--test-size", "3"], ["3 test rows", "at least 5"]),
        (["--test-size", "147"], ["3 training rows"]),
        (["--n-jobs", "0"], ["--n-jobs"]),
        (["--seed", "-1"], ["--seed"]),
    ],
    ids=["few-test-rows", "few-train-rows", "n-jobs", "seed"],
)
def test_benchmark_checks_arguments_before_fitting(capsys, no_fit, extra, words):
    assert cli.main(["benchmark", "--datasets", "iris"] + extra) == 2
    _one_error_line(capsys, *words)


def test_benchmark_checks_out_before_fitting(tmp_path, capsys, no_fit, monkeypatch):
    monkeypatch.setattr(cli, "_have_matplotlib", lambda: False)
    a_file = _write(tmp_path / "file.txt", "x\n")
    assert cli.main(["benchmark", "--datasets", "iris", "--out", str(a_file)]) == 2
    _one_error_line(capsys, "not a directory")
    assert cli.main(["benchmark", "--datasets", "iris", "--out", str(a_file / "sub")]) == 2
    _one_error_line(capsys, "not a directory")
    out = tmp_path / "results"
    out.mkdir()
    _write(out / "benchmark.md", "old table\n")
    assert cli.main(["benchmark", "--datasets", "iris", "--out", str(out)]) == 2
    _one_error_line(capsys, "benchmark.md", "--force")
    assert (out / "benchmark.md").read_text() == "old table\n"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_benchmark_unwritable_out_before_fitting(tmp_path, capsys, no_fit):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        assert cli.main(["benchmark", "--datasets", "iris", "--out", str(locked / "results")]) == 2
        _one_error_line(capsys, "cannot create files")
    finally:
        os.chmod(locked, 0o700)


def test_benchmark_out_replaces_only_with_force(tiny_models, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(cli, "_benchmark_datasets", _canned_results)
    out = tmp_path / "results"
    out.mkdir()
    old = _write(out / "benchmark.md", "old table\n")
    os.chmod(old, 0o640)
    assert cli.main(["benchmark", "--datasets", "iris", "--out", str(out)]) == 2
    capsys.readouterr()
    assert cli.main(["benchmark", "--datasets", "iris", "--out", str(out), "--force"]) == 0
    assert (out / "benchmark.md").read_text().startswith("| dataset")
    assert os.stat(out / "benchmark.md").st_mode & 0o777 == 0o640
    assert sorted(p.name for p in out.iterdir()) == ["benchmark.md"]


def test_generate_to_a_closed_standard_output_is_quiet(tmp_path, capsys, monkeypatch, tiny_generate_model):
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    data = _small_csv(tmp_path / "in.csv")
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.main(["generate", str(data), "-n", "5", "-o", "-", "--seed", "0"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error" not in err


def test_ctrl_c_while_the_command_line_loads_is_one_line(monkeypatch, capsys):
    # Numba and the kernels load after the entry point starts: an interrupt
    # there printed a 30-60 line traceback
    import skscore.__main__ as entry

    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(entry.importlib, "import_module", interrupted)
    assert entry.run(["benchmark"]) == 130
    assert capsys.readouterr().err == "skscore: interrupted\n"


def test_importing_skscore_loads_no_model_until_one_is_used():
    import subprocess
    import sys

    code = "import sys, skscore; assert 'numba' not in sys.modules; skscore.DiffusionRandomFeatures; assert 'numba' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------- CSV input and options (audit)
def _hundred_rows(path, edit=None):
    """``x,k``: 100 rows of a float and a small count; ``edit`` maps a line number (1: header) to its text."""
    rng = np.random.default_rng(0)
    lines = ["x,k"] + [f"{x:.3f},{k}" for x, k in zip(rng.normal(size=100), rng.integers(0, 4, 100))]
    for number, text in (edit or {}).items():
        lines[number - 1] = text
    return _write(path, "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "make_input, line",
    [
        (lambda d: _hundred_rows(d / "unq.csv", {51: '-1.007,"2'}), 51),
        (lambda d: _write(d / "one.csv", 'x,y\n1,"2\n3,4\n5,6\n'), 2),  # was "has a single data row"
        (lambda d: _write(d / "semi.csv", 'x;y\n1;2\n3;4\n"5;6\n7;8\n'), 4),
    ],
    ids=["middle", "first-row", "semicolons"],
)
def test_generate_unterminated_quote_is_refused(tmp_path, capsys, no_fit, make_input, line):
    out = tmp_path / "out.csv"
    assert cli.main(["generate", str(make_input(tmp_path)), "-n", "5", "-o", str(out)]) == 2
    _one_error_line(capsys, f"line {line}: unterminated quoted field")
    assert not out.exists()


@pytest.mark.parametrize(
    "text, error",
    [
        ('x,y\n1,"2\n3,4\n5,6\n', "line 2: unterminated quoted field"),
        ('x,y\n1,"abc""\n2,3\n5,6\n', "line 2: unterminated quoted field"),  # a doubled quote does not close it
        ('x,y\n1,"2"a\n3,4\n', "line 2: malformed CSV"),  # text after a closing quote
        ("x,y\r1,2\r3,4\r", "line 1: a carriage return ends a line outside quotes"),  # old Mac line endings
        ('x,y\n1,"a\nb"\n3,4\n', None),  # a quoted field holding a newline, closed
        ('x,y\n1,"a ""q"" b"\n3,4\n', None),
        ('x,y\n1,2"\n3,4\n', None),  # a quote inside an unquoted field is a character
    ],
)
def test_quoted_fields_are_read_or_refused_by_line(tmp_path, text, error):
    data = _write(tmp_path / "q.csv", text)
    if error is None:
        assert read_csv(data).n_rows == 2
    else:
        with pytest.raises(ValueError, match=error):
            read_csv(data)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_generate_unterminated_quote_in_a_stream_is_refused(tmp_path, capsys, no_fit):
    text = _hundred_rows(tmp_path / "unq.csv", {51: '-1.007,"2'}).read_text()
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(text), daemon=True)
    writer.start()
    assert cli.main(["generate", str(fifo), "-n", "5", "-o", str(tmp_path / "out.csv")]) == 2
    writer.join(10)
    _one_error_line(capsys, "line 51: unterminated quoted field")


def test_generate_multiline_quoted_labels_still_work(tmp_path, tiny_generate_model):
    rows = [f'{0.37 * i:.2f},{"two lines" if i % 3 else "one"}' for i in range(30)]
    data = _write(tmp_path / "ml.csv", "x,label\n" + "\n".join(rows).replace("two lines", '"two\nlines"') + "\n")
    out = tmp_path / "out.csv"
    assert cli.main(["generate", str(data), "-n", "20", "-o", str(out), "--seed", "0"]) == 0
    assert set(read_csv(out).columns[1]) <= {"one", "two\nlines"}


def _epoch_ms(path, n=40):
    rng = np.random.default_rng(0)
    times = 1_700_000_000_000 + 60_000 * rng.integers(0, 30, n)  # beyond 2**40, not an identifier
    return _write(path, "amount,ts_ms\n" + "".join(f"{a:.2f},{t}\n" for a, t in zip(rng.gamma(2.0, size=n), times)))


def test_generate_integers_beyond_the_models_range_are_continuous(tmp_path, capsys, tiny_generate_model):
    data, out = _epoch_ms(tmp_path / "ts.csv"), tmp_path / "out.csv"
    assert read_csv(data).kinds == ["float", "integer"]
    assert cli.main(["generate", str(data), "-n", "30", "-o", str(out), "--seed", "0"]) == 0
    table = read_csv(out)
    assert table.kinds == ["float", "integer"]  # modelled as continuous, written as integers
    ts = table.columns[1]
    assert np.all(ts == np.round(ts)) and 1.69e12 < ts.min() and ts.max() < 1.71e12
    assert len(np.unique(ts)) > 20  # drawn from a continuous law, not the input's 30 values


def test_generate_integer_option_beyond_the_models_range_is_continuous(tmp_path, tiny_generate_model):
    """Named in --integer, a column beyond 2**40 is modelled as continuous too, and written as integers."""
    data, out = _epoch_ms(tmp_path / "ts.csv"), tmp_path / "out.csv"
    assert cli.main(["generate", str(data), "-n", "30", "-o", str(out), "--seed", "0", "--integer", "ts_ms"]) == 0
    ts = read_csv(out).columns[1]
    assert np.all(ts == np.round(ts)) and len(np.unique(ts)) > 20


def _comma_csv(path, n=40):
    rng = np.random.default_rng(0)
    pairs = zip(rng.gamma(2.0, size=n), rng.integers(0, 3, n))
    rows = "".join(f"{1000 + i};{s:.2f};{k}\n" for i, (s, k) in enumerate(pairs))
    return _write(path, "customer, id;spend;k\n" + rows)


def test_column_names_with_a_comma(tmp_path, capsys, monkeypatch, tiny_generate_model):
    data, out = _comma_csv(tmp_path / "c.csv"), tmp_path / "out.csv"
    argv = ["generate", str(data), "-n", "5", "-o", str(out), "--seed", "0"]
    assert cli.main(argv) == 2
    suggested = "'\"customer, id\"'"  # as a shell reads it: "customer, id", which --drop reads as one name
    _one_error_line(capsys, "'customer, id'", "identifier", f"--drop {suggested},", f"--integer {suggested} ")
    assert cli.main(argv + ["--drop", "customer, id"]) == 2  # two names, neither in the header
    _one_error_line(capsys, "'customer', 'id' in --drop", f"--drop {suggested}")
    assert cli.main(argv + ["--drop", shlex.split(suggested)[0]]) == 0
    assert read_csv(out).names == ["spend", "k"]
    assert cli.main(argv + ["--force", "--integer", '"customer, id", k']) == 0
    assert read_csv(out).names == ["customer, id", "spend", "k"]


@pytest.mark.parametrize(
    "text, names",
    [
        ("a,b", ["a", "b"]),
        (" a , b,", ["a", "b"]),
        ('"customer, id",b', ["customer, id", "b"]),
        ('a, "b, c"', ["a", "b, c"]),
        ('"say ""hi"""', ['say "hi"']),
        ("", []),
    ],
)
def test_column_lists_read_as_one_csv_record(text, names):
    assert cli._column_list("--drop", text) == names
    if names:
        assert cli._column_list("--drop", shlex.split(option_value(names))[0]) == names


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--drop", "nope"], ["unknown column 'nope' in --drop"]),
        (["--categorical", "nope"], ["in --categorical"]),
        (["--drop", '"x'], ["--drop", "double quotes"]),
        (["--integer", "k", "--categorical", "k"], ["'k'", "--integer and --categorical"]),
        (["--integer", "k", "--drop", "k"], ["'k'", "--integer and --drop"]),
        (["--drop", "x,k"], ["--drop names every column"]),
        (["--max-categories", "0"], ["--max-categories"]),
    ],
)
def test_column_options_are_named_in_messages(tmp_path, capsys, no_fit, extra, words):
    data = _small_csv(tmp_path / "in.csv")
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(tmp_path / "out.csv")] + extra) == 2
    line = _one_error_line(capsys, *words)
    assert "_columns" not in line


@pytest.mark.parametrize("bad", [["?"], ["?", "n.a."]])
def test_generate_stray_text_in_a_numeric_column(tmp_path, capsys, no_fit, bad):
    data = _hundred_rows(tmp_path / "in.csv", {40 + i: f"{cell},1" for i, cell in enumerate(bad)})
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(tmp_path / "out.csv")]) == 2
    line = _one_error_line(capsys, "column 'x'", "'?' on line 40", "empty cell or NA")
    assert "--max-categories" not in line and "identifier" not in line


def test_generate_stray_text_among_a_few_whole_numbers(tmp_path, capsys, no_fit):
    """k holds 0-3: with a '?' it was modelled as labels, and 11 of 200 synthetic rows had k = '?'."""
    data = _hundred_rows(tmp_path / "in.csv", {7: "0.5,?", 19: "0.1,?"})
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(tmp_path / "out.csv")]) == 2
    _one_error_line(capsys, "column 'k'", "'?' on line 7, '?' on line 19", "--categorical k")


def test_generate_integers_beyond_2_to_the_53_are_written_as_integers(tmp_path, capsys):
    rng = np.random.default_rng(0)
    stamps = 1_700_000_000_000_000_000 + rng.integers(0, 10**15, 40) * 1000
    ys = rng.normal(size=40)
    data = _write(tmp_path / "ns.csv", "t_ns,y\n" + "".join(f"{t},{y:.3f}\n" for t, y in zip(stamps, ys)))
    out = tmp_path / "out.csv"
    # detected as integer (an identifier: one value per row), modelled as continuous when named
    assert cli.main(["generate", str(data), "-n", "20", "-o", str(out), "--seed", "0", "--integer", "t_ns"]) == 0
    capsys.readouterr()
    written = [line.split(",")[0] for line in out.read_text().splitlines()[1:]]
    assert all(cell.isdigit() for cell in written), written[:3]
    assert all(1.6e18 < int(cell) < 2.8e18 for cell in written)  # the stamps span 1.7e18 to 2.7e18
    data = _write(tmp_path / "ns2.csv", "t_ns,y\n" + "".join(f"{t}.5,{y:.3f}\n" for t, y in zip(stamps, ys)))
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(out), "--force", "--integer", "t_ns"]) == 2
    _one_error_line(capsys, "column 't_ns' is given as integer")


def test_benchmark_refuses_convex_on_wide_data_before_any_fit(capsys, monkeypatch):
    # iris was fitted first, then digits (61 varying columns) failed and every result was lost
    def forbidden(**kwargs):
        raise AssertionError("a model was built although the command should have failed first")

    monkeypatch.setattr(cli, "MODELS", {"convex": forbidden})
    assert cli.main(["benchmark", "--datasets", "iris,digits", "--models", "convex", "--peers", "none"]) == 2
    _one_error_line(capsys, "--models convex takes at most 32 columns that vary, and digits has 61")


def test_out_of_memory_is_one_error_line(tmp_path, capsys, monkeypatch):
    def greedy(args):
        raise MemoryError("Unable to allocate 58.2 TiB for an array with shape (1000000000000, 8)")

    monkeypatch.setitem(cli._COMMANDS, "generate", greedy)
    assert cli.main(["generate", str(_small_csv(tmp_path / "in.csv")), "-n", "5", "-o", "-"]) == 2
    _one_error_line(capsys, "Unable to allocate", "-n (or --draws) larger than meant")


def test_generate_few_stray_labels_in_fractional_numbers(tmp_path, capsys, no_fit):
    """20 distinct numbers and one text cell would have been modelled as 21 labels, copying the numbers."""
    data = _write(tmp_path / "in.csv", "x,k\n" + "".join(f"{i % 20 + 0.5},{i % 2}\n" for i in range(60)) + "none,1\n")
    assert cli.main(["generate", str(data), "-n", "5", "-o", str(tmp_path / "out.csv")]) == 2
    _one_error_line(capsys, "'none' on line 62", "--categorical x")


@pytest.mark.parametrize(
    "output, words",
    [("", ["-o needs a file name"]), ("newname/", ["names a directory"]), ("newname/.", ["names a directory"])],
)
def test_generate_refuses_an_empty_or_directory_output_path(tmp_path, capsys, monkeypatch, no_fit, output, words):
    monkeypatch.chdir(tmp_path)
    _small_csv(tmp_path / "in.csv")
    assert cli.main(["generate", "in.csv", "-n", "5", "-o", output]) == 2
    _one_error_line(capsys, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--datasets", "iris,iris", "--out", "dup"], ["--datasets names 'iris' twice"]),
        (["--models", "random-features,random-features"], ["--models names 'random-features' twice"]),
        (["--peers", "GaussianMixture,GaussianMixture"], ["--peers names 'GaussianMixture' twice"]),
        (["--out", ""], ["--out needs a directory name"]),
        (["--suite", "real", "--draws", "0"], ["--draws must be at least 1"]),
        (["--suite", "real", "--max-train", "5"], ["--max-train must be at least 10"]),
        (["--suite", "real", "--test-size", "0.5"], ["--test-size does not apply to --suite"]),
        (["--suite", "real", "--tables", "fair,fair"], ["--tables names 'fair' twice"]),
        (["--suite", "real", "--out", ""], ["--out needs a directory name"]),
    ],
)
def test_benchmark_checks_names_and_options_before_fitting(tmp_path, capsys, monkeypatch, no_fit, extra, words):
    monkeypatch.chdir(tmp_path)

    def no_suite(*args, **kwargs):
        raise AssertionError("the suite ran although the command should have failed first")

    monkeypatch.setattr(cli, "run_suite", no_suite)
    assert cli.main(["benchmark", "--datasets", "iris"] + extra) == 2
    line = _one_error_line(capsys, *words)
    assert "n_draws" not in line and "max_train" not in line
    assert list(tmp_path.iterdir()) == []


def test_library_warnings_are_one_line(tmp_path, capsys, monkeypatch):
    warns = _warning_model("the solver stopped early;\n  increase max_iter", UserWarning, 0.0)
    monkeypatch.setattr(cli, "MODELS", {"random-features": warns})
    data = _small_csv(tmp_path / "in.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert cli.main(["generate", str(data), "-n", "5", "-o", str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err
    assert err == "skscore: warning: the solver stopped early; increase max_iter\n"
