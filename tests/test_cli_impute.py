"""The command line: ``python -m skscore impute`` (and the missing cells of ``_tabular``)."""

import csv
import functools
import io
import os
import warnings

import numpy as np
import pytest

from skscore import DiffusionRandomFeatures, GradientBoostedScore, cli
from skscore._tabular import format_csv, read_csv

COLORS = ("blue", "green", "red")


@pytest.fixture
def tiny_models(monkeypatch):
    """Small versions of the trees (which fit missing cells) and of a model that needs complete rows."""
    monkeypatch.setattr(
        cli,
        "MODELS",
        {
            "boosted": functools.partial(
                GradientBoostedScore, n_noise_levels=10, max_iter=10, duplicate_K=10, n_density_samples=100
            ),
            "random-features": functools.partial(DiffusionRandomFeatures, n_features=32, n_steps=8),
        },
    )


@pytest.fixture
def no_fit(monkeypatch):
    """A model registry whose models must not be built: the command has to stop before fitting."""

    def forbidden(**kwargs):
        raise AssertionError("a model was built although the command should have stopped first")

    monkeypatch.setattr(cli, "MODELS", {"boosted": forbidden, "random-features": forbidden})


def _holey_csv(path, n=120, share=0.15, seed=0, delimiter=","):
    """height (float, 3 decimals), count (integer), color (label); about ``share`` of the rows lose one cell.

    Returns the path and the set of (row, column) positions left missing.
    """
    rng = np.random.default_rng(seed)
    lines, holes = [delimiter.join(["height", "count", "color"])], set()
    for i in range(n):
        color = rng.integers(0, 3)
        cells = [f"{rng.normal(160 + 10 * color, 5):.3f}", str(rng.poisson(2 + color)), COLORS[color]]
        if rng.random() < share:
            j = int(rng.integers(0, 3))
            cells[j] = ("", "NA", "nan", "null")[i % 4]
            holes.add((i, j))
        lines.append(delimiter.join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path, holes


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def _records(path, delimiter=","):
    with open(path, newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def _one_error_line(capsys, *words):
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("skscore: error: "), captured.err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_impute_fills_missing_cells_and_keeps_the_rest(tmp_path, capsys, tiny_models):
    data, holes = _holey_csv(tmp_path / "data.csv")
    out = tmp_path / "filled.csv"
    argv = ["impute", str(data), "-o", str(out), "--seed", "0", "--n-jobs", "1"]
    assert cli.main(argv) == 0
    summary = capsys.readouterr().out
    assert summary.startswith(f"filled {len(holes)} missing cells in {len(holes)} of 120 rows with boosted")
    assert "fitted on all 120 rows" in summary

    before, after = _records(data), _records(out)
    assert after[0] == before[0] and len(after) == len(before)
    for i, (old, new) in enumerate(zip(before[1:], after[1:])):
        for j in range(3):
            if (i, j) in holes:
                assert new[j].strip().lower() not in ("", "na", "nan", "null")
            else:
                assert new[j] == old[j]  # observed cells as written ("160.500" stays "160.500")
    table = read_csv(out)
    assert table.kinds == ["float", "integer", "categorical"]
    assert table.missing().sum() == 0
    count = table.columns[1]
    assert np.all(count == np.round(count)) and count.min() >= 0  # integers, 'auto' bounds
    assert set(table.columns[2]) <= set(COLORS)
    # the same seed gives the same file
    again = tmp_path / "again.csv"
    assert cli.main(argv[:3] + [str(again)] + argv[4:]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_impute_draws_are_stacked_with_a_draw_column(tmp_path, capsys, tiny_models):
    data, holes = _holey_csv(tmp_path / "data.csv", n=80, share=0.25, delimiter=";")
    assert cli.main(["impute", str(data), "-o", "-", "--draws", "3", "--seed", "1", "--n-jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert "wrote 3 completed tables (240 rows x 4 columns, 'draw' first) to standard output" in captured.err
    rows = list(csv.reader(io.StringIO(captured.out), delimiter=";"))
    before = _records(data, ";")
    assert rows[0] == ["draw"] + before[0] and len(rows) == 1 + 3 * 80
    blocks = [rows[1 + 80 * k : 1 + 80 * (k + 1)] for k in range(3)]
    for k, block in enumerate(blocks, start=1):
        assert all(row[0] == str(k) for row in block)
        for i, (old, new) in enumerate(zip(before[1:], block)):
            assert all(new[1 + j] == old[j] for j in range(3) if (i, j) not in holes)
            assert all(new[1 + j] not in ("", "NA", "nan", "null") for j in range(3))
    assert blocks[0] != blocks[1]  # independent draws of the missing cells


@pytest.mark.parametrize("alias", ["same", "symlink"])
def test_impute_refuses_to_write_over_its_input(tmp_path, capsys, monkeypatch, no_fit, alias):
    data, _ = _holey_csv(tmp_path / "in.csv", n=30)
    before = data.read_bytes()
    monkeypatch.chdir(tmp_path)
    if alias == "symlink":
        os.symlink("in.csv", tmp_path / "link.csv")
    output = {"same": "in.csv", "symlink": "link.csv"}[alias]
    assert cli.main(["impute", "in.csv", "-o", output, "--force"]) == 2
    _one_error_line(capsys, "is the input file", "completed table")
    assert data.read_bytes() == before


def test_impute_existing_output_needs_force(tmp_path, capsys, no_fit):
    data, _ = _holey_csv(tmp_path / "in.csv", n=30)
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    assert cli.main(["impute", str(data), "-o", str(out)]) == 2
    _one_error_line(capsys, "--force")
    assert out.read_text() == "precious\n"


def test_impute_non_tree_model_fits_on_the_complete_rows(tmp_path, capsys, tiny_models):
    data, holes = _holey_csv(tmp_path / "data.csv", n=100, share=0.1, seed=2)
    out = tmp_path / "filled.csv"
    argv = ["impute", str(data), "-o", str(out), "--model", "random-features", "--seed", "0"]
    assert cli.main(argv) == 0
    complete = 100 - len({i for i, _ in holes})
    assert f"fitted on the {complete} complete rows of 100" in capsys.readouterr().out
    table = read_csv(out)
    assert table.n_rows == 100 and set(table.columns[2]) <= set(COLORS)


def test_impute_non_tree_model_needs_enough_complete_rows(tmp_path, capsys, tiny_models):
    data, holes = _holey_csv(tmp_path / "data.csv", n=40, share=0.9)
    complete = 40 - len({i for i, _ in holes})
    assert complete < cli.MIN_COMPLETE_ROWS
    out = tmp_path / "out.csv"
    assert cli.main(["impute", str(data), "-o", str(out), "--model", "random-features"]) == 2
    _one_error_line(capsys, "random-features", f"{complete} of 40 rows", "--model boosted")
    assert not out.exists()


def test_impute_non_tree_model_label_only_in_incomplete_rows(tmp_path, capsys, tiny_models):
    data, _ = _holey_csv(tmp_path / "data.csv", n=60, share=0.0)
    with open(data, "a") as handle:
        handle.write(",3,purple\n")
    assert cli.main(["impute", str(data), "-o", "-", "--model", "random-features"]) == 2
    _one_error_line(capsys, "'purple'", "line 62", "--model boosted")


def test_impute_file_without_missing_cells_is_written_unchanged(tmp_path, capsys, no_fit):
    data = tmp_path / "full.csv"
    data.write_bytes(b"\xef\xbb\xbfx;label\r\n1.50;a\r\n\r\n2e1;\"b;c\"\r\n")
    out = tmp_path / "out.csv"
    assert cli.main(["impute", str(data), "-o", str(out)]) == 0
    assert "no missing cell" in capsys.readouterr().out
    assert out.read_bytes() == data.read_bytes()
    assert cli.main(["impute", str(data), "-o", "-", "--draws", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out == '\ufeffdraw;x;label\r\n1;1.50;a\r\n1;2e1;"b;c"\r\n2;1.50;a\r\n2;2e1;"b;c"\r\n'  # BOM kept
    assert "no missing cell" in captured.err


@pytest.mark.parametrize("row", [",,", "NA,null,"])
def test_impute_row_with_every_cell_missing_is_refused(tmp_path, capsys, no_fit, row):
    data = tmp_path / "data.csv"
    data.write_text("a,b,c\n1,2,x\n3,,y\n" + row + "\n5,6,z\n")
    out = tmp_path / "out.csv"
    assert cli.main(["impute", str(data), "-o", str(out)]) == 2
    _one_error_line(capsys, "line 4", "every cell is missing")
    assert not out.exists()


def test_impute_dropped_columns_are_copied_as_they_are(tmp_path, capsys, tiny_models):
    rng = np.random.default_rng(0)
    lines = ["id,x,k"] + [f"{i},{rng.normal():.3f},{rng.integers(0, 4)}" for i in range(40)]
    lines[5] = "4,,2"
    lines[9] = "NA,0.250,"
    data = tmp_path / "ids.csv"
    data.write_text("\n".join(lines) + "\n")
    assert cli.main(["impute", str(data), "-o", "-", "--n-jobs", "1"]) == 2  # 'id' looks like an identifier
    _one_error_line(capsys, "'id'", "--drop id")
    assert cli.main(["impute", str(data), "-o", "-", "--drop", "id", "--seed", "0", "--n-jobs", "1"]) == 0
    captured = capsys.readouterr()
    assert "copied as they were: id" in captured.err
    rows = captured.out.splitlines()
    assert rows[0] == "id,x,k" and len(rows) == 41
    assert rows[5].startswith("4,") and rows[5].endswith(",2") and rows[5] != "4,,2"
    assert rows[9].startswith("NA,0.250,") and rows[9] != "NA,0.250,"  # the dropped cell stays as it was
    assert [row for i, row in enumerate(rows) if i not in (5, 9)] == [
        line for i, line in enumerate(lines) if i not in (5, 9)
    ]


@pytest.mark.parametrize(
    "text, extra, words",
    [
        ("a,b\n1,2\n,3\n", ["--draws", "0"], ["--draws"]),
        ("a,draw\n1,2\n,3\n", ["--draws", "2"], ["'draw'"]),
        ("a,b\n1,2\n,3\n", ["--model", "gan"], ["unknown model"]),
        ("a,b\n,2\n,3\n", [], ["column 'a' has no value"]),
    ],
)
def test_impute_bad_arguments_are_one_line(tmp_path, capsys, no_fit, text, extra, words):
    data = tmp_path / "data.csv"
    data.write_text(text)
    assert cli.main(["impute", str(data), "-o", str(tmp_path / "out.csv")] + extra) == 2
    _one_error_line(capsys, *words)


# ------------------------------------------------------ missing cells (_tabular)
def test_read_csv_missing_cells_are_refused_unless_allowed(tmp_path):
    path = tmp_path / "holes.csv"
    path.write_text("x,n,c\n1.5,2,a\nNA,3,b\n2.5,,\n0.5,1,a\n")
    with pytest.raises(ValueError, match=r"^missing value in column 'x', line 3; fill or drop it first$"):
        read_csv(path)
    with pytest.raises(ValueError, match=r"missing value in column 'x', line 3; fill or drop it first"):
        read_csv(path, allow_missing=False)
    table = read_csv(path, allow_missing=True)
    assert table.kinds == ["float", "integer", "categorical"]
    assert table.missing().tolist() == [[False] * 3, [True, False, False], [False, True, True], [False] * 3]
    assert table.categories() == {"c": ["a", "b"]}
    X = table.to_array()
    np.testing.assert_array_equal(X, [[1.5, 2, 0], [np.nan, 3, 1], [2.5, np.nan, np.nan], [0.5, 1, 0]])
    with pytest.raises(ValueError, match="NaN"):
        table.from_array(X)
    back = table.from_array(X, allow_missing=True)
    assert back.columns[2].tolist() == ["a", "b", None, "a"]
    assert format_csv(back, allow_missing=True) == "x,n,c\n1.5,2,a\n,3,b\n2.5,,\n0.5,1,a\n"


# ------------------------------------------------------------------ audit
def test_impute_keeps_the_byte_order_mark_and_wide_integers(tmp_path, capsys, tiny_models):
    """A BOM stays when cells are filled; integers beyond 2**40 are modelled as continuous, filled as integers."""
    rng = np.random.default_rng(0)
    pairs = zip(rng.gamma(2.0, size=40), rng.integers(0, 30, 40))
    lines = [f"{a:.2f},{1_700_000_000_000 + 60_000 * t}" for a, t in pairs]
    lines[3] = lines[3].split(",")[0] + ","
    lines[7] = "," + lines[7].split(",")[1]
    data = tmp_path / "bom.csv"
    data.write_bytes(b"\xef\xbb\xbf" + ("amount,ts_ms\n" + "\n".join(lines) + "\n").encode())
    out = tmp_path / "out.csv"
    assert cli.main(["impute", str(data), "-o", str(out), "--seed", "0", "--n-jobs", "1"]) == 0
    assert "filled 2 missing cells" in capsys.readouterr().out
    written = out.read_bytes()
    assert written.startswith(b"\xef\xbb\xbfamount,ts_ms\n")
    filled = written.decode("utf-8-sig").splitlines()[4].split(",")[1]
    assert filled.isdigit() and 1.69e12 < int(filled) < 1.71e12
    assert cli.main(["impute", str(data), "-o", str(out), "--integer", "ts_ms", "--force", "--seed", "0"]) == 0
    assert out.read_bytes() == written  # named in --integer: the same continuous column


def test_impute_stray_text_in_a_numeric_column(tmp_path, capsys, no_fit):
    data, _ = _holey_csv(tmp_path / "data.csv", n=120, share=0.0)
    lines = data.read_text().splitlines()
    lines[30] = "?," + lines[30].split(",", 1)[1]
    data.write_text("\n".join(lines) + "\n")
    assert cli.main(["impute", str(data), "-o", str(tmp_path / "out.csv")]) == 2
    line = _one_error_line(capsys, "column 'height'", "'?' on line 31", "empty cell or NA")
    assert "--max-categories" not in line


def test_impute_stray_text_among_a_few_whole_numbers(tmp_path, capsys, no_fit):
    """A count of 0-4 with a stray '?' was read as five labels and '?', which draws could copy."""
    data, _ = _holey_csv(tmp_path / "data.csv", n=120, share=0.0)
    lines = data.read_text().splitlines()
    lines[30] = lines[30].rsplit(",", 2)[0] + ",?," + lines[30].rsplit(",", 1)[1]
    data.write_text("\n".join(lines) + "\n")
    assert cli.main(["impute", str(data), "-o", str(tmp_path / "out.csv")]) == 2
    _one_error_line(capsys, "column 'count'", "'?' on line 31", "--categorical count")


def test_impute_single_column_empty_lines_are_missing_cells(tmp_path, capsys, no_fit):
    data = tmp_path / "one.csv"
    data.write_text("v\n0.19\n0.00\n\n0.60\n0.31\n\n\n")
    assert cli.main(["impute", str(data), "-o", str(tmp_path / "out.csv")]) == 2
    _one_error_line(capsys, "line 4: every cell is missing")  # not "no missing cell"
    data.write_text("v\n0.19\n0.00\n0.60\n\n\n")  # blank lines that end the file are no rows
    assert cli.main(["impute", str(data), "-o", "-"]) == 0
    assert "no missing cell" in capsys.readouterr().err


def test_impute_output_quotes_a_copied_carriage_return(tmp_path, capsys, tiny_models):
    rng = np.random.default_rng(0)
    lines = [f"{x:.2f},{y:.2f},plain" for x, y in rng.normal(size=(30, 2))]
    lines[3] = lines[3].rsplit(",", 1)[0] + ',"line1\rline2"'
    lines[5] = "," + lines[5].split(",", 1)[1]
    data = tmp_path / "cr.csv"
    data.write_bytes(("x,y,note\n" + "\n".join(lines) + "\n").encode())
    out = tmp_path / "out.csv"
    assert cli.main(["impute", str(data), "-o", str(out), "--seed", "0", "--drop", "note"]) == 0
    records = _records(out)
    assert len(records) == 31 and records[4][2] == "line1\rline2"


def test_impute_keeps_zero_padded_codes_spelled_as_written(tmp_path, capsys, tiny_models):
    """A code column "001", "002", "010" was read as integers: kept cells "001", filled ones "1"."""
    rng = np.random.default_rng(0)
    codes = rng.choice(["001", "002", "010"], 40)
    lines = [f"{c},{y:.2f}" for c, y in zip(codes, rng.normal(size=40))]
    for i in (3, 9, 17):
        lines[i] = "," + lines[i].split(",")[1]
    data = _write_lines(tmp_path / "codes.csv", ["code,y"] + lines)
    out = tmp_path / "out.csv"
    assert cli.main(["impute", str(data), "-o", str(out), "--seed", "0"]) == 0
    assert {record[0] for record in _records(out)[1:]} <= {"001", "002", "010"}
    assert read_csv(data, allow_missing=True).kinds == ["categorical", "float"]
    assert read_csv(data, allow_missing=True, integer_columns=["code"]).kinds == ["integer", "float"]


def test_impute_warnings_are_one_line(tmp_path, capsys, monkeypatch):
    class Warns:
        def __init__(self, **kwargs):
            pass

        def set_params(self, **kwargs):
            return self

        def fit(self, X):
            warnings.warn("1 of 10 convex programs stopped at max_iter;\nincrease max_iter", UserWarning)
            return self

        def impute(self, X, n_draws=1):
            return np.nan_to_num(X, nan=1.0)[None]

    monkeypatch.setattr(cli, "MODELS", {"boosted": Warns})
    data = tmp_path / "data.csv"
    data.write_text("a,b\n" + "".join(f"{i % 7},{i % 3 + 0.5}\n" for i in range(30)) + ",2.5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert cli.main(["impute", str(data), "-o", str(tmp_path / "out.csv"), "--model", "boosted"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "skscore: warning: 1 of 10 convex programs stopped at max_iter; increase max_iter\n"
    assert captured.out.startswith("filled 1 missing cell")
