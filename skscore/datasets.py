"""Toy distributions with known densities, and loaders for scikit-learn's datasets.

The Gaussian mixtures here are the known answers of the test suite: their
log-density is exact, and a Gaussian mixture noised by a linear forward process
stays one (``a x + s eps`` has components ``N(a m_j, a^2 S_j + s^2 I)``), so
the exact score is available at every noise level too.
"""

import numpy as np
from scipy import linalg
from scipy.special import logsumexp
from sklearn import datasets as _sk_datasets
from sklearn.utils import check_random_state

__all__ = [
    "GaussianMixtureLaw",
    "mixture_2d",
    "correlated_mixture_8d",
    "circle_mixture_2d",
    "load_dataset",
    "DATASETS",
]


class GaussianMixtureLaw:
    """A Gaussian mixture with exact log-density, score and sampling.

    Parameters
    ----------
    weights : array-like of shape (n_components,)
        Mixture weights (normalized internally).
    means : array-like of shape (n_components, n_features)
        Component means.
    covariances : array-like of shape (n_components, n_features, n_features)
        Component covariances (symmetric positive definite).

    Examples
    --------
    >>> from skscore.datasets import mixture_2d
    >>> law = mixture_2d()
    >>> X = law.sample(5, random_state=0)
    >>> law.logpdf(X).shape
    (5,)
    """

    def __init__(self, weights, means, covariances):
        self.weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
        self.means = np.atleast_2d(np.asarray(means, dtype=np.float64))
        self.covariances = np.asarray(covariances, dtype=np.float64).reshape(
            len(self.weights), self.means.shape[1], self.means.shape[1]
        )
        self._chol = np.array([linalg.cholesky(c, lower=True) for c in self.covariances])

    @property
    def n_features(self):
        """Dimension of the law."""
        return self.means.shape[1]

    def sample(self, n_samples, random_state=None):
        """Draw ``n_samples`` rows; returns ndarray of shape (n_samples, n_features)."""
        rng = check_random_state(random_state)
        labels = rng.choice(len(self.weights), size=n_samples, p=self.weights)
        noise = rng.standard_normal((n_samples, self.n_features))
        return self.means[labels] + np.einsum("nij,nj->ni", self._chol[labels], noise)

    def _component_terms(self, X):
        """Per component: log weight + log N(x), and the precision-times-residual."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        log_terms = np.empty((X.shape[0], len(self.weights)))
        grads = np.empty((len(self.weights),) + X.shape)
        for j, (w, m, L) in enumerate(zip(self.weights, self.means, self._chol)):
            r = X - m
            y = linalg.solve_triangular(L, r.T, lower=True)
            log_terms[:, j] = (
                np.log(w) - 0.5 * np.sum(y**2, axis=0) - np.log(np.diag(L)).sum() - 0.5 * self.n_features * np.log(2 * np.pi)
            )
            grads[j] = -linalg.solve_triangular(L.T, y, lower=False).T
        return log_terms, grads

    def logpdf(self, X):
        """Exact log-density of each row."""
        log_terms, _ = self._component_terms(X)
        return logsumexp(log_terms, axis=1)

    def score(self, X):
        """Exact score ``grad log p`` of each row."""
        log_terms, grads = self._component_terms(X)
        resp = np.exp(log_terms - logsumexp(log_terms, axis=1, keepdims=True))
        return np.einsum("nj,jnd->nd", resp, grads)

    def score_divergence(self, X):
        """Exact score and its divergence (the Laplacian of the log-density)."""
        log_terms, grads = self._component_terms(X)
        resp = np.exp(log_terms - logsumexp(log_terms, axis=1, keepdims=True))
        score = np.einsum("nj,jnd->nd", resp, grads)
        traces = np.array([np.trace(linalg.cho_solve((L, True), np.eye(self.n_features))) for L in self._chol])
        sq = np.einsum("jnd,jnd->nj", grads, grads)
        div = np.sum(resp * (sq - traces[None, :]), axis=1) - np.sum(score**2, axis=1)
        return score, div

    def affine(self, scale, shift=0.0):
        """Law of ``scale * x + shift`` for a per-column (or scalar) scale."""
        scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (self.n_features,))
        means = self.means * scale + shift
        covs = self.covariances * np.outer(scale, scale)[None]
        return GaussianMixtureLaw(self.weights, means, covs)

    def noised(self, signal, noise):
        """Law of ``signal * x + noise * eps`` with ``eps ~ N(0, I)``."""
        covs = signal**2 * self.covariances + noise**2 * np.eye(self.n_features)[None]
        return GaussianMixtureLaw(self.weights, signal * self.means, covs)


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
