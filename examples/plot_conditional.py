"""
=========================================================
Completing records and drawing rows of a rare category
=========================================================

Two questions users of synthetic data ask most: "complete this record" and
"give me rows with plan = team".  Every skscore model answers both from its
own conditional law (see :ref:`conditional`): :meth:`~skscore.DiffusionRandomFeatures.impute`
draws the missing entries of each row given its observed ones, several
times for intervals, and ``sample(n, given={...})`` draws rows given some of
their columns.  Here on a customer table with the column types of real data
(:func:`skscore.datasets.make_mixed_table`: a count, a category, a
zero-inflated amount, a share and a score), against scikit-learn's
:class:`~sklearn.impute.IterativeImputer` and against rejection sampling.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer

from skscore import DiffusionRandomFeatures
from skscore.datasets import make_mixed_table

# %%
# The table and the model
# -----------------------
# 3,000 customers to fit on, 300 more whose records we damage.  The
# DataFrame's dtypes declare the plan a category; the count, the bounds and
# the spike of zero spend are declared by name.

frame = make_mixed_table(3300, as_frame=True, random_state=0)
train, test = frame.iloc[:3000], frame.iloc[3000:].reset_index(drop=True)
model = DiffusionRandomFeatures(
    categorical_features="auto",
    integer_features=["visits"],
    bounds={"visits": (0, None), "spend": (0, None), "discount": (0, 1)},
    point_masses={"spend": 0.0},
    random_state=0,
).fit(train)

# %%
# Completing records
# ------------------
# A fifth of the numeric entries of the test rows go missing at random.
# ``impute(n_draws=20)`` returns 20 completed tables: each is a draw from the
# model's conditional law, their mean is a point estimate, and their smallest
# and largest values bound a 90 % prediction interval (a new draw falls
# between the extremes of 20 with probability 19/21).  Observed entries come
# back untouched.

rng = np.random.RandomState(1)
numeric = ["visits", "spend", "discount", "score"]
holes = test.copy()
mask = rng.random_sample((len(test), len(numeric))) < 0.2
for j, column in enumerate(numeric):
    holes.loc[mask[:, j], column] = np.nan

start = time.perf_counter()
draws = model.impute(holes, n_draws=20, random_state=0)
seconds = time.perf_counter() - start
values = np.stack([d[numeric].to_numpy(dtype=float) for d in draws])
truth = test[numeric].to_numpy(dtype=float)
low, high = values.min(axis=0), values.max(axis=0)
covered = (truth >= low) & (truth <= high)
print(f"20 imputations of {mask.sum()} entries in {seconds:.1f} s")
print(f"90 % intervals cover {covered[mask].mean():.0%} of the hidden values")
print(holes.iloc[:3])
print(draws[0].iloc[:3])

# %%
# Against IterativeImputer (Bayesian ridge chains, the plan as its code),
# column by column, in units of each column's standard deviation:
# ``sample_posterior=True`` gives a draw, the default a conditional mean.

codes = holes.assign(plan=holes["plan"].cat.codes)
scale = test[numeric].std().to_numpy()


def mse(filled):
    return ((filled - truth) / scale)[mask] ** 2


ours_draw = mse(values[0]).mean()
ours_mean = mse(values.mean(axis=0)).mean()
posterior = IterativeImputer(sample_posterior=True, random_state=0).fit(codes).transform(codes)
point = IterativeImputer(random_state=0).fit(codes).transform(codes)
cols = [codes.columns.get_loc(c) for c in numeric]
print(f"MSE of a draw:      skscore {ours_draw:.3f}   IterativeImputer(sample_posterior) {mse(posterior[:, cols]).mean():.3f}")
print(f"MSE of a mean:      skscore {ours_mean:.3f}   IterativeImputer {mse(point[:, cols]).mean():.3f}")

# %%
# Typed columns stay typed: imputed visits are whole numbers, spends are
# zero or positive, discounts lie in (0, 1).

filled = draws[0]
print("visits integral:", bool(np.all(filled["visits"] % 1 == 0)))
print("spend >= 0:", bool((filled["spend"] >= 0).all()), " zero share:", round(float((filled["spend"] == 0).mean()), 2))

# %%
# Rows of one category
# --------------------
# The 'team' plan holds 10 % of the customers.  ``sample(n, given=...)``
# draws 1,000 such rows directly; rejection sampling draws unconditional rows
# and keeps the team ones, about ten times as many draws.

start = time.perf_counter()
team = model.sample(1000, given={"plan": "team"}, random_state=0)
conditional_s = time.perf_counter() - start

start, kept, drawn = time.perf_counter(), [], 0
while sum(len(k) for k in kept) < 1000:
    batch = model.sample(2000)
    drawn += len(batch)
    kept.append(batch[batch["plan"] == "team"])
rejection_s = time.perf_counter() - start
print(f"given: 1000 rows in {conditional_s:.1f} s, every one 'team': {bool((team['plan'] == 'team').all())}")
print(f"rejection: {drawn} rows drawn for 1000 in {rejection_s:.1f} s")

real = train[train["plan"] == "team"]
rejected = np.concatenate([k["score"].to_numpy() for k in kept])[:1000]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
bins = np.linspace(-3, 5, 40)
axes[0].hist(real["score"], bins=bins, density=True, alpha=0.5, label="real 'team' rows")
axes[0].hist(team["score"], bins=bins, density=True, histtype="step", lw=2, label="sample(given=...)")
axes[0].hist(rejected, bins=bins, density=True, histtype="step", lw=2, label="rejection")
axes[0].set_xlabel("score")
axes[0].legend(fontsize="small")
bins = np.linspace(0, 60, 40)
axes[1].hist(real["spend"], bins=bins, density=True, alpha=0.5, label="real 'team' rows")
axes[1].hist(team["spend"], bins=bins, density=True, histtype="step", lw=2, label="sample(given=...)")
axes[1].set_xlabel("spend")
fig.suptitle("Rows with plan = 'team'")
fig.tight_layout()
plt.show()
