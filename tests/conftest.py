import sys
from pathlib import Path

import numpy as np
import pytest

from skscore.datasets import mixture_2d

sys.path.insert(0, str(Path(__file__).parent))


def grid_mass(model, lows, highs, n_grid):
    """Sum of exp(score_samples) over a regular 2-D grid times the cell area."""
    xs = np.linspace(lows[0], highs[0], n_grid)
    ys = np.linspace(lows[1], highs[1], n_grid)
    grid = np.column_stack([g.ravel() for g in np.meshgrid(xs, ys)])
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    return float(np.sum(np.exp(model.score_samples(grid))) * cell)


@pytest.fixture(scope="module")
def data_2d():
    """600 draws of the 2-D known-answer mixture, shared by the model test files."""
    return mixture_2d().sample(600, random_state=0)


@pytest.fixture
def grid_mass_fn():
    return grid_mass
