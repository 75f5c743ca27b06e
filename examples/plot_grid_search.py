"""
=====================================================
Selecting n_features by held-out likelihood
=====================================================

The estimators are ordinary scikit-learn estimators whose ``score`` is the
mean log-likelihood, so :class:`~sklearn.model_selection.GridSearchCV` can
pick hyperparameters by cross-validated likelihood, here inside a
:class:`~sklearn.pipeline.Pipeline`.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skscore import DiffusionRandomFeatures
from skscore.datasets import circle_mixture_2d

# %%
# Data: eight well-separated Gaussians on a circle.

law = circle_mixture_2d()
X_train = law.sample(900, random_state=0)
X_test = law.sample(1000, random_state=1)

# %%
# The pipeline and the search
# ---------------------------
# ``StandardScaler`` is redundant here (the model standardizes internally)
# but shows that the estimator composes with scikit-learn's tools.  The
# pipeline's ``score`` is the model's mean log-likelihood of the *scaled*
# data: it differs from the log-likelihood in the original units by the
# constant log-Jacobian of the scaler, which does not change the ranking of
# the candidates.  The grid is tiny to keep the example fast.

pipe = make_pipeline(
    StandardScaler(),
    DiffusionRandomFeatures(n_steps=20, random_state=0),
)
search = GridSearchCV(
    pipe,
    {"diffusionrandomfeatures__n_features": [16, 64, 128]},
    cv=3,
)
start = time.perf_counter()
search.fit(X_train)
print(f"grid search in {time.perf_counter() - start:.1f} s")
print("best parameters:", search.best_params_)

# %%
# Cross-validated scores
# ----------------------

n_features = [p["diffusionrandomfeatures__n_features"] for p in search.cv_results_["params"]]
mean = search.cv_results_["mean_test_score"]
std = search.cv_results_["std_test_score"]
for n, m, s in zip(n_features, mean, std):
    print(f"n_features={n:4d}: mean log-likelihood {m:7.3f} +/- {s:.3f}")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(n_features, mean, yerr=std, marker="o", capsize=3)
ax.set_xscale("log", base=2)
ax.set_xlabel("n_features")
ax.set_ylabel("CV mean log-likelihood\n(standardized units)")
ax.set_title("GridSearchCV over n_features")
fig.tight_layout()

# %%
# Held-out check
# --------------
# The refitted best pipeline on unseen data.  To compare with a density in
# the original units, add the scaler's log-Jacobian.

scaler = search.best_estimator_.named_steps["standardscaler"]
held_out = search.score(X_test) - np.log(scaler.scale_).sum()
print(f"best model, held-out mean log-likelihood: {held_out:.3f}")
print(f"exact density, held-out mean log-likelihood: {law.logpdf(X_test).mean():.3f}")

plt.show()
