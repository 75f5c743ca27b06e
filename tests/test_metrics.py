import warnings

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeClassifier
from sklearn.model_selection import PredefinedSplit, StratifiedKFold
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from skscore.metrics import c2st_auc, dcr, energy_distance, mmd, sliced_wasserstein, wasserstein1


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


# --- wasserstein1, mmd, energy_distance, c2st_auc, dcr -----------------------


def test_wasserstein1_of_a_shift_is_the_shift():
    # Any matching costs at least |mean(y_sigma(i) - x_i)| = c; the identity attains it.
    x = np.random.default_rng(0).standard_normal((200, 1))
    y = (x + 1.5)[np.random.default_rng(1).permutation(200)]
    assert wasserstein1(x, y) == pytest.approx(1.5)
    assert wasserstein1(y, x) == pytest.approx(1.5)


def test_wasserstein1_forestdiffusion_protocol_by_hand():
    # Y columns: min (1, 0, 5), range (2, 20, 0) -> third column is constant, not divided.
    # Scaled Y = [[0, 0, 0], [1, 1, 0]]; scaled X = [[-0.5, 0, 0], [0.5, 0.5, 1]].
    # L1 costs: X0-Y0 0.5, X1-Y1 0.5 + 0.5 + 1 = 2 (total 2.5);
    #           X0-Y1 1.5 + 1 = 2.5, X1-Y0 0.5 + 0.5 + 1 = 2 (total 4.5).
    # Optimal matching is the identity: mean cost 2.5 / 2 = 1.25.
    X = [[0.0, 0.0, 5.0], [2.0, 10.0, 6.0]]
    Y = [[1.0, 0.0, 5.0], [3.0, 20.0, 5.0]]
    assert wasserstein1(X, Y, protocol="forestdiffusion") == pytest.approx(1.25)
    # Without the protocol: Euclidean cost on raw data, identity matching again.
    expected = (1.0 + np.sqrt(1.0 + 100.0 + 1.0)) / 2
    assert wasserstein1(X, Y) == pytest.approx(expected)


def test_wasserstein1_refuses_bad_input():
    with pytest.raises(ValueError, match="equal size"):
        wasserstein1(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="same number of columns"):
        wasserstein1(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="protocol"):
        wasserstein1(np.zeros((3, 2)), np.zeros((3, 2)), protocol="other")


def test_mmd_of_a_sample_with_itself_is_zero():
    # equal sizes: the cross term also leaves out i = j, so every pair cancels
    x = np.random.default_rng(0).standard_normal((200, 2))
    assert mmd(x, x) == pytest.approx(0.0, abs=1e-12)
    assert mmd(x, x, bandwidth=0.3) == pytest.approx(0.0, abs=1e-12)


def test_mmd_of_unequal_samples_is_unbiased_on_average():
    # two independent draws of one law: the estimates average to ~0
    rng = np.random.default_rng(1)
    values = [mmd(rng.standard_normal((60, 2)), rng.standard_normal((90, 2)), bandwidth=1.0) for _ in range(200)]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))


def test_mmd_grows_with_a_mean_shift():
    x = np.random.default_rng(0).standard_normal((200, 2))
    y = np.random.default_rng(1).standard_normal((200, 2))
    values = [mmd(x, y + shift) for shift in (0.0, 0.5, 2.0)]
    assert abs(values[0]) < 1e-2
    assert values[0] < values[1] < values[2]
    # a fixed bandwidth works too, and keeps the order
    fixed = [mmd(x, y + shift, bandwidth=1.0) for shift in (0.0, 0.5, 2.0)]
    assert fixed[0] < fixed[1] < fixed[2]


def test_mmd_refuses_bad_bandwidth():
    x = np.random.default_rng(0).standard_normal((10, 2))
    for bad in (0.0, -1.0, "mean"):
        with pytest.raises(ValueError, match="bandwidth"):
            mmd(x, x, bandwidth=bad)


def test_energy_distance_is_zero_for_identical_samples_and_positive_for_a_shift():
    x = np.random.default_rng(0).standard_normal((200, 3))
    assert energy_distance(x, x) == 0.0
    assert energy_distance(x, x[::-1]) == pytest.approx(0.0, abs=1e-12)
    assert energy_distance(x, x + [1.0, 0.0, 0.0]) > 0.1
    # two points: 2 * |0 - 3| - 0 - 0
    assert energy_distance([[0.0]], [[3.0]]) == pytest.approx(6.0)
    with pytest.raises(ValueError, match="same number of columns"):
        energy_distance(np.zeros((3, 2)), np.zeros((3, 3)))


def test_energy_distance_of_a_permutation_is_not_negative():
    # the three rounded means used to cancel to -4.4e-16 for seeds 3 and 6
    for seed in range(10):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((50, 3))
        assert energy_distance(X, X[rng.permutation(50)]) >= 0.0


@pytest.fixture
def one_thread():
    # HistGradientBoosting uses OpenMP; on a small shared machine its threads can
    # spin-wait for busy cores (one run took 30 s instead of 0.6 s). One thread is
    # fast and gives the same result.
    with threadpool_limits(limits=1):
        yield


def test_c2st_auc_same_law_is_near_one_half(one_thread):
    # Over seeds 0..4 this gives 0.45 to 0.55 (0.508 for seed 0): the band +-0.1
    # is about twice the seed-to-seed spread.
    rng = np.random.default_rng(0)
    real = rng.standard_normal((300, 3))
    synthetic = rng.standard_normal((300, 3))
    assert c2st_auc(real, synthetic) == pytest.approx(0.5, abs=0.1)


def test_c2st_auc_separated_samples_is_near_one(one_thread):
    rng = np.random.default_rng(0)
    real = rng.standard_normal((300, 3))
    synthetic = rng.standard_normal((300, 3)) + 3.0
    assert c2st_auc(real, synthetic) > 0.95
    assert c2st_auc(real, synthetic, classifier=LogisticRegression(), cv=3) > 0.95


def test_c2st_auc_warns_when_its_default_classifier_cannot_split(one_thread):
    # 15 + 15 rows in 5 folds leave 24 training rows, fewer than two leaves of
    # 20: the default classifier predicts a constant, even for separated samples
    rng = np.random.default_rng(0)
    real, synthetic = rng.standard_normal((15, 2)), rng.standard_normal((15, 2)) + 5.0
    with pytest.warns(UserWarning, match="cannot split the 24 training rows"):
        assert c2st_auc(real, synthetic) == 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert c2st_auc(real, synthetic, classifier=LogisticRegression()) > 0.95
        # 25 + 25 rows: 40 training rows, two leaves' worth, and it splits
        assert c2st_auc(rng.standard_normal((25, 2)), rng.standard_normal((25, 2)) + 5.0) > 0.9


def test_dcr_copies_and_fresh_draws():
    rng = np.random.default_rng(0)
    train = rng.standard_normal((300, 3))
    holdout = rng.standard_normal((300, 3))
    fresh = rng.standard_normal((300, 3))
    copied = dcr(train, train[:200], holdout)
    assert copied["synthetic_median"] == 0.0
    assert copied["ratio"] == 0.0
    assert copied["share_closer"] == 1.0
    result = dcr(train, fresh, holdout)
    assert set(result) == {"synthetic_median", "holdout_median", "ratio", "share_closer"}
    assert 0.7 < result["ratio"] < 1.4
    assert result["share_closer"] < 0.15


def test_dcr_ties_at_zero_are_exact_in_many_dimensions():
    # past ~15 columns the neighbour search computes |a|^2 - 2 a.b + |b|^2, which gave
    # some copies ~1e-8 instead of 0 and broke the ties (0.145 instead of 0.15 here)
    rng = np.random.default_rng(0)
    train, holdout = (rng.integers(0, 2, (300, 20)).astype(float) for _ in range(2))
    holdout[:100] = train[:100]  # a third of the holdout at distance 0
    assert dcr(train, train, holdout)["share_closer"] == pytest.approx(0.05 / (1 / 3))
    assert dcr(train, holdout, holdout)["share_closer"] == pytest.approx(0.05)


def test_dcr_on_discrete_data_splits_the_ties_at_zero():
    # 300 rows in 10**3 cells: a quarter of the holdout rows copy a training row, so the
    # holdout's 5th percentile is 0, and "closer than it" used to count nothing, copies included
    rng = np.random.default_rng(0)
    train, holdout, fresh = (rng.integers(0, 10, (300, 3)).astype(float) for _ in range(3))
    p0 = np.mean((holdout[:, None, :] == train[None]).all(axis=2).any(axis=1))
    assert p0 > 0.2
    # copies are no closer than those holdout rows: they count as much, 4 times the 0.05 of no copying
    assert dcr(train, train, holdout)["share_closer"] == pytest.approx(0.05 / p0)
    assert dcr(train, holdout, holdout)["share_closer"] == pytest.approx(0.05)
    # over seeds the share of fresh draws spreads by 0.007 around 0.05
    assert dcr(train, fresh, holdout)["share_closer"] == pytest.approx(0.05, abs=0.02)


def test_dcr_standardizes_with_training_scale():
    # Multiplying a column by 1000 everywhere changes nothing after standardization.
    rng = np.random.default_rng(0)
    train, synthetic, holdout = (rng.standard_normal((100, 2)) for _ in range(3))
    scale = np.array([1.0, 1000.0])
    a = dcr(train, synthetic, holdout)
    b = dcr(train * scale, synthetic * scale, holdout * scale)
    assert b["ratio"] == pytest.approx(a["ratio"])
    with pytest.raises(ValueError, match="same number of columns"):
        dcr(train, synthetic, np.zeros((3, 3)))


# --- argument checking (issue 17, item 10) -------------------------------------


class _PredictOnly:
    """A classifier with neither predict_proba nor decision_function."""

    _estimator_type = "classifier"

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


_X = np.random.default_rng(0).standard_normal((20, 2))
_Y = np.random.default_rng(1).standard_normal((20, 2)) + 1.0


@pytest.mark.parametrize(
    "function, kwargs, name",
    [
        (sliced_wasserstein, {"n_projections": 0}, "n_projections"),
        (sliced_wasserstein, {"n_projections": 2.5}, "n_projections"),
        (sliced_wasserstein, {"n_projections": True}, "n_projections"),
        (sliced_wasserstein, {"p": -1}, "'p'"),
        (sliced_wasserstein, {"p": 0}, "'p'"),
        (sliced_wasserstein, {"p": 0.5}, "'p'"),
        (sliced_wasserstein, {"p": "2"}, "'p'"),
        (sliced_wasserstein, {"p": np.inf}, "'p'"),
        (sliced_wasserstein, {"p": np.nan}, "'p'"),
        (sliced_wasserstein, {"p": True}, "'p'"),
        (sliced_wasserstein, {"random_state": "a"}, "random_state"),
        (wasserstein1, {"protocol": 1}, "protocol"),
        (mmd, {"bandwidth": True}, "bandwidth"),
        (mmd, {"bandwidth": np.inf}, "bandwidth"),
        (mmd, {"bandwidth": "mean"}, "bandwidth"),
        (c2st_auc, {"cv": 1}, "cv"),
        (c2st_auc, {"cv": 2.5}, "cv"),
        (c2st_auc, {"cv": True}, "cv"),
        (c2st_auc, {"cv": "5"}, "cv"),
        (c2st_auc, {"random_state": -1}, "random_state"),
        (c2st_auc, {"classifier": _PredictOnly()}, "classifier"),
        (c2st_auc, {"classifier": LogisticRegression}, "classifier"),
        (c2st_auc, {"classifier": LinearRegression()}, "classifier"),
    ],
)
def test_bad_parameters_are_refused_by_name(function, kwargs, name):
    with pytest.raises(ValueError, match=name):
        function(_X, _Y, **kwargs)


def test_c2st_auc_names_a_bad_parameter_of_the_classifier():
    # used to return NaN after a warning per fold
    with pytest.raises(ValueError, match="LogisticRegression"):
        c2st_auc(_X, _Y, classifier=LogisticRegression(C=-1.0))


def test_c2st_auc_with_decision_function_only_or_a_splitter(one_thread):
    rng = np.random.default_rng(0)
    real = rng.standard_normal((90, 3))
    synthetic = rng.standard_normal((90, 3)) + 3.0
    assert c2st_auc(real, synthetic, classifier=RidgeClassifier()) > 0.95
    assert c2st_auc(real, synthetic, classifier=LinearSVC(), cv=StratifiedKFold(3)) > 0.95


def test_c2st_auc_refuses_folds_it_cannot_score():
    # too few rows for the folds
    with pytest.raises(ValueError, match="at least 5 rows"):
        c2st_auc(_X, _Y[:4], classifier=LogisticRegression())
    # a test fold of real rows only: the AUC is undefined (it was NaN)
    only_real = PredefinedSplit([0] * 5 + [-1] * 35)
    with pytest.warns(UndefinedMetricWarning), pytest.raises(ValueError, match="one sample"):
        c2st_auc(_X, _Y, classifier=LogisticRegression(), cv=only_real)


# each metric on two samples, and the name of its second sample
_CALLS = {
    "sliced_wasserstein": (lambda X, Y: sliced_wasserstein(X, Y), "Y"),
    "wasserstein1": (lambda X, Y: wasserstein1(X, Y), "Y"),
    "mmd": (lambda X, Y: mmd(X, Y), "Y"),
    "energy_distance": (lambda X, Y: energy_distance(X, Y), "Y"),
    "c2st_auc": (lambda X, Y: c2st_auc(X, Y, classifier=LogisticRegression()), "X_synthetic"),
    "dcr": (lambda X, Y: dcr(X, Y, Y), "X_synthetic"),
}


@pytest.mark.parametrize("call", [call for call, _ in _CALLS.values()], ids=list(_CALLS))
def test_bad_data_are_refused(call):
    with pytest.raises(ValueError, match="NaN"):
        call(np.where(np.eye(20, 2) > 0, np.nan, _X), _Y)
    with pytest.raises(ValueError, match="infinity"):
        call(_X, np.where(np.eye(20, 2) > 0, np.inf, _Y))
    with pytest.raises(ValueError, match="expected a 2-D array"):
        call(_X[:, 0], _Y)
    with pytest.raises(ValueError, match="same number of columns"):
        call(_X, _Y[:, :1])


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 2)), _Y[:, 0], [["a", "b"]] * 20, [[0.0, 1.0]] * 19 + [[0.0]], np.zeros((20, 2, 1))],
    ids=["empty", "1-D", "text", "ragged", "3-D"],
)
@pytest.mark.parametrize("name", list(_CALLS))
def test_bad_data_are_refused_by_name(name, bad):
    # these messages came from numpy or scikit-learn without the argument's name
    call, argument = _CALLS[name]
    with pytest.raises(ValueError, match=f"^{argument}: "):
        call(_X, bad)


# --- huge and tiny values -------------------------------------------------------

_SCALED = {
    "sliced_wasserstein": (lambda X, Y, H, c: sliced_wasserstein(X, Y, n_projections=50), 1),
    "sliced_wasserstein_p1.5": (lambda X, Y, H, c: sliced_wasserstein(X, Y, n_projections=50, p=1.5), 1),
    "wasserstein1": (lambda X, Y, H, c: wasserstein1(X, Y), 1),
    "wasserstein1_forestdiffusion": (lambda X, Y, H, c: wasserstein1(X, Y, protocol="forestdiffusion"), 0),
    "mmd_median": (lambda X, Y, H, c: mmd(X, Y), 0),
    "mmd_fixed": (lambda X, Y, H, c: mmd(X, Y, bandwidth=1.5 * c), 0),
    "energy_distance": (lambda X, Y, H, c: energy_distance(X, Y), 1),
    "c2st_auc": (lambda X, Y, H, c: c2st_auc(X, Y, cv=3), 0),
    "c2st_auc_logistic": (lambda X, Y, H, c: c2st_auc(X, Y, classifier=LogisticRegression(), cv=3), 0),
    "dcr": (lambda X, Y, H, c: dcr(X, Y, H), 0),
}


@pytest.mark.parametrize("c", [1e-300, 1e-150, 1e150, 1e160, 1e300])
@pytest.mark.parametrize("name", list(_SCALED))
def test_metrics_are_homogeneous_at_any_magnitude(name, c, one_thread):
    # metric(c X, c Y) == c**k metric(X, Y); it used to give inf, NaN, 0 or
    # "cost matrix is infeasible" far from 1
    call, k = _SCALED[name]
    rng = np.random.default_rng(0)
    X, Y, H = rng.standard_normal((40, 2)), rng.standard_normal((40, 2)) + 0.7, rng.standard_normal((40, 2))
    expected, got = call(X, Y, H, 1.0), call(c * X, c * Y, c * H, c)
    if isinstance(expected, dict):
        assert got == pytest.approx(expected, rel=1e-9)
    else:
        assert np.isfinite(got)
        assert got / c**k == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "call",
    [
        lambda: sliced_wasserstein([[1.7e308]], [[-1.7e308]]),
        lambda: wasserstein1([[1.7e308]], [[-1.7e308]]),
        lambda: wasserstein1([[1e308], [0.0]], [[0.0], [1e-300]], protocol="forestdiffusion"),
        lambda: energy_distance([[1.7e308]], [[-1.7e308]]),
        lambda: dcr([[0.0], [1e-300]], [[1e300]], [[0.0]]),
    ],
    ids=["sliced_wasserstein", "wasserstein1", "wasserstein1_forestdiffusion", "energy_distance", "dcr"],
)
def test_results_beyond_float64_are_refused(call):
    with pytest.raises(ValueError, match="overflow"):
        call()


def test_sliced_wasserstein_of_high_order_is_finite_and_increasing_in_p():
    # |gap| ** 1000 used to overflow; SW_p is a power mean, nondecreasing in p
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((100, 2)), 3.0 * rng.standard_normal((100, 2))
    values = [sliced_wasserstein(x, y, n_projections=50, p=p) for p in (1, 2, 10, 1000, 1e6)]
    assert np.all(np.isfinite(values))
    assert np.all(np.diff(values) >= -1e-12)
    assert values[-1] <= 4 * np.abs(np.vstack([x, y])).max()
