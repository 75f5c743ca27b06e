"""scikit-learn's estimator checks on every estimator, with no expected failures;
and what every estimator promises beyond them."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from skscore import (
    ConvexTwoLayerScore,
    DiffusionRandomFeatures,
    GaussianMixturePriorDiffusion,
    GradientBoostedScore,
)

# small shapes: the checks fit dozens of times on tiny data (the mixture's many
# small component fits are fastest on one thread)
ESTIMATORS = [
    DiffusionRandomFeatures(n_features=32, n_steps=8, random_state=0),
    GaussianMixturePriorDiffusion(
        n_components=2, predictor=DiffusionRandomFeatures(n_features=16), n_steps=6, n_jobs=1, random_state=0
    ),
    ConvexTwoLayerScore(n_gates=4, n_steps=6, random_state=0),
    GradientBoostedScore(n_noise_levels=4, duplicate_K=2, max_iter=3, max_leaf_nodes=4, n_density_samples=40, random_state=0),
]
IDS = [type(e).__name__ for e in ESTIMATORS]
# a parameter value each estimator refuses, and what the error must say
BAD_PARAMETERS = {
    "DiffusionRandomFeatures": ({"n_features": 0}, "n_features"),
    "GaussianMixturePriorDiffusion": ({"n_components": 0}, "n_components"),
    "ConvexTwoLayerScore": ({"beta": -1.0}, "beta"),
    "GradientBoostedScore": ({"learning_rate": 0.0}, "learning_rate"),
}
# parameters that are only found wrong once the data are seen
BAD_FOR_THE_DATA = {
    "DiffusionRandomFeatures": ({"integer_features": [0]}, "declared integer"),
    "GaussianMixturePriorDiffusion": ({"n_components": 10_000}, "exceeds the number of training rows"),
    "ConvexTwoLayerScore": ({"objective": "sm"}, "1-D"),
    "GradientBoostedScore": ({"bounds": {0: (10.0, 20.0)}}, "outside its bounds"),
}


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    # with these shapes every convex program converges: a ConvergenceWarning is an error here
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((120, 2)) @ np.array([[1.0, 0.4], [0.0, 0.7]]) + np.array([3.0, -1.0])


@pytest.fixture(scope="module")
def fitted(data):
    return {type(e).__name__: clone(e).fit(data) for e in ESTIMATORS}


def _outputs(model, X):
    return model.sample(10, random_state=0), model.score_samples(X)


@pytest.mark.parametrize("name", IDS)
@pytest.mark.parametrize("bad", [BAD_PARAMETERS, BAD_FOR_THE_DATA], ids=["parameter", "parameter-for-data"])
def test_failed_refit_leaves_the_previous_fit_intact(fitted, data, name, bad):
    model = pickle.loads(pickle.dumps(fitted[name]))
    before = _outputs(model, data[:5])
    attributes = set(vars(model))
    params, message = bad[name]
    (param, value), = params.items()
    model.set_params(**{param: value})
    with pytest.raises(ValueError, match=message):
        model.fit(data + 100.0)
    assert set(vars(model)) == attributes
    model.set_params(**{param: clone(fitted[name]).get_params()[param]})
    after = _outputs(model, data[:5])
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])


@pytest.mark.parametrize("name", IDS)
def test_failed_refit_keeps_a_dataframes_columns(name):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"height": np.linspace(1.0, 2.0, 80), "weight": np.linspace(50.0, 90.0, 80) ** 1.1})
    model = clone(dict(zip(IDS, ESTIMATORS))[name]).fit(frame)
    params, message = BAD_PARAMETERS[name]
    with pytest.raises(ValueError, match=message):
        model.set_params(**params).fit(frame.to_numpy())
    samples = model.sample(3, random_state=0)
    assert list(samples.columns) == ["height", "weight"]
    np.testing.assert_array_equal(model.feature_names_in_, ["height", "weight"])
