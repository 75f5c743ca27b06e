"""
==========================================
Density estimation on a 2-D toy mixture
==========================================

Fit :class:`~skscore.DiffusionRandomFeatures` to a mixture of three Gaussians
whose density is known exactly, draw samples from it, plot its log-density,
and compare its held-out log-likelihood with those of scikit-learn's
:class:`~sklearn.mixture.GaussianMixture` and
:class:`~sklearn.neighbors.KernelDensity`.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KernelDensity

from skscore import DiffusionRandomFeatures
from skscore.datasets import mixture_2d
from skscore.metrics import sliced_wasserstein

# %%
# Data
# ----
# :func:`skscore.datasets.mixture_2d` is a known law: we can sample from it
# and evaluate its exact log-density, the best score any model can reach.

law = mixture_2d()
X_train = law.sample(3000, random_state=0)
X_test = law.sample(1000, random_state=1)

# %%
# Fit the diffusion model
# -----------------------
# A small model: 128 random features and 30 noise levels.  The columns are
# standardized internally, so the data need no preprocessing.

start = time.perf_counter()
model = DiffusionRandomFeatures(n_features=128, n_steps=30, random_state=0)
model.fit(X_train)
print(f"fit in {time.perf_counter() - start:.1f} s, training loss {model.loss_curve_[-1]:.3f}")

# %%
# Samples
# -------
# With the default ``sampler='heun'`` the samples come from the same
# distribution whose density ``score_samples`` reports.

samples = model.sample(2000, random_state=0)  # the first 1000 are plotted

fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharex=True, sharey=True)
axes[0].scatter(*X_test.T, s=3, alpha=0.5, color="tab:blue")
axes[0].set_title("Held-out data")
axes[1].scatter(*samples[:1000].T, s=3, alpha=0.5, color="tab:orange")
axes[1].set_title("DiffusionRandomFeatures samples")
for ax in axes:
    ax.set_aspect("equal")
fig.tight_layout()

# %%
# Log-density
# -----------
# ``score_samples`` evaluates the model's log-density on a grid, by the
# instantaneous change of variables along the probability-flow ODE.  The
# dashed lines are the contours of the exact log-density at the same levels.

grid = np.linspace(-5.0, 4.5, 60)
xx, yy = np.meshgrid(grid, grid)
points = np.column_stack([xx.ravel(), yy.ravel()])
log_density = model.score_samples(points).reshape(xx.shape)
exact = law.logpdf(points).reshape(xx.shape)

levels = np.arange(-9.0, 0.5, 1.0)
fig, ax = plt.subplots(figsize=(5.5, 4.8))
filled = ax.contourf(xx, yy, np.maximum(log_density, levels[0]), levels=levels, cmap="viridis")
ax.contour(xx, yy, exact, levels=levels, colors="white", linestyles="dashed", linewidths=0.7)
fig.colorbar(filled, ax=ax, label="log-density")
ax.set_title("Model log-density (filled) and exact (dashed)")
ax.set_aspect("equal")
fig.tight_layout()

# %%
# Held-out log-likelihood
# -----------------------
# ``score`` is the mean log-likelihood, as for ``GaussianMixture``
# (``KernelDensity.score`` returns the sum, hence the division below).  The
# data are a mixture of three Gaussians, so a three-component
# ``GaussianMixture`` is essentially the true model here: it is the reference
# to beat, not a weak baseline.

gmm = GaussianMixture(n_components=3, random_state=0).fit(X_train)
kde = KernelDensity(bandwidth="scott").fit(X_train)

results = {
    "exact density": law.logpdf(X_test).mean(),
    "DiffusionRandomFeatures": model.score(X_test),
    "GaussianMixture(3)": gmm.score(X_test),
    "KernelDensity (Scott)": kde.score(X_test) / len(X_test),
}
print(f"{'model':<26}held-out mean log-likelihood")
for name, value in results.items():
    print(f"{name:<26}{value:8.3f}")

# %%
# Sample quality
# --------------
# The sliced Wasserstein distance between generated rows and held-out data;
# the reference is the distance between two independent samples of the true
# law of the same sizes.

reference = sliced_wasserstein(law.sample(2000, random_state=2), X_test)
print(f"sliced Wasserstein, model samples vs test: {sliced_wasserstein(samples, X_test):.3f}")
print(f"sliced Wasserstein, exact samples vs test: {reference:.3f}")

plt.show()
