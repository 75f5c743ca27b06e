"""Typed tabular columns for every model: integers, categories, bounds and point masses.

Real tables are not continuous clouds: counts are integers, many columns are
categorical, amounts are positive and often exactly zero, shares live in
``[0, 1]``.  :class:`ColumnTypes` is the small fitted map that every skscore
estimator applies before its standardization (see
:class:`skscore.base.BaseDiffusionDensity`), so that the diffusion itself only
ever sees a continuous cloud in ``R^D``:

- a continuous column ``x``, bounded or not, becomes ``t(x)`` with ``t`` the
  identity, with one bound the inverse softplus of the distance to it in
  units of the column's standard deviation (see :class:`_SoftplusMap`),
  with two ``log(x - low) - log(high - x)``; samples are ``t^-1`` of the
  model's values, so they never leave the bounds;
- an integer column is dequantized, ``y = x + u`` with ``u ~ Beta(4, 4)`` on
  fit (uniform points of the cell for its probability), then mapped on
  ``(low, high + 1)`` (one bound: the inverse softplus of :class:`_SoftplusMap`;
  two: like a continuous column) and warped so that the cell of a value
  on 5 % of the rows or more is about as wide as its training share (see
  :class:`_ShareWarp`); samples are the cells the model's values fall in;
  a column whose values lie on a coarser lattice ``origin + step k``
  (three distinct values at least) is dequantized in ``k``;
- a categorical column becomes one coordinate: level ``k`` owns an
  interval of ``(0, 1)`` as wide as its training share (label order), a row
  of level ``k`` is a uniform point of its interval, mapped through the
  standard normal quantile (see :class:`_LevelIntervals`); samples take the
  level of the interval, and ``score_samples`` the model's probability of
  that interval;
- a continuous column with point masses (spikes: values taken by a large
  share of the rows, far more than the values around them, such as exact
  zeros) gets a *state* coordinate, a categorical over ``{continuous,
  atom_1, ...}`` coded like a categorical column (intervals of one
  coordinate, in the order of the states' values), next to its continuous
  coordinate; on the rows of an atom the continuous coordinate is filled with
  a draw from a fixed Gaussian ``q`` (the mean and standard deviation of the
  continuous part), so the joint law stays continuous; samples take the atom
  whenever the state says so.

``transform`` returns, with the model-space rows, the per-row term that turns
the model's density of those rows into the log-probability (or log-density)
of the original row; see :meth:`ColumnTypes.transform` for what it is exactly.

The module also converts pandas DataFrames (:class:`FrameSchema`): columns
of non-numeric or categorical dtype are coded as numbers on input and decoded
to their labels and dtypes on output.  pandas is optional; without it, every
input is an array and categorical columns are given as numeric codes.
"""

import numbers
import sys

import numpy as np
from scipy.special import betaincinv, expit, log_ndtr, logsumexp, ndtri, ndtri_exp
from scipy.stats import qmc

__all__ = [
    "AUTO_POINT_MASS_SHARE",
    "COLUMN_TYPE_PARAMETERS",
    "KINDS",
    "SPIKE_RATIO",
    "ColumnTypes",
    "FrameSchema",
    "check_column_params",
    "frame_schema",
]

KINDS = ("continuous", "integer", "categorical")

# 'auto' point masses (see _spike_values): a candidate is a value of a
# continuous column held by at least AUTO_POINT_MASS_SHARE of the training
# rows; it is an atom only when it is a spike, held by at least SPIKE_RATIO
# times as many rows as any value around it (the SPIKE_NEIGHBOURS nearest
# distinct values on each side, and further out until the window holds as
# many rows as the candidate), or a coarse reading among fine ones when the
# spikes and such readings hold at least COARSE_READINGS_SHARE of the rows.
# A measurement recorded on a grid (lengths to 0.1) repeats its values
# without having atoms: its neighbouring grid points hold similar counts.
# SPIKE_RATIO = 5 is above what a smooth law makes on its grid: a normal bump
# as narrow as half the grid step puts 4.3 times the rows of the next grid
# point on its central one (iris's petal widths, a narrow cluster on a 0.1
# grid, reach 4.1), and above the chance repeats of
# a fine grid in a small table (4 rows on one value, 1 on each around it,
# among 60 rows recorded to 0.01).  Caps, detection limits, defaults and
# zeros are tens of times their neighbours.
AUTO_POINT_MASS_SHARE = 0.05
MAX_AUTO_POINT_MASSES = 5
SPIKE_RATIO = 5
SPIKE_NEIGHBOURS = 3
COARSE_READINGS_SHARE = 0.5

# Quadrature points per row in score_samples (typed columns only; the cost of
# score_samples grows in proportion, the error of each row's probability
# estimate shrinks).  The column types guide reports the measured error.
N_QUADRATURE_POINTS = 64

# exp() overflows beyond this; samples this far out sit on their bound anyway
_MAX_EXP = 700.0


# The Parameters entries of the four column-type parameters, shared by every
# estimator's docstring: BaseDiffusionDensity.__init_subclass__ puts them where
# a docstring has the line "    %(column_type_parameters)s".
COLUMN_TYPE_PARAMETERS = """\
    integer_features : None, 'auto' or list of columns, default=None
        Integer-valued columns (indices, names of a DataFrame's columns, or a
        boolean mask): dequantized with noise in the unit cell on fit and
        floored on output, so samples are integers and ``score_samples`` reports the log
        probability of the integer value (the model's mass on the cell
        ``[x, x + 1)``, estimated at fixed quadrature points; the floor
        ``-1e300`` for a non-integral or out-of-range value).  The cell of
        a value on at least 5 % of the training rows is about as wide as
        its share in the model's coordinate (40 hours a week on 40 % of the
        rows owns 40 % of it; the other integers keep a smooth law's), so
        such a value keeps its share in samples.  A declared
        column must hold integers in fit.  'auto' takes every column not
        categorical whose training values are all integral (numeric codes of
        a categorical column included: declare those categorical), and every
        column recorded on a coarse decimal grid (temperatures to 0.5: at most
        6 decimals, its values filling half of the grid points in their range,
        one of them on 5 % of the rows), an integer in units of the grid step.
        A column whose distinct training values (three or more) lie on a
        coarser lattice, such as multiples of 25, keeps it: samples stay on it
        and other values have probability zero.
    categorical_features : None, 'auto' or list of columns, default=None
        Categorical columns (numeric codes, or labels in a DataFrame): one
        coordinate inside, where each level owns an interval as wide as its
        training share, dequantized uniformly in it and decoded to the level
        of the interval on output; ``score_samples`` reports the log
        probability of the observed level, and those of the levels sum to one
        (the floor ``-1e300`` for a level not seen in fit, a declared but
        unused category included).  'auto' takes the label (categorical,
        object or string dtype) and boolean columns of a DataFrame; label
        columns must be categorical either way.
    bounds : None, 'auto' or dict, default=None
        ``{column: (low, high)}`` with None for an open side: a monotone map
        onto the real line (one bound: an inverse softplus of the distance to
        it in units of the column's standard deviation, logarithmic near the
        bound and linear beyond; two: a logit), its Jacobian in
        ``score_samples``, keeps samples inside.
        Training values outside raise a ValueError, training values on a
        bound become point masses, and values outside at score time get the
        floor ``-1e300``.  'auto' bounds below by 0 every column not
        categorical with no negative training value (and above by 1 when all
        its values lie in [0, 1]).
    point_masses : None, 'auto' or dict, default=None
        ``{column: value or list of values}``: atoms of a continuous column
        (such as exact zeros), modelled as a mixture of the atoms and the
        continuous part, so samples reproduce the spike and its share.
        'auto' takes, in each continuous column, the spikes (at most 5): the
        values held by at least 5 % of the training rows and by at least 5
        times as many rows as any value around them (on each side, the 3
        nearest distinct values, and further out until they hold as many
        rows as the value),
        such as a cap, a detection limit, a default or exact zeros among
        other values; the repeated values of a measurement recorded on a grid
        (lengths to 0.1), whose neighbours hold as many rows, are not atoms.
        See the :ref:`column types <column_types>` guide.
"""

# ------------------------------------------------------------- parameters
def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def _check_feature_list(name, value):
    if value is None or _is_auto(value):
        return
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise ValueError(
            f"{name} must be None, 'auto' or a list of columns (indices, names or a boolean mask), got {value!r}."
        )
    for item in value:
        if not isinstance(item, (numbers.Integral, str, np.bool_, bool)):
            raise ValueError(f"{name} must list column indices, names or booleans, got {item!r}.")


def _check_number(name, key, value):
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if not (ok and np.isfinite(value)):
        raise ValueError(f"{name}[{key!r}] must hold finite numbers, got {value!r}.")


def _check_bounds(value):
    if value is None or _is_auto(value):
        return
    if not isinstance(value, dict):
        raise ValueError(f"bounds must be None, 'auto' or a dict {{column: (low, high)}}, got {value!r}.")
    for key, pair in value.items():
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(f"bounds[{key!r}] must be a pair (low, high), with None for an open side; got {pair!r}.")
        low, high = pair
        for side in (low, high):
            if side is not None:
                _check_number("bounds", key, side)
        if low is None and high is None:
            raise ValueError(f"bounds[{key!r}] is (None, None): leave the column out instead.")
        if low is not None and high is not None and not low < high:
            raise ValueError(f"bounds[{key!r}] must have low < high, got {pair!r}.")


def _check_point_masses(value):
    if value is None or _is_auto(value):
        return
    if not isinstance(value, dict):
        raise ValueError(f"point_masses must be None, 'auto' or a dict {{column: value or values}}, got {value!r}.")
    for key, atoms in value.items():
        for atom in np.atleast_1d(np.asarray(atoms, dtype=object)):
            _check_number("point_masses", key, atom)


def check_column_params(integer_features, categorical_features, bounds, point_masses):
    """Validate the format of the column-type parameters (before seeing data).

    Raises
    ------
    ValueError
        Naming the parameter and the offending entry.
    """
    _check_feature_list("integer_features", integer_features)
    _check_feature_list("categorical_features", categorical_features)
    _check_bounds(bounds)
    _check_point_masses(point_masses)


def check_index_keys(name, keys, labels):
    """Refuse an integer key that a DataFrame's non-string labels make ambiguous.

    Integer keys are column indices, as in scikit-learn; with integer column
    labels (``[1, 2, 3]``) the key 2 would silently mean the column labelled
    3 where the user may mean the one labelled 2.  ``labels``: the training
    DataFrame's column labels when they are not all strings, else None.
    """
    if labels is None:
        return
    for key in keys:
        if isinstance(key, (bool, np.bool_, str)) or not isinstance(key, numbers.Integral):
            continue
        where = [p for p, label in enumerate(labels) if not isinstance(label, str) and label == key]
        if where and where[0] != key:
            meant = f"the column labelled {labels[key]!r}" if 0 <= key < len(labels) else "no column"
            raise ValueError(
                f"{name} refers to column {key!r}, which is ambiguous: integer keys are indices (index {key} is "
                f"{meant}), but the DataFrame also has a column labelled {key!r} (index {where[0]}). Fit on a "
                "DataFrame with string column names (or on an array) to refer to columns unambiguously."
            )


def column_position(name, key, n_features, feature_names):
    """Column position of ``key`` (an index, or a name of ``feature_names``)."""
    if isinstance(key, str):
        if feature_names is None:
            raise ValueError(f"{name} names the column {key!r}, but the data have no column names; use indices.")
        where = np.flatnonzero(np.asarray(feature_names, dtype=object) == key)
        if where.size == 0:
            raise ValueError(f"{name} names the unknown column {key!r}; the columns are {list(feature_names)}.")
        return int(where[0])
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, numbers.Integral) or not 0 <= key < n_features:
        raise ValueError(f"{name} refers to column {key!r}, not an index in [0, {n_features}).")
    return int(key)


def _positions(name, spec, n_features, feature_names):
    """Set of positions of a list spec (indices, names or a boolean mask)."""
    items = list(spec)
    if items and all(isinstance(item, (bool, np.bool_)) for item in items):
        if len(items) != n_features:
            raise ValueError(f"{name} as a boolean mask needs {n_features} entries, got {len(items)}.")
        return {j for j, flag in enumerate(items) if flag}
    return {column_position(name, item, n_features, feature_names) for item in items}


def _column_name(j, feature_names):
    return repr(feature_names[j]) if feature_names is not None else str(j)


# ------------------------------------------------------------- bound maps
class _BoundMap:
    """Monotone map of the open interval ``(low, high)`` onto the real line.

    ``forward`` also returns ``log |dz/dy|``, which ``score_samples`` adds to
    the model's log-density of ``z``.
    """

    def __init__(self, low=-np.inf, high=np.inf):
        self.low, self.high = float(low), float(high)

    @property
    def is_identity(self):
        return self.low == -np.inf and self.high == np.inf

    def inside(self, y):
        return (y > self.low) & (y < self.high)

    def forward(self, y):
        """``z`` and ``log |dz/dy|`` for ``y`` strictly inside the bounds."""
        low, high = self.low, self.high
        with np.errstate(divide="ignore", invalid="ignore"):
            if low == -np.inf and high == np.inf:
                return y.copy(), np.zeros_like(y)
            if high == np.inf:
                z = np.log(y - low)
                return z, -z
            if low == -np.inf:
                z = -np.log(high - y)
                return z, z
            log_below, log_above = np.log(y - low), np.log(high - y)
            return log_below - log_above, np.log(high - low) - log_below - log_above

    def inverse(self, z):
        low, high = self.low, self.high
        if low == -np.inf and high == np.inf:
            return z.copy()
        # within the open interval: a value that rounds onto a bound would be a value the density
        # does not have (exp and expit round to the bound beyond about 37 units)
        inside_low, inside_high = np.nextafter(low, np.inf), np.nextafter(high, -np.inf)
        if high == np.inf:
            return np.maximum(low + np.exp(np.minimum(z, _MAX_EXP)), inside_low)
        if low == -np.inf:
            return np.minimum(high - np.exp(np.minimum(-z, _MAX_EXP)), inside_high)
        return np.clip(low + (high - low) * expit(z), inside_low, inside_high)


def _log_expm1(t):
    """``log(exp(t) - 1)`` for ``t > 0``, without overflow (the inverse of softplus)."""
    with np.errstate(divide="ignore", over="ignore"):
        return np.where(t > 30.0, t + np.log1p(-np.exp(-np.minimum(t, 700.0))), np.log(np.expm1(np.minimum(t, 30.0))))


class _SoftplusMap(_BoundMap):
    """The map of a column with one bound: inverse softplus, in units of ``scale``.

    ``z = log(exp(d) - 1)`` with ``d`` the distance to the bound in units of
    ``scale``: logarithmic within the first units, where it opens the bound
    onto the real line, and linear beyond (``z ~ d``).  A dequantized
    integer column measures in its cells (scale 1), so the cells keep their
    unit width where the counts are; a continuous column in its standard
    deviation, so the map bends only where the model's smoothing would
    cross the bound and leaves the column's bulk and its tail as they are.
    The logarithm of :class:`_BoundMap` would compress a count from 1 to
    1,000 into 7 units and stretch the cell of 0 over a half-line, and
    squeeze a skewed amount's tail so that the model's errors there come
    back exponentiated.  Two bounds keep the logit of :class:`_BoundMap`.
    """

    scale = 1.0  # also for maps pickled before the scale existed

    def __init__(self, low=-np.inf, high=np.inf, scale=1.0):
        super().__init__(low, high)
        self.scale = float(scale)

    def _one_sided(self):
        return (self.low == -np.inf) != (self.high == np.inf)

    def forward(self, y):
        if not self._one_sided():
            return super().forward(y)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = (y - self.low if self.high == np.inf else self.high - y) / self.scale
            z = _log_expm1(d)
            # dz/dy = 1 / (scale (1 - exp(-d)))
            log_jacobian = -np.log(-np.expm1(-d)) - np.log(self.scale)
        return (z if self.high == np.inf else -z), log_jacobian

    def inverse(self, z):
        if not self._one_sided():
            return super().inverse(z)
        if self.high == np.inf:
            return self.low + self.scale * np.logaddexp(0.0, z)
        return self.high - self.scale * np.logaddexp(0.0, -z)


# the name under which models pickled before continuous columns shared the map find it
_CellMap = _SoftplusMap


# ---------------------------------------------------------------- levels
def _standard_normal_log_density(z):
    return -0.5 * z * z - 0.5 * np.log(2 * np.pi)


class _LevelIntervals:
    """The levels of a categorical column (or a point-mass state) as consecutive intervals of one coordinate.

    Level ``k`` owns the interval ``[F_k, F_k + w_k)`` of ``(0, 1)``, with
    ``w_k`` its share of the training rows and ``F_k`` the shares of the
    levels before it (label order); the intervals tile ``(0, 1)``, which the
    standard normal quantile ``z = Phi^-1(y)`` sends onto the real line.  A
    row of level ``k`` is ``y = F_k + w_k u`` with ``u ~ U(0, 1)``, so the
    training ``y`` are exactly uniform and ``z`` exactly standard normal,
    whatever the shares: the model has only the dependence on the other
    columns to learn.  ``decode`` takes the interval ``z`` falls in, and
    the probability of level ``k`` is the model's mass on its interval,
    ``w_k E_u[p(z) / phi(z)]`` (``phi`` the standard normal density): a
    one-dimensional integral, which the stratified quadrature points
    estimate closely at any number of levels, and which sums over the levels
    to the model's whole mass.  The normal quantile keeps the quadrature
    points within about 5 standard deviations (``Phi^-1(1e-6)`` is -4.75),
    where the models' densities are still accurate; a logit map would send
    the points of an end level 7 deviations out.  A level without training
    rows (a category declared by a pandas dtype but unused) has an empty
    interval: probability zero, never sampled.  A single level needs no
    coordinate.
    """

    def __init__(self, shares):
        shares = np.asarray(shares, dtype=np.float64)
        self.shares = shares / shares.sum()
        self.used = self.shares > 0
        # the ends of each interval from below (F_k) and from above (1 - F_k - w_k),
        # each summed from its own side so that both stay accurate near 0 and 1
        self.below = np.concatenate([[0.0], np.cumsum(self.shares)[:-1]])
        self.above = np.concatenate([np.cumsum(self.shares[::-1])[::-1][1:], [0.0]])
        # z at the boundaries between consecutive levels (equal around an empty interval)
        self.edges = _normal_quantile(self.below[1:], self.above[:-1])
        # the level decoded from each interval index: itself when used, else (an
        # infinite z past empty end levels) the nearest used level before it
        index = np.where(self.used, np.arange(len(self.shares)), -1)
        self._decoded = np.maximum.accumulate(index)
        self._decoded[self._decoded < 0] = np.argmax(self.used)

    @property
    def width(self):
        return 1 if np.count_nonzero(self.used) > 1 else 0

    n_uniforms = width

    def encode(self, codes, U):
        """The coordinate for integer ``codes`` (levels with rows), and ``log |dz/dy| - log q``.

        ``U`` (n, 1) holds the uniform offset of each row in its interval.
        """
        n = len(codes)
        if self.width == 0:
            return np.empty((n, 0)), np.zeros(n)
        u = np.clip(U[:, 0], 1e-12, 1.0 - 1e-12)
        w = self.shares[codes]
        z = _normal_quantile(self.below[codes] + w * u, self.above[codes] + w * (1.0 - u))
        # q = 1 / w on the interval, dz/dy = 1 / phi(z)
        return z[:, None], np.log(w) - _standard_normal_log_density(z)

    def decode(self, block):
        if self.width == 0:
            return np.full(block.shape[0], np.argmax(self.used), dtype=np.intp)
        return self._decoded[np.searchsorted(self.edges, block[:, 0], side="right")]


def _normal_quantile(y, one_minus_y):
    """``Phi^-1(y)``, from whichever of ``y`` and ``1 - y`` is the smaller (accurate at both ends)."""
    with np.errstate(divide="ignore"):
        return np.where(y < one_minus_y, ndtri(y), -ndtri(one_minus_y))


# ---------------------------------------------------------------- columns
class _Categorical:
    kind = "categorical"

    def __init__(self, levels, values):
        self.levels = np.asarray(levels, dtype=np.float64)
        values = values[np.isin(values, self.levels)]  # NaN left out
        counts = np.bincount(np.searchsorted(self.levels, values), minlength=len(self.levels))
        self.code = _LevelIntervals(counts)

    @property
    def width(self):
        return self.code.width

    @property
    def n_uniforms(self):
        return self.code.n_uniforms

    @property
    def seen_levels(self):
        """The levels that training rows took (a declared category may have none)."""
        return self.levels[self.code.used]

    def encode(self, x, U):
        missing = np.isnan(x)
        index = np.clip(np.searchsorted(self.levels, x), 0, len(self.levels) - 1)
        # a level without training rows (an unused declared category) is unseen
        known = (self.levels[index] == x) & self.code.used[index]
        block, log_volume = self.code.encode(np.where(known, index, np.argmax(self.code.used)), U)
        log_term = np.where(known, log_volume, -np.inf)
        block[missing] = np.nan
        log_term[missing] = 0.0
        return block, log_term

    def decode(self, block):
        return self.levels[self.code.decode(block)]


# A frequent value of an integer column holds at least this share of the rows
# (the share of an 'auto' point mass): its cell is as wide as its share.
FREQUENT_VALUE_SHARE = AUTO_POINT_MASS_SHARE
# A column whose frequent values span more lattice points than this keeps the
# plain map: the warp's shares take memory in proportion to the span.
MAX_SHARE_WARP_CELLS = 2**16


class _ShareWarp:
    """An integer column's dequantized lattice index ``t = k + u`` sent to the normal quantile of a mixed CDF.

    ``z = Phi^-1(G(t))`` with ``G = (1 - e) F + e Phi(s(t))``: ``F`` the
    CDF of the column's frequent values (each on at least
    ``FREQUENT_VALUE_SHARE`` of the training rows) with their training
    shares, each spread evenly over its cell, and ``s(t)`` the column's
    bound map (``base``, :class:`_SoftplusMap`) standardized by its training
    mean and spread: a smooth law on every cell, with the weight ``e`` of
    the rows on the other values (at least one row's share, so that every
    lattice point keeps a probability).  Like a categorical column's
    intervals (:class:`_LevelIntervals`), a frequent value's cell is about
    as wide as its share: a value on 40 % of the rows (40 hours a week, 12
    years of schooling) owns 40 % of the coordinate instead of one narrow
    cell that the model's smoothing spreads over its neighbours.  The
    other values, each on a few rows (a count's tail), keep the smooth
    law's coordinate, close to the plain map's: a share per value there
    would stretch every value seen once and squeeze the unseen ones
    between, bending a tail value's relation to the other columns (crops'
    pest counts: two held-out rows of 42 and 44 pests lost about 30 nats
    each that way).  A measurement on a decimal grid gets none but for its
    spikes (see :class:`_Integer`).
    """

    def __init__(self, k, frequent, counts, base):
        """``k``: the training rows' lattice indices; ``frequent``, ``counts``: the frequent ones, increasing, and their rows."""
        self.base = base
        s, _ = base.forward(k + 0.5)
        mean, spread = location_scale(s[:, None])
        self.mean, self.spread = float(mean[0]), float(spread[0])
        self.first = float(frequent[0])
        n_cells = int(frequent[-1] - frequent[0]) + 1
        self.weight = max(1.0 - counts.sum() / k.size, 1.0 / (k.size + 1.0))
        counts = np.bincount((frequent - self.first).astype(np.intp), weights=counts, minlength=n_cells)
        cells = _LevelIntervals(counts)  # the cells' shares, and the shares below and above each
        self.shares, self.below, self.above = cells.shares, cells.below, cells.above
        self.edges = self.forward(self.first + np.arange(n_cells + 1.0))[0]  # z at the cells' edges

    def _standard(self, t):
        m, log_jacobian = self.base.forward(t)
        return (m - self.mean) / self.spread, log_jacobian - np.log(self.spread)

    def forward(self, t):
        """``z`` and ``log dz/dt``."""
        s, log_ds = self._standard(t)
        cell = np.floor(t) - self.first
        inside = (cell >= 0) & (cell < self.shares.size)
        i = np.clip(cell, 0, self.shares.size - 1).astype(np.intp)
        share, fraction = np.where(inside, self.shares[i], 0.0), t - np.floor(t)
        below = np.where(cell < 0, 0.0, np.where(inside, self.below[i] + share * fraction, 1.0))
        above = np.where(cell < 0, 1.0, np.where(inside, self.above[i] + share * (1.0 - fraction), 0.0))
        e = self.weight
        # divide: log 0 of an empty side; invalid: the density at a bound itself (t = low: the cells' edges only)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_e, log_rest = np.log(e), np.log1p(-e)
            # log G and log (1 - G), each from its own side: accurate in both tails
            log_y = np.logaddexp(log_rest + np.log(below), log_e + log_ndtr(s))
            log_one_minus_y = np.logaddexp(log_rest + np.log(above), log_e + log_ndtr(-s))
            z = np.where(log_y < log_one_minus_y, ndtri_exp(log_y), -ndtri_exp(log_one_minus_y))
            log_density = np.logaddexp(log_rest + np.log(share), log_e + _standard_normal_log_density(s) + log_ds)
        return z, log_density - _standard_normal_log_density(z)

    def inverse(self, z):
        """A ``t`` in the cell that ``z`` falls in (only its cell is used)."""
        n_cells = self.shares.size
        t = self.first + np.clip(np.searchsorted(self.edges, z, side="right") - 1, 0, n_cells - 1) + 0.5
        beyond = (z < self.edges[0]) | (z >= self.edges[-1])
        if np.any(beyond):
            # only the smooth part is there: e Phi(s) = Phi(z) below, e Phi(-s) = Phi(-z) above
            log_e = np.log(self.weight)
            zb = z[beyond]
            s = np.where(
                zb < self.edges[0],
                ndtri_exp(np.minimum(log_ndtr(zb) - log_e, 0.0)),
                -ndtri_exp(np.minimum(log_ndtr(-zb) - log_e, 0.0)),
            )
            t_beyond = self.base.inverse(self.mean + self.spread * s)
            t[beyond] = np.where(
                zb < self.edges[0], np.minimum(t_beyond, self.first - 0.5), np.maximum(t_beyond, self.first + n_cells + 0.5)
            )
        return t


class _Integer:
    """An integer column: the values ``origin + step k`` (``step`` 1, ``origin`` 0 for plain integers).

    The model sees the lattice index ``k`` dequantized, ``k + u``, through
    the bound map and, when the training values have frequent ones, the
    share warp (see :class:`_ShareWarp`); ``low`` and ``high`` are the
    bounds of ``k``.  A column whose values all lie on
    a coarser lattice (doses in steps of 25) keeps it (see :func:`_lattice`),
    and so does a measurement on a coarse decimal grid, whose values are
    written with ``decimals`` decimals (see :func:`_grid`).
    """

    kind = "integer"
    step, origin = 1.0, 0.0  # the integers (and what a column pickled before lattices holds)
    decimals = None  # a grid of decimal steps: the decimals its values are written with
    warp = None  # the share warp (none in a column pickled before it, or built without training values)

    def __init__(self, low, high, step=1.0, origin=0.0, decimals=None, values=None):
        self.step, self.origin, self.decimals = float(step), float(origin), decimals
        # the bounds of k are integers; a bound on a decimal grid point is snapped to it as the values are
        # ((1.0 - 0.3) / 0.1 is 6.999999999999999, whose floor would leave 1.0 out of the column)
        with np.errstate(invalid="ignore"):
            self.low = float(np.ceil(self._index(np.float64(low))))
            self.high = float(np.floor(self._index(np.float64(high))))
        # the dequantized value k + u lies in (low, high + 1)
        self.map = _SoftplusMap(self.low, self.high + 1.0)
        # the training values: a frequent value's cell as wide as its share (see _ShareWarp).  On a
        # decimal grid only a spike's (an exact zero among rain readings to 0.1): its other frequent
        # points are the mode of a smooth law recorded coarsely, not values that many rows share (the
        # column types guide)
        if values is not None:
            observed = values[~np.isnan(values)]
            k = self._index(observed)
            cells, counts = np.unique(k, return_counts=True)
            frequent = counts >= max(2.0, FREQUENT_VALUE_SHARE * k.size)
            if decimals is not None:
                frequent &= np.isin(cells, self._index(np.array(sorted(_spike_values(observed)), dtype=np.float64)))
            if frequent.any() and cells[frequent][-1] - cells[frequent][0] < MAX_SHARE_WARP_CELLS:
                self.warp = _ShareWarp(k, cells[frequent], counts[frequent], self.map)

    @property
    def _coordinate(self):
        return self.map if self.warp is None else self.warp

    def _index(self, x):
        """The lattice index of ``x`` (not integral off the lattice)."""
        k = (x - self.origin) / self.step  # exact for x on a lattice of integers
        if self.decimals is not None:
            # decimal steps are inexact in binary: a value on the grid is within rounding of it
            near = np.round(k)
            k = np.where(np.abs(k - near) <= GRID_TOLERANCE, near, k)
        return k

    width = n_uniforms = 1

    def encode(self, x, U):
        # U: the offsets in the unit cell (uniform for quadrature, the
        # training law for fitting: see ColumnTypes.transform)
        u = np.clip(U[:, 0], 1e-12, 1.0 - 1e-12)  # an offset of exactly 0 would sit on a bound
        x = self._index(x)
        ok = (x == np.floor(x)) & (x >= self.low) & (x <= self.high)
        y = np.where(ok, x, max(self.low, min(0.0, self.high))) + u
        z, log_term = self._coordinate.forward(y)
        log_term = np.where(ok, log_term, -np.inf)
        z[~ok] = 0.0
        missing = np.isnan(x)
        z[missing], log_term[missing] = np.nan, 0.0
        return z[:, None], log_term

    def decode(self, block):
        k = np.clip(np.floor(self._coordinate.inverse(block[:, 0])), self.low, self.high)
        if self.step == 1.0 and self.origin == 0.0:
            return k
        x = self.origin + self.step * k
        return x if self.decimals is None else np.round(x, self.decimals)  # 5.1, not 5.1000000000000005


class _Continuous:
    """A continuous column, bounded or not, with point masses or not."""

    kind = "continuous"

    def __init__(self, values, low, high, atoms):
        self.atoms = np.asarray(sorted(set(atoms)), dtype=np.float64)
        values = values[~np.isnan(values)]
        rest = values[~np.isin(values, self.atoms)]
        self.map = _BoundMap(low, high)  # two bounds (a logit), none, or one with no spread (a logarithm)
        if (low == -np.inf) != (high == np.inf) and rest.size > 1 and rest.max() > rest.min():
            # the spread of any magnitude (location_scale: no overflow of squares above 1e154)
            spread = location_scale(rest[:, None])[1][0]
            if np.isfinite(spread) and spread > 0:
                self.map = _SoftplusMap(low, high, scale=spread)
        self.has_continuous = rest.size > 0 or self.atoms.size == 0
        self.state = None
        if self.atoms.size:
            # the state (code 0 the continuous part when present, then the atoms) is
            # one coordinate, like a categorical column's: as many coordinates as
            # states cost the models accuracy on the other columns (the column
            # types guide).  Its intervals go in the order of the states' values
            # (the continuous part at its median), so that the coordinate grows
            # with the value: a floor, the bulk, a cap.
            counts = [np.count_nonzero(values == a) for a in self.atoms]
            keys = list(self.atoms)
            if self.has_continuous:
                counts, keys = [rest.size] + counts, [np.median(rest)] + keys
            self.state_order = np.argsort(keys, kind="stable")  # the state of each interval
            self.state = _LevelIntervals(np.asarray(counts, dtype=np.float64)[self.state_order])
        z, _ = self.map.forward(rest) if rest.size else (np.zeros(1), None)
        # the filler law q of the continuous coordinate on atom rows: the
        # moments of the continuous part, relative to its magnitude (a part at
        # scale 1e-15 or 1e200 gets a filler of its own width)
        mean, spread = location_scale(z[:, None])
        self.fill_mean, self.fill_std = float(mean[0]), float(spread[0])

    @property
    def width(self):
        return (self.state.width if self.state is not None else 0) + self.has_continuous

    @property
    def n_uniforms(self):
        # the state's box, then the filler of the continuous coordinate
        return 0 if self.state is None else self.state.width + self.has_continuous

    def _fill_log_density(self, c):
        r = (c - self.fill_mean) / self.fill_std
        return -0.5 * r * r - np.log(self.fill_std) - 0.5 * np.log(2 * np.pi)

    def encode(self, x, U):
        n = len(x)
        missing = np.isnan(x)
        atom = np.full(n, -1)
        for i, value in enumerate(self.atoms):
            atom[x == value] = i
        inside = self.map.inside(x) & (atom < 0) & self.has_continuous
        c, log_term = self.map.forward(np.where(inside, x, np.nan))
        c, log_term = np.where(inside, c, 0.0), np.where(inside, log_term, -np.inf)
        blocks = []
        if self.state is not None:
            is_atom = atom >= 0
            if self.has_continuous:
                u = np.clip(U[is_atom, -1], 1e-12, 1.0 - 1e-12)
                c[is_atom] = self.fill_mean + self.fill_std * ndtri(u)
                # the model's density includes q(c) on atom rows: divide it out
                log_term[is_atom] = -self._fill_log_density(c[is_atom])
            else:
                log_term[is_atom] = 0.0
            codes = np.where(is_atom, atom + self.has_continuous, 0)
            interval = np.argsort(self.state_order)[codes]
            state, log_volume = self.state.encode(interval, U[:, : self.state.width])
            log_term += log_volume
            blocks.append(state)
        if self.has_continuous:
            blocks.append(c[:, None])
        block = np.hstack(blocks) if blocks else np.empty((n, 0))
        block[missing] = np.nan
        log_term[missing] = 0.0
        return block, log_term

    def decode(self, block):
        n = block.shape[0]
        if self.state is None:
            return self.map.inverse(block[:, 0])
        codes = self.state_order[self.state.decode(block[:, : self.state.width])]
        values = self.map.inverse(block[:, -1]) if self.has_continuous else np.zeros(n)
        atom = codes - self.has_continuous
        is_atom = atom >= 0
        values[is_atom] = self.atoms[atom[is_atom]]
        return values


# ------------------------------------------------------------ the fitted map
class ColumnTypes:
    """Fitted map between typed table columns and continuous model coordinates.

    Parameters
    ----------
    integer_features, categorical_features : None, 'auto' or list of columns
        Columns by index, name or boolean mask; see the estimators.
    bounds : None, 'auto' or dict
        ``{column: (low, high)}``, None for an open side.
    point_masses : None, 'auto' or dict
        ``{column: value or list of values}``.

    Attributes
    ----------
    kinds_ : list of str
        Kind of each input column: 'continuous', 'integer' or 'categorical'.
    bounds_ : list of (float, float)
        ``(low, high)`` of each input column (infinite when open; for a
        categorical column, its smallest and largest level).
    point_masses_ : list of ndarray
        Point masses of each continuous column (empty otherwise).
    categories_ : dict of int to ndarray
        Levels (numeric codes) of each categorical column.
    is_identity_ : bool
        True when every column is continuous, unbounded and without point
        masses: the map is the identity.  A column of a single training
        value is a point mass (no coordinate), so it makes this False.
    n_features_out_ : int
        Number of model-space coordinates.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 2.0, 0.3], [1.0, 0.0, 0.0], [2.0, 1.0, 0.7], [1.0, 0.0, 0.0]])
    >>> types = ColumnTypes(integer_features=[0], categorical_features=[1], bounds={2: (0, 1)}).fit(X)
    >>> types.kinds_
    ['integer', 'categorical', 'continuous']
    >>> Y, log_term = types.transform(X, np.random.RandomState(0))  # dequantized
    >>> Y.shape  # 1 integer + 1 for the 3 levels + (1 state + 1 continuous) for the zeros of column 2
    (4, 4)
    >>> bool(np.allclose(types.inverse_transform(Y), X))
    True
    """

    def __init__(self, integer_features=None, categorical_features=None, bounds=None, point_masses=None):
        self.integer_features = integer_features
        self.categorical_features = categorical_features
        self.bounds = bounds
        self.point_masses = point_masses

    # ------------------------------------------------------------ kinds
    def _categorical_positions(self, X, feature_names, schema):
        n_features = X.shape[1]
        labels = set(schema.labels) if schema is not None else set()
        if self.categorical_features is None:
            chosen = set()
        elif _is_auto(self.categorical_features):
            # the dtype declares them; numeric codes of a plain array do not
            chosen = labels | (set(schema.booleans) if schema is not None else set())
        else:
            chosen = _positions("categorical_features", self.categorical_features, n_features, feature_names)
        undeclared = sorted(labels - chosen)
        if undeclared:
            j = undeclared[0]
            raise ValueError(
                f"column {_column_name(j, feature_names)} holds non-numeric values (dtype {schema.dtypes[j]}); "
                "declare it in categorical_features (or use categorical_features='auto')."
            )
        return chosen

    def _integer_positions(self, X, categorical, feature_names):
        """The integer columns: ``{position: lattice}``, the lattice as :class:`_Integer` takes it."""
        n_features = X.shape[1]
        if self.integer_features is None:
            return {}
        if _is_auto(self.integer_features):
            lattices = {}
            for j in range(n_features):
                if j not in categorical:
                    # integral values, or a measurement on a filled decimal grid
                    lattice = _lattice(X[:, j]) if _integral(X[:, j]) else _grid(X[:, j])
                    if lattice is not None:
                        lattices[j] = lattice
            return lattices
        chosen = _positions("integer_features", self.integer_features, n_features, feature_names)
        both = sorted(chosen & categorical)
        if both:
            raise ValueError(f"column {_column_name(both[0], feature_names)} is declared both integer and categorical.")
        for j in sorted(chosen):
            if not _integral(X[:, j]):
                raise ValueError(
                    f"column {_column_name(j, feature_names)} is declared integer but holds non-integral values, "
                    "or values beyond 2**40 in magnitude, where float64 cannot dequantize them."
                )
        return {j: _lattice(X[:, j]) for j in chosen}

    def _column_bounds(self, X, kinds, feature_names):
        n_features = X.shape[1]
        bounds = [(-np.inf, np.inf)] * n_features
        if self.bounds is None:
            return bounds
        if _is_auto(self.bounds):
            for j in range(n_features):
                values = X[:, j][~np.isnan(X[:, j])]
                if kinds[j] != "categorical" and values.size and values.min() >= 0.0:
                    bounds[j] = (0.0, 1.0 if values.max() <= 1.0 else np.inf)
            return bounds
        for key, (low, high) in self.bounds.items():
            j = column_position("bounds", key, n_features, feature_names)
            name = _column_name(j, feature_names)
            if kinds[j] == "categorical":
                raise ValueError(f"column {name} is categorical: it takes no bounds.")
            low = -np.inf if low is None else float(low)
            high = np.inf if high is None else float(high)
            values = X[:, j][~np.isnan(X[:, j])]
            if values.size and (values.min() < low or values.max() > high):
                raise ValueError(
                    f"column {name} has training values in [{values.min():g}, {values.max():g}], "
                    f"outside its bounds ({low:g}, {high:g})."
                )
            bounds[j] = (low, high)
        return bounds

    def _column_point_masses(self, X, kinds, bounds, feature_names):
        n_features = X.shape[1]
        atoms = [set() for _ in range(n_features)]
        if _is_auto(self.point_masses):
            for j in range(n_features):
                if kinds[j] == "continuous":
                    atoms[j] |= _spike_values(X[:, j])
        elif self.point_masses is not None:
            for key, values in self.point_masses.items():
                j = column_position("point_masses", key, n_features, feature_names)
                if kinds[j] != "continuous":
                    raise ValueError(
                        f"column {_column_name(j, feature_names)} is {kinds[j]}: its values are point masses already."
                    )
                declared = {float(v) for v in np.atleast_1d(np.asarray(values, dtype=np.float64))}
                self._check_declared_atoms(X[:, j], declared, bounds[j], _column_name(j, feature_names))
                atoms[j] |= declared
        for j, (low, high) in enumerate(bounds):
            # a continuous map of (low, high) cannot reach its ends: values
            # seen on a bound are point masses, whatever their share
            if kinds[j] == "continuous":
                atoms[j] |= {float(v) for v in np.unique(X[:, j]) if v == low or v == high}
        return [np.array(sorted(a), dtype=np.float64) for a in atoms]

    @staticmethod
    def _check_declared_atoms(values, atoms, bounds, name):
        """A declared point mass must lie within the column's bounds and occur in the training values.

        The share of an atom is learned from its training rows: one that never
        occurs would still get mass from the model's smoothing, and one
        outside the bounds would put samples there.
        """
        low, high = bounds
        for atom in sorted(atoms):
            if not (np.isfinite(atom) and low <= atom <= high):
                raise ValueError(f"point mass {atom:g} of column {name} lies outside its bounds ({low:g}, {high:g}).")
            if not np.any(values == atom):
                raise ValueError(
                    f"point mass {atom:g} of column {name} never occurs in the training data: its share "
                    "cannot be learned; leave it out."
                )

    # ------------------------------------------------------------- fit
    def fit(self, X, *, feature_names=None, schema=None, lone_point_masses=True):
        """Learn each column's kind, levels, bounds, point masses and filler law.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Training rows, numeric (categorical labels as codes); NaN marks a
            missing entry and is left out of every statistic.
        feature_names : ndarray of str, default=None
            Column names, to resolve names in the parameters.
        schema : FrameSchema, default=None
            The dtypes of a training DataFrame ('auto' uses them).
        lone_point_masses : bool, default=True
            Whether a continuous column of a single training value becomes a
            lone point mass (no coordinate), as an integer one always does;
            False keeps it a coordinate (the component models of
            GaussianMixturePriorDiffusion, whose whitened coordinates are
            continuous by construction).

        Returns
        -------
        self : ColumnTypes
        """
        check_column_params(self.integer_features, self.categorical_features, self.bounds, self.point_masses)
        labels = schema.index_labels if schema is not None and feature_names is None else None
        for name in ("integer_features", "categorical_features", "bounds", "point_masses"):
            spec = getattr(self, name)
            if spec is not None and not _is_auto(spec):
                check_index_keys(name, spec.keys() if isinstance(spec, dict) else spec, labels)
        X = np.asarray(X, dtype=np.float64)
        n_features = X.shape[1]
        categorical = self._categorical_positions(X, feature_names, schema)
        integer = self._integer_positions(X, categorical, feature_names)
        kinds = [
            "categorical" if j in categorical else "integer" if j in integer else "continuous"
            for j in range(n_features)
        ]
        bounds = self._column_bounds(X, kinds, feature_names)
        atoms = self._column_point_masses(X, kinds, bounds, feature_names)

        self.columns_ = []
        self.categories_ = {}
        for j, kind in enumerate(kinds):
            values = X[:, j]
            if kind == "categorical":
                levels = np.unique(values[~np.isnan(values)])
                if schema is not None and j in schema.labels:
                    # every label of the dtype, used in training or not
                    levels = np.arange(len(schema.labels[j]), dtype=np.float64)
                if levels.size == 0:
                    raise ValueError(f"categorical column {_column_name(j, feature_names)} has no values.")
                self.categories_[j] = levels
                self.columns_.append(_Categorical(levels, values))
                bounds[j] = (float(levels[0]), float(levels[-1]))
            elif (kind == "integer" or lone_point_masses) and np.unique(values[~np.isnan(values)]).size == 1:
                # one value (integer or continuous, typed or not): nothing to learn, and
                # modelled it would come out spread (continuous) or one off (dequantized);
                # a lone point mass (no coordinate) reproduces it exactly
                observed = np.unique(values[~np.isnan(values)])
                if kind == "continuous":
                    atoms[j] = observed
                self.columns_.append(_Continuous(values, -np.inf, np.inf, observed))
            elif kind == "integer":
                self.columns_.append(_Integer(*bounds[j], *integer[j], values=values))
            else:
                self.columns_.append(_Continuous(values, *bounds[j], atoms[j]))
        self.kinds_ = kinds
        self.bounds_ = bounds
        self.point_masses_ = [a if kind == "continuous" else np.empty(0) for a, kind in zip(atoms, kinds)]
        self.is_identity_ = all(
            isinstance(c, _Continuous) and c.map.is_identity and c.state is None for c in self.columns_
        )
        self.n_features_out_ = sum(c.width for c in self.columns_)
        self.n_uniforms_ = sum(c.n_uniforms for c in self.columns_)
        # the uniforms that become integer offsets (drawn from their own law in transform)
        first = np.cumsum([0] + [c.n_uniforms for c in self.columns_])
        self.offset_slots_ = np.array(
            [first[j] for j, c in enumerate(self.columns_) if isinstance(c, _Integer)], dtype=np.intp
        )
        if self.n_uniforms_:
            sobol = qmc.Sobol(self.n_uniforms_, scramble=True, seed=0)
            self.points_ = sobol.random(N_QUADRATURE_POINTS)
        else:
            self.points_ = np.empty((1, 0))
        if self.n_features_out_ == 0:
            raise ValueError("every column takes a single value: there is no distribution to learn.")
        return self

    # ------------------------------------------------------------ maps
    def transform(self, X, random_state):
        """Model-space rows for fitting: dequantization and fillers drawn at random.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Rows in the units of the training data (NaN for missing entries,
            which stay NaN).
        random_state : RandomState instance
            Source of one uniform per dequantized coordinate and row,
            ``random_sample((n_samples, n_uniforms_))``, used column after
            column (nothing is drawn when no column needs it).

        An integer's offset in its unit cell is drawn from
        ``Beta(DEQUANTIZATION_SHAPE, DEQUANTIZATION_SHAPE)``, whose mass sits
        in the middle of the cell: the model's smoothing then moves little of
        a cell's mass across its edges into the neighbouring integers (a
        uniform offset puts as much mass against the edges as in the
        middle).  The law of the offsets only shapes the density the model
        learns within a cell; the probability of an integer is the integral
        of that density over its cell, whatever the law (see
        :meth:`quadrature`, which integrates with uniform points).

        Returns
        -------
        Y : ndarray of shape (n_samples, n_features_out_)
        log_term : ndarray of shape (n_samples,)
            The log-Jacobian terms of the maps at the drawn points (not used
            for likelihoods: :meth:`quadrature` gives those).
        """
        X = np.asarray(X, dtype=np.float64)
        if self.n_uniforms_ == 0:
            return self._encode(X, np.empty((X.shape[0], 0)))
        U = random_state.random_sample((X.shape[0], self.n_uniforms_))
        U[:, self.offset_slots_] = _cell_offsets(U[:, self.offset_slots_])
        return self._encode(X, U)

    def quadrature(self, X):
        """Model-space rows at fixed quadrature points of every row's cell.

        The cell of a row is the set of model-space points that decode to it:
        the unit cell of each integer, the interval of each level and of each
        point-mass state and, on the rows of a point mass, the
        whole line of the filler coordinate.
        Each row is encoded at the same ``N_QUADRATURE_POINTS`` (64)
        scrambled Sobol points (fixed seed: the result is deterministic),
        drawn through the dequantization laws (uniform offsets for the
        integers, whatever the law of their offsets in :meth:`transform`),
        so that the mean of
        ``p(Y) exp(log_term)`` over the points is an unbiased estimate of the
        cell's probability; :meth:`integrate` combines them.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        Y : ndarray of shape (N_QUADRATURE_POINTS * n_samples, n_features_out_)
            Point after point, each block holding every row.
        log_term : ndarray of shape (N_QUADRATURE_POINTS * n_samples,)
            With ``p`` the model's density of ``Y``, ``p(Y) exp(log_term)``
            is the importance-weighted integrand of the row's probability (or
            density on its continuous columns): the log-Jacobian of the bound
            maps, minus the log-density of the dequantization laws (levels,
            the filler on point-mass rows; integer offsets are uniform here).  ``-inf`` for rows the model
            cannot produce (an unseen category, a non-integral or
            out-of-range integer, a value outside the bounds).
        """
        X = np.asarray(X, dtype=np.float64)
        if self.is_identity_:
            return X, np.zeros(X.shape[0])
        n = X.shape[0]
        parts = [self._encode(X, np.broadcast_to(point, (n, self.n_uniforms_))) for point in self.points_]
        return np.vstack([Y for Y, _ in parts]), np.concatenate([term for _, term in parts])

    def cells(self, X):
        """The interval of the model coordinate of each observed categorical entry.

        Returns ``(low, high)``, arrays of shape (n_samples, n_features_out_)
        in the coordinates of :meth:`transform`: the interval of the entry's
        level (its cell) for the coordinate of an observed categorical
        entry, ``(-inf, inf)`` for every other coordinate.
        """
        X = np.asarray(X, dtype=np.float64)
        low = np.full((X.shape[0], self.n_features_out_), -np.inf)
        high = np.full_like(low, np.inf)
        start = 0
        for j, column in enumerate(self.columns_):
            if isinstance(column, _Categorical) and column.width == 1:
                x = X[:, j]
                rows = np.flatnonzero(~np.isnan(x))
                index = np.clip(np.searchsorted(column.levels, x[rows]), 0, len(column.levels) - 1)
                edges = np.concatenate([[-np.inf], column.code.edges, [np.inf]])
                low[rows, start], high[rows, start] = edges[index], edges[index + 1]
            start += column.width
        return low, high

    def check_observed(self, X, *, feature_names=None, schema=None):
        """Raise a ValueError naming the first observed entry the model gives probability zero.

        NaN entries (missing) are skipped.  Refused: a category not seen in
        fit, a non-integral, off-lattice or out-of-range integer, a value outside a
        column's bounds, and on a column that took only point masses in fit
        (a single value, or values on its bounds), any other value.
        """
        X = np.asarray(X, dtype=np.float64)
        for j, column in enumerate(self.columns_):
            x = X[:, j]
            _, log_term = column.encode(x, np.full((len(x), column.n_uniforms), 0.5))
            bad = np.flatnonzero(np.isneginf(log_term) & ~np.isnan(x))
            if bad.size:
                raise ValueError(self._impossible_message(j, x[bad[0]], feature_names, schema))

    def _impossible_message(self, j, value, feature_names, schema):
        name = _column_name(j, feature_names)
        low, high = self.bounds_[j]
        if self.kinds_[j] == "categorical":
            levels = self.columns_[j].seen_levels
            if schema is not None and j in schema.labels:
                labels = [schema.labels[j][int(level)] for level in levels]
                return f"column {name} holds a label not seen in fit; the labels seen are {labels}."
            return f"column {name} holds {value:g}, a level not seen in fit; the levels seen are {levels.tolist()}."
        column = self.columns_[j]
        if isinstance(column, _Continuous) and not column.has_continuous:  # point masses only (a lone value too)
            values = ", ".join(f"{a:g}" for a in column.atoms)
            return f"column {name} took only the value(s) {values} in fit: {value:g} has probability zero."
        if self.kinds_[j] == "integer":
            if column.step != 1.0 or column.origin != 0.0:
                return (
                    f"column {name} is an integer column on the lattice {column.origin:g} + {column.step:g} k "
                    f"in [{low:g}, {high:g}] (all its values in fit): {value:g} is not on it in that range."
                )
            return f"column {name} is an integer column in [{low:g}, {high:g}]: {value:g} is not an integer in that range."
        return f"column {name} holds {value:g}, outside its bounds ({low:g}, {high:g})."

    def integrate(self, log_values):
        """Per-row log cell integral from the log-integrands at the quadrature points.

        ``log(mean_i exp(v_i))``: the quasi-Monte Carlo estimate of the
        log-probability of each row's cell, which converges to the exact
        value of the model as the points grow.
        """
        log_values = np.asarray(log_values, dtype=np.float64).reshape(len(self.points_), -1)
        if len(self.points_) == 1:
            return log_values[0]
        return logsumexp(log_values, axis=0) - np.log(len(self.points_))

    def _encode(self, X, U):
        blocks, log_term, start = [], np.zeros(X.shape[0]), 0
        for j, column in enumerate(self.columns_):
            block, term = column.encode(X[:, j], U[:, start : start + column.n_uniforms])
            start += column.n_uniforms
            blocks.append(block)
            log_term += term
        return np.hstack(blocks), log_term

    def inverse_transform(self, Y):
        """Typed rows (integers floored, levels decoded, atoms restored) for model-space rows.

        Parameters
        ----------
        Y : ndarray of shape (n_samples, n_features_out_)

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        Y = np.asarray(Y, dtype=np.float64)
        if self.is_identity_:
            return Y
        out, start = np.empty((Y.shape[0], len(self.columns_))), 0
        for j, column in enumerate(self.columns_):
            out[:, j] = column.decode(Y[:, start : start + column.width])
            start += column.width
        return out


# Law of an integer's offset in its unit cell when fitting: Beta(a, a).  With
# a = 4 the offsets' density vanishes at the cell's edges (as u^3) and 86 % of
# a cell's mass lies in its central half, so the model's smoothing leaks little
# of it into the neighbouring integers; on the suite's tables with counts and
# spikes the uniform law (a = 1) cost the random-features and mixture models
# up to 0.07 in W1 (the suite guide has the measurement).
DEQUANTIZATION_SHAPE = 4.0


def _cell_offsets(U):
    """Offsets in the unit cell, Beta(a, a), for uniforms ``U``."""
    a = DEQUANTIZATION_SHAPE
    return U if a == 1.0 else betaincinv(a, a, U)


# Dequantization adds a uniform offset in [0, 1) to every integer: float64 resolves
# offsets of 1/4096 of a unit up to 2**40, and none at all from 2**52 on, where every
# float is integral (an 'auto' test would call any large column integer).
MAX_INTEGER_MAGNITUDE = 2.0**40


def _integral(values):
    values = values[~np.isnan(values)]
    return (
        bool(values.size)
        and bool(np.all(np.isfinite(values) & (values == np.floor(values))))
        and bool(np.max(np.abs(values)) <= MAX_INTEGER_MAGNITUDE)
    )


# An integer column whose distinct training values, at least this many, are
# all on a coarser lattice (a dose in steps of 25, an amount in tens) keeps it:
# samples spread over the integers between its values are told from real rows
# at once.  Two values always share a lattice; three on one are evidence.
MIN_LATTICE_VALUES = 3


def _lattice(values):
    """``(step, origin)`` of an integer column's training values: the largest common step from their minimum.

    ``(1.0, 0.0)`` (the integers) unless at least ``MIN_LATTICE_VALUES``
    distinct values are all ``origin + step k`` with ``step`` above 1.
    """
    values = np.unique(values[~np.isnan(values)])
    if values.size < MIN_LATTICE_VALUES or np.max(np.abs(values)) > MAX_INTEGER_MAGNITUDE:
        return 1.0, 0.0
    step = float(_common_step(values.astype(np.int64)))
    return (step, float(values[0])) if step > 1.0 else (1.0, 0.0)


def _common_step(units):
    """The largest step of a lattice through the increasing integers ``units``, from the first."""
    return int(np.gcd.reduce(units - units[0]))


# A measurement recorded on a coarse grid (temperatures to 0.5, lengths to 0.1)
# is discrete: 'auto' integer_features takes a column whose values are all on a
# grid of at most MAX_GRID_DECIMALS decimals when its distinct values (at least
# MIN_LATTICE_VALUES) fill at least GRID_FILL of the grid points between its
# smallest and largest value and one of them holds AUTO_POINT_MASS_SHARE of the
# rows: a classifier tells samples spread between such points from real rows.
# A sparse grid (readings to 0.01 that cluster on integers) or a fine one (a BMI
# to 0.1 over 18 to 42, no value on 2 % of the rows) stays continuous: there the
# grid cost the mixture prior W1 and bought no C2ST (the column types guide).
MAX_GRID_DECIMALS = 6
GRID_FILL = 0.5
GRID_TOLERANCE = 1e-6  # of a step: how far from a grid point binary rounding puts a value on it


def _grid(values):
    """``(step, origin, decimals)`` of a column recorded on a filled decimal grid, or None."""
    values = values[~np.isnan(values)]
    if not np.all(np.isfinite(values)):
        return None
    n_rows = values.size
    values, counts = np.unique(values, return_counts=True)
    if values.size < MIN_LATTICE_VALUES or counts.max() < AUTO_POINT_MASS_SHARE * n_rows:
        return None  # a fine grid: no point holds enough rows to matter
    for decimals in range(1, MAX_GRID_DECIMALS + 1):
        scaled = values * 10.0**decimals
        units = np.round(scaled)
        if np.max(np.abs(units)) > MAX_INTEGER_MAGNITUDE:
            return None
        # every value written with these decimals, up to the rounding of its binary form,
        # and no two values written alike (tiny values all round to 0)
        written = np.abs(scaled - units) <= np.maximum(1e-9, 8.0 * np.spacing(np.abs(scaled)))
        if np.all(written) and np.unique(units).size == values.size:
            units = units.astype(np.int64)
            step = _common_step(units)
            if (units[-1] - units[0]) // step + 1 > values.size / GRID_FILL:
                return None  # a sparse grid
            return step / 10.0**decimals, units[0] / 10.0**decimals, decimals
    return None


# A column whose standard deviation is at most this many ulps of its largest
# absolute value varies by rounding only (see location_scale).
ROUNDING_ULPS = 4


def location_scale(Y):
    """Column means and scales of ``Y`` (NaN left out), for columns of any magnitude.

    Each column is brought to ``[-1, 1]`` by the power of two of its largest
    absolute value before its moments are taken, and back after: exact
    (powers of two), so the squares neither overflow (values above 1e154)
    nor underflow (below 1e-154), and the result is the plain mean and
    standard deviation wherever those are finite.  The scale is the standard
    deviation, but at least ``ROUNDING_ULPS`` ulps of the column's largest
    absolute value: a column that varies by rounding only (values equal up
    to a few ulps, such as ``1e9 + 1e-8`` noise) is scaled by that rounding
    level, relative to its magnitude, never by an absolute cut-off.  A
    column of zeros (or of NaN only) gets the mean 0 and the scale 1.

    Returns
    -------
    mean, scale : ndarray of shape (n_columns,)
    """
    Y = np.asarray(Y, dtype=np.float64)
    with np.errstate(all="ignore"):
        peak = np.nan_to_num(np.fmax.reduce(np.abs(Y), axis=0))  # 0 for a column of NaN
        _, exponent = np.frexp(peak)
        unit = np.ldexp(Y, -exponent)
        mean = np.nanmean(unit, axis=0) if np.isnan(Y).any() else np.mean(unit, axis=0)
        spread = np.nanstd(unit, axis=0) if np.isnan(Y).any() else np.std(unit, axis=0)
        spread = np.fmax(spread, ROUNDING_ULPS * np.spacing(np.ldexp(peak, -exponent)))
    zero = peak == 0
    return np.where(zero, 0.0, np.ldexp(mean, exponent)), np.where(zero, 1.0, np.ldexp(spread, exponent))


def _spike_values(values):
    """The spikes of a continuous column: its 'auto' point masses (at most ``MAX_AUTO_POINT_MASSES``).

    A candidate is a value held by at least ``AUTO_POINT_MASS_SHARE`` of the
    non-missing rows (and by two rows at least).  It is a spike, an atom,
    when its count is at least ``SPIKE_RATIO`` times the largest count among
    the values around it: on each side, the ``SPIKE_NEIGHBOURS`` nearest
    distinct values, and further out until they hold, together, as many rows
    as the candidate (or up to the end of the column).  The smallest and the
    largest value (a floor, a cap, a detection limit) are compared with the
    values inward, an interior value (exact zero among negative and positive
    values included) with those on both sides.  Coarse readings among fine
    ones (below) are spikes too when they and the other spikes hold,
    together, at least ``COARSE_READINGS_SHARE`` of the rows.  The most
    frequent spikes are kept.

    Repeated values are not atoms by themselves: a measurement recorded on a
    grid (lengths to 0.1) holds many values of 5 % and more, but each grid
    point holds about as many rows as the ones next to it.  The window holds
    as many rows as the candidate so that a value read to a coarse precision
    (an integer among readings to 0.01) meets its fellow coarse readings,
    which hold similar counts, rather than only the fine readings between
    them, which hold one row each.  Against the fine readings alone (the
    ``SPIKE_NEIGHBOURS`` nearest values) such a value is a spike; when those
    coarse readings hold most of the rows (diabetes' ``s4``: integers on 83 %
    of its rows), the column is mostly discrete and samples that spread them
    over the line are told from real rows at once, so they are atoms; one
    coarse value of a few per cent in a continuous bulk costs the model a
    coordinate for little (the column types guide has both measurements).
    The window is measured in distinct values and rows, not in units of the
    column, so it needs no grid step or bandwidth.  A consequence: two
    spikes with fewer rows between them than either holds are each other's
    neighbours in the window, and unless they hold half of the rows together
    only one of them is an atom, if it holds ``SPIKE_RATIO`` times the
    other's rows; a value on a bound is an atom anyway (see
    ``_column_point_masses``).
    """
    values = values[~np.isnan(values)]
    if values.size == 0:
        return set()
    unique, counts = np.unique(values, return_counts=True)
    cumulative = np.concatenate([[0], np.cumsum(counts)])  # rows in counts[a:b]: cumulative[b] - cumulative[a]

    def is_spike(i, start, stop):
        around = np.concatenate([counts[start:i], counts[i + 1 : stop]])
        return around.size == 0 or counts[i] >= SPIKE_RATIO * around.max()

    spikes, coarse = [], []
    for i in np.flatnonzero((counts >= AUTO_POINT_MASS_SHARE * values.size) & (counts >= 2)):
        # the nearest values: a coarse reading is a spike among the fine readings next to it
        start, stop = max(i - SPIKE_NEIGHBOURS, 0), min(i + 1 + SPIKE_NEIGHBOURS, unique.size)
        if not is_spike(i, start, stop):
            continue
        # the window that holds counts[i] rows: below, the largest such start; above, the smallest stop
        start = min(start, np.searchsorted(cumulative, cumulative[i] - counts[i], side="right") - 1)
        stop = max(stop, np.searchsorted(cumulative, cumulative[i + 1] + counts[i], side="left"))
        (spikes if is_spike(i, max(start, 0), min(stop, unique.size)) else coarse).append(i)
    if counts[spikes + coarse].sum() >= COARSE_READINGS_SHARE * values.size:
        spikes += coarse
    spikes = sorted(spikes, key=lambda i: -counts[i])[:MAX_AUTO_POINT_MASSES]
    return {float(unique[i]) for i in spikes}


# ------------------------------------------------------------- DataFrames
def _pandas_of(X):
    """The pandas module when ``X`` is a DataFrame (pandas is optional)."""
    pd = sys.modules.get("pandas")
    return pd if pd is not None and isinstance(X, pd.DataFrame) else None


def missing_as_nan(X):
    """``X`` with pandas' missing values (``pd.NA``, ``None``) in a DataFrame's object columns made NaN.

    scikit-learn's validation turns such columns into floats, which ``pd.NA``
    refuses; anything but a DataFrame is returned as it is.
    """
    pd = _pandas_of(X)
    if pd is None:
        return X
    out = None
    for j, dtype in enumerate(X.dtypes):
        if dtype == object:
            column = X.iloc[:, j]
            missing = column.isna().to_numpy()
            if missing.any():
                out = X.copy(deep=False) if out is None else out
                out.isetitem(j, column.where(~missing, np.nan))
    return X if out is None else out


def _holds(dtype, values):
    """Whether the integer ``dtype`` (numpy's or pandas' nullable) holds every one of ``values``."""
    limits = np.iinfo(getattr(dtype, "numpy_dtype", dtype))
    return values.size == 0 or (limits.min <= values.min() and values.max() <= limits.max)


def frame_schema(X):
    """A :class:`FrameSchema` for a DataFrame ``X``, None for anything else."""
    pd = _pandas_of(X)
    return None if pd is None else FrameSchema(X, pd)


def _sorted_labels(values):
    try:
        return sorted(values)
    except TypeError:  # mixed types: a stable order all the same
        return sorted(values, key=lambda v: (type(v).__name__, repr(v)))


class FrameSchema:
    """Columns and dtypes of a training DataFrame.

    Columns of categorical dtype, or of any non-numeric dtype (object, string,
    ...), are *label* columns: they enter the model as the codes
    ``0, 1, ...`` of their labels (the dtype's categories, else the sorted
    distinct values) and leave it as labels of the same dtype.

    Parameters
    ----------
    frame : pandas.DataFrame
        Training data.
    pd : module
        pandas.
    """

    def __init__(self, frame, pd):
        if frame.columns.has_duplicates:
            repeated = sorted({str(name) for name in frame.columns[frame.columns.duplicated()]})
            raise ValueError(f"The DataFrame's column names must be unique; repeated: {', '.join(repeated)}.")
        self.columns = frame.columns
        # labels that scikit-learn does not check (not all strings) and that are not the positions: this class
        # checks them (a frame labelled 0, 1, ... is read by position, as an array is)
        labels = list(frame.columns)
        plain = all(isinstance(name, str) for name in labels) or labels == list(range(len(labels)))
        self.index_labels = None if plain else labels
        self.dtypes = list(frame.dtypes)
        self.labels, self.booleans = {}, []
        for j, dtype in enumerate(self.dtypes):
            column = frame.iloc[:, j]
            if isinstance(dtype, pd.CategoricalDtype):
                self.labels[j] = np.asarray(dtype.categories, dtype=object)
            elif pd.api.types.is_bool_dtype(dtype):
                self.booleans.append(j)
            elif not pd.api.types.is_numeric_dtype(dtype):
                self.labels[j] = np.asarray(_sorted_labels(pd.unique(column.dropna())), dtype=object)

    def encode(self, frame):
        """The frame with its label columns replaced by float codes.

        A label not seen during fit gets the code -1 (a level the model
        gives probability zero); a missing one NaN.  Rows that are not a
        DataFrame raise a ValueError when there are label columns: their
        codes (or labels) could not be checked against the training labels.
        """
        pd = _pandas_of(frame)
        if pd is not None and self.index_labels is not None and frame.shape[1] == len(self.dtypes):
            if list(frame.columns) != self.index_labels:
                raise ValueError(
                    f"The DataFrame's columns {list(frame.columns)} differ from those seen in fit "
                    f"{self.index_labels} (names and order): its values would be read by position."
                )
        if pd is None and self.labels:
            names = [str(self.columns[j]) for j in sorted(self.labels)]
            raise ValueError(
                f"This model was fitted on a DataFrame with label columns {names}: pass a DataFrame with the "
                f"same columns (labels, not codes), got {type(frame).__name__}."
            )
        if pd is None or not self.labels:
            return frame
        if frame.shape[1] != len(self.dtypes):
            return frame  # validate_data reports the mismatch
        out = frame.copy(deep=False)
        for j, labels in self.labels.items():
            column = frame.iloc[:, j]
            codes = pd.Index(labels).get_indexer(column.astype(object)).astype(np.float64)
            codes[column.isna().to_numpy()] = np.nan
            out.isetitem(j, codes)
        return out

    def decode(self, X, kinds):
        """A DataFrame of rows ``X`` with the training columns and dtypes.

        A column gets its training dtype back when its kind guarantees values
        of that dtype: label columns always, integer dtypes for integer and
        categorical columns (int64 where the values leave the dtype's range,
        as a draw beyond the training values of a uint8 column may), bool for
        categorical columns, float dtypes always; other columns come back as
        float64.
        """
        import pandas as pd

        data = {}
        for j, (dtype, kind) in enumerate(zip(self.dtypes, kinds)):
            values = X[:, j]
            if j in self.labels:
                codes = values.astype(np.intp)
                if isinstance(dtype, pd.CategoricalDtype):
                    data[j] = pd.Series(pd.Categorical.from_codes(codes, dtype=dtype))
                else:
                    data[j] = pd.Series(self.labels[j][codes], dtype=dtype)
                continue
            keeps_dtype = (
                kind == "categorical"
                if pd.api.types.is_bool_dtype(dtype)
                else kind != "continuous"
                if pd.api.types.is_integer_dtype(dtype)
                else pd.api.types.is_float_dtype(dtype)
            )
            if keeps_dtype and pd.api.types.is_integer_dtype(dtype) and not _holds(dtype, values):
                dtype = np.int64  # a draw or a given value beyond a narrow dtype (uint8, int8, ...)
            # an explicit dtype: pandas' nullable ones (Int64, boolean) too
            data[j] = pd.Series(values, dtype=dtype if keeps_dtype else np.float64)
        frame = pd.DataFrame(data)
        frame.columns = self.columns
        return frame
