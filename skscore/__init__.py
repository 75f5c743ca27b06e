"""skscore: score-based diffusion density estimators for tabular data."""

from .base import BaseDiffusionDensity
from .random_features import DiffusionRandomFeatures

__version__ = "0.1.0"

__all__ = ["BaseDiffusionDensity", "DiffusionRandomFeatures", "__version__"]
