"""Response matrices: from a learned score, and the quasi-Gaussian baseline."""

from sklearn.utils import Bunch

from ._covariance import _bootstrap_lagged_covariance, _with_zero, _zero_lag_covariance
from ._score import _scores_along, _stein_correct
from ._validation import _check_dt, _check_lags, _check_options, _check_trajectories, balanced_inverse


def _right_divide(R, M, what):
    """``R[k] M^{-1}`` for every lag ``k``, with a clear error for a singular ``M`` (whatever its units)."""
    inverse = balanced_inverse(M)
    if inverse is None:
        raise ValueError(f"{what} is singular: a column of X is constant, or columns are collinear.")
    return R @ inverse


def _result(response, standard_error, lags, dt, **extra):
    return Bunch(response=response, standard_error=standard_error, lags=lags, times=lags * dt, **extra)


def score_response(
    X,
    lags,
    estimator=None,
    *,
    dt=1.0,
    normalize=False,
    correction="stein",
    score_time="auto",
    snapshot_stride=None,
    n_bootstrap=0,
    block_length=None,
    random_state=None,
    n_jobs=None,
):
    """Response matrix from a learned score: ``R_ij(tau) = -< x_i(t + tau) s_j(x(t)) >``.

    The linear response of the mean state to an impulse on ``x_j`` at time
    0, from stationary data and the score ``s = grad log rho`` of their
    stationary density (the generalized fluctuation-dissipation theorem,
    Giorgini et al. 2024).  In theory ``R(0) = I``.

    Read more in the :ref:`User Guide <response>`.

    Parameters
    ----------
    X : array-like of shape (n_times, n_dims), or a list of such arrays
        A stationary trajectory sampled every ``dt``, or several sharing the
        time step (a 3-D array is a stack of trajectories).  Averages pool
        all pairs inside each trajectory.
    lags : int or array-like of int
        Lags in **steps** of ``dt``: an int ``L`` means ``0, 1, ..., L``,
        an array the listed lags (increasing).  Every trajectory must be
        longer than the largest lag.
    estimator : object or None, default=None
        Where the score comes from: a fitted estimator with a
        ``score_function(X)`` method (any skscore model, or any object with
        that method) is used as is; an unfitted estimator is cloned and
        fitted on snapshots of ``X`` (see ``snapshot_stride``).  None means
        an unfitted :class:`~skscore.GaussianMixturePriorDiffusion`.
    dt : float, default=1.0
        Time step of the trajectories; only sets ``times = lags * dt``.
    normalize : bool, default=False
        Report ``R(tau) R(0)^{-1}`` (the authors' normalization), which
        forces ``R(0) = I`` by dividing every lag by the lag-0 error, and so
        hides errors in the overall scale of the score.  The raw ``R(0)`` is
        returned as ``response_at_zero`` either way.  With
        ``correction='stein'``, ``R(0)`` is already the identity and
        normalizing changes nothing.
    correction : {'stein', None}, default='stein'
        'stein' replaces the affine part of the learned score by the exact
        one, ``-C^{-1} (x - mu)`` with ``mu``, ``C`` the mean and covariance
        of ``X``: every score satisfies ``< s > = 0`` and
        ``< s (x - mu)^T > = -I`` (integration by parts), so that is its
        least-squares affine projection.  The learned nonlinear part is
        kept.  This removes exactly the error that denoising score matching
        makes in the score's scale at small noise, gives ``R(0) = I`` by
        construction and is exact for linear (Ornstein-Uhlenbeck) systems;
        unlike ``normalize`` it does not rescale the nonlinear part.  None
        uses the learned score as it is (the paper's estimator).
    score_time : 'auto', float in [0, 1] or None, default='auto'
        Diffusion time at which the score is evaluated,
        ``score_function(X, t=score_time)``.  'auto' picks, among the
        estimator's noise levels with ``t <= 0.5`` (at most 8, evenly
        spaced, always including the smallest), the one with the
        smallest Hyvarinen score-matching loss ``< |s|^2 / 2 + div s >`` on
        2,000 states of ``X`` (after the correction): the level whose score
        is closest to the true one in mean squared error.  None calls
        ``score_function(X)`` (the smallest level of skscore models).  For a
        ``score_function`` without ``t``, 'auto' means None.
    snapshot_stride : int or None, default=None
        Steps between the snapshots an unfitted estimator is fitted on.
        None: the decorrelation time (:func:`decorrelation_steps`), reduced
        if needed to keep at least 2,000 snapshots.
    n_bootstrap : int, default=0
        Block-bootstrap replicates for standard errors (0: none).  The
        errors reflect the finite length of the series for the fitted score,
        not the error of the score model itself.
    block_length : int or None, default=None
        Bootstrap block length in steps.  None: four decorrelation times,
        lengthened if needed to keep at most 1,000 blocks.
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.
    n_jobs : int or None, default=None
        Threads of the FFTs; None uses every core.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With attributes

        - ``response``: ndarray of shape (n_lags, n_dims, n_dims),
          ``response[k, i, j]`` the response of ``x_i`` at lag ``lags[k]``
          to a unit impulse on ``x_j``;
        - ``standard_error``: ndarray of the same shape, or None when
          ``n_bootstrap=0``;
        - ``lags`` (steps) and ``times`` (``lags * dt``);
        - ``response_at_zero``: the raw estimate of ``R(0)``, before
          normalization or correction; its distance from the identity
          measures the error in the score's scale;
        - ``estimator``: the fitted estimator;
        - ``snapshot_stride``: the stride of the snapshots it was fitted
          on (None when it came fitted);
        - ``score_time``: the diffusion time used (None: ``score_function(X)``);
        - ``score_time_selection``: for 'auto', a Bunch with the candidate
          ``times`` and their score-matching ``losses``; None otherwise.

    See Also
    --------
    gaussian_response : The quasi-Gaussian baseline ``C(tau) C(0)^{-1}``.
    observable_response : Any observable and forcing pattern.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore.response import score_response
    >>> from skscore.response.systems import OrnsteinUhlenbeck
    >>> ou = OrnsteinUhlenbeck([[1.0, 0.5], [0.0, 2.0]])
    >>> X = ou.simulate(20000, 0.05, random_state=0)
    >>> class ExactScore:  # any object with a score_function
    ...     def score_function(self, X):
    ...         return ou.score(X)
    >>> result = score_response(X, 20, ExactScore(), dt=0.05)
    >>> result.response.shape
    (21, 2, 2)
    >>> bool(np.abs(result.response - ou.response(result.times)).max() < 0.1)
    True
    """
    _check_dt(dt)
    _check_options(normalize, correction, n_bootstrap, block_length, snapshot_stride, score_time, n_jobs)
    lags = _check_lags(lags)
    trajectories = _check_trajectories(X, lags)
    scores, report = _scores_along(trajectories, estimator, snapshot_stride, score_time, correction)
    raw_zero = -_zero_lag_covariance(trajectories, scores)
    if correction == "stein":
        scores = _stein_correct(trajectories, scores)
    all_lags, keep = _with_zero(lags)

    def transform(cov):
        R = -cov
        if normalize:
            R = _right_divide(R, R[0], "The lag-0 response R(0)")
        return R[keep]

    response, standard_error = _bootstrap_lagged_covariance(
        trajectories,
        scores,
        all_lags,
        trajectories,
        block_length=block_length,
        n_bootstrap=n_bootstrap,
        transform=transform,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    return _result(response, standard_error, lags, dt, response_at_zero=raw_zero, **report)


def gaussian_response(X, lags, *, dt=1.0, n_bootstrap=0, block_length=None, random_state=None, n_jobs=None):
    """The quasi-Gaussian response ``C(tau) C(0)^{-1}``.

    The score response with the Gaussian score ``-C^{-1} (x - mu)``, where
    ``C(tau) = < (x(t + tau) - mu) (x(t) - mu)^T >`` is the lagged
    covariance.  Exact for linear (Ornstein-Uhlenbeck) systems, where it
    equals ``exp(-A tau)``; the baseline a learned score should beat on
    non-Gaussian ones.

    Read more in the :ref:`User Guide <response>`.

    Parameters
    ----------
    X : array-like of shape (n_times, n_dims), or a list of such arrays
        One or several stationary trajectories sampled every ``dt``.
    lags : int or array-like of int
        Lags in steps of ``dt`` (an int ``L`` means ``0, 1, ..., L``).
    dt : float, default=1.0
        Time step; only sets ``times = lags * dt``.
    n_bootstrap : int, default=0
        Block-bootstrap replicates for standard errors (0: none).
    block_length : int or None, default=None
        Bootstrap block length in steps (None: as in :func:`score_response`).
    random_state : int, RandomState instance or None, default=None
        Seed of the bootstrap.
    n_jobs : int or None, default=None
        Threads of the FFTs; None uses every core.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``response`` (n_lags, n_dims, n_dims), ``standard_error`` (same
        shape, or None), ``lags``, ``times`` and ``covariance`` (the lag-0
        covariance ``C(0)``).

    Examples
    --------
    >>> from skscore.response import gaussian_response
    >>> from skscore.response.systems import OrnsteinUhlenbeck
    >>> X = OrnsteinUhlenbeck([[1.0, 0.5], [0.0, 2.0]]).simulate(5000, 0.1, random_state=0)
    >>> gaussian_response(X, 10, dt=0.1).response.shape
    (11, 2, 2)
    """
    _check_dt(dt)
    _check_options(False, None, n_bootstrap, block_length, None, n_jobs=n_jobs)
    lags = _check_lags(lags)
    trajectories = _check_trajectories(X, lags)
    all_lags, keep = _with_zero(lags)

    def transform(cov):
        return _right_divide(cov, cov[0], "The covariance C(0)")[keep]

    response, standard_error = _bootstrap_lagged_covariance(
        trajectories,
        trajectories,
        all_lags,
        trajectories,
        block_length=block_length,
        n_bootstrap=n_bootstrap,
        transform=transform,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    covariance = _zero_lag_covariance(trajectories, trajectories)
    return _result(response, standard_error, lags, dt, covariance=covariance)
