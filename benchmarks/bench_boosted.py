"""GradientBoostedScore next to ForestDiffusion, tree layouts, GaussianMixture and KernelDensity.

Seven measurements, each side by side in one run (times are wall-clock seconds
on this machine; only the ratios carry over to another one):

1. ``fd``: GradientBoostedScore (its defaults, without early stopping,
   stopping on held-out training rows, leaves of two training rows' copies,
   ``max_iter=200``, the suite's ``boosted-samples``, also with the
   defaults' early-stopping patience of ten trees and with ``max_depth=8``,
   and hard splits) and
   ForestDiffusion (PyPI ``forestdiffusion``, XGBoost trees; skipped with a
   note when it is not installed) with the same ``n_t`` levels, duplication
   ``K`` and flow matching, on iris, wine and breast cancer (scikit-learn's
   copies).  Both fit on the same 70 % of the
   rows and draw as many rows as the 30 % held out; W1 to the held-out rows
   under ForestDiffusion's protocol (min-max scaled columns, L1 cost, exact
   optimal transport: :func:`skscore.metrics.wasserstein1`), averaged over
   ``--draws`` sample draws, and the held-out log-likelihood next to
   GaussianMixture (BIC), KernelDensity (CV) and adversarial random forests
   (ARF, with R arf's likelihood: ``skscore._peers``), with the mean difference to
   KernelDensity's over the held-out rows and its paired standard error
   (small test sets make single likelihoods noisy), and each W1's difference
   to ForestDiffusion's in standard errors of that difference.  Target:
   fit+sample at least 10 times faster at equal or lower W1.  Two columns
   read W1: "spread", the draws' column standard deviations over the
   training rows' (mean over columns; below 1, samples huddle closer to the
   middle than the data), and "DCR", :func:`skscore.metrics.dcr`'s ratio
   (below 1, samples closer to training rows than held-out rows are).  A
   reference row, "training rows", draws as many training rows (no model):
   on a few dozen rows in many columns, W1 rewards samples pulled toward the
   middle, so a model can score below the real rows' own W1.
2. ``layouts``: the ways of arranging the trees of a flow-matching model, on
   the same data, levels and duplication: one scikit-learn
   HistGradientBoostingRegressor per (level, output); one per output with the
   level as a feature; and the multi-output trees of GradientBoostedScore
   (one structure for all outputs, per level), with and without its linear
   term.  Same tree budget everywhere (``max_iter`` trees of 31 leaves,
   learning rate 0.3).
3. ``baselines``: fit, sample(n) and score_samples(n) times of
   GradientBoostedScore, GaussianMixture and KernelDensity on n x 8 (the known
   8-D mixture of :func:`skscore.datasets.correlated_mixture_8d`), with the
   mean held-out log-likelihood and the gap to the true log-density.
4. ``density``: what the flow's density behind ``score_samples`` costs and
   how accurate it is, against the exact log-density of known mixtures, for
   several ``split_smoothing`` (and the hard splits' kernel density).
5. ``depth``: the suite's ``boosted-samples`` with its trees' depth capped at
   6, 7 and 8 and without a cap, on the ``fd`` part's tables, levels, split
   and W1 (no ForestDiffusion): fit and sample times, W1 and the held-out
   log-likelihood.
6. ``cells``: the held-out log-likelihood of the recorded rows next to
   that of the same rows spread uniformly over their recording cells (each
   column's step is the finest gap between its distinct values; five
   spreads), for the defaults, the defaults with ``terminal_noise='auto'``,
   ARF, GaussianMixture and KernelDensity on
   the ``fd`` part's split: a density that spikes on the values a column
   repeats (iris is recorded to 0.1 cm) scores the recorded rows far
   above the cells around them.  Then the same models fitted on the
   training rows spread over their cells (a table of continuous
   measurements), their likelihood of the spread test rows and W1 to them.
7. ``suite-cells``: the real-table suite's tables (its split) made
   continuous the same way, training and test rows spread over their
   cells: the held-out log-likelihood of the defaults, of
   ``terminal_noise='auto'`` (with the noise it chose), GaussianMixture and
   KernelDensity.

Usage::

    python benchmarks/bench_boosted.py [--parts fd,layouts,baselines,density,depth,cells,suite-cells]
        [--datasets iris,wine,breast_cancer] [--tables iris,wine,...] [--n-t 50] [--duplicate-k 100]
        [--layout-n-t 20] [--layout-k 20] [--quick-layouts] [--n 10000] [--draws 10] [--repeats 1] [--n-jobs N]

``--repeats R`` (fd): every model, ForestDiffusion included, is fitted and
sampled R times in rounds (each round times each model once, so a slow
spell of the machine falls on all of them alike), and the times printed
are the medians; the measures are those of the (seeded, identical) fits.
"""

import argparse
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skscore import GradientBoostedScore
from skscore._peers import (
    AdversarialRandomForest,
    BICGaussianMixture,
    ForestDiffusion,
    StandardizedKDE,
    TrainingRows,
    installed,
)
from skscore.datasets import SUITE_TABLES, correlated_mixture_8d, load_dataset, load_table, mixture_2d
from skscore.metrics import dcr, wasserstein1
from skscore.suite import SUITE_MODELS, _mean_and_se, _split, _spread


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def split(name, seed=0):
    X = load_dataset(name)
    return train_test_split(X, test_size=0.3, random_state=seed)


def w1_over_draws(sample, X_test, draws):
    """Mean W1 to the held-out rows over ``draws`` sample draws, and its standard error."""
    return draw_measures(sample, None, X_test, draws)[:2]


def draw_measures(sample, X_train, X_test, draws):
    """W1 to the held-out rows (mean over ``draws`` draws, standard error), the spread and the DCR ratio.

    The spread is the draws' column standard deviations over the training
    rows' (mean over columns), the DCR ratio :func:`skscore.metrics.dcr`'s
    (mean over the draws); both NaN without ``X_train``.
    """
    samples = [sample(len(X_test), seed) for seed in range(draws)]
    w1, se = _mean_and_se([wasserstein1(s, X_test, protocol="forestdiffusion") for s in samples])
    if X_train is None:
        return w1, se, float("nan"), float("nan")
    copies = float(np.mean([dcr(X_train, s, X_test)["ratio"] for s in samples]))
    return w1, se, _spread(np.vstack(samples), X_train), copies


def warm_up():
    """Compile the Numba kernels once, outside every timing.

    Without early stopping: a level whose trees all stop early never calls
    the prediction kernels, which the first timed ``sample`` would then
    compile (seconds, with an empty Numba cache).
    """
    X = np.random.default_rng(0).standard_normal((50, 3))
    for smoothing in (0.25, None):  # soft and hard splits have their own kernels
        model = GradientBoostedScore(
            n_noise_levels=3,
            duplicate_K=2,
            max_iter=2,
            early_stopping=False,
            split_smoothing=smoothing,
            n_density_samples=20,
            random_state=0,
        )
        model.fit(X).sample(5)
        model.score_samples(X[:5])


# the suite's configuration for synthetic rows, the base of three rows below
SAMPLES = SUITE_MODELS["boosted-samples"].keywords
# the default, every level's 100 trees (ForestDiffusion's rule), ways to more capacity
# (leaves of fewer rows, more trees, the suite's configuration for samples, that with
# the defaults' patience of ten idle trees, and that with its trees one level deeper
# than a balanced tree of 127 leaves at most) and ForestDiffusion's hard splits;
# max_leaf_nodes=127 alone is left out: on iris and wine leaves of four rows' copies
# allow at most 31 leaves, so it is the defaults
OUR_CONFIGURATIONS = (
    ("GradientBoostedScore", {}),
    ("  early_stopping=False", {"early_stopping": False}),
    ("  early_stopping='held_out_rows'", {"early_stopping": "held_out_rows"}),
    ("  min_training_rows_leaf=2", {"min_training_rows_leaf": 2}),
    ("  max_iter=200", {"max_iter": 200}),
    ("  boosted-samples", SAMPLES),
    ("  boosted-samples, n_iter_no_change=10", {**SAMPLES, "n_iter_no_change": 10}),
    ("  boosted-samples, max_depth=8", {**SAMPLES, "max_depth": 8}),
    ("  hard splits (split_smoothing=None)", {"split_smoothing": None, "min_samples_leaf": 20}),
)


def _ours_fit(params, args):
    """A function fitting GradientBoostedScore with ``params`` and the run's levels, duplication and seed."""

    def fit(X):
        model = GradientBoostedScore(
            n_noise_levels=args.n_t,
            duplicate_K=args.duplicate_k,
            diffusion_type="flow",
            n_jobs=args.n_jobs,
            random_state=0,
            **params,
        )
        return model.fit(X)

    return fit


def _timed_rounds(fits, X_train, n_samples, repeats):
    """Fit and sample every model ``repeats`` times, in rounds over the models; the median times.

    Each round times every model once, so that the machine's slow and fast
    spells fall on all of them alike; returns the last fitted model of each
    (the fits are seeded: every round fits the same model) and its median
    fit and sample seconds.
    """
    models, seconds = {}, {label: [] for label, _ in fits}
    for _ in range(repeats):
        for label, fit in fits:
            model, fit_s = timed(fit, X_train)
            _, sample_s = timed(model.sample, n_samples, random_state=0)
            models[label] = model
            seconds[label].append((fit_s, sample_s))
    if repeats > 1:
        for label, times in seconds.items():
            rounds = ", ".join(f"{fit_s + sample_s:.2f}" for fit_s, sample_s in times)
            print(f"  fit + sample s in each round, {label.strip()}: {rounds}", flush=True)
    return models, {label: tuple(np.median(np.array(times), axis=0)) for label, times in seconds.items()}


def part_fd(args):
    have_fd = installed("ForestDiffusion")
    if not have_fd:
        print("ForestDiffusion is not installed (pip install forestdiffusion): its rows are skipped.")
    print(f"\n== 1. ForestDiffusion comparison: flow, n_t={args.n_t}, duplicate_K={args.duplicate_k} ==")
    print(f"W1: mean +- standard error over {args.draws} draws of as many rows as the held-out 30 %;")
    print("LL: mean held-out log-likelihood; speed-up: ForestDiffusion's fit + sample time over the row's;")
    print("LL - KDE: mean over the held-out rows of the difference to KernelDensity's log-likelihood, paired SE;")
    print("W1 - FD: the W1 difference to ForestDiffusion's, in standard errors of that difference;")
    print("spread: the draws' column SDs over the training rows' (mean over columns);")
    print("DCR: skscore.metrics.dcr's ratio (below 1, draws closer to training rows than held-out rows);")
    print("training rows: as many training rows as held-out ones, no model (W1 of a real sample)")
    header = f"{'dataset':<14}{'n x d':>9}{'model':>34}{'fit s':>8}{'sample s':>9}{'W1 test':>17}{'LL':>9}"
    print(header + f"{'speed-up':>9}{'LL - KDE':>18}{'W1 - FD':>9}{'spread':>8}{'DCR':>6}")
    for name in args.datasets:
        X_train, X_test = split(name)
        shape = f"{X_train.shape[0]}x{X_train.shape[1]}"
        fits = [(label, _ours_fit(params, args)) for label, params in OUR_CONFIGURATIONS]
        if have_fd:
            fd = lambda X: ForestDiffusion(0, args.n_jobs, n_t=args.n_t, duplicate_K=args.duplicate_k).fit(X)  # noqa: E731
            fits.append(("ForestDiffusion", fd))
        fits += [
            ("GaussianMixture (BIC)", lambda X: BICGaussianMixture(0).fit(X)),
            ("KernelDensity (CV)", lambda X: StandardizedKDE(0).fit(X)),
            ("ARF", lambda X: AdversarialRandomForest(0).fit(X)),
        ]
        models, times = _timed_rounds(fits, X_train, len(X_test), args.repeats)
        rows = []
        for label, _ in fits:
            model, (fit_s, sample_s) = models[label], times[label]
            measures = draw_measures(lambda n, s: model.sample(n, random_state=s), X_train, X_test, args.draws)
            if label == "ForestDiffusion":
                fd_fit, fd_sample_s, (fd_w1, fd_se) = fit_s, sample_s, measures[:2]
                scores = None
            else:
                scores = model.score_samples(X_test)
            rows.append((label, fit_s, sample_s, *measures, scores))
        kde_scores = next(scores for label, *_, scores in rows if label == "KernelDensity (CV)")
        reference = draw_measures(TrainingRows().fit(X_train).sample, X_train, X_test, args.draws)
        rows.append(("training rows", float("nan"), float("nan"), *reference, None))
        for i, (label, fit_s, sample_s, w1, se, spread, copies, scores) in enumerate(rows):
            modelled = label not in ("ForestDiffusion", "training rows")
            speed_up = (fd_fit + fd_sample_s) / (fit_s + sample_s) if have_fd and modelled else float("nan")
            versus_fd = (w1 - fd_w1) / np.hypot(se, fd_se) if have_fd and label != "ForestDiffusion" else float("nan")
            loglik, versus_kde = (float("nan"), "") if scores is None else (np.mean(scores), _paired(scores, kde_scores))
            print(
                f"{name if i == 0 else '':<14}{shape if i == 0 else '':>9}{label:>34}{fit_s:>8.2f}{sample_s:>9.3f}"
                f"{w1:>10.4f} +-{se:.3f}{loglik:>9.2f}{speed_up:>8.1f}x{versus_kde:>18}{versus_fd:>+9.1f}"
                f"{spread:>8.3f}{copies:>6.2f}",
                flush=True,
            )


def _paired(scores, reference):
    """Mean held-out log-likelihood difference to ``reference`` and its paired standard error, as text."""
    diff = scores - reference
    return f"{diff.mean():+.2f} +-{diff.std(ddof=1) / np.sqrt(len(diff)):.2f}"


# -------------------------------------------------------------------- layouts
class _HGBFlow:
    """Flow matching (x_t = (1 - t) x_0 + t eps, target eps - x_0) with scikit-learn's trees.

    ``layout='per_level'``: one HistGradientBoostingRegressor per (level,
    output); ``'level_feature'``: one per output on all levels, t as an extra
    input.  Sampling: Euler from t = 1 (noise) to 0 on the same grid.
    """

    def __init__(self, layout, n_t, duplicate_k, max_iter, seed):
        self.layout, self.n_t, self.k, self.max_iter, self.seed = layout, n_t, duplicate_k, max_iter, seed

    def _regressor(self):
        return HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=0.3, max_leaf_nodes=31, early_stopping=False, random_state=self.seed
        )

    def fit(self, X):
        rng = np.random.RandomState(self.seed)
        self.scaler_ = StandardScaler().fit(X)
        z0 = np.tile(self.scaler_.transform(X), (self.k, 1))
        d = z0.shape[1]
        self.t_ = np.arange(1, self.n_t + 1) / self.n_t
        pairs = []
        for t in self.t_:
            eps = rng.standard_normal(z0.shape)
            pairs.append(((1 - t) * z0 + t * eps, eps - z0))
        if self.layout == "per_level":
            self.models_ = [[self._regressor().fit(z, v[:, j]) for j in range(d)] for z, v in pairs]
        else:
            inputs = np.vstack([np.column_stack([z, np.full(len(z), t)]) for (z, _), t in zip(pairs, self.t_)])
            targets = np.vstack([v for _, v in pairs])
            self.models_ = [self._regressor().fit(inputs, targets[:, j]) for j in range(d)]
        return self

    def _velocity(self, z, k):
        if self.layout == "per_level":
            return np.column_stack([m.predict(z) for m in self.models_[k]])
        inputs = np.column_stack([z, np.full(len(z), self.t_[k])])
        return np.column_stack([m.predict(inputs) for m in self.models_])

    def sample(self, n, seed):
        z = np.random.RandomState(seed).standard_normal((n, len(self.scaler_.scale_)))
        for k in range(self.n_t - 1, -1, -1):
            z = z - (self.t_[k] - (self.t_[k - 1] if k > 0 else 0.0)) * self._velocity(z, k)
        return self.scaler_.inverse_transform(z)


def part_layouts(args):
    # one thread for every layout (HistGradientBoosting's OpenMP threads
    # included): the same resources for each, and no OpenMP barriers spinning
    # against a busy machine
    with threadpool_limits(limits=1):
        _part_layouts(args)


def _part_layouts(args):
    n_t, k, max_iter = args.layout_n_t, args.layout_k, 100
    print(f"\n== 2. Tree layouts: flow, n_t={n_t}, duplicate_K={k}, {max_iter} trees of 31 leaves per model, one thread ==")
    print(f"{'dataset':<14}{'layout':>44}{'models':>8}{'fit s':>9}{'sample s':>10}{'W1 test':>9}")
    for name in args.layout_datasets:
        X_train, X_test = split(name)
        d = X_train.shape[1]
        rows = []
        ours = [("multi-output per level + linear (default)", True), ("multi-output per level, trees only", False)]
        theirs = [("HGB one per level and output", "per_level", n_t * d), ("HGB one per output, level as a feature", "level_feature", d)]
        if args.quick_layouts:  # the default and the fastest alternative only
            ours, theirs = ours[:1], theirs[1:]
        for label, linear in ours:
            model = GradientBoostedScore(  # every tree of the budget, as HistGradientBoosting's here
                n_noise_levels=n_t,
                duplicate_K=k,
                max_iter=max_iter,
                linear_term=linear,
                early_stopping=False,
                n_jobs=1,
                random_state=0,
            )
            _, fit_s = timed(model.fit, X_train)
            _, sample_s = timed(model.sample, len(X_test), random_state=0)
            w1, _ = w1_over_draws(lambda n, s: model.sample(n, random_state=s), X_test, args.draws)
            rows.append((label, n_t, fit_s, sample_s, w1))
        for label, layout, n_models in theirs:
            model = _HGBFlow(layout, n_t, k, max_iter, seed=0)
            _, fit_s = timed(model.fit, X_train)
            _, sample_s = timed(model.sample, len(X_test), 0)
            w1, _ = w1_over_draws(model.sample, X_test, args.draws)
            rows.append((label, n_models, fit_s, sample_s, w1))
        for label, n_models, fit_s, sample_s, w1 in rows:
            print(f"{name:<14}{label:>44}{n_models:>8}{fit_s:>9.2f}{sample_s:>10.3f}{w1:>9.4f}", flush=True)


# ------------------------------------------------------------------ baselines
def part_baselines(args):
    law = correlated_mixture_8d()
    X = law.sample(args.n, random_state=100)
    X_test = law.sample(args.n, random_state=200)
    truth = law.logpdf(X_test).mean()
    print(f"\n== 3. Times on {args.n} x 8 (correlated 8-D mixture); true mean log-density {truth:.3f} ==")
    print(f"{'model':<40}{'fit s':>9}{'sample s':>10}{'score s':>9}{'test loglik':>13}{'gap':>8}")
    scaler = StandardScaler().fit(X)
    log_jac = np.log(scaler.scale_).sum()
    models = [
        ("GradientBoostedScore (defaults)", GradientBoostedScore(n_jobs=args.n_jobs, random_state=0), None),
        ("GaussianMixture(8, full)", GaussianMixture(8, random_state=0), None),
        ("KernelDensity(scott, standardized)", KernelDensity(bandwidth="scott"), scaler),
    ]
    for label, model, pre in models:
        Xf = X if pre is None else pre.transform(X)
        _, fit_s = timed(model.fit, Xf)
        if isinstance(model, GradientBoostedScore):
            _, sample_s = timed(model.sample, args.n, random_state=0)
        elif isinstance(model, GaussianMixture):
            _, sample_s = timed(model.sample, args.n)
        else:
            _, sample_s = timed(model.sample, args.n, random_state=0)
        Xt = X_test if pre is None else pre.transform(X_test)
        scores, score_s = timed(model.score_samples, Xt)
        loglik = scores.mean() - (log_jac if pre is not None else 0.0)
        print(f"{label:<40}{fit_s:>9.2f}{sample_s:>10.3f}{score_s:>9.3f}{loglik:>13.3f}{truth - loglik:>8.3f}")


# -------------------------------------------------------------------- density
def part_density(args):
    print("\n== 4. score_samples: the flow's density for several split_smoothing, and the hard splits' kernel density ==")
    print("3000 training rows; gap = mean(log p_true - log p_model) on 4000 held-out rows (a KL divergence, up to noise)")
    print(f"{'data':<14}{'split_smoothing':>16}{'fit s':>8}{'score 4000 s':>13}{'sample 4000 s':>14}{'gap':>8}{'KDE-on-data gap':>16}")
    for data_name, law in (("2-D mixture", mixture_2d()), ("8-D mixture", correlated_mixture_8d())):
        X = law.sample(3000, random_state=100)
        X_test = law.sample(4000, random_state=200)
        truth = law.logpdf(X_test).mean()
        scaler = StandardScaler().fit(X)
        kde = KernelDensity(bandwidth="scott").fit(scaler.transform(X))
        kde_gap = truth - (kde.score_samples(scaler.transform(X_test)).mean() - np.log(scaler.scale_).sum())
        for smoothing in (0.125, 0.25, 0.5, None):
            model = GradientBoostedScore(split_smoothing=smoothing, n_jobs=args.n_jobs, random_state=0)
            _, fit_s = timed(model.fit, X)
            scores, score_s = timed(model.score_samples, X_test)
            _, sample_s = timed(model.sample, 4000, random_state=0)
            label = "None (KDE)" if smoothing is None else smoothing
            print(f"{data_name:<14}{label:>16}{fit_s:>8.1f}{score_s:>13.3f}{sample_s:>14.3f}"
                  f"{truth - scores.mean():>8.3f}{kde_gap:>16.3f}", flush=True)


def part_depth(args):
    print(f"\n== 5. boosted-samples with its trees' depth capped: n_t={args.n_t}, duplicate_K={args.duplicate_k} ==")
    print(f"W1: mean +- standard error over {args.draws} draws of as many rows as the held-out 30 %; LL: held-out mean")
    print(f"{'dataset':<14}{'max_depth':>10}{'fit s':>8}{'sample s':>9}{'W1 test':>17}{'LL':>9}{'trees':>7}")
    for name in args.datasets:
        X_train, X_test = split(name)
        for depth in (None, 6, 7, 8):
            fit = _ours_fit({**SAMPLES, "max_depth": depth}, args)
            model, fit_s = timed(fit, X_train)
            _, sample_s = timed(model.sample, len(X_test), random_state=0)
            w1, se = w1_over_draws(lambda n, s: model.sample(n, random_state=s), X_test, args.draws)
            print(f"{name:<14}{str(depth):>10}{fit_s:>8.2f}{sample_s:>9.3f}{w1:>10.4f} +-{se:.3f}"
                  f"{model.score(X_test):>9.2f}{int(np.sum(model.n_trees_)):>7}", flush=True)


def recording_steps(X):
    """Each column's recording step: the finest gap between its distinct values."""
    return np.array([np.min(np.diff(np.unique(column))) for column in X.T])


def spread_over_cells(X, steps, rng):
    """The rows of ``X`` spread uniformly over their recording cells (``steps`` wide, centred on the values)."""
    return X + rng.uniform(-0.5, 0.5, X.shape) * steps


def part_cells(args):
    print(f"\n== 6. Held-out log-likelihood on recorded values and over their recording cells: n_t={args.n_t} ==")
    print("recorded, cells: fitted on the recorded training rows, scored on the recorded test rows and on them spread "
          "uniformly over their cells (column step: the finest gap between its values; mean over 5 spreads)")
    print(f"spread fit: fitted on the training rows spread over their cells (one spread), scored on one spread of the "
          f"test rows; W1 to them over {args.draws} draws")
    print(f"{'dataset':<14}{'model':>22}{'recorded':>10}{'cells':>10}{'spread fit':>12}{'W1':>18}")
    for name in args.datasets:
        X_train, X_test = split(name)
        steps = recording_steps(load_dataset(name))
        rng = np.random.default_rng(0)
        spread = [spread_over_cells(X_test, steps, rng) for _ in range(5)]
        spread_train = spread_over_cells(X_train, steps, rng)
        models = {
            "GradientBoostedScore": _ours_fit({}, args),
            "terminal_noise='auto'": _ours_fit({"terminal_noise": "auto"}, args),
            "ARF": AdversarialRandomForest(0).fit,
            "GaussianMixture (BIC)": BICGaussianMixture(0).fit,
            "KernelDensity (CV)": StandardizedKDE(0).fit,
        }
        for label, fit in models.items():
            model = fit(X_train)
            recorded, cells = model.score_samples(X_test).mean(), np.mean([model.score_samples(r).mean() for r in spread])
            model = fit(spread_train)
            w1, se = w1_over_draws(lambda n, seed: model.sample(n, random_state=seed), spread[0], args.draws)
            print(
                f"{name:<14}{label:>22}{recorded:>10.2f}{cells:>10.2f}{model.score_samples(spread[0]).mean():>12.2f}"
                f"{w1:>11.4f} +- {se:.4f}",
                flush=True,
            )


def part_suite_cells(args):
    print("\n== 7. The suite's tables made continuous: every row spread uniformly over its recording cells ==")
    print("the suite's split (seed 0, at most 1,200 training rows), training and test rows spread once; held-out")
    print("log-likelihood of the spread test rows; 'auto': terminal_noise='auto' (its noise); fit seconds in brackets")
    print(f"{'table':<14}{'defaults':>18}{'auto':>26}{'GaussianMixture':>22}{'KernelDensity':>20}")
    models = {
        "defaults": lambda: GradientBoostedScore(random_state=0, n_jobs=args.n_jobs),
        "auto": lambda: GradientBoostedScore(random_state=0, n_jobs=args.n_jobs, terminal_noise="auto"),
        "GaussianMixture": lambda: BICGaussianMixture(0),
        "KernelDensity": lambda: StandardizedKDE(0),
    }
    for name in args.tables:
        X = load_table(name).data
        train, test = _split(X, 0, 1200, 1000)
        steps, rng = recording_steps(X), np.random.default_rng(0)
        train, test = spread_over_cells(train, steps, rng), spread_over_cells(test, steps, rng)
        cells = []
        for label, make in models.items():
            model, fit_s = timed(make().fit, train)
            noise = f" ({model.terminal_noise_[0]:.2f})" if label == "auto" else ""
            cells.append(f"{model.score_samples(test).mean():.3f}{noise} [{fit_s:.0f}]")
        print(f"{name:<14}{cells[0]:>18}{cells[1]:>26}{cells[2]:>22}{cells[3]:>20}", flush=True)


PARTS = {
    "fd": part_fd,
    "layouts": part_layouts,
    "baselines": part_baselines,
    "density": part_density,
    "depth": part_depth,
    "cells": part_cells,
    "suite-cells": part_suite_cells,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="fd,layouts,baselines,density")
    parser.add_argument("--datasets", default="iris,wine,breast_cancer")
    parser.add_argument("--layout-datasets", default="iris,wine")
    parser.add_argument("--n-t", type=int, default=50)
    parser.add_argument("--duplicate-k", type=int, default=100)
    parser.add_argument("--layout-n-t", type=int, default=20)
    parser.add_argument("--layout-k", type=int, default=20)
    parser.add_argument("--quick-layouts", action="store_true", help="layouts: the default and level-as-feature only")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument(
        "--repeats", type=int, default=1, help="fd: fit and sample every model this many times, in rounds; median times"
    )
    parser.add_argument("--tables", default=",".join(SUITE_TABLES), help="suite-cells: the suite's tables")
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    args.datasets = [s for s in args.datasets.split(",") if s]
    args.tables = [s for s in args.tables.split(",") if s]
    args.layout_datasets = [s for s in args.layout_datasets.split(",") if s]
    warm_up()
    for part in args.parts.split(","):
        PARTS[part](args)


if __name__ == "__main__":
    main()
