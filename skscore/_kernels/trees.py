"""Multi-output gradient-boosted regression trees on binned features.

One tree structure serves every output (the noise or velocity of all
columns): the splits are chosen on a low-dimensional sketch of the residuals
(Iosipoi & Vakhrushev, *SketchBoost*, NeurIPS 2022) and each leaf then holds
the mean residual of every output.  Building a histogram costs
``rows x features x (sketch + 1)`` instead of ``rows x features x outputs``
for one tree per output, which is what makes wide tables affordable.

Layout and conventions (shared with the scikit-learn and LightGBM learners):

- features are binned once per fit into ``uint8`` codes stored row-major,
  ``codes[i, f]`` (a node's histogram then reads each of its rows' codes as
  one short run, not one scattered byte per feature); bin ``b`` of feature
  ``f`` holds the values ``thresholds[f, b - 1] < x <= thresholds[f, b]``
  and the last code, ``missing_bin``, holds NaN; the kernels take codes, bin
  counts and edges together as a :class:`BinnedFeatures`;
- trees grow best-first (the leaf with the largest gain is split next) up to
  ``max_leaf_nodes`` leaves, ``max_depth`` levels and ``min_samples_leaf``
  rows per leaf; the histogram of the larger child is the parent's minus the
  smaller child's, in the parent's place, and a child that cannot be split
  gets none (:func:`_split_leaf`);
- the fitted trees are a :class:`TreeEnsemble`, seven arrays indexed by tree
  ``t`` and node ``m`` (:func:`empty_ensemble` allocates them): node ``m`` is
  a leaf when ``left[t, m] < 0``; rows go left when ``x <= threshold[t, m]``
  (NaN follows ``missing_left``), and the leaf's outputs are
  ``leaf_values[t, leaf_slot[t, m]]``, already multiplied by the learning
  rate.

Named tuples reach the kernels as Numba tuples (typed per field, and cached
like arrays), so they cost nothing over passing their arrays one by one.

The fitting kernel grows every tree of one model sequentially (scoring
held-out rows after each when asked to stop early, :class:`EarlyStopping`)
and releases the GIL: models (noise levels, classes) are fitted in parallel
by joblib, which scales better than splitting one small histogram over
threads.  The prediction kernels are parallel over rows, like the engine's
other kernels.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange


class BinnedFeatures(NamedTuple):
    """The inputs of a fit, binned.

    ``codes``: uint8 ``(n_rows, n_features)``, code ``thresholds.shape[1]``
    marking a missing value; ``n_bins``: int ``(n_features,)``, the number of
    non-missing bins of each feature; ``thresholds``: float ``(n_features,
    max_bins)``, the upper edge of each bin (for ``b < n_bins[f] - 1``).
    """

    codes: np.ndarray
    n_bins: np.ndarray
    thresholds: np.ndarray


class BoosterParams(NamedTuple):
    """The scalar hyperparameters of :func:`fit_boosted_trees`.

    ``learning_rate`` shrinks the leaf values; ``l2_regularization`` is the
    ridge penalty (in rows) of the split gains and leaf values; ``max_depth``
    is the deepest level a leaf may sit at (the root is level 0);
    ``min_samples_leaf`` the fewest rows in a leaf.
    """

    learning_rate: float
    l2_regularization: float
    max_depth: int
    min_samples_leaf: int


class EarlyStopping(NamedTuple):
    """Held-out noised rows on which :func:`fit_boosted_trees` stops adding trees.

    ``inputs``: float ``(n_rows, n_features)``, NaN allowed; ``residual``:
    float ``(n_rows, n_outputs)``, their targets minus what the trees are
    fitted on top of (0 where a target is missing); ``weight``: 0 where a
    target is missing, 1 elsewhere, or ``(0, 0)`` when none is;
    ``bandwidth``: the soft splits' standard deviation per input, or empty
    for hard splits.  Fitting stops once ``n_iter_no_change`` trees in a row
    have failed to lower the rows' squared residual by ``tol`` times itself.
    ``inputs`` without rows: no early stopping (:func:`no_early_stopping`).
    """

    inputs: np.ndarray
    residual: np.ndarray
    weight: np.ndarray
    bandwidth: np.ndarray
    n_iter_no_change: int
    tol: float


def no_early_stopping():
    """An :class:`EarlyStopping` without rows: every tree is fitted."""
    return EarlyStopping(np.empty((0, 0)), np.empty((0, 0)), np.empty((0, 0)), np.empty(0), 0, 0.0)


class TreeEnsemble(NamedTuple):
    """Fitted trees: node arrays ``(n_trees, 2 L - 1)`` and leaf values
    ``(n_trees, L, n_outputs)``, for ``L`` leaves at most per tree."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf_slot: np.ndarray
    leaf_values: np.ndarray


def empty_ensemble(n_trees, max_leaf_nodes, n_outputs):
    """``n_trees`` trees of a single leaf predicting 0, to fit in place."""
    n_nodes = 2 * max_leaf_nodes - 1
    return TreeEnsemble(
        feature=np.zeros((n_trees, n_nodes), dtype=np.int32),
        threshold=np.zeros((n_trees, n_nodes)),
        missing_left=np.zeros((n_trees, n_nodes), dtype=np.bool_),
        left=np.full((n_trees, n_nodes), -1, dtype=np.int32),
        right=np.full((n_trees, n_nodes), -1, dtype=np.int32),
        leaf_slot=np.zeros((n_trees, n_nodes), dtype=np.int32),
        leaf_values=np.zeros((n_trees, max_leaf_nodes, n_outputs)),
    )


class _Workspace(NamedTuple):
    """Scratch arrays of one fit, allocated once for all its trees.

    The rows of node ``m`` are ``idx[start[m]:stop[m]]``, in increasing
    order (``scratch`` holds a split's right side while it partitions them,
    :func:`_partition`); ``hist[slot[m]]``,
    ``totals[m]`` and ``split[m]`` are its gradient histogram, gradient sums
    and best split (gain, feature, bin, missing_left), and ``open_leaf[m]``
    says whether it is a leaf that may still be split; ``cum`` and ``gains``
    are the split search's scratch (:func:`_split_gains`).

    Histograms live in a pool of one slot per leaf a tree may have: only an
    open leaf holds one (``free[:n_free[0]]`` are the others), and the larger
    child of a split takes over its parent's, subtracting in place.  A node's
    histogram is as wide as every feature's bins whatever its rows, so a
    slot per node would be tens of megabytes written once and read once.
    """

    grad: np.ndarray
    idx: np.ndarray
    scratch: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    depth: np.ndarray
    hist: np.ndarray
    slot: np.ndarray
    free: np.ndarray
    n_free: np.ndarray
    totals: np.ndarray
    split: np.ndarray
    open_leaf: np.ndarray
    cum: np.ndarray
    gains: np.ndarray
    sums: np.ndarray
    mass: np.ndarray


@njit(cache=True, nogil=True)
def _workspace(binned, residual, sketches, max_nodes):
    n_rows, n_features = binned.codes.shape
    n_outputs = residual.shape[1]
    missing_bin = binned.thresholds.shape[1]
    use_sketch = sketches.shape[0] > 0
    k = sketches.shape[2] if use_sketch else n_outputs
    n_slots = (max_nodes + 1) // 2 + 1  # the leaves, and the smaller child of the split that makes the last one
    return _Workspace(
        np.empty((n_rows, k)) if use_sketch else residual,
        np.arange(n_rows),
        np.empty(n_rows, np.int64),
        np.empty(max_nodes, np.int64),
        np.empty(max_nodes, np.int64),
        np.empty(max_nodes, np.int64),
        np.empty((n_slots, n_features, missing_bin + 1, k + 1)),
        np.empty(max_nodes, np.int64),
        np.arange(n_slots),
        np.array([n_slots]),
        np.empty((max_nodes, k)),
        np.empty((max_nodes, 4)),
        np.zeros(max_nodes, np.bool_),
        np.empty((k + 1, missing_bin + 1)),
        np.empty((2, 3, missing_bin + 1)),
        np.empty(n_outputs),
        np.empty(n_outputs),
    )


@njit(cache=True, nogil=True)
def _sketch(residual, sketch, grad):
    """``grad = residual @ sketch``."""
    n_rows, n_outputs = residual.shape
    k = sketch.shape[1]
    if k == 4:
        # the default sketch: four running sums in registers over one pass of the row (each in the same order)
        for i in range(n_rows):
            a0 = a1 = a2 = a3 = 0.0
            for j in range(n_outputs):
                r = residual[i, j]
                a0 += r * sketch[j, 0]
                a1 += r * sketch[j, 1]
                a2 += r * sketch[j, 2]
                a3 += r * sketch[j, 3]
            grad[i, 0], grad[i, 1], grad[i, 2], grad[i, 3] = a0, a1, a2, a3
        return
    for i in range(n_rows):
        for c in range(k):
            acc = 0.0
            for j in range(n_outputs):
                acc += residual[i, j] * sketch[j, c]
            grad[i, c] = acc


@njit(cache=True, nogil=True)
def _node_histogram(codes, work, m):
    """Sums of the sketched gradients and row counts per (feature, bin) of node ``m``.

    Row by row: a row's codes are adjacent, and its features' updates fall in
    different histograms, so they do not wait on each other as consecutive
    rows falling in one bin of one feature would (each bin still adds its
    rows in the node's order, so the sums are those of a feature-by-feature
    loop, bit for bit).
    """
    n_features = codes.shape[1]
    idx, grad, hist = work.idx, work.grad, work.hist[work.slot[m]]
    k = grad.shape[1]
    hist[:] = 0.0
    for q in range(work.start[m], work.stop[m]):
        i = idx[q]
        row = codes[i]
        if k == 4:
            # the default sketch, unrolled: a loop over a runtime k makes this kernel twice as slow
            g0, g1, g2, g3 = grad[i, 0], grad[i, 1], grad[i, 2], grad[i, 3]
            for f in range(n_features):
                b = np.intp(row[f])
                hist[f, b, 0] += g0
                hist[f, b, 1] += g1
                hist[f, b, 2] += g2
                hist[f, b, 3] += g3
                hist[f, b, 4] += 1.0
            continue
        for f in range(n_features):
            b = np.intp(row[f])
            for c in range(k):
                hist[f, b, c] += grad[i, c]
            hist[f, b, k] += 1.0


@njit(cache=True, nogil=True)
def _subtract_in_place(parent, small):
    """The larger child's histogram, in its parent's place: the parent's minus the smaller child's (one flat loop)."""
    parent, small = parent.reshape(-1), small.reshape(-1)
    for i in range(parent.shape[0]):
        parent[i] = parent[i] - small[i]


@njit(cache=True, nogil=True)
def _take_slot(work, m):
    """Give node ``m`` a free histogram slot."""
    work.n_free[0] -= 1
    work.slot[m] = work.free[work.n_free[0]]


@njit(cache=True, nogil=True)
def _release_slot(work, m):
    """Return node ``m``'s histogram slot to the pool."""
    work.free[work.n_free[0]] = work.slot[m]
    work.n_free[0] += 1


@njit(cache=True, nogil=True)
def _leaf_score(sums, count, l2):
    total = 0.0
    for c in range(sums.shape[0]):
        total += sums[c] * sums[c]
    return total / (count + l2)


@njit(cache=True, nogil=True)
def _best_split(hist, n_bins, totals, count, params, work, result):
    """Best (gain, feature, bin, missing_left) of a node, written to ``result``.

    The gain of a split is ``|G_L|^2 / (n_L + l2) + |G_R|^2 / (n_R + l2) -
    |G|^2 / (n + l2)`` with ``G`` the sketched gradient sums: the decrease of
    the squared error summed over outputs, when the sketch is exact.
    ``result[0]`` stays 0 when no split has positive gain.
    """
    parent = _leaf_score(totals, count, params.l2_regularization)
    result[0] = 0.0
    result[1] = -1.0
    result[2] = -1.0
    result[3] = 0.0
    for f in range(hist.shape[0]):
        lo, hi = _split_gains(hist[f], n_bins[f], totals, count, parent, params, work.cum, work.gains)
        _best_split_of_feature(hist[f], lo, hi, count, params.min_samples_leaf, work.cum[-1], work.gains, f, result)


@njit(cache=True, nogil=True, error_model="numpy")
def _split_gains(hist, n_bins, totals, count, parent, params, cum, gains):
    """``gains[side, 2, b]``: the gain of the threshold after bin ``b``, missing values right (side 0) or left (1).

    ``cum[c, b]`` receives the sums of channel ``c`` (the sketched gradients,
    then the row count) over bins ``0..b``.  The gains are computed only for
    the bins ``lo <= b < hi`` returned: outside them neither side of the
    threshold keeps ``min_samples_leaf`` rows, whichever side the missing
    values take (the counts grow with ``b``), and in the many small nodes of
    a tree that is most of a feature's bins.  Each pass runs over the bins of
    one channel, so the compiler can vectorize it (the numpy error model lets
    a division by an empty side give inf or NaN instead of raising; such
    thresholds are never chosen, see :func:`_best_split_of_feature`).
    """
    missing_bin = hist.shape[0] - 1
    k = hist.shape[1] - 1
    n_missing = hist[missing_bin, k]
    if k == 4:
        # the default sketch: running sums held in registers, not re-read from cum
        s0 = s1 = s2 = s3 = s4 = 0.0
        for b in range(n_bins):
            s0 += hist[b, 0]
            s1 += hist[b, 1]
            s2 += hist[b, 2]
            s3 += hist[b, 3]
            s4 += hist[b, 4]
            cum[0, b], cum[1, b], cum[2, b], cum[3, b], cum[4, b] = s0, s1, s2, s3, s4
    else:
        for c in range(k + 1):
            cum[c, 0] = hist[0, c]
        for b in range(1, n_bins):
            for c in range(k + 1):
                cum[c, b] = cum[c, b - 1] + hist[b, c]
    counts, l2, min_samples_leaf = cum[k], params.l2_regularization, params.min_samples_leaf
    lo = 0
    while lo < n_bins and counts[lo] + n_missing < min_samples_leaf:
        lo += 1
    hi = n_bins
    while hi > lo and count - counts[hi - 1] < min_samples_leaf:
        hi -= 1
    width = hi - lo
    for side in range(2 if n_missing > 0.0 else 1):
        score_l, score_r, gain = gains[side, 0, lo:hi], gains[side, 1, lo:hi], gains[side, 2, lo:hi]
        score_l[:] = 0.0
        score_r[:] = 0.0
        for c in range(k):
            sums = cum[c, lo:hi]
            missing = side * hist[missing_bin, c]
            total = totals[c]
            for b in range(width):
                g_l = sums[b] + missing
                g_r = total - g_l
                score_l[b] += g_l * g_l
                score_r[b] += g_r * g_r
        extra = side * n_missing
        counts_in = counts[lo:hi]
        for b in range(width):
            n_l = counts_in[b] + extra
            gain[b] = score_l[b] / (n_l + l2) + score_r[b] / (count - n_l + l2) - parent
    return lo, hi


@njit(cache=True, nogil=True)
def _best_split_of_feature(hist, lo, hi, count, min_samples_leaf, counts, gains, f, result):
    """Update ``result`` with the thresholds of feature ``f`` after bins ``lo`` to ``hi - 1`` that gain more.

    Thresholds are tried in order, each with the node's missing values right
    then left, and only where both sides keep ``min_samples_leaf`` rows (the
    range holds every such threshold).
    """
    n_missing = hist[hist.shape[0] - 1, hist.shape[1] - 1]
    for b in range(lo, hi):
        for side in range(2):
            if side == 1 and n_missing == 0.0:
                break
            n_l = counts[b] + side * n_missing
            n_r = count - n_l
            if n_l < min_samples_leaf or n_r < min_samples_leaf:
                continue
            gain = gains[side, 2, b]
            if gain > result[0]:
                result[0] = gain
                result[1] = f
                result[2] = b
                # with no missing value in the node, NaN follows the larger side
                result[3] = 1.0 if (side == 1 or (n_missing == 0.0 and n_l >= n_r)) else 0.0


@njit(cache=True, nogil=True)
def _partition(row, idx, scratch, split_bin, missing_bin, missing_left):
    """Move the rows going left to the front of ``idx``, keeping the order on each side; return their count.

    Without a branch on the row's side (which is a coin toss near the root
    and mispredicted half the time): each row is written to both the left
    end of ``idx`` (never ahead of the row being read) and ``scratch``, and
    only its side's count moves on.
    """
    n_left = 0
    n_right = 0
    for q in range(idx.shape[0]):
        i = idx[q]
        b = row[i]
        goes_left = np.intp(missing_left if b == missing_bin else b <= split_bin)
        idx[n_left] = i
        scratch[n_right] = i
        n_left += goes_left
        n_right += 1 - goes_left
    idx[n_left:] = scratch[:n_right]
    return n_left


@njit(cache=True, nogil=True)
def _may_split(params, work, m):
    """Whether node ``m`` is shallow and large enough to split at all."""
    return work.depth[m] < params.max_depth and work.stop[m] - work.start[m] >= 2 * params.min_samples_leaf


@njit(cache=True, nogil=True)
def _consider_split(binned, params, work, m):
    """Sum node ``m``'s gradients (its histogram built) and open it to splitting if a split gains.

    A node left closed gives its histogram slot back.
    """
    hist = work.hist[work.slot[m]]
    for c in range(work.totals.shape[1]):
        work.totals[m, c] = hist[0, :, c].sum()
    count = work.stop[m] - work.start[m]
    _best_split(hist, binned.n_bins, work.totals[m], count, params, work, work.split[m])
    work.open_leaf[m] = work.split[m, 0] > 0.0
    if not work.open_leaf[m]:
        _release_slot(work, m)


@njit(cache=True, nogil=True)
def _best_open_leaf(work, n_nodes):
    """The open leaf of largest gain, or -1 when none is left."""
    best, best_gain = -1, 0.0
    for m in range(n_nodes):
        if work.open_leaf[m] and work.split[m, 0] > best_gain:
            best, best_gain = m, work.split[m, 0]
    return best


@njit(cache=True, nogil=True)
def _split_leaf(binned, params, trees, t, work, m, n_nodes, children_may_grow):
    """Split leaf ``m`` of tree ``t`` as ``work.split[m]`` says into nodes ``n_nodes, n_nodes + 1``.

    The children's histograms and best splits are computed only where they
    can be used: not when the tree is full (``children_may_grow`` false), not
    for a child too small or deep to split, and the smaller child's histogram
    only when one of them may split.  Most of a tree's leaves are such nodes
    (small nodes cost the full width of a histogram), and skipping them
    changes nothing in the tree.
    """
    work.open_leaf[m] = False
    f = int(work.split[m, 1])
    b = int(work.split[m, 2])
    go_missing_left = work.split[m, 3] > 0.5
    start, stop = work.start[m], work.stop[m]
    n_left = _partition(
        binned.codes[:, f], work.idx[start:stop], work.scratch, b, binned.thresholds.shape[1], go_missing_left
    )
    lc, rc = n_nodes, n_nodes + 1
    trees.feature[t, m] = f
    trees.threshold[t, m] = binned.thresholds[f, b] if b < binned.n_bins[f] - 1 else np.inf
    trees.missing_left[t, m] = go_missing_left
    trees.left[t, m], trees.right[t, m] = lc, rc
    work.start[lc], work.stop[lc] = start, start + n_left
    work.start[rc], work.stop[rc] = start + n_left, stop
    work.depth[lc] = work.depth[m] + 1
    work.depth[rc] = work.depth[m] + 1
    small, large = (lc, rc) if n_left <= stop - start - n_left else (rc, lc)
    small_may_split = children_may_grow and _may_split(params, work, small)
    large_may_split = children_may_grow and _may_split(params, work, large)
    if not (small_may_split or large_may_split):
        _release_slot(work, m)
        return
    _take_slot(work, small)
    _node_histogram(binned.codes, work, small)
    if large_may_split:
        work.slot[large] = work.slot[m]
        _subtract_in_place(work.hist[work.slot[large]], work.hist[work.slot[small]])
    else:
        _release_slot(work, m)
    if small_may_split:
        _consider_split(binned, params, work, small)
    else:
        _release_slot(work, small)
    if large_may_split:
        _consider_split(binned, params, work, large)


@njit(cache=True, nogil=True)
def _grow_tree(binned, params, trees, t, work):
    """Grow tree ``t`` on all the rows, best-first; return its number of nodes."""
    n_rows = work.idx.shape[0]
    for i in range(n_rows):
        work.idx[i] = i
    trees.left[t, :] = -1
    trees.right[t, :] = -1
    trees.leaf_slot[t, :] = -1
    trees.feature[t, :] = -1
    trees.threshold[t, :] = 0.0
    trees.missing_left[t, :] = False
    work.open_leaf[:] = False
    for j in range(work.free.shape[0]):
        work.free[j] = j
    work.n_free[0] = work.free.shape[0]
    work.start[0], work.stop[0], work.depth[0] = 0, n_rows, 0
    max_leaves = trees.leaf_values.shape[1]
    if max_leaves > 1 and _may_split(params, work, 0):
        _take_slot(work, 0)
        _node_histogram(binned.codes, work, 0)
        _consider_split(binned, params, work, 0)
    n_nodes, n_leaves = 1, 1
    while n_leaves < max_leaves:
        m = _best_open_leaf(work, n_nodes)
        if m < 0:
            break
        _split_leaf(binned, params, trees, t, work, m, n_nodes, n_leaves + 1 < max_leaves)
        n_nodes += 2
        n_leaves += 1
    return n_nodes


@njit(cache=True, nogil=True)
def _fit_leaf(residual, weight, rows, params, work, value):
    """Set ``value`` to the (ridge) mean residual of ``rows``, shrunk, and take it off them."""
    n_outputs = residual.shape[1]
    has_weight = weight.shape[0] > 0
    sums, mass = work.sums, work.mass
    sums[:] = 0.0
    if has_weight:
        mass[:] = 0.0
        for i in rows:
            for j in range(n_outputs):
                sums[j] += weight[i, j] * residual[i, j]
                mass[j] += weight[i, j]
    else:  # the common case, without the weights' loads
        mass[:] = len(rows)
        for i in rows:
            for j in range(n_outputs):
                sums[j] += residual[i, j]
    for j in range(n_outputs):
        if mass[j] > 0.0:
            value[j] = params.learning_rate * sums[j] / (mass[j] + params.l2_regularization)
        else:
            value[j] = 0.0
    if has_weight:
        for i in rows:
            for j in range(n_outputs):
                residual[i, j] -= weight[i, j] * value[j]
    else:
        for i in rows:
            for j in range(n_outputs):
                residual[i, j] -= value[j]


@njit(cache=True, nogil=True)
def fit_boosted_trees(binned, residual, weight, sketches, params, trees, stopping):
    """Fit the trees of ``trees`` to ``residual`` (squared loss), in place; return how many to keep.

    Parameters
    ----------
    binned : BinnedFeatures
        The inputs, binned.
    residual : float array (n_rows, n_outputs)
        Targets on entry; on exit, what the fitted trees leave unexplained.
    weight : float array (n_rows, n_outputs) or (0, 0)
        0 where a target is missing, 1 elsewhere; empty when none is missing.
    sketches : float array (n_trees, n_outputs, k) or (0, 0, 0)
        Random projection of the residuals for each tree's splits; empty to
        split on the residuals themselves.
    params : BoosterParams
    trees : TreeEnsemble
        Overwritten; its shapes (from :func:`empty_ensemble`) give the number
        of trees and of leaves per tree.
    stopping : EarlyStopping
        Held-out rows: after each tree their squared residual is measured,
        and fitting stops once it has not improved for
        ``stopping.n_iter_no_change`` trees; the trees to keep are those up
        to the best.  Without rows, all the trees are fitted and kept.
    """
    n_trees, max_nodes = trees.feature.shape
    work = _workspace(binned, residual, sketches, max_nodes)
    stopping_early = stopping.inputs.shape[0] > 0
    held_out_prediction = np.zeros(stopping.residual.shape)
    paths = _paths(max_nodes)
    best_loss = _held_out_loss(stopping, held_out_prediction)
    kept = 0 if stopping_early else n_trees
    for t in range(n_trees):
        if sketches.shape[0] > 0:
            _sketch(residual, sketches[t], work.grad)
        n_nodes = _grow_tree(binned, params, trees, t, work)
        slot = 0
        for m in range(n_nodes):
            if trees.left[t, m] < 0:
                trees.leaf_slot[t, m] = slot
                rows = work.idx[work.start[m] : work.stop[m]]
                _fit_leaf(residual, weight, rows, params, work, trees.leaf_values[t, slot])
                slot += 1
        if stopping_early:
            _add_held_out_predictions(stopping, trees, t, held_out_prediction, paths)
            loss = _held_out_loss(stopping, held_out_prediction)
            if loss < best_loss * (1.0 - stopping.tol):
                best_loss, kept = loss, t + 1
            elif t + 1 - kept >= stopping.n_iter_no_change:
                break
    return kept


@njit(cache=True, nogil=True)
def _held_out_loss(stopping, prediction):
    """Squared residual of the held-out rows, summed over their observed targets."""
    has_weight = stopping.weight.shape[0] > 0
    total = 0.0
    for i in range(prediction.shape[0]):
        for j in range(prediction.shape[1]):
            r = stopping.residual[i, j] - prediction[i, j]
            if has_weight:
                total += stopping.weight[i, j] * r * r
            else:
                total += r * r
    return total


@njit(cache=True, nogil=True)
def _add_held_out_predictions(stopping, trees, t, prediction, paths):
    """``prediction +=`` tree ``t``'s prediction at the held-out rows, with soft splits when it has them."""
    n, bandwidth = prediction.shape[0], stopping.bandwidth
    if bandwidth.shape[0] > 0:
        _add_soft_trees(stopping.inputs, 0, n, trees, t, t + 1, bandwidth, prediction, np.empty(0), True, paths)
    else:
        _add_hard_trees(stopping.inputs, 0, n, trees, t, t + 1, prediction)


@njit(cache=True, nogil=True)
def _add_hard_trees(X, first_row, stop_row, trees, first, stop, out):
    """``out[i] +=`` the leaf values that ``X[i]`` reaches in trees ``first`` to ``stop - 1``, rows of a range.

    NaN follows ``missing_left``.  Ranges of rows and trees, so that the
    callers (a parallel loop over rows, the held-out rows of one tree) make
    few calls: a call per row and tree costs more than a small tree's walk.
    """
    feature, threshold, missing_left, left, right, leaf_slot, leaf_values = trees
    for i in range(first_row, stop_row):
        for t in range(first, stop):
            m = 0
            while left[t, m] >= 0:
                x = X[i, feature[t, m]]
                if np.isnan(x):
                    go_left = missing_left[t, m]
                else:
                    go_left = x <= threshold[t, m]
                m = left[t, m] if go_left else right[t, m]
            s = leaf_slot[t, m]
            for j in range(out.shape[1]):
                out[i, j] += leaf_values[t, s, j]


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def predict_boosted_trees(X, trees, out):
    """``out[i] += sum over trees of the leaf values reached by row X[i]``."""
    for i in prange(X.shape[0]):
        _add_hard_trees(X, i, i + 1, trees, 0, trees.feature.shape[0], out)


# the soft split's kernel is the biweight (15/16)(1 - r^2)^2 on [-1, 1]: its
# distribution function is polynomial, exactly 0 or 1 outside the window (so
# paths are pruned exactly) and twice differentiable inside it; its standard
# deviation is 1/sqrt(7) of the half-width
BIWEIGHT_HALF_WIDTH = math.sqrt(7.0)


@njit(cache=True, nogil=True)
def _soft_branch(x, threshold, h):
    """Probabilities of going left and right, and the derivative in ``x`` of going right.

    The split ``x <= threshold`` smoothed by a biweight kernel of standard
    deviation ``h``: ``P(right) = F((x - threshold) / w)`` with ``w = sqrt(7) h``
    and ``F`` the kernel's distribution function.
    """
    w = BIWEIGHT_HALF_WIDTH * h
    r = (x - threshold) / w
    if r <= -1.0:
        return 1.0, 0.0, 0.0
    if r >= 1.0:
        return 0.0, 1.0, 0.0
    # F(r) = u^3 (20 - 15 u + 3 u^2) / 16 with u = 1 + r, and 1 - F(r) the
    # same in u = 1 - r: each side from its own end, accurate when small
    u, v = 1.0 + r, 1.0 - r
    p_right = u * u * u * (20.0 - 15.0 * u + 3.0 * u * u) / 16.0
    p_left = v * v * v * (20.0 - 15.0 * v + 3.0 * v * v) / 16.0
    return p_left, p_right, 0.9375 * (u * v) ** 2 / w


class _Paths(NamedTuple):
    """Scratch of the depth-first walks of soft trees (one per row of the prediction loop, one per fit's held-out rows).

    The stack holds nodes still to visit with their path probability, depth
    and the split (feature, ``d log p / dx``) that led to them; ``path_*``
    hold the splits of the current path.
    """

    node: np.ndarray
    prob: np.ndarray
    depth: np.ndarray
    feature: np.ndarray
    dlog: np.ndarray
    path_feature: np.ndarray
    path_dlog: np.ndarray


@njit(cache=True, nogil=True)
def _paths(n_nodes):
    return _Paths(
        np.empty(n_nodes, dtype=np.int64),
        np.empty(n_nodes),
        np.empty(n_nodes, dtype=np.int64),
        np.empty(n_nodes, dtype=np.int64),
        np.empty(n_nodes),
        np.empty(n_nodes, dtype=np.int64),
        np.empty(n_nodes),
    )


@njit(cache=True, nogil=True)
def _add_soft_trees(X, first_row, stop_row, trees, first, stop, bandwidth, out, divergence, with_missing, paths):
    """``out[i] +=`` soft trees ``first`` to ``stop - 1`` at ``X[i]`` and ``divergence[i] +=`` theirs, rows of a range.

    A depth-first walk follows both children of a split only inside its
    window: it descends to the left child (or the only one reached) and
    stacks the right one where both are, so most splits, away from their
    window, cost no stack traffic.  With ``with_missing``, a NaN input
    follows ``missing_left`` with probability 1 (the flow's rows have none,
    and skip the test).  An empty ``divergence`` skips it and the splits'
    slopes along the path.  Ranges of rows and trees, as
    :func:`_add_hard_trees`.
    """
    feature, threshold, missing_left, left, right, leaf_slot, leaf_values = trees
    stack_node, stack_prob, stack_depth, stack_feature, stack_dlog, path_feature, path_dlog = paths
    with_divergence = divergence.shape[0] > 0
    for i in range(first_row, stop_row):
        div = 0.0
        for t in range(first, stop):
            m, prob, depth, top = 0, 1.0, 0, 0
            while True:
                while left[t, m] >= 0:
                    f = feature[t, m]
                    x = X[i, f]
                    if with_missing and np.isnan(x):
                        p_left, p_right, slope = (1.0, 0.0, 0.0) if missing_left[t, m] else (0.0, 1.0, 0.0)
                    else:
                        p_left, p_right, slope = _soft_branch(x, threshold[t, m], bandwidth[f])
                    if p_left == 0.0:
                        m, prob, dlog = right[t, m], prob * p_right, slope / p_right
                    else:
                        if p_right > 0.0:
                            stack_node[top], stack_prob[top], stack_depth[top] = right[t, m], prob * p_right, depth + 1
                            stack_feature[top], stack_dlog[top] = f, slope / p_right
                            top += 1
                        m, prob, dlog = left[t, m], prob * p_left, -slope / p_left
                    if with_divergence:
                        path_feature[depth], path_dlog[depth] = f, dlog
                    depth += 1
                s = leaf_slot[t, m]
                for j in range(out.shape[1]):
                    out[i, j] += prob * leaf_values[t, s, j]
                if with_divergence:
                    slope = 0.0
                    for q in range(depth):
                        slope += leaf_values[t, s, path_feature[q]] * path_dlog[q]
                    div += prob * slope
                if top == 0:
                    break
                top -= 1
                m, prob, depth = stack_node[top], stack_prob[top], stack_depth[top]
                if with_divergence:
                    path_feature[depth - 1], path_dlog[depth - 1] = stack_feature[top], stack_dlog[top]
        if with_divergence:
            divergence[i] += div


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def predict_smoothed_trees(X, trees, bandwidth, out, divergence):
    """Soft-split trees: ``out[i] +=`` their prediction and ``divergence[i] +=`` its divergence.

    Every split ``x_f <= threshold`` is smoothed into a probability that
    rises from 0 to 1 over ``threshold +- sqrt(7) bandwidth[f]`` (the
    distribution function of a biweight kernel of standard deviation
    ``bandwidth[f]``), so a tree is the smooth function
    ``sum over leaves of value * P(path)``.  Its Jacobian is in closed form:
    ``d P(path) / d x_f`` sums, over the path's splits on ``f``, the split's
    derivative times the other splits' probabilities, so the divergence
    ``sum_j d out_j / d x_j`` adds, at each leaf, ``P(path)`` times the sum
    over the path's splits of ``value[f] * d log p / d x_f``.  A depth-first
    walk follows both children of a split only inside its window, and a NaN
    input follows ``missing_left`` (a scan of ``X`` spares rows without NaN
    that test).  Inputs and outputs have the same columns (the noise or
    velocity of each input column).
    An empty ``divergence`` (length 0) skips the divergence, for sampling.
    """
    n_trees, n_nodes = trees.feature.shape
    with_missing = np.isnan(X).any()
    for i in prange(X.shape[0]):
        _add_soft_trees(X, i, i + 1, trees, 0, n_trees, bandwidth, out, divergence, with_missing, _paths(n_nodes))


# enough independent searches to keep the loads in flight, few enough for registers
_SEARCHES_AT_ONCE = 8


@njit(cache=True, nogil=True)
def bin_codes(X, thresholds, n_bins, missing_bin, codes):
    """``codes[i, f]``: the bin of ``X[i, f]``, the number of edges below it.

    The edges of feature ``f`` are ``thresholds[f, :n_bins[f] - 1]``
    (increasing); a value equal to an edge falls in the bin below it, and
    NaN gets ``missing_bin``.  A binary search per entry, for several entries
    of a column at once: each step of a search waits for its last load, but
    the searches do not wait on each other, and without a branch on the
    comparisons (coin tosses) their steps overlap.  Serial and ``nogil``,
    like the fitting kernel: it runs inside the level workers.
    """
    n, n_features = X.shape
    base = np.empty(_SEARCHES_AT_ONCE, np.int64)
    x = np.empty(_SEARCHES_AT_ONCE)
    for f in range(n_features):
        edges = thresholds[f]
        for first in range(0, n, _SEARCHES_AT_ONCE):
            size = min(_SEARCHES_AT_ONCE, n - first)
            for r in range(size):
                x[r] = X[first + r, f]
                base[r] = 0
            width = n_bins[f]  # each answer is one of base[r] .. base[r] + width - 1
            while width > 1:
                half = width >> 1
                for r in range(size):
                    base[r] += half * (edges[base[r] + half - 1] < x[r])
                width -= half
            for r in range(size):
                codes[first + r, f] = missing_bin if np.isnan(x[r]) else base[r]
