"""Tests of the CSV layer of ``skscore generate`` (skscore._tabular)."""

import os

import numpy as np
import pytest

from skscore import _tabular
from skscore._tabular import Table, format_csv, identifier_columns, read_csv, write_csv


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def mixed_csv(tmp_path):
    """A float column, a Poisson count column and a 3-level text column."""
    rng = np.random.default_rng(0)
    n = 120
    level = rng.integers(0, 3, n)
    x = rng.normal(level * 2.0, 0.5)
    count = rng.poisson(3.0 + level)
    colors = np.array(["red", "green", "blue"])[level]
    lines = ["x,count,color"] + [f"{float(a)!r},{c},{s}" for a, c, s in zip(x, count, colors)]
    return _write(tmp_path / "data.csv", "\n".join(lines) + "\n")


# ---------------------------------------------------------------- round trip
def test_codes_round_trip_through_a_file(mixed_csv, tmp_path):
    table = read_csv(mixed_csv)
    assert table.names == ["x", "count", "color"]
    assert table.kinds == ["float", "integer", "categorical"]
    assert table.indices("integer") == [1] and table.indices("categorical") == [2]
    assert table.categories() == {"color": ["blue", "green", "red"]}

    X = table.to_array()  # what skscore generate fits on
    assert X.dtype == np.float64 and X.shape == (120, 3)
    np.testing.assert_array_equal(X[:, :2], np.column_stack(table.columns[:2]))
    codes = {"blue": 0, "green": 1, "red": 2}
    np.testing.assert_array_equal(X[:, 2], [codes[c] for c in table.columns[2]])

    back = table.from_array(X[::-1])
    assert back.names == table.names and back.kinds == table.kinds
    assert back.columns[1].dtype == np.int64 and back.columns[2].dtype == object
    out = tmp_path / "rows.csv"
    write_csv(back, out)
    again = read_csv(out)
    assert again.kinds == table.kinds
    for column, original in zip(again.columns, table.columns):
        np.testing.assert_array_equal(column, original[::-1])  # exact, floats included


def test_from_array_checks_codes_and_integers():
    table = Table(
        ["x", "n", "c"],
        ["float", "integer", "categorical"],
        [np.array([0.0, 1.0]), np.array([-2.0, 5.0]), np.array(["b", "a"], dtype=object)],
    )
    decoded = table.from_array([[-3.5, -7.0, 1.0], [9.0, 0.0, 0.0]])
    np.testing.assert_array_equal(decoded.columns[0], [-3.5, 9.0])
    np.testing.assert_array_equal(decoded.columns[1], [-7, 0])
    assert decoded.columns[2].tolist() == ["b", "a"]
    with pytest.raises(ValueError, match="3 columns"):
        table.from_array(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        table.from_array([[np.nan, 0.0, 0.0]])
    with pytest.raises(ValueError, match="'n' must hold integers, got 0.5"):
        table.from_array([[0.0, 0.5, 0.0]])
    with pytest.raises(ValueError, match=r"'c' must hold codes in 0..1, got 2.0"):
        table.from_array([[0.0, 0.0, 2.0]])
    with pytest.raises(ValueError, match="unknown column kind"):
        table.indices("text")


# ----------------------------------------------------------------- detection
def test_detection_and_forcing_flags(tmp_path):
    path = _write(
        tmp_path / "kinds.csv",
        "f,i,i2,code,t\n1.5,3,1e1,01,a\n2,4.0,2,02,b\n-0.25,-7,30,01,a\n",
    )
    table = read_csv(path)
    # "01", "02": numbers written with leading zeros are codes, labels spelled as written
    assert table.kinds == ["float", "integer", "integer", "categorical", "categorical"]
    assert table.columns[3].tolist() == ["01", "02", "01"]
    assert read_csv(path, integer_columns=["code"]).kinds[3] == "integer"
    assert table.columns[0].dtype == np.float64
    np.testing.assert_array_equal(table.columns[1], [3, 4, -7])
    assert table.columns[4].dtype == object and table.columns[4].tolist() == ["a", "b", "a"]

    forced = read_csv(path, categorical_columns=["code", "i"], integer_columns=["i2"])
    assert forced.kinds == ["float", "categorical", "integer", "categorical", "categorical"]
    assert forced.columns[3].tolist() == ["01", "02", "01"]  # text kept as written
    assert forced.columns[1].tolist() == ["3", "4.0", "-7"]

    with pytest.raises(ValueError, match=r"unknown columns 'nope', 'zip' in --integer"):
        read_csv(path, integer_columns=["nope", "zip"])
    with pytest.raises(ValueError, match=r"unknown column 'nope' in --categorical"):
        read_csv(path, categorical_columns=["nope"])
    with pytest.raises(ValueError, match="named in both --integer and --categorical"):
        read_csv(path, integer_columns=["i"], categorical_columns=["i"])
    with pytest.raises(ValueError, match=r"column 'f' is given as integer, but line 2 holds '1.5'"):
        read_csv(path, integer_columns=["f"])
    with pytest.raises(ValueError, match=r"column 't' is given as integer, but line 2 holds the text 'a'"):
        read_csv(path, integer_columns=["t"])


def test_quoting_whitespace_bom_and_blank_lines(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes('\ufeffname , value\r\n"a, b", 1\r\n\r\n"c", 2.5 \r\n,\r\n'.encode("utf-8"))
    table = read_csv(path)
    assert table.names == ["name", "value"]
    assert table.kinds == ["categorical", "float"]
    assert table.columns[0].tolist() == ["a, b", "c"]
    out = tmp_path / "out.csv"
    write_csv(table, out)
    assert out.read_text(encoding="utf-8") == 'name,value\n"a, b",1.0\nc,2.5\n'


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"has no data rows"),
        ("a,b\n", r"has no data rows"),
        ("a,b\n1,2\n", r"has a single data row; it needs at least 2 rows"),
        ("a,b\n1,2\n3\n4,5\n", r"line 3: 1 field, the header has 2"),
        ("a,b\n1,2\n3,4,5\n", r"line 3: 3 fields, the header has 2"),
        ("a,b\n1,2\n3,\n", r"missing value in column 'b', line 3; fill or drop it first"),
        ("a,b\n1,2\nNA,4\n", r"missing value in column 'a', line 3; fill or drop it first"),
        ("a,b\n1,nan\n3,4\n", r"missing value in column 'b', line 2"),
        ("a,b\n1,inf\n3,4\n", r"non-finite value 'inf' in column 'b', line 2"),
        ("a,a\n1,2\n3,4\n", r"duplicate column name 'a'"),
        ("a,,c\n1,2,3\n3,4,5\n", r"column 2 has an empty name"),
    ],
)
def test_read_errors(tmp_path, text, message):
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=message):
        read_csv(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ValueError, match=r"no such file: .*nothere\.csv"):
        read_csv(tmp_path / "nothere.csv")
    with pytest.raises(ValueError, match="is a directory"):
        read_csv(tmp_path)


def test_too_many_categories(tmp_path):
    path = _write(tmp_path / "ids.csv", "id,x\n" + "".join(f"user{i},{i}\n" for i in range(6)))
    message = (
        r"column 'id' has 6 distinct text values \(one per row\); it looks like an identifier or free text, "
        r"which cannot be modelled: leave it out with --drop id, or raise --max-categories \(now 5\)"
    )
    with pytest.raises(ValueError, match=message):
        read_csv(path, max_categories=5)
    assert read_csv(path, max_categories=6).kinds == ["categorical", "integer"]
    with pytest.raises(ValueError, match="has 6 distinct text values"):
        read_csv(path, categorical_columns=["x"], max_categories=5)
    with pytest.raises(ValueError, match="max_categories must be a positive integer"):
        read_csv(path, max_categories=0)


def test_error_messages_are_one_line(tmp_path):
    path = _write(tmp_path / "bad.csv", "a,b\n1,2\n3,\n")
    with pytest.raises(ValueError) as info:
        read_csv(path)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------- write
def test_write_csv_number_formats(tmp_path):
    table = Table(
        ["x", "n", "c"],
        ["float", "integer", "categorical"],
        [
            np.array([0.1, 1e-300, 1 / 3]),
            np.array([3, -2, 10**12], dtype=np.int64),
            np.array(["a", 'q"t', "b"], dtype=object),
        ],
    )
    out = tmp_path / "f.csv"
    write_csv(table, out)
    assert out.read_text(encoding="utf-8").splitlines() == [
        "x,n,c",
        "0.1,3,a",
        '1e-300,-2,"q""t"',
        f"{1 / 3!r},1000000000000,b",
    ]
    back = read_csv(out)
    np.testing.assert_array_equal(back.columns[0], table.columns[0])  # exact round trip
    assert back.columns[2].tolist() == ["a", 'q"t', "b"]


def test_write_csv_leaves_nothing_when_replace_fails(tmp_path, monkeypatch):
    table = Table(["x", "y"], ["float", "integer"], [np.array([1.0, 2.0]), np.array([1, 2])])

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(_tabular.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_csv(table, tmp_path / "out.csv")
    assert os.listdir(tmp_path) == []


def test_write_csv_keeps_old_file_when_formatting_fails(tmp_path):
    out = _write(tmp_path / "out.csv", "old\n")
    table = Table(["x"], ["float"], [np.array([1.0, np.nan])])
    with pytest.raises(ValueError, match="NaN or infinite"):
        write_csv(table, out)
    assert os.listdir(tmp_path) == ["out.csv"] and out.read_text() == "old\n"


def test_write_csv_replaces_and_uses_umask_permissions(tmp_path):
    out = tmp_path / "new.csv"
    write_csv(Table(["x"], ["integer"], [np.array([4.0, 5.0])]), out)
    assert out.read_text() == "x\n4\n5\n"
    assert os.listdir(tmp_path) == ["new.csv"]
    if os.name == "posix":
        umask = os.umask(0)
        os.umask(umask)
        assert os.stat(out).st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_write_csv_replacing_keeps_permission_bits(tmp_path):
    out = _write(tmp_path / "out.csv", "old\n")
    os.chmod(out, 0o640)
    write_csv(Table(["x"], ["integer"], [np.array([4.0, 5.0])]), out)
    assert out.read_text() == "x\n4\n5\n"
    assert os.stat(out).st_mode & 0o777 == 0o640  # not widened to 0o666 less the umask
    assert os.listdir(tmp_path) == ["out.csv"]
    with pytest.raises(FileExistsError):
        write_csv(Table(["x"], ["integer"], [np.array([1.0, 2.0])]), out, overwrite=False)
    assert out.read_text() == "x\n4\n5\n" and os.listdir(tmp_path) == ["out.csv"]


# ----------------------------------------------------------------- delimiter
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected_and_written_back(tmp_path, delimiter):
    lines = ["x y label".replace(" ", delimiter)] + [
        delimiter.join([f"{i / 3:.4f}", str(i % 4), f'"a{delimiter}{i % 2}"' if i % 2 else "plain"]) for i in range(12)
    ]
    path = _write(tmp_path / "data.csv", "\n".join(lines) + "\n")
    table = read_csv(path)
    assert table.names == ["x", "y", "label"] and table.kinds == ["float", "integer", "categorical"]
    assert table.delimiter == delimiter
    assert set(table.columns[2]) == {"plain", f"a{delimiter}1"}  # a quoted separator stays in its field
    out = tmp_path / "out.csv"
    write_csv(table, out)
    assert out.read_text().splitlines()[0] == delimiter.join(table.names)
    again = read_csv(out)
    assert again.delimiter == delimiter and again.columns[2].tolist() == table.columns[2].tolist()
    assert read_csv(out, delimiter=delimiter).names == table.names
    assert format_csv(table, ",").splitlines()[0] == "x,y,label"


def test_semicolon_file_is_not_one_text_column(tmp_path):
    path = _write(tmp_path / "semi.csv", "a;b;c\n" + "".join(f"{i}.5;{-i}.25;{i % 3}\n" for i in range(10)))
    table = read_csv(path)
    assert table.names == ["a", "b", "c"] and table.kinds == ["float", "float", "integer"]
    # forced: the comma reads one column (as asked)
    assert read_csv(path, delimiter=",", max_categories=100).names == ["a;b;c"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("a;b\n1;2\n3;4\n5\n", r"one column named 'a;b'; if the fields are separated by ';', pass --delimiter ';'"),
        ("a\tb\n1\t2\n3\n", r"separated by '\\t'"),
    ],
)
def test_ambiguous_single_column_header_is_refused(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_csv(_write(tmp_path / "bad.csv", text))


def test_ragged_comma_file_still_names_the_line(tmp_path):
    with pytest.raises(ValueError, match="line 3: 1 field, the header has 2"):
        read_csv(_write(tmp_path / "bad.csv", "a,b\n1,2\n3\n4,5\n"))


def test_bad_delimiter_argument(tmp_path):
    path = _write(tmp_path / "ok.csv", "a,b\n1,2\n3,4\n")
    for bad in ("", ";;", "a", '"', "\n"):
        with pytest.raises(ValueError, match="the delimiter must be one character"):
            read_csv(path, delimiter=bad)


# ------------------------------------------------------- drop, identifiers
def test_drop_columns_are_not_read(tmp_path):
    path = _write(tmp_path / "d.csv", "id,x,note\n" + "".join(f"u{i},{i % 3},NA\n" for i in range(60)))
    table = read_csv(path, drop_columns=["id", "note"])  # 60 labels and missing values: not checked
    assert table.names == ["x"] and table.kinds == ["integer"]
    with pytest.raises(ValueError, match=r"unknown column 'zz' in --drop"):
        read_csv(path, drop_columns=["zz"])
    with pytest.raises(ValueError, match="named in both --integer and --drop"):
        read_csv(path, drop_columns=["x"], integer_columns=["x"])
    with pytest.raises(ValueError, match="--drop names every column"):
        read_csv(path, drop_columns=["id", "x", "note"])


def test_identifier_columns(tmp_path):
    n = _tabular.MIN_IDENTIFIER_ROWS
    rows = [f"{100 + 7 * i},{i % 3},{(i * 0.37) % 1!r},user{i},{'ab'[i % 2]}" for i in range(n)]
    table = read_csv(_write(tmp_path / "ids.csv", "id,k,x,name,g\n" + "\n".join(rows) + "\n"))
    assert table.kinds == ["integer", "integer", "float", "categorical", "categorical"]
    flagged = identifier_columns(table)
    assert [name for name, _ in flagged] == ["id", "name"]
    assert "different integer" in flagged[0][1] and "different label" in flagged[1][1]
    assert identifier_columns(table, exempt={"id"}) == [flagged[1]]
    few = read_csv(_write(tmp_path / "few.csv", "id,k\n" + "".join(f"{i},{i % 2}\n" for i in range(n - 1))))
    assert identifier_columns(few) == []  # too few rows to tell
