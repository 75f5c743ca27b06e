"""The command line: ``python -m skscore benchmark``."""

import math

import pytest

from skscore import DiffusionRandomFeatures, cli


@pytest.fixture
def tiny_models(monkeypatch):
    """A registry whose skscore model is small enough for a fast test."""

    def tiny(random_state=None, n_jobs=None):
        return DiffusionRandomFeatures(n_features=32, n_steps=10, random_state=0)

    monkeypatch.setattr(cli, "MODELS", {"random-features": tiny})


def _table_rows(text):
    return [line.strip("|").split("|") for line in text.splitlines() if line.startswith("| iris")]


def test_benchmark_writes_table(tiny_models, tmp_path, capsys):
    out = tmp_path / "results"
    assert cli.main(["benchmark", "--datasets", "iris", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    report = (out / "benchmark.md").read_text()
    assert captured.out == report
    assert sorted(p.name for p in out.iterdir()) == ["benchmark.md"]  # no temp file left

    rows = _table_rows(report)
    assert [cells[1].strip() for cells in rows] == ["random-features", "GaussianMixture", "KernelDensity"]
    for cells in rows:
        assert len(cells) == len(cli.COLUMNS)
        assert all(math.isfinite(float(cell)) for cell in cells[2:])


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
