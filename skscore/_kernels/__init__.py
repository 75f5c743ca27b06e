"""Numba kernels: small pure functions over rows, no Python objects inside.

Dense matrix products are left to BLAS (numpy); the kernels fuse the
elementwise work around them.  Every kernel is ``parallel=True`` over rows with
``prange`` (the random features' gate step over noise levels, which are
independent) and ``cache=True`` so that compilation happens once per machine.
"""

from .features import sine_cosine_features, sine_features
from .gates import gated_gram_sum, update_gates
from .integrators import (
    ancestral_step,
    ddim_step,
    euler_maruyama_step,
    velocity_euler,
    velocity_heun,
)
from .kde import gaussian_kde_log_sum_exp
from .trees import (
    BinnedFeatures,
    BoosterParams,
    EarlyStopping,
    TreeEnsemble,
    bin_codes,
    empty_ensemble,
    fit_boosted_trees,
    no_early_stopping,
    predict_boosted_trees,
    predict_smoothed_trees,
)

__all__ = [
    "sine_features",
    "sine_cosine_features",
    "update_gates",
    "gated_gram_sum",
    "ancestral_step",
    "ddim_step",
    "euler_maruyama_step",
    "velocity_euler",
    "velocity_heun",
    "BinnedFeatures",
    "BoosterParams",
    "EarlyStopping",
    "TreeEnsemble",
    "empty_ensemble",
    "bin_codes",
    "fit_boosted_trees",
    "no_early_stopping",
    "predict_boosted_trees",
    "predict_smoothed_trees",
    "gaussian_kde_log_sum_exp",
]
from .relu import cone_projection_norms, cone_prox, cone_subgradients, relu_features, relu_features_slopes

__all__ += ["relu_features", "relu_features_slopes", "cone_prox", "cone_subgradients", "cone_projection_norms"]
