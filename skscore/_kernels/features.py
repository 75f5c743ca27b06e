"""Random sine features, fused around the BLAS projection ``X @ W``.

``np.sin`` calls libm once per element and does not vectorize; the branch-free
polynomial below (Cody-Waite reduction to [-pi/2, pi/2], then the Taylor
series to degree 17, truncation error < 5e-14) is plain arithmetic that LLVM
vectorizes without fastmath (its measured speed-up is in the random features
guide).  Its absolute error is below 1e-12 for |x| < 1e4, far below what a
least-squares fit of the features can resolve.
"""

import numpy as np
from numba import njit, prange

_INV_PI = 0.3183098861837907
_PI_HI = 3.141592653589793
_PI_LO = 1.2246467991473532e-16
_HALF_PI = 1.5707963267948966


@njit(inline="always", fastmath=False)
def fast_sin(x):
    """sin(x) by range reduction and an odd Taylor polynomial of degree 17."""
    k = np.floor(x * _INV_PI + 0.5)
    r = (x - k * _PI_HI) - k * _PI_LO
    r2 = r * r
    p = 2.8114572543455206e-15  # 1/17!
    p = p * r2 - 7.647163731819816e-13  # -1/15!
    p = p * r2 + 1.6059043836821613e-10  # 1/13!
    p = p * r2 - 2.505210838544172e-08  # -1/11!
    p = p * r2 + 2.7557319223985893e-06  # 1/9!
    p = p * r2 - 1.984126984126984e-04  # -1/7!
    p = p * r2 + 8.333333333333333e-03  # 1/5!
    p = p * r2 - 1.6666666666666666e-01  # -1/3!
    p = (p * r2 + 1.0) * r
    half = 0.5 * k
    return p * (1.0 - 4.0 * (half - np.floor(half)))  # (-1)^k


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def sine_features(proj, bias, gate):
    """In place: ``proj[i, j] <- sin(proj[i, j] + bias[j]) * gate[j]``."""
    n, m = proj.shape
    for i in prange(n):
        for j in range(m):
            proj[i, j] = fast_sin(proj[i, j] + bias[j]) * gate[j]


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def sine_cosine_features(proj, bias, gate, cosines):
    """In place ``proj <- sin(proj + b) * gate``, and ``cosines <- cos(proj + b) * gate``.

    The cosines give the Jacobian of the features; the trace of the
    predictor's Jacobian is then one BLAS product, ``cosines @ weight``.
    Summing it here instead would make the loop a floating-point reduction,
    which LLVM does not vectorize without fastmath (see the random features
    guide for the measured cost).
    """
    n, m = proj.shape
    for i in prange(n):
        for j in range(m):
            p = proj[i, j] + bias[j]
            cosines[i, j] = fast_sin(p + _HALF_PI) * gate[j]
            proj[i, j] = fast_sin(p) * gate[j]
