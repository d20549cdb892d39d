"""The rules an experiment must satisfy, each broken one a sentence naming the field and the fix.

Katib's admission webhook (pkg/webhook/v1beta1/experiment/validator/validator.go): objective type and metric, the
objective metric not among the additional ones, a known algorithm name, counts (parallelTrialCount > 0 and <=
maxTrialCount > 0, 0 <= maxFailedTrialCount <= maxTrialCount), at least one parameter, int/double with min and max and
no list, discrete/categorical with a list and no min/max/step. What Katib finds only when a suggestion fails: a bound
that is not a number, min > max, an empty list (and, per algorithm, the settings: tuning.algorithms.validate_settings).
Ours, against the pipeline: tuned parameters are pipeline parameters whose default's type takes the suggested values,
the objective and additional metrics are pipeline metrics, AutoML's family parameter is a categorical pipeline
parameter. Used by tuning.spec; plain Python, never imports tornado or jupyter_server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..pipeline.model import Pipeline
from ..runners.params import ParameterError, coerce
from .algorithms import LOCAL_ALGORITHMS, validate_settings
from .space import (
    DISCRETE,
    DOUBLE,
    INT,
    KATIB_ALGORITHMS,
    MAXIMIZE,
    MINIMIZE,
    PARAMETER_TYPES,
    ExperimentSpec,
    Parameter,
)


def validate(
    spec: ExperimentSpec, pipeline: Pipeline | None, *, backend: str = "local", submitted: bool = False
) -> list[str]:
    """Every problem of ``spec`` (empty: fine). ``pipeline`` None checks Katib's rules only; ``backend`` "local"
    also requires an algorithm the local engine runs (and its library). ``submitted``: ``spec`` is the Experiment as
    it goes to Katib, so also Katib's rule that a grid's maxTrialCount not exceed its points (the local engine
    instead stops when the grid is exhausted)."""
    problems = _objective(spec, pipeline) + _algorithm(spec, backend) + _counts(spec)
    if not spec.parameters and spec.automl is None:
        problems.append("parameters: the experiment tunes no parameter. Fix: add at least one pipeline parameter.")
    problems += parameter_problems(spec.parameters, "parameters", pipeline)
    if spec.automl is not None:
        problems += _automl(spec, pipeline)
    problems += _settings(spec, backend, submitted)
    return problems


def _objective(spec: ExperimentSpec, pipeline: Pipeline | None) -> list[str]:
    out = []
    obj = spec.objective
    if obj.type not in (MINIMIZE, MAXIMIZE):
        out.append(f"objective.type must be {MINIMIZE} or {MAXIMIZE}, found {obj.type!r}.")
    if not obj.metric:
        out.append("objective.objectiveMetricName is required: the pipeline metric to optimize.")
    elif pipeline is not None and obj.metric not in pipeline.metrics:
        out.append(
            f"objective.objectiveMetricName {obj.metric!r} is not a pipeline metric (the pipeline's metrics: "
            f"{_names(pipeline.metrics)}). Fix: name one of them, or add it to the pipeline-metrics cell."
        )
    if obj.metric and obj.metric in obj.additional:
        out.append(f"objective.additionalMetricNames must not contain the objective metric {obj.metric!r}.")
    if pipeline is not None:
        for name in obj.additional:
            if name != obj.metric and name not in pipeline.metrics:
                out.append(
                    f"objective.additionalMetricNames: {name!r} is not a pipeline metric (the pipeline's metrics: "
                    f"{_names(pipeline.metrics)})."
                )
    return out


def _algorithm(spec: ExperimentSpec, backend: str) -> list[str]:
    name = spec.algorithm.name
    if not name:
        return [f"algorithm.algorithmName is required (one of {', '.join(LOCAL_ALGORITHMS)})."]
    if name not in KATIB_ALGORITHMS:
        return [f"algorithm.algorithmName {name!r} is not a Katib algorithm (one of {', '.join(KATIB_ALGORITHMS)})."]
    if backend == "local" and name not in LOCAL_ALGORITHMS:
        return [
            f"algorithm.algorithmName {name!r} runs on Katib only; locally one of {', '.join(LOCAL_ALGORITHMS)}. "
            "Fix: choose one of those, or run with --backend katib."
        ]
    return []


def _counts(spec: ExperimentSpec) -> list[str]:
    out = []
    par, most, failed = spec.parallel_trial_count, spec.max_trial_count, spec.max_failed_trial_count
    if par <= 0:
        out.append(f"parallelTrialCount must be greater than 0, found {par}.")
    if most <= 0:
        out.append(f"maxTrialCount must be greater than 0, found {most}.")
    if failed < 0:
        out.append(f"maxFailedTrialCount must not be less than 0, found {failed}.")
    if most > 0 and failed > most:
        out.append(f"maxFailedTrialCount ({failed}) must be less than or equal to maxTrialCount ({most}).")
    if most > 0 and par > most:
        out.append(f"parallelTrialCount ({par}) must be less than or equal to maxTrialCount ({most}).")
    return out


def parameter_problems(params: Sequence[Parameter], where: str, pipeline: Pipeline | None) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, p in enumerate(params):
        label = f"{where}[{i}]" + (f" ({p.name})" if p.name else "")
        if not p.name:
            out.append(f"{label}.name is required: the pipeline parameter to tune.")
        elif p.name in seen:
            out.append(f"{label}: parameter {p.name!r} is listed twice.")
        seen.add(p.name)
        if p.type not in PARAMETER_TYPES:
            out.append(f"{label}.parameterType must be one of {', '.join(PARAMETER_TYPES)}, found {p.type!r}.")
            continue
        out += _space(p, label)
        if pipeline is not None and p.name:
            out += _against_pipeline(p, label, pipeline)
    return out


def _number(text: str | None, integer: bool) -> float | None:
    if text is None:
        return None
    try:
        return float(int(text)) if integer else float(text)
    except ValueError:
        return None


def _space(p: Parameter, label: str) -> list[str]:
    out = []
    if p.type in (DOUBLE, INT):
        if p.values:
            out.append(f"{label}: feasibleSpace.list is not supported for parameterType {p.type}; use min and max.")
        if p.min is None or p.max is None:
            out.append(
                f"{label}: feasibleSpace.min and feasibleSpace.max must be specified for parameterType {p.type}."
            )
            return out
        kind = "an integer" if p.type == INT else "a number"
        low, high = _number(p.min, p.type == INT), _number(p.max, p.type == INT)
        for field, text, value in (("min", p.min, low), ("max", p.max, high)):
            if value is None:
                out.append(f"{label}: feasibleSpace.{field} must be {kind}, found {text!r}.")
        if low is not None and high is not None and low > high:
            out.append(
                f"{label}: feasibleSpace.min ({p.min}) is greater than feasibleSpace.max ({p.max}). Fix: swap them."
            )
        if p.step is not None:
            step = _number(p.step, p.type == INT)
            if step is None or step <= 0:
                what = "integer" if p.type == INT else "number"
                out.append(f"{label}: feasibleSpace.step must be a positive {what}, found {p.step!r}.")
    else:
        if p.min is not None or p.max is not None or p.step is not None:
            out.append(
                f"{label}: feasibleSpace min, max and step are not supported for parameterType {p.type}; use list."
            )
        if not p.values:
            out.append(f"{label}: feasibleSpace.list is empty; parameterType {p.type} needs at least one value.")
        elif p.type == DISCRETE:
            bad = [v for v in p.values if _number(v, False) is None]
            if bad:
                out.append(f"{label}: a discrete list holds numbers; {', '.join(map(repr, bad))} is not one.")
        if p.values and len(set(p.values)) != len(p.values):
            out.append(f"{label}: feasibleSpace.list repeats a value.")
    return out


def _against_pipeline(p: Parameter, label: str, pipeline: Pipeline) -> list[str]:
    if p.name not in pipeline.parameters:
        return [
            f"{label}: {p.name!r} is not a pipeline parameter (the pipeline's parameters: "
            f"{_names(pipeline.parameters)}). Fix: tune one of them, or add it to the pipeline-parameters cell."
        ]
    default = pipeline.parameters[p.name]
    samples: list[Any] = []
    try:
        if p.type in (DOUBLE, INT):
            samples = [p.value(v) for v in (p.min, p.max) if v is not None]
        else:
            samples = [p.value(v) for v in p.values or ()]
    except ValueError:
        return []  # the bound itself is reported by _space
    wrong = [s for s in samples if not _accepted(p.name, s, default)]
    if wrong:
        return [
            f"{label}: the pipeline parameter {p.name!r} is a {type(default).__name__} (default {default!r}) but "
            f"parameterType {p.type} suggests {type(wrong[0]).__name__} values like {wrong[0]!r}. Fix: use a "
            f"parameterType whose values are {type(default).__name__}s."
        ]
    return []


def _accepted(name: str, value: Any, default: Any) -> bool:
    try:
        coerce(name, value, default)
    except ParameterError:
        return False
    return True


def _automl(spec: ExperimentSpec, pipeline: Pipeline | None) -> list[str]:
    automl = spec.automl
    assert automl is not None
    out = []
    if not automl.parameter:
        out.append("automl.parameter is required: the categorical pipeline parameter that chooses the model family.")
    elif pipeline is not None:
        if automl.parameter not in pipeline.parameters:
            out.append(
                f"automl.parameter {automl.parameter!r} is not a pipeline parameter (the pipeline's parameters: "
                f"{_names(pipeline.parameters)})."
            )
        elif not isinstance(pipeline.parameters[automl.parameter], str):
            out.append(f"automl.parameter {automl.parameter!r} must be a str pipeline parameter (it names the family).")
    if not automl.families:
        out.append("automl.families is empty: define at least one model family and its parameters.")
    for family, params in automl.families.items():
        out += parameter_problems(params, f"automl.families.{family}", pipeline)
        if any(p.name == automl.parameter for p in params):
            out.append(
                f"automl.families.{family}: the family parameter {automl.parameter!r} cannot be tuned inside it."
            )
    return out


def _settings(spec: ExperimentSpec, backend: str, submitted: bool) -> list[str]:
    if spec.algorithm.name not in LOCAL_ALGORITHMS:
        return []
    params = list(spec.parameters)
    if spec.automl is not None:
        params += [p for family in spec.automl.families.values() for p in family if p not in params]
    most = spec.max_trial_count if submitted else None
    return list(validate_settings(spec.algorithm, params, local=backend == "local", max_trial_count=most))


def _names(names: Any) -> str:
    listed = sorted(names)
    return ", ".join(listed) if listed else "none"
