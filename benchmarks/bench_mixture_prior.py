"""GaussianMixturePriorDiffusion: speed and quality next to GaussianMixture and KernelDensity.

Speed: fit, sample(n) and score_samples(n) on n x 8 draws of the known 8-D
mixture (``skscore.datasets.correlated_mixture_8d``), one run each after an
untimed warm-up that triggers the Numba compilation, for
GaussianMixturePriorDiffusion (4 components, full covariance, defaults
otherwise), DiffusionRandomFeatures (defaults), GaussianMixture (4
components, full) and KernelDensity (bandwidth 0.3 on standardized data, no
bandwidth search), with the ratios ours / GaussianMixture and ours /
KernelDensity.

Quality: on the bundled scikit-learn datasets (70/30 split, seed 0, as
``skscore benchmark``), held-out mean log-likelihood (data units, higher is
better) and sliced Wasserstein distance between as many samples as test rows
and the test rows (both standardized with the training scaler, lower is
better) for GaussianMixturePriorDiffusion with ``n_components='auto'`` (the
BIC choice among 1 to 10) and GaussianMixture with n_components by BIC among 1
to 10, fitted on the standardized training data (as ours is) and on the raw
data (as ``skscore benchmark`` does), full covariance; and the same pair
with diagonal covariances (standardized data).

Usage::

    python benchmarks/bench_mixture_prior.py [--n 10000] [--datasets iris,wine,breast_cancer,diabetes] [--n-jobs 1]
"""

import argparse
import time

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

from skscore import DiffusionRandomFeatures, GaussianMixturePriorDiffusion
from skscore.datasets import correlated_mixture_8d, load_dataset
from skscore.metrics import sliced_wasserstein


class Standardized:
    """A scikit-learn density fitted on standardized data, reported in the data's units."""

    def __init__(self, model):
        self.model = model

    def fit(self, X):
        self.scaler_ = StandardScaler().fit(X)
        self.model.fit(self.scaler_.transform(X))
        return self

    def sample(self, n, random_state=0):
        if isinstance(self.model, GaussianMixture):
            Z = self.model.sample(n)[0]
        else:
            Z = self.model.sample(n, random_state=random_state)
        return self.scaler_.inverse_transform(Z)

    def score_samples(self, X):
        return self.model.score_samples(self.scaler_.transform(X)) - np.log(self.scaler_.scale_).sum()


class BicGaussianMixture:
    """GaussianMixture with n_components by BIC among 1 to 10."""

    def __init__(self, covariance_type="full", random_state=0):
        self.covariance_type = covariance_type
        self.random_state = random_state

    def fit(self, X):
        fits = [
            GaussianMixture(k, covariance_type=self.covariance_type, random_state=self.random_state).fit(X)
            for k in range(1, min(10, len(X) // 2) + 1)
        ]
        self.model_ = min(fits, key=lambda gmm: gmm.bic(X))
        self.n_components_ = self.model_.n_components
        return self

    def sample(self, n, random_state=None):  # GaussianMixture draws from its own random_state
        return self.model_.sample(n)[0]

    def score_samples(self, X):
        return self.model_.score_samples(X)


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    out = function(*args, **kwargs)
    return out, time.perf_counter() - start


def speed(n, n_jobs):
    law = correlated_mixture_8d()
    X = law.sample(n, random_state=100)
    X_test = law.sample(n, random_state=200)
    models = {
        "GaussianMixturePriorDiffusion (4, full)": lambda: GaussianMixturePriorDiffusion(
            4, random_state=0, n_jobs=n_jobs
        ),
        # the data are the mixture: by default every component keeps its
        # Gaussian; without validation every one runs its diffusion
        "  same, validation_fraction=None": lambda: GaussianMixturePriorDiffusion(
            4, validation_fraction=None, random_state=0, n_jobs=n_jobs
        ),
        "DiffusionRandomFeatures (defaults)": lambda: DiffusionRandomFeatures(random_state=0, n_jobs=n_jobs),
        "GaussianMixture (4, full)": lambda: Standardized(GaussianMixture(4, random_state=0)),
        "KernelDensity (bandwidth 0.3)": lambda: Standardized(KernelDensity(bandwidth=0.3)),
    }
    # warm-up: Numba compilation of every kernel on small data
    warm = GaussianMixturePriorDiffusion(4, n_steps=4, random_state=0, n_jobs=n_jobs).fit(X[:400])
    warm.sample(10, random_state=0), warm.score_samples(X[:10])
    times = {}
    kept = {}
    print(f"\nSpeed on {n:,} x 8 draws of the 8-D mixture (sample and score_samples of {n:,} rows; seconds, one run;")
    print(f"n_jobs={n_jobs} for the skscore models)")
    print(f"{'model':42s} {'fit':>8s} {'sample':>8s} {'score':>8s} {'held-out LL':>12s}")
    for name, make in models.items():
        model = make()
        _, fit_s = _timed(model.fit, X)
        _, sample_s = _timed(model.sample, n, random_state=1)
        log_density, score_s = _timed(model.score_samples, X_test)
        times[name] = (fit_s, sample_s, score_s)
        if isinstance(model, GaussianMixturePriorDiffusion):
            kept[name] = sum(m is not None for m in model.component_models_)
        print(f"{name:42s} {fit_s:8.2f} {sample_s:8.3f} {score_s:8.3f} {np.mean(log_density):12.3f}", flush=True)
    print(f"  true held-out mean log-density: {law.logpdf(X_test).mean():.3f}")
    print("  diffusions kept: " + ", ".join(f"{name.strip()}: {k} of 4" for name, k in kept.items()))
    variants = (("ours", "GaussianMixturePriorDiffusion (4, full)"), ("no val.", "  same, validation_fraction=None"))
    for label, ours in variants:
        for name in ("GaussianMixture (4, full)", "KernelDensity (bandwidth 0.3)"):
            ratios = "  ".join(
                f"{step} {a / b:8.3g}x" for step, a, b in zip(("fit", "sample", "score"), times[ours], times[name])
            )
            print(f"  {label:7s} / {name:30s} {ratios}")


def quality(datasets, n_jobs):
    print("\nQuality on the bundled datasets (70/30 split, seed 0; LL: held-out mean log-likelihood, data units;")
    print("SW: sliced Wasserstein of as many samples as test rows to the test rows, standardized)")
    print(f"{'dataset':14s} {'model':44s} {'k':>3s} {'LL':>10s} {'SW':>8s} {'fit s':>7s}")
    for dataset in datasets:
        X = load_dataset(dataset)
        X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
        scaler = StandardScaler().fit(X_train)
        Z_test = scaler.transform(X_test)
        rows = {
            "GaussianMixturePriorDiffusion (auto, full)": GaussianMixturePriorDiffusion(random_state=0, n_jobs=n_jobs),
            "GaussianMixture (BIC, full, standardized)": Standardized(BicGaussianMixture(random_state=0)),
            "GaussianMixture (BIC, full, raw)": BicGaussianMixture(random_state=0),
            "GaussianMixturePriorDiffusion (auto, diag)": GaussianMixturePriorDiffusion(
                prior_covariance="diag", random_state=0, n_jobs=n_jobs
            ),
            "GaussianMixture (BIC, diag, standardized)": Standardized(BicGaussianMixture("diag", random_state=0)),
        }
        for name, model in rows.items():
            _, fit_s = _timed(model.fit, X_train)
            samples = model.sample(len(X_test), random_state=1)
            k = model.model.n_components_ if isinstance(model, Standardized) else model.n_components_
            ll = float(np.mean(model.score_samples(X_test)))
            sw = sliced_wasserstein(scaler.transform(samples), Z_test)
            print(f"{dataset:14s} {name:44s} {k:3d} {ll:10.3f} {sw:8.4f} {fit_s:7.1f}", flush=True)
            if isinstance(model, GaussianMixturePriorDiffusion):
                kept = sum(m is not None for m in model.component_models_)
                print(f"{'':14s}   diffusions kept in {kept} of {k} components; reverse effort "
                      f"{model.reverse_effort_:.2f} (standard prior {model.reverse_effort_standard_:.2f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--datasets", default="iris,wine,breast_cancer,diabetes")
    parser.add_argument("--n-jobs", type=int, default=None, help="threads of the skscore models (default: all)")
    args = parser.parse_args()
    speed(args.n, args.n_jobs)
    quality([name.strip() for name in args.datasets.split(",") if name.strip()], args.n_jobs)


if __name__ == "__main__":
    main()
