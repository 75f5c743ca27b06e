"""Gaussian kernel density estimates on Numba.

The density of a fitted tree model (``GradientBoostedScore.score_samples``)
is a Gaussian kernel density estimate on draws from it: its log-sum-exp over
the draws is the kernel here, parallel over the query rows like the engine's
other prediction kernels.
"""

import numpy as np
from numba import njit, prange

_FAR = 50.0


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def gaussian_kde_log_sum_exp(queries, points, inv_two_h2, out):
    """``out[i] = log sum_j exp(-|queries[i] - points[j]|^2 * inv_two_h2)``.

    Fused distances and log-sum-exp (shifted by each row's nearest point), in
    O(n_points) memory per row; parallel over the query rows.  Terms below
    ``exp(-_FAR)`` times the largest one are skipped: with ``_FAR = 50``
    and fewer than 1e12 points they change the sum by less than 1e-9 of it.
    The nearest point always counts (``<=``: far from the data the cut-off
    rounds to the nearest distance itself), so a far row gets the finite
    ``-best * inv_two_h2 + log(count of nearest)``, decreasing with the
    distance, until the squared distance overflows (beyond about 1e154,
    where the log-density is below -1e300 anyway): then ``-inf``.
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
            if buf[j] <= cutoff:  # farther terms are below exp(-_FAR) of the largest
                total += np.exp(-(buf[j] - best) * inv_two_h2)
        out[i] = -best * inv_two_h2 + np.log(total)
