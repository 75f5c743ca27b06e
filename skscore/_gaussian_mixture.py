"""A Gaussian mixture with its exact log-density, score and draws.

The known answers of the test suite (:mod:`skscore.datasets`) and the prior
of :class:`~skscore.GaussianMixturePriorDiffusion`: a Gaussian mixture noised
by a linear forward process stays one (``a x + s eps`` has components
``N(a m_j, a^2 S_j + s^2 I)``), so its score is exact at every noise level.
"""

import numpy as np
from scipy import linalg
from scipy.special import logsumexp
from sklearn.utils import check_random_state

from ._engine import draw_by_weight

__all__ = ["GaussianMixtureLaw"]


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
        weights = np.asarray(weights, dtype=np.float64)
        valid = weights.ndim == 1 and weights.size and np.all(np.isfinite(weights) & (weights >= 0))
        if not valid or not weights.sum():
            raise ValueError(f"weights must be a 1-D array of finite non-negative numbers, not all 0; got {weights!r}.")
        self.weights = weights / weights.sum()
        self.means = np.atleast_2d(np.asarray(means, dtype=np.float64))
        k, d = len(self.weights), self.means.shape[1]
        if self.means.shape != (k, d) or not np.all(np.isfinite(self.means)):
            raise ValueError(f"means must be a finite array of shape ({k}, n_features), got shape {self.means.shape}.")
        covariances = np.asarray(covariances, dtype=np.float64)
        if covariances.size != k * d * d or not np.all(np.isfinite(covariances)):
            raise ValueError(
                f"covariances must be a finite array of shape ({k}, {d}, {d}), got shape {covariances.shape}."
            )
        self.covariances = covariances.reshape(k, d, d)
        self._chol = np.empty_like(self.covariances)
        for j, c in enumerate(self.covariances):
            try:
                self._chol[j] = linalg.cholesky(c, lower=True)
            except linalg.LinAlgError:
                raise ValueError(f"covariances[{j}] is not symmetric positive definite.") from None

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

    def _component_terms(self, X, with_gradients=True):
        """Per component: log weight + log N(x), and the precision-times-residual."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        log_terms = np.empty((X.shape[0], len(self.weights)))
        grads = np.empty((len(self.weights),) + X.shape) if with_gradients else None
        for j, (w, m, L) in enumerate(zip(self.weights, self.means, self._chol)):
            r = X - m
            y = linalg.solve_triangular(L, r.T, lower=True)
            log_terms[:, j] = (
                np.log(w) - 0.5 * np.sum(y**2, axis=0) - np.log(np.diag(L)).sum() - 0.5 * self.n_features * np.log(2 * np.pi)
            )
            if with_gradients:
                grads[j] = -linalg.solve_triangular(L.T, y, lower=False).T
        return log_terms, grads

    def component_log_terms(self, X):
        """``log p_j + log N(x; m_j, S_j)`` of each row and component, shape (n, n_components)."""
        return self._component_terms(X, with_gradients=False)[0]

    def _observed_parts(self, X, j):
        """For rows ``X`` with NaN where unobserved, component ``j`` restricted to the observed entries.

        Returns ``M`` (n, d, d), the covariance of the observed entries with
        the identity in place of the unobserved ones (so that ``det M`` and
        ``M^-1`` are those of the observed block), and the residual ``r``
        with zeros at the unobserved entries.
        """
        observed = ~np.isnan(X)
        o = observed.astype(np.float64)
        S = self.covariances[j]
        M = o[:, :, None] * S[None] * o[:, None, :] + np.eye(self.n_features)[None] * (1.0 - o)[:, None, :]
        return M, np.where(observed, X - self.means[j], 0.0), observed

    def observed_log_terms(self, X):
        """``log p_j + log N(x_o; m_j, S_j)`` on the observed entries ``x_o`` (NaN elsewhere), (n, n_components).

        The marginal of each component on each row's observed entries; a row
        with none observed gets ``log p_j``.
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        out = np.empty((X.shape[0], len(self.weights)))
        for j, w in enumerate(self.weights):
            M, r, observed = self._observed_parts(X, j)
            L = np.linalg.cholesky(M)
            y = np.linalg.solve(L, r[:, :, None])[:, :, 0]
            log_det = np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
            out[:, j] = np.log(w) - 0.5 * np.sum(y**2, axis=1) - log_det - 0.5 * observed.sum(axis=1) * np.log(2 * np.pi)
        return out

    def sample_conditional(self, X, random_state=None):
        """One exact draw of each row's unobserved entries (NaN) given its observed ones.

        A component is drawn from its posterior given the observed entries,
        then the unobserved ones from that component's conditional Gaussian;
        the observed entries are returned as they are.
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        rng = check_random_state(random_state)
        labels = draw_by_weight(self.observed_log_terms(X), rng.random_sample(len(X)))
        noise = rng.standard_normal(X.shape)
        out = X.copy()
        for j in np.unique(labels):
            rows = labels == j
            M, r, observed = self._observed_parts(X[rows], j)
            o = observed.astype(np.float64)
            S = self.covariances[j]
            # mean m + S_.o S_oo^-1 r_o, covariance S - S_.o S_oo^-1 S_o. (zero on the observed block)
            gain = np.linalg.solve(M, o[:, :, None] * S[None])  # M^-1 diag(o) S
            mean = self.means[j] + np.einsum("ij,nj->ni", S, o * np.linalg.solve(M, r[:, :, None])[:, :, 0])
            cov = S[None] - np.einsum("ik,nkj->nij", S, o[:, :, None] * gain)
            cov = cov * (1 - o)[:, :, None] * (1 - o)[:, None, :] + np.eye(self.n_features)[None] * o[:, None, :]
            draw = mean + np.einsum("nij,nj->ni", np.linalg.cholesky(cov), noise[rows])
            out[rows] = np.where(observed, X[rows], draw)
        return out

    def logpdf(self, X):
        """Exact log-density of each row."""
        return logsumexp(self.component_log_terms(X), axis=1)

    def responsibilities(self, X):
        """Posterior probability of each component given each row, shape (n, n_components)."""
        log_terms = self.component_log_terms(X)
        return np.exp(log_terms - logsumexp(log_terms, axis=1, keepdims=True))

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
