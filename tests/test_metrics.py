import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
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
