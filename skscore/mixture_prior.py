"""GaussianMixturePriorDiffusion: diffusion with a Gaussian-mixture prior (Jia et al.)."""

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import Interval, StrOptions

from ._engine import draw_by_weight
from ._gaussian_mixture import GaussianMixtureLaw
from ._schedules import noise_angles
from .base import _RUN_PARAMETERS, DIFFUSION_PARAMETERS, BaseDiffusionDensity
from .random_features import DiffusionRandomFeatures

_MAX_AUTO_COMPONENTS = 10
_REG_COVAR = 1e-6  # GaussianMixture's default, on standardized columns
# a component whose Gaussian term is this many nats below a row's best one
# holds less than exp(-50) of that row's density: its flow is not integrated
_NEGLIGIBLE_LOG_TERM = 50.0


def _gaussian_parameters(Z, resp, prior_covariance):
    """Weights, means and covariances of a mixture from responsibilities."""
    counts = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = resp.T @ Z / counts[:, None]
    d = Z.shape[1]
    covs = np.empty((len(counts), d, d))
    for j, (m, c) in enumerate(zip(means, counts)):
        r = Z - m
        covs[j] = (resp[:, j, None] * r).T @ r / c
        if prior_covariance == "diag":
            covs[j] = np.diag(np.diag(covs[j]))
        elif prior_covariance == "identity":  # the spherical fit
            covs[j] = np.trace(covs[j]) / d * np.eye(d)
        covs[j] += _REG_COVAR * np.eye(d)
    return counts / counts.sum(), means, covs


def _outcome(model, gain):
    """What became of a component's diffusion, for the progress lines of ``fit``."""
    if np.isnan(gain):
        return "diffusion fitted" if model is not None else "keeps its Gaussian (too few rows to validate)"
    kept = "diffusion kept" if model is not None else "keeps its Gaussian"
    return f"{kept} (held-out gain {gain:+.4g} nats per row)"


class GaussianMixturePriorDiffusion(BaseDiffusionDensity):
    """Score-based diffusion whose prior is a Gaussian mixture fitted to the data.

    The structured diffusion of Jia, Zhu, Liu & Zheng (arXiv 2410.19149):
    instead of diffusing every row to ``N(0, I)``, a dispatcher assigns each
    row ``x_0`` to a component ``j`` of a Gaussian mixture
    ``sum_j p_j N(c_j, S_j)`` fitted to the data, and the forward process
    (mixDDPM) diffuses it towards that component::

        x_k = c_j + cos(u_k) (x_0 - c_j) + sin(u_k) L_j eps,   S_j = L_j L_j'

    so the reverse process only has to carry each row from its own component
    to the data ("reverse effort", ``reverse_effort_``).  In the whitened
    coordinates ``y = L_j^{-1} (x - c_j)`` of a component this is the
    standard forward process, so each component's reverse process is an
    ordinary diffusion of the package (the ``predictor``), fitted on the rows
    dispatched to it, and the model's density is exactly the mixture

    .. math:: p(x) = \\sum_j p_j \\, |L_j|^{-1} q_j(L_j^{-1}(x - c_j)),

    where ``q_j`` is the density of component ``j``'s diffusion, computed by
    the engine's probability-flow likelihood: normalized, with no bound
    involved.  Sampling draws ``j ~ Cat(p)``, runs component ``j``'s reverse
    process from its base distribution and maps back with ``c_j + L_j y``.

    With ``prior_covariance='full'`` and the 'posterior' dispatcher, when the
    mixture is right the rows of each component are standard normal in its
    whitened coordinates, the optimal noise predictor is linear and the
    velocity of the probability-flow ODE is zero: the default predictor
    (:class:`DiffusionRandomFeatures`, whose exactly fitted linear term
    represents Gaussians, with ridge-penalized nonlinear features) then
    nearly reproduces the fitted mixture.  Each component's diffusion is
    moreover kept only if it beats the component's own Gaussian on held-out
    rows (``validation_fraction``); a component that keeps its Gaussian
    contributes exactly its term of the fitted mixture, so a model whose
    components all keep theirs is the
    :class:`~sklearn.mixture.GaussianMixture` fitted to the standardized data.

    Read more in the :ref:`User Guide <mixture_prior>`.

    Parameters
    ----------
    n_components : int or 'auto', default='auto'
        Number of mixture components.  'auto' picks, among 1 to 10 (and at
        most half the number of rows), the number with the lowest BIC of a
        :class:`~sklearn.mixture.GaussianMixture` of the same covariance type.
    prior_covariance : {'full', 'diag', 'identity'}, default='full'
        Covariance ``S_j`` of each prior component, in standardized units:
        taken from the fitted mixture ('full', 'diag'), or the identity (the
        paper's choice; the mixture is then fitted with spherical
        covariances, which give the dispatcher's posterior).
    prior_init : {'gmm', 'kmeans'}, default='gmm'
        How the mixture is fitted: a :class:`~sklearn.mixture.GaussianMixture`
        of the same covariance type, whose weights, means and covariances are
        taken as they are, or :class:`~sklearn.cluster.KMeans` clusters with
        their fractions, means and covariances.
    dispatcher : {'posterior', 'nearest'}, default='posterior'
        How training rows are assigned to components: drawn from the fitted
        mixture's posterior responsibilities, or the nearest centre (the
        paper's l2 rule).  With 'posterior', the rows of a component follow
        exactly that Gaussian when the data are the mixture, so a zero
        correction reproduces it; 'nearest' cuts the data along Voronoi cells,
        whose sharp edges the component diffusions then have to learn.  The
        weights ``p_j`` are the fitted mixture's with 'posterior', the
        fractions of the cells with 'nearest'.
    predictor : estimator or None, default=None
        The diffusion model run in each component's whitened coordinates: an
        unfitted skscore estimator, cloned for each component, whose
        ``n_steps``, ``schedule``, ``sampler``, ``random_state``, ``n_jobs``
        and ``device`` are replaced by this estimator's (``preprocessing``
        by None, and ``verbose`` by this estimator's minus one: the
        component fits report from ``verbose=2`` on).  None means
        ``DiffusionRandomFeatures(n_features=256, feature_directions=
        'random')``: a component's rows are whitened, so there is no
        direction of spread for frequencies along differences of rows to
        follow.
    shared_predictor : bool, default=False
        Fit one predictor on the whitened rows of all components (the
        paper's network that is not told the component) instead of one per
        component (told the component).
    min_component_rows : int, default=20
        Components with fewer dispatched rows are not given a diffusion: they
        keep their Gaussian (with ``shared_predictor=True``, the shared
        predictor serves every component).
    validation_fraction : float in (0, 1) or None, default=0.2
        Share of a component's rows held out to decide whether its diffusion
        is kept: a trial diffusion fitted on the other rows must give them a
        higher mean log-likelihood than the component's Gaussian, otherwise
        the component keeps its Gaussian.  The kept diffusion is the one
        fitted on every row (the first fit, so the trial does not change it).
        None keeps every diffusion.
    n_steps : int, default=30
        Number of noise levels of each component's diffusion.
    schedule : {'cosine', 'linear', 'vp', 've', 'flow'}, default='cosine'
        Forward process of each component's diffusion (see the
        :ref:`engine <engine>` guide).
    sampler : {'heun', 'ddim', 'ddpm', 'euler_maruyama'}, default='heun'
        Reverse-time integrator used by :meth:`sample`.
    preprocessing : {'standard', None}, default='standard'
        Internal standardization of the columns, before the mixture is fitted.
    random_state : int, RandomState instance or None, default=None
        Seed of the mixture fit, the dispatcher, the component diffusions and
        the default sampling generator.
    n_jobs : int or None, default=None
        Threads for the Numba kernels and BLAS; None uses every core.
    device : {'cpu', 'cuda', 'auto'}, default='cpu'
        Passed to the component diffusions, whose sampling and log-density
        then run on the CPU kernels, on the GPU (numba.cuda; a ValueError if
        no usable GPU is found, or if ``predictor`` has no CUDA kernels), or
        on the GPU when one is usable and the CPU otherwise.  The mixture fit
        and the whitening run on the CPU (see the :ref:`GPU guide <gpu>`).
    %(column_type_parameters)s

    Attributes
    ----------
    n_components_ : int
        Number of components kept (with the 'nearest' dispatcher, a centre
        nearest to no training row is dropped).
    weights_ : ndarray of shape (`n_components_`,)
        Mixture weights ``p_j``.
    means_ : ndarray of shape (`n_components_`, `n_features_in_`)
        Prior centres ``c_j``, in the units of ``X``.
    covariances_ : ndarray of shape (`n_components_`, `n_features_in_`, `n_features_in_`)
        Prior covariances ``S_j``, in the units of ``X``.
    component_models_ : list of estimators or None
        The fitted diffusion of each component (None for a component that
        keeps its Gaussian; the same object for every component when
        ``shared_predictor=True``).
    component_counts_ : ndarray of shape (`n_components_`,)
        Number of training rows dispatched to each component.
    validation_gain_ : ndarray of shape (`n_components_`,)
        Held-out mean log-likelihood of each component's trial diffusion
        minus its Gaussian's, in nats per row, in whitened coordinates (the
        diffusion is kept where it is positive); NaN where no validation ran
        (``validation_fraction=None``, or fewer than ``min_component_rows``
        rows).
    reverse_effort_ : float
        The paper's reverse effort ``E ||X_K - X_0||^2`` of the fitted forward
        process (training rows, standardized units).
    reverse_effort_standard_ : float
        The same figure for the standard ``N(0, I)`` prior.
    noise_angles_ : ndarray of shape (n_steps,)
        Noise angle of each level.
    shift_ : ndarray of shape (`n_features_in_`,)
        Column means removed by the internal standardization.
    scale_ : ndarray of shape (`n_features_in_`,)
        Column scales divided out by the internal standardization.
    n_features_in_ : int
        Number of columns seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen during fit, when ``X`` has string column names.

    See Also
    --------
    DiffusionRandomFeatures : The standard-prior model.
    sklearn.mixture.GaussianMixture : The mixture alone.

    Notes
    -----
    ``score_samples`` integrates the probability flow of every component
    whose Gaussian term is within 50 nats of the row's largest one, so it
    costs up to ``n_components_`` times the likelihood of one diffusion.
    The noised laws of ``score_function`` are those of the component-centred
    forward process, ``sum_j p_j Law(c_j + cos(u) (x_0 - c_j) + sin(u) L_j
    eps)``; it combines the components' scores with the posterior
    responsibilities that the fitted Gaussians would have at that level
    (exact when the component diffusions are those Gaussians).

    Examples
    --------
    >>> from skscore import DiffusionRandomFeatures, GaussianMixturePriorDiffusion
    >>> from skscore.datasets import circle_mixture_2d
    >>> X = circle_mixture_2d().sample(400, random_state=0)
    >>> model = GaussianMixturePriorDiffusion(
    ...     n_components=8, predictor=DiffusionRandomFeatures(n_features=64), n_steps=10, random_state=0
    ... ).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    >>> model.score_samples(X[:2]).shape
    (2,)
    >>> bool(model.reverse_effort_ < model.reverse_effort_standard_)
    True
    """

    _parameter_constraints = {
        **BaseDiffusionDensity._parameter_constraints,
        **DIFFUSION_PARAMETERS,
        "n_components": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "prior_covariance": [StrOptions({"full", "diag", "identity"})],
        "prior_init": [StrOptions({"gmm", "kmeans"})],
        "dispatcher": [StrOptions({"posterior", "nearest"})],
        "predictor": [BaseDiffusionDensity, None],
        "shared_predictor": ["boolean"],
        "min_component_rows": [Interval(Integral, 2, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        prior_covariance="full",
        prior_init="gmm",
        dispatcher="posterior",
        predictor=None,
        shared_predictor=False,
        min_component_rows=20,
        validation_fraction=0.2,
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
        self.n_components = n_components
        self.prior_covariance = prior_covariance
        self.prior_init = prior_init
        self.dispatcher = dispatcher
        self.predictor = predictor
        self.shared_predictor = shared_predictor
        self.min_component_rows = min_component_rows
        self.validation_fraction = validation_fraction

    def _supports_cuda(self):
        # the component diffusions carry the device
        return self.predictor is None or self.predictor._supports_cuda()

    # ---------------------------------------------------------------- prior
    def _gmm(self, n_components, random_state):
        covariance_type = "spherical" if self.prior_covariance == "identity" else self.prior_covariance
        return GaussianMixture(
            n_components, covariance_type=covariance_type, reg_covar=_REG_COVAR, random_state=random_state
        )

    def _fit_mixture(self, Z, random_state):
        """The fitted mixture (a :class:`GaussianMixtureLaw`) in model space.

        Its covariances are the fitted ones (spherical for 'identity', whose
        prior then replaces them by the identity).

        With ``prior_init='gmm'`` and a given ``n_components``, the
        :class:`~sklearn.mixture.GaussianMixture` draws from ``random_state``
        first: on continuous columns it is the mixture that
        ``GaussianMixture(random_state=seed)`` fits to the standardized data,
        and its parameters are taken as they are, so a model whose components
        all keep their Gaussian is exactly that mixture.
        """
        n, d = Z.shape
        auto = isinstance(self.n_components, str)
        if not auto and self.n_components > n:
            raise ValueError(f"n_components={self.n_components} exceeds the number of training rows ({n}).")
        if self.n_components == 1:  # closed form: no randomness consumed
            return GaussianMixtureLaw(*_gaussian_parameters(Z, np.ones((n, 1)), self.prior_covariance))
        if auto:  # the lowest BIC among 1 to 10 components
            seed = random_state.randint(np.iinfo(np.int32).max)
            fits = [self._gmm(k, seed).fit(Z) for k in range(1, min(_MAX_AUTO_COMPONENTS, n // 2) + 1)]
            gmm = min(fits, key=lambda fit: fit.bic(Z))
        if self.prior_init == "kmeans":
            k = gmm.n_components if auto else self.n_components
            kmeans = KMeans(k, n_init=3, random_state=random_state.randint(np.iinfo(np.int32).max)).fit(Z)
            return GaussianMixtureLaw(*_gaussian_parameters(Z, np.eye(k)[kmeans.labels_], self.prior_covariance))
        if not auto:
            gmm = self._gmm(self.n_components, random_state).fit(Z)
        weights, means, covs = gmm.weights_, gmm.means_, gmm.covariances_
        if self.prior_covariance == "diag":
            covs = np.array([np.diag(c) for c in covs])
        elif self.prior_covariance == "identity":
            covs = covs[:, None, None] * np.eye(d)[None]
        return GaussianMixtureLaw(weights, means, covs)

    def _dispatch(self, Z, law, random_state):
        """Component of each training row (``law`` is the fitted mixture)."""
        if len(law.weights) == 1:
            return np.zeros(len(Z), dtype=np.intp)
        if self.dispatcher == "nearest":
            return np.argmin(((Z[:, None, :] - law.means[None]) ** 2).sum(axis=2), axis=1)
        cumulative = np.cumsum(law.responsibilities(Z), axis=1)
        draws = random_state.random_sample(len(Z))[:, None]
        return np.minimum((cumulative < draws * cumulative[:, -1:]).sum(axis=1), len(law.weights) - 1)

    def _whiten(self, Z, j):
        return linalg.solve_triangular(self._chol_z[j], (Z - self._centres_z[j]).T, lower=True, check_finite=False).T

    def _component_model(self, random_state, name):
        template = (
            DiffusionRandomFeatures(n_features=256, feature_directions="random")
            if self.predictor is None
            else self.predictor
        )
        overrides = {
            "integer_features": None,
            "categorical_features": None,
            "bounds": None,
            "point_masses": None,
            "n_steps": self.n_steps,
            "schedule": self.schedule,
            "sampler": self.sampler,
            "preprocessing": None,
            "random_state": random_state,
            "n_jobs": self.n_jobs,
            "device": self.device,
            "n_particles": self.n_particles,
            # the prior reports per component at verbose=1; its component fits talk from 2 on
            "verbose": max(0, int(self.verbose) - 1),
        }
        # a predictor with its own level grid (GradientBoostedScore) keeps it
        names = template.get_params(deep=False)
        model = clone(template).set_params(**{name: value for name, value in overrides.items() if name in names})
        # a whitened coordinate constant within a component stays a (narrow) coordinate:
        # the mixture's density is a density, not part probability
        model._lone_point_masses = False
        # its rows are the component's, whitened (or, with prior_covariance='identity', as the spherical fit
        # leaves them): the mixture's choice, not the user's preprocessing=None
        model._levels_assume_unit_scale = False
        # its progress lines (verbose >= 2) say which component they are about
        model._progress_name = f"{type(self).__name__} {name}: {type(template).__name__}"
        return model

    def _fit_correction(self, Y, random_state, name):
        """A diffusion for whitened rows ``Y``, or None where the Gaussian is better.

        The diffusion is fitted on every row first, so that it is the first
        draw from ``random_state`` of its component: one component with the
        identity covariance is then exactly ``predictor`` with the same seed.
        With ``validation_fraction``, a trial diffusion is then fitted on the
        other rows and judged on the held-out ones against the component's
        own Gaussian, ``N(0, I)`` in whitened coordinates (what the component
        falls back to): the diffusion is kept only if its held-out mean
        log-likelihood is higher.  Returns the model (or None) and that gain
        in nats per row (NaN without validation).
        """
        model = self._component_model(random_state, name).fit(Y)
        if self.validation_fraction is None:
            return model, np.nan
        order = random_state.permutation(len(Y))
        n_val = max(1, int(round(self.validation_fraction * len(Y))))
        held_out, rest = Y[order[:n_val]], Y[order[n_val:]]
        if len(rest) < 2:
            return None, np.nan
        trial = self._component_model(random_state, f"{name}, validation trial").fit(rest)
        d = Y.shape[1]
        gaussian = -0.5 * np.sum(held_out**2, axis=1) - 0.5 * d * np.log(2 * np.pi)
        gain = float(np.mean(trial.score_samples(held_out) - gaussian))
        return (model if gain > 0 else None), gain

    def _check_ready(self):
        super()._check_ready()
        # the component models run as the prior is set now: set_params after fit reaches them too
        for model in self.component_models_:
            if model is not None:
                names = model.get_params(deep=False)
                model.set_params(**{name: getattr(self, name) for name in _RUN_PARAMETERS if name in names})

    # ------------------------------------------------------------------ fit
    def _fit_density(self, Z, y, random_state):
        n, d = Z.shape
        self.noise_angles_ = noise_angles(self.schedule, self.n_steps)
        progress = self._progress()
        law = self._fit_mixture(Z, random_state)
        progress.report(
            "prior: %d components (%s%s, %s covariances)",
            len(law.weights),
            self.prior_init,
            ", BIC" if isinstance(self.n_components, str) else "",
            self.prior_covariance,
        )
        labels = self._dispatch(Z, law, random_state)
        if self.dispatcher == "posterior":
            weights = law.weights
        else:  # the cluster fractions; an empty cell is dropped
            weights = np.bincount(labels, minlength=len(law.weights)) / n
        keep = np.flatnonzero(weights > 0)
        labels = np.searchsorted(keep, labels)
        self._centres_z, self._fitted_covs_z = law.means[keep], law.covariances[keep]
        if self.prior_covariance == "identity":
            covs_z = np.repeat(np.eye(d)[None], len(keep), axis=0)
        else:
            covs_z = self._fitted_covs_z
        self._chol_z = np.array([linalg.cholesky(c, lower=True) for c in covs_z])
        self.n_components_ = len(keep)
        self.weights_ = weights[keep] / weights[keep].sum()
        self.means_ = self.shift_ + self.scale_ * self._centres_z
        self.covariances_ = covs_z * np.outer(self.scale_, self.scale_)[None]
        self._prior_law = GaussianMixtureLaw(self.weights_, self._centres_z, covs_z)
        self.component_counts_ = np.bincount(labels, minlength=self.n_components_)

        whitened = [self._whiten(Z[labels == j], j) for j in range(self.n_components_)]
        if self.shared_predictor:
            progress.report("shared predictor: fitting on the %d rows of every component", n, level=2)
            shared, gain = self._fit_correction(np.vstack(whitened), random_state, "shared predictor")
            if progress:
                progress.report("shared predictor on %d rows: %s", n, _outcome(shared, gain))
            self.component_models_ = [shared] * self.n_components_
            self.validation_gain_ = np.full(self.n_components_, gain)
        else:
            fits = []
            for j, Y in enumerate(whitened):
                if len(Y) < self.min_component_rows:
                    fits.append((None, np.nan))
                    progress.report(
                        "component %d of %d: %d rows (< min_component_rows=%d), keeps its Gaussian",
                        j + 1, self.n_components_, len(Y), self.min_component_rows,
                    )
                    continue
                progress.report("component %d of %d: fitting on %d rows", j + 1, self.n_components_, len(Y), level=2)
                fits.append(self._fit_correction(Y, random_state, f"component {j + 1}"))
                if progress:
                    progress.report("component %d of %d: %d rows, %s", j + 1, self.n_components_, len(Y), _outcome(*fits[-1]))
            self.component_models_ = [model for model, _ in fits]
            self.validation_gain_ = np.array([gain for _, gain in fits])

        a, s = np.cos(self.noise_angles_[-1]), np.sin(self.noise_angles_[-1])
        traces = np.trace(covs_z, axis1=1, axis2=2)
        residual = Z - self._centres_z[labels]
        self.reverse_effort_ = float(np.mean((1 - a) ** 2 * np.sum(residual**2, axis=1) + s**2 * traces[labels]))
        self.reverse_effort_standard_ = float(np.mean((1 - a) ** 2 * np.sum(Z**2, axis=1)) + s**2 * d)

    # ---------------------------------------------------------- log-density
    def _log_density(self, Z):
        n, d = Z.shape
        log_weights = np.log(self.weights_) - np.log(np.diagonal(self._chol_z, axis1=1, axis2=2)).sum(axis=1)
        with np.errstate(over="ignore", under="ignore"):  # rows far from every component
            gaussian_terms = self._prior_law.component_log_terms(Z)
        active = gaussian_terms >= gaussian_terms.max(axis=1, keepdims=True) - _NEGLIGIBLE_LOG_TERM
        terms = gaussian_terms.copy()
        for j, model in enumerate(self.component_models_):
            rows = np.flatnonzero(active[:, j])
            if model is None or len(rows) == 0:
                continue
            Y = np.ascontiguousarray(self._whiten(Z[rows], j))
            terms[rows, j] = log_weights[j] + model.score_samples(Y)
        return logsumexp(terms, axis=1)

    # ---------------------------------------------------------------- sample
    def _sample(self, n_samples, rng):
        counts = rng.multinomial(n_samples, self.weights_) if self.n_components_ > 1 else [n_samples]
        parts = []
        for j, (count, model) in enumerate(zip(counts, self.component_models_)):
            if count == 0:
                continue
            Y = rng.standard_normal((count, len(self._centres_z[j]))) if model is None else model.sample(count, random_state=rng)
            parts.append(self._centres_z[j] + Y @ self._chol_z[j].T)
        Z = np.concatenate(parts)
        return Z[rng.permutation(n_samples)] if self.n_components_ > 1 else Z

    # ----------------------------------------------------------- conditional
    # an interval of a model coordinate is no constraint a component's whitened rows can take
    _conditions_on_cells = False
    _levels_assume_unit_scale = False  # each component's rows are whitened

    def _condition(self, Z, random_state, projectors=None):
        """Rows drawn given their known coordinates: a component, then its diffusion.

        The component of a row is drawn from its posterior given the known
        coordinates under the components' Gaussians (the prior's for a
        component that kept it, the fitted one for a diffusion, whose own
        marginals have no closed form); within the component the known
        coordinates are a linear constraint on the whitened row, which its
        model's conditional sampler takes as a projector (a component that
        kept its Gaussian is conditioned exactly).
        """
        if projectors is not None:
            raise ValueError("A GaussianMixturePriorDiffusion cannot be the predictor of another one for impute.")
        # a component that keeps its Gaussian is N(c, S) with the prior's S (the identity with
        # prior_covariance='identity'); a diffusion's marginal is approximated by the fitted Gaussian
        covs = [
            S if model is None else F
            for S, F, model in zip(self._prior_law.covariances, self._fitted_covs_z, self.component_models_)
        ]
        law = GaussianMixtureLaw(self.weights_, self._centres_z, covs)
        log_terms = law.observed_log_terms(Z)
        labels = draw_by_weight(log_terms, random_state.random_sample(len(Z)))
        out = np.empty_like(Z)
        for j in np.unique(labels):
            rows = np.flatnonzero(labels == j)
            known, projector = self._whitened_constraint(Z[rows], j)
            model = self.component_models_[j]
            if model is None:
                noise = random_state.standard_normal(known.shape)
                Y = known + noise - np.einsum("nij,nj->ni", projector, noise)
            else:
                Y = model._condition(np.ascontiguousarray(known), random_state, projectors=projector)
            out[rows] = self._centres_z[j] + Y @ self._chol_z[j].T
        return out

    def _whitened_constraint(self, Z, j):
        """The known coordinates of rows ``Z`` (NaN elsewhere) as constraints on component ``j``'s whitened rows.

        ``z = c + L y``, so the known ``z_o`` is ``A y = z_o - c_o`` with ``A``
        the rows ``o`` of ``L``.  Returns the known part ``A^+ (z_o - c_o)``
        of each whitened row and the orthogonal projector ``A^+ A`` onto the
        row space of ``A`` (through ``M``, ``A A^T`` on the known block and
        the identity elsewhere).
        """
        o = (~np.isnan(Z)).astype(np.float64)
        L = self._chol_z[j]
        A = o[:, :, None] * L[None]
        M = np.einsum("nik,njk->nij", A, A) + np.eye(Z.shape[1])[None] * (1.0 - o)[:, None, :]
        b = np.where(o > 0, Z - self._centres_z[j], 0.0)
        known = np.einsum("nki,nk->ni", A, np.linalg.solve(M, b[:, :, None])[:, :, 0])
        projector = np.einsum("nki,nkj->nij", A, np.linalg.solve(M, A))
        return known, projector

    # ----------------------------------------------------------------- score
    def _score(self, Z, level):
        # the posterior of each component at this level, were the component
        # diffusions their fitted Gaussians: a Gaussian noised towards its
        # prior component N(c, S) by the component-centred forward process
        # has covariance a^2 F + s^2 S (F fitted, S the prior's); a component
        # that keeps its Gaussian is N(c, S) at every level
        a, s = np.cos(self.noise_angles_[level]), np.sin(self.noise_angles_[level])
        prior_covs = self._prior_law.covariances
        covs = [
            S if model is None else a**2 * F + s**2 * S
            for S, F, model in zip(prior_covs, self._fitted_covs_z, self.component_models_)
        ]
        with np.errstate(over="ignore", under="ignore"):  # rows far from every component
            resp = GaussianMixtureLaw(self.weights_, self._centres_z, covs).responsibilities(Z)
        score = np.zeros_like(Z)
        for j, model in enumerate(self.component_models_):
            Y = np.ascontiguousarray(self._whiten(Z, j))
            s = -Y if model is None else model.score_function(Y, t=level / (len(self.noise_angles_) - 1))
            # the chain rule through y = L^{-1} (z - c): grad_z = L^{-T} grad_y
            s = linalg.solve_triangular(self._chol_z[j].T, s.T, lower=False, check_finite=False).T
            score += resp[:, j, None] * s
        return score
