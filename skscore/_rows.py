"""Rows in partitions: an in-memory array or a dask collection, visited one partition at a time.

Fits made of sums over rows (the random-feature model's Gram matrices, the
columns' moments) run the same code on a NumPy array (one partition) and on a
dask array or DataFrame whose partitions need never be in memory together:
each partition's contribution is computed where the partition lives (a dask
worker, or this process) and only the contributions travel.  What a row
contributes depends on the row and its position, never on the partition it
falls in (random draws are keyed by fixed blocks of rows, see
:meth:`skscore._engine.Diffusion.keyed_training_pairs`), so the result does
not depend on how the rows are partitioned, up to the order of the sums.
"""

import sys

import numpy as np

from ._columns import ROUNDING_ULPS

__all__ = ["RowPartitions", "is_dask_collection"]


def is_dask_collection(X):
    """Whether ``X`` is a dask collection (checked without importing dask)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def _dask_workers():
    """Partitions to compute at once: the threads of a dask.distributed client, else one.

    Without a cluster one partition at a time keeps memory at one partition
    and one set of sums; its BLAS calls already use every core.
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return 1
    try:
        client = distributed.get_client()
    except ValueError:  # no client
        return 1
    return max(1, sum(client.nthreads().values()))


def distinct_pairs(n_rows, size, random_state):
    """``size`` random pairs of distinct row indices among ``n_rows`` (at least two): ``(first, second)``."""
    first = random_state.randint(n_rows, size=size)
    second = (first + 1 + random_state.randint(n_rows - 1, size=size)) % n_rows
    return first, second


class RowPartitions:
    """The rows of ``X`` as partitions, each with the position of its first row.

    Parameters
    ----------
    X : ndarray, dask array or dask DataFrame of shape (n_samples, n_features)
        A NumPy array is one partition; a dask collection keeps its row
        partitions (its columns are gathered into one chunk).

    Attributes
    ----------
    feature_names : ndarray of str or None
        Column names of a dask DataFrame whose names are all strings.
    meta : pandas DataFrame or None
        The empty frame of a dask DataFrame's columns and dtypes.
    offsets : ndarray of int
        Position of each partition's first row.
    """

    def __init__(self, X):
        self.feature_names = self.meta = None
        if not is_dask_collection(X):
            X = np.asarray(X, dtype=np.float64)
            self._parts, self.offsets = [X], np.array([0])
            self.n_rows, self.n_columns = X.shape
            return
        import dask

        if hasattr(X, "columns"):  # a dask DataFrame: numeric columns only, by name
            from pandas.api.types import is_complex_dtype, is_extension_array_dtype, is_numeric_dtype

            not_numeric = [c for c, t in X.dtypes.items() if not is_numeric_dtype(t) or is_complex_dtype(t)]
            if not_numeric:
                raise ValueError(
                    f"columns {not_numeric} of the dask DataFrame are not real numbers; a dask fit takes numeric "
                    "columns only (compute() the data to fit label columns in memory)."
                )
            self.meta = X._meta  # an empty pandas DataFrame of the columns' dtypes
            names = np.asarray(X.columns, dtype=object)
            if all(isinstance(c, str) for c in names):
                self.feature_names = names
            # pandas' nullable columns (Int64, Float64) hold pd.NA, which float64 arrays take as NaN
            nullable = {c: np.float64 for c, t in X.dtypes.items() if is_extension_array_dtype(t)}
            X = (X.astype(nullable) if nullable else X).to_dask_array(lengths=True)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-D dask array, got {X.ndim} dimension(s).")
        if X.dtype.kind == "c":
            raise ValueError("Complex data not supported: the dask array holds complex numbers.")
        if any(np.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()
        X = X.rechunk({1: -1})
        sizes = np.asarray(X.chunks[0], dtype=np.int64)
        filled = sizes > 0  # empty partitions contribute nothing
        self._parts = [
            part for part, keep in zip(X.to_delayed().ravel(), filled) if keep
        ]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])[filled]
        self.n_rows, self.n_columns = int(sizes.sum()), int(X.shape[1])
        self._delayed = dask.delayed

    @property
    def n_partitions(self):
        return len(self._parts)

    @property
    def is_dask(self):
        return not isinstance(self._parts[0], np.ndarray)

    def map(self, func, *args):
        """``func(part, offset, *args)`` for every partition, yielded in order.

        Dask partitions are computed in waves of as many as the cluster has
        threads, so that at most one wave of results is held at a time.
        """
        if not self.is_dask:
            yield func(self._parts[0], 0, *args)
            return
        import dask

        wave = _dask_workers()
        task = self._delayed(_float_partition_call, pure=True)
        for start in range(0, len(self._parts), wave):
            stop = min(start + wave, len(self._parts))
            yield from dask.compute(
                *[
                    task(func, self._parts[i], int(self.offsets[i]), *args)
                    for i in range(start, stop)
                ]
            )

    def take(self, index, to_model=None):
        """The rows at the sorted global positions ``index``, mapped by ``to_model`` (None: as they are).

        One pass over the partitions (each one's rows among ``index``).
        """
        return np.vstack(list(self.map(_rows_at, np.asarray(index), to_model)))

    def sum(self, func, *args):
        """The sum over partitions of ``func(part, offset, *args)`` (an array or a tuple of arrays)."""
        total = None
        for result in self.map(func, *args):
            if total is None:
                total = result
            elif isinstance(total, tuple):
                for t, r in zip(total, result):
                    t += r
            else:
                total += result
        return total

    def moments(self):
        """Column location and scale as :func:`skscore._columns.location_scale` gives them, mean and covariance.

        Two passes: the columns' largest absolute values (and a check that
        every entry is finite), then per-partition means and centred
        cross-products of the columns brought to ``[-1, 1]`` by a power of
        two, merged exactly as the pairwise algorithm of Chan, Golub and
        LeVeque does.  Returns ``low, high, shift, scale, mean, covariance``
        (``low`` and ``high`` the columns' extremes; the mean and the
        covariance, with divisor ``n``, those of the columns standardized by
        ``shift`` and ``scale``: finite for columns of any magnitude).
        """
        low, high, non_finite = None, None, False
        for part_low, part_high, part_bad in self.map(_extremes):
            low = part_low if low is None else np.fmin(low, part_low)
            high = part_high if high is None else np.fmax(high, part_high)
            non_finite |= part_bad
        if non_finite:
            raise ValueError("Input X contains NaN or infinity.")
        peak = np.maximum(np.abs(low), np.abs(high))
        _, exponent = np.frexp(peak)
        count, mean, comoment = 0, None, None
        for part_count, part_mean, part_comoment in self.map(
            _centred_moments, exponent
        ):
            if mean is None:
                count, mean, comoment = part_count, part_mean, part_comoment
                continue
            delta = part_mean - mean
            total = count + part_count
            comoment = (
                comoment
                + part_comoment
                + np.outer(delta, delta) * (count * part_count / total)
            )
            mean = mean + delta * (part_count / total)
            count = total
        covariance = comoment / count
        spread = np.fmax(
            np.sqrt(np.diag(covariance)),
            ROUNDING_ULPS * np.spacing(np.ldexp(peak, -exponent)),
        )
        zero = peak == 0
        shift = np.where(zero, 0.0, np.ldexp(mean, exponent))
        scale = np.where(zero, 1.0, np.ldexp(spread, exponent))
        # taken in [-1, 1] units, where nothing overflows; the powers of two cancel exactly
        return low, high, shift, scale, np.zeros_like(mean), covariance / np.outer(spread, spread)


def _float_partition_call(func, part, offset, *args):
    return func(np.asarray(part, dtype=np.float64), offset, *args)


def _rows_at(part, offset, index, to_model):
    """The rows of one partition whose global positions are in the sorted ``index``."""
    start, stop = np.searchsorted(index, [offset, offset + len(part)])
    rows = part[index[start:stop] - offset]
    return rows if to_model is None else to_model(rows)


def _extremes(part, offset):
    with np.errstate(invalid="ignore"):
        return part.min(axis=0), part.max(axis=0), not np.isfinite(part).all()


def _centred_moments(part, offset, exponent):
    unit = np.ldexp(part, -exponent)
    mean = unit.mean(axis=0)
    centred = unit - mean
    return len(part), mean, centred.T @ centred
