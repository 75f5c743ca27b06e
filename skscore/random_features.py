"""DiffusionRandomFeatures: the diffusion random feature model of Saha & Tran."""

import warnings
from numbers import Integral, Real

import numba
import numpy as np
from scipy import linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Hidden, Interval, StrOptions

from . import _kernels
from ._engine import _MAX_SEED, NoisePredictor
from ._kernels import cuda as _cuda
from ._parallel import capped_threads
from ._rows import RowPartitions, distinct_pairs
from .base import DIFFUSION_PARAMETERS, BaseDiffusionDensity

_PAIRS_PER_FEATURE = 32
# power-iteration steps for the gate step's largest eigenvalue: from scratch, then from the last direction
_COLD_POWER_STEPS = 15
_WARM_POWER_STEPS = 3
_MAX_AUTO_FEATURES = 1536
# n_features='auto': this many features per model coordinate, between the floor and the cap for columns
_FEATURES_PER_COORDINATE = 96
_MIN_AUTO_FEATURES = 512
_MAX_FEATURES_FOR_COLUMNS = 1024
# the per-level sums of one task of a dask fit stay under this many bytes
_TASK_BYTES = 1 << 27


def _level_reporter(progress, n_levels, n_pairs):
    """``report(k, reported)`` for :func:`_partition_statistics`: about five lines (every level at ``verbose=2``)."""
    if not progress:
        return None
    group = -(-n_levels // 5)

    def report(k, reported):
        if progress.verbose < 2 and k + 1 - reported < group and k + 1 < n_levels:
            return reported
        levels = f"level {k + 1}" if k == reported else f"levels {reported + 1}-{k + 1}"
        progress.report("statistics of %s of %d (about %d noised rows each)", levels, n_levels, n_pairs)
        return k + 1

    return report


def _partition_statistics(Y, offset, to_model, diffusion, levels, pairs_per_row, seed, W, b, linear_term, report=None):
    """One partition's sums for :meth:`DiffusionRandomFeatures._level_statistics`, for each of ``levels``.

    Returns the pair counts and the sums of ``S'S``, ``S'E``, ``|E|^2``,
    ``S'L``, ``L'L`` and ``L'E`` over the partition's noised rows (the last
    three zero without the linear term).  ``report(k, reported)`` is told
    when level ``k`` is done (in-process fits only).
    """
    Z = Y if to_model is None else to_model(Y)
    d, N, K = Z.shape[1], W.shape[1], len(levels)
    count, residual = np.zeros(K), np.zeros(K)
    gram, cross = np.zeros((K, N, N)), np.zeros((K, N, d))
    feature_linear, linear_linear = np.zeros((K, N, d + 1)), np.zeros((K, d + 1, d + 1))
    linear_noise = np.zeros((K, d + 1, d))
    ones, reported = np.ones(N), 0
    for level, z, eps in diffusion.keyed_training_pairs(Z, offset, pairs_per_row, seed, levels):
        k = level - levels.start
        if report is not None and k > 0 and count[k] == 0:  # level k - 1 is done
            reported = report(k - 1, reported)
        S = z @ W
        _kernels.sine_features(S, b, ones)
        count[k] += len(z)
        gram[k] += S.T @ S
        cross[k] += S.T @ eps
        residual[k] += np.sum(eps**2)
        if linear_term:
            L = np.hstack([z, np.ones((len(z), 1))])
            feature_linear[k] += S.T @ L
            linear_linear[k] += L.T @ L
            linear_noise[k] += L.T @ eps
    if report is not None:
        report(K - 1, reported)
    return count, gram, cross, residual, feature_linear, linear_linear, linear_noise


class _SineFeaturePredictor(NoisePredictor):
    """``eps(z, k) = [sin(z W + b) * gate_k] V + z A_k + c_k``, with its closed-form divergence."""

    supports_cuda = True
    divergence_in_closed_form = True

    def __init__(self, projection, phase, gates, output_weights, linear_coef, linear_intercept):
        self.projection = projection
        self.phase = phase
        self.gates = gates
        self.output_weights = output_weights
        self.linear_coef = linear_coef
        self.linear_intercept = linear_intercept

    def predict(self, z, level):
        proj = z @ self.projection
        _kernels.sine_features(proj, self.phase, self.gates[level])
        eps = proj @ self.output_weights
        eps += z @ self.linear_coef[level] + self.linear_intercept[level]
        return eps

    def predict_with_divergence(self, z, level):
        # d eps / dz = W diag(cos(zW + b) * gate) V + A_k: its trace is
        # sum_j cos_j gate_j m_j + tr(A_k), with m_j = sum_l W[l, j] V[j, l]
        proj = z @ self.projection
        cosines = np.empty_like(proj)
        _kernels.sine_cosine_features(proj, self.phase, self.gates[level], cosines)
        eps = proj @ self.output_weights
        eps += z @ self.linear_coef[level] + self.linear_intercept[level]
        div = cosines @ np.einsum("lj,jl->j", self.projection, self.output_weights)
        div += np.trace(self.linear_coef[level])
        return eps, div

    def device_network(self):
        W, b, V = self.projection, self.phase, self.output_weights
        terms = [(W, b, self.gates[k], V, self.linear_coef[k], self.linear_intercept[k]) for k in range(len(self.gates))]
        return _cuda.DeviceNetwork(terms, [[(1.0, k)] for k in range(len(self.gates))], "sine")


class DiffusionRandomFeatures(BaseDiffusionDensity):
    """Score-based diffusion density estimator with a random-feature noise model.

    The noise predictor of the diffusion random feature model (DRFM, Saha &
    Tran, arXiv 2310.04417)::

        eps_hat(z, k) = [sin(z W + b) * cos(theta1[k])] theta2 + z A_k + c_k

    with ``W``, ``b`` random and frozen, a per-level gate ``theta1[k]`` and
    output weights ``theta2`` shared by all levels.  The last two terms are an
    addition to the paper's form (``linear_term=True``): a per-level linear
    map, fitted in closed form jointly with ``theta2``, which represents the
    Gaussian part of the noise exactly (bounded sine features do so poorly).

    Training minimizes the paper's denoising loss, the squared noise error
    averaged over levels, with level ``k`` weighted by
    ``1 / max(cos(u_k)^2, 0.01)`` (the probability-flow ODE divides noise
    errors by ``cos(u)``, see ``_level_weights``), plus
    ``alpha ||theta2||^2 / n_samples``.  It alternates two exact or monotone steps: for
    fixed gates, ``theta2`` and the linear maps are one ridge regression,
    solved from per-level sufficient statistics (the linear maps eliminated by
    a Schur complement); for fixed ``theta2``, each level's loss is a convex
    quadratic in its gates ``cos(theta1[k])`` on ``[-1, 1]^N``, decreased by
    accelerated projected gradient (the paper uses Adam on ``theta1``; this
    is the same parametrization, ``theta1 = arccos(gate)``).  The loss never
    increases (``loss_curve_``).  The divergence of the predictor is closed
    form, so :meth:`score_samples` is the exact change of variables along the
    ODE up to the integrator's error.

    Read more in the :ref:`User Guide <random_features>`.

    Parameters
    ----------
    n_features : int or 'auto', default='auto'
        Number of random features N.  'auto' grows it with the model's
        coordinates ``d`` (the columns, after the column types' mapping) as
        ``96 d`` up to 1024, and with the rows as ``512 sqrt(n_samples /
        16384)``, taking the larger, rounded to 64, between 512 and 1536:
        random features need a number growing linearly with the dimension
        to approximate their kernel, and random-feature ridge regression one
        growing as the square root of the data to keep its accuracy; the cap
        bounds the memory of the per-level statistics.  The number used is
        ``n_random_features_``.
    n_steps : int, default=30
        Number of noise levels K (training, sampling and likelihood).  Heun
        integration makes ``2 K - 1`` predictor evaluations per row.  More
        levels shrink the integrator's ``O(h^2)`` error at a linear cost; the
        :ref:`User Guide <random_features>` reports the measured accuracy at
        the default.
    schedule : {'cosine', 'linear', 'vp', 've', 'flow'}, default='cosine'
        Forward process (see the :ref:`engine <engine>` guide).  The cosine
        schedule spaces the levels nearly uniformly in noise angle, which is
        what the Heun integrator of the likelihood wants.
    alpha : float, default=5.0
        Ridge penalty on ``theta2``, against the squared noise errors summed
        over training rows (scikit-learn's ``Ridge`` convention): relative to
        the mean error it is ``alpha / n_samples``, so regularization fades
        as data grow, down to ``alpha / (n_steps * 32 N)`` once the table
        holds more rows than the levels draw together (see Notes).  Larger
        values smooth the density (and its ODE, which the integrator then
        follows more accurately).  Held-out likelihood is not sensitive to
        it near the default (measurements in the
        :ref:`User Guide <random_features>`).
    feature_scale : float or sequence of float, default=(0.5, 1.0, 2.0, 4.0)
        Frequency scale(s) of the random projection.  With
        ``features='multiscale'`` the columns of ``W`` are split evenly
        between the scales and drawn ``N(0, scale^2 / d)``, so that ``z W``
        has standard deviation ``scale`` on standardized data; the phases
        ``b`` are uniform on ``[-pi, pi]``.  With ``features='paper'``, ``W``
        and ``b`` are ``U(-scale / sqrt(d), scale / sqrt(d))`` as in the
        authors' code (use a single scale, 1.0 for the paper's draw).
    features : {'multiscale', 'paper'}, default='multiscale'
        How the frozen random features are drawn (see ``feature_scale``).
    feature_directions : {'differences', 'random'}, default='differences'
        Directions of the frequencies (the columns of ``W``).  'random': as
        ``features`` draws them.  'differences': each column takes the
        direction of the difference of two training rows drawn at random (in
        the model's standardized coordinates), so the frequencies follow the
        data's spread: on a mixture, mostly the directions that separate its
        components, along which the score changes fastest.  Its length is
        set so that ``z w`` has, over the pairs' rows, the standard deviation
        that the drawn column's length stands for (``scale`` on average, see
        ``feature_scale``).  A pair of equal rows keeps the random column,
        and so does every column on data of one model coordinate (no
        direction to choose).  Use ``'random'`` with ``features='paper'``
        for the authors' draw.
    linear_term : bool, default=True
        Add the per-level linear map ``z A_k + c_k``.  False gives the
        paper's predictor.
    fit_gates : bool, default=True
        Train the gates ``theta1``.  False freezes them at 0 (all gates
        open): the paper's plain random-feature (RF) baseline, pure ridge.
    max_iter : int, default=50
        Most alternations between the ridge solve and the gate updates.
        0 keeps the first ridge solve with every gate open.  A
        ``ConvergenceWarning`` reports a fit that reaches it before ``tol``.
    tol : float, default=1e-4
        The alternations stop once one lowers the training loss by less than
        ``tol`` times the loss (the decreases shrink about geometrically, so
        what more alternations would gain is a small multiple of ``tol``).
        0 runs all ``max_iter``.
    n_iter : int
        Deprecated: use ``max_iter`` (with ``tol=0`` for exactly that many
        alternations, what ``n_iter`` ran).
    sampler : {'heun', 'ddim', 'ddpm', 'euler_maruyama'}, default='heun'
        Reverse-time integrator used by :meth:`sample`; 'heun' integrates the
        probability-flow ODE that :meth:`score_samples` uses.
    preprocessing : {'standard', None}, default='standard'
        Internal standardization of the columns (inverted in ``sample`` and
        accounted for in ``score_samples``), or none: the noise levels then
        suppose data of about unit scale (a warning names a spread outside
        [0.1, 10]).
    random_state : int, RandomState instance or None, default=None
        Seed of the random features, the training noise and the default
        sampling generator.
    n_jobs : int or None, default=None
        Threads for the Numba kernels and BLAS; None uses every core (as
        scikit-learn's OpenMP-based estimators do), -1 too.
    device : {'cpu', 'cuda', 'auto'}, default='cpu'
        Where :meth:`sample`, :meth:`score_samples` and
        :meth:`score_function` run: the CPU kernels, the numba.cuda kernels
        (the fused random-feature predictor and its divergence, the
        reverse-time steps and the log-density accumulation, all on device;
        a ValueError if no usable GPU is found), or the GPU when one is usable
        and the CPU otherwise.  ``fit`` runs on the CPU in every case (see
        the :ref:`GPU guide <gpu>`).
    %(column_type_parameters)s

    Attributes
    ----------
    n_random_features_ : int
        Number of random features N (``n_features``, or what 'auto' chose).
    projection_ : ndarray of shape (`n_features_in_`, `n_random_features_`)
        Frozen random projection ``W``.
    phase_ : ndarray of shape (`n_random_features_`,)
        Frozen random phases ``b``.
    theta1_ : ndarray of shape (n_steps, `n_random_features_`)
        Gate parameters; the gate of level ``k`` is ``cos(theta1_[k])``.
    theta2_ : ndarray of shape (`n_random_features_`, `n_features_in_`)
        Output weights shared by all levels.
    linear_coef_ : ndarray of shape (n_steps, `n_features_in_`, `n_features_in_`)
        Per-level linear maps ``A_k`` (zeros when ``linear_term=False``).
    linear_intercept_ : ndarray of shape (n_steps, `n_features_in_`)
        Per-level intercepts ``c_k`` (zeros when ``linear_term=False``).
    loss_curve_ : ndarray of shape (`n_iter_` + 1,)
        Training loss (weighted mean squared noise error over levels, plus
        the penalty) after the first ridge solve and after each alternation.
    n_iter_ : int
        Alternations run (at most ``max_iter``).
    diffusion_ : skscore._engine.Diffusion
        The fitted engine: noise angles, base distribution and noise
        predictor (see :ref:`architecture`).
    noise_angles_ : ndarray of shape (n_steps,)
        Noise angle ``u_k = arctan(s_k / a_k)`` of each level (noise over
        signal coefficient of the forward process).
    shift_ : ndarray of shape (`n_features_in_`,)
        Column means removed by the internal standardization.
    scale_ : ndarray of shape (`n_features_in_`,)
        Column scales divided out by the internal standardization.
    prior_mean_ : ndarray of shape (`n_features_in_`,)
        Mean of the Gaussian base distribution at the last level.
    prior_covariance_ : ndarray of shape (`n_features_in_`, `n_features_in_`)
        Covariance of the Gaussian base distribution at the last level.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen during fit, when ``X`` has string column names.

    Notes
    -----
    Each level is trained on about ``min(max(n_samples, 4 N), 32 N)``
    noised rows: every row with fresh noise, each row several times for
    small data, each row with that probability for large data.  The draws
    are keyed by the rows' positions, so a fit on a dask collection,
    partition by partition, is the in-memory fit up to the order of the
    sums (see the :ref:`large data <large_data>` guide).  The output
    weights are shared by the levels, so the ridge problem sees at most
    ``n_steps`` times ``32 N`` noised rows in all; the penalty stops fading
    there.  Fit time grows linearly in ``n_steps`` and as ``N^3`` in the
    features (``N^2`` per pair and ``32 N`` pairs per level), and only
    through N in ``n_samples``; the per-level statistics take
    ``8 n_steps N^2`` bytes (63 MB at N = 512, 566 MB at N = 1536).

    See Also
    --------
    sklearn.mixture.GaussianMixture : Gaussian mixture density.
    sklearn.neighbors.KernelDensity : Kernel density estimation.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore import DiffusionRandomFeatures
    >>> X = np.random.default_rng(0).standard_normal((200, 2))
    >>> model = DiffusionRandomFeatures(n_features=64, n_steps=20, random_state=0).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    >>> model.score_samples(X[:2]).shape
    (2,)
    """

    _fits_partitions = True

    _parameter_constraints = {
        **BaseDiffusionDensity._parameter_constraints,
        **DIFFUSION_PARAMETERS,
        "n_features": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "feature_scale": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "features": [StrOptions({"multiscale", "paper"})],
        "feature_directions": [StrOptions({"differences", "random"})],
        "linear_term": ["boolean"],
        "fit_gates": ["boolean"],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left"), Hidden(StrOptions({"deprecated"}))],
    }

    def __init__(
        self,
        n_features="auto",
        *,
        n_steps=30,
        schedule="cosine",
        alpha=5.0,
        feature_scale=(0.5, 1.0, 2.0, 4.0),
        features="multiscale",
        feature_directions="differences",
        linear_term=True,
        fit_gates=True,
        max_iter=50,
        tol=1e-4,
        n_iter="deprecated",
        sampler="heun",
        preprocessing="standard",
        random_state=None,
        n_jobs=None,
        device="cpu",
        integer_features=None,
        categorical_features=None,
        bounds=None,
        point_masses=None,
        n_particles=32,
        verbose=0,
    ):
        super().__init__(
            preprocessing=preprocessing,
            random_state=random_state,
            n_jobs=n_jobs,
            device=device,
            integer_features=integer_features,
            categorical_features=categorical_features,
            bounds=bounds,
            point_masses=point_masses,
            n_particles=n_particles,
            verbose=verbose,
        )
        self.n_steps = n_steps
        self.schedule = schedule
        self.sampler = sampler
        self.n_features = n_features
        self.alpha = alpha
        self.feature_scale = feature_scale
        self.features = features
        self.feature_directions = feature_directions
        self.linear_term = linear_term
        self.fit_gates = fit_gates
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter = n_iter

    def _check_params_together(self):
        scales = np.atleast_1d(np.asarray(self.feature_scale, dtype=object)).ravel()
        if not all(isinstance(s, Real) and not isinstance(s, bool) and np.isfinite(s) and s > 0 for s in scales):
            raise ValueError(f"feature_scale must be a positive number or a sequence of them, got {self.feature_scale!r}.")
        if scales.size == 0 or scales.size > (_MIN_AUTO_FEATURES if self.n_features == "auto" else self.n_features):
            raise ValueError(f"feature_scale must list between 1 and n_features scales, got {self.feature_scale!r}.")

    def _supports_cuda(self):
        return True

    # ------------------------------------------------------------- features
    def _draw_features(self, n_dims, random_state, rows, to_model=None):
        """The frozen projection ``W`` (``n_dims x N``) and phases ``b``.

        With ``feature_directions='differences'`` the columns of ``W`` turn
        to the differences of pairs of ``rows`` (mapped to model space by
        ``to_model``), scaled so that ``z W`` keeps the standard deviation it
        has with the random directions (over the pairs' rows).
        """
        N = self.n_random_features_
        scales = np.atleast_1d(np.asarray(self.feature_scale, dtype=np.float64))
        sizes = [len(part) for part in np.array_split(np.arange(N), scales.size)]
        column_scale = np.repeat(scales, sizes) / np.sqrt(n_dims)
        if self.features == "paper":  # the authors' U(-1/sqrt(d), 1/sqrt(d)) draws
            W = random_state.uniform(-1.0, 1.0, (n_dims, N)) * column_scale
            b = random_state.uniform(-1.0, 1.0, N) / np.sqrt(n_dims)
        else:
            W = random_state.standard_normal((n_dims, N)) * column_scale
            b = random_state.uniform(-np.pi, np.pi, N)
        if self.feature_directions == "differences" and n_dims > 1:  # fit refuses fewer than two rows
            first, second = distinct_pairs(rows.n_rows, N, random_state)
            index, position = np.unique(np.concatenate([first, second]), return_inverse=True)
            Z = rows.take(index, to_model)
            diff = (Z[position[N:]] - Z[position[:N]]).T
            norms = np.linalg.norm(diff, axis=0)
            turn = norms > 0
            directions = diff[:, turn] / norms[turn]
            # the rows spread more along differences of rows than along random directions: without this,
            # the same length would be a higher frequency in units of the data
            spread = (Z @ directions).std(axis=0)
            W[:, turn] = directions * (np.linalg.norm(W[:, turn], axis=0) / spread)
        return W, b

    # ------------------------------------------------------------------ fit
    def _resolve_n_features(self, n_rows, n_coordinates):
        """``n_features``, or for 'auto' the larger of ``96 d`` (up to 1024) and ``512 sqrt(n / 16384)``.

        Rounded to 64, between 512 and 1536.  Random features approximate
        their kernel uniformly with a number of features growing linearly
        with the dimension ``d`` (Rahimi & Recht, NIPS 2007; ``d`` counts
        the model's coordinates), and random-feature ridge regression keeps
        the accuracy of its kernel with features growing as the square root
        of the rows (Rudi & Rosasco, NeurIPS 2017).  The constants are set
        by the fit's cost, which grows as ``N^2`` to ``N^3``: 96 per
        coordinate keeps the speed benchmark's eight columns (768 features)
        within its budget (see the User Guide), the columns' term stops at
        1024, and the cap keeps the per-level statistics (``8 n_steps N^2``
        bytes) near half a gigabyte.
        """
        if self.n_features != "auto":
            return self.n_features
        for_columns = min(_FEATURES_PER_COORDINATE * n_coordinates, _MAX_FEATURES_FOR_COLUMNS)
        for_rows = 512 * np.sqrt(n_rows / 16384)
        grown = 64 * round(max(for_columns, for_rows) / 64)
        return int(np.clip(grown, _MIN_AUTO_FEATURES, _MAX_AUTO_FEATURES))

    def _pairs_per_level(self, n_rows):
        """Noised rows each level is trained on: ``min(max(n, 4 N), 32 N)``.

        Every row at every level while the data are small (fresh noise each
        time, rows reused until there are four pairs per feature); for large
        data a share of the rows, 32 pairs per feature, so that the work per
        level grows with the features, not with the rows.
        """
        N = self.n_random_features_
        return min(max(n_rows, 4 * N), _PAIRS_PER_FEATURE * N)

    def _ridge_penalty(self, n_rows):
        """Weight of ``||theta2||^2`` against the mean squared noise error.

        ``alpha`` counts against errors summed over the rows, so the weight
        fades as ``1 / n_rows``, but only down to the noised rows the levels
        draw together (``n_steps`` levels of at most ``32 N`` pairs): rows
        the fit never sees add nothing to the ridge problem, and fading with
        them left a ten-million-row fit nearly unregularized.
        """
        return self.alpha / min(n_rows, self.n_steps * self._pairs_per_level(n_rows))

    def _level_statistics(self, rows, diffusion, W, b, seed, to_model=None):
        """Per-level sufficient statistics of the ridge problem.

        With features ``S`` (ungated), linear inputs ``L = [z, 1]`` and noise
        ``E``, all divided by the number of pairs: ``G = S'S``, ``C = S'E``
        and the squared norm of ``E``.  With the linear term, its least-squares
        solution is eliminated exactly (Schur complement), leaving the
        residualized ``G - P Q^-1 P'`` and ``C - P Q^-1 R`` (``P = S'L``,
        ``Q = L'L``, ``R = L'E``); ``P``, ``Q^-1`` and ``R`` are kept to
        recover the linear maps at the end.  ``G``, ``C`` and the residual
        are multiplied by the level's weight (:meth:`_level_weights`).

        The sums are taken partition by partition of ``rows`` (a
        :class:`~skscore._rows.RowPartitions`) and added up; ``to_model``
        maps a partition's rows to model space (None: they are already).
        """
        d, K = W.shape[0], self.n_steps
        n_pairs = self._pairs_per_level(rows.n_rows)
        progress = self._progress()
        if rows.is_dask:
            # a task sums a group of levels: its result stays small however
            # wide the features, at the price of reading each partition once
            # per group
            size = max(1, _TASK_BYTES // (8 * W.shape[1] ** 2))
            groups, report = [range(k, min(k + size, K)) for k in range(0, K, size)], None
        else:
            groups, report = [range(K)], _level_reporter(progress, K, n_pairs)
        sums = None
        for levels in groups:
            group_sums = rows.sum(
                _partition_statistics, to_model, diffusion, levels, n_pairs / rows.n_rows, seed, W, b,
                self.linear_term, report,
            )
            if len(groups) == 1:
                sums = group_sums
                break
            if sums is None:
                sums = tuple(np.zeros((K,) + part.shape[1:]) for part in group_sums)
            for total, part in zip(sums, group_sums):
                total[levels.start : levels.stop] = part
            progress.report(
                "statistics of levels %d-%d of %d (%d partitions)", levels.start + 1, levels.stop, K, rows.n_partitions
            )
        count, gram, cross, residual, feature_linear, linear_linear, linear_noise = sums
        gram /= count[:, None, None]
        cross /= count[:, None, None]
        residual /= count
        linear = []
        weights = self._level_weights(diffusion.noise_angles)
        for k in range(K):
            if self.linear_term:
                P, Q, R = feature_linear[k] / count[k], linear_linear[k] / count[k], linear_noise[k] / count[k]
                Q_inv = linalg.pinvh(Q + 1e-10 * np.eye(d + 1))
                PQ = P @ Q_inv
                gram[k] -= PQ @ P.T
                cross[k] -= PQ @ R
                residual[k] -= np.sum(R * (Q_inv @ R))
                linear.append((P, Q_inv, R))
            gram[k] *= weights[k]
            cross[k] *= weights[k]
            residual[k] *= weights[k]
        return gram, cross, residual, linear

    @staticmethod
    def _level_weights(noise_angles):
        """Weight of each level's squared noise error in the training loss.

        The probability-flow ODE moves with ``v = (eps - sin(u) z) / cos(u)``,
        so a noise error costs ``1 / cos(u)^2`` times more near pure noise.
        Weighting by that factor (the "v" loss) is what sampling and the
        likelihood need; the floor at 0.01 keeps the few last levels, where
        the linear term already carries the (Gaussian) answer, from
        dominating the shared output weights.  The User Guide compares the
        three weightings (uniform, pure v, floored v) on known answers.
        """
        a = np.cos(noise_angles)
        weights = 1.0 / np.maximum(a**2, 1e-2)
        return weights / weights.mean()

    @staticmethod
    def _solve_theta2(gram, cross, residual, gates, penalty):
        """The output weights for fixed gates, and the training loss they reach.

        The loss is a ridge objective in ``theta2``, ``tr(theta2' M theta2) -
        2 tr(theta2' r) + mean(e2)``; at its minimizer ``M theta2 = r`` it is
        ``mean(e2) - tr(theta2' r)``, which costs nothing once solved.
        """
        N, d = cross.shape[1:]
        lhs = np.empty((N, N))
        _kernels.gated_gram_sum(gram, gates, penalty, lhs)
        rhs = np.einsum("kn,knd->nd", gates, cross) / len(gates)
        theta2 = linalg.solve(lhs, rhs, assume_a="pos")
        return theta2, np.mean(residual) - np.sum(theta2 * rhs)

    def _alternations(self):
        """``(max_iter, tol)``, from the deprecated ``n_iter`` when it is set."""
        if isinstance(self.n_iter, str):
            return self.max_iter, self.tol
        warnings.warn(
            "n_iter is deprecated and will be removed in skscore 0.3: use max_iter (with tol=0 for exactly "
            "that many alternations).",
            FutureWarning,
        )
        return self.n_iter, 0.0

    @staticmethod
    def _update_gates(gram, cross, gates, theta2, directions, n_power, n_steps=30):
        """Accelerated projected gradient (FISTA with adaptive restart) on the
        gates; for each level the loss is a convex quadratic on [-1, 1]^N.

        ``directions`` holds each level's leading direction of its quadratic,
        updated by ``n_power`` steps of power iteration from where the last
        alternation left it.
        """
        outer = theta2 @ theta2.T
        with capped_threads(numba.get_num_threads(), blas_threads=1):  # levels in parallel, products on one thread
            _kernels.update_gates(gram, cross, theta2, outer, gates, n_steps, n_power, directions)
        return gates

    def _fit_predictor(self, Z, diffusion, random_state):
        return self._fit_predictor_on_partitions(RowPartitions(Z), diffusion, random_state)

    def _fit_predictor_on_partitions(self, rows, diffusion, random_state, to_model=None):
        d = rows.n_columns if to_model is None else to_model.n_features_out
        self.n_random_features_ = self._resolve_n_features(rows.n_rows, d)
        self.projection_, self.phase_ = self._draw_features(d, random_state, rows, to_model)
        seed = random_state.randint(_MAX_SEED)
        gram, cross, residual, linear = self._level_statistics(
            rows, diffusion, self.projection_, self.phase_, seed, to_model
        )
        penalty = self._ridge_penalty(rows.n_rows)
        gates = np.ones((self.n_steps, self.n_random_features_))
        theta2, loss = self._solve_theta2(gram, cross, residual, gates, penalty)
        losses = [loss]
        progress = self._progress()
        progress.report("ridge solve of the output weights: loss %.6g", losses[0])
        max_iter, tol = self._alternations()
        directions = np.full(gates.shape, 1.0 / np.sqrt(gates.shape[1]))
        for i in range(max_iter if self.fit_gates else 0):
            # the quadratics change little from one alternation to the next: a few warm power steps suffice
            n_power = _COLD_POWER_STEPS if i == 0 else _WARM_POWER_STEPS
            gates = self._update_gates(gram, cross, gates, theta2, directions, n_power)
            theta2, loss = self._solve_theta2(gram, cross, residual, gates, penalty)
            losses.append(loss)
            converged = bool(tol) and losses[-2] - losses[-1] < tol * abs(losses[-1])
            milestone = converged or (i + 1) % 10 == 0 or i + 1 == max_iter  # verbose=1 prints these only
            progress.report("alternation %d of at most %d (gates, then output weights): loss %.6g%s", i + 1, max_iter,
                            losses[-1], ", converged" if converged else "", level=1 if milestone else 2)
            if converged:
                break
        else:
            if tol and self.fit_gates and max_iter:
                warnings.warn(
                    f"{type(self).__name__} stopped at max_iter={max_iter} alternations with the loss still falling "
                    f"by {(losses[-2] - losses[-1]) / abs(losses[-1]):.2g} of itself > tol={tol}; increase max_iter "
                    "or tol.",
                    ConvergenceWarning,
                )
        self.theta1_ = np.arccos(gates)
        self.theta2_ = theta2
        self.loss_curve_ = np.array(losses)
        self.n_iter_ = len(losses) - 1
        self.linear_coef_ = np.zeros((self.n_steps, d, d))
        self.linear_intercept_ = np.zeros((self.n_steps, d))
        for k, (P, Q_inv, R) in enumerate(linear):
            coef = Q_inv @ (R - P.T @ (gates[k][:, None] * theta2))
            self.linear_coef_[k], self.linear_intercept_[k] = coef[:d], coef[d]
        return _SineFeaturePredictor(
            self.projection_, self.phase_, np.cos(self.theta1_), self.theta2_, self.linear_coef_, self.linear_intercept_
        )
