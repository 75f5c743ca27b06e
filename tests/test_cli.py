"""The command line: ``python -m skscore benchmark`` and ``python -m skscore generate``."""

import functools
import importlib.util
import io
import math
import os
import stat
import sys
import threading
import types
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skscore import DiffusionRandomFeatures, _io, cli
from skscore._tabular import read_csv
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


def test_generate_huge_values_give_one_line(tmp_path, capsys, no_fit):
    rng = np.random.default_rng(0)
    lines = [f"{float(v) * 1e200!r},{float(w)!r}" for v, w in rng.normal(size=(30, 2))]
    data = _write(tmp_path / "big.csv", "a,b\n" + "\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would be a failure here, not a line on stderr
        assert cli.main(["generate", str(data), "-n", "5", "-o", str(tmp_path / "out.csv")]) == 2
    _one_error_line(capsys, "'a'", "too large")


def test_generate_non_finite_samples_are_one_line(tmp_path, capsys, monkeypatch):
    class Overflowing:
        def __init__(self, **kwargs):
            pass

        def fit(self, X):
            warnings.warn("overflow encountered in multiply", RuntimeWarning)
            return self

        def sample(self, n):
            return np.full((n, 2), np.inf)

    monkeypatch.setattr(cli, "MODELS", {"random-features": Overflowing})
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
