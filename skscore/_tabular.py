"""CSV tables for ``skscore generate``: read, code as numbers, write.

A CSV file with a header row is read into a :class:`Table` whose columns are
each of one kind:

- ``'float'``: any real number;
- ``'integer'``: numbers that are all integral (``3``, ``3.0``, ``1e3``);
- ``'categorical'``: text, with a limited number of distinct values.

:meth:`Table.to_array` turns a table into a float matrix, each categorical
column holding the codes ``0..K-1`` of its labels in sorted order, and
:meth:`Table.from_array` turns such a matrix (a model's samples) back into a
table of the same columns and kinds, which :func:`write_csv` writes
atomically.  The types themselves are handled by the estimators (their
``integer_features`` and ``categorical_features`` parameters, see
:mod:`skscore._columns`).  Problems with the input are raised as
:class:`ValueError` with a one-line message that names the column and line.

Examples
--------
>>> import numpy as np
>>> table = Table(
...     names=["x", "count", "color"],
...     kinds=["float", "integer", "categorical"],
...     columns=[np.array([0.5, 1.5, 2.5]), np.array([1.0, 4.0, 2.0]), np.array(["red", "blue", "red"], dtype=object)],
... )
>>> table.categories()
{'color': ['blue', 'red']}
>>> X = table.to_array()  # 'blue' -> 0, 'red' -> 1
>>> X.tolist()
[[0.5, 1.0, 1.0], [1.5, 4.0, 0.0], [2.5, 2.0, 1.0]]
>>> table.indices("integer"), table.indices("categorical")
([1], [2])
>>> back = table.from_array(X[::-1])
>>> back.columns[1].tolist(), back.columns[2].tolist()
([2, 4, 1], ['red', 'blue', 'red'])
"""

import csv
import io
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ._io import atomic_write

__all__ = ["KINDS", "MISSING_MARKERS", "Table", "read_csv", "write_csv"]

KINDS = ("float", "integer", "categorical")

# Cells read as missing values (compared after stripping, case-insensitively).
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "-nan", "null"})

# Integral floats above this magnitude are not exactly integers any more.
_MAX_EXACT_INTEGER = 2.0**53


@dataclass
class Table:
    """Columns of a CSV file, each of one kind.

    Parameters
    ----------
    names : list of str
        Column names, in file order, unique and non-empty.
    kinds : list of {'float', 'integer', 'categorical'}
        Kind of each column.
    columns : list of ndarray of shape (n_rows,)
        Values of each column: float64 for 'float' columns, float64 holding
        integral values (as read by :func:`read_csv`) or int64 (as returned by
        :meth:`from_array`) for 'integer' columns, and an object array of str
        for 'categorical' columns.
    """

    names: list
    kinds: list
    columns: list = field(repr=False)

    def __post_init__(self):
        self.names, self.kinds, self.columns = list(self.names), list(self.kinds), list(self.columns)
        if not len(self.names) == len(self.kinds) == len(self.columns):
            raise ValueError(
                f"a table needs one kind and one column per name, got {len(self.names)} names, "
                f"{len(self.kinds)} kinds and {len(self.columns)} columns"
            )
        bad = [kind for kind in self.kinds if kind not in KINDS]
        if bad:
            raise ValueError(f"unknown column kind {bad[0]!r}; choose from {', '.join(KINDS)}")
        if len({len(column) for column in self.columns}) > 1:
            raise ValueError("the columns of a table must all have the same length")

    @property
    def n_rows(self):
        """Number of rows (0 for a table without columns)."""
        return len(self.columns[0]) if self.columns else 0

    def indices(self, kind):
        """Positions of the columns of ``kind`` ('float', 'integer' or 'categorical')."""
        if kind not in KINDS:
            raise ValueError(f"unknown column kind {kind!r}; choose from {', '.join(KINDS)}")
        return [j for j, k in enumerate(self.kinds) if k == kind]

    def categories(self):
        """Sorted distinct labels of each categorical column, by name.

        The code of a label (see :meth:`to_array`) is its position here.
        """
        return {
            name: sorted(set(map(str, column)))
            for name, kind, column in zip(self.names, self.kinds, self.columns)
            if kind == "categorical"
        }

    def to_array(self):
        """The table as a float matrix: numbers as they are, labels as codes.

        Returns
        -------
        X : ndarray of shape (n_rows, n_columns)
            float64; each categorical column holds the code ``0..K-1`` of its
            label among the sorted labels of :meth:`categories`.
        """
        categories = self.categories()
        X = np.empty((self.n_rows, len(self.names)))
        for j, (name, column) in enumerate(zip(self.names, self.columns)):
            if name in categories:
                X[:, j] = np.searchsorted(np.array(categories[name], dtype=str), np.asarray(column).astype(str))
            else:
                X[:, j] = np.asarray(column, dtype=np.float64)
        return X

    def from_array(self, X):
        """A table with this table's names and kinds from a matrix coded as by :meth:`to_array`.

        Categorical codes become this table's labels, 'integer' columns int64
        and 'float' columns float64.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_columns)
            Finite values; integral in 'integer' columns; codes in
            ``0..K-1`` in categorical ones.

        Returns
        -------
        table : Table
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.names):
            raise ValueError(f"expected a matrix with {len(self.names)} columns, got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("cannot decode NaN or infinite values")
        categories = self.categories()
        columns = []
        for j, (name, kind) in enumerate(zip(self.names, self.kinds)):
            values = X[:, j]
            if kind == "float":
                columns.append(values.copy())
                continue
            n_codes = len(categories[name]) if kind == "categorical" else None
            bad = (values != np.floor(values)) | (np.abs(values) > _MAX_EXACT_INTEGER)
            if n_codes is not None:
                bad |= (values < 0) | (values >= n_codes)
            if np.any(bad):
                what = f"codes in 0..{n_codes - 1}" if n_codes is not None else "integers"
                raise ValueError(f"column {name!r} must hold {what}, got {float(values[bad][0])!r}")
            if kind == "integer":
                columns.append(values.astype(np.int64))
            else:
                columns.append(np.array(categories[name], dtype=object)[values.astype(np.intp)])
        return Table(names=list(self.names), kinds=list(self.kinds), columns=columns)


# ---------------------------------------------------------------------- read
def _as_names(names, option):
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    try:
        return list(names)
    except TypeError:
        raise TypeError(f"{option} must be a list of column names, got {names!r}") from None


def _parse_number(text):
    """``float(text)``, or None when ``text`` is not a plain number.

    Python's ``float`` also accepts ``1_000``, which a CSV file means as text.
    """
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _read_rows(path):
    """Header fields and ``(line, fields)`` of every non-blank data row."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return _parse_rows(csv.reader(handle), path)
    except FileNotFoundError:
        raise ValueError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a directory, not a CSV file") from None


def _parse_rows(reader, path):
    rows = []
    header = None
    line = 1  # first physical line of the next record
    try:
        for fields in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in fields):  # skip blank lines (and ",,," lines)
                continue
            if header is None:
                header = [cell.strip() for cell in fields]
            else:
                rows.append((start, fields))
    except csv.Error as exc:
        raise ValueError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    return header, rows


def _check_header(header, path):
    for position, name in enumerate(header, start=1):
        if not name:
            raise ValueError(f"{path}: column {position} has an empty name in the header")
    seen = set()
    for name in header:
        if name in seen:
            raise ValueError(f"{path}: duplicate column name {name!r} in the header")
        seen.add(name)


def _forced_kinds(header, integer_columns, categorical_columns):
    integer_columns = _as_names(integer_columns, "integer_columns")
    categorical_columns = _as_names(categorical_columns, "categorical_columns")
    known = set(header)
    for option, names in (("integer_columns", integer_columns), ("categorical_columns", categorical_columns)):
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(
                f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in {option}; "
                f"the header has {', '.join(map(repr, header))}"
            )
    both = [name for name in integer_columns if name in set(categorical_columns)]
    if both:
        raise ValueError(f"column {both[0]!r} is given both as integer and as categorical")
    forced = dict.fromkeys(integer_columns, "integer")
    forced.update(dict.fromkeys(categorical_columns, "categorical"))
    return forced


def _numeric_column(name, cells, lines, kind):
    """Parse a numeric column; ``kind`` is 'auto' or 'integer' (forced).

    Returns the float64 values and the detected kind, or None (for 'auto')
    when some cell is not a number.
    """
    values = np.empty(len(cells))
    for i, text in enumerate(cells):
        value = _parse_number(text)
        if value is None:
            if kind == "auto":
                return None
            raise ValueError(f"column {name!r} is given as integer, but line {lines[i]} holds the text {text!r}")
        if not math.isfinite(value):
            raise ValueError(f"non-finite value {text!r} in column {name!r}, line {lines[i]}; fill or drop it first")
        values[i] = value
    integral = np.all(values == np.floor(values)) and np.all(np.abs(values) <= _MAX_EXACT_INTEGER)
    if kind == "integer" and not integral:
        i = int(np.flatnonzero((values != np.floor(values)) | (np.abs(values) > _MAX_EXACT_INTEGER))[0])
        raise ValueError(f"column {name!r} is given as integer, but line {lines[i]} holds {cells[i]!r}")
    return values, ("integer" if integral else "float")


def read_csv(path, *, integer_columns=None, categorical_columns=None, max_categories=50):
    """Read a comma-separated file with a header row into a :class:`Table`.

    Each column's kind is detected unless forced by name: a column whose
    every value parses as a number is numeric, 'integer' when all its values
    are integral (``3``, ``3.0``, ``1e3``; magnitudes up to ``2**53``) and
    'float' otherwise; any other column is 'categorical'.

    Cells are stripped of surrounding spaces.  Lines that are empty (or hold
    only empty fields) are skipped.  A cell that is empty or one of ``NA``,
    ``N/A``, ``NaN``, ``-NaN``, ``null`` (any case) is a missing value, which
    is an error: this layer does not impute.

    Parameters
    ----------
    path : str or path-like
        CSV file, UTF-8 (a byte-order mark is allowed), comma-separated,
        double-quoted fields as written by spreadsheets and :mod:`csv`.
    integer_columns : list of str, default=None
        Columns to read as 'integer'; every value must be an integral
        number.
    categorical_columns : list of str, default=None
        Columns to read as 'categorical' even when they look numeric (codes
        such as ``01``, ``02``: the text is kept as written).
    max_categories : int, default=50
        Largest number of distinct values allowed in a categorical column
        (detected or forced); more suggest an identifier or free text, which
        a density model cannot learn.

    Returns
    -------
    table : Table
        The columns in file order: float64 arrays for 'float' and 'integer'
        columns, object arrays of str for 'categorical' ones.

    Raises
    ------
    ValueError
        For a missing or unreadable file, fewer than two data rows, an empty
        or duplicated column name, a row with a different number of fields
        than the header, a missing or non-finite value, an unknown column
        name in the flags, a forced integer column holding other values, or
        a categorical column with more than ``max_categories`` values.
    """
    if isinstance(max_categories, bool) or not isinstance(max_categories, (int, np.integer)) or max_categories < 1:
        raise ValueError(f"max_categories must be a positive integer, got {max_categories!r}")
    path = os.fspath(path)
    header, rows = _read_rows(path)
    if header is None or not rows:
        raise ValueError(f"{path} has no data rows")
    if len(rows) < 2:
        raise ValueError(f"{path} has a single data row; it needs at least 2 rows")
    _check_header(header, path)
    forced = _forced_kinds(header, integer_columns, categorical_columns)

    n_columns = len(header)
    lines = [line for line, _ in rows]
    for line, fields in rows:
        if len(fields) != n_columns:
            raise ValueError(
                f"{path}, line {line}: {len(fields)} field{'s' if len(fields) != 1 else ''}, the header has {n_columns}"
            )
        for name, cell in zip(header, fields):
            if cell.strip().lower() in MISSING_MARKERS:
                raise ValueError(f"missing value in column {name!r}, line {line}; fill or drop it first")

    kinds, columns = [], []
    for j, name in enumerate(header):
        cells = [fields[j].strip() for _, fields in rows]
        kind = forced.get(name, "auto")
        parsed = None if kind == "categorical" else _numeric_column(name, cells, lines, kind)
        if parsed is not None:
            values, kind = parsed
        else:
            values, kind = np.array(cells, dtype=object), "categorical"
            n_distinct = len(set(cells))
            if n_distinct > max_categories:
                raise ValueError(
                    f"column {name!r} has {n_distinct} distinct text values; it looks like an identifier "
                    f"or free text: drop it or raise --max-categories (now {max_categories})"
                )
        kinds.append(kind)
        columns.append(values)
    return Table(names=header, kinds=kinds, columns=columns)


# --------------------------------------------------------------------- write
def _format_cells(table):
    formatted = []
    for name, kind, column in zip(table.names, table.kinds, table.columns):
        if kind == "categorical":
            formatted.append([str(value) for value in column])
            continue
        values = np.asarray(column)
        if not np.all(np.isfinite(values.astype(np.float64))):
            raise ValueError(f"column {name!r} holds NaN or infinite values")
        if kind == "integer":
            formatted.append([str(int(value)) for value in values])
        else:
            formatted.append([repr(float(value)) for value in values])  # shortest round-trip text
    return formatted


def write_csv(table, path):
    """Write ``table`` as a CSV file with a header row, atomically.

    The text goes to a temporary file in the destination's directory, which
    then replaces ``path`` in one step: readers see the old file or the
    complete new one, and on any error the temporary file is removed and
    ``path`` is left as it was.  Floats are written with the shortest text
    that reads back to the same double (``repr``), integers as integers,
    categories as text (quoted when needed).

    Parameters
    ----------
    table : Table
        The table to write.
    path : str or path-like
        Destination; its directory must exist.  The new file gets the usual
        permissions of a new file (``0o666`` less the umask).
    """
    cells = _format_cells(table)  # fail before touching the file system
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(table.names)
    writer.writerows(zip(*cells))
    atomic_write(path, text.getvalue())
