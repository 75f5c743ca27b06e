"""Toy distributions with known densities, and loaders for scikit-learn's datasets.

The Gaussian mixtures here are the known answers of the test suite: their
log-density is exact, and a Gaussian mixture noised by a linear forward process
stays one (``a x + s eps`` has components ``N(a m_j, a^2 S_j + s^2 I)``), so
the exact score is available at every noise level too.
"""

import numpy as np
from sklearn import datasets as _sk_datasets
from sklearn.utils import check_random_state

from ._gaussian_mixture import GaussianMixtureLaw

__all__ = [
    "DATASETS",
    "GaussianMixtureLaw",
    "circle_mixture_2d",
    "correlated_mixture_8d",
    "load_dataset",
    "make_checkerboard",
    "make_mixed_table",
    "make_moons",
    "make_rings",
    "mixture_2d",
]


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
    """
    rng = np.random.RandomState(random_state)
    d, n_components = 8, 4
    means = rng.standard_normal((n_components, d))
    means *= 3.0 / np.linalg.norm(means, axis=1, keepdims=True)
    covs = []
    for _ in range(n_components):
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        covs.append(q @ np.diag(np.linspace(0.1, 1.0, d)) @ q.T)
    return GaussianMixtureLaw(np.full(n_components, 1.0 / n_components), means, np.array(covs))


def circle_mixture_2d(n_components=8, radius=4.0, std=0.3):
    """Well-separated 2-D Gaussians on a circle."""
    angles = 2 * np.pi * np.arange(n_components) / n_components
    means = radius * np.column_stack([np.cos(angles), np.sin(angles)])
    covs = np.repeat((std**2 * np.eye(2))[None], n_components, axis=0)
    return GaussianMixtureLaw(np.full(n_components, 1.0 / n_components), means, covs)


def make_rings(n_samples=1000, *, n_rings=2, noise=0.05, random_state=None):
    """Concentric rings of radii 1, 2, ..., ``n_rings``, blurred by Gaussian noise.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points; each ring gets the same share on average.
    n_rings : int, default=2
        Number of rings.
    noise : float, default=0.05
        Standard deviation of the Gaussian noise added to each point.
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
    rng = check_random_state(random_state)
    radius = 1.0 + rng.randint(0, n_rings, n_samples)
    angle = rng.uniform(0.0, 2 * np.pi, n_samples)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return X + noise * rng.standard_normal(X.shape)


def make_moons(n_samples=1000, *, noise=0.1, random_state=None):
    """Two interleaving half circles (scikit-learn's ``make_moons``), features only.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    """
    X, _ = _sk_datasets.make_moons(n_samples, noise=noise, random_state=random_state)
    return X.astype(np.float64)


def make_checkerboard(n_samples=1000, *, n_squares=4, random_state=None):
    """Points uniform on the dark squares of an ``n_squares`` x ``n_squares`` board on [-2, 2]^2.

    A density with sharp edges and many modes, hard for smooth models.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points.
    n_squares : int, default=4
        Squares per side.
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
    rng = check_random_state(random_state)
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
        Number of rows.
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

    rng = check_random_state(random_state)
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
    if name not in loaders:
        raise ValueError(f"Unknown dataset {name!r}; expected one of {DATASETS}.")
    return np.asarray(loaders[name]().data, dtype=np.float64)
