"""scikit-learn's estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skscore import DiffusionRandomFeatures


# small shapes: the checks fit dozens of times on tiny data
@parametrize_with_checks([DiffusionRandomFeatures(n_features=32, n_steps=8, random_state=0)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
