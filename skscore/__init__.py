"""skscore: score-based diffusion density estimators for tabular data.

The estimators are imported on first use (PEP 562), so that ``import
skscore`` and the command line's start stay light until a model is needed:
Numba and the kernels load then.
"""

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "BaseDiffusionDensity": ".base",
    "ConvexTwoLayerScore": ".convex",
    "DiffusionRandomFeatures": ".random_features",
    "GaussianMixturePriorDiffusion": ".mixture_prior",
    "GradientBoostedScore": ".boosted",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'skscore' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
