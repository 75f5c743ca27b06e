"""skscore: score-based diffusion density estimators for tabular data."""

from .base import BaseDiffusionDensity
from .boosted import GradientBoostedScore
from .convex import ConvexTwoLayerScore
from .mixture_prior import GaussianMixturePriorDiffusion
from .random_features import DiffusionRandomFeatures

__version__ = "0.1.0"

__all__ = [
    "BaseDiffusionDensity",
    "ConvexTwoLayerScore",
    "DiffusionRandomFeatures",
    "GaussianMixturePriorDiffusion",
    "GradientBoostedScore",
    "__version__",
]
