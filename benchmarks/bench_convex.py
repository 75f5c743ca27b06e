"""ConvexTwoLayerScore: fit-time scaling, speed next to GaussianMixture and KernelDensity, held-out quality.

Four measurements, each side by side in one run (wall-clock seconds on this
machine; only the ratios carry over to another one):

1. ``scaling``: fit time as n, d and n_gates grow (the others at 2000 rows,
   4 columns, 32 gates; ``--levels`` trained levels), with the iterations
   and patterns per program.
2. ``baselines``: fit, sample(n) and score_samples(n) on n x 8 rows of the
   known 8-D mixture (:func:`skscore.datasets.correlated_mixture_8d`) for
   ConvexTwoLayerScore, GaussianMixture (8 components, full covariances) and
   KernelDensity (Scott's bandwidth on standardized columns), with the ratio
   to GaussianMixture, and the held-out log-likelihood next to the true one.
3. ``quality``: iris, wine and breast cancer (70/30 split, seed 0): mean
   held-out log-likelihood and sliced Wasserstein distance of as many samples
   as held-out rows, against GaussianMixture (components chosen by BIC, 1 to
   10) and KernelDensity (bandwidth by 5-fold CV on standardized columns).
4. ``conditioning``: per-level programs against one program with the level
   as an input column (and the gated relaxation), on the 2-D mixture (with
   the grid mass of the density) and iris, default settings.

Usage::

    python benchmarks/bench_convex.py [--parts scaling,baselines,quality,conditioning] [--n 10000]
        [--levels 10] [--n-jobs N]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

from skscore import ConvexTwoLayerScore
from skscore.datasets import correlated_mixture_8d, load_dataset, mixture_2d
from skscore.metrics import sliced_wasserstein

DATASETS = ("iris", "wine", "breast_cancer")


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def warm_up():
    """Compile the Numba kernels once, outside every timing."""
    X = np.random.default_rng(0).standard_normal((60, 2))
    for formulation in ("relu", "gated_relu"):
        ConvexTwoLayerScore(n_gates=4, n_steps=3, formulation=formulation, random_state=0).fit(X).score_samples(X[:5])


def blobs(n, d, seed=0):
    """A 2^d-corner mixture: columns +-1 plus Gaussian noise of scale 0.5."""
    rng = np.random.RandomState(seed)
    return np.sign(rng.standard_normal((n, d))) + 0.5 * rng.standard_normal((n, d))


class ScaledKDE:
    """KernelDensity on standardized columns, its log-density in the original units."""

    def __init__(self, bandwidth):
        self.bandwidth = bandwidth

    def fit(self, X):
        self.scaler_ = StandardScaler().fit(X)
        self.kde_ = KernelDensity(bandwidth=self.bandwidth).fit(self.scaler_.transform(X))
        return self

    def score_samples(self, X):
        return self.kde_.score_samples(self.scaler_.transform(X)) - np.log(self.scaler_.scale_).sum()

    def sample(self, n, random_state=0):
        return self.scaler_.inverse_transform(self.kde_.sample(n, random_state=random_state))


def kde_cv(X):
    Z = StandardScaler().fit_transform(X)
    search = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1.5, 0.5, 15)}, cv=5).fit(Z)
    return ScaledKDE(search.best_params_["bandwidth"]).fit(X)


def gmm_bic(X):
    fits = [GaussianMixture(k, covariance_type="full", reg_covar=1e-4, random_state=0).fit(X) for k in range(1, 11)]
    return min(fits, key=lambda g: g.bic(X))


def sample_of(model, n):
    out = model.sample(n) if isinstance(model, GaussianMixture) else model.sample(n, random_state=0)
    return out[0] if isinstance(out, tuple) else out


# -------------------------------------------------------------------- scaling
def part_scaling(args):
    print(f"\n== 1. Fit time as n, d and n_gates grow ({args.levels} trained levels of 30; others at n=2000, d=4, "
          "32 gates) ==")
    print(f"{'n':>6}{'d':>4}{'n_gates':>9}{'fit s':>9}{'iters/program':>15}{'patterns':>10}{'max gap':>10}")
    grid = [(n, 4, 32) for n in (500, 1000, 2000, 4000)]
    grid += [(2000, d, 32) for d in (2, 8)]
    grid += [(2000, 4, g) for g in (8, 16, 64)]
    for n, d, g in grid:
        model = ConvexTwoLayerScore(n_gates=g, noise_levels=args.levels, n_jobs=args.n_jobs, random_state=0)
        _, fit_s = timed(model.fit, blobs(n, d))
        print(
            f"{n:>6}{d:>4}{g:>9}{fit_s:>9.2f}{np.mean(model.n_iter_):>15.0f}{np.mean(model.n_patterns_):>10.1f}"
            f"{np.max(model.optimality_gap_):>10.1e}",
            flush=True,
        )


# ------------------------------------------------------------------ baselines
def part_baselines(args):
    law = correlated_mixture_8d()
    X = law.sample(args.n, random_state=0)
    X_test = law.sample(args.n, random_state=1)
    truth = law.logpdf(X_test).mean()
    print(f"\n== 2. Speed on {args.n} x 8 (correlated 8-D mixture), fit / sample({args.n}) / score_samples({args.n}); "
          f"ConvexTwoLayerScore with {args.levels} trained levels of 30 ==")
    print(f"true mean log-density of the held-out rows: {truth:.3f}")
    print(f"{'model':<24}{'fit s':>9}{'sample s':>10}{'score s':>9}{'fit/GMM':>9}{'sample/GMM':>11}{'score/GMM':>10}"
          f"{'test loglik':>12}")
    models = {
        "ConvexTwoLayerScore": lambda: ConvexTwoLayerScore(
            noise_levels=args.levels, n_jobs=args.n_jobs, random_state=0
        ),
        "GaussianMixture(8)": lambda: GaussianMixture(8, covariance_type="full", random_state=0),
        "KernelDensity(Scott)": lambda: ScaledKDE(bandwidth=args.n ** (-1.0 / 12.0)),
    }
    rows = {}
    for name, make in models.items():
        model = make()
        _, fit_s = timed(model.fit, X)
        _, sample_s = timed(sample_of, model, args.n)
        ll, score_s = timed(model.score_samples, X_test)
        rows[name] = (fit_s, sample_s, score_s, float(np.mean(ll)))
    ref = rows["GaussianMixture(8)"]
    for name, (fit_s, sample_s, score_s, ll) in rows.items():
        print(f"{name:<24}{fit_s:>9.2f}{sample_s:>10.3f}{score_s:>9.3f}{fit_s / ref[0]:>9.1f}{sample_s / ref[1]:>11.1f}"
              f"{score_s / ref[2]:>10.1f}{ll:>12.3f}")


# -------------------------------------------------------------------- quality
def held_out(model, X_train, X_test):
    ll = float(np.mean(model.score_samples(X_test)))
    scaler = StandardScaler().fit(X_train)
    sw = sliced_wasserstein(scaler.transform(sample_of(model, len(X_test))), scaler.transform(X_test))
    return ll, sw


def part_quality(args):
    print("\n== 3. Held-out quality (70/30 split, seed 0): mean log-likelihood (higher is better), "
          "sliced W2 on standardized columns (lower) ==")
    print("ConvexTwoLayerScore: the default on up to 4 columns; beyond, 8 gates and 5 trained levels (the ReLU "
          "program's cost grows as (n_gates d)^2 d per iteration)")
    print(f"{'dataset':<14}{'n x d':>9}{'model':>24}{'fit s':>8}{'test loglik':>13}{'SW':>8}")
    for name in args.datasets:
        X_train, X_test = train_test_split(load_dataset(name), test_size=0.3, random_state=0)
        shape = f"{X_train.shape[0]}x{X_train.shape[1]}"
        params = {} if X_train.shape[1] <= 4 else dict(n_gates=8, noise_levels=5)
        candidates = {
            "ConvexTwoLayerScore": lambda: ConvexTwoLayerScore(
                n_jobs=args.n_jobs, random_state=0, **params
            ).fit(X_train),
            "GaussianMixture(BIC)": lambda: gmm_bic(X_train),
            "KernelDensity(CV)": lambda: kde_cv(X_train),
        }
        for label, fit in candidates.items():
            model, fit_s = timed(fit)
            ll, sw = held_out(model, X_train, X_test)
            print(f"{name:<14}{shape:>9}{label:>24}{fit_s:>8.2f}{ll:>13.3f}{sw:>8.3f}", flush=True)


# --------------------------------------------------------------- conditioning
def grid_mass(model, lows, highs, n_grid=120):
    xs, ys = np.linspace(lows[0], highs[0], n_grid), np.linspace(lows[1], highs[1], n_grid)
    grid = np.column_stack([g.ravel() for g in np.meshgrid(xs, ys)])
    return float(np.sum(np.exp(model.score_samples(grid))) * (xs[1] - xs[0]) * (ys[1] - ys[0]))


def part_conditioning(args):
    print("\n== 4. Per-level programs vs the level as an input column (and the gated relaxation) ==")
    print(f"{'data':<14}{'variant':>30}{'fit s':>8}{'test loglik':>13}{'SW':>8}{'grid mass':>11}")
    variants = {
        "per_level (default)": dict(),
        "input": dict(conditioning="input"),
        "per_level, gated_relu": dict(formulation="gated_relu"),
    }
    law = mixture_2d()
    sets = [("mixture_2d", law.sample(2000, random_state=0), law.sample(2000, random_state=1))]
    sets += [(name, *train_test_split(load_dataset(name), test_size=0.3, random_state=0)) for name in ("iris",)]
    for name, X_train, X_test in sets:
        for label, params in variants.items():
            model, fit_s = timed(ConvexTwoLayerScore(n_jobs=args.n_jobs, random_state=0, **params).fit, X_train)
            ll, sw = held_out(model, X_train, X_test)
            mass = grid_mass(model, X_train.min(0) - 3, X_train.max(0) + 3) if X_train.shape[1] == 2 else float("nan")
            print(f"{name:<14}{label:>30}{fit_s:>8.2f}{ll:>13.3f}{sw:>8.3f}{mass:>11.3f}", flush=True)


PARTS = {
    "scaling": part_scaling,
    "baselines": part_baselines,
    "quality": part_quality,
    "conditioning": part_conditioning,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="scaling,baselines,quality,conditioning")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--levels", type=int, default=10, help="trained levels in parts 1 and 2")
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    args.datasets = args.datasets.split(",")
    warm_up()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for part in args.parts.split(","):
            PARTS[part](args)


if __name__ == "__main__":
    main()
