import numpy as np
import pytest

from skscore.metrics import sliced_wasserstein


def test_shift_in_one_dimension_is_the_shift():
    x = np.random.default_rng(0).standard_normal((500, 1))
    assert sliced_wasserstein(x, x + 2.5) == pytest.approx(2.5)
    assert sliced_wasserstein(x, x + 2.5, p=1) == pytest.approx(2.5)


def test_identical_samples_are_at_distance_zero():
    x = np.random.default_rng(0).standard_normal((100, 3))
    assert sliced_wasserstein(x, x[::-1]) == pytest.approx(0.0, abs=1e-12)


def test_unequal_sizes_are_exact_in_one_dimension():
    # {0, 1} against {0, 0.5, 1}: quantile functions differ by 0.5 on a third of [0, 1]
    assert sliced_wasserstein([[0.0], [1.0]], [[0.0], [0.5], [1.0]], p=1) == pytest.approx(1 / 6)


def test_column_mismatch_is_refused():
    with pytest.raises(ValueError, match="same number of columns"):
        sliced_wasserstein(np.zeros((3, 2)), np.zeros((3, 3)))
