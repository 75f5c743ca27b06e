"""Known answers: held-out log-likelihood and sample quality against the truth.

On the 2-D and 8-D Gaussian mixtures of ``skscore.datasets`` (5,000 training
draws, 4,000 held-out draws, a 20,000-draw reference sample of the law), report
for each model the gap between the true mean log-density and the model's
held-out mean log-likelihood (nats; lower is better) and the sliced Wasserstein
distance of 4,000 samples to the reference (standardized units).

Models: DiffusionRandomFeatures with its defaults, the paper's predictor
(features='paper', feature_directions='random', linear_term=False), the
paper's RF baseline (gates frozen), ours with isotropic frequencies,
KernelDensity with Scott's and a cross-validated bandwidth on standardized
data, and GaussianMixture with the true number of components.

With ``--set models``, the four skscore estimators at their defaults (and
the trees with ``terminal_noise='auto'``), cross-validated KernelDensity, GaussianMixture with its components chosen
by BIC and adversarial random forests (``skscore._peers``, with R arf's
likelihood), on the 8-D mixture and on the 8-D curved, skewed and heavy-tailed
:class:`skscore.datasets.BananaSkewLaw` (the issue's target: every model
within 0.75 nats of the truth and above cross-validated KDE).

Usage: python benchmarks/bench_known_answers.py [--seed 0] [--set models]
"""

import argparse
import time

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler

from skscore import (
    ConvexTwoLayerScore,
    DiffusionRandomFeatures,
    GaussianMixturePriorDiffusion,
    GradientBoostedScore,
)
from skscore._peers import AdversarialRandomForest, BICGaussianMixture
from skscore.datasets import BananaSkewLaw, correlated_mixture_8d, mixture_2d
from skscore.metrics import sliced_wasserstein


class _Standardized:
    """KernelDensity on standardized data, reported in the data's units."""

    def __init__(self, kde):
        self.kde = kde

    def fit(self, X):
        self.scaler_ = StandardScaler().fit(X)
        self.kde.fit(self.scaler_.transform(X))
        if hasattr(self.kde, "best_estimator_"):
            self.kde = self.kde.best_estimator_
        return self

    def score_samples(self, X):
        return self.kde.score_samples(self.scaler_.transform(X)) - np.log(self.scaler_.scale_).sum()

    def sample(self, n, random_state):
        return self.scaler_.inverse_transform(self.kde.sample(n, random_state=random_state))


def models(n_components, seed):
    return {
        "DiffusionRandomFeatures (defaults)": DiffusionRandomFeatures(random_state=seed),
        "  paper predictor (features='paper', linear_term=False)": DiffusionRandomFeatures(
            features="paper", feature_directions="random", feature_scale=1.0, linear_term=False, random_state=seed
        ),
        "  paper RF baseline (+ fit_gates=False)": DiffusionRandomFeatures(
            features="paper",
            feature_directions="random",
            feature_scale=1.0,
            linear_term=False,
            fit_gates=False,
            random_state=seed,
        ),
        "  ours without gates (fit_gates=False)": DiffusionRandomFeatures(fit_gates=False, random_state=seed),
        "  isotropic frequencies (feature_directions='random')": DiffusionRandomFeatures(
            feature_directions="random", random_state=seed
        ),
        "KernelDensity (Scott)": _Standardized(KernelDensity(bandwidth="scott")),
        "KernelDensity (5-fold CV bandwidth)": _Standardized(
            GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1.5, 0.3, 25)}, cv=5)
        ),
        f"GaussianMixture ({n_components} components, full)": GaussianMixture(n_components, random_state=seed),
    }


def every_model(n_components, seed):
    """The four estimators at their defaults (the trees also with a chosen bandwidth) and the peers."""
    return {
        "DiffusionRandomFeatures": DiffusionRandomFeatures(random_state=seed),
        "GaussianMixturePriorDiffusion": GaussianMixturePriorDiffusion(random_state=seed),
        "ConvexTwoLayerScore": ConvexTwoLayerScore(random_state=seed),
        "GradientBoostedScore": GradientBoostedScore(random_state=seed),
        "GradientBoostedScore(terminal_noise='auto')": GradientBoostedScore(random_state=seed, terminal_noise="auto"),
        "KernelDensity (5-fold CV bandwidth)": _Standardized(
            GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1.5, 0.3, 25)}, cv=5)
        ),
        "GaussianMixture (BIC, 1..10 components)": BICGaussianMixture(seed),
        "ARF (adversarial random forests)": AdversarialRandomForest(seed),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", choices=["paper", "models"], default="paper")
    args = parser.parse_args()
    if args.set == "models":
        laws = (("8-D mixture", correlated_mixture_8d(), 4), ("8-D banana-skew", BananaSkewLaw(), None))
        make = every_model
    else:
        laws = (("2-D mixture", mixture_2d(), 3), ("8-D mixture", correlated_mixture_8d(), 4))
        make = models
    for name, law, n_components in laws:
        X = law.sample(5000, random_state=100 + args.seed)
        X_test = law.sample(4000, random_state=200 + args.seed)
        reference = law.sample(20000, random_state=300)
        scaler = StandardScaler().fit(X)
        truth = law.logpdf(X_test).mean()
        fresh = sliced_wasserstein(scaler.transform(law.sample(4000, random_state=999)), scaler.transform(reference))
        print(f"\n{name}: true held-out mean log-density {truth:.3f}; a fresh 4,000-draw sample is at SW {fresh:.4f}")
        print(f"{'model':58s} {'gap (nats)':>10s} {'SW':>8s} {'fit s':>7s}")
        for label, model in make(n_components, args.seed).items():
            start = time.perf_counter()
            model.fit(X)
            fit_s = time.perf_counter() - start
            gap = truth - model.score_samples(X_test).mean()
            if isinstance(model, GaussianMixture):  # draws from its own random_state
                samples = model.sample(4000)[0]
            else:
                samples = model.sample(4000, random_state=1)
            sw = sliced_wasserstein(scaler.transform(samples), scaler.transform(reference))
            print(f"{label:58s} {gap:10.3f} {sw:8.4f} {fit_s:7.1f}", flush=True)


if __name__ == "__main__":
    main()
