"""Multi-output gradient-boosted regression trees on binned features.

One tree structure serves every output (the noise or velocity of all
columns): the splits are chosen on a low-dimensional sketch of the residuals
(Iosipoi & Vakhrushev, *SketchBoost*, NeurIPS 2022) and each leaf then holds
the mean residual of every output.  Building a histogram costs
``rows x features x (sketch + 1)`` instead of ``rows x features x outputs``
for one tree per output, which is what makes wide tables affordable.

Layout and conventions (shared with the scikit-learn and LightGBM learners):

- features are binned once per fit into ``uint8`` codes stored feature-major,
  ``codes[f, i]``; bin ``b`` of feature ``f`` holds the values
  ``thresholds[f, b - 1] < x <= thresholds[f, b]`` and the last code,
  ``missing_bin``, holds NaN;
- trees grow best-first (the leaf with the largest gain is split next) up to
  ``max_leaf_nodes`` leaves, ``max_depth`` levels and ``min_samples_leaf``
  rows per leaf; the histogram of the larger child is the parent's minus the
  smaller child's;
- a node ``m`` of tree ``t`` is a leaf when ``left[t, m] < 0``; rows go left
  when ``x <= threshold[t, m]`` (NaN follows ``missing_left``), and the
  leaf's outputs are ``leaf_values[t, leaf_slot[t, m]]``, already multiplied
  by the learning rate.

The fitting kernel grows every tree of one model sequentially and releases
the GIL: models (noise levels, classes) are fitted in parallel by joblib,
which scales better than splitting one small histogram over threads.  The
prediction kernel is parallel over rows, like the engine's other kernels.
"""

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _node_histogram(codes, idx, start, stop, grad, buffer, hist):
    """Sums of the sketched gradients and row counts per (feature, bin)."""
    n_features = codes.shape[0]
    k = grad.shape[1]
    n = stop - start
    # gather the node's gradient rows once: every feature then reads them in order
    for q in range(n):
        i = idx[start + q]
        for c in range(k):
            buffer[q, c] = grad[i, c]
    hist[:] = 0.0
    for f in range(n_features):
        row = codes[f]
        for q in range(n):
            b = row[idx[start + q]]
            for c in range(k):
                hist[f, b, c] += buffer[q, c]
            hist[f, b, k] += 1.0


@njit(cache=True, nogil=True)
def _subtract(parent, small, out):
    """The larger child's histogram: the parent's minus the smaller child's."""
    a, b, c = parent.shape
    for f in range(a):
        for i in range(b):
            for j in range(c):
                out[f, i, j] = parent[f, i, j] - small[f, i, j]


@njit(cache=True, nogil=True)
def _leaf_score(sums, count, l2):
    total = 0.0
    for c in range(sums.shape[0]):
        total += sums[c] * sums[c]
    return total / (count + l2)


@njit(cache=True, nogil=True)
def _best_split(hist, n_bins, missing_bin, totals, count, l2, min_samples_leaf, left_sums, result):
    """Best (gain, feature, bin, missing_left) of a node, written to ``result``.

    The gain of a split is ``|G_L|^2 / (n_L + l2) + |G_R|^2 / (n_R + l2) -
    |G|^2 / (n + l2)`` with ``G`` the sketched gradient sums: the decrease of
    the squared error summed over outputs, when the sketch is exact.  Each
    threshold is tried with the node's missing values on either side.
    ``result[0]`` stays 0 when no split has positive gain.
    """
    n_features = hist.shape[0]
    k = hist.shape[2] - 1
    parent = _leaf_score(totals, count, l2)
    result[0] = 0.0
    result[1] = -1.0
    result[2] = -1.0
    result[3] = 0.0
    for f in range(n_features):
        n_missing = hist[f, missing_bin, k]
        left_sums[:] = 0.0
        n_left = 0.0
        for b in range(n_bins[f]):
            for c in range(k):
                left_sums[c] += hist[f, b, c]
            n_left += hist[f, b, k]
            for side in range(2):  # 0: missing values go right, 1: left
                if side == 1 and n_missing == 0.0:
                    break
                n_l = n_left + side * n_missing
                n_r = count - n_l
                if n_l < min_samples_leaf or n_r < min_samples_leaf:
                    continue
                score_l = 0.0
                score_r = 0.0
                for c in range(k):
                    g_l = left_sums[c] + side * hist[f, missing_bin, c]
                    g_r = totals[c] - g_l
                    score_l += g_l * g_l
                    score_r += g_r * g_r
                gain = score_l / (n_l + l2) + score_r / (n_r + l2) - parent
                if gain > result[0]:
                    result[0] = gain
                    result[1] = f
                    result[2] = b
                    # with no missing value in the node, NaN follows the larger side
                    result[3] = 1.0 if (side == 1 or (n_missing == 0.0 and n_l >= n_r)) else 0.0


@njit(cache=True, nogil=True)
def _partition(codes, idx, start, stop, feature, split_bin, missing_bin, missing_left):
    """Reorder ``idx[start:stop]`` so the rows going left come first; return their count."""
    row = codes[feature]
    lo, hi = start, stop - 1
    while lo <= hi:
        b = row[idx[lo]]
        goes_left = missing_left if b == missing_bin else b <= split_bin
        if goes_left:
            lo += 1
        else:
            idx[lo], idx[hi] = idx[hi], idx[lo]
            hi -= 1
    return lo - start


@njit(cache=True, nogil=True)
def fit_boosted_trees(
    codes,
    n_bins,
    thresholds,
    residual,
    weight,
    sketches,
    learning_rate,
    l2_regularization,
    max_depth,
    min_samples_leaf,
    feature,
    threshold,
    missing_left,
    left,
    right,
    leaf_slot,
    leaf_values,
):
    """Fit ``feature.shape[0]`` trees to ``residual`` (squared loss), in place.

    Parameters
    ----------
    codes : uint8 array (n_features, n_rows)
        Binned inputs; code ``thresholds.shape[1]`` marks a missing value.
    n_bins : int array (n_features,)
        Number of non-missing bins of each feature.
    thresholds : float array (n_features, max_bins)
        Upper edge of each bin (``thresholds[f, b]`` for ``b < n_bins[f] - 1``).
    residual : float array (n_rows, n_outputs)
        Targets on entry; on exit, what the trees leave unexplained.
    weight : float array (n_rows, n_outputs) or (0, 0)
        0 where a target is missing, 1 elsewhere; empty when none is missing.
    sketches : float array (n_trees, n_outputs, k) or (0, 0, 0)
        Random projection of the residuals for each tree's splits; empty to
        split on the residuals themselves.
    learning_rate, l2_regularization : float
        Shrinkage of the leaf values; ridge penalty in the split gains and
        leaf values (in rows).
    max_depth : int
        Deepest level a leaf may sit at (the root is level 0).
    min_samples_leaf : int
        Fewest rows in a leaf.
    feature, threshold, missing_left, left, right, leaf_slot, leaf_values
        Output arrays of the trees, shapes ``(n_trees, 2 L - 1)`` and
        ``(n_trees, L, n_outputs)`` for ``L`` leaves at most.
    """
    n_features, n_rows = codes.shape
    n_outputs = residual.shape[1]
    n_trees, max_nodes = feature.shape
    max_leaves = leaf_values.shape[1]
    missing_bin = thresholds.shape[1]
    use_sketch = sketches.shape[0] > 0
    has_weight = weight.shape[0] > 0
    k = sketches.shape[2] if use_sketch else n_outputs

    grad = np.empty((n_rows, k)) if use_sketch else residual
    buffer = np.empty((n_rows, k))
    hist = np.empty((max_nodes, n_features, missing_bin + 1, k + 1))
    totals = np.empty((max_nodes, k))
    start = np.empty(max_nodes, np.int64)
    stop = np.empty(max_nodes, np.int64)
    depth = np.empty(max_nodes, np.int64)
    split = np.empty((max_nodes, 4))
    open_leaf = np.zeros(max_nodes, np.bool_)
    left_sums = np.empty(k)
    idx = np.arange(n_rows)
    sums = np.empty(n_outputs)
    mass = np.empty(n_outputs)

    for t in range(n_trees):
        if use_sketch:
            sketch = sketches[t]
            for i in range(n_rows):
                for c in range(k):
                    acc = 0.0
                    for j in range(n_outputs):
                        acc += residual[i, j] * sketch[j, c]
                    grad[i, c] = acc
        for i in range(n_rows):
            idx[i] = i
        left[t, :] = -1
        right[t, :] = -1
        leaf_slot[t, :] = -1
        feature[t, :] = -1
        threshold[t, :] = 0.0
        missing_left[t, :] = False
        open_leaf[:] = False

        start[0], stop[0], depth[0] = 0, n_rows, 0
        _node_histogram(codes, idx, 0, n_rows, grad, buffer, hist[0])
        for c in range(k):
            totals[0, c] = hist[0, 0, :, c].sum()
        n_nodes = 1
        n_leaves = 1
        if max_depth > 0:
            _best_split(
                hist[0], n_bins, missing_bin, totals[0], n_rows, l2_regularization, min_samples_leaf,
                left_sums, split[0],
            )
            open_leaf[0] = split[0, 0] > 0.0

        while n_leaves < max_leaves:
            best, best_gain = -1, 0.0
            for m in range(n_nodes):
                if open_leaf[m] and split[m, 0] > best_gain:
                    best, best_gain = m, split[m, 0]
            if best < 0:
                break
            m = best
            open_leaf[m] = False
            f = int(split[m, 1])
            b = int(split[m, 2])
            go_missing_left = split[m, 3] > 0.5
            n_left = _partition(codes, idx, start[m], stop[m], f, b, missing_bin, go_missing_left)
            lc, rc = n_nodes, n_nodes + 1
            n_nodes += 2
            n_leaves += 1
            feature[t, m] = f
            threshold[t, m] = thresholds[f, b] if b < n_bins[f] - 1 else np.inf
            missing_left[t, m] = go_missing_left
            left[t, m], right[t, m] = lc, rc
            start[lc], stop[lc] = start[m], start[m] + n_left
            start[rc], stop[rc] = start[m] + n_left, stop[m]
            depth[lc] = depth[m] + 1
            depth[rc] = depth[m] + 1
            small, large = (lc, rc) if n_left <= stop[m] - start[m] - n_left else (rc, lc)
            _node_histogram(codes, idx, start[small], stop[small], grad, buffer, hist[small])
            _subtract(hist[m], hist[small], hist[large])
            for child in (small, large):
                for c in range(k):
                    totals[child, c] = hist[child, 0, :, c].sum()
                if depth[child] < max_depth and stop[child] - start[child] >= 2 * min_samples_leaf:
                    _best_split(
                        hist[child], n_bins, missing_bin, totals[child], stop[child] - start[child],
                        l2_regularization, min_samples_leaf, left_sums, split[child],
                    )
                    open_leaf[child] = split[child, 0] > 0.0

        # leaf values: the (ridge) mean residual of every output, shrunk
        slot = 0
        for m in range(n_nodes):
            if left[t, m] >= 0:
                continue
            leaf_slot[t, m] = slot
            sums[:] = 0.0
            mass[:] = 0.0
            for p in range(start[m], stop[m]):
                i = idx[p]
                for j in range(n_outputs):
                    w = weight[i, j] if has_weight else 1.0
                    sums[j] += w * residual[i, j]
                    mass[j] += w
            for j in range(n_outputs):
                value = learning_rate * sums[j] / (mass[j] + l2_regularization) if mass[j] > 0.0 else 0.0
                leaf_values[t, slot, j] = value
            for p in range(start[m], stop[m]):
                i = idx[p]
                for j in range(n_outputs):
                    w = weight[i, j] if has_weight else 1.0
                    residual[i, j] -= w * leaf_values[t, slot, j]
            slot += 1


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def predict_boosted_trees(X, feature, threshold, missing_left, left, right, leaf_slot, leaf_values, out):
    """``out[i] += sum over trees of the leaf values reached by row X[i]``."""
    n = X.shape[0]
    n_trees = feature.shape[0]
    n_outputs = leaf_values.shape[2]
    for i in prange(n):
        for t in range(n_trees):
            m = 0
            while left[t, m] >= 0:
                x = X[i, feature[t, m]]
                if np.isnan(x):
                    go_left = missing_left[t, m]
                else:
                    go_left = x <= threshold[t, m]
                m = left[t, m] if go_left else right[t, m]
            s = leaf_slot[t, m]
            for j in range(n_outputs):
                out[i, j] += leaf_values[t, s, j]


@njit(cache=True, nogil=True)
def bin_codes(X, thresholds, n_bins, missing_bin, codes):
    """``codes[f, i]``: the bin of ``X[i, f]``, the number of edges below it.

    The edges of feature ``f`` are ``thresholds[f, :n_bins[f] - 1]``
    (increasing); a value equal to an edge falls in the bin below it, and
    NaN gets ``missing_bin``.  A binary search per entry (``numpy.searchsorted``
    on unsorted keys was the slowest step of a level's fit).  Serial and
    ``nogil``, like the fitting kernel: it runs inside the level workers.
    """
    n, n_features = X.shape
    for i in range(n):
        for f in range(n_features):
            x = X[i, f]
            if np.isnan(x):
                codes[f, i] = missing_bin
                continue
            lo, hi = 0, n_bins[f] - 1
            while lo < hi:
                mid = (lo + hi) // 2
                if thresholds[f, mid] < x:
                    lo = mid + 1
                else:
                    hi = mid
            codes[f, i] = lo


# ----------------------------------------------------------------------------
# The density of a fitted tree model (GradientBoostedScore.score_samples) is a
# Gaussian kernel density estimate on draws from it; its log-sum-exp is here.
_FAR = 50.0

@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def gaussian_kde_log_sum_exp(queries, points, inv_two_h2, out):
    """``out[i] = log sum_j exp(-|queries[i] - points[j]|^2 * inv_two_h2)``.

    Fused distances and log-sum-exp (shifted by each row's nearest point), in
    O(n_points) memory per row; parallel over the query rows.  Terms below
    ``exp(-_FAR)`` times the largest one are skipped: with ``_FAR = 50``
    and fewer than 1e12 points they change the sum by less than 1e-9 of it.
    A row whose distances overflow (a point far outside the data) gets
    ``-inf``.
    """
    n, d = queries.shape
    m = points.shape[0]
    for i in prange(n):
        buf = np.empty(m)
        best = np.inf
        for j in range(m):
            s = 0.0
            for c in range(d):
                diff = queries[i, c] - points[j, c]
                s += diff * diff
            buf[j] = s
            if s < best:
                best = s
        if not np.isfinite(best):
            out[i] = -np.inf
            continue
        total = 0.0
        cutoff = best + _FAR / inv_two_h2
        for j in range(m):
            if buf[j] < cutoff:  # farther terms are below exp(-_FAR) of the largest
                total += np.exp(-(buf[j] - best) * inv_two_h2)
        out[i] = -best * inv_two_h2 + np.log(total)
