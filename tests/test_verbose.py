"""``verbose``: scikit-learn's progress parameter on every estimator, and ``--verbose`` on the command line."""

import functools
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from skscore import (
    ConvexTwoLayerScore,
    DiffusionRandomFeatures,
    GaussianMixturePriorDiffusion,
    GradientBoostedScore,
    cli,
)

# small shapes: every model fits in a fraction of a second once compiled
ESTIMATORS = {
    "DiffusionRandomFeatures": DiffusionRandomFeatures(n_features=16, n_steps=10, max_iter=2, tol=0, random_state=0),
    "GaussianMixturePriorDiffusion": GaussianMixturePriorDiffusion(
        n_components=2, predictor=DiffusionRandomFeatures(n_features=16, max_iter=1), n_steps=4, n_jobs=1, random_state=0
    ),
    "ConvexTwoLayerScore": ConvexTwoLayerScore(n_gates=4, n_steps=6, noise_levels=3, random_state=0),
    "GradientBoostedScore": GradientBoostedScore(
        n_noise_levels=4, duplicate_K=2, max_iter=3, max_leaf_nodes=4, n_density_samples=40, random_state=0
    ),
}
NAMES = list(ESTIMATORS)
# the stage lines that verbose=1 must print, one per stage (the model has these stages)
STAGES = {
    "DiffusionRandomFeatures": [r"statistics of levels 1-2 of 10"]
    + [rf"statistics of levels {k}-{k + 1} of 10" for k in (3, 5, 7, 9)]
    + [r"ridge solve", r"alternation 2 of at most 2"],
    "GaussianMixturePriorDiffusion": [r"prior: 2 components", r"component 1 of 2: \d+ rows", r"component 2 of 2: \d+ rows"],
    "ConvexTwoLayerScore": [rf"level {k} of 6 \(program {i} of 3\): \d+ patterns" for i, k in ((1, 1), (2, 3), (3, 6))],
    "GradientBoostedScore": [rf"level {k} of 4: linear map and [0-3] trees" for k in (1, 2, 3, 4)],
}
ELAPSED = r"\(\d+\.\d s\)$"


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    centres = np.array([[-2.0, 0.0], [2.0, 1.0]])
    return centres[rng.integers(0, 2, 120)] + 0.5 * rng.standard_normal((120, 2))


@pytest.fixture(scope="module")
def quiet_models(X):
    return {name: clone(model).fit(X) for name, model in ESTIMATORS.items()}


def _outputs(model, X):
    return model.sample(20, random_state=0), model.score_samples(X[:10])


@pytest.mark.parametrize("name", NAMES)
def test_silent_by_default_and_one_line_per_stage_at_1(name, X, quiet_models, capsys):
    assert ESTIMATORS[name].get_params()["verbose"] == 0
    capsys.readouterr()
    clone(ESTIMATORS[name]).fit(X)
    assert capsys.readouterr().out == ""

    model = clone(ESTIMATORS[name]).set_params(verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert lines, "verbose=1 printed nothing"
    for line in lines:  # every line names the model and the seconds since fit began
        assert line.startswith(f"[{name}] ") and re.search(ELAPSED, line), line
    for stage in STAGES[name]:
        assert sum(bool(re.search(stage, line)) for line in lines) == 1, (stage, lines)
    assert lines[-1].startswith(f"[{name}] fit done")
    # whatever verbose, the same model: bit for bit the same draws and densities
    for got, expected in zip(_outputs(model, X), _outputs(quiet_models[name], X)):
        np.testing.assert_array_equal(got, expected)


def test_hard_split_trees_report_their_kernel_density(X, capsys):
    # the smoothed trees (default) score with the flow and draw nothing at the
    # end of fit; the hard splits still fit a kernel density of model draws
    capsys.readouterr()
    model = clone(ESTIMATORS["GradientBoostedScore"]).set_params(verbose=1, split_smoothing=None).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert sum("kernel density estimate" in line for line in lines) == 1, lines
    clone(model).set_params(split_smoothing=0.25).fit(X)
    assert "kernel density estimate" not in capsys.readouterr().out


@pytest.mark.parametrize("name", ["GaussianMixturePriorDiffusion", "ConvexTwoLayerScore"])
def test_verbose_2_adds_detail(name, X, quiet_models, capsys):
    capsys.readouterr()
    model = clone(ESTIMATORS[name]).set_params(verbose=2).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert all(re.search(ELAPSED, line) for line in lines)
    if name == "GaussianMixturePriorDiffusion":
        # the component fits report at verbose - 1 = 1, named after their component
        assert any(line.startswith("[GaussianMixturePriorDiffusion component 1: DiffusionRandomFeatures] ") for line in lines)
        assert any(", validation trial: DiffusionRandomFeatures] " in line for line in lines)
        assert model._component_model(np.random.RandomState(0), "component 1").verbose == 1
    else:  # the rounds of the solver
        assert any("round to a relative KKT residual" in line for line in lines)
    for got, expected in zip(_outputs(model, X), _outputs(quiet_models[name], X)):
        np.testing.assert_array_equal(got, expected)


def test_component_fits_are_quiet_at_1(X, capsys):
    capsys.readouterr()
    model = clone(ESTIMATORS["GaussianMixturePriorDiffusion"]).set_params(verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith("[GaussianMixturePriorDiffusion] ") for line in lines)
    assert model._component_model(np.random.RandomState(0), "component 1").verbose == 0


@pytest.mark.parametrize("name", NAMES)
def test_verbose_is_a_parameter(name):
    model = clone(ESTIMATORS[name]).set_params(verbose=3)
    assert model.get_params()["verbose"] == 3
    assert clone(model).verbose == 3
    assert "verbose=3" in repr(model)
    # the numpydoc Parameters section lists it (shared text, after n_particles)
    doc = type(model).__doc__
    assert doc.index("    n_particles : int") < doc.index("    verbose : int, default=0") < doc.index("    Attributes\n")


def test_verbose_values(X, capsys):
    # scikit-learn's 'verbose' constraint: a non-negative int or a boolean (True prints like 1)
    model = clone(ESTIMATORS["DiffusionRandomFeatures"])
    capsys.readouterr()
    model.set_params(verbose=True).fit(X)
    assert "[DiffusionRandomFeatures] fit done" in capsys.readouterr().out
    with pytest.raises(InvalidParameterError, match="verbose"):
        model.set_params(verbose=-1).fit(X)
    with pytest.raises(InvalidParameterError, match="verbose"):
        model.set_params(verbose="yes").fit(X)


# --------------------------------------------------------------- command line
def _csv(path, n=60):
    rng = np.random.default_rng(0)
    lines = ["x,k"] + [f"{x:.4f},{k}" for x, k in zip(rng.normal(size=n), rng.integers(0, 4, n))]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tiny_models(monkeypatch):
    monkeypatch.setattr(
        cli,
        "MODELS",
        {
            "random-features": functools.partial(DiffusionRandomFeatures, n_features=16, n_steps=6),
            "boosted": functools.partial(
                GradientBoostedScore, n_noise_levels=4, duplicate_K=2, max_iter=3, n_density_samples=40
            ),
        },
    )


def test_generate_to_stdout_with_verbose_writes_only_csv_on_stdout(tmp_path, capsys, tiny_models):
    data = _csv(tmp_path / "in.csv")
    assert cli.main(["generate", str(data), "-n", "5", "-o", "-", "--seed", "0", "-v"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "x,k" and len(lines) == 6
    assert all(re.fullmatch(r"-?\d+\.\d+(e-?\d+)?,\d+", line) for line in lines[1:]), lines
    progress = [line for line in captured.err.splitlines() if line.startswith("[DiffusionRandomFeatures] ")]
    assert progress and all(re.search(ELAPSED, line) for line in progress)
    assert any("statistics of levels" in line for line in progress)
    # the same file as without -v
    assert cli.main(["generate", str(data), "-n", "5", "-o", "-", "--seed", "0"]) == 0
    quiet = capsys.readouterr()
    assert quiet.out == captured.out and "[DiffusionRandomFeatures]" not in quiet.err


def test_impute_to_stdout_with_verbose_writes_only_csv_on_stdout(tmp_path, capsys, tiny_models):
    data = _csv(tmp_path / "in.csv")
    text = data.read_text().splitlines()
    text[3] = "," + text[3].split(",")[1]  # a missing x
    data.write_text("\n".join(text) + "\n")
    assert cli.main(["impute", str(data), "-o", "-", "--seed", "0", "-vv"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "x,k" and len(lines) == len(text) and lines[2] == text[2]
    assert re.fullmatch(r"-?\d+\.\d+(e-?\d+)?,\d+", lines[3]), lines[3]
    progress = [line for line in captured.err.splitlines() if line.startswith("[GradientBoostedScore] ")]
    assert any("level 4 of 4" in line for line in progress) and any("model coordinates" in line for line in progress)
