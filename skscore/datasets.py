"""Toy distributions with known densities, loaders for scikit-learn's datasets, and a suite of tables.

The Gaussian mixtures here are the known answers of the test suite: their
log-density is exact, and a Gaussian mixture noised by a linear forward process
stays one (``a x + s eps`` has components ``N(a m_j, a^2 S_j + s^2 I)``), so
the exact score is available at every noise level too.

:func:`load_table` loads real or real-looking tables with typed columns
(continuous, integer, categorical), offline and deterministically: the
``SUITE_TABLES`` need only the runtime dependencies (scikit-learn's bundled data
and generated look-alikes of real tables, with counts, zero-inflated and
skewed amounts, values on a grid, top-codes and detection limits), the
``EXTRA_TABLES`` read data bundled with statsmodels (``pip install skscore[bench]``).

The parameters of the generators and laws are checked first: one out of its
range raises a ``ValueError`` that names it.
"""

import numpy as np
from sklearn import datasets as _sk_datasets
from sklearn.utils import check_random_state

from ._checks import check_bool, check_int, check_real
from ._gaussian_mixture import GaussianMixtureLaw

__all__ = [
    "BananaSkewLaw",
    "DATASETS",
    "EXTRA_TABLES",
    "GaussianMixtureLaw",
    "SUITE_TABLES",
    "circle_mixture_2d",
    "correlated_mixture_8d",
    "load_dataset",
    "load_table",
    "make_checkerboard",
    "make_mixed_table",
    "make_moons",
    "make_rings",
    "mixture_2d",
]


def _check_random_state(random_state):
    """:func:`~sklearn.utils.check_random_state`, with an error that names ``random_state``."""
    try:
        return check_random_state(random_state)
    except (TypeError, ValueError):
        raise ValueError(
            f"random_state must be None, an integer in [0, 2**32 - 1] or a RandomState instance, got {random_state!r}."
        ) from None


def mixture_2d():
    """A known 2-D mixture of three Gaussians of different shapes."""
    means = [[-2.0, 0.0], [1.5, 1.5], [1.0, -2.0]]
    covs = [
        [[0.6, 0.3], [0.3, 0.5]],
        [[0.3, -0.1], [-0.1, 0.4]],
        [[0.8, 0.0], [0.0, 0.15]],
    ]
    return GaussianMixtureLaw([0.4, 0.35, 0.25], means, covs)


def correlated_mixture_8d(random_state=0):
    """A known 8-D mixture of four correlated Gaussians.

    Means are drawn at distance ~3 from the origin, and each component has a
    random covariance with eigenvalues between 0.1 and 1.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=0
        Seed of the means and covariances.
    """
    rng = _check_random_state(random_state)
    d, n_components = 8, 4
    means = rng.standard_normal((n_components, d))
    means *= 3.0 / np.linalg.norm(means, axis=1, keepdims=True)
    covs = []
    for _ in range(n_components):
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        covs.append(q @ np.diag(np.linspace(0.1, 1.0, d)) @ q.T)
    return GaussianMixtureLaw(np.full(n_components, 1.0 / n_components), means, np.array(covs))


class BananaSkewLaw:
    """A known 8-D law that is not a Gaussian mixture: curved, skewed and heavy-tailed.

    Independent ``z_1, ..., z_6 ~ N(0, 1)`` and ``t_7, t_8`` Student t with
    ``df`` degrees of freedom (scaled to unit variance) make the coordinates
    ``v`` of a row:

    - two bananas: ``v_1 = z_1``, ``v_2 = z_2 + b (z_1^2 - 1)`` and the same
      for ``(v_3, v_4)`` (a shear: volume preserved);
    - two log-normal skews: ``v_k = (exp(s z_k) - 1) / s`` for ``k = 5, 6``
      (right-skewed, bounded below by ``-1/s``);
    - two heavy tails: ``v_7, v_8``;

    and the row is ``x = Q v`` with ``Q`` a random rotation, so every column
    mixes all of them.  The density is exact by the change of variables
    (the shear and the rotation have unit Jacobian; the skew's is
    ``1 / (1 + s v_k)``).

    Parameters
    ----------
    curvature : float, default=0.6
        ``b``, the bend of the bananas, any finite number.
    skew : float, default=0.7
        ``s``, the log-normal shape of the skewed coordinates, a finite
        number > 0.
    df : float, default=5.0
        Degrees of freedom of the heavy-tailed coordinates, a finite number
        > 2: their scaling to unit variance needs a finite variance.
    random_state : int, RandomState instance or None, default=0
        Seed of the rotation.

    Raises
    ------
    ValueError
        If a parameter is out of its range.

    Examples
    --------
    >>> from skscore.datasets import BananaSkewLaw
    >>> law = BananaSkewLaw()
    >>> X = law.sample(1000, random_state=0)
    >>> X.shape, bool(np.all(np.isfinite(law.logpdf(X))))
    ((1000, 8), True)
    """

    n_features = 8

    def __init__(self, curvature=0.6, skew=0.7, df=5.0, random_state=0):
        self.curvature = check_real("curvature", curvature)
        # s = 0 would divide by 0 (its limit, a Gaussian, is not implemented) and s < 0 skews left
        self.skew = check_real("skew", skew, above=0.0)
        # the t coordinates are scaled to unit variance, finite only for df > 2 (NaN rows otherwise)
        self.df = check_real("df", df, above=2.0)
        q, r = np.linalg.qr(_check_random_state(random_state).standard_normal((8, 8)))
        self.rotation = q * np.sign(np.diag(r))
        self._t_scale = np.sqrt((self.df - 2.0) / self.df)  # unit variance

    def sample(self, n_samples, random_state=None):
        """``n_samples`` rows of the law (an integer >= 0), an ndarray of shape (n_samples, 8)."""
        n_samples = check_int("n_samples", n_samples, 0)
        rng = _check_random_state(random_state)
        z = rng.standard_normal((n_samples, 6))
        t = rng.standard_t(self.df, (n_samples, 2)) * self._t_scale
        b, s = self.curvature, self.skew
        v = np.column_stack(
            [
                z[:, 0],
                z[:, 1] + b * (z[:, 0] ** 2 - 1.0),
                z[:, 2],
                z[:, 3] + b * (z[:, 2] ** 2 - 1.0),
                np.expm1(s * z[:, 4]) / s,
                np.expm1(s * z[:, 5]) / s,
                t,
            ]
        )
        return v @ self.rotation.T

    def logpdf(self, X):
        """Exact log-density at the rows of ``X`` (``-inf`` outside the support).

        ``X`` is an array-like of shape (n_samples, 8), or one row of 8 values.
        """
        from scipy import stats

        try:
            X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"X: cannot be read as an array of numbers: {exc}") from None
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n_samples, {self.n_features}), got {X.shape}.")
        v = X @ self.rotation
        b, s = self.curvature, self.skew
        log_normal = stats.norm.logpdf
        out = log_normal(v[:, 0]) + log_normal(v[:, 1] - b * (v[:, 0] ** 2 - 1.0))
        out += log_normal(v[:, 2]) + log_normal(v[:, 3] - b * (v[:, 2] ** 2 - 1.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            base = 1.0 + s * v[:, 4:6]
            skewed = log_normal(np.log(base) / s) - np.log(base)
        out += np.where(base > 0, skewed, -np.inf).sum(axis=1)
        c = self._t_scale
        out += (stats.t.logpdf(v[:, 6:8] / c, self.df) - np.log(c)).sum(axis=1)
        return out


def circle_mixture_2d(n_components=8, radius=4.0, std=0.3):
    """Well-separated 2-D Gaussians on a circle.

    Parameters
    ----------
    n_components : int, default=8
        Number of Gaussians, evenly spaced on the circle, an integer >= 1.
    radius : float, default=4.0
        Radius of the circle, a finite number >= 0.
    std : float, default=0.3
        Standard deviation of each (isotropic) Gaussian, a finite number > 0.

    Returns
    -------
    law : GaussianMixtureLaw
    """
    n_components = check_int("n_components", n_components, 1)
    radius = check_real("radius", radius, at_least=0.0)
    std = check_real("std", std, above=0.0)
    angles = 2 * np.pi * np.arange(n_components) / n_components
    means = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    covs = np.repeat((std**2 * np.eye(2))[None], n_components, axis=0)
    return GaussianMixtureLaw(np.full(n_components, 1.0 / n_components), means, covs)


def make_rings(n_samples=1000, *, n_rings=2, noise=0.05, random_state=None):
    """Concentric rings of radii 1, 2, ..., ``n_rings``, blurred by Gaussian noise.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points, an integer >= 1; each ring gets the same share on
        average.
    n_rings : int, default=2
        Number of rings, an integer >= 1.
    noise : float, default=0.05
        Standard deviation of the Gaussian noise added to each point, a
        finite number >= 0.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)

    Examples
    --------
    >>> from skscore.datasets import make_rings
    >>> make_rings(10, random_state=0).shape
    (10, 2)
    """
    n_samples = check_int("n_samples", n_samples, 1)
    n_rings = check_int("n_rings", n_rings, 1)
    noise = check_real("noise", noise, at_least=0.0)
    rng = _check_random_state(random_state)
    radius = 1.0 + rng.randint(0, n_rings, n_samples)
    angle = rng.uniform(0.0, 2 * np.pi, n_samples)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return X + noise * rng.standard_normal(X.shape)


def make_moons(n_samples=1000, *, noise=0.1, random_state=None):
    """Two interleaving half circles (scikit-learn's ``make_moons``), features only.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points, an integer >= 1.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise, a finite number >= 0.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    """
    n_samples = check_int("n_samples", n_samples, 1)
    noise = check_real("noise", noise, at_least=0.0)
    X, _ = _sk_datasets.make_moons(n_samples, noise=noise, random_state=_check_random_state(random_state))
    return X.astype(np.float64)


def make_checkerboard(n_samples=1000, *, n_squares=4, random_state=None):
    """Points uniform on the dark squares of an ``n_squares`` x ``n_squares`` board on [-2, 2]^2.

    A density with sharp edges and many modes, hard for smooth models.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points, an integer >= 1.
    n_squares : int, default=4
        Squares per side, an integer >= 1.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.datasets import make_checkerboard
    >>> X = make_checkerboard(500, random_state=0)
    >>> cells = np.floor((X + 2) / 4 * 4).astype(int)
    >>> bool(np.all(cells.sum(axis=1) % 2 == 0))
    True
    """
    n_samples = check_int("n_samples", n_samples, 1)
    n_squares = check_int("n_squares", n_squares, 1)
    rng = _check_random_state(random_state)
    dark = np.array([(i, j) for i in range(n_squares) for j in range(n_squares) if (i + j) % 2 == 0])
    cells = dark[rng.randint(0, len(dark), n_samples)]
    side = 4.0 / n_squares
    return -2.0 + side * (cells + rng.uniform(0.0, 1.0, (n_samples, 2)))


MIXED_TABLE_COLUMNS = ("visits", "plan", "spend", "discount", "score")
_PLANS = ("basic", "plus", "pro", "team")
_PLAN_SHARES = (0.45, 0.30, 0.15, 0.10)
# chance of no spend per plan: 30 % of the rows overall
_PLAN_ZERO_SPEND = (0.40, 0.30, 0.14, 0.09)


def make_mixed_table(n_samples=1000, *, as_frame=False, random_state=None):
    """A synthetic customer table with the column types of real data.

    Five dependent columns, driven by a Gaussian latent ``g`` and the plan:

    - ``visits``: a count, ``Poisson(exp(0.5 + 0.4 g + 0.25 plan))``;
    - ``plan``: categorical, four levels with shares 45, 30, 15 and 10 %;
    - ``spend``: positive and right-skewed, exactly zero for 30 % of the rows
      (40, 30, 14 and 9 % by plan), else
      ``exp(1 + 0.5 g + 0.3 plan + 0.6 e)``;
    - ``discount``: a share in ``[0, 1]``, ``Beta(2, 5)`` with a Gaussian
      copula on ``0.6 g + 0.8 e'``;
    - ``score``: Gaussian, ``g + 0.4 plan + 0.5 e''``.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows, an integer >= 1.
    as_frame : bool, default=False
        Return a pandas DataFrame (pandas must be installed) whose dtypes
        declare the types: ``visits`` int64, ``plan`` categorical with the
        levels 'basic', 'plus', 'pro', 'team', the others float64.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 5) or DataFrame
        Columns in the order of ``MIXED_TABLE_COLUMNS``; in the array, the
        plan is coded 0 to 3.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.datasets import make_mixed_table
    >>> X = make_mixed_table(2000, random_state=0)
    >>> bool(np.all(X[:, 0] == np.floor(X[:, 0]))), sorted(np.unique(X[:, 1]).tolist())
    (True, [0.0, 1.0, 2.0, 3.0])
    >>> round(float(np.mean(X[:, 2] == 0)), 2), bool(np.all((X[:, 3] > 0) & (X[:, 3] < 1)))
    (0.3, True)
    """
    from scipy import stats

    n_samples = check_int("n_samples", n_samples, 1)
    as_frame = check_bool("as_frame", as_frame)
    rng = _check_random_state(random_state)
    plan = rng.choice(len(_PLAN_SHARES), size=n_samples, p=_PLAN_SHARES)
    g = rng.standard_normal(n_samples)
    visits = rng.poisson(np.exp(0.5 + 0.4 * g + 0.25 * plan)).astype(np.float64)
    zero = rng.random_sample(n_samples) < np.asarray(_PLAN_ZERO_SPEND)[plan]
    spend = np.where(zero, 0.0, np.exp(1.0 + 0.5 * g + 0.3 * plan + 0.6 * rng.standard_normal(n_samples)))
    copula = stats.norm.cdf(0.6 * g + 0.8 * rng.standard_normal(n_samples))
    discount = np.clip(stats.beta.ppf(copula, 2.0, 5.0), 1e-12, 1.0 - 1e-12)
    score = g + 0.4 * plan + 0.5 * rng.standard_normal(n_samples)
    X = np.column_stack([visits, plan.astype(np.float64), spend, discount, score])
    if not as_frame:
        return X
    import pandas as pd

    return pd.DataFrame(
        {
            "visits": visits.astype(np.int64),
            "plan": pd.Categorical.from_codes(plan, categories=list(_PLANS)),
            "spend": spend,
            "discount": discount,
            "score": score,
        }
    )


DATASETS = ("iris", "wine", "breast_cancer", "diabetes", "digits")


def load_dataset(name):
    """A dataset that ships with scikit-learn, as a float array (features only).

    Parameters
    ----------
    name : {'iris', 'wine', 'breast_cancer', 'diabetes', 'digits'}
        Dataset name.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The feature matrix, as float64.
    """
    loaders = {
        "iris": _sk_datasets.load_iris,
        "wine": _sk_datasets.load_wine,
        "breast_cancer": _sk_datasets.load_breast_cancer,
        "diabetes": _sk_datasets.load_diabetes,
        "digits": _sk_datasets.load_digits,
    }
    # a list or a dict would raise a TypeError in the dict lookup
    if not isinstance(name, str) or name not in loaders:
        raise ValueError(f"Unknown dataset {name!r}; expected one of {DATASETS}.")
    return np.asarray(loaders[name]().data, dtype=np.float64)


# --------------------------------------------------------------------------
# A suite of real-looking tables: bundled real data and generated look-alikes
# --------------------------------------------------------------------------

SUITE_TABLES = (
    "iris",
    "wine",
    "breast_cancer",
    "diabetes",
    "geyser",
    "customers",
    "insurance",
    "households",
    "sensors",
    "assays",
    "budgets",
    "crops",
)
EXTRA_TABLES = ("fair", "randhie", "engel")

_C, _I, _K = "continuous", "integer", "categorical"
_BENCH_EXTRA = "pip install skscore[bench]"


class _Table:
    """What a private table loader returns: columns, kinds, level labels, text."""

    def __init__(self, data, feature_names, kinds, description, levels=None):
        self.data = np.ascontiguousarray(data, dtype=np.float64)
        self.feature_names = [str(name) for name in feature_names]
        self.kinds = list(kinds)
        self.description = " ".join(description.split())
        self.levels = dict(levels or {})  # column index -> labels of the codes 0..L-1


def _sklearn_table(loader, description, integer=(), **kwargs):
    bunch = loader(**kwargs)
    names = list(bunch.feature_names)
    kinds = [_I if name in integer else _C for name in names]
    return _Table(bunch.data, names, kinds, description)


def _iris():
    return _sklearn_table(
        _sk_datasets.load_iris,
        """Fisher's iris data (bundled with scikit-learn): sepal and petal length and
        width in cm of 150 flowers of three species (species not included). The
        measurements are recorded on a 0.1 cm grid, so values repeat although the
        quantities are continuous: exercises discretized continuous columns.""",
    )


def _wine():
    return _sklearn_table(
        _sk_datasets.load_wine,
        """UCI wine recognition data (bundled with scikit-learn): 13 chemical
        measurements of 178 Italian wines from three cultivars (cultivar not
        included). Magnesium (mg/l) and proline (mg/l) are recorded as whole
        numbers and declared integer, the alcalinity of ash lies on a 0.1 grid, the
        others have two decimals: exercises continuous and integer-valued columns
        with strong correlations.""",
        integer=("magnesium", "proline"),
    )


def _breast_cancer():
    return _sklearn_table(
        _sk_datasets.load_breast_cancer,
        """Wisconsin diagnostic breast cancer data (bundled with scikit-learn): 30
        features (mean, standard error and worst value of ten cell-nucleus
        measurements) of 569 fine-needle aspirates (diagnosis not included). All
        continuous and positive, many right-skewed, highly collinear, the concavity
        columns with a few exact zeros: exercises the widest table of the suite.""",
    )


def _diabetes():
    table = _sklearn_table(
        _sk_datasets.load_diabetes,
        """Efron et al.'s diabetes data (bundled with scikit-learn, unscaled): age in
        years (integer), sex (2 levels, coded 1 and 2 in the source, meaning not
        documented), body mass index on a 0.1 grid, mean blood pressure, and six
        serum measurements s1-s6 of 442 patients (disease progression not
        included). Total cholesterol s1 and glucose s6 are recorded as whole mg/dl
        and declared integer: exercises integer, binary categorical and continuous
        columns together.""",
        integer=("age", "s1", "s6"),
        scaled=False,
    )
    sex = table.feature_names.index("sex")
    table.data[:, sex] -= 1.0  # 1, 2 -> codes 0, 1
    table.kinds[sex] = _K
    table.levels[sex] = ["1", "2"]
    return table


def _geyser():
    rng = np.random.RandomState(1872)
    n = 272
    long = rng.random_sample(n) < 0.64
    duration = np.where(long, rng.normal(4.35, 0.38, n), rng.normal(2.05, 0.28, n))
    duration = np.round(np.clip(duration, 1.6, 5.1), 1)
    waiting = np.round(33.5 + 10.7 * duration + rng.normal(0.0, 5.8, n))
    return _Table(
        np.column_stack([duration, waiting]),
        ["eruption_minutes", "waiting_minutes"],
        [_C, _I],
        """Generated, mimicking the Old Faithful geyser data: 272 eruptions with
        their duration in minutes, recorded on a 0.1 grid (bimodal, modes near 2
        and 4.3 minutes), and the waiting time before the next eruption in whole
        minutes (integer, bimodal near 55 and 80 minutes, linear in the duration).
        Exercises a small bimodal table with a discretized continuous column and
        an integer one.""",
    )


def _customers():
    X = make_mixed_table(2000, random_state=0)
    return _Table(
        X,
        list(MIXED_TABLE_COLUMNS),
        [_I, _K, _C, _C, _C],
        """Generated by make_mixed_table(2000, random_state=0): visits (a count,
        integer), plan (categorical, 4 levels), spend (exactly zero for 30 % of the
        rows, else log-normal), discount (a share in (0, 1)) and a Gaussian score,
        all driven by one latent variable and the plan. Exercises counts,
        categories, zero-inflated amounts and bounded shares.""",
        levels={1: list(_PLANS)},
    )


_REGIONS = ("northeast", "northwest", "southeast", "southwest")


def _insurance():
    rng = np.random.RandomState(2016)
    n = 5000
    age = 18.0 + np.floor(63.0 * rng.beta(1.1, 1.35, n))
    region = rng.choice(4, size=n, p=[0.24, 0.24, 0.28, 0.24])
    bmi = np.exp(np.log(28.5) + 0.003 * (age - 45) + 0.05 * (region == 2) + 0.17 * rng.standard_normal(n))
    bmi = np.round(np.clip(bmi, 15.0, 60.0), 1)
    children = np.minimum(rng.poisson(0.15 + 1.5 * np.exp(-(((age - 38) / 13) ** 2))), 5)
    # zero-inflated Poisson: a share of the policy holders never claim
    claimer = rng.random_sample(n) < np.clip(0.3 + 0.004 * (age - 45), 0.1, 0.6)
    rate = np.exp(0.4 + 0.012 * (age - 45) + 0.04 * (bmi - 28.5) + 0.08 * children)
    claims = np.where(claimer, rng.poisson(rate), 0)
    # claim total: the sum of log-normal claim sizes, exactly 0 without claims
    mu = 7.0 + 0.015 * (age - 45) + 0.03 * (bmi - 28.5)
    sizes = np.exp(mu[:, None] + 1.1 * rng.standard_normal((n, max(int(claims.max()), 1))))
    total = np.round(np.sum(sizes * (np.arange(sizes.shape[1]) < claims[:, None]), axis=1), 2)
    return _Table(
        np.column_stack([age, region, bmi, children, claims, total]),
        ["age", "region", "bmi", "children", "claims", "claim_total"],
        [_I, _K, _C, _I, _I, _C],
        """Generated, mimicking a health-insurance portfolio: 5,000 policy holders
        with age (integer, 18 to 80), region (categorical, 4 levels), body mass
        index on a 0.1 grid, number of children (count 0 to 5), number of claims in
        the year (zero-inflated Poisson, rising with age, bmi and children) and the
        claim total (exactly 0 without a claim, else a sum of heavy-tailed
        log-normal claim sizes). Exercises integers, a category, a discretized
        measurement and a zero-inflated right-skewed amount.""",
        levels={1: list(_REGIONS)},
    )


_EDUCATION_YEARS = np.arange(8, 21)
_EDUCATION_SHARES = np.array([3, 2, 3, 4, 30, 7, 12, 4, 20, 3, 8, 1, 3], dtype=np.float64) / 100.0
INCOME_TOP_CODE = 200_000.0


def _households():
    from scipy.special import expit, ndtr

    rng = np.random.RandomState(1990)
    n = 20000
    age = 18.0 + np.floor(73.0 * rng.beta(1.6, 2.2, n))
    male = (rng.random_sample(n) < 0.49).astype(np.int64)
    z = rng.standard_normal(n)  # background: drives education and income
    u = ndtr(0.85 * z + 0.53 * rng.standard_normal(n) - 0.008 * (age - 45))
    education = _EDUCATION_YEARS[np.minimum(np.searchsorted(np.cumsum(_EDUCATION_SHARES), u), 12)]
    p_work = expit(2.2 - 0.25 * np.maximum(age - 60, 0) + 0.15 * (education - 12) + 0.3 * male)
    working = rng.random_sample(n) < p_work
    part_time = rng.random_sample(n) < 0.3 - 0.15 * male
    other_hours = np.where(part_time, rng.normal(22, 7, n), rng.normal(48, 7, n))
    hours = np.where(rng.random_sample(n) < 0.48, 40.0, np.clip(np.round(other_hours), 1, 90))
    hours = np.where(working, hours, 0.0)
    log_income = (
        10.0
        + 0.09 * (education - 12)
        + 0.04 * (age - 18)
        - 0.0007 * (age - 18) ** 2
        + np.where(working, 0.6 * np.log((hours + 5) / 45), -0.7)
        + 0.15 * male
        + 0.25 * z
        + 0.55 * rng.standard_normal(n)
    )
    income = np.minimum(np.round(np.exp(log_income), 2), INCOME_TOP_CODE)
    size = 1 + rng.poisson(0.4 + 1.6 * np.exp(-(((age - 40) / 15) ** 2)))
    size = np.minimum(size, 8)
    residence = (age - 17) * rng.beta(0.8, 2.5, n)
    return _Table(
        np.column_stack([age, male, education, hours, income, size, residence]),
        ["age", "sex", "education_years", "weekly_hours", "income", "household_size", "residence_years"],
        [_I, _K, _I, _I, _C, _I, _C],
        f"""Generated, mimicking a labour-force survey: 20,000 adults with age
        (integer, 18 to 90), sex (categorical, 2 levels), years of education
        (integer, few values, spikes at 12 and 16), usual weekly hours (integer,
        exactly 0 when not working and a big spike at 40), yearly income
        (log-normal in education, age, hours and background, top-coded: incomes
        above {INCOME_TOP_CODE:,.0f} are recorded as {INCOME_TOP_CODE:,.0f}, an
        atom at the maximum), household size (count 1 to 8) and years at the
        current address (continuous, right-skewed, below age - 17). Exercises the
        largest table: integers with spikes, a top-coded amount and a category.""",
        levels={1: ["female", "male"]},
    )


def _sensors():
    from scipy.special import expit

    rng = np.random.RandomState(24)
    n, d = 1500, 24
    loadings = 0.25 * rng.standard_normal((d, 3))
    loadings[np.arange(d), np.arange(d) % 3] += 0.8
    latent = rng.standard_normal((n, 3)) @ loadings.T + 0.5 * rng.standard_normal((n, d))
    vibration = latent[:, 0:6] + 0.6 * rng.standard_t(3, (n, 6))
    flow = rng.uniform(0.5, 20.0, 6) * np.exp(0.6 * latent[:, 6:12])
    temperature = np.round(2.0 * (rng.uniform(15.0, 60.0, 6) + 2.5 * latent[:, 12:18])) / 2.0
    humidity = expit(rng.uniform(-1.0, 1.0, 6) + 1.2 * latent[:, 18:24])
    names = [f"{kind}_{k}" for kind in ("vibration", "flow", "temperature", "humidity") for k in range(1, 7)]
    return _Table(
        np.column_stack([vibration, flow, temperature, humidity]),
        names,
        [_C] * d,
        """Generated, mimicking a plant's sensor log: 1,500 readings of 24 sensors
        driven by 3 latent factors plus noise. Six vibration columns have Student-t
        (3 degrees of freedom) heavy tails, six flow columns are log-normal
        right-skewed, six temperature columns are rounded to a 0.5 grid and six
        humidity columns are shares in (0, 1). Exercises a wide continuous table
        with heavy tails, skew, discretization and bounds.""",
    )


# (name, log-scale median, log-scale sd, share below the detection limit or 0)
_ASSAYS = (
    ("crp_mg_l", np.log(3.0), 1.1, 0.0),
    ("il6_pg_ml", np.log(4.0), 0.9, 0.25),
    ("tnf_pg_ml", np.log(8.0), 0.6, 0.15),
    ("il10_pg_ml", np.log(2.0), 0.8, 0.35),
    ("ferritin_ng_ml", np.log(120.0), 0.8, 0.0),
    ("pct_ng_ml", np.log(0.08), 1.0, 0.3),
    ("ddimer_ug_ml", np.log(0.6), 0.9, 0.0),
)


def _assays():
    from scipy import stats
    from scipy.special import expit

    rng = np.random.RandomState(800)
    n = 800
    factors = rng.standard_normal((n, 2))  # inflammation, coagulation
    columns, names = [], []
    for j, (name, median_log, sd_log, censored) in enumerate(_ASSAYS):
        # loadings on the factors: the cytokines on inflammation, d-dimer on coagulation
        a, b = (0.8 - 0.05 * j, 0.2) if name != "ddimer_ug_ml" else (0.1, 0.7)
        z = a * factors[:, 0] + b * factors[:, 1] + np.sqrt(1 - a * a - b * b) * rng.standard_normal(n)
        value = np.exp(median_log + sd_log * z)
        if censored:
            limit = np.exp(median_log + sd_log * stats.norm.ppf(censored))  # the censored quantile,
            limit = float(np.format_float_positional(limit, 2, fractional=False))  # to 2 significant digits
            value = np.maximum(value, limit)  # below the detection limit: recorded as the limit
        columns.append(value)
        names.append(name)
    score = rng.binomial(10, expit(-0.6 + 1.1 * factors[:, 0] + 0.4 * factors[:, 1]))
    return _Table(
        np.column_stack(columns + [score]),
        names + ["severity_score"],
        [_C] * len(_ASSAYS) + [_I],
        """Generated, mimicking a biomarker panel: 800 patients with seven
        correlated log-normal concentrations (two latent factors) and a clinical
        severity score (integer 0 to 10). Four analytes (il6, tnf, il10, pct) are
        left-censored: values below the assay's detection limit are recorded as
        the limit, an atom at the minimum holding 15 to 35 % of the rows.
        Exercises skewed positive columns with spikes at a detection limit.""",
    )


def _budgets():
    rng = np.random.RandomState(1857)
    n = 100
    z = rng.standard_normal(n)
    income = np.exp(np.log(650.0) + 0.45 * z)
    size = np.minimum(1 + rng.poisson(np.exp(np.log(1.3) + 0.25 * z)), 8)
    food = 0.5 * income**0.85 * (size / 2.5) ** 0.25 * np.exp(0.12 * rng.standard_normal(n))
    return _Table(
        np.column_stack([income, food, size]),
        ["income", "food_expenditure", "household_size"],
        [_C, _C, _I],
        """Generated, mimicking Engel's household budgets: 100 households with
        income (log-normal, right-skewed), food expenditure (about 0.5
        income^0.85, higher for larger households, with multiplicative noise) and
        household size (count 1 to 8). Exercises the smallest table: a curved
        heteroscedastic relation and a small count.""",
    )


_FIELD_TYPES = ("rainfed", "irrigated", "terraced")
_DOSE_SHARES = np.array([[15, 25, 30, 20, 10], [5, 10, 25, 35, 25], [30, 30, 20, 15, 5]], dtype=np.float64) / 100.0


def _crops():
    rng = np.random.RandomState(600)
    n = 600
    field = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    rain = rng.gamma(3.0, np.where(field == 1, 140.0, 170.0))
    dose = 25.0 * (rng.random_sample((n, 1)) > np.cumsum(_DOSE_SHARES[field], axis=1)).sum(axis=1)
    # zero-inflated negative binomial pest counts, more with rain and irrigation
    mean = np.exp(1.5 + 0.001 * (rain - 500) + 0.3 * (field == 1))
    pests = np.where(rng.random_sample(n) < 0.35, 0, rng.negative_binomial(1.2, 1.2 / (1.2 + mean)))
    water = rain + 350.0 * (field == 1)
    crop = (
        (1.5 + 4.5 * (1 - np.exp(-water / 450.0)))
        * (1 + 0.006 * dose - 0.00003 * dose**2)
        * np.exp(-0.015 * pests + 0.15 * rng.standard_normal(n))
        * np.where(field == 2, 0.85, 1.0)
    )
    return _Table(
        np.column_stack([field, rain, dose, pests, crop]),
        ["field_type", "rainfall_mm", "fertilizer_kg_ha", "pest_count", "yield_t_ha"],
        [_K, _C, _I, _I, _C],
        """Generated, mimicking a field trial: 600 plots with field type
        (categorical, 3 levels), seasonal rainfall (gamma, right-skewed),
        fertilizer dose on a 25 kg/ha grid (0 to 100, integer: the few doses of
        the trial design), pest count (zero-inflated negative binomial) and yield
        (continuous, saturating in water and dose, lowered by pests). Exercises a
        category, a dose grid, an overdispersed count and a skewed measurement.""",
        levels={0: list(_FIELD_TYPES)},
    )


def _statsmodels_data(name):
    import importlib

    try:
        module = importlib.import_module(f"statsmodels.datasets.{name}")
    except ImportError as exc:
        raise ImportError(
            f"The table {name!r} is read from statsmodels, an optional dependency "
            f"that is not installed: {_BENCH_EXTRA}"
        ) from exc
    return module.load_pandas().data


def _fair():
    frame = _statsmodels_data("fair")
    names = list(frame.columns)
    X = frame.to_numpy(dtype=np.float64)
    kinds = [_C] * len(names)
    for name in ("rate_marriage", "religious", "educ"):
        kinds[names.index(name)] = _I
    levels = {}
    for name in ("occupation", "occupation_husb"):
        j = names.index(name)
        X[:, j] -= 1.0  # 1..6 -> codes 0..5
        kinds[j] = _K
        levels[j] = [str(k) for k in range(1, 7)]
    return _Table(
        X,
        names,
        kinds,
        """Fair's extramarital affairs survey (Redbook, 1974; read from
        statsmodels): 6,366 women with marriage rating and religiousness (integer
        ratings), years of education (integer, few values), age, years married and
        children (grouped answers coded at class values, continuous), occupation
        of the woman and of the husband (categorical, 6 levels) and time spent in
        affairs (continuous, exactly 0 for 68 % of the rows). Exercises a
        zero-inflated continuous column among ratings and categories.""",
        levels=levels,
    )


_RANDHIE_ROWS = 20000
_HEALTH = ("excellent", "good", "fair", "poor")


def _randhie():
    frame = _statsmodels_data("randhie")
    dummies = frame[["hlthg", "hlthf", "hlthp"]].to_numpy(dtype=np.float64)
    health = dummies @ np.array([1.0, 2.0, 3.0])  # the omitted level is 'excellent'
    names = ["mdvis", "lncoins", "idp", "lpi", "fmde", "physlm", "disea"]
    X = np.column_stack([frame[names].to_numpy(dtype=np.float64), health])
    if len(X) > _RANDHIE_ROWS:  # a fixed random subset keeps the suite's row limit
        keep = np.sort(np.random.RandomState(0).choice(len(X), _RANDHIE_ROWS, replace=False))
        X = X[keep]
    return _Table(
        X,
        names + ["health"],
        [_I, _C, _K, _C, _C, _C, _C, _K],
        """RAND health insurance experiment (read from statsmodels; a fixed random
        subset of 20,000 of its 20,190 person-years): number of outpatient visits
        (integer count, 31 % zeros), log coinsurance (5 values), individual
        deductible plan (binary categorical), log participation incentive and
        log maximum expenditure (continuous, exactly 0 for a quarter and 42 % of
        the rows), physical limitation (continuous, mostly 0), number of chronic
        diseases (continuous) and self-rated health (categorical, 4 levels, from
        the source's dummies). Exercises a large table with several zero atoms.""",
        levels={2: ["no", "yes"], 7: list(_HEALTH)},
    )


def _engel():
    frame = _statsmodels_data("engel")
    return _Table(
        frame[["income", "foodexp"]].to_numpy(dtype=np.float64),
        ["income", "foodexp"],
        [_C, _C],
        """Engel's food expenditure data (Belgian working-class households, 1857;
        read from statsmodels): yearly household income and food expenditure in
        Belgian francs of 235 households. Both right-skewed and positive, with a
        curved heteroscedastic relation: exercises a small skewed 2-D table.""",
    )


_TABLE_LOADERS = {
    "iris": _iris,
    "wine": _wine,
    "breast_cancer": _breast_cancer,
    "diabetes": _diabetes,
    "geyser": _geyser,
    "customers": _customers,
    "insurance": _insurance,
    "households": _households,
    "sensors": _sensors,
    "assays": _assays,
    "budgets": _budgets,
    "crops": _crops,
    "fair": _fair,
    "randhie": _randhie,
    "engel": _engel,
}


def _table_frame(table):
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError("as_frame=True needs pandas: pip install pandas") from exc
    columns = {}
    for j, (name, kind) in enumerate(zip(table.feature_names, table.kinds)):
        x = table.data[:, j]
        if kind == _I:
            columns[name] = x.astype(np.int64)
        elif kind == _K:
            columns[name] = pd.Categorical.from_codes(x.astype(np.int64), categories=table.levels[j])
        else:
            columns[name] = x.copy()
    return pd.DataFrame(columns)


def load_table(name, *, as_frame=False):
    """A real or real-looking table with typed columns, loaded offline.

    The tables of ``SUITE_TABLES`` need only the runtime dependencies: four
    datasets bundled with scikit-learn and eight generated look-alikes of real
    tables (fixed seeds, so every load returns the same numbers). Together they
    cover integer counts, zero-inflated and right-skewed positive columns,
    measurements recorded on a grid (repeated values that are not atoms),
    spikes that are atoms (a top-code, a detection limit, exact zeros),
    categorical columns, 2 to 30 columns and 100 to 20,000 rows. The tables of
    ``EXTRA_TABLES`` ('fair', 'randhie', 'engel') are read from the data
    bundled with statsmodels, an optional dependency (``pip install
    skscore[bench]``). Nothing is downloaded.

    Parameters
    ----------
    name : str
        A name of ``SUITE_TABLES`` or ``EXTRA_TABLES``.
    as_frame : bool, default=False
        Also return the table as a pandas DataFrame (pandas must be
        installed) whose dtypes declare the kinds.

    Returns
    -------
    table : :class:`~sklearn.utils.Bunch`
        With the keys:

        - ``data``: float64 ndarray of shape (n_rows, n_columns), without NaN;
          categorical columns hold the codes 0 to L - 1 of their L levels,
          all present;
        - ``feature_names``: list of str;
        - ``integer_features``: sorted list of the columns holding integers by
          nature (counts, ages in years, ratings, doses on a grid...);
        - ``categorical_features``: sorted list of the categorical columns
          (unordered levels or binary);
        - ``kinds``: list of 'continuous', 'integer' or 'categorical', one per
          column;
        - ``categories``: dict from each categorical column index to the
          labels of its codes;
        - ``description``: a short paragraph on the source and the columns;
        - ``frame``: with ``as_frame=True``, a DataFrame with int64 integer
          columns, pandas Categorical columns with readable labels and float64
          continuous ones; else None.

    Raises
    ------
    ValueError
        If ``name`` is not a known table.
    ImportError
        If the table needs statsmodels and it is not installed.

    Examples
    --------
    >>> from skscore.datasets import SUITE_TABLES, load_table
    >>> table = load_table("geyser")
    >>> table.data.shape, table.kinds
    ((272, 2), ['continuous', 'integer'])
    >>> households = load_table("households")
    >>> households.categorical_features, households.categories[1]
    ([1], ['female', 'male'])
    >>> len(SUITE_TABLES)
    12
    """
    from sklearn.utils import Bunch

    # a list or a dict would raise a TypeError in the dict lookup
    if not isinstance(name, str) or name not in _TABLE_LOADERS:
        raise ValueError(
            f"Unknown table {name!r}; expected one of {SUITE_TABLES} or, with statsmodels installed, {EXTRA_TABLES}."
        )
    as_frame = check_bool("as_frame", as_frame)
    table = _TABLE_LOADERS[name]()
    return Bunch(
        data=table.data,
        feature_names=table.feature_names,
        integer_features=[j for j, kind in enumerate(table.kinds) if kind == _I],
        categorical_features=[j for j, kind in enumerate(table.kinds) if kind == _K],
        kinds=table.kinds,
        categories={j: list(table.levels[j]) for j, kind in enumerate(table.kinds) if kind == _K},
        description=table.description,
        frame=_table_frame(table) if as_frame else None,
    )
