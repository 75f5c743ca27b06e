"""Property-based tests (hypothesis): every estimator and ``skscore generate`` on random tables.

Properties
----------
Estimators (all four, tiny settings), on random arrays and DataFrames:

- every input either raises a *clear error* (:func:`assert_clear_error`: a
  ValueError, or a TypeError from scikit-learn's dtype validation, whose
  message is one readable line, never a numba/numpy internal error) or fits;
- a fitted model samples: right shape, finite values, integer columns
  integral, categorical values among the training levels, bounded columns
  within their bounds; a model fitted on a DataFrame samples a DataFrame with
  the same columns and the documented dtypes (see ``FrameSchema.decode``);
- ``score_samples`` of the training rows, of fresh rows and of its own
  samples returns finite log-densities, one per row; rows holding NaN or
  infinity give finite values or a clear error;
- ``score_function`` gives a finite score of the right shape or a clear error.

The command line, on random small CSV files (mixed and quoted columns,
missing cells, odd delimiters and numbers, BOM, CRLF): ``main(["generate",
...])`` returns 0 and writes a well-formed CSV file with the input's header
and N rows (numbers finite, integers integral, labels from the input), or
returns 2 with exactly one line on stderr; the input file is never modified.

The values of a table come from a numpy generator seeded by hypothesis, its
structure (shape, scales from 1e-100 to 1e100, offsets, NaN pattern, dtypes,
column types) from hypothesis strategies, so a failure shrinks to a small
structure and its reproducer is printed (the data as Python lists).

Budget: ``max_examples`` is fixed per test and ``derandomize=True``, so every
run tries the same examples (see ``EXAMPLES``); all models run with
``n_jobs=1``.  Failing cases are not shrunk unless
``SKSCORE_HYPOTHESIS_SHRINK=1`` is set (see ``PHASES``).
"""

import contextlib
import csv
import functools
import io
import os
import tempfile
import traceback
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skscore import (
    ConvexTwoLayerScore,
    DiffusionRandomFeatures,
    GaussianMixturePriorDiffusion,
    GradientBoostedScore,
    cli,
)
from skscore._tabular import DELIMITERS, _parse_number

# ------------------------------------------------------------------ budget
# Examples per test function (per estimator for the parametrized ones): with
# derandomize=True every run tries the same 4 * 80 + 4 * 50 + 250 = 770 cases.
EXAMPLES = {"arrays": 80, "frames": 50, "cli": 250}
# Shrinking re-fits a model at every step (minutes for one failure), so CI
# reports the failing case as generated; its reproducer is printed in full
# either way.  SKSCORE_HYPOTHESIS_SHRINK=1 shrinks it to a minimal one.
PHASES = (Phase.explicit, Phase.generate) + ((Phase.shrink,) if os.environ.get("SKSCORE_HYPOTHESIS_SHRINK") else ())


def _settings(n):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        phases=PHASES,
        report_multiple_bugs=True,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# ------------------------------------------------------------------ models
ESTIMATORS = {
    "DiffusionRandomFeatures": functools.partial(DiffusionRandomFeatures, n_features=16, n_steps=4),
    "GaussianMixturePriorDiffusion": lambda **kw: GaussianMixturePriorDiffusion(
        n_components=2, predictor=DiffusionRandomFeatures(n_features=8, n_jobs=1), n_steps=4, **kw
    ),
    "ConvexTwoLayerScore": functools.partial(ConvexTwoLayerScore, n_gates=2, n_steps=3, max_iter=50),
    "GradientBoostedScore": functools.partial(
        GradientBoostedScore, n_noise_levels=3, duplicate_K=2, max_iter=2, max_leaf_nodes=4, n_density_samples=20
    ),
}
# The command line's names for the same tiny models (it passes random_state,
# n_jobs and the column types as keywords).
CLI_MODELS = {
    "random-features": ESTIMATORS["DiffusionRandomFeatures"],
    "mixture-prior": ESTIMATORS["GaussianMixturePriorDiffusion"],
    "convex": ESTIMATORS["ConvexTwoLayerScore"],
    "boosted": ESTIMATORS["GradientBoostedScore"],
}


def make_model(name, **types):
    return ESTIMATORS[name](random_state=0, n_jobs=1, **types)


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# ------------------------------------------------------ the error rule
# Exceptions that are internal failures even though some subclass ValueError
# (numpy's LinAlgError does).
INTERNAL_ERRORS = (np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError, IndexError, KeyError)
# Fragments of numpy, scipy, numba and Python messages that reach the user only
# when an internal computation broke.
INTERNAL_MESSAGES = (
    "Traceback",
    'File "',
    "numba",
    "nopython",
    "TypingError",
    "could not be broadcast",
    "operands could not",
    "zero-size array",
    "has no identity",
    "setting an array element",
    "cannot convert float NaN",
    "math domain error",
    "must not contain infs or NaNs",
    "Singular matrix",
    "positive definite",
    "leading minor",
    "out of bounds",
    "ufunc",
    "Cannot cast",
    "cannot reshape",
    "probabilities do not sum",
    "probabilities contain NaN",
    "unsupported operand",
    "object is not",
    "not supported between",
    "unhashable",
    "Buffer dtype mismatch",
    "did not converge",
)
_SKLEARN_VALIDATION = (
    os.path.join("sklearn", "utils", "validation.py"),
    os.path.join("sklearn", "utils", "_param_validation.py"),
)


def _raised_in_sklearn_validation(exc):
    """Raised by scikit-learn's input validation of the skscore estimator's own input.

    Not when the validation ran inside another scikit-learn estimator that a
    model uses internally (its message names that estimator, not the user's).
    """
    frames = traceback.extract_tb(exc.__traceback__)
    sklearn = os.sep + "sklearn" + os.sep
    internal = [
        f.filename
        for f in frames
        if sklearn in f.filename
        and os.sep.join(("sklearn", "utils")) not in f.filename
        and not f.filename.endswith(os.path.join("sklearn", "base.py"))
    ]
    return bool(frames) and frames[-1].filename.endswith(_SKLEARN_VALIDATION) and not internal


def assert_clear_error(exc, where):
    """The one rule for errors: a ValueError (or a TypeError of scikit-learn's dtype
    validation) with a message of one readable line, no internal failure.

    scikit-learn's own input validation keeps its standard messages, whose first
    line is the sentence ("Input X contains NaN.") and which may go on with
    advice on the next lines.
    """
    origin = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    head = "".join(traceback.format_tb(exc.__traceback__)[-3:])
    context = f"{where} raised {origin}\n--- traceback (last frames) ---\n{head}"
    sklearn_validation = _raised_in_sklearn_validation(exc)
    assert not isinstance(exc, INTERNAL_ERRORS), "internal error: " + context
    assert isinstance(exc, ValueError) or (isinstance(exc, TypeError) and sklearn_validation), (
        "not a ValueError: " + context
    )
    message = str(exc).strip()
    first_line = message.splitlines()[0] if message else ""
    assert len(first_line) >= 10 and any(c.isalpha() for c in first_line), "message is not a sentence: " + context
    assert sklearn_validation or "\n" not in message, "message is not one line: " + context
    assert len(first_line) <= 1000, "message is not one readable line: " + context
    bad = [fragment for fragment in INTERNAL_MESSAGES if fragment.lower() in message.lower()]
    assert not bad, f"internal message ({bad[0]!r}): " + context


def _must_succeed(function, where, *args, **kwargs):
    """Call ``function``; any exception is a property failure (with its traceback head)."""
    try:
        with _quiet():
            return function(*args, **kwargs)
    except Exception as exc:
        head = "".join(traceback.format_tb(exc.__traceback__)[-3:])
        raise AssertionError(f"{where} raised {type(exc).__name__}: {exc}\n{head}") from exc


def _may_fail_clearly(function, where, *args, **kwargs):
    """Call ``function``: its result, or None after a clear error."""
    try:
        with _quiet():
            return function(*args, **kwargs)
    except Exception as exc:
        assert_clear_error(exc, where)
        return None


def _check_log_density(log_density, n_rows, where):
    log_density = np.asarray(log_density)
    assert log_density.shape == (n_rows,), f"{where}: shape {log_density.shape}, expected ({n_rows},)"
    assert np.all(np.isfinite(log_density)), (
        f"{where}: non-finite log-density {log_density[~np.isfinite(log_density)][:5]}"
    )


def _score_rows(model, X, where, must_succeed):
    n_rows = len(X)
    if must_succeed:
        log_density = _must_succeed(model.score_samples, where, X)
    else:
        log_density = _may_fail_clearly(model.score_samples, where, X)
        if log_density is None:
            return
    _check_log_density(log_density, n_rows, where)


def _check_score_function(model, X, where):
    score = _may_fail_clearly(model.score_function, where, X)
    if score is not None:
        score = np.asarray(score)
        assert score.shape == (len(X), model.n_features_in_), f"{where}: shape {score.shape}"
        assert np.all(np.isfinite(score)), f"{where}: non-finite score"


# ------------------------------------------------------ typed-column oracle
def _integral(values):
    """'auto' integers: integral values within float64's dequantization range (as the library documents)."""
    from skscore._columns import MAX_INTEGER_MAGNITUDE

    values = values[~np.isnan(values)]
    return (
        values.size > 0
        and bool(np.all(np.isfinite(values) & (values == np.floor(values))))
        and bool(np.max(np.abs(values)) <= MAX_INTEGER_MAGNITUDE)
    )


def _expected_types(values, categorical, integer_features, bounds):
    """What the samples must respect, from the parameters and the training values.

    ``values``: the training data as a float matrix (labels as any numbers);
    ``categorical``: the set of categorical positions (already resolved);
    returns ``(integer positions, {position: (low, high)})``.
    """
    n_features = values.shape[1]
    if integer_features is None:
        integer = set()
    elif isinstance(integer_features, str):  # 'auto'
        integer = {j for j in range(n_features) if j not in categorical and _integral(values[:, j])}
    else:
        integer = set(integer_features)
    limits = {}
    if isinstance(bounds, str):  # 'auto'
        for j in range(n_features):
            column = values[:, j][~np.isnan(values[:, j])]
            if j not in categorical and column.size and column.min() >= 0:
                limits[j] = (0.0, 1.0 if column.max() <= 1 else np.inf)
    elif bounds:
        for j, (low, high) in bounds.items():
            limits[j] = (-np.inf if low is None else low, np.inf if high is None else high)
    return integer, limits


def _check_typed_samples(samples, train, categorical, integer, limits, where):
    """Float samples against float training values, column by column."""
    for j in range(train.shape[1]):
        column = samples[:, j]
        if j in categorical:
            levels = np.unique(train[:, j][~np.isnan(train[:, j])])
            outside = column[~np.isin(column, levels)]
            assert outside.size == 0, f"{where}: column {j} sampled {outside[:3]} not among the levels {levels[:10]}"
        if j in integer:
            assert np.all(column == np.floor(column)), (
                f"{where}: integer column {j} sampled {column[column != np.floor(column)][:3]}"
            )
        if j in limits:
            low, high = limits[j]
            bad = column[(column < low) | (column > high)]
            assert bad.size == 0, f"{where}: column {j} sampled {bad[:3]} outside its bounds ({low}, {high})"


# ================================================================= arrays
COLUMN_KINDS = (
    "normal",
    "positive",
    "unit",
    "integer",
    "codes",
    "constant",
    "ties",
    "zero_inflated",
    "heavy",
    "tiny_spread",
)
OFFSETS = (0.0, 0.0, 1.0, -1.0, 1e6, -1e15, 1e100)


def _column(rng, n, kind, exponent, offset, levels):
    """One column of ``n`` values of ``kind`` at scale ``10**exponent``."""
    scale = 10.0**exponent
    if kind == "normal":
        return offset + scale * rng.standard_normal(n)
    if kind == "positive":
        return scale * rng.lognormal(0.0, 1.0, n)
    if kind == "unit":
        values = rng.beta(2.0, 3.0, n)
        values[rng.random_sample(n) < 0.2] = 0.0
        values[rng.random_sample(n) < 0.1] = 1.0
        return values
    if kind == "integer":
        return np.round(offset) + rng.poisson(3.0, n) * 10.0 ** max(exponent, 0)
    if kind == "codes":
        return rng.randint(0, levels, n).astype(np.float64)
    if kind == "constant":
        return np.full(n, offset + scale)
    if kind == "ties":
        return rng.choice(np.array([-1.0, 0.5, 2.0]) * scale + offset, n)
    if kind == "zero_inflated":
        return np.where(rng.random_sample(n) < 0.4, 0.0, scale * rng.lognormal(0.0, 1.0, n))
    if kind == "heavy":
        return scale * rng.standard_cauchy(n)
    if kind == "tiny_spread":  # spread below the float64 resolution of the offset
        return (1.0 if offset == 0 else offset) * (1.0 + 1e-15 * rng.standard_normal(n))
    raise AssertionError(kind)


def _table(seed, n_rows, specs):
    rng = np.random.RandomState(seed)
    with np.errstate(all="ignore"):
        return np.column_stack([_column(rng, n_rows, *spec) for spec in specs])


def _poke_holes(rng, X, pattern):
    X = X.copy()
    n, d = X.shape
    if pattern == "cells":
        X[rng.random_sample((n, d)) < 0.15] = np.nan
    elif pattern == "column":
        X[:, rng.randint(d)] = np.nan
    elif pattern == "row":
        X[rng.randint(n), :] = np.nan
    elif pattern == "all":
        X[:] = np.nan
    elif pattern == "inf":
        X[rng.randint(n), rng.randint(d)] = rng.choice([np.inf, -np.inf])
    return X


def _as_dtype(X, dtype):
    """``X`` in one of the array forms a user may pass (the values may change: that is the point)."""
    with np.errstate(all="ignore"):
        if dtype == "float64":
            return X
        if dtype in ("float32", "float16"):
            return X.astype(dtype)
        if dtype == "int64":
            if np.all(np.isfinite(X)) and np.all(np.abs(X) < 2.0**62):
                return X.astype(np.int64)
            return X
        if dtype == "bool":
            return X != 0  # NaN becomes True
        if dtype == "object":
            return X.astype(object)
        if dtype == "list":
            return X.tolist()
    raise AssertionError(dtype)


def _as_float(X):
    with np.errstate(all="ignore"):
        return np.asarray(X, dtype=np.float64)


@st.composite
def array_cases(draw):
    n_rows = draw(st.integers(2, 60))
    n_cols = draw(st.integers(1, 5))
    specs = []
    for _ in range(n_cols):
        kind = draw(st.sampled_from(COLUMN_KINDS))
        exponent = draw(st.one_of(st.just(0), st.sampled_from([-100, 100]), st.integers(-100, 100)))
        offset = draw(st.sampled_from(OFFSETS))
        levels = draw(st.one_of(st.integers(1, 4), st.integers(5, 60)))
        specs.append((kind, exponent, offset, levels))
    seed = draw(st.integers(0, 2**31 - 1))
    holes = draw(st.sampled_from(["none"] * 10 + ["cells", "column", "row", "all", "inf"]))
    dtype = draw(st.sampled_from(["float64"] * 4 + ["float32", "float16", "int64", "bool", "object", "list"]))
    X = _poke_holes(np.random.RandomState(seed ^ 1), _table(seed, n_rows, specs), holes)

    code_like = [j for j, spec in enumerate(specs) if spec[0] in ("codes", "integer", "constant", "ties")]
    columns = st.lists(st.integers(0, n_cols - 1), max_size=n_cols, unique=True)
    categorical = draw(
        st.one_of(
            st.none(),
            st.just("auto"),
            st.just(sorted(j for j in code_like if specs[j][0] == "codes")),
            columns,
        )
    )
    integer = draw(
        st.one_of(
            st.none(),
            st.just("auto"),
            st.just(sorted(j for j in code_like if specs[j][0] == "integer")),
            columns,
            columns.map(lambda cols: [j in cols for j in range(n_cols)]),  # boolean mask
        )
    )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        low = np.nanmin(_as_float(_as_dtype(X, dtype)), axis=0) if np.any(~np.isnan(X)) else np.zeros(n_cols)
        high = np.nanmax(_as_float(_as_dtype(X, dtype)), axis=0) if np.any(~np.isnan(X)) else np.ones(n_cols)
    bound_pairs = {
        "below": lambda j: (float(low[j]), None),
        "above": lambda j: (None, float(high[j])),
        "both": lambda j: (float(low[j]), float(high[j])),
        "margin": lambda j: (float(low[j]) - abs(float(low[j])) - 1.0, float(high[j]) + abs(float(high[j])) + 1.0),
        "half": lambda j: (float(low[j]) - 0.5, None),
    }
    bounds = draw(
        st.one_of(
            st.none(),
            st.just("auto"),
            st.dictionaries(st.integers(0, n_cols - 1), st.sampled_from(sorted(bound_pairs)), max_size=n_cols).map(
                lambda d: {j: bound_pairs[how](j) for j, how in d.items()}
            ),
        )
    )
    point_masses = draw(
        st.one_of(
            st.none(),
            st.just("auto"),
            st.dictionaries(st.integers(0, n_cols - 1), st.sampled_from([0.0, 1.0, -1.0]), max_size=2),
        )
    )
    fresh_specs = [(kind, exponent, offset, levels) for kind, exponent, offset, levels in specs]
    fresh = _table(seed + 7, draw(st.integers(1, 8)), fresh_specs)
    shift = draw(st.sampled_from([None, 0.5, -3.0, 1e3]))
    if shift is not None:  # out-of-range values, unseen levels, non-integers
        with np.errstate(all="ignore"):
            fresh[:, draw(st.integers(0, n_cols - 1))] += shift * (1.0 + np.abs(fresh).max())
    return {
        "X": _as_dtype(X, dtype),
        "fresh": _as_dtype(fresh, dtype),
        "n_samples": draw(st.integers(1, 30)),
        "types": _column_types(integer, categorical, bounds, point_masses),
        "specs": specs,
        "holes": holes,
        "dtype": dtype,
    }


def _column_types(integer, categorical, bounds, point_masses):
    """The estimators' column-type parameters of a generated case."""
    return {
        "integer_features": integer,
        "categorical_features": categorical,
        "bounds": bounds,
        "point_masses": point_masses,
    }


def _note_array_case(name, case):
    X = case["X"]
    note(
        f"{name}({case['types']})\n  specs={case['specs']} holes={case['holes']} dtype={case['dtype']}\n"
        f"  X = np.array({np.asarray(X).tolist()!r}, dtype={np.asarray(X).dtype.name!r})\n"
        f"  fresh = {np.asarray(case['fresh']).tolist()!r}\n  n_samples = {case['n_samples']}"
    )


def check_array_case(name, case):
    """The property on one array case (raises AssertionError when it fails)."""
    X, fresh, types = case["X"], case["fresh"], case["types"]
    model = make_model(name, **types)
    if _may_fail_clearly(model.fit, f"{name}.fit", X) is None:
        return
    train = _as_float(X)
    d = train.shape[1]
    categorical = set() if types["categorical_features"] in (None, "auto") else set(types["categorical_features"])
    integer_spec = types["integer_features"]
    if isinstance(integer_spec, list) and integer_spec and isinstance(integer_spec[0], bool):
        integer_spec = [j for j, flag in enumerate(integer_spec) if flag]
    integer, limits = _expected_types(train, categorical, integer_spec, types["bounds"])

    samples = _must_succeed(model.sample, f"{name}.sample", case["n_samples"])
    assert isinstance(samples, np.ndarray), f"sample returned {type(samples).__name__}"
    assert samples.shape == (case["n_samples"], d), f"sample shape {samples.shape}"
    assert np.all(np.isfinite(samples)), f"non-finite samples: {samples[~np.isfinite(samples)][:5]}"
    _check_typed_samples(samples, train, categorical, integer, limits, f"{name}.sample")

    with np.errstate(all="ignore"):
        train_finite, fresh_finite = bool(np.all(np.isfinite(train))), bool(np.all(np.isfinite(_as_float(fresh))))
    _score_rows(model, X, f"{name}.score_samples(training rows)", must_succeed=train_finite)
    _score_rows(model, fresh, f"{name}.score_samples(fresh rows)", must_succeed=fresh_finite)
    _score_rows(model, samples, f"{name}.score_samples(its samples)", must_succeed=True)
    holes = np.asarray(_as_float(fresh), dtype=np.float64).copy()
    holes[0, 0] = np.nan
    _score_rows(model, holes, f"{name}.score_samples(row with NaN)", must_succeed=False)
    _check_score_function(model, samples, f"{name}.score_function")


@pytest.mark.parametrize("name", list(ESTIMATORS))
@_settings(EXAMPLES["arrays"])
@given(case=array_cases())
def test_arrays_fit_or_fail_clearly(name, case):
    _note_array_case(name, case)
    check_array_case(name, case)


# ================================================================= frames
FRAME_KINDS = (
    "float64",
    "float32",
    "scaled",
    "int64",
    "int32",
    "uint8",
    "Int64",
    "bool",
    "boolean",
    "category",
    "category_int",
    "category_unused",
    "object",
    "string",
    "object_mixed",
    "datetime",
    "datetime_tz",
)
LABELS = np.array(["a", "b", "c", "with space", "com,ma", 'quo"te', "é", "", "NA", "1"], dtype=object)


def _frame_column(rng, n, kind, n_levels, exponent, missing):
    levels = LABELS[: max(1, min(n_levels, len(LABELS)))]
    if kind == "float64":
        values = pd.Series(rng.standard_normal(n))
    elif kind == "float32":
        values = pd.Series(rng.standard_normal(n).astype(np.float32))
    elif kind == "scaled":
        with np.errstate(all="ignore"):
            values = pd.Series(10.0**exponent * rng.lognormal(0.0, 1.0, n))
    elif kind == "int64":
        values = pd.Series(rng.poisson(3.0, n).astype(np.int64) - 1)
    elif kind == "int32":
        values = pd.Series(rng.randint(0, max(n_levels, 1), n).astype(np.int32))
    elif kind == "uint8":
        values = pd.Series(rng.randint(0, 256, n).astype(np.uint8))
    elif kind == "Int64":
        values = pd.Series(pd.array(rng.poisson(2.0, n), dtype="Int64"))
    elif kind == "bool":
        values = pd.Series(rng.random_sample(n) < 0.3)
    elif kind == "boolean":
        values = pd.Series(pd.array(rng.random_sample(n) < 0.5, dtype="boolean"))
    elif kind == "category":
        values = pd.Series(pd.Categorical(rng.choice(levels, n)))
    elif kind == "category_int":
        values = pd.Series(pd.Categorical(rng.randint(0, max(n_levels, 1), n)))
    elif kind == "category_unused":
        values = pd.Series(pd.Categorical(rng.choice(levels[:1], n), categories=["zz"] + list(levels)))
    elif kind == "object":
        values = pd.Series(rng.choice(levels, n), dtype=object)
    elif kind == "string":
        values = pd.Series(rng.choice(levels, n), dtype="string")
    elif kind == "object_mixed":
        values = pd.Series([("x" if i % 3 else i % 5) for i in rng.randint(0, 7, n)], dtype=object)
    elif kind == "datetime":
        values = pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.randint(0, max(n_levels, 1), n), unit="D"))
    elif kind == "datetime_tz":
        values = pd.Series(
            pd.date_range("2021-03-01", periods=max(n_levels, 1), freq="h", tz="UTC")[
                rng.randint(0, max(n_levels, 1), n)
            ]
        )
    else:
        raise AssertionError(kind)
    if missing:
        holes = rng.random_sample(n) < 0.2
        if holes.any():
            values = values.copy()
            if kind in ("int64", "int32", "uint8", "bool"):
                values = values.astype(object) if kind == "bool" else values.astype(np.float64)
            values[holes] = None
    return values


def _label_positions(frame):
    return [
        j
        for j, dtype in enumerate(frame.dtypes)
        if isinstance(dtype, pd.CategoricalDtype)
        or not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
    ]


def _bool_positions(frame):
    return [j for j, dtype in enumerate(frame.dtypes) if pd.api.types.is_bool_dtype(dtype)]


@st.composite
def frame_cases(draw):
    n_rows = draw(st.integers(2, 60))
    n_cols = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    kinds = [draw(st.sampled_from(FRAME_KINDS)) for _ in range(n_cols)]
    missing = [draw(st.sampled_from([False] * 7 + [True])) for _ in range(n_cols)]
    n_levels = [draw(st.integers(1, 10)) for _ in range(n_cols)]
    exponents = [draw(st.integers(-100, 100)) for _ in range(n_cols)]
    naming = draw(st.sampled_from(["str"] * 8 + ["int", "mixed", "duplicate"]))
    names = {
        "str": [f"c{j}" for j in range(n_cols)],
        "int": list(range(n_cols)),
        "mixed": [f"c{j}" if j % 2 else j for j in range(n_cols)],
        "duplicate": ["c0"] + [f"c{max(j - 1, 0)}" for j in range(1, n_cols)],
    }[naming]
    frame = pd.DataFrame(
        {
            j: _frame_column(rng, n_rows, kind, k, e, m)
            for j, (kind, k, e, m) in enumerate(zip(kinds, n_levels, exponents, missing))
        }
    )
    frame.columns = names

    labels, booleans = _label_positions(frame), _bool_positions(frame)
    numeric_codes = [j for j, kind in enumerate(kinds) if kind in ("int32", "int64", "uint8")]
    by_name = draw(st.booleans()) and naming == "str"
    spell = (lambda js: [names[j] for j in js]) if by_name else (lambda js: list(js))
    categorical = draw(
        st.one_of(
            st.none(),
            st.just("auto"),
            st.just(spell(labels + booleans)),
            st.just(spell(sorted(set(labels) | set(numeric_codes[:1])))),
        )
    )
    int_like = [j for j, kind in enumerate(kinds) if kind in ("int64", "int32", "uint8", "Int64")]
    integer = draw(st.one_of(st.none(), st.just("auto"), st.just(spell([j for j in int_like if j not in labels]))))
    bounds = draw(st.sampled_from([None, "auto"]))
    point_masses = draw(st.sampled_from([None, "auto"]))

    fresh = frame.iloc[rng.randint(0, n_rows, draw(st.integers(1, 8)))].reset_index(drop=True)
    for j, kind in enumerate(kinds):
        if kind in ("float64", "float32", "scaled"):
            fresh.isetitem(
                j, fresh.iloc[:, j] * (1.0 + 0.5 * rng.standard_normal(len(fresh))).astype(fresh.dtypes.iloc[j])
            )
        elif kind in ("object", "string") and draw(st.booleans()):
            column = fresh.iloc[:, j].copy()
            column.iloc[0] = "unseen label"
            fresh.isetitem(j, column)
    return {
        "X": frame,
        "fresh": fresh,
        "n_samples": draw(st.integers(1, 30)),
        "types": _column_types(integer, categorical, bounds, point_masses),
        "kinds": kinds,
        "missing": missing,
    }


def _note_frame_case(name, case):
    frame = case["X"]
    with warnings.catch_warnings():  # to_dict warns that repeated column names collapse
        warnings.simplefilter("ignore", UserWarning)
        data, fresh = frame.to_dict(orient="list"), case["fresh"].to_dict(orient="list")
    note(
        f"{name}({case['types']})\n  kinds={case['kinds']} missing={case['missing']}\n"
        f"  X = pd.DataFrame({data!r}) with dtypes {[str(d) for d in frame.dtypes]}\n"
        f"  columns={list(frame.columns)!r}\n  fresh = {fresh!r}"
    )


def _expected_dtype(dtype, kind):
    """The dtype ``sample`` must give a column (``FrameSchema.decode``, documented in the columns guide)."""
    if isinstance(dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    ):
        return dtype  # label columns
    if pd.api.types.is_bool_dtype(dtype):
        return dtype if kind == "categorical" else np.dtype(np.float64)
    if pd.api.types.is_integer_dtype(dtype):
        return dtype if kind in ("integer", "categorical") else np.dtype(np.float64)
    if pd.api.types.is_float_dtype(dtype):
        return dtype
    return np.dtype(np.float64)


def _numeric_view(column):
    """A training column as floats for the oracle (labels as codes of the training values)."""
    if isinstance(column.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)
    ):
        codes = pd.factorize(column.astype(object), use_na_sentinel=True)[0].astype(np.float64)
        codes[codes < 0] = np.nan
        return codes
    return column.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)


def check_frame_case(name, case):
    frame, fresh, types = case["X"], case["fresh"], case["types"]
    model = make_model(name, **types)
    if _may_fail_clearly(model.fit, f"{name}.fit", frame) is None:
        return
    n_features = frame.shape[1]
    names = list(frame.columns)

    def positions(spec):
        return {names.index(key) if isinstance(key, str) else key for key in spec}

    labels, booleans = _label_positions(frame), _bool_positions(frame)
    spec = types["categorical_features"]
    categorical = set(labels) | set(booleans) if spec == "auto" else set() if spec is None else positions(spec)
    values = np.column_stack([_numeric_view(frame.iloc[:, j]) for j in range(n_features)])
    integer_spec = types["integer_features"]
    integer_spec = integer_spec if integer_spec in (None, "auto") else sorted(positions(integer_spec))
    integer, limits = _expected_types(values, categorical, integer_spec, types["bounds"])
    kinds = [
        "categorical" if j in categorical else "integer" if j in integer else "continuous" for j in range(n_features)
    ]

    n = case["n_samples"]
    samples = _must_succeed(model.sample, f"{name}.sample", n)
    assert isinstance(samples, pd.DataFrame), f"sample returned {type(samples).__name__}, not a DataFrame"
    assert samples.shape == (n, n_features), f"sample shape {samples.shape}"
    assert samples.columns.equals(frame.columns), f"columns {list(samples.columns)} != {names}"
    for j in range(n_features):
        column, train = samples.iloc[:, j], frame.iloc[:, j]
        expected = _expected_dtype(train.dtype, kinds[j])
        assert column.dtype == expected, f"column {names[j]!r}: dtype {column.dtype}, expected {expected} ({kinds[j]})"
        assert not column.isna().any(), f"column {names[j]!r}: missing values in the samples"
        if j in categorical:
            allowed = (
                set(train.dtype.categories) if isinstance(train.dtype, pd.CategoricalDtype) else set(train.dropna())
            )
            outside = [v for v in column if v not in allowed]
            assert not outside, f"column {names[j]!r}: sampled {outside[:3]} not among the training levels"
        elif j not in labels:
            numbers = column.to_numpy(dtype=np.float64)
            assert np.all(np.isfinite(numbers)), f"column {names[j]!r}: non-finite samples"
            if j in integer:
                assert np.all(numbers == np.floor(numbers)), f"column {names[j]!r}: non-integral samples"
            if j in limits:
                low, high = limits[j]
                assert np.all((numbers >= low) & (numbers <= high)), (
                    f"column {names[j]!r}: samples outside ({low}, {high})"
                )

    complete = not frame.isna().any().any()
    _score_rows(model, frame, f"{name}.score_samples(training frame)", must_succeed=complete)
    _score_rows(model, fresh, f"{name}.score_samples(fresh rows)", must_succeed=not fresh.isna().any().any())
    _score_rows(model, samples, f"{name}.score_samples(its samples)", must_succeed=True)


@pytest.mark.parametrize("name", list(ESTIMATORS))
@_settings(EXAMPLES["frames"])
@given(case=frame_cases())
def test_frames_fit_or_fail_clearly(name, case):
    _note_frame_case(name, case)
    check_frame_case(name, case)


# ================================================================= command line
ODD_NUMBERS = (
    "1e200",
    "-1e200",
    "-0",
    "0.0",
    "inf",
    "-inf",
    "nan",
    "1e400",
    "1e-320",
    "+5",
    ".5",
    "5.",
    " 3 ",
    "1_000",
    "0x1A",
    "1,5",
)
TEXT_VALUES = (
    "red",
    "green",
    "blue",
    "with space",
    "com,ma",
    'quo"te',
    "line\nbreak",
    "=1+1",
    " padded ",
    "é",
    "01",
    "TRUE",
    "null",
    "N/A",
)
HEADER_NAMES = ("a", "b", "x y", " padded ", 'quo"te', "com,ma", "é", "1", "", "a")


def _cli_cell(rng, kind, exponent, offset):
    if kind == "float":
        value = offset + 10.0**exponent * rng.standard_normal()
        return rng.choice(["{!r}", "{:.3g}", "{:.17g}", "{:e}"]).format(value)
    if kind == "integer":
        return str(int(rng.poisson(3.0)) - (1 if offset < 0 else 0))
    if kind == "text":
        return str(rng.choice(TEXT_VALUES[:6]))
    if kind == "codes":
        return f"{rng.randint(0, 4):02d}"
    if kind == "odd":
        return str(rng.choice(ODD_NUMBERS)) if rng.random_sample() < 0.3 else repr(float(rng.standard_normal()))
    if kind == "quoted":
        return str(rng.choice(TEXT_VALUES))
    if kind == "constant":
        return "2.5"
    raise AssertionError(kind)


@st.composite
def cli_cases(draw):
    def rarely(k):  # True once in k draws
        return draw(st.sampled_from([False] * (k - 1) + [True]))

    n_cols = draw(st.integers(1, 4))
    n_rows = draw(st.integers(0, 3)) if rarely(10) else draw(st.integers(4, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    kinds = [
        draw(st.sampled_from(["float", "float", "integer", "text", "codes", "odd", "quoted", "constant"]))
        for _ in range(n_cols)
    ]
    exponents = [draw(st.one_of(st.just(0), st.integers(-100, 100))) for _ in range(n_cols)]
    offsets = [draw(st.sampled_from(OFFSETS)) for _ in range(n_cols)]
    header = [draw(st.sampled_from(HEADER_NAMES)) if rarely(4) else f"col{j}" for j in range(n_cols)]
    missing = draw(st.sampled_from([0.0, 0.0, 0.0, 0.05]))
    rows = []
    for _ in range(n_rows):
        row = [_cli_cell(rng, kind, e, o) for kind, e, o in zip(kinds, exponents, offsets)]
        rows.append(["" if rng.random_sample() < missing else cell for cell in row])
    if rows and rarely(10):
        rows[rng.randint(len(rows))].pop()  # a ragged row

    delimiter = draw(st.sampled_from([",", ",", ",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, quoting=quoting, lineterminator=terminator)
    writer.writerow(header)
    writer.writerows(rows)
    body = text.getvalue() + draw(st.sampled_from(["", "", terminator, terminator * 2]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1"]))
    data = body.encode(encoding, errors="replace")

    extra = []
    if rarely(5):
        extra += ["--integer", draw(st.sampled_from(header + ["nope"]))]
    if rarely(5):
        extra += ["--categorical", draw(st.sampled_from(header + ["nope"]))]
    if rarely(8):
        extra += ["--max-categories", str(draw(st.sampled_from([0, 1, 3])))]
    return {
        "data": data,
        "n": draw(st.sampled_from([0, -1])) if rarely(20) else draw(st.integers(1, 25)),
        "model": draw(st.sampled_from(sorted(CLI_MODELS))),
        "extra": extra,
        "output_is_input": rarely(20),
        "kinds": kinds,
    }




def _read_with(text, delimiter):
    """Header and stripped cells by column of CSV ``text`` read with ``delimiter`` (blank lines skipped)."""
    rows = [
        row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if any(c.strip() for c in row)
    ]
    if not rows:
        return None, None
    header = [cell.strip() for cell in rows[0]]
    if any(len(row) != len(header) for row in rows[1:]):
        return header, None
    return header, [[row[j].strip() for row in rows[1:]] for j in range(len(header))]


def _check_output_table(case, data, output):
    """``output`` (text) is a well-formed CSV file with the input's header and ``n`` rows.

    The command line may read and write any of the usual delimiters; the
    output must parse, with one of them, into the header the input has
    with the same one and rows of that many fields.
    """
    assert output.endswith("\n"), "the output does not end with a newline"
    input_text = data.decode("utf-8-sig")
    readings = []
    for delimiter in DELIMITERS:
        header, columns = _read_with(input_text, delimiter)
        rows = list(csv.reader(io.StringIO(output, newline=""), delimiter=delimiter))
        if header is not None and columns is not None and rows and rows[0] == header:
            readings.append((delimiter, header, columns, rows))
    assert readings, f"the output header {output.splitlines()[0]!r} is not the input's with any delimiter"
    # the reading with the most columns first; the property holds when one reading passes
    readings.sort(key=lambda reading: -len(reading[1]))
    failures = []
    for reading in readings:
        try:
            _check_output_reading(case, *reading)
            return
        except AssertionError as exc:
            failures.append(exc)
    raise failures[0]


def _check_output_reading(case, delimiter, header, columns, rows):
    n = case["n"]
    assert len(rows) == 1 + n, f"{len(rows) - 1} data rows, expected {n}"
    for row in rows[1:]:
        assert len(row) == len(header), f"an output row with {len(row)} fields, the header has {len(header)}: {row!r}"
    extra = case["extra"]
    forced_categorical = {extra[extra.index("--categorical") + 1]} if "--categorical" in extra else set()
    for j, name in enumerate(header):
        cells, inputs = [row[j] for row in rows[1:]], columns[j]
        numbers = [_parse_number(cell) for cell in inputs]
        if name in forced_categorical or any(v is None for v in numbers):
            outside = sorted(set(cells) - set(inputs))
            assert not outside, f"column {name!r}: labels {outside[:3]} not in the input"
            continue
        values = np.array([np.nan if v is None else v for v in map(_parse_number, cells)])
        assert np.all(np.isfinite(values)), f"column {name!r}: non-numeric or non-finite output {cells[:3]}"
        observed = np.array(numbers, dtype=np.float64)
        if np.all(observed == np.floor(observed)) and np.all(np.abs(observed) <= 2.0**53):
            assert np.all(values == np.floor(values)), f"column {name!r}: non-integral output for integer input"
        if observed.min() >= 0:  # bounds='auto'
            assert values.min() >= 0, f"column {name!r}: negative output for non-negative input"
            if observed.max() <= 1:
                assert values.max() <= 1, f"column {name!r}: output above 1 for input in [0, 1]"


def check_cli_case(case):
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory) / "data.csv"
        data.write_bytes(case["data"])
        out = data if case["output_is_input"] else Path(directory) / "out.csv"
        argv = ["generate", str(data), "-n", str(case["n"]), "-o", str(out), "--model", case["model"]]
        argv += ["--seed", "0", "--n-jobs", "1"] + case["extra"]
        note(f"main({argv!r})\n  data = {case['data']!r}")
        stdout, stderr = io.StringIO(), io.StringIO()
        with (
            mock.patch.dict(cli.MODELS, CLI_MODELS),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            status = _must_succeed(cli.main, "main", argv)
        err_lines = stderr.getvalue().splitlines()
        note(f"  -> status {status}, stderr {stderr.getvalue()!r}")
        assert data.read_bytes() == case["data"], f"the input file was modified (status {status})"
        assert status in (0, 2), f"exit status {status!r}"
        if status == 2:
            assert len(err_lines) == 1, f"{len(err_lines)} lines on stderr: {stderr.getvalue()!r}"
            assert err_lines[0].startswith("skscore: error: "), err_lines[0]
            message = err_lines[0][len("skscore: error: ") :]
            bad = [fragment for fragment in INTERNAL_MESSAGES if fragment.lower() in message.lower()]
            assert not bad and len(message) >= 10, f"internal or empty message: {err_lines[0]!r}"
            assert case["output_is_input"] or not out.exists(), "an output file was written despite the error"
            return
        assert err_lines == [], f"stderr on success: {stderr.getvalue()!r}"
        _check_output_table(case, case["data"], out.read_bytes().decode("utf-8"))


@_settings(EXAMPLES["cli"])
@given(case=cli_cases())
def test_cli_generate_writes_csv_or_fails_in_one_line(case):
    check_cli_case(case)
