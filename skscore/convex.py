"""ConvexTwoLayerScore: a two-layer ReLU score model trained by convex programs."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from . import _convex_solver as solver
from . import _kernels
from ._checks import check_int, check_real
from ._engine import NoisePredictor
from ._kernels import cuda as _cuda
from ._parallel import limit_threads, parallel_map
from .base import DIFFUSION_PARAMETERS, BaseDiffusionDensity

_MIN_ROWS, _MAX_ROWS = 512, 2048
# the cone projections of formulation='relu' grow about as the fourth power of
# the model's columns: beyond this many a fit does not finish in useful time
MAX_RELU_COLUMNS = 32
# n_gates='auto': this many gates up to this many rows, then growing as the square root of the rows
_AUTO_GATES, _AUTO_GATES_ROWS, _MAX_AUTO_GATES = 32, 1024, 160
# noise_levels='auto' with per-level programs: ten trained levels (a third of the default 30); the
# fit time saved buys them twice the 'auto' gates from 1024 rows on (the same floor of 32 on small
# tables), which the density lacks far more than it lacks levels (the convex guide has the figures)
_AUTO_TRAINED_LEVELS, _PER_LEVEL_GATES_FACTOR = 10, 2


def _score_matching_threshold(x, trace_weight):
    """Smallest ``beta`` for which 1-D exact score matching stays bounded below.

    Exact score matching rewards the slope of the network at the data points
    (the divergence term) while its penalty charges ``sqrt(1 + t^2)`` per unit
    slope change at a kink ``t``.  Two constructions, one per data point
    ``x_i``, keep the network zero on every data point and the slope counted
    at ``x_i``: a single neuron with its kink at an extreme point, counted
    there only (cost ``sqrt(1 + x_i^2)`` per unit slope), and, at any point,
    the same neuron assigned to two patterns that differ in ``x_i`` alone
    (cost ``2 sqrt(1 + x_i^2)``).  Scaling either up lowers the objective
    without bound when ``beta`` times its cost is below ``trace_weight / m``.
    """
    m = x.size
    weight = np.sqrt(1.0 + x**2)
    interior = 1.0 / (2.0 * weight.min())
    extreme = 1.0 / weight[[np.argmin(x), np.argmax(x)]].min()
    return trace_weight * max(interior, extreme) / m


def _auto_gates(n_rows, factor=1):
    """``n_gates='auto'``: ``32 factor sqrt(n / 1024)``, at least 32 and at most ``160 factor``."""
    gates = round(factor * _AUTO_GATES * np.sqrt(n_rows / _AUTO_GATES_ROWS))
    return int(np.clip(gates, _AUTO_GATES, factor * _MAX_AUTO_GATES))


def _levels_dense_at_small_noise(n_steps, n):
    """``n`` of the levels ``0 .. n_steps - 1``, the first and the last included, even in ``log(level + 1)``.

    The noise predictor changes fastest at the smallest noise, where the
    data's own structure comes into view, and is nearly the Gaussian one at
    the largest: interpolation between trained levels errs least when they
    are denser at small noise.
    """
    if n >= n_steps:
        return np.arange(n_steps)
    k = n
    while True:
        levels = np.unique(np.round(np.geomspace(1, n_steps, k)).astype(int) - 1)
        if len(levels) >= n:
            return levels
        k += 1


class ConvexTwoLayerScore(BaseDiffusionDensity):
    """Score-based diffusion density estimator with a convexly trained two-layer network.

    The noise predictor at each noise level is a two-layer ReLU (or
    absolute-value) network plus a linear term::

        eps_hat(z, k) = sum_i act([z, 1] . u_i) alpha_i e_{j_i} + z A_k + c_k

    (every hidden unit feeds one output coordinate ``j_i``), trained by
    denoising score matching with weight decay ``beta``.  Zhang & Pilanci
    (arXiv 2402.01965) show that this training problem is a convex program
    over the hyperplane arrangement of the training inputs; it is solved here
    to its global optimum, with an optimality certificate, and the solution
    is turned back into the network (``u = v / sqrt(||v||)``, ``alpha =
    sqrt(||v||)``).  The divergence of the network is closed form, so
    :meth:`score_samples` is the exact change of variables along the
    probability-flow ODE up to the integrator's error.

    Read more in the :ref:`User Guide <convex>`.

    Parameters
    ----------
    n_gates : int or 'auto', default='auto'
        Gates drawn per program (see ``gates``); their activation patterns on the
        training inputs, deduplicated, are the arrangement patterns
        ``D_k`` (at most ``n_gates``).  Each pattern can host one neuron per
        output coordinate and sign, so the width of the network is at most
        ``2 n_gates d`` per level.  The cost of a program grows as
        ``(n_gates d)^2 d``.  'auto' draws ``g = 32`` gates up to 1024 rows
        and ``g = 32 sqrt(n_samples / 1024)`` beyond, at most 160: the
        arrangement of more rows has more patterns to sample, and a network
        of more neurons is what more data support (the :ref:`large data
        <large_data>` guide has the learning curves).  When
        ``noise_levels='auto'`` leaves levels without a program, the rule
        is ``64 sqrt(n_samples / 1024)``, at least 32 and at most 320: twice
        the gates from 1024 rows on (the fit time that the skipped levels
        save buys wider networks), the same 32 up to 256 rows, where wider
        programs gain little and take long to certify.  The number drawn is
        ``n_gates_``.
    gates : {'bisectors', 'random'}, default='bisectors'
        How a program's gates are drawn.  'bisectors': each gate's hyperplane
        is the perpendicular bisector of two training inputs of the program
        drawn at random, so the directions follow the data's spread and the
        network's kinks sit between data points (between a mixture's modes,
        where its score turns).  'random': directions uniform on the sphere
        and standard normal offsets, the paper's data-blind arrangement
        sampling (the earlier default).  See the User Guide for
        what the choice changes.
    beta : float, default=1e-3
        Weight decay, against half the mean squared noise error: the program
        minimizes ``1/(2m) sum ||eps_hat - eps||^2 + beta sum_i ||v_i||`` over
        ``m`` training pairs (the convention of
        :class:`~sklearn.linear_model.Lasso`).  Larger values switch neurons
        off; with all of them off the model is the Gaussian fit (see Notes).
    formulation : {'relu', 'gated_relu'}, default='relu'
        'relu': the exact program, with the cone constraints that make each
        neuron keep its arrangement pattern on the training rows; its
        solution is a ReLU network with the same training objective.
        'gated_relu': the unconstrained relaxation (a group lasso), read out
        as gated linear units ``1[z~ g >= 0] (z~ u) alpha`` (the program's
        own model, equal to its ReLU reading on the training rows only);
        faster to fit, but the units jump across their gates, which the
        change of variables of :meth:`score_samples` does not see, so its
        density is not normalized (see the User Guide).  'relu' takes at
        most 32 model columns (typed columns counted after encoding): its
        cost grows about as the fourth power of the columns, and ``fit``
        refuses wider tables with a ValueError.
    activation : {'relu', 'abs'}, default='relu'
        Hidden activation: ReLU, or the absolute value.
    noise_levels : int, 'auto' or None, default='auto'
        Number of noise levels that get a convex program, spread evenly over
        the ``n_steps`` levels of the engine (the first and the last
        included); the predictor at a level in between interpolates its two
        neighbours linearly in the noise angle.  None trains every level.
        'auto' trains ``min(n_steps, 10)`` levels with ``conditioning=
        'per_level'``, evenly spread in ``log(level + 1)`` rather than in the
        level (denser at small noise, where the predictor changes fastest;
        levels 0, 1, 2, 3, 4, 7, 10, 14, 20 and 29 of 30), and every level
        with ``'input'``, whose one program costs the same for any number of
        levels.  The noise predictor changes slowly from level to level, and
        with ``n_gates='auto'`` the time saved goes to wider networks, which
        the density needs more (see the User Guide).
    conditioning : {'per_level', 'input'}, default='per_level'
        'per_level': one network, and one convex program, per noise level
        (solved in parallel).  'input': one network shared by all levels,
        with the noise angle as an extra input column, and the linear term
        per level; one larger program.
    objective : {'dsm', 'sm'}, default='dsm'
        'dsm': denoising score matching (targets: the noise).  'sm': exact
        score matching of the noised rows at each level, for 1-D data and
        ``formulation='relu'`` only, as in the paper; its objective is
        unbounded below when ``beta`` is under a data-dependent threshold,
        and ``fit`` then raises a ValueError.
    tol : float, default=1e-3
        Relative duality gap at which a program stops: ``(primal - dual) /
        primal``, an upper bound on the relative suboptimality of the
        returned solution (the KKT residual for ``objective='sm'``, which
        has no least-squares dual).  The default is far below the sampling
        error of the objective itself (about ``sqrt(2 / m)``, 2 % for the
        ``m = 4096`` noised rows of a level).  A ConvergenceWarning is raised
        for programs that reach ``max_iter`` first.
    max_iter : int, default=10000
        Iterations of the accelerated proximal gradient method per program
        (over all its rounds).
    n_steps : int, default=30
        Number of noise levels K of the engine (sampling and likelihood).
    schedule : {'cosine', 'linear', 'vp', 've', 'flow'}, default='cosine'
        Forward process (see the :ref:`engine <engine>` guide).
    sampler : {'heun', 'ddim', 'ddpm', 'euler_maruyama'}, default='heun'
        Reverse-time integrator used by :meth:`sample`; the paper's Langevin
        sampler is :meth:`sample_langevin`.
    preprocessing : {'standard', None}, default='standard'
        Internal standardization of the columns, or none: the noise levels
        then suppose data of about unit scale (a warning names a spread
        outside [0.1, 10]).
    random_state : int, RandomState instance or None, default=None
        Seed of the gates, the training noise and the default sampling
        generator.
    n_jobs : int or None, default=None
        Programs solved in parallel (threads), and threads of the kernels
        and BLAS for prediction; None uses every core.
    device : {'cpu', 'cuda', 'auto'}, default='cpu'
        Where :meth:`sample`, :meth:`score_samples` and
        :meth:`score_function` run: the CPU kernels, the numba.cuda kernels
        (the two-layer network and its divergence through the same fused
        kernel as DiffusionRandomFeatures, the reverse-time steps and the
        log-density accumulation; a ValueError if no usable GPU is found), or
        the GPU when one is usable and the CPU otherwise.  The convex programs
        of ``fit`` and :meth:`sample_langevin` run on the CPU (see the
        :ref:`GPU guide <gpu>`).
    %(column_type_parameters)s

    Attributes
    ----------
    trained_levels_ : ndarray of shape (n_trained,)
        Engine levels (indices into ``noise_angles_``) with a convex program.
    hidden_weights_ : list of ndarray of shape (`n_features_in_`, n_neurons)
        Per trained level, the input weights of the hidden units.
    hidden_bias_ : list of ndarray of shape (n_neurons,)
        Per trained level, the biases of the hidden units.
    output_weights_ : list of ndarray of shape (n_neurons, `n_features_in_`)
        Per trained level, the output weights (one non-zero per row).
    linear_coef_ : ndarray of shape (n_trained, `n_features_in_`, `n_features_in_`)
        Per trained level, the linear map ``A_k``.
    linear_intercept_ : ndarray of shape (n_trained, `n_features_in_`)
        Per trained level, the intercept ``c_k``.
    gate_weights_ : list of ndarray of shape (`n_features_in_`, n_neurons) or None
        ``formulation='gated_relu'``: per trained level, the input weights of
        the gates of the gated units (None for ``'relu'``).
    gate_bias_ : list of ndarray of shape (n_neurons,) or None
        ``formulation='gated_relu'``: per trained level, the gate biases.
    objective_ : ndarray of shape (n_programs,)
        Final objective of each convex program (``n_programs`` is the number
        of trained levels, or 1 for ``conditioning='input'``).
    optimality_gap_ : ndarray of shape (n_programs,)
        Certificate of each program: its relative duality gap at the
        returned solution, which bounds ``(objective_ - optimum) /
        objective_`` (below ``tol`` unless a ConvergenceWarning was raised;
        NaN for ``objective='sm'``).
    kkt_residual_ : ndarray of shape (n_programs,)
        Relative minimum-norm subgradient of each program at the returned
        solution (0 at the optimum; the certificate of ``objective='sm'``).
    n_iter_ : ndarray of shape (n_programs,)
        Iterations run per program.
    n_patterns_ : ndarray of shape (n_programs,)
        Arrangement patterns per program after deduplication.
    n_gates_ : int
        Gates drawn per program (``n_gates``, or what 'auto' chose).
    diffusion_ : skscore._engine.Diffusion
        The fitted engine: noise angles, base distribution and noise
        predictor (see :ref:`architecture`).
    noise_angles_ : ndarray of shape (n_steps,)
        Noise angle ``u_k`` of each engine level.
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
    Each program is trained on ``min(max(n_samples, 512), 2048)`` rows of
    the data (``'input'``: that many in all, shared by the levels), every
    one noised twice as an antithetic pair ``cos(u) z0 +- sin(u) eps``, the
    noise of the level whitened to an exact second moment ``I``.  The pair
    cancels the cross term between data and noise, which dominates the
    error of denoising score matching at small noise, and with the
    whitening the noise has exactly mean 0 and covariance ``I`` over the
    pairs.

    With ``beta`` above the largest correlation of a pattern with the
    residual every neuron is off, and the predictor is the linear term: the
    least-squares regression of the noise on ``[z, 1]``, which is then
    exactly ``sin(u) (cos(u)^2 C + sin(u)^2 I)^-1 (z - cos(u) m)`` with
    ``m`` and ``C`` the mean and covariance of the rows used: the score of
    the Gaussian fit noised to the level, the paper's closed form (exactly
    the data's Gaussian fit when ``512 <= n_samples <= 2048``).

    See Also
    --------
    DiffusionRandomFeatures : Random-feature noise model on the same engine.
    sklearn.mixture.GaussianMixture : Gaussian mixture density.

    Examples
    --------
    >>> import numpy as np
    >>> from skscore import ConvexTwoLayerScore
    >>> X = np.random.default_rng(0).standard_normal((200, 2))
    >>> model = ConvexTwoLayerScore(n_gates=8, n_steps=10, random_state=0).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    >>> bool(np.all(model.optimality_gap_ <= model.tol))
    True
    """

    _parameter_constraints = {
        **BaseDiffusionDensity._parameter_constraints,
        **DIFFUSION_PARAMETERS,
        "n_gates": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "gates": [StrOptions({"bisectors", "random"})],
        "beta": [Interval(Real, 0, None, closed="left")],
        "formulation": [StrOptions(set(solver.FORMULATIONS))],
        "activation": [StrOptions(set(solver.ACTIVATIONS))],
        "noise_levels": [Interval(Integral, 2, None, closed="left"), StrOptions({"auto"}), None],
        "conditioning": [StrOptions({"per_level", "input"})],
        "objective": [StrOptions({"dsm", "sm"})],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_gates="auto",
        *,
        gates="bisectors",
        beta=1e-3,
        formulation="relu",
        activation="relu",
        noise_levels="auto",
        conditioning="per_level",
        objective="dsm",
        tol=1e-3,
        max_iter=10000,
        n_steps=30,
        schedule="cosine",
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
        self.n_gates = n_gates
        self.gates = gates
        self.beta = beta
        self.formulation = formulation
        self.activation = activation
        self.noise_levels = noise_levels
        self.conditioning = conditioning
        self.objective = objective
        self.tol = tol
        self.max_iter = max_iter

    def _check_params_together(self):
        if isinstance(self.noise_levels, Integral) and self.noise_levels > self.n_steps:
            raise ValueError(f"noise_levels must be at most n_steps={self.n_steps}, got {self.noise_levels!r}.")
        if self.objective == "sm":
            if self.formulation != "relu":
                raise ValueError(
                    "objective='sm' needs formulation='relu': gated units can be zero on every data point "
                    "with any slope there, so exact score matching is unbounded for any usable beta."
                )
            if self.conditioning != "per_level":
                raise ValueError("objective='sm' needs conditioning='per_level'.")

    def _supports_cuda(self):
        # the device kernels evaluate ReLU networks; gated units are not
        return self.formulation == "relu"

    # ------------------------------------------------------------------ fit
    def _trained_levels(self):
        if self.noise_levels is None or (self.noise_levels == "auto" and self.conditioning == "input"):
            return np.arange(self.n_steps)
        if self.noise_levels == "auto":
            return _levels_dense_at_small_noise(self.n_steps, _AUTO_TRAINED_LEVELS)
        return np.unique(np.round(np.linspace(0, self.n_steps - 1, self.noise_levels)).astype(int))

    @staticmethod
    def _noised_rows(Z, diffusion, levels, n_rows, random_state):
        """Antithetic training pairs at the ``levels``: ``2 n_rows`` inputs ``z`` and noises ``eps``.

        ``n_rows`` rows of ``Z`` per level (every row once when ``n_rows >=
        n``), each noised as ``cos(u) z0 +- sin(u) eps``.  The noise of each
        level is whitened to an exact second moment ``I`` (when it has more
        rows than twice the columns): over the pairs the noise then has mean
        0 and covariance ``I`` exactly and is uncorrelated with the data, so
        the least-squares linear term is the Gaussian closed form of the rows
        used (see the class Notes).
        """
        pairs = {}
        sin_u = np.sin(diffusion.noise_angles)
        for k, z, eps in diffusion.training_pairs(Z, n_rows, random_state):
            if k not in levels:
                continue
            signal = z - sin_u[k] * eps
            if len(eps) > 2 * eps.shape[1]:
                chol = np.linalg.cholesky(eps.T @ eps / len(eps))
                eps = linalg.solve_triangular(chol, eps.T, lower=True).T
            pairs[k] = (np.vstack([signal + sin_u[k] * eps, signal - sin_u[k] * eps]), np.vstack([eps, -eps]))
        return [pairs[k] for k in levels]

    def _programs(self, Z, diffusion, levels, random_state):
        """The convex programs to solve, as ``(X, Y, gates, linear_inputs, trace_weight)``."""
        n, d = Z.shape
        n_rows = min(max(n, _MIN_ROWS), _MAX_ROWS)
        if self.n_gates == "auto":
            skipped = self.noise_levels == "auto" and len(levels) < self.n_steps
            self.n_gates_ = _auto_gates(n, _PER_LEVEL_GATES_FACTOR if skipped else 1)
        else:
            self.n_gates_ = self.n_gates
        sin_u = np.sin(diffusion.noise_angles)
        if self.conditioning == "input":
            per_level = max(-(-n_rows // len(levels)), 2)
            pairs = self._noised_rows(Z, diffusion, levels, per_level, random_state)
            tau = _level_input(diffusion.noise_angles[levels])
            X = np.vstack([np.column_stack([z, np.full(len(z), t), np.ones(len(z))]) for (z, _), t in zip(pairs, tau)])
            Y = np.vstack([eps for _, eps in pairs])
            linear = np.zeros((len(X), len(levels) * (d + 1)))
            for i, (z, _) in enumerate(pairs):
                rows = slice(i * 2 * per_level, (i + 1) * 2 * per_level)
                linear[rows, i * (d + 1) : (i + 1) * (d + 1)] = np.column_stack([z, np.ones(len(z))])
            return [(X, Y, self._draw_gates(X, random_state), linear, 0.0)]
        programs = []
        for k, (z, eps) in zip(levels, self._noised_rows(Z, diffusion, levels, n_rows, random_state)):
            X = np.column_stack([z, np.ones(len(z))])
            gates = self._draw_gates(X, random_state)
            if self.objective == "sm":
                programs.append((X, np.zeros_like(eps), gates, None, sin_u[k]))
            else:
                programs.append((X, eps, gates, None, 0.0))
        return programs

    def _draw_gates(self, X, random_state):
        """``n_gates_`` gates for the inputs ``X`` of a program (bias column last)."""
        if self.gates == "random":
            return solver.draw_gates(X.shape[1], self.n_gates_, random_state)
        return solver.bisector_gates(X, self.n_gates_, random_state)

    def _program_name(self, index):
        """How the progress lines of ``fit`` name program ``index``."""
        levels = self.trained_levels_
        if self.conditioning == "input":
            return f"the program of all {len(levels)} levels"
        name = f"level {levels[index] + 1} of {self.n_steps}"
        return name if len(levels) == self.n_steps else f"{name} (program {index + 1} of {len(levels)})"

    def _solve(self, X, Y, gates, linear, trace_weight, index=0):
        progress = self._progress()
        report = None
        if progress.verbose >= 2:
            name = self._program_name(index)

            def report(message, *args):
                progress.report("%s: " + message, name, *args, level=2)

        signs, gates = solver.arrangement_patterns(X, gates, self.activation)
        if trace_weight:
            threshold = _score_matching_threshold(X[:, 0], trace_weight)
            if self.beta <= threshold:
                raise ValueError(
                    f"objective='sm' is unbounded below for beta <= {threshold:.3g} on these data (a steep "
                    f"neuron with its kink at a data point lowers it without limit); got beta={self.beta!r}. "
                    "Increase beta above the threshold, or use objective='dsm'."
                )
        program = solver.ConvexProgram(X, Y, signs, self.beta, self.activation, linear, trace_weight)
        result = solver.solve(program, self.formulation, gates, tol=self.tol, max_iter=self.max_iter, report=report)
        net = result["V"] if result["W"] is None else result["V"] - result["W"]
        neurons = _network(result["V"], result["W"], gates, signs, X, self.formulation)
        if progress:
            progress.report(
                "%s: %d patterns, %d neurons, %d iterations, %s %.2g",
                self._program_name(index),
                signs.shape[1],
                neurons[0].shape[1],
                result["n_iter"],
                "KKT residual" if self.objective == "sm" else "duality gap",
                result["certificate"],
            )
        return {
            "neurons": neurons,
            "linear": program.linear_term(net),
            "objective": result["objective"],
            "residual": result["residual"],
            "gap": result["gap"],
            "certificate": result["certificate"],
            "n_iter": result["n_iter"],
            "n_patterns": signs.shape[1],
        }

    def _fit_predictor(self, Z, diffusion, random_state):
        n, d = Z.shape
        if self.objective == "sm" and d != 1:
            raise ValueError(f"objective='sm' is implemented for 1-D data only (as in the paper); got {d} columns.")
        if self.formulation == "relu" and d > MAX_RELU_COLUMNS:
            raise ValueError(
                f"formulation='relu' takes at most {MAX_RELU_COLUMNS} model columns (its cone-constrained programs "
                f"grow about as the fourth power of the columns); these data have {d} after typed columns are "
                "encoded. Use fewer columns, formulation='gated_relu' (fast, but its density is not normalized), "
                "or another model such as DiffusionRandomFeatures."
            )
        self.trained_levels_ = self._trained_levels()
        # one program per worker thread, each with single-threaded BLAS and kernels
        programs = self._programs(Z, diffusion, self.trained_levels_, random_state)
        self._progress().report("%d convex programs of %d rows", len(programs), len(programs[0][0]), level=2)
        tasks = [(*program, index) for index, program in enumerate(programs)]
        results = parallel_map(self._solve, tasks, self.n_jobs, inner_threads=1)
        self.objective_ = np.array([r["objective"] for r in results])
        self.optimality_gap_ = np.array([r["gap"] for r in results])
        self.kkt_residual_ = np.array([r["residual"] for r in results])
        self.n_iter_ = np.array([r["n_iter"] for r in results])
        self.n_patterns_ = np.array([r["n_patterns"] for r in results])
        certificate = np.array([r["certificate"] for r in results])
        if np.any(certificate > self.tol):
            name = "KKT residual" if self.objective == "sm" else "duality gap"
            warnings.warn(
                f"{int(np.sum(certificate > self.tol))} of {len(results)} convex programs stopped at "
                f"max_iter={self.max_iter} with a relative {name} up to {certificate.max():.3g} > "
                f"tol={self.tol}; increase max_iter or tol.",
                ConvergenceWarning,
            )
        self._set_networks(results, d, diffusion.noise_angles)
        mean, covariance = Z.mean(axis=0), np.atleast_2d(np.cov(Z, rowvar=False, bias=True))
        return _TwoLayerPredictor(self, diffusion.noise_angles, mean, covariance)

    def _set_networks(self, results, d, noise_angles):
        """Per trained level: the network's weights and the linear term."""
        levels = self.trained_levels_
        self.hidden_weights_, self.hidden_bias_, self.output_weights_ = [], [], []
        self.linear_coef_ = np.zeros((len(levels), d, d))
        self.linear_intercept_ = np.zeros((len(levels), d))
        gated = self.formulation == "gated_relu"
        self.gate_weights_, self.gate_bias_ = ([], []) if gated else (None, None)
        if self.conditioning == "input":
            U, alpha, G = results[0]["neurons"]
            tau = _level_input(noise_angles[levels])
            for i, t in enumerate(tau):
                self.hidden_weights_.append(np.ascontiguousarray(U[:d]))
                self.hidden_bias_.append(U[d + 1] + t * U[d])
                self.output_weights_.append(alpha)
                if gated:
                    self.gate_weights_.append(np.ascontiguousarray(G[:d]))
                    self.gate_bias_.append(G[d + 1] + t * G[d])
                block = results[0]["linear"][i * (d + 1) : (i + 1) * (d + 1)]
                self.linear_coef_[i], self.linear_intercept_[i] = block[:d], block[d]
            return
        for i, r in enumerate(results):
            U, alpha, G = r["neurons"]
            self.hidden_weights_.append(np.ascontiguousarray(U[:d]))
            self.hidden_bias_.append(U[d].copy())
            self.output_weights_.append(alpha)
            if gated:
                self.gate_weights_.append(np.ascontiguousarray(G[:d]))
                self.gate_bias_.append(G[d].copy())
            self.linear_coef_[i], self.linear_intercept_[i] = r["linear"][:d], r["linear"][d]

    # --------------------------------------------------------------- Langevin
    def sample_langevin(self, n_samples=1, *, n_iter=1000, step_size=0.01, random_state=None):
        """Samples by the paper's unadjusted Langevin dynamics.

        ``z <- z + step_size / 2 * s(z) + sqrt(step_size) * xi`` with the
        learned score ``s`` at the smallest noise level, started from the
        Gaussian fit of the data, in standardized units.  Plain Langevin
        mixes slowly between separated modes; :meth:`sample` (the engine's
        samplers) is the default.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        n_iter : int, default=1000
            Langevin steps.
        step_size : float, default=0.01
            Step size, in squared standardized units.
        random_state : int, RandomState instance or None, default=None
            Seed; None uses the generator that :meth:`sample` uses.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, n_features)
            Samples in the units of the training data, typed columns decoded
            as :meth:`sample` decodes them.
        """
        self._check_ready()
        check_int("n_samples", n_samples, 1)
        check_int("n_iter", n_iter, 0)
        check_real("step_size", step_size, at_least=0.0)
        if step_size == 0:
            raise ValueError("step_size must be positive, got 0.")
        rng = self._sample_random_state if random_state is None else check_random_state(random_state)
        a, s = np.cos(self.noise_angles_[0]), np.sin(self.noise_angles_[0])
        # the Gaussian fit of the data: the base law with its noise removed
        mean = self.prior_mean_ / np.cos(self.noise_angles_[-1])
        cov = (self.prior_covariance_ - np.sin(self.noise_angles_[-1]) ** 2 * np.eye(len(mean))) / np.cos(
            self.noise_angles_[-1]
        ) ** 2
        chol = np.linalg.cholesky(cov + 1e-9 * np.eye(len(mean)))
        z = a * (mean + rng.standard_normal((n_samples, len(mean))) @ chol.T)
        with limit_threads(self.n_jobs):
            for _ in range(n_iter):
                score = -self.diffusion_.predictor.predict(z, 0) / s
                z = z + 0.5 * step_size * score + np.sqrt(step_size) * rng.standard_normal(z.shape)
        if not np.all(np.isfinite(z)):
            raise FloatingPointError("Langevin dynamics diverged; use a smaller step_size.")
        return self._inverse_transform(z / a)


def _level_input(angles):
    """The level column of ``conditioning='input'``: the angle, standardized over the levels."""
    return (angles - angles.mean()) / max(angles.std(), 1e-12)


class _TwoLayerPredictor(NoisePredictor):
    """The fitted networks of the trained levels; a level in between interpolates its two neighbours.

    What is interpolated is each trained level's departure from the Gaussian
    closed form (the noise prediction of the data's Gaussian fit noised to
    the level, exact at every level): with every neuron off the predictor is
    then that closed form at every level, not a chord between two of them.

    Parameters
    ----------
    model : ConvexTwoLayerScore
        The fitted estimator, whose weights (``hidden_weights_``, ...) are read.
    noise_angles : ndarray of shape (n_steps,)
        The engine's levels.
    mean, covariance : ndarray of shape (d,) and (d, d)
        The Gaussian fit of the training rows, in model coordinates.
    """

    divergence_in_closed_form = True

    def __init__(self, model, noise_angles, mean, covariance):
        self.trained_levels = model.trained_levels_
        self.hidden_weights, self.hidden_bias = model.hidden_weights_, model.hidden_bias_
        self.output_weights = model.output_weights_
        self.gate_weights, self.gate_bias = model.gate_weights_, model.gate_bias_
        self.absolute = model.activation == "abs"
        self.activation = model.activation
        self.supports_cuda = model.formulation == "relu"
        self.noise_angles = noise_angles
        self.linear_coef, self.linear_intercept = self._level_linear_terms(
            model.linear_coef_, model.linear_intercept_, mean, covariance
        )

    def _neighbours(self, level):
        """Trained levels around engine ``level`` and the interpolation weight of the upper one."""
        levels = self.trained_levels
        hi = int(np.searchsorted(levels, level))
        if levels[hi] == level:
            return hi, hi, 0.0
        u = self.noise_angles
        lo = hi - 1
        return lo, hi, (u[level] - u[levels[lo]]) / (u[levels[hi]] - u[levels[lo]])

    def _level_linear_terms(self, coef, intercept, mean, covariance):
        """The linear map and intercept of every engine level.

        A trained level's own; in between, the Gaussian closed form of the
        level plus its neighbours' departures from theirs, interpolated.
        """
        gauss_coef, gauss_intercept = _gaussian_linear_terms(mean, covariance, self.noise_angles)
        n_steps, d = len(self.noise_angles), len(mean)
        level_coef, level_intercept = np.empty((n_steps, d, d)), np.empty((n_steps, d))
        for level in range(n_steps):
            lo, hi, w = self._neighbours(level)
            if hi == lo:
                level_coef[level], level_intercept[level] = coef[lo], intercept[lo]
                continue
            k_lo, k_hi = self.trained_levels[lo], self.trained_levels[hi]
            level_coef[level] = gauss_coef[level] + (1.0 - w) * (coef[lo] - gauss_coef[k_lo])
            level_coef[level] += w * (coef[hi] - gauss_coef[k_hi])
            level_intercept[level] = gauss_intercept[level] + (1.0 - w) * (intercept[lo] - gauss_intercept[k_lo])
            level_intercept[level] += w * (intercept[hi] - gauss_intercept[k_hi])
        return level_coef, level_intercept

    def _hidden_output(self, z, i, with_divergence):
        """Trained level ``i``'s hidden units: their output and, if asked, its divergence."""
        U, b, alpha = self.hidden_weights[i], self.hidden_bias[i], self.output_weights[i]
        proj = z @ U
        if self.gate_weights is not None:
            # gated linear units: gate(z g) (z u) alpha, whose Jacobian is gate(z g) u alpha
            gate = z @ self.gate_weights[i] + self.gate_bias[i]
            gate = np.sign(gate) if self.absolute else (gate >= 0).astype(np.float64)
            eps = ((proj + b) * gate) @ alpha
            return eps, (gate @ np.einsum("ji,ij->i", U, alpha) if with_divergence else None)
        if not with_divergence:
            _kernels.relu_features(proj, b, self.absolute)
            return proj @ alpha, None
        slopes = np.empty_like(proj)
        _kernels.relu_features_slopes(proj, b, self.absolute, slopes)
        # d eps_j / d z_j = sum_i slope_i U[j, i] alpha[i, j]
        return proj @ alpha, slopes @ np.einsum("ji,ij->i", U, alpha)

    def _predict(self, z, level, with_divergence):
        lo, hi, w = self._neighbours(level)
        eps = z @ self.linear_coef[level] + self.linear_intercept[level]
        div = np.trace(self.linear_coef[level]) if with_divergence else None
        # a weight of 1.0 multiplies exactly: a trained level is its own network, bit for bit
        for i, weight in [(lo, 1.0)] if hi == lo else [(lo, 1.0 - w), (hi, w)]:
            hidden, hidden_div = self._hidden_output(z, i, with_divergence)
            eps += weight * hidden
            if with_divergence:
                div = div + weight * hidden_div
        return eps, div

    def predict(self, z, level):
        return self._predict(z, level, False)[0]

    def predict_with_divergence(self, z, level):
        return self._predict(z, level, True)

    def device_network(self):
        # one term per trained level's hidden units, one per engine level's linear map
        d = self.linear_coef.shape[1]
        zero_coef, zero_intercept = np.zeros((d, d)), np.zeros(d)
        terms = [
            (U, b, np.ones(len(b)), alpha, zero_coef, zero_intercept)
            for U, b, alpha in zip(self.hidden_weights, self.hidden_bias, self.output_weights)
        ]
        no_units = (np.zeros((d, 0)), np.zeros(0), np.zeros(0), np.zeros((0, d)))
        levels = []
        for level in range(len(self.noise_angles)):
            lo, hi, w = self._neighbours(level)
            terms.append((*no_units, self.linear_coef[level], self.linear_intercept[level]))
            hidden = [(1.0, lo)] if hi == lo else [(1.0 - w, lo), (w, hi)]
            levels.append(hidden + [(1.0, len(terms) - 1)])
        return _cuda.DeviceNetwork(terms, levels, self.activation)


def _gaussian_linear_terms(mean, covariance, angles):
    """Per level, ``(A, c)`` with ``z A + c`` the noise prediction of ``N(mean, covariance)`` noised to it.

    For ``z = cos(u) z0 + sin(u) eps``, ``E[eps | z] = sin(u) S^-1 (z - cos(u)
    mean)`` with ``S = cos(u)^2 covariance + sin(u)^2 I`` (symmetric).
    """
    d = len(mean)
    coef, intercept = np.empty((len(angles), d, d)), np.empty((len(angles), d))
    for k, u in enumerate(angles):
        a, s = np.cos(u), np.sin(u)
        coef[k] = s * linalg.inv(a**2 * covariance + s**2 * np.eye(d))
        intercept[k] = -a * (mean @ coef[k])
    return coef, intercept


def _network(V, W, gates, signs, X, formulation):
    """Hidden units ``(U, alpha, G)`` from a convex solution.

    ``U`` has shape ``(p, n_units)`` (input weights, then the bias) and
    ``alpha`` shape ``(n_units, c)``.  Each non-zero column ``v`` gives
    ``u = v / sqrt(||v||)`` and output weight ``sqrt(||v||)`` (negated for
    the ``W`` part), so that the weight decay ``beta/2 (||u||^2 +
    alpha^2)`` equals ``beta ||v||``.  ReLU program: ``act(x u) alpha = D x
    v`` on the training rows (``v`` lies in the pattern's cone) and ``G`` is
    None.  Gated program: the unit is the gated linear unit ``gate(x g) (x
    u) alpha`` with its pattern's gate ``g`` (the column of ``G``, shape
    ``(p, n_units)``), ``gate`` the indicator ``1[. >= 0]`` (ReLU) or the
    sign (absolute value): exactly ``D x v`` on the training rows, and what
    the gated program optimizes everywhere else.
    """
    P, p, c = V.shape
    columns, outputs, gate_columns = [], [], []

    def add(v, sign, j, k):
        norm = np.linalg.norm(v)
        columns.append(v / np.sqrt(norm))
        out = np.zeros(c)
        out[j] = sign * np.sqrt(norm)
        outputs.append(out)
        gate_columns.append(gates[:, k])

    for k, j in zip(*np.nonzero(np.linalg.norm(V, axis=1))):
        add(V[k, :, j], 1.0, j, k)
    if W is not None:
        for k, j in zip(*np.nonzero(np.linalg.norm(W, axis=1))):
            add(W[k, :, j], -1.0, j, k)
    G = None
    if not columns:
        U, alpha = np.zeros((p, 0)), np.zeros((0, c))
        if formulation == "gated_relu":
            G = np.zeros((p, 0))
        return U, alpha, G
    if formulation == "gated_relu":
        G = np.array(gate_columns).T
    return np.array(columns).T, np.array(outputs), G
