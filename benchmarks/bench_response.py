"""Response theory known answers: score response vs the Gaussian response.

Three systems, simulated with :mod:`skscore.response.systems`:

- a 2-D and a 4-D Ornstein-Uhlenbeck process with correlated noise (truth:
  ``exp(-A tau)``, lags up to ``3 / lambda_min``);
- the stochastic double-well chain on a ring of 4 sites, with bimodal
  marginals (truth: perturbed ensembles with identical noise, with standard
  errors).

For each, the relative L2 error over lags, ``||R_hat - R|| / ||R||``, of the
quasi-Gaussian response ``C(tau) C(0)^{-1}`` and of the score response from
each model (fitted once on decorrelated snapshots), in five variants:

- ``paper``: the learned score at the smallest noise level, as is
  (``correction=None, score_time=None``);
- ``paper, normalized``: the same, times ``R(0)^{-1}`` (the authors' code);
- ``stein``: the smallest level, with the Stein correction of the affine part;
- ``auto level``: the level chosen by the score-matching loss, no correction;
- ``defaults``: both (``correction='stein', score_time='auto'``).

``|R0-I|`` is the relative distance of the raw lag-0 response from the
identity (the score-scale error that normalization hides).  On OU the exact
score gives the sampling error floor.  Timings are wall-clock seconds (fit:
model fit; response: one ``score_response`` call).

Usage: python benchmarks/bench_response.py [--quick] [--seed 0]
"""

import argparse
import time

import numpy as np

from skscore import DiffusionRandomFeatures
from skscore.response import gaussian_response, score_response
from skscore.response._score import _auto_stride
from skscore.response.systems import DoubleWellChain, OrnsteinUhlenbeck, perturbation_response

DT = 0.1
OU_2D = OrnsteinUhlenbeck([[1.0, 0.6], [-0.4, 0.7]], [[1.0, 0.0], [0.5, 0.8]])
OU_4D = OrnsteinUhlenbeck(
    [[1.0, 0.1, 0.3, 0.7], [0.6, 0.7, 0.3, 0.0], [0.0, 0.1, 1.5, 0.4], [0.2, 0.0, 0.1, 2.1]],
    [[1.6, -0.1, 0.1, -0.3], [-1.0, 1.3, 0.3, -0.3], [0.9, -0.6, 1.0, -0.1], [0.6, 0.6, 0.1, 1.2]],
)
VARIANTS = {
    "paper": {"correction": None, "score_time": None},
    "paper, normalized": {"correction": None, "score_time": None, "normalize": True},
    "stein": {"correction": "stein", "score_time": None},
    "auto level": {"correction": None, "score_time": "auto"},
    "defaults": {},
}


class _Exact:
    def __init__(self, score):
        self.score_function = score


def models(seed):
    from skscore.mixture_prior import GaussianMixturePriorDiffusion

    return {
        "DiffusionRandomFeatures()": DiffusionRandomFeatures(random_state=seed),
        "GaussianMixturePriorDiffusion()": GaussianMixturePriorDiffusion(random_state=seed),
    }


def relative_l2(R, truth):
    return float(np.linalg.norm(R - truth) / np.linalg.norm(truth))


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def case(name, X, lags, truth, seed, exact=None):
    print(f"\n{name}: {sum(len(T) for T in X) if isinstance(X, list) else len(X)} steps of dt={DT}, lags 0..{lags}")
    gaussian, seconds = timed(gaussian_response, X, lags, dt=DT)
    print(
        f"  {'Gaussian response C(tau) C(0)^-1':<46} rel L2 {relative_l2(gaussian.response, truth):.3f}  ({seconds:.2f}s)"
    )
    if exact is not None:
        result = score_response(X, lags, _Exact(exact), dt=DT, correction=None)
        print(f"  {'exact score (sampling floor)':<46} rel L2 {relative_l2(result.response, truth):.3f}")
    for model_name, model in models(seed).items():
        trajectories = X if isinstance(X, list) else [X]
        stride = _auto_stride(trajectories)  # what score_response does with an unfitted model
        fitted, fit_seconds = timed(model.fit, np.concatenate([T[::stride] for T in trajectories]))
        extra = f", {fitted.n_components_} components" if hasattr(fitted, "n_components_") else ""
        print(f"  {model_name}: fit {fit_seconds:.1f}s on snapshots every {stride} steps{extra}")
        for variant, params in VARIANTS.items():
            result, seconds = timed(score_response, X, lags, fitted, dt=DT, **params)
            r0 = np.linalg.norm(result.response_at_zero - np.eye(len(truth[0]))) / np.sqrt(len(truth[0]))
            level = "" if result.score_time is None else f"  t={result.score_time:.2f}"
            print(
                f"    {variant:<42} rel L2 {relative_l2(result.response, truth):.3f}  |R0-I| {r0:.3f}"
                f"  ({seconds:.1f}s){level}"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter series and ensembles")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    scale = 1 if args.quick else 2
    seed = args.seed

    for name, ou, n, n_traj in (("OU 2-D", OU_2D, 200_000, None), ("OU 4-D", OU_4D, 150_000, 4)):
        lam = np.linalg.eigvals(ou.drift_matrix).real.min()
        lags = int(np.ceil(3 / lam / DT))
        X, seconds = timed(ou.simulate, n * scale, DT, n_trajectories=n_traj, random_state=seed)
        X = list(X) if n_traj else X
        print(f"\n[{name}: simulated in {seconds:.2f}s]")
        case(name, X, lags, ou.response(np.arange(lags + 1) * DT), seed, exact=ou.score)

    chain = DoubleWellChain(4, coupling=0.5, noise=0.7)
    X, seconds = timed(chain.simulate, 100_000 * scale, DT, random_state=seed)
    (truth, se), ens_seconds = timed(
        perturbation_response, chain, 40, DT, n_members=2500 * scale, random_state=seed + 1
    )
    print(
        f"\n[double-well chain: simulated in {seconds:.2f}s; ensemble truth ({2500 * scale} members) in "
        f"{ens_seconds:.2f}s, relative standard error {np.linalg.norm(se) / np.linalg.norm(truth):.3f}]"
    )
    case("Double-well chain (4 sites)", X, 40, truth, seed)


if __name__ == "__main__":
    main()
