"""Typed columns: every model with and without column types on the mixed table.

The table (skscore.datasets.make_mixed_table) has a Poisson count, a
4-level categorical column, a positive skewed column with 30 % exact zeros,
a share in [0, 1] and a Gaussian column.  Each model is fitted on the train
rows twice, with the types declared and with the types ignored (a plain
continuous model), and its samples are compared with held-out rows:

- C2ST: cross-validated ROC AUC of a gradient-boosting classifier telling
  held-out rows from samples (0.5: indistinguishable);
- zero share of ``spend`` (train share in the header);
- the largest error of the ``plan`` level shares (vs the train shares);
- integral: every ``visits`` is an integer; bounds: visits and spend >= 0,
  discount in [0, 1], plan one of its levels.

GaussianMixture and KernelDensity (bandwidth by 3-fold CV) are the untyped
baselines.  Run::

    python benchmarks/bench_columns.py            # 3,000 train / 2,000 held out
    python benchmarks/bench_columns.py --n-train 1000 --n-test 1000
"""

import argparse
import time

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

from skscore import ConvexTwoLayerScore, DiffusionRandomFeatures, GaussianMixturePriorDiffusion, GradientBoostedScore
from skscore.datasets import make_mixed_table
from skscore.metrics import c2st_auc

TYPES = dict(
    integer_features=[0],
    categorical_features=[1],
    bounds={0: (0, None), 2: (0, None), 3: (0, 1)},
    point_masses={2: 0.0},
)

MODELS = {
    "DiffusionRandomFeatures": lambda **types: DiffusionRandomFeatures(random_state=0, **types),
    "GaussianMixturePriorDiffusion": lambda **types: GaussianMixturePriorDiffusion(random_state=0, **types),
    "ConvexTwoLayerScore": lambda **types: ConvexTwoLayerScore(max_iter=1000, random_state=0, **types),
    "GradientBoostedScore": lambda **types: GradientBoostedScore(
        n_noise_levels=20, n_density_samples=2000, random_state=0, **types
    ),
}


class _ScaledBaseline:
    """A scikit-learn density on standardized columns (unit-free bandwidths)."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X):
        self.scaler_ = StandardScaler().fit(X)
        self.estimator.fit(self.scaler_.transform(X))
        return self

    def sample(self, n, random_state):
        if isinstance(self.estimator, GridSearchCV):
            out = self.estimator.best_estimator_.sample(n, random_state=random_state)
        else:
            self.estimator.random_state = random_state
            out = self.estimator.sample(n)[0]
        return self.scaler_.inverse_transform(out)


def _baselines():
    bic = {
        k: GaussianMixture(k, covariance_type="full", random_state=0) for k in (1, 2, 4, 8, 12, 16)
    }
    kde = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1.5, 0, 10)}, cv=3)
    return bic, kde


def evaluate(S, X_train, X_test):
    """The row of measures for samples ``S``."""
    train_shares = np.bincount(X_train[:, 1].astype(int), minlength=4) / len(X_train)
    plan = S[:, 1]
    level = np.isin(plan, [0, 1, 2, 3])
    shares = np.bincount(np.clip(np.round(plan), 0, 3).astype(int), minlength=4) / len(S)
    return {
        "auc": c2st_auc(X_test, S[: len(X_test)]),
        "zero": float(np.mean(S[:, 2] == 0)),
        "cat_err": float(np.max(np.abs(shares - train_shares))) if level.all() else float("nan"),
        "integral": bool(np.all(S[:, 0] == np.floor(S[:, 0]))),
        "bounds": bool(
            level.all() and S[:, 0].min() >= 0 and S[:, 2].min() >= 0 and S[:, 3].min() >= 0 and S[:, 3].max() <= 1
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=3000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args(argv)

    X = make_mixed_table(args.n_train + args.n_test, random_state=0)
    X_train, X_test = X[: args.n_train], X[args.n_train :]
    n_samples = max(args.n_test, 4000)
    print(
        f"make_mixed_table: {args.n_train} train / {args.n_test} held-out rows; {n_samples} samples per model; "
        f"train zero share {np.mean(X_train[:, 2] == 0):.3f}, train plan shares "
        f"{np.round(np.bincount(X_train[:, 1].astype(int)) / args.n_train, 3).tolist()}"
    )
    print(f"held-out vs train rows (the floor): C2ST AUC {c2st_auc(X_test, X_train[: args.n_test]):.3f}\n")
    header = (
        "| model | types | C2ST AUC | zero share | max plan-share error | integral | in bounds | fit + sample (s) |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name in args.models.split(","):
        for typed in (True, False):
            start = time.perf_counter()
            model = MODELS[name](**(TYPES if typed else {})).fit(X_train)
            S = np.asarray(model.sample(n_samples, random_state=1))
            seconds = time.perf_counter() - start
            row = evaluate(S, X_train, X_test)
            print(
                f"| {name} | {'declared' if typed else 'ignored'} | {row['auc']:.3f} | {row['zero']:.3f} | "
                f"{row['cat_err']:.3f} | {row['integral']} | {row['bounds']} | {seconds:.1f} |",
                flush=True,
            )
    if not args.no_baselines:
        bic, kde = _baselines()
        start = time.perf_counter()
        Xs = StandardScaler().fit(X_train).transform(X_train)
        best = min(bic.values(), key=lambda gm: gm.fit(Xs).bic(Xs))
        for label, estimator in (("GaussianMixture (BIC)", best), ("KernelDensity (CV)", kde)):
            start = time.perf_counter()
            model = _ScaledBaseline(estimator).fit(X_train)
            S = model.sample(n_samples, random_state=1)
            row = evaluate(S, X_train, X_test)
            print(
                f"| {label} | none | {row['auc']:.3f} | {row['zero']:.3f} | {row['cat_err']:.3f} | "
                f"{row['integral']} | {row['bounds']} | {time.perf_counter() - start:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
