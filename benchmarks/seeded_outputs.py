"""Seeded outputs of every model, saved and compared: the check that a refactor kept behaviour.

Fits 23 small configurations (every sampler, schedules, typed columns, mixture
prior variants, convex formulations and conditionings, trees with and without
labels, RePaint imputation, Langevin sampling) with fixed seeds and records
their samples (seeded and from the fitted generator), log-densities and
scores.  Run ``save`` before a change and ``compare`` after: every array is
reported that is not bit-for-bit identical, with its largest relative
difference.

Usage::

    python benchmarks/seeded_outputs.py save before.npz     # on the old code
    python benchmarks/seeded_outputs.py save after.npz      # on the new code
    python benchmarks/seeded_outputs.py compare before.npz after.npz
"""

import argparse
import warnings

import numpy as np

from skscore import ConvexTwoLayerScore, DiffusionRandomFeatures, GaussianMixturePriorDiffusion, GradientBoostedScore
from skscore.datasets import circle_mixture_2d, make_mixed_table

TREES = dict(max_iter=5, duplicate_K=5, n_density_samples=300, random_state=0)
TYPES = dict(integer_features="auto", categorical_features=[1], bounds="auto", point_masses="auto")


def _record(out, name, model, X, y=None):
    model.fit(X) if y is None else model.fit(X, y)
    drawn = model.sample(40, random_state=1)
    if isinstance(drawn, tuple):
        out[name + "/sample_y"] = np.asarray(drawn[1])
        drawn = drawn[0]
    out[name + "/sample"] = np.asarray(drawn, dtype=float)
    fresh = model.sample(30)
    out[name + "/sample_default"] = np.asarray(fresh[0] if isinstance(fresh, tuple) else fresh, dtype=float)
    out[name + "/score"] = model.score_samples(X[:50])
    try:
        out[name + "/score_function"] = model.score_function(X[:20], t=0.3)
    except ValueError:  # typed columns have no score
        pass


def outputs():
    warnings.filterwarnings("ignore")
    X = circle_mixture_2d().sample(300, random_state=0)
    out = {}
    for sampler in ["heun", "ddim", "ddpm", "euler_maruyama"]:
        _record(out, f"drf_{sampler}", DiffusionRandomFeatures(n_features=64, n_steps=10, sampler=sampler, random_state=0), X)
    paper = DiffusionRandomFeatures(n_features=32, n_steps=8, features="paper", linear_term=False, schedule="vp", random_state=0)
    _record(out, "drf_paper", paper, X)
    small = dict(predictor=DiffusionRandomFeatures(n_features=32), n_steps=8, random_state=0)
    _record(out, "mix", GaussianMixturePriorDiffusion(n_components=4, validation_fraction=None, **small), X)
    _record(out, "mix_val", GaussianMixturePriorDiffusion(n_components=3, **small), X)
    shared = GaussianMixturePriorDiffusion(n_components=3, shared_predictor=True, prior_covariance="identity", sampler="ddpm", **small)
    _record(out, "mix_shared", shared, X)
    _record(out, "convex", ConvexTwoLayerScore(n_gates=8, n_steps=8, noise_levels=4, random_state=0), X)
    gated = ConvexTwoLayerScore(n_gates=8, n_steps=6, formulation="gated_relu", conditioning="input", random_state=0)
    _record(out, "convex_gated", gated, X)
    _record(out, "boosted", GradientBoostedScore(n_noise_levels=8, **TREES), X)
    _record(out, "boosted_vp", GradientBoostedScore(n_noise_levels=8, diffusion_type="vp", **TREES), X)
    _record(out, "boosted_y", GradientBoostedScore(n_noise_levels=6, **TREES), X, y=(X[:, 0] > 0).astype(int))
    X_missing = X[:30].copy()
    # every row keeps an observed entry (a row with none is refused)
    X_missing[::2, 0], X_missing[1::2, 1] = np.nan, np.nan
    for kind in ("flow", "vp"):
        model = GradientBoostedScore(n_noise_levels=8, diffusion_type=kind, **TREES).fit(X)
        out[f"boosted_{kind}/impute"] = model.impute(X_missing, random_state=3)
    table = make_mixed_table(400, random_state=0)
    _record(out, "drf_typed", DiffusionRandomFeatures(n_features=64, n_steps=8, random_state=0, **TYPES), table)
    typed_mixture = GaussianMixturePriorDiffusion(n_components=2, **{**small, "n_steps": 6}, **TYPES)
    _record(out, "mix_typed", typed_mixture, table)
    _record(out, "boosted_typed", GradientBoostedScore(n_noise_levels=6, **TREES, **TYPES), table)
    convex = ConvexTwoLayerScore(n_gates=4, n_steps=6, random_state=0).fit(X)
    out["convex/langevin"] = convex.sample_langevin(10, n_iter=20, random_state=0)
    return out


def compare(before, after):
    differ = 0
    for key in sorted(set(before) | set(after)):
        if key not in before or key not in after:
            print(f"only in {'after' if key in after else 'before'}: {key}")
            differ += 1
        elif before[key].shape != after[key].shape:
            print(f"{key}: shape {before[key].shape} -> {after[key].shape}")
            differ += 1
        elif not np.array_equal(before[key], after[key], equal_nan=True):
            x, y = before[key].astype(float), after[key].astype(float)
            print(f"{key}: largest relative difference {np.max(np.abs(x - y) / (np.abs(x) + np.abs(y) + 1e-300)):.3g}")
            differ += 1
    print(f"{len(before)} arrays compared, {differ} not bit-for-bit identical")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("save").add_argument("path")
    both = commands.add_parser("compare")
    both.add_argument("before")
    both.add_argument("after")
    args = parser.parse_args()
    if args.command == "save":
        out = outputs()
        np.savez(args.path, **out)
        print(f"saved {len(out)} arrays to {args.path}")
    else:
        compare(np.load(args.before), np.load(args.after))


if __name__ == "__main__":
    main()
