"""CSV tables for ``skscore generate`` and ``skscore impute``: read, code as numbers, write.

A CSV file with a header row is read into a :class:`Table` whose columns are
each of one kind:

- ``'float'``: any real number;
- ``'integer'``: numbers that are all integral (``3``, ``3.0``, ``1e3``);
- ``'categorical'``: text, with a limited number of distinct values.

:meth:`Table.to_array` turns a table into a float matrix, each categorical
column holding the codes ``0..K-1`` of its labels in sorted order, and
:meth:`Table.from_array` turns such a matrix (a model's samples) back into a
table of the same columns and kinds, which :func:`write_csv` writes
atomically.  The field separator is detected (comma, semicolon, tab or
vertical bar) and the output uses the input's.  :func:`identifier_columns`
flags columns with a different value on every row, which ``skscore
generate`` refuses to model.  The types themselves are handled by the estimators (their
``integer_features`` and ``categorical_features`` parameters, see
:mod:`skscore._columns`).  Problems with the input are raised as
:class:`ValueError` with a one-line message that names the column and line.

Missing cells are an error unless asked for (``read_csv(...,
allow_missing=True)``): a table then carries them as NaN in numeric columns
and None in categorical ones, :meth:`Table.to_array` codes both as NaN (what
the estimators' ``impute`` fills) and :meth:`Table.missing` marks them.
:func:`read_csv_source` also returns the text behind the table, so that
:func:`format_filled_csv` can write the file back with only its missing
cells filled, every other cell as it was written.

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
import re
import shlex
from dataclasses import dataclass, field

import numpy as np

from ._io import atomic_write

__all__ = [
    "DELIMITERS",
    "KINDS",
    "MISSING_MARKERS",
    "CsvSource",
    "Table",
    "format_csv",
    "format_filled_csv",
    "identifier_columns",
    "read_csv",
    "read_csv_source",
    "write_csv",
]

KINDS = ("float", "integer", "categorical")

# Cells read as missing values (compared after stripping, case-insensitively).
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "-nan", "null"})

# Integral floats above this magnitude are not exactly integers any more.
_MAX_EXACT_INTEGER = 2.0**53
# Integers are read and written as integers below this magnitude (int64's); beyond 2**53 the text
# says whether a cell is one (nanosecond timestamps), and the values modelled are the nearest floats.
_MAX_INT64 = 2.0**63
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
# Numbers written with leading zeros ("007", "0042") are codes (ZIP, product, ID codes): labels, spelled as written.
_ZERO_PADDED = re.compile(r"[+-]?0[0-9]")

# Field separators that read_csv detects, in order of preference.
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_RECORDS = 50  # records (header included) read to detect the separator

# identifier_columns: fewest rows for "a different value on every row" to mean an identifier.
MIN_IDENTIFIER_ROWS = 10

# A numeric column with at most this many text cells (or 1 % of its cells) is named with them,
# not read as labels: a stray "?" is a typo or a missing value, not a category.
STRAY_CELLS = 5


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
        for 'categorical' columns.  Missing cells (``read_csv(...,
        allow_missing=True)``) are NaN in numeric columns (an 'integer'
        column with missing cells stays float64) and None in categorical
        ones.
    delimiter : str, default=','
        Field separator of the file read (:func:`read_csv` sets it), used by
        :func:`write_csv`.
    """

    names: list
    kinds: list
    columns: list = field(repr=False)
    delimiter: str = ","

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
        self.delimiter = _check_delimiter(self.delimiter) or ","

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
        Missing cells are not labels.
        """
        return {
            name: sorted({str(value) for value in column if not _is_missing(value)})
            for name, kind, column in zip(self.names, self.kinds, self.columns)
            if kind == "categorical"
        }

    def missing(self):
        """Mask of the missing cells: bool ndarray of shape (n_rows, n_columns)."""
        mask = np.zeros((self.n_rows, len(self.names)), dtype=bool)
        for j, (kind, column) in enumerate(zip(self.kinds, self.columns)):
            if kind == "categorical":
                mask[:, j] = [_is_missing(value) for value in column]
            else:
                mask[:, j] = np.isnan(np.asarray(column, dtype=np.float64))
        return mask

    def to_array(self):
        """The table as a float matrix: numbers as they are, labels as codes.

        Returns
        -------
        X : ndarray of shape (n_rows, n_columns)
            float64; each categorical column holds the code ``0..K-1`` of its
            label among the sorted labels of :meth:`categories`.  Missing
            cells are NaN.
        """
        categories = self.categories()
        X = np.empty((self.n_rows, len(self.names)))
        for j, (name, column) in enumerate(zip(self.names, self.columns)):
            if name in categories:
                observed = np.array([not _is_missing(value) for value in column], dtype=bool)
                X[:, j] = np.nan
                X[observed, j] = np.searchsorted(
                    np.array(categories[name], dtype=str), np.asarray(column)[observed].astype(str)
                )
            else:
                X[:, j] = np.asarray(column, dtype=np.float64)
        return X

    def from_array(self, X, *, allow_missing=False):
        """A table with this table's names and kinds from a matrix coded as by :meth:`to_array`.

        Categorical codes become this table's labels, 'integer' columns int64
        and 'float' columns float64.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_columns)
            Finite values; integral in 'integer' columns; codes in
            ``0..K-1`` in categorical ones.
        allow_missing : bool, default=False
            Read NaN as a missing cell (None in a categorical column; an
            'integer' column with a missing cell stays float64) instead of
            raising.  Infinite values are refused either way.

        Returns
        -------
        table : Table
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.names):
            raise ValueError(f"expected a matrix with {len(self.names)} columns, got shape {X.shape}")
        if not np.all(np.isfinite(X) | (allow_missing & np.isnan(X))):
            raise ValueError(f"cannot decode {'' if allow_missing else 'NaN or '}infinite values")
        categories = self.categories()
        columns = []
        for j, (name, kind) in enumerate(zip(self.names, self.kinds)):
            values = X[:, j]
            if kind == "float":
                columns.append(values.copy())
                continue
            missing = np.isnan(values)
            observed = values[~missing]
            n_codes = len(categories[name]) if kind == "categorical" else None
            bad = (observed != np.floor(observed)) | (np.abs(observed) >= _MAX_INT64)
            if n_codes is not None:
                bad |= (observed < 0) | (observed >= n_codes)
            if np.any(bad):
                what = f"codes in 0..{n_codes - 1}" if n_codes is not None else "integers"
                raise ValueError(f"column {name!r} must hold {what}, got {float(observed[bad][0])!r}")
            if kind == "integer":
                columns.append(values.copy() if missing.any() else values.astype(np.int64))
            else:
                labels = np.full(len(values), None, dtype=object)
                labels[~missing] = np.array(categories[name], dtype=object)[observed.astype(np.intp)]
                columns.append(labels)
        return Table(names=list(self.names), kinds=list(self.kinds), columns=columns, delimiter=self.delimiter)


def _is_missing(value):
    """Whether a cell of a categorical column is missing (None or a float NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


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


def _check_delimiter(delimiter):
    if delimiter is None:
        return None
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n' or delimiter.isalnum():
        raise ValueError(
            f"the delimiter must be one character other than a letter, digit, quote or newline, got {delimiter!r}"
        )
    return delimiter


def _sniff_delimiter(text):
    """The separator of ``DELIMITERS`` that splits the first records into the most, equal, fields.

    Each candidate splits the header and the next data records (up to
    ``_SNIFF_RECORDS`` in all, blank lines skipped); a candidate qualifies when
    every one of them has the same number of fields, at least two.  The qualifying candidate
    with the most fields wins, ties going to the earlier one in
    ``DELIMITERS``; the comma when none qualifies (the reader then reports the
    first ragged line).
    """
    best, best_fields = ",", 0
    for candidate in DELIMITERS:
        counts, n_records = set(), 0
        try:
            for fields in csv.reader(io.StringIO(text), delimiter=candidate):
                if not any(cell.strip() for cell in fields):
                    continue
                counts.add(len(fields))
                n_records += 1
                if len(counts) > 1 or n_records >= _SNIFF_RECORDS:
                    break
        except csv.Error:
            continue
        if len(counts) == 1 and (n_fields := counts.pop()) > max(best_fields, 1):
            best, best_fields = candidate, n_fields
    return best


def _read_rows(path, delimiter, empty_rows=False):
    """The separator, the header fields and ``(line, fields)`` of every non-blank data row.

    Also returns the file's bytes and the header's fields as written
    (``header`` is stripped).  With ``empty_rows``, a line of empty fields
    as many as the header's (``,,``) is a data row, not a blank line.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        text = data.decode("utf-8-sig")
    except FileNotFoundError:
        raise ValueError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    sniffed = delimiter is None
    if sniffed:
        delimiter = _sniff_delimiter(text)
    # strict: a quoted field still open at the end of the file is an error (the lenient reader
    # swallows every line after its opening quote into one cell, without a word)
    raw_header, rows = _parse_rows(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True), path, empty_rows)
    header = None if raw_header is None else [cell.strip() for cell in raw_header]
    if sniffed and header is not None and len(header) == 1:
        inside = [sep for sep in DELIMITERS if sep != delimiter and sep in header[0]]
        if inside:
            raise ValueError(
                f"{path}: the header reads as one column named {header[0]!r}; if the fields are separated "
                f"by {inside[0]!r}, pass --delimiter {inside[0]!r} (it was not detected because the lines "
                f"do not all have the same number of fields)"
            )
    return delimiter, header, rows, data, raw_header


def _parse_rows(reader, path, empty_rows=False):
    rows = []
    header = None
    line = 1  # first physical line of the next record
    # with one column an empty line is a row whose cell is empty, kept once a later row shows that it is not
    # one of the blank lines that end the file
    pending = []
    try:
        for fields in reader:
            start, line = line, reader.line_num + 1
            # skip blank lines (and ",,," lines, unless they are rows of empty cells)
            blank = not any(cell.strip() for cell in fields)
            if blank and empty_rows and header is not None and len(header) == 1:
                pending.append((start, [""]))
                continue
            if blank and not (empty_rows and header is not None and len(fields) == len(header) > 1):
                continue
            if header is None:
                header = fields
            else:
                rows.extend(pending)
                pending = []
                rows.append((start, fields))
    except csv.Error as exc:
        if str(exc) == "unexpected end of data":  # the end of the file inside a quoted field
            after = reader.line_num - line
            swallowed = f", swallowing the {after} line{'s' if after != 1 else ''} after it" if after > 0 else ""
            raise ValueError(
                f"{path}, line {line}: unterminated quoted field: a double quote that opens a field there is never "
                f"closed, so the field runs to the end of the file{swallowed}; close the quote, or remove it"
            ) from None
        if "new-line character seen in unquoted field" in str(exc):  # Python's advice is about its own open()
            raise ValueError(
                f"{path}, line {reader.line_num}: a carriage return ends a line outside quotes (old Mac line "
                "endings, or a stray one): convert the file's line endings to \\n or \\r\\n"
            ) from None
        raise ValueError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from None
    return header, rows


def _check_header(header, path):
    for position, name in enumerate(header, start=1):
        if not name:
            raise ValueError(
                f"{path}: column {position} has an empty name in the header: name it (--drop can then leave it "
                "out) or remove it; a DataFrame's index written by to_csv, or a separator that ends every line, "
                "makes such a column"
            )
    seen = set()
    for name in header:
        if name in seen:
            raise ValueError(f"{path}: duplicate column name {name!r} in the header")
        seen.add(name)


def _forced_kinds(header, integer_columns, categorical_columns, drop_columns):
    integer_columns = _as_names(integer_columns, "integer_columns")
    categorical_columns = _as_names(categorical_columns, "categorical_columns")
    drop_columns = _as_names(drop_columns, "drop_columns")
    known = set(header)
    lists = {"--integer": integer_columns, "--categorical": categorical_columns, "--drop": drop_columns}
    for option, names in lists.items():
        unknown = [name for name in names if name not in known]
        if unknown:
            quoted = [name for name in header if "," in name or '"' in name]
            hint = f"; write a name that holds a comma in double quotes: {option} {option_value(quoted[:1])}"
            raise ValueError(
                f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in {option}; "
                f"the header has {', '.join(map(repr, header))}{hint if quoted else ''}"
            )
    for first, second in (("--integer", "--categorical"), ("--integer", "--drop"), ("--categorical", "--drop")):
        both = [name for name in lists[first] if name in set(lists[second])]
        if both:
            raise ValueError(f"column {both[0]!r} is named in both {first} and {second}")
    if drop_columns and set(drop_columns) >= known:
        raise ValueError("--drop names every column; nothing is left to model")
    forced = dict.fromkeys(integer_columns, "integer")
    forced.update(dict.fromkeys(categorical_columns, "categorical"))
    return forced, set(drop_columns)


def _numeric_column(name, cells, lines, kind, missing=None):
    """Parse a numeric column; ``kind`` is 'auto' or 'integer' (forced).

    Returns the float64 values and the detected kind, or None (for 'auto')
    when some cell is not a number.  Cells marked in ``missing`` are NaN and
    do not count for the kind.
    """
    values = np.empty(len(cells))
    for i, text in enumerate(cells):
        if missing is not None and missing[i]:
            values[i] = np.nan
            continue
        value = _parse_number(text)
        if value is None:
            if kind == "auto":
                return None
            raise ValueError(f"column {name!r} is given as integer, but line {lines[i]} holds the text {text!r}")
        if not math.isfinite(value):
            raise ValueError(f"non-finite value {text!r} in column {name!r}, line {lines[i]}; fill or drop it first")
        values[i] = value
    with np.errstate(invalid="ignore"):
        not_integral = values != np.floor(values)
        beyond = np.flatnonzero(np.abs(values) > _MAX_EXACT_INTEGER)
    for i in beyond:  # every float is integral there: the cell's text says whether it was an integer
        not_integral[i] = not (_INTEGER_TEXT.fullmatch(cells[i]) and abs(values[i]) < _MAX_INT64)
    not_integral &= ~np.isnan(values)
    integral = not np.any(not_integral)
    if kind == "integer" and not integral:
        i = int(np.flatnonzero(not_integral)[0])
        raise ValueError(f"column {name!r} is given as integer, but line {lines[i]} holds {cells[i]!r}")
    return values, ("integer" if integral else "float")


def read_csv(
    path,
    *,
    integer_columns=None,
    categorical_columns=None,
    max_categories=50,
    delimiter=None,
    drop_columns=None,
    allow_missing=False,
):
    """Read a delimited text file with a header row into a :class:`Table`.

    Each column's kind is detected unless forced by name: a column whose
    every value parses as a number is numeric, 'integer' when all its values
    are integral (``3``, ``3.0``, ``1e3``; magnitudes up to ``2**53``) and
    'float' otherwise; any other column is 'categorical'.

    Cells are stripped of surrounding spaces.  Lines that are empty (or hold
    only empty fields) are skipped.  A cell that is empty or one of ``NA``,
    ``N/A``, ``NaN``, ``-NaN``, ``null`` (any case) is a missing value, which
    is an error: this layer does not impute.  With ``allow_missing``, such
    cells are kept as missing (NaN in a numeric column, None in a categorical
    one); see that parameter.

    The field separator is detected unless given: of the comma, semicolon,
    tab and vertical bar (:data:`DELIMITERS`), the one that splits the header
    and the first data records (50 records in all) into the same number of
    fields, the most fields winning and ties going to the earlier one in that
    list; the comma when none does.  A file whose header then reads as a
    single column holding one of the other separators is refused (its
    separator is ambiguous), rather than read as one text column.

    Parameters
    ----------
    path : str or path-like
        CSV file, UTF-8 (a byte-order mark is allowed), double-quoted fields
        as written by spreadsheets and :mod:`csv`.
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
    delimiter : str or None, default=None
        Field separator, one character; None detects it.
    drop_columns : list of str, default=None
        Columns left out of the table: their cells are not checked (but each
        row must still have as many fields as the header).
    allow_missing : bool, default=False
        Keep missing cells (in columns of every kind) instead of raising.
        A column's kind is then detected from its other cells.  Still
        refused: a column with no value at all, and a row whose every cell
        (outside the dropped columns) is missing, as there is nothing to
        impute it from.  A line of empty fields as many as the header's
        (``,,``) is such a row here, not a blank line.

    Returns
    -------
    table : Table
        The columns in file order (less the dropped ones): float64 arrays for
        'float' and 'integer' columns, object arrays of str for 'categorical'
        ones; ``table.delimiter`` is the separator read.

    Raises
    ------
    ValueError
        For a missing or unreadable file, fewer than two data rows, an empty
        or duplicated column name, a row with a different number of fields
        than the header, a missing (unless ``allow_missing``) or non-finite
        value, an unknown column
        name in the flags, a forced integer column holding other values, a
        categorical column with more than ``max_categories`` values, or a
        single-column header that holds another separator.
    """
    return read_csv_source(
        path,
        integer_columns=integer_columns,
        categorical_columns=categorical_columns,
        max_categories=max_categories,
        delimiter=delimiter,
        drop_columns=drop_columns,
        allow_missing=allow_missing,
    )[0]


@dataclass
class CsvSource:
    """The text behind a table read by :func:`read_csv_source`.

    Parameters
    ----------
    data : bytes
        The file as read.
    header : list of str
        The header's fields as written (not stripped).
    lines : list of int
        First physical line of each data row (1 is the first line).
    records : list of list of str
        The fields of each data row as written, every column included.
    positions : list of int
        Position in ``header`` of each column of the table.
    newline : str
        The file's line ending, ``'\\r\\n'`` or ``'\\n'``.
    """

    data: bytes = field(repr=False)
    header: list
    lines: list = field(repr=False)
    records: list = field(repr=False)
    positions: list
    newline: str = "\n"


def read_csv_source(
    path,
    *,
    integer_columns=None,
    categorical_columns=None,
    max_categories=50,
    delimiter=None,
    drop_columns=None,
    allow_missing=False,
):
    """:func:`read_csv`, also returning the text behind the table.

    Parameters
    ----------
    path, integer_columns, categorical_columns, max_categories, delimiter, drop_columns, allow_missing
        As for :func:`read_csv`.

    Returns
    -------
    table : Table
        As returned by :func:`read_csv`.
    source : CsvSource
        The file's bytes, its header, lines and fields as written, for
        :func:`format_filled_csv`.
    """
    if isinstance(max_categories, bool) or not isinstance(max_categories, (int, np.integer)) or max_categories < 1:
        raise ValueError(f"max_categories must be a positive integer, got {max_categories!r}")
    delimiter = _check_delimiter(delimiter)
    path = os.fspath(path)
    delimiter, header, rows, data, raw_header = _read_rows(path, delimiter, empty_rows=allow_missing)
    if header is None or not rows:
        raise ValueError(f"{path} has no data rows")
    if len(rows) < 2:
        raise ValueError(f"{path} has a single data row; it needs at least 2 rows")
    _check_header(header, path)
    forced, dropped = _forced_kinds(header, integer_columns, categorical_columns, drop_columns)

    n_columns = len(header)
    kept = [(j, name) for j, name in enumerate(header) if name not in dropped]
    lines = [line for line, _ in rows]
    for line, fields in rows:
        if len(fields) != n_columns:
            raise ValueError(
                f"{path}, line {line}: {len(fields)} field{'s' if len(fields) != 1 else ''}, the header has {n_columns}"
            )
        missing = [fields[j].strip().lower() in MISSING_MARKERS for j, _ in kept]
        if any(missing) and not allow_missing:
            name = kept[missing.index(True)][1]
            raise ValueError(f"missing value in column {name!r}, line {line}; fill or drop it first")
        if all(missing):
            outside = " outside the dropped columns" if dropped else ""
            raise ValueError(
                f"{path}, line {line}: every cell{outside} is missing; there is nothing to impute it from: "
                "remove the row or fill one of its cells"
            )

    kinds, columns = [], []
    for j, name in kept:
        cells = [fields[j].strip() for _, fields in rows]
        missing = [cell.lower() in MISSING_MARKERS for cell in cells]
        if all(missing):
            drop = option_value([name])
            raise ValueError(f"column {name!r} has no value on any row: leave it out with --drop {drop}")
        kind = forced.get(name, "auto")
        padded = kind == "auto" and any(_ZERO_PADDED.match(cell) for cell, gone in zip(cells, missing) if not gone)
        parsed = None if kind == "categorical" or padded else _numeric_column(name, cells, lines, kind, missing)
        if parsed is not None:
            values, kind = parsed
        else:
            values, kind = np.array(cells, dtype=object), "categorical"
            values[np.array(missing, dtype=bool)] = None
            labels = [cell for cell, gone in zip(cells, missing) if not gone]
            n_distinct = len(set(labels))
            if forced.get(name) != "categorical":
                _refuse_stray_text(name, cells, lines, missing, n_distinct > max_categories, allow_missing)
            if n_distinct > max_categories:
                every = " (one per row)" if n_distinct == len(labels) else ""
                raise ValueError(
                    f"column {name!r} has {n_distinct} distinct text values{every}; it looks like an identifier "
                    f"or free text, which cannot be modelled: leave it out with --drop {option_value([name])}, or "
                    f"raise --max-categories (now {max_categories}) if it is a category"
                )
        kinds.append(kind)
        columns.append(values)
    table = Table(names=[name for _, name in kept], kinds=kinds, columns=columns, delimiter=delimiter)
    first_line = data.split(b"\n", 1)[0]
    newline = "\r\n" if b"\n" in data and first_line.endswith(b"\r") else "\n"
    source = CsvSource(
        data=data,
        header=list(raw_header),
        lines=lines,
        records=[fields for _, fields in rows],
        positions=[j for j, _ in kept],
        newline=newline,
    )
    return table, source


def _refuse_stray_text(name, cells, lines, missing, too_many_labels, allow_missing):
    """Refuse a numeric column with a few text cells (a stray ``?``), naming them.

    Read as text, such a column is refused for its many distinct values (or
    as an identifier), or modelled as labels: the synthetic rows would copy
    its fractional numbers, or draw the stray cell itself as a count (a
    ``?`` among the numbers of children): neither is what its author
    meant.  A column of codes with a label or two besides is kept as labels
    with ``--categorical``, which the message suggests.
    """
    observed = [(line, cell) for line, cell, gone in zip(lines, cells, missing) if not gone]
    numbers = [_parse_number(cell) for _, cell in observed]
    text = [(line, cell) for (line, cell), number in zip(observed, numbers) if number is None]
    if not 0 < len(text) <= max(STRAY_CELLS, len(observed) // 100) or 2 * len(text) >= len(observed):
        return
    identifier = len(observed) >= MIN_IDENTIFIER_ROWS and len({cell for _, cell in observed}) == len(observed)
    shown = ", ".join(f"{cell if len(cell) <= 40 else cell[:37] + '...'!r} on line {line}" for line, cell in text[:3])
    shown += f" and {len(text) - 3} more" if len(text) > 3 else ""
    it, its = ("it", "its row") if len(text) == 1 else ("them", "their rows")
    if allow_missing:
        fix = (
            f"correct {it}, or where a cell marks a missing value, write it as an empty cell or NA, which impute "
            "fills"
        )
    else:
        fix = (
            f"correct {it} or remove {its}; a missing value is written as an empty cell or NA, which generate "
            "refuses and skscore impute fills"
        )
    labels = f", or pass --categorical {option_value([name])} to model it as labels"
    if too_many_labels or identifier:
        labels = ""
    raise ValueError(f"column {name!r} holds numbers except {shown}; {fix}{labels}")


def option_value(names):
    """``names`` written as a value of ``--drop`` (``--integer``, ``--categorical``), quoted for the shell.

    One CSV record: a name that holds the separator or a double quote is
    written in double quotes, as the options read it.
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(names)
    return shlex.quote(buffer.getvalue()[:-1])


def identifier_columns(table, exempt=()):
    """Columns that look like row identifiers, with the reason.

    With at least ``MIN_IDENTIFIER_ROWS`` (10) rows, a column looks like an
    identifier when every row holds a different value and the column is
    'integer' or 'categorical': a model would learn nothing from it and copy
    or imitate real identifiers.  'float' columns are not flagged (distinct
    values are normal there).  Missing cells do not count: a column is
    flagged when its observed values, at least ``MIN_IDENTIFIER_ROWS`` of
    them, all differ.

    Parameters
    ----------
    table : Table
    exempt : collection of str, default=()
        Names not to flag (columns whose kind the user gave explicitly).

    Returns
    -------
    flagged : list of (str, str)
        ``(name, reason)`` in column order.
    """
    if table.n_rows < MIN_IDENTIFIER_ROWS:
        return []
    missing = table.missing()
    flagged = []
    for j, (name, kind, column) in enumerate(zip(table.names, table.kinds, table.columns)):
        if kind == "float" or name in exempt:
            continue
        observed = np.asarray(column)[~missing[:, j]]
        values = observed.astype(str) if kind == "categorical" else observed.astype(np.float64)
        if len(values) >= MIN_IDENTIFIER_ROWS and len(np.unique(values)) == len(values):
            what = "integer" if kind == "integer" else "label"
            rows = f"{len(values)} rows" if len(values) == table.n_rows else f"{len(values)} observed rows"
            flagged.append((name, f"a different {what} on each of its {rows}"))
    return flagged


# --------------------------------------------------------------------- write
def _format_cells(table, allow_missing=False):
    formatted = []
    for name, kind, column in zip(table.names, table.kinds, table.columns):
        if kind == "categorical":
            if not allow_missing and any(_is_missing(value) for value in column):
                raise ValueError(f"column {name!r} holds missing values")
            formatted.append(["" if _is_missing(value) else str(value) for value in column])
            continue
        values = np.asarray(column)
        finite = np.isfinite(values.astype(np.float64))
        if not np.all(finite | (allow_missing & np.isnan(values.astype(np.float64)))):
            raise ValueError(f"column {name!r} holds {'infinite' if allow_missing else 'NaN or infinite'} values")
        if kind == "integer":
            formatted.append([str(int(value)) if ok else "" for value, ok in zip(values, finite)])
        else:  # repr: the shortest text that reads back to the same double
            formatted.append([repr(float(value)) if ok else "" for value, ok in zip(values, finite)])
    return formatted


class _CsvWriter:
    """``csv.writer`` whose rows quote every field where a field holds a carriage return.

    With ``lineterminator="\n"`` Python 3.11's writer quotes a field holding
    ``\n`` but not one holding a lone ``\r``, which a reader then takes
    for the end of a line: such a row is written with every field quoted.
    """

    def __init__(self, stream, **options):
        self._plain = csv.writer(stream, **options)
        self._quoted = csv.writer(stream, quoting=csv.QUOTE_ALL, **options)

    def writerow(self, row):
        (self._quoted if any("\r" in str(cell) for cell in row) else self._plain).writerow(row)

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def format_csv(table, delimiter=None, *, allow_missing=False):
    """The text of ``table`` as a CSV file with a header row.

    Floats are written with the shortest text that reads back to the same
    double (``repr``), integers as integers, categories as text (quoted when
    needed); lines end with ``\\n``.

    Parameters
    ----------
    table : Table
    delimiter : str or None, default=None
        Field separator; None uses ``table.delimiter``.
    allow_missing : bool, default=False
        Write missing cells (NaN, or None in a categorical column) as empty
        fields instead of raising.

    Returns
    -------
    text : str
    """
    delimiter = _check_delimiter(delimiter) or table.delimiter
    cells = _format_cells(table, allow_missing)
    text = io.StringIO()
    writer = _CsvWriter(text, delimiter=delimiter, lineterminator="\n")
    writer.writerow(table.names)
    writer.writerows(zip(*cells))
    return text.getvalue()


def format_filled_csv(source, table, filled, *, draw_column=None):
    """The text of the file behind ``source`` with the missing cells of ``table`` filled.

    Each row is written from its fields as read (``source.records``), in
    the input's column order, separator and line ending; only the cells
    missing in ``table`` change, to their value in ``filled`` (written as
    :func:`format_csv` writes values).  Columns read but left out of the
    table (dropped) are copied as they were, missing cells included.

    Parameters
    ----------
    source : CsvSource
        From :func:`read_csv_source`, with ``table``.
    table : Table
        The table read (with missing cells).
    filled : list of Table
        Completed copies of ``table`` (no missing cell), such as
        ``table.from_array(X_imputed)``.
    draw_column : str or None, default=None
        With several tables: the name of a first column numbering them
        ``1..len(filled)``, the tables being stacked one after the other.
        None writes the tables one after the other without it (use it with
        a single table).

    Returns
    -------
    text : str
        The header, then ``len(filled) x table.n_rows`` rows.
    """
    if draw_column is not None and draw_column in [name.strip() for name in source.header]:
        raise ValueError(f"the input already has a column named {draw_column!r}")
    missing = table.missing()
    rows, columns = np.nonzero(missing)
    text = io.StringIO()
    writer = _CsvWriter(text, delimiter=table.delimiter, lineterminator=source.newline)
    writer.writerow(([draw_column] if draw_column is not None else []) + list(source.header))
    for k, completed in enumerate(filled, start=1):
        if completed.names != table.names or completed.n_rows != table.n_rows:
            raise ValueError("each filled table must have the columns and rows of the table read")
        cells = _format_cells(completed)
        records = [list(fields) for fields in source.records]
        for i, c in zip(rows, columns):
            records[i][source.positions[c]] = cells[c][i]
        if draw_column is not None:
            records = [[str(k)] + fields for fields in records]
        writer.writerows(records)
    return text.getvalue()


def write_csv(table, path, *, delimiter=None, overwrite=True):
    """Write ``table`` as a CSV file with a header row, atomically.

    The text (see :func:`format_csv`) goes to a temporary file in the
    destination's directory, which then replaces ``path`` in one step:
    readers see the old file or the complete new one, and on any error the
    temporary file is removed and ``path`` is left as it was.  See
    :func:`skscore._io.atomic_write` for symbolic links, permissions and
    destinations that are not regular files.

    Parameters
    ----------
    table : Table
        The table to write.
    path : str or path-like
        Destination; its directory must exist.  An existing file keeps its
        permission bits; a new file gets the usual permissions of a new file
        (``0o666`` less the umask).
    delimiter : str or None, default=None
        Field separator; None uses ``table.delimiter``.
    overwrite : bool, default=True
        When False, an existing ``path`` raises :class:`FileExistsError`.
    """
    text = format_csv(table, delimiter)  # fail before touching the file system
    atomic_write(path, text, overwrite=overwrite)
