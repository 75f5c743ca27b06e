"""The peers skscore is measured against: scikit-learn's density estimators
with their model selection, and ForestDiffusion's tree-based generators.

Each peer has the small interface the benchmarks use: ``fit(X)``,
``sample(n_samples, random_state)`` and ``score_samples(X)`` (NaN for a peer
without a density), in the units of the data.  ForestDiffusion is imported
only when fitted (the ``bench`` extra).  Adversarial random forests are
implemented here (:class:`AdversarialRandomForest`): ``arfpy`` 0.1.1, the
only release, installs but does not run with NumPy 2.4 and pandas 3 (it
calls ``np.in1d`` and indexes Series by position).
"""

import contextlib

import numpy as np
from scipy.special import logsumexp
from scipy.stats import truncnorm
from sklearn.ensemble import RandomForestClassifier
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

from ._engine import draw_by_weight

GMM_COMPONENTS = range(1, 11)
KDE_BANDWIDTHS = np.logspace(-1.5, 0.5, 20)
# ForestDiffusion's own defaults for tabular generation (its README and paper)
FD_PARAMS = {"n_t": 50, "duplicate_K": 100, "diffusion_type": "flow"}


class BICGaussianMixture:
    """Full-covariance ``GaussianMixture`` with ``n_components`` chosen by BIC."""

    name = "GaussianMixture"

    def __init__(self, random_state, n_jobs=None):
        self.random_state = random_state

    def fit(self, X):
        fits = [
            GaussianMixture(k, covariance_type="full", random_state=self.random_state).fit(X)
            for k in GMM_COMPONENTS
            if k <= X.shape[0]
        ]
        self.model_ = min(fits, key=lambda gmm: gmm.bic(X))
        return self

    def sample(self, n_samples, random_state):
        # GaussianMixture.sample draws from its own random_state: reseed a copy
        model = self.model_
        model.random_state = random_state
        return model.sample(n_samples)[0]

    def score_samples(self, X):
        return self.model_.score_samples(X)


class StandardizedKDE:
    """``KernelDensity`` on standardized data, bandwidth by 5-fold CV.

    Log-densities and samples are mapped back to the units of the data.
    """

    name = "KernelDensity"

    def __init__(self, random_state=None, n_jobs=None):
        self.n_jobs = n_jobs

    def fit(self, X):
        self.scaler_ = StandardScaler().fit(X)
        search = GridSearchCV(KernelDensity(), {"bandwidth": KDE_BANDWIDTHS}, cv=5, n_jobs=self.n_jobs)
        self.model_ = search.fit(self.scaler_.transform(X)).best_estimator_
        return self

    def sample(self, n_samples, random_state):
        return self.scaler_.inverse_transform(self.model_.sample(n_samples, random_state=random_state))

    def score_samples(self, X):
        log_jacobian = np.sum(np.log(self.scaler_.scale_))
        return self.model_.score_samples(self.scaler_.transform(X)) - log_jacobian


class TrainingRows:
    """The suite's reference, not a model: as many training rows as asked, a real sample of the table's law.

    Drawn without replacement (with, beyond the training rows).  A sampler
    that a sample metric finds closer to the held-out rows than these is
    narrower than the data or copies training rows: on a few dozen rows in
    many columns, W1 rewards both (the boosted guide).
    """

    name = "training rows"

    def __init__(self, random_state=None, n_jobs=None):
        self.random_state = random_state

    def fit(self, X):
        self.rows_ = np.asarray(X, dtype=np.float64)
        return self

    def sample(self, n_samples, random_state):
        rng = np.random.RandomState(random_state)
        return self.rows_[rng.choice(len(self.rows_), n_samples, replace=n_samples > len(self.rows_))]

    def score_samples(self, X):
        return np.full(len(X), np.nan)


@contextlib.contextmanager
def _global_numpy_seed(seed):
    """Seed NumPy's global generator (which ForestDiffusion uses), then restore it."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class ForestDiffusion:
    """ForestFlow and ForestDiffusion (Jolicoeur-Martineau et al., 2024), optional peers without a density.

    API as in SamsungSAILMontreal/ForestDiffusion (README "For regular usage" and
    Python-Package/base-ForestDiffusion/ForestDiffusion/diffusion_with_trees_class.py):
    ``ForestDiffusionModel(X, n_t=50, model='xgboost', diffusion_type='flow', ...,
    duplicate_K=100, bin_indexes=[], cat_indexes=[], int_indexes=[], ..., n_jobs=-1,
    seed=666)`` trains in the constructor (X must be a NumPy array; n_jobs=-1 means
    all CPUs), and ``generate(batch_size=None, n_t=None, X_covs=None)`` returns
    ``batch_size`` rows in the units of the data, drawing its noise from
    ``np.random``.  Categorical columns are one-hot encoded by ForestDiffusion
    itself; integer columns are rounded here, after ``generate`` (its own
    rounding, ``int_indexes``, writes into a read-only array under pandas 3
    and fails; rounding is the same operation).  ``n_t`` and ``duplicate_K``
    default to ForestDiffusion's own (:data:`FD_PARAMS`); the benchmarks
    set them to match a model's levels and duplication.
    """

    name = "ForestDiffusion"
    takes_column_kinds = True  # the suite passes integer_features and categorical_features

    def __init__(
        self,
        random_state,
        n_jobs=None,
        *,
        diffusion_type=FD_PARAMS["diffusion_type"],
        n_t=FD_PARAMS["n_t"],
        duplicate_K=FD_PARAMS["duplicate_K"],
        integer_features=(),
        categorical_features=(),
    ):
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.diffusion_type = diffusion_type
        self.n_t = n_t
        self.duplicate_K = duplicate_K
        self.integer_features = integer_features
        self.categorical_features = categorical_features

    def fit(self, X):
        from ForestDiffusion import ForestDiffusionModel

        n_jobs = -1 if self.n_jobs is None else self.n_jobs
        with _global_numpy_seed(self.random_state):
            self.model_ = ForestDiffusionModel(
                np.asarray(X, dtype=np.float64),
                n_t=self.n_t,
                duplicate_K=self.duplicate_K,
                diffusion_type=self.diffusion_type,
                cat_indexes=list(self.categorical_features),
                n_jobs=n_jobs,
                seed=self.random_state,
            )
        return self

    def sample(self, n_samples, random_state):
        with _global_numpy_seed(random_state):
            out = np.array(self.model_.generate(batch_size=n_samples), dtype=np.float64)
        out[:, list(self.integer_features)] = np.round(out[:, list(self.integer_features)])
        return out

    def score_samples(self, X):
        return np.full(len(X), np.nan)


class AdversarialRandomForest:
    """Adversarial random forests (Watson, Blesch, Kapar & Wright, AISTATS 2023), with their density.

    The forest as arfpy 0.1.1 grows it, with its defaults (arfpy itself no
    longer runs, see the module's docstring), and the leaves' laws as R's
    ``arf`` package estimates them (``forde``), which gives both the draws
    (``forge``) and the likelihood (``lik``), so that ``sample`` and
    ``score_samples`` describe one distribution:

    - *adversarial loop*: a random forest (``n_trees`` trees, leaves of at
      least ``min_node_size`` rows, out-of-bag accuracy) tells the training
      rows from synthetic ones, at first each column shuffled on its own.
      While its accuracy is above ``0.5 + delta`` (at most ``max_iters``
      rounds), new synthetic rows are drawn from it: each takes the leaf of
      a random training row in a random tree, and each of its columns the
      value of a random training row of that leaf (the columns independent
      within the leaf); a new forest is fitted against them.  The loop stops
      once a forest's accuracy is at most ``0.5 + delta`` or, with
      ``early_stop``, rises; the forest kept is the last one whose draws
      were tested, the one before the stop.
    - *pruning*: a leaf with fewer than ``min_node_size`` training rows is
      cut off, its rows going to its sibling.
    - *the leaves' laws*: a leaf weighs its share of the training rows (over
      the trees); in it every continuous column is a normal law with the
      mean and standard deviation of the leaf's rows, truncated to the
      leaf's box on the column, and a categorical column takes its levels
      within the box with probabilities ``(count + alpha) / (rows + alpha
      k)`` (``k`` levels in the box).  A column constant in a leaf gets R
      arf's prior spread, ``sqrt(2 / rows)`` times the standard deviation
      that puts 95 % of a normal law within the leaf's box (its open sides
      closed at the column's training range).  The density is the mixture
      over the trees of the leaf that holds the row; a probability for the
      categorical columns, so with categorical columns ``score_samples`` is
      NaN (not a density in the data's units, like a typed model's).
      Integer columns are continuous, rounded on output.
    """

    name = "ARF"
    takes_column_kinds = True  # the suite passes integer_features and categorical_features

    def __init__(
        self,
        random_state,
        n_jobs=None,
        *,
        n_trees=30,
        min_node_size=5,
        max_iters=10,
        delta=0.0,
        early_stop=True,
        alpha=0.1,
        integer_features=(),
        categorical_features=(),
    ):
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.n_trees = n_trees
        self.min_node_size = min_node_size
        self.max_iters = max_iters
        self.delta = delta
        self.early_stop = early_stop
        self.alpha = alpha
        self.integer_features = integer_features
        self.categorical_features = categorical_features

    def _discriminator(self, X, synthetic, rng):
        forest = RandomForestClassifier(
            n_estimators=self.n_trees,
            min_samples_leaf=self.min_node_size,
            oob_score=True,
            n_jobs=self.n_jobs,
            random_state=rng.randint(np.iinfo(np.int32).max),
        )
        return forest.fit(np.vstack([X, synthetic]), np.r_[np.zeros(len(X)), np.ones(len(synthetic))])

    def fit(self, X):
        X = np.asarray(X, dtype=np.float64)
        rng = np.random.RandomState(self.random_state)
        synthetic = np.column_stack([rng.permutation(column) for column in X.T])
        forest = self._discriminator(X, synthetic, rng)
        self.accuracy_ = [forest.oob_score_]
        while self.accuracy_[-1] > 0.5 + self.delta and len(self.accuracy_) <= self.max_iters:
            trees = [_Tree.of(estimator.tree_) for estimator in forest.estimators_]
            challenger = self._discriminator(X, _resampled_leaves(trees, X, rng), rng)
            self.accuracy_.append(challenger.oob_score_)
            converged = self.accuracy_[-1] <= 0.5 + self.delta or len(self.accuracy_) > self.max_iters
            if converged or (self.early_stop and self.accuracy_[-1] > self.accuracy_[-2]):
                break
            forest = challenger
        trees = [_Tree.of(estimator.tree_).pruned(X, self.min_node_size) for estimator in forest.estimators_]
        categorical = np.zeros(X.shape[1], dtype=bool)
        categorical[list(self.categorical_features)] = True
        self.leaves_ = _LeafLaws(trees, X, categorical, self.alpha)
        return self

    def sample(self, n_samples, random_state):
        out = self.leaves_.draw(n_samples, np.random.RandomState(random_state))
        integer = list(self.integer_features)
        out[:, integer] = np.round(out[:, integer])
        return out

    def score_samples(self, X):
        if self.leaves_.categorical.any():
            return np.full(len(X), np.nan)
        return self.leaves_.log_density(np.asarray(X, dtype=np.float64))

    def impute(self, X, n_draws=1, random_state=None):
        """``n_draws`` completions of ``X`` (NaN: missing), stacked: R arf's conditional ``forge``.

        A row's leaf is drawn from the leaves of every tree with weights
        their share of the training rows times the laws of its observed
        entries in them (zero where an entry is outside the leaf's box); its
        missing entries are then drawn from that leaf's laws.  Observed
        entries are returned as they are.
        """
        X = np.asarray(X, dtype=np.float64)
        rng = np.random.RandomState(random_state)
        draws = np.repeat(X[None], n_draws, axis=0)
        holes = np.isnan(X)
        rows = np.flatnonzero(holes.any(axis=1))
        if rows.size:
            for out in draws:
                out[rows] = self.leaves_.complete(X[rows], rng)
            integer = list(self.integer_features)
            filled = draws[:, :, integer]
            draws[:, :, integer] = np.where(holes[None, :, integer], np.round(filled), filled)
        return draws


class _Tree:
    """A fitted decision tree's arrays (copies: pruning leaves the forest as it was)."""

    def __init__(self, feature, threshold, left, right):
        self.feature, self.threshold, self.left, self.right = feature, threshold, left, right

    @classmethod
    def of(cls, tree):
        return cls(tree.feature.copy(), tree.threshold.copy(), tree.children_left.copy(), tree.children_right.copy())

    def apply(self, X):
        """The leaf of every row (scikit-learn's rule: ``x <= threshold`` goes left, ``x`` as float32)."""
        X = X.astype(np.float32).astype(np.float64)
        node = np.zeros(len(X), dtype=np.intp)
        inner = np.flatnonzero(self.left[node] >= 0)
        while inner.size:
            at = node[inner]
            goes_left = X[inner, self.feature[at]] <= self.threshold[at]
            node[inner] = np.where(goes_left, self.left[at], self.right[at])
            inner = inner[self.left[node[inner]] >= 0]
        return node

    def pruned(self, X, min_rows):
        """Leaves with fewer than ``min_rows`` rows of ``X`` (or none) cut off: the parent sends all to the sibling."""
        parent = np.full(len(self.left), -1)
        inner = np.flatnonzero(self.left >= 0)
        parent[self.left[inner]] = inner
        parent[self.right[inner]] = inner
        while True:
            leaves, counts = np.unique(self.apply(X), return_counts=True)
            empty = np.setdiff1d(list(self.leaf_bounds(X.shape[1])), leaves)  # reached by no row of X
            changed = set()
            for leaf in np.r_[leaves[counts < min_rows], empty]:
                # a parent left with this one child is part of the leaf: cut off the whole branch
                node, p = leaf, parent[leaf]
                while p >= 0 and self.left[p] == self.right[p]:
                    node, p = p, parent[p]
                if p < 0 or p in changed:  # the whole tree, or a parent already changed: counts first
                    continue
                changed.add(p)
                if self.left[p] == node:
                    self.left[p] = self.right[p]
                else:
                    self.right[p] = self.left[p]
            if not changed:
                return self

    def leaf_bounds(self, n_features):
        """``{leaf: (low, high)}``: the box of each leaf reached from the root (a one-child parent splits nothing)."""
        low, high = np.full(n_features, -np.inf), np.full(n_features, np.inf)
        boxes, stack = {}, [(0, low, high)]
        while stack:
            node, low, high = stack.pop()
            left, right = self.left[node], self.right[node]
            if left < 0:
                boxes[node] = (low, high)
            elif left == right:
                stack.append((left, low, high))
            else:
                f, t = self.feature[node], self.threshold[node]
                left_high, right_low = high.copy(), low.copy()
                left_high[f], right_low[f] = min(high[f], t), max(low[f], t)
                stack += [(left, low, left_high), (right, right_low, high)]
        return boxes


def _log_truncated_normal(x, mean, sd, low, high):
    """Log-density at ``x`` of the normal law ``N(mean, sd^2)`` truncated to ``[low, high]`` (``sd > 0``)."""
    return truncnorm.logpdf(x, (low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)


def _rows_by_leaf(tree, X):
    """The rows of ``X`` ordered by the leaf of ``tree`` that holds them: the order and each ordered row's leaf."""
    of_row = tree.apply(X)
    order = np.argsort(of_row, kind="stable")
    return order, of_row[order]


def _members_by_leaf(tree, X):
    """The leaves of ``tree`` that hold rows of ``X``: their nodes, and the rows of each (index arrays)."""
    order, sorted_leaves = _rows_by_leaf(tree, X)
    leaves, first, counts = np.unique(sorted_leaves, return_index=True, return_counts=True)
    return leaves, [order[i : i + c] for i, c in zip(first, counts)]


def _resampled_leaves(trees, X, rng):
    """The adversarial loop's draws: the leaf of a random row in a random tree, each column a random row of it."""
    n, n_features = X.shape
    tree_of_draw = rng.randint(len(trees), size=n)
    out = np.empty_like(X)
    for t in np.unique(tree_of_draw):
        draws = np.flatnonzero(tree_of_draw == t)
        order, sorted_leaves = _rows_by_leaf(trees[t], X)
        leaf = sorted_leaves[np.argsort(order)][rng.randint(n, size=len(draws))]  # the leaf of random training rows
        start, stop = np.searchsorted(sorted_leaves, leaf), np.searchsorted(sorted_leaves, leaf, side="right")
        pick = start[:, None] + (rng.random_sample((len(draws), n_features)) * (stop - start)[:, None]).astype(np.intp)
        out[draws] = X[order[pick], np.arange(n_features)]
    return out


class _LeafLaws:
    """R arf's ``forde``: the leaves that hold training rows, their weights and their columns' laws."""

    def __init__(self, trees, X, categorical, alpha):
        n, n_features = X.shape
        self.trees, self.categorical = trees, categorical
        self.levels = {j: np.unique(X[:, j]) for j in np.flatnonzero(categorical)}
        low_range, high_range = X.min(axis=0), X.max(axis=0)
        self.index = []  # per tree: node -> row of the tables below (-1: a leaf without training rows)
        count, low, high, mean, sd = [], [], [], [], []
        probs = {j: [] for j in self.levels}
        for tree in trees:
            boxes = tree.leaf_bounds(n_features)
            leaves, members = _members_by_leaf(tree, X)
            index = np.full(len(tree.left), -1)
            index[leaves] = len(count) + np.arange(len(leaves))
            self.index.append(index)
            for leaf, rows in zip(leaves, members):
                lo, hi = boxes[leaf]
                values = X[rows]
                m = len(rows)
                spread = values.std(axis=0, ddof=1) if m > 1 else np.zeros(n_features)
                # R arf's prior where a column does not vary in the leaf: 95 % of a normal law in
                # the box (open sides closed at the training range), shrunk as sqrt(2 / rows)
                box_low, box_high = np.where(np.isfinite(lo), lo, low_range), np.where(np.isfinite(hi), hi, high_range)
                prior = np.sqrt(2.0 / m) * (box_high - box_low) / 2.0 / 1.959963984540054
                count.append(m)
                low.append(lo)
                high.append(hi)
                mean.append(values.mean(axis=0))
                sd.append(np.where(spread > 0, spread, prior))
                for j, levels in self.levels.items():
                    inside = (levels > lo[j]) & (levels <= hi[j])
                    counts = np.bincount(np.searchsorted(levels, values[:, j]), minlength=len(levels)).astype(np.float64)
                    probs[j].append(np.where(inside, counts + alpha, 0.0) / (m + alpha * inside.sum()))
        self.weight = np.asarray(count, dtype=np.float64) / (n * len(trees))
        self.low, self.high, self.mean, self.sd = map(np.array, (low, high, mean, sd))
        self.probs = {j: np.array(p) for j, p in probs.items()}

    def draw(self, n_samples, rng):
        """``forge``: a leaf by its weight, then every column from its law in the leaf."""
        return self._draw_in(rng.choice(len(self.weight), n_samples, p=self.weight), rng)

    def _draw_in(self, leaf, rng):
        """A row from the laws of each given leaf."""
        n_samples = len(leaf)
        mean, sd, low, high = self.mean[leaf], self.sd[leaf], self.low[leaf], self.high[leaf]
        spread = sd > 0  # none only for a column constant in all of the training rows
        scale = np.where(spread, sd, 1.0)
        with np.errstate(invalid="ignore"):
            out = truncnorm.rvs((low - mean) / scale, (high - mean) / scale, loc=mean, scale=scale, random_state=rng)
        out = np.where(spread, out, mean)
        for j, levels in self.levels.items():
            with np.errstate(divide="ignore"):  # levels outside the leaf's box have no mass
                out[:, j] = levels[draw_by_weight(np.log(self.probs[j][leaf]), rng.random_sample(n_samples))]
        return out

    def complete(self, X, rng):
        """Rows of ``X`` with their NaN drawn given the observed entries (see ``AdversarialRandomForest.impute``)."""
        observed = ~np.isnan(X)
        log_w = np.tile(np.log(self.weight), (len(X), 1))
        continuous = ~self.categorical
        for j in range(X.shape[1]):
            seen = np.flatnonzero(observed[:, j])
            if not seen.size:
                continue
            x = X[seen, j][:, None]
            inside = (x > self.low[None, :, j]) & (x <= self.high[None, :, j])
            if continuous[j]:
                mean, sd, low, high = self.mean[:, j], self.sd[:, j], self.low[:, j], self.high[:, j]
                with np.errstate(divide="ignore"):
                    term = _log_truncated_normal(x, mean, np.where(sd > 0, sd, 1.0), low, high)
                term = np.where(sd > 0, term, np.where(x == mean, 0.0, -np.inf))
            else:
                levels = self.levels[j]
                level = np.minimum(np.searchsorted(levels, X[seen, j]), len(levels) - 1)
                with np.errstate(divide="ignore"):  # a level outside a leaf's box, or never seen, has no mass
                    term = np.where((levels[level] == X[seen, j])[:, None], np.log(self.probs[j][:, level].T), -np.inf)
            log_w[seen] += np.where(inside, term, -np.inf)
        # a row no leaf holds (an entry outside every box of the training rows' leaves) keeps the leaves' weights
        lost = ~np.isfinite(log_w.max(axis=1))
        log_w[lost] = np.log(self.weight)
        drawn = self._draw_in(draw_by_weight(log_w, rng.random_sample(len(X))), rng)
        return np.where(observed, X, drawn)

    def log_density(self, X):
        """``lik``: the log of the mixture over the trees of the law of the leaf that holds each row."""
        if not (self.sd > 0).all():  # a column constant in the training rows: no density
            return np.full(len(X), np.nan)
        per_tree = np.full((len(X), len(self.trees)), -np.inf)
        for t, (tree, index) in enumerate(zip(self.trees, self.index)):
            leaf = index[tree.apply(X)]
            held = leaf >= 0
            rows = leaf[held]
            mean, sd, low, high = self.mean[rows], self.sd[rows], self.low[rows], self.high[rows]
            # the tree sends a row to the box of its leaf (float32 thresholds: clipped onto it)
            x = np.clip(X[held], low, high)
            log_f = _log_truncated_normal(x, mean, sd, low, high).sum(axis=1)
            per_tree[held, t] = np.log(self.weight[rows]) + log_f
        return logsumexp(per_tree, axis=1)

def installed(module):
    """Whether an optional package imports."""
    try:
        __import__(module)
    except ImportError:
        return False
    return True
