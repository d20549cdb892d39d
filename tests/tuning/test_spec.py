"""Reading, validating and overriding an experiment (tuning.spec): Kale 0.7's katib_metadata read unchanged, every bad
input of issue 11 named, all problems reported at once, the command line's values over the notebook's."""

from __future__ import annotations

import copy

import pytest

from kale_ext.analysis import analyze
from kale_ext.tuning.spec import (
    TuningError,
    read_experiment,
    spec_from_json,
    spec_from_katib,
    spec_to_json,
    stage_parameters,
    validate,
    with_overrides,
)
from tests.tuning.objective import AUTOML, KATIB, katib_with, objective_notebook

# As Kale 0.7's JupyterLab extension saved it (strings in feasibleSpace, Kale's defaults for absent counts).
KALE_07 = {
    "algorithm": {"algorithmName": "random", "algorithmSettings": [{"name": "random_state", "value": "10"}]},
    "maxFailedTrialCount": 3,
    "maxTrialCount": 12,
    "objective": {"additionalMetricNames": [], "goal": 12.5, "objectiveMetricName": "score", "type": "maximize"},
    "parallelTrialCount": 3,
    "parameters": [
        {"feasibleSpace": {"max": "0.5", "min": "0.1", "step": "0.1"}, "name": "x", "parameterType": "double"},
        {"feasibleSpace": {"list": ["a", "b"]}, "name": "mode", "parameterType": "categorical"},
        {"feasibleSpace": {"list": ["1", "2", "3"]}, "name": "y", "parameterType": "discrete"},
    ],
}


def problems_of(katib, automl=None) -> list[str]:
    nb = objective_notebook(katib=katib, automl=automl)
    with pytest.raises(TuningError) as info:
        read_experiment(nb, analyze(nb))
    assert info.value.code == "tune.invalid"
    return info.value.details["problems"]


def test_kale_07_metadata_reads_unchanged_and_round_trips():
    nb = objective_notebook(katib=KALE_07)
    spec = read_experiment(nb, analyze(nb))
    assert [p.name for p in spec.parameters] == ["x", "mode", "y"]
    assert spec.parameters[1].values == ("a", "b")
    assert spec.objective.goal == 12.5 and spec.objective.type == "maximize"
    assert spec.algorithm.setting("random_state") == "10"
    assert (spec.parallel_trial_count, spec.max_trial_count, spec.max_failed_trial_count) == (3, 12, 3)
    assert spec.to_katib() == {**KALE_07, "objective": {k: v for k, v in KALE_07["objective"].items() if v != []}}
    assert spec_from_katib(spec.to_katib()) == spec
    assert spec_from_json(spec_to_json(spec)) == spec


def test_kale_defaults_for_absent_counts():
    katib = {k: v for k, v in KATIB.items() if not k.endswith("Count")}
    nb = objective_notebook(katib=katib)
    spec = read_experiment(nb, analyze(nb))
    assert (spec.parallel_trial_count, spec.max_trial_count, spec.max_failed_trial_count) == (3, 12, 3)


def test_unknown_parameter_is_named():
    katib = copy.deepcopy(KATIB)
    katib["parameters"][0]["name"] = "lr"
    [problem] = problems_of(katib)
    assert "'lr' is not a pipeline parameter" in problem and "load_s, mode, train_s, x, y" in problem


def test_unknown_metric_is_named():
    problems = problems_of(katib_with(objective={"type": "maximize", "objectiveMetricName": "auc"}))
    assert len(problems) == 1 and "'auc' is not a pipeline metric" in problems[0] and "penalty, score" in problems[0]


def test_min_greater_than_max_is_named():
    katib = copy.deepcopy(KATIB)
    katib["parameters"][1]["feasibleSpace"] = {"min": "5", "max": "2"}
    [problem] = problems_of(katib)
    assert "parameters[1] (y)" in problem and "min (5) is greater than feasibleSpace.max (2)" in problem


def test_empty_categorical_list_is_named():
    katib = copy.deepcopy(KATIB)
    katib["parameters"].append({"name": "mode", "parameterType": "categorical", "feasibleSpace": {"list": []}})
    [problem] = problems_of(katib)
    assert "parameters[2] (mode)" in problem and "list is empty" in problem


@pytest.mark.parametrize(
    ("counts", "needle"),
    [
        ({"parallelTrialCount": 8, "maxTrialCount": 4}, "parallelTrialCount (8) must be less than or equal"),
        ({"maxFailedTrialCount": 7, "maxTrialCount": 4}, "maxFailedTrialCount (7) must be less than or equal"),
        ({"parallelTrialCount": 0}, "parallelTrialCount must be greater than 0"),
        ({"maxTrialCount": 0, "parallelTrialCount": 1, "maxFailedTrialCount": 0}, "maxTrialCount must be greater"),
        ({"maxFailedTrialCount": -1}, "maxFailedTrialCount must not be less than 0"),
        ({"maxTrialCount": "ten"}, "maxTrialCount must be an integer"),
    ],
)
def test_counts_out_of_order_are_named(counts, needle):
    problems = problems_of(katib_with(**counts))
    assert any(needle in p for p in problems), problems


def test_every_problem_at_once():
    katib = copy.deepcopy(KATIB)
    katib["parameters"][0]["name"] = "lr"
    katib["parameters"][1]["feasibleSpace"] = {"min": "5", "max": "2"}
    katib["parameters"].append({"name": "mode", "parameterType": "categorical", "feasibleSpace": {"list": []}})
    katib["objective"] = {"type": "best", "objectiveMetricName": "auc", "additionalMetricNames": ["auc"]}
    katib["algorithm"] = {"algorithmName": "annealing"}
    katib["parallelTrialCount"] = 9
    problems = problems_of(katib)
    for needle in (
        "'lr' is not a pipeline parameter",
        "min (5) is greater",
        "list is empty",
        "objective.type must be minimize or maximize",
        "'auc' is not a pipeline metric",
        "must not contain the objective metric",
        "'annealing' is not a Katib algorithm",
        "parallelTrialCount (9)",
    ):
        assert any(needle in p for p in problems), (needle, problems)
    nb = objective_notebook(katib=katib)
    with pytest.raises(TuningError) as info:
        read_experiment(nb, analyze(nb))
    assert str(len(problems)) + " problems" in info.value.message


def test_katib_shape_rules():
    katib = copy.deepcopy(KATIB)
    katib["parameters"] = [
        {"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.1"}},
        {"name": "y", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "4", "list": ["1"]}},
        {"name": "mode", "parameterType": "categorical", "feasibleSpace": {"list": ["a"], "min": "1"}},
        {"name": "load_s", "parameterType": "float", "feasibleSpace": {"min": "1", "max": "2"}},
    ]
    problems = problems_of(katib)
    assert any("min and feasibleSpace.max must be specified" in p for p in problems)
    assert any("list is not supported for parameterType int" in p for p in problems)
    assert any("min, max and step are not supported for parameterType categorical" in p for p in problems)
    assert any("parameterType must be one of double, int, discrete, categorical" in p for p in problems)


def test_parameter_type_must_fit_the_pipeline_default():
    katib = copy.deepcopy(KATIB)
    katib["parameters"][1] = {
        "name": "y",
        "parameterType": "double",
        "feasibleSpace": {"min": "1", "max": "4", "step": "1"},
    }
    [problem] = problems_of(katib)
    assert "'y' is a int (default 2)" in problem


def test_no_experiment_in_the_notebook():
    nb = objective_notebook()
    del nb["metadata"]["kubeflow_notebook"]["katib_metadata"]
    with pytest.raises(TuningError) as info:
        read_experiment(nb, analyze(nb))
    assert info.value.code == "tune.no_experiment"


def test_katib_only_algorithm_is_refused_locally_but_valid_for_katib():
    katib = katib_with(algorithm={"algorithmName": "hyperband"})
    [problem] = problems_of(katib)
    assert "runs on Katib only" in problem
    nb = objective_notebook(katib=katib)
    assert read_experiment(nb, analyze(nb), backend="katib").algorithm.name == "hyperband"


def test_overrides_win_and_are_validated():
    nb = objective_notebook()
    pipeline = analyze(nb)
    spec = read_experiment(nb, pipeline)
    out = with_overrides(spec, max_trials=3, parallel=1, algorithm="random", seed=7, pipeline=pipeline)
    assert (out.max_trial_count, out.parallel_trial_count, out.algorithm.name, out.seed) == (3, 1, "random", 7)
    assert out.max_failed_trial_count == 2 and out.parameters == spec.parameters
    assert with_overrides(spec) == spec
    assert with_overrides(spec, max_trials=1, pipeline=pipeline).parallel_trial_count == 1  # clamped, not given
    with pytest.raises(TuningError) as info:
        with_overrides(spec, max_trials=1, parallel=2, pipeline=pipeline)
    assert any("parallelTrialCount (2)" in p for p in info.value.details["problems"])
    with pytest.raises(TuningError):
        with_overrides(spec, algorithm="simulated-annealing", pipeline=pipeline)
    for bad in (0, -1):  # only the flag the user gave is named, not the counts derived from it
        with pytest.raises(TuningError) as info:
            with_overrides(spec, max_trials=bad, pipeline=pipeline)
        assert [p.split(" ")[0] for p in info.value.details["problems"]] == ["maxTrialCount"]


def test_automl_block_and_its_rules():
    nb = objective_notebook(automl=AUTOML)
    spec = read_experiment(nb, analyze(nb))
    assert spec.automl is not None and spec.automl.parameter == "mode"
    assert [p.name for p in stage_parameters(spec, "b")] == ["y"]
    assert [p.name for p in stage_parameters(spec, "a")] == ["x"]
    bad = copy.deepcopy(AUTOML)
    bad["parameter"] = "model"
    problems = problems_of(KATIB, bad)
    assert len(problems) == 1 and "automl.parameter 'model' is not a pipeline parameter" in problems[0]
    bad = copy.deepcopy(AUTOML)
    bad["families"]["a"].append({"name": "mode", "parameterType": "categorical", "feasibleSpace": {"list": ["a"]}})
    bad["families"]["c"] = [{"name": "y", "parameterType": "int", "feasibleSpace": {"min": "3", "max": "1"}}]
    problems = problems_of(KATIB, bad)
    assert any("automl.families.a: the family parameter 'mode' cannot be tuned inside it" in p for p in problems)
    assert any("automl.families.c[0] (y)" in p and "greater" in p for p in problems)
    assert validate(spec, analyze(nb)) == []


def test_bayesianoptimization_with_a_double_min_at_or_below_zero_is_named():
    # Katib's skopt service maps every double to Real(min, max, "log-uniform"): min <= 0 fails its suggestion.
    katib = copy.deepcopy(KATIB)
    katib["algorithm"] = {"algorithmName": "bayesianoptimization"}
    katib["parameters"][0]["feasibleSpace"] = {"min": "0", "max": "0.5"}
    problems = problems_of(katib)
    assert len(problems) == 1 and "x" in problems[0] and "min" in problems[0], problems
