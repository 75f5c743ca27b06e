import numpy as np
import pytest

from skscore.datasets import (
    DATASETS,
    circle_mixture_2d,
    correlated_mixture_8d,
    load_dataset,
    make_checkerboard,
    make_moons,
    make_rings,
    mixture_2d,
)


@pytest.mark.parametrize("law", [mixture_2d(), correlated_mixture_8d(), circle_mixture_2d()])
def test_mixture_law_is_a_normalized_density_with_its_score(law):
    X = law.sample(2000, random_state=0)
    # the sample mean of the log-density estimates minus the entropy: compare with a Monte Carlo of itself
    assert np.all(np.isfinite(law.logpdf(X)))
    eps = 1e-5
    x = X[:5]
    numerical = np.array(
        [(law.logpdf(x + eps * e) - law.logpdf(x - eps * e)) / (2 * eps) for e in np.eye(law.n_features)]
    ).T
    np.testing.assert_allclose(law.score(x), numerical, rtol=1e-5, atol=1e-6)
    score, div = law.score_divergence(x)
    numerical_div = sum(
        (law.score(x + eps * e)[:, j] - law.score(x - eps * e)[:, j]) / (2 * eps) for j, e in enumerate(np.eye(law.n_features))
    )
    np.testing.assert_allclose(div, numerical_div, rtol=1e-4, atol=1e-5)


def test_two_dimensional_law_integrates_to_one():
    law = mixture_2d()
    xs = np.linspace(-7, 6, 400)
    grid = np.column_stack([g.ravel() for g in np.meshgrid(xs, xs)])
    assert np.exp(law.logpdf(grid)).sum() * (xs[1] - xs[0]) ** 2 == pytest.approx(1.0, abs=1e-3)


def test_toy_generators():
    rings = make_rings(4000, n_rings=3, noise=0.01, random_state=0)
    assert set(np.round(np.linalg.norm(rings, axis=1)).astype(int)) == {1, 2, 3}
    board = make_checkerboard(1000, random_state=0)
    assert board.shape == (1000, 2) and np.all(np.abs(board) <= 2)
    cells = np.floor(board + 2).astype(int)
    assert np.all(cells.sum(axis=1) % 2 == 0)
    moons = make_moons(100, random_state=0)
    assert moons.shape == (100, 2) and moons.dtype == np.float64
    np.testing.assert_array_equal(make_rings(50, random_state=1), make_rings(50, random_state=1))


@pytest.mark.parametrize("name", DATASETS)
def test_bundled_datasets_are_float_arrays(name):
    X = load_dataset(name)
    assert X.dtype == np.float64 and X.ndim == 2 and X.shape[0] > 100


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="Unknown dataset"):
        load_dataset("mnist")
