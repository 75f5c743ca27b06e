"""
==============================================
Synthetic tabular data: measuring the samples
==============================================

Generate synthetic rows of scikit-learn's wine data (178 wines, 13 chemical
measurements) with :class:`~skscore.DiffusionRandomFeatures` and with two
classical density estimators, :class:`~sklearn.mixture.GaussianMixture` and
:class:`~sklearn.neighbors.KernelDensity`, and measure each generator against
held-out rows with the metrics of :mod:`skscore.metrics`: held-out
log-likelihood, sliced Wasserstein and exact 1-Wasserstein distances, a
classifier two-sample test and the distance to the closest record.  The
protocol is that of ``python -m skscore benchmark`` (see
:ref:`command_line`); :ref:`metrics` explains how to read each number.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skscore import DiffusionRandomFeatures
from skscore.metrics import c2st_auc, dcr, sliced_wasserstein, wasserstein1

# %%
# Data
# ----
# A 70/30 train/test split: the models see only the training rows, and every
# metric compares their samples with the test rows they never saw.

wine = load_wine()
X, columns = wine.data, wine.feature_names
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
print(f"{X_train.shape[0]} training rows, {X_test.shape[0]} test rows, {X.shape[1]} columns")

# %%
# The three generators
# --------------------
# :class:`~skscore.DiffusionRandomFeatures` with its default
# hyperparameters; it standardizes the columns internally.
#
# ``GaussianMixture`` with full covariances and its number of components
# (1 to 6) chosen by the BIC on the training rows.
#
# ``KernelDensity`` with one bandwidth for all columns, which only makes
# sense once the columns share a scale (the wine columns range from below 1
# to above 1000): it is fitted on standardized data, with its bandwidth
# chosen by 5-fold cross-validated likelihood, and its samples and
# log-densities are mapped back to the units of the data.

scaler = StandardScaler().fit(X_train)  # the train scaler, used throughout
log_jacobian = np.log(scaler.scale_).sum()

timings = {}

start = time.perf_counter()
drf = DiffusionRandomFeatures(random_state=0).fit(X_train)
timings["DiffusionRandomFeatures"] = time.perf_counter() - start

start = time.perf_counter()
mixtures = [
    GaussianMixture(k, covariance_type="full", random_state=0).fit(X_train)
    for k in range(1, 7)
]
gmm = min(mixtures, key=lambda m: m.bic(X_train))
timings["GaussianMixture"] = time.perf_counter() - start
print(f"GaussianMixture: {gmm.n_components} component(s) by BIC")

start = time.perf_counter()
search = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-1.5, 0.5, 20)}, cv=5)
kde = search.fit(scaler.transform(X_train)).best_estimator_
timings["KernelDensity"] = time.perf_counter() - start
print(f"KernelDensity: bandwidth {kde.bandwidth:.3f} (standardized units) by 5-fold CV")

# %%
# Each generator draws as many rows as the test set has (the exact
# 1-Wasserstein distance matches rows one to one, so it needs equal sizes),
# and evaluates its log-density, in the units of the data, at the test rows.

n_test = X_test.shape[0]
synthetic = {
    "DiffusionRandomFeatures": drf.sample(n_test, random_state=0),
    "GaussianMixture": gmm.sample(n_test)[0],
    "KernelDensity": scaler.inverse_transform(kde.sample(n_test, random_state=0)),
}
log_likelihood = {
    "DiffusionRandomFeatures": drf.score(X_test),
    "GaussianMixture": gmm.score(X_test),
    "KernelDensity": kde.score_samples(scaler.transform(X_test)).mean() - log_jacobian,
}

# %%
# The metrics
# -----------
# - **test log-lik**: mean held-out log-density (higher is better);
# - **SW**: sliced Wasserstein distance to the test rows, both standardized
#   with the train scaler (lower is better);
# - **W1**: exact 1-Wasserstein distance under ForestDiffusion's protocol
#   (min-max scaling by the test rows, L1 cost; lower is better);
# - **c2st AUC**: cross-validated ROC AUC of a classifier telling test rows
#   from synthetic rows, on standardized data (0.5: indistinguishable);
# - **DCR ratio**: median distance of a synthetic row to its closest training
#   row over the same for a test row (near 1: no sign of copying; well
#   below 1: memorization).
#
# For scale, the last row makes the same measurements for a *real* sample
# independent of the test rows: 54 training rows drawn at random.  Their
# DCR ratio would be 0 by construction (every training row is its own
# closest record), so it is left out.

rng = np.random.default_rng(0)
real_subsample = X_train[rng.choice(X_train.shape[0], n_test, replace=False)]
Z_test = scaler.transform(X_test)

rows = []
# On a hundred rows, the gradient-boosting classifier of ``c2st_auc`` is
# fastest on one OpenMP thread (and stays fast on a busy machine).
with threadpool_limits(limits=1, user_api="openmp"):
    for name, samples in synthetic.items():
        Z = scaler.transform(samples)
        rows.append(
            (
                name,
                log_likelihood[name],
                sliced_wasserstein(Z, Z_test),
                wasserstein1(samples, X_test, protocol="forestdiffusion"),
                c2st_auc(Z_test, Z),
                dcr(X_train, samples, X_test)["ratio"],
                timings[name],
            )
        )
    Z_real = scaler.transform(real_subsample)
    rows.append(
        (
            "(training rows)",
            np.nan,
            sliced_wasserstein(Z_real, Z_test),
            wasserstein1(real_subsample, X_test, protocol="forestdiffusion"),
            c2st_auc(Z_test, Z_real),
            np.nan,
            np.nan,
        )
    )

header = ("model", "test log-lik", "SW", "W1", "c2st AUC", "DCR ratio", "fit s")
print(f"{header[0]:<24}" + "".join(f"{h:>13}" for h in header[1:]))
for name, *values in rows:
    cells = "".join("{:>13}".format("-" if np.isnan(v) else f"{v:.3f}") for v in values)
    print(f"{name:<24}{cells}")

# %%
# A few things to keep in mind when reading the table.  With 54 test rows,
# every metric is noisy: differences in the second decimal of the AUC or of
# the distances are not meaningful, and the reference row shows how far
# apart two real samples already are.  The log-likelihood rewards a model
# that puts mass everywhere the test rows are; the distances and the
# classifier look at the samples only, so a model can win on one and lose on
# the other.  The DCR ratio is about privacy, not fidelity: a ratio near 1
# says that the synthetic rows are no closer to the training rows than new
# real rows are.

# %%
# Real and synthetic rows
# -----------------------
# Two of the 13 columns, alcohol and color intensity, for the test rows
# (blue) and each model's samples (orange).  The scatter plots show only a
# two-dimensional projection of what the metrics above measure in all 13
# dimensions.  A few synthetic wines have a color intensity near or below
# zero, which no real wine has: none of these models knows that the column
# is positive, and a classifier two-sample test can pick up such rows.

i, j = 0, 9  # alcohol, color_intensity
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), sharex=True, sharey=True)
for ax, (name, samples) in zip(axes, synthetic.items()):
    ax.scatter(X_test[:, i], X_test[:, j], s=12, alpha=0.7, color="tab:blue", label="test rows")
    ax.scatter(samples[:, i], samples[:, j], s=12, alpha=0.7, color="tab:orange", label="synthetic")
    ax.set_title(name)
    ax.set_xlabel(columns[i])
axes[0].set_ylabel(columns[j])
axes[0].legend(loc="upper left")
fig.tight_layout()

plt.show()
