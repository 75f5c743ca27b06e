"""Conditional generation and imputation: known answers, missing entries, rare categories.

Parts, each measurement side by side in one run (times are wall-clock
seconds on this machine; only the ratios carry over to another one):

1. ``known`` (known answer): every estimator with its default hyperparameters
   (``random_state=0``) fitted on 3,000 rows of the known 8-D mixture
   (:func:`skscore.datasets.correlated_mixture_8d`) and of the 2-D mixture
   (:func:`skscore.datasets.mixture_2d`).  For ``--points`` conditioning
   points (draws of the law), ``sample(n, given=...)`` given the first
   column and given the first half of the columns; on the unobserved
   columns, SW (:func:`skscore.metrics.sliced_wasserstein`) to ``n`` exact
   conditional draws (``GaussianMixtureLaw.sample_conditional``), the SW
   between two exact conditional samples of that size (the floor), and the
   model's unconditional error (SW of ``n`` unconditional samples to ``n``
   draws of the law, all columns).  Means over the points; the target is
   ``SW_cond <= 1.5 * floor + unconditional error``.  Extra rows: the oracle
   (``tests/_oracle.py``: an exact noise predictor, so only the sampler
   errs) with the SMC sampler and with RePaint (the engine's ``inpaint``,
   r=5 resamplings, jumps of 10 % of the levels, DDPM steps: ForestDiffusion's
   setting), DiffusionRandomFeatures with RePaint, adversarial random
   forests (``skscore._peers``: R arf's conditional law), and a sweep of
   ``n_particles`` (1, 8, 32, 128) for DiffusionRandomFeatures and the
   oracle on the 8-D mixture given half of the columns.
2. ``impute``: iris, wine, breast_cancer, diabetes (features) and the mixed
   table (:func:`skscore.datasets.make_mixed_table`, numeric array, column
   types declared), 20 % of the entries missing completely at random (a row
   with every entry missing is drawn again), ``--seeds`` seeds.  Errors in
   standardized units (each column's squared error divided by its variance
   in the complete table), on the hidden entries: MSE of one draw (each
   draw's, averaged over the draws), MSE of the mean of ``--draws`` draws, and the coverage of the 90 % prediction
   interval of the draws (order statistics: with 20 draws, their smallest and
   largest, which an exact sampler's interval covers with probability 19/21).  Against
   scikit-learn's IterativeImputer (BayesianRidge with ``sample_posterior``:
   one draw, and its own ``--draws`` draws from as many random states),
   IterativeImputer with ExtraTrees, SimpleImputer (mean) and, in protocol
   B, adversarial random forests (``skscore._peers``: R arf's conditional
   draws given a row's observed entries, ``--draws`` of them).  Two
   protocols: (A) fit on the table with holes (only GradientBoostedScore
   fits NaN), impute that table; (B) fit on 70 % complete rows, impute the
   other 30 % after masking.  Targets per table (best skscore model, by the
   mean-of-draws MSE, marked ``*``): one draw at most IterativeImputer's
   (sample_posterior) one draw; mean of draws within 10 % of
   IterativeImputer-ExtraTrees; coverage between 85 and 95 %.  The header
   prints what an exact sampler's interval covers (a check of the rule).
3. ``rare``: the mixed table as a DataFrame with plan shares 54/20/20/5 %
   and a fifth level 'vip' on 1 % of the rows (more visits, spend and
   score).  ``sample(n, given={'plan': level})`` against rejection sampling
   (unconditional batches until ``n`` rows of the level) for the levels of
   share 1, 5 and 20 %: time, rows drawn (rejection's unconditional rows;
   for ``given``, its noise predictions counted in flows, a Heun flow's
   predictions: the particles' and the population's), whether every conditional row has
   the level, and how close the rows are to the real rows of the level (SW
   on the standardized numeric columns; the floor is a second real table's
   rows of that level), with the column means; ``given`` is drawn with
   ``--rare-seeds`` seeds (mean time, mean SW with its range, mean of the
   means), rejection with as many pools of unconditional rows.
4. ``shares``: the cost of rows given only a box (as a category is) against
   the box's share, 10 % to 0.01 %, with the exact noise of the 2-D mixture
   (only the sampler errs): flows per row (noise predictions in units of a
   Heun flow's) against rejection's ``1 / share``, and the SW of ``--rare-n``
   draws to exact rows of the box against the floor.
5. ``flow-law`` (not in the default run): is the SMC or the model at fault
   where conditional draws miss the known answer?  The model's own
   conditional law (the law of ``sample`` given the columns) by importance
   sampling with ``score_samples``, on the 8-D mixture given half of its
   columns, against the SMC's draws; both by SW to exact conditional draws.

6. ``spread``: the particles' kernel on a coarse grid: with the exact noise
   of a correlated 6-D Gaussian given half of its columns, and of a
   Gaussian with iris's correlation given three of its four columns (narrow
   directions), the draws' standard deviation over the exact conditional's
   at 10, 30 and 100 levels (1 is right; the ancestral step's variance
   alone gave 0.835, 0.934 and 0.982 on the first) and how far the draws'
   mean is from the exact one, in exact standard deviations.

``--known-models`` and ``--impute-models`` also take the named variants
``GradientBoostedScore-held-out-rows`` (``early_stopping='held_out_rows'``)
and ``GradientBoostedScore-terminal-noise`` (``terminal_noise='auto'``),
which no default run includes.

Usage::

    python benchmarks/bench_conditional.py [--parts known,impute,rare,shares,flow-law,spread] [--quick]
        [--points 5] [--n-cond 1000] [--n-train 3000] [--seeds 3] [--draws 20]
        [--datasets iris,wine,breast_cancer,diabetes,mixed] [--mixed-n 1000]
        [--impute-models ...] [--rare-models DiffusionRandomFeatures,GradientBoostedScore]
        [--rare-n-train 3000] [--rare-n 200] [--rare-seeds 3] [--n-jobs N]
"""

import argparse
import contextlib
import functools
import os
import sys
import time
import warnings

import numpy as np
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.model_selection import train_test_split

from skscore import ConvexTwoLayerScore, DiffusionRandomFeatures, GaussianMixturePriorDiffusion, GradientBoostedScore
from skscore._engine import repaint_path
from skscore._peers import AdversarialRandomForest
from skscore._steps import CpuSteps
from skscore.datasets import GaussianMixtureLaw, correlated_mixture_8d, load_dataset, make_mixed_table, mixture_2d
from skscore.metrics import sliced_wasserstein

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests"))
from _oracle import ExactMixtureScore  # noqa: E402

MODELS = {
    "DiffusionRandomFeatures": DiffusionRandomFeatures,
    "GaussianMixturePriorDiffusion": GaussianMixturePriorDiffusion,
    "ConvexTwoLayerScore": ConvexTwoLayerScore,
    "GradientBoostedScore": GradientBoostedScore,
}
# named variants, run when asked for by name (--known-models, --impute-models)
VARIANTS = {
    "GradientBoostedScore-held-out-rows": functools.partial(GradientBoostedScore, early_stopping="held_out_rows"),
    "GradientBoostedScore-terminal-noise": functools.partial(GradientBoostedScore, terminal_noise="auto"),
}
SHORT = {
    "DiffusionRandomFeatures": "DRF",
    "GaussianMixturePriorDiffusion": "GMPD",
    "ConvexTwoLayerScore": "Convex",
    "GradientBoostedScore": "GBS",
}
# the mixed table's types (numeric array: visits, plan, spend, discount, score)
MIXED_TYPES = dict(
    integer_features=[0],
    categorical_features=[1],
    bounds={0: (0, None), 2: (0, None), 3: (0, 1)},
    point_masses={2: 0.0},
)
REPAINT_R, REPAINT_J = 5, 0.1


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def model(name, n_jobs, **kwargs):
    return {**MODELS, **VARIANTS}[name](random_state=0, n_jobs=n_jobs, **kwargs)


def table_header(*columns):
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))


def table_row(*cells):
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


# ---------------------------------------------------------------- 1. known
def repaint(fitted, X_partial, seed):
    """RePaint draws of the NaN of ``X_partial`` by ``fitted``'s engine (plain continuous columns)."""
    Z = np.ascontiguousarray((X_partial - fitted.shift_) / fitted.scale_)
    path = repaint_path(fitted.diffusion_.n_levels, REPAINT_R, REPAINT_J)
    Z = fitted.diffusion_.inpaint(Z, np.random.RandomState(seed), path=path, sampler="ddpm", n_jobs=fitted.n_jobs)
    return fitted.shift_ + fitted.scale_ * Z


def conditional_runs(draw, law, points, columns, n, seed):
    """SW to exact conditional draws on the unobserved columns, per point, and the seconds per call.

    ``draw(X_partial, seed)`` returns ``X_partial`` completed (one row per row).
    """
    d = law.n_features
    free = np.setdiff1d(np.arange(d), columns)
    sw, seconds = [], []
    for i, point in enumerate(points):
        X_partial = np.full((n, d), np.nan)
        X_partial[:, columns] = point[columns]
        S, s = timed(draw, X_partial, seed + i)
        if not np.all(np.isfinite(S)):
            sw.append(float("nan"))
            seconds.append(s)
            continue
        exact = law.sample_conditional(X_partial, random_state=1000 + i)
        sw.append(sliced_wasserstein(S[:, free], exact[:, free]))
        seconds.append(s)
    return np.array(sw), float(np.mean(seconds))


def floors(law, points, columns, n):
    d = law.n_features
    free = np.setdiff1d(np.arange(d), columns)
    out = []
    for i, point in enumerate(points):
        X_partial = np.full((n, d), np.nan)
        X_partial[:, columns] = point[columns]
        a = law.sample_conditional(X_partial, random_state=1000 + i)
        b = law.sample_conditional(X_partial, random_state=5000 + i)
        out.append(sliced_wasserstein(a[:, free], b[:, free]))
    return np.array(out)


def given_draw(fitted):
    def draw(X_partial, seed):
        observed = np.flatnonzero(~np.isnan(X_partial[0]))
        given = {int(j): float(X_partial[0, j]) for j in observed}
        return np.asarray(fitted.sample(len(X_partial), given=given, random_state=seed))

    return draw


def part_known(args):
    n, n_points = args.n_cond, args.points
    print(f"\n== 1. Known answers: {n_points} conditioning points, {n} conditional rows each, {args.n_train} training rows ==")
    print(f"SMC: sample(n, given=...), n_particles=32 (default); RePaint: engine inpaint, r={REPAINT_R}, j={REPAINT_J}, "
          "DDPM steps, on the standardized rows")
    print("SW on the unobserved columns (mean over points); floor: SW of two exact conditional samples; "
          "uncond: SW of n unconditional samples to n draws of the law (all columns);")
    print("target: SW cond <= 1.5 floor + uncond (on the means; 'points' counts the points meeting it one by one)\n")
    table_header("law", "given", "model", "sampler", "fit s", "uncond SW", "floor", "SW cond", "bound", "target",
                 "points", "s / call")
    sweep_models = {}
    for law_name, law in (("8-D mixture", correlated_mixture_8d()), ("2-D mixture", mixture_2d())):
        d = law.n_features
        X = law.sample(args.n_train, random_state=100)
        reference = law.sample(n, random_state=200)
        points = law.sample(n_points, random_state=300)
        given_sets = [("1 column", np.array([0]))]
        if d // 2 > 1:
            given_sets.append((f"{d // 2} columns", np.arange(d // 2)))
        floor = {label: floors(law, points, cols, n) for label, cols in given_sets}
        entries = []  # (label, sampler, fitted, draw)
        oracle = ExactMixtureScore(law, random_state=0, n_jobs=args.n_jobs)
        for name in args.known_models:
            fitted, fit_s = timed(model(name, args.n_jobs).fit, X)
            entries.append((name, "SMC", fitted, given_draw(fitted), fit_s))
            if name == "DiffusionRandomFeatures":
                entries.append((name, "RePaint", fitted, lambda Xp, s, f=fitted: repaint(f, Xp, s), fit_s))
                if d == 8:
                    sweep_models["DiffusionRandomFeatures"] = fitted
        oracle, fit_s = timed(oracle.fit, X)
        entries.append(("oracle (exact noise)", "SMC", oracle, given_draw(oracle), fit_s))
        entries.append(("oracle (exact noise)", "RePaint", oracle, lambda Xp, s: repaint(oracle, Xp, s), fit_s))
        if d == 8:
            sweep_models["oracle (exact noise)"] = (oracle, law, points, X)
        # a peer: adversarial random forests, R arf's conditional law (the leaves given the observed entries)
        peer, fit_s = timed(AdversarialRandomForest(0).fit, X)
        entries.append(("ARF", "leaves", peer, lambda Xp, s, p=peer: p.impute(Xp, 1, random_state=s)[0], fit_s))
        uncond = {}
        for label, sampler, fitted, draw, fit_s in entries:
            if label not in uncond:
                S = np.asarray(fitted.sample(n, random_state=7))
                uncond[label] = sliced_wasserstein(S, reference)
            for given_label, cols in given_sets:
                sw, seconds = conditional_runs(draw, law, points, cols, n, seed=11)
                fl = floor[given_label]
                bound = 1.5 * fl.mean() + uncond[label]
                ok = bool(np.nanmean(sw) <= bound) if np.isfinite(sw).any() else False
                each = int(np.sum(sw <= 1.5 * fl + uncond[label]))
                nan_note = "" if np.isfinite(sw).all() else f" ({int(np.sum(~np.isfinite(sw)))} non-finite)"
                table_row(law_name, given_label, label, sampler, f"{fit_s:.1f}", f"{uncond[label]:.3f}",
                          f"{fl.mean():.3f}", f"{np.nanmean(sw):.3f}{nan_note}", f"{bound:.3f}",
                          "yes" if ok else "NO", f"{each}/{len(sw)}", f"{seconds:.2f}")
    if args.sweep and sweep_models:
        part_sweep(args, sweep_models)


def part_sweep(args, sweep_models):
    oracle, law, points, _ = sweep_models["oracle (exact noise)"]
    cols = np.arange(law.n_features // 2)
    fl = floors(law, points, cols, args.n_cond)
    print(f"\nn_particles sweep: 8-D mixture given {len(cols)} columns, {len(points)} points x {args.n_cond} rows; "
          f"floor {fl.mean():.3f}\n")
    table_header("model", "n_particles", "SW cond", "s / call")
    for label in ("DiffusionRandomFeatures", "oracle (exact noise)"):
        if label not in sweep_models:
            continue
        fitted = oracle if label.startswith("oracle") else sweep_models[label]
        for n_particles in args.particles:
            fitted.set_params(n_particles=n_particles)
            sw, seconds = conditional_runs(given_draw(fitted), law, points, cols, args.n_cond, seed=11)
            table_row(label, n_particles, f"{np.nanmean(sw):.3f}", f"{seconds:.2f}")
        fitted.set_params(n_particles=32)


# --------------------------------------------------------------- 2. impute
def mcar_mask(shape, rate, rng):
    """Entries missing completely at random; a row with every entry missing is drawn again."""
    mask = rng.random_sample(shape) < rate
    while True:
        full = np.flatnonzero(mask.all(axis=1))
        if not len(full):
            return mask
        mask[full] = rng.random_sample((len(full), shape[1])) < rate


def impute_tables(args):
    for name in args.datasets:
        if name == "mixed":
            yield "mixed", make_mixed_table(args.mixed_n, random_state=0), MIXED_TYPES
        else:
            yield name, load_dataset(name), {}


def scores(truth, mask, variance, single, draws):
    """Standardized MSE of one draw, of the mean of the draws, and the 90 % coverage (NaN without draws).

    With draws, one draw's MSE is the mean of every draw's (the same expectation as the first draw's,
    with a fraction of its variance: a single draw's MSE on a few dozen entries swings by half).
    """
    cols = np.nonzero(mask)[1]
    err = lambda est: float(np.mean((est[mask] - truth[mask]) ** 2 / variance[cols]))  # noqa: E731
    if draws is None:
        return err(single), float("nan"), float("nan")
    low, high = interval(draws, axis=0)
    covered = (truth[mask] >= low[mask]) & (truth[mask] <= high[mask])
    return float(np.mean([err(draw) for draw in draws])), err(draws.mean(axis=0)), float(np.mean(covered))


def interval_rank(n_draws, level=0.9):
    """``k`` such that the k-th smallest and k-th largest of ``n_draws`` draws form a ``level`` interval.

    For exchangeable draws of a continuous law, a new value falls between them
    with probability ``(n_draws + 1 - 2 k) / (n_draws + 1)``: with 20 draws,
    the smallest and the largest give 19/21 = 0.905.
    """
    return max(1, int(np.floor((1.0 - level) / 2.0 * (n_draws + 1))))


def interval(draws, axis=0):
    ordered = np.sort(draws, axis=axis)
    k = interval_rank(draws.shape[axis])
    return np.take(ordered, k - 1, axis=axis), np.take(ordered, draws.shape[axis] - k, axis=axis)


def exact_coverage(n_draws, n_trials=200000, seed=0):
    """Coverage of :func:`interval` for ``n_draws`` exact draws of a continuous law (checks the rule)."""
    rng = np.random.RandomState(seed)
    draws = rng.standard_normal((n_trials, n_draws))
    truth = rng.standard_normal(n_trials)
    low, high = interval(draws, axis=1)
    return float(np.mean((truth >= low) & (truth <= high)))


def baseline_imputers(seed):
    return {
        "IterativeImputer (BayesianRidge, sample_posterior)": lambda r: IterativeImputer(
            sample_posterior=True, max_iter=10, random_state=r
        ),
        "IterativeImputer (ExtraTrees)": lambda r: IterativeImputer(
            estimator=ExtraTreesRegressor(n_estimators=100, random_state=seed), max_iter=10, random_state=r
        ),
        "SimpleImputer (mean)": lambda r: SimpleImputer(strategy="mean"),
    }


def run_baselines(X_fit, X_masked, truth, mask, variance, seed, n_draws, protocol, types=None):
    """Each baseline's (single MSE, mean MSE, coverage, seconds); ``X_fit`` None: fit_transform on ``X_masked``.

    With ``X_fit`` (protocol B), adversarial random forests too: fitted on the
    complete rows, ``n_draws`` conditional draws (they cannot fit rows with holes).
    """
    out = {}
    for label, make in baseline_imputers(seed).items():
        start = time.perf_counter()

        def one(r):
            imputer = make(r)
            if X_fit is None:
                return imputer.fit_transform(X_masked)
            return imputer.fit(X_fit).transform(X_masked)

        single = one(seed)
        draws = None
        if "sample_posterior" in label:
            draws = np.stack([single] + [one(1000 * seed + r) for r in range(1, n_draws)])
        out[label] = scores(truth, mask, variance, single, draws) + (time.perf_counter() - start,)
    if X_fit is not None:
        start = time.perf_counter()
        kinds = {key: (types or {}).get(key) or () for key in ("integer_features", "categorical_features")}
        draws = AdversarialRandomForest(seed, **kinds).fit(X_fit).impute(X_masked, n_draws, random_state=seed)
        out["ARF (adversarial random forests)"] = scores(truth, mask, variance, draws[0], draws) + (
            time.perf_counter() - start,
        )
    return out


def run_skscore(fitted_or_make, X_fit, X_masked, truth, mask, variance, seed, n_draws):
    start = time.perf_counter()
    fitted = fitted_or_make().fit(X_fit)
    draws = np.asarray(fitted.impute(X_masked, n_draws=n_draws, random_state=seed))
    seconds = time.perf_counter() - start
    if not np.all(np.isfinite(draws)):
        return (float("nan"),) * 3 + (seconds,)
    return scores(truth, mask, variance, draws[0], draws) + (seconds,)


def part_impute(args):
    print(f"\n== 2. Imputation: 20 % MCAR, {len(args.seed_list)} seed(s), {args.draws} draws; standardized MSE "
          "(squared error / column variance of the complete table) on the hidden entries ==")
    ref = exact_coverage(args.draws)
    k = interval_rank(args.draws)
    print(f"coverage: share of hidden values between the {k}-th smallest and {k}-th largest of the {args.draws} draws "
          f"(a 90 % prediction interval by order statistics: an exact sampler gets {ref:.3f})")
    print("one draw: a draw's MSE, averaged over the draws (ExtraTrees, mean: their one fill); skscore rows: "
          "default hyperparameters, random_state=0; "
          "times: fit + all draws, per seed; means over seeds")
    print("targets (skscore rows): T1 one draw <= IterativeImputer (sample_posterior) one draw; "
          "T2 mean of draws <= 1.1 x IterativeImputer (ExtraTrees); T3 coverage in [0.85, 0.95]; * best skscore "
          "model of the table (mean-of-draws MSE)")
    protocols = [p for p in args.protocols if p in "AB"]
    for protocol in protocols:
        if protocol == "A":
            print("\n(A) fit on the table with holes, impute it (GradientBoostedScore fits NaN; the others cannot)\n")
            names = [m for m in args.impute_models if m == "GradientBoostedScore"]
        else:
            print("\n(B) fit on 70 % complete rows, mask 20 % of the other 30 % and impute them\n")
            names = list(args.impute_models)
        table_header("table", "n x d", "method", "MSE one draw", "MSE mean of draws", "coverage 90 %", "s", "T1",
                     "T2", "T3")
        for table, X, types in impute_tables(args):
            variance = X.var(axis=0)
            results = {}
            for seed in args.seed_list:
                rng = np.random.RandomState(seed)
                if protocol == "A":
                    X_fit_ours, truth = None, X
                else:
                    X_fit_ours, truth = train_test_split(X, test_size=0.3, random_state=seed)
                mask = mcar_mask(truth.shape, 0.2, rng)
                X_masked = np.where(mask, np.nan, truth)
                for name in names:
                    make = lambda name=name: model(name, args.n_jobs, **types)  # noqa: E731
                    fit_on = X_masked if protocol == "A" else X_fit_ours
                    try:
                        row = run_skscore(make, fit_on, X_masked, truth, mask, variance, seed, args.draws)
                    except Exception as error:  # report, go on
                        print(f"<!-- {table} {name} seed {seed}: {type(error).__name__}: {error} -->", flush=True)
                        row = (float("nan"),) * 4
                    results.setdefault(name, []).append(row)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    base = run_baselines(X_fit_ours, X_masked, truth, mask, variance, seed, args.draws, protocol, types)
                for label, row in base.items():
                    results.setdefault(label, []).append(row)
            with warnings.catch_warnings():  # columns that a baseline does not fill (no draws) stay NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                means = {label: np.nanmean(np.array(rows), axis=0) for label, rows in results.items()}
            post = means["IterativeImputer (BayesianRidge, sample_posterior)"]
            trees = means["IterativeImputer (ExtraTrees)"]
            ours = [label for label in names if np.isfinite(means[label][1])]
            best = min(ours, key=lambda label: means[label][1]) if ours else None
            for label, (single, mean, cover, seconds) in means.items():
                if label in MODELS or label in VARIANTS:
                    t1 = "yes" if single <= post[0] else "no"
                    t2 = "yes" if mean <= 1.1 * trees[0] else "no"
                    t3 = "yes" if 0.85 <= cover <= 0.95 else "no"
                    label = ("*" if label == best else "") + label
                else:
                    t1 = t2 = t3 = ""
                fmt = lambda v: "" if not np.isfinite(v) else f"{v:.3f}"  # noqa: E731
                table_row(table, f"{X.shape[0]}x{X.shape[1]}", label, fmt(single), fmt(mean), fmt(cover),
                          f"{seconds:.1f}", t1, t2, t3)


# ----------------------------------------------------------------- 3. rare
PLAN_SHARES = {"basic": 0.54, "plus": 0.20, "pro": 0.20, "team": 0.05, "vip": 0.01}
NUMERIC = ["visits", "spend", "discount", "score"]


def rare_table(n, seed):
    """The mixed table with plan shares of PLAN_SHARES; 'vip' rows are 'basic' rows shifted up."""
    import pandas as pd

    big = make_mixed_table(25 * n, as_frame=True, random_state=seed)
    rng = np.random.RandomState(seed)
    counts = {level: int(round(share * n)) for level, share in PLAN_SHARES.items()}
    counts["basic"] = n - sum(c for level, c in counts.items() if level != "basic")
    parts = []
    basic = rng.permutation(np.flatnonzero(big["plan"].to_numpy() == "basic"))
    for level in ("plus", "pro", "team"):
        rows = rng.permutation(np.flatnonzero(big["plan"].to_numpy() == level))[: counts[level]]
        parts.append(big.iloc[rows])
    parts.append(big.iloc[basic[: counts["basic"]]])
    vip = big.iloc[basic[counts["basic"] : counts["basic"] + counts["vip"]]].copy()
    vip["visits"] = vip["visits"] + 6
    vip["spend"] = np.where(vip["spend"] > 0, 4.0 * vip["spend"], 0.0)
    vip["score"] = vip["score"] + 2.5
    parts.append(vip.assign(plan="vip"))
    frame = pd.concat(parts, ignore_index=True)
    frame["plan"] = pd.Categorical(frame["plan"].astype(str), categories=list(PLAN_SHARES))
    frame["visits"] = frame["visits"].astype(np.int64)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


RARE_TYPES = dict(
    integer_features=["visits"],
    categorical_features=["plan"],
    bounds={"visits": (0, None), "spend": (0, None), "discount": (0, 1)},
    point_masses={"spend": 0.0},
)


@contextlib.contextmanager
def counted_predictions():
    """Count the rows whose noise the engine predicts in the block (the cost of every sampler, on the CPU).

    Predictions with the divergence (the particles' kernel, the flow's
    likelihood) count as one each, though they cost a little more.
    """
    count, predict, with_divergence = [0], CpuSteps.predict, CpuSteps.predict_with_divergence

    def counting(self, z, level):
        count[0] += len(z)
        return predict(self, z, level)

    def counting_with_divergence(self, z, level):
        count[0] += len(z)
        return with_divergence(self, z, level)

    CpuSteps.predict, CpuSteps.predict_with_divergence = counting, counting_with_divergence
    try:
        yield count
    finally:
        CpuSteps.predict, CpuSteps.predict_with_divergence = predict, with_divergence


def predictions_per_flow(sample):
    """The noise predictions of one Heun flow (one unconditional row) of a sampler ``sample(n_rows)``."""
    with counted_predictions() as predicted:
        sample(100)
    return predicted[0] / 100


def part_rare(args):

    frame = rare_table(args.rare_n_train, seed=0)
    other = rare_table(args.rare_n_train, seed=1)  # the floor: real rows of a second table
    numeric = frame[NUMERIC].to_numpy(float)
    mu, sd = numeric.mean(axis=0), numeric.std(axis=0)
    std = lambda rows: (rows[NUMERIC].to_numpy(float) - mu) / sd  # noqa: E731
    levels = [("vip", 0.01), ("team", 0.05), ("pro", 0.20)]
    n = args.rare_n
    shares = frame["plan"].value_counts(normalize=True)
    print(f"\n== 3. Rare categories: {args.rare_n_train} rows, plan shares "
          f"{', '.join(f'{k} {shares[k]:.3f}' for k in PLAN_SHARES)}; {n} rows per level ==")
    print("given: sample(n, given={'plan': level}); rejection: unconditional batches of "
          f"{args.rare_batch} rows until {n} rows of the level (at most {args.rare_max} rows drawn)")
    print("SW: on the standardized numeric columns, to the real rows of the level; floor: a second real table's rows "
          "of the level; means: visits / spend / discount / score\n")
    table_header("model", "level", "share (data / model)", "method", "s", "rows drawn", "all rows of level", "SW",
                 "floor", "means")
    for level, _ in levels:
        real = frame[frame["plan"] == level]
        means = "/".join(f"{v:.2f}" for v in real[NUMERIC].mean())
        table_row("real rows", level, f"{np.mean(frame['plan'] == level):.3f}", "-", "", len(real), "", "", "", means)
    for name in args.rare_models:
        fitted, fit_s = timed(model(name, args.n_jobs, **RARE_TYPES).fit, frame)
        per_flow = predictions_per_flow(fitted.sample)
        print(f"<!-- {name}: fit {fit_s:.1f} s -->", flush=True)
        pools = [dict(batches=[], drawn=0, seconds=0.0, seed=100 + 1000 * r) for r in range(args.rare_seeds)]
        for level, share in levels:
            real = frame[frame["plan"] == level]
            floor = sliced_wasserstein(std(other[other["plan"] == level]), std(real))
            try:
                runs = []
                for seed in range(3, 3 + args.rare_seeds):
                    with counted_predictions() as predicted:
                        C, cond_s = timed(fitted.sample, n, given={"plan": level}, random_state=seed)
                    runs.append((C, cond_s, predicted[0] / per_flow))
                has = all(bool((C["plan"] == level).all()) for C, _, _ in runs)
                sws = [sliced_wasserstein(std(C), std(real)) for C, _, _ in runs]
                sw = f"{np.mean(sws):.3f}" + (f" ({min(sws):.3f}-{max(sws):.3f})" if len(sws) > 1 else "")
                cond_s, drawn = np.mean([r[1] for r in runs]), np.mean([r[2] for r in runs])
                means = np.mean([C[NUMERIC].mean().to_numpy() for C, _, _ in runs], axis=0)
                cond = (f"{cond_s:.2f}", f"{drawn:.0f} ({drawn / n:.0f} per row)", "yes" if has else "NO", sw,
                        "/".join(f"{v:.2f}" for v in means))
            except Exception as error:
                cond = ("", "", f"{type(error).__name__}: {error}", "", "")
            # rejection: per seed, one pool of unconditional draws, grown until it holds n rows of the level
            found = [rejection_rows(fitted, level, n, pool, args) for pool in pools]
            R = [rows for rows, _, _, _ in found]
            rej_s, needed, model_share = (np.mean([f[k] for f in found]) for k in (1, 2, 3))
            full = all(len(rows) >= n for rows in R)
            rej_sws = [sliced_wasserstein(std(rows), std(real)) for rows in R if len(rows)]
            rej_sw = f"{np.mean(rej_sws):.3f}" + (f" ({min(rej_sws):.3f}-{max(rej_sws):.3f})" if len(rej_sws) > 1 else "")
            rej_means = np.mean([rows[NUMERIC].mean().to_numpy() for rows in R if len(rows)], axis=0)
            share_cell = f"{np.mean(frame['plan'] == level):.3f} / {model_share:.3f}"
            table_row(name, level, share_cell, "given", cond[0], cond[1], cond[2], cond[3], f"{floor:.3f}", cond[4])
            table_row(name, level, share_cell, "rejection", f"{rej_s:.2f}",
                      f"{needed:.0f}" + ("" if full else " (fewer than n found)"), "yes", rej_sw,
                      f"{floor:.3f}", "/".join(f"{v:.2f}" for v in rej_means))


def rejection_rows(fitted, level, n, pool, args):
    """``n`` rows of ``level`` from ``pool`` (grown by unconditional batches), seconds, rows needed, model share."""
    import pandas as pd

    start = time.perf_counter()
    while True:
        kept = [S[S["plan"] == level] for S in pool["batches"]]
        if sum(len(k) for k in kept) >= n or pool["drawn"] >= args.rare_max:
            break
        pool["batches"].append(fitted.sample(args.rare_batch, random_state=pool["seed"] + len(pool["batches"])))
        pool["drawn"] += args.rare_batch
    pool["seconds"] += time.perf_counter() - start
    R = pd.concat(kept) if kept else None
    found = 0 if R is None else len(R)
    # the seconds rejection needs for this level: the time per row drawn x rows needed
    needed = pool["drawn"] if found < n else next(
        (k + 1) * args.rare_batch for k in range(len(kept)) if sum(len(x) for x in kept[: k + 1]) >= n
    )
    rows = R.iloc[:n] if found else fitted.sample(1, random_state=0).iloc[:0]
    return rows, pool["seconds"] / pool["drawn"] * needed, needed, found / max(pool["drawn"], 1)


def part_shares(args):
    """The cost of rows given only a box, against the box's share, with an exact noise predictor."""
    law = mixture_2d()
    oracle = ExactMixtureScore(law, n_steps=20, preprocessing=None, random_state=0, n_jobs=args.n_jobs)
    oracle.fit(law.sample(500, random_state=0))
    exact = law.sample(8_000_000, random_state=1)
    per_flow = predictions_per_flow(lambda m: oracle.sample(m, random_state=0))
    n, seeds = args.rare_n, range(args.rare_seeds)
    print(f"\n== 4. Cost by share: the 2-D mixture's exact noise, 20 levels, {n} rows given x0 above its (1 - share) "
          "quantile (a box); flows: noise predictions in units of a Heun flow's, per row; SW to 3 x n exact rows of "
          f"the box over the floor between them; seeds {seeds.start}-{seeds.stop - 1}: mean (range) ==\n")
    table_header("share", "flows per row", "rejection's rows per row", "s", "SW / floor", "share of x1 > 0 (exact)")
    for share in (0.1, 0.01, 0.001, 0.0001):
        edge = np.quantile(exact[:, 0], 1 - share)
        inside = exact[exact[:, 0] >= edge]
        references = [inside[k * n : (k + 1) * n] for k in range(3)]
        floor = np.mean([sliced_wasserstein(references[i], references[j], random_state=0)
                         for i, j in [(0, 1), (1, 2), (0, 2)]])
        low, high = np.tile([edge, -np.inf], (n, 1)), np.full((n, 2), np.inf)
        runs = []
        for seed in seeds:
            with counted_predictions() as predicted:
                X, seconds = timed(oracle.diffusion_.condition, np.full((n, 2), np.nan), np.random.RandomState(seed),
                                   n_particles=oracle.n_particles, n_jobs=args.n_jobs, cells=(low, high))
            flows = predicted[0] / per_flow / n
            ratio = np.mean([sliced_wasserstein(X, R, random_state=0) for R in references]) / floor
            runs.append((flows, seconds, ratio, np.mean(X[:, 1] > 0)))
        flows, seconds, ratio, upper = np.array(runs).T
        table_row(f"{share:g}", f"{flows.mean():.0f}", f"{1 / share:.0f}", f"{seconds.mean():.2f}",
                  f"{ratio.mean():.2f} ({ratio.min():.2f}-{ratio.max():.2f})",
                  f"{upper.mean():.3f} ({np.mean(inside[:, 1] > 0):.3f})")


def part_flow_law(args):
    """The model's own conditional law by importance sampling with its exact log-density, against the SMC's draws."""
    from scipy.stats import multivariate_normal

    law = correlated_mixture_8d()
    X = law.sample(args.n_train, random_state=100)
    points = law.sample(args.points, random_state=300)
    d, n, n_proposals = law.n_features, args.n_cond, 20 * args.n_cond
    given, free = np.arange(d // 2), np.arange(d // 2, d)
    print(f"\n== 5. The model's own conditional law: 8-D mixture given {len(given)} columns, {len(points)} points; "
          f"{n_proposals} proposals from a Gaussian twice as wide as the exact conditional law, weighted by "
          f"exp(score_samples) / proposal density, {n} resampled (the law of sample() given the columns, up to "
          "the proposal's reach); SMC: sample(n, given=...); SW to exact conditional draws ==\n")
    table_header("model", "SW own law (IS)", "SW SMC", "effective proposals (min)")
    for name in [m for m in args.known_models if m != "GaussianMixturePriorDiffusion"]:
        fitted = model(name, args.n_jobs).fit(X)
        by_weights, by_smc, effective = [], [], []
        for i, point in enumerate(points):
            X_partial = np.full((n, d), np.nan)
            X_partial[:, given] = point[given]
            exact = law.sample_conditional(X_partial, random_state=1000 + i)[:, free]
            wide = law.sample_conditional(np.tile(X_partial[:1], (n_proposals, 1)), random_state=7 + i)[:, free]
            proposal = multivariate_normal(wide.mean(axis=0), 2.0 * np.cov(wide.T) + 0.05 * np.eye(len(free)))
            rng = np.random.RandomState(i)
            drawn = proposal.rvs(n_proposals, random_state=rng)
            rows = np.tile(point, (n_proposals, 1))
            rows[:, free] = drawn
            log_w = fitted.score_samples(rows) - proposal.logpdf(drawn)
            w = np.exp(log_w - log_w.max())
            w /= w.sum()
            effective.append(1.0 / np.sum(w * w))
            by_weights.append(sliced_wasserstein(drawn[rng.choice(n_proposals, n, p=w)], exact))
            smc = given_draw(fitted)(X_partial, 11 + i)[:, free]
            by_smc.append(sliced_wasserstein(smc, exact))
        table_row(name, f"{np.mean(by_weights):.3f}", f"{np.mean(by_smc):.3f}", f"{min(effective):.0f}")


def part_spread(args):
    """Conditional spread and mean against the exact ones on correlated Gaussians, with the exact noise, by levels."""
    n_points, n = 20, 200
    A = np.random.RandomState(0).standard_normal((6, 6))
    laws = (
        ("6-D, given 3 of 6", GaussianMixtureLaw([1.0], [np.zeros(6)], [A @ A.T / 6 + 0.3 * np.eye(6)]), [3, 4, 5]),
        ("iris's correlation, given 3 of 4", GaussianMixtureLaw([1.0], [np.zeros(4)], [np.corrcoef(load_dataset("iris").T)]), [3]),
    )
    print(f"\n== 6. Spread: correlated Gaussians given some of their columns, exact noise; {n_points} points x {n} "
          "draws; the draws' SD over the exact conditional's (mean over points and columns, its standard error) and "
          "the draws' mean off the exact one, in exact SDs (mean over points and columns of the absolute value) ==\n")
    table_header("law", "levels", "SD ratio", "standard error", "mean off (SDs)")
    for label, law, unknown in laws:
        X = law.sample(2000, random_state=1)
        given = law.sample(n_points, random_state=2)
        given[:, unknown] = np.nan
        rows = np.repeat(given, n, axis=0)
        exact = law.sample_conditional(np.repeat(given, 10 * n, axis=0), random_state=4)[:, unknown]
        exact = exact.reshape(n_points, 10 * n, -1)
        for n_steps in (10, 30, 100):
            oracle = ExactMixtureScore(law, n_steps=n_steps, random_state=0, n_jobs=args.n_jobs).fit(X)
            draws = oracle.impute(rows, random_state=3)[:, unknown].reshape(n_points, n, -1)
            ratio = draws.std(axis=1) / exact.std(axis=1)
            off = np.abs(draws.mean(axis=1) - exact.mean(axis=1)) / exact.std(axis=1)
            table_row(label, str(n_steps), f"{ratio.mean():.3f}", f"{ratio.std() / np.sqrt(ratio.size):.3f}",
                      f"{off.mean():.3f}")


PARTS = {"known": part_known, "impute": part_impute, "rare": part_rare, "shares": part_shares,
         "flow-law": part_flow_law, "spread": part_spread}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="known,impute,rare,shares,spread")
    parser.add_argument("--quick", action="store_true",
                        help="smaller runs: 2 points, 500 rows, 1,500 training rows, 1 seed, 3 tables, fewer rows")
    parser.add_argument("--points", type=int, default=5)
    parser.add_argument("--n-cond", type=int, default=1000)
    parser.add_argument("--n-train", type=int, default=3000)
    parser.add_argument("--known-models", default=",".join(MODELS))
    parser.add_argument("--particles", default="1,8,32,128")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--datasets", default="iris,wine,breast_cancer,diabetes,mixed")
    parser.add_argument("--mixed-n", type=int, default=1000)
    parser.add_argument("--protocols", default="A,B")
    parser.add_argument("--impute-models", default=",".join(MODELS))
    parser.add_argument("--rare-models", default="DiffusionRandomFeatures,GradientBoostedScore")
    parser.add_argument("--rare-n-train", type=int, default=3000)
    parser.add_argument("--rare-n", type=int, default=200)
    parser.add_argument("--rare-seeds", type=int, default=3)
    parser.add_argument("--rare-batch", type=int, default=5000)
    parser.add_argument("--rare-max", type=int, default=100000)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        defaults = parser.parse_args([])
        for key, value in dict(points=2, n_cond=500, n_train=1500, seeds=1, datasets="iris,wine,mixed", mixed_n=500,
                               particles="1,8,32", rare_n_train=2000, rare_n=100, rare_batch=3000).items():
            if getattr(args, key) == getattr(defaults, key):  # what is given on the command line wins
                setattr(args, key, value)
    args.known_models = [m for m in args.known_models.split(",") if m]
    args.impute_models = [m for m in args.impute_models.split(",") if m]
    args.rare_models = [m for m in args.rare_models.split(",") if m]
    args.datasets = [s for s in args.datasets.split(",") if s]
    args.particles = [int(p) for p in args.particles.split(",") if p]
    args.protocols = [p.strip().upper() for p in args.protocols.split(",") if p]
    args.seed_list = list(range(args.seeds))
    print(f"bench_conditional: {os.cpu_count()} CPUs; {' '.join(sys.argv[1:]) or '(defaults)'}")
    for part in args.parts.split(","):
        PARTS[part](args)


if __name__ == "__main__":
    main()
