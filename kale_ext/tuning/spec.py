"""Reading, validating and overriding an experiment: Kale's ``katib_metadata`` (Katib-shaped) and our AutoML block.

The experiment lives in the notebook's metadata as Kale 0.7 wrote it: ``metadata.kubeflow_notebook.katib_metadata``
with Katib v1beta1's field names (``parameters[{name, parameterType, feasibleSpace{min, max, step, list}}]`` with
string values, ``objective{type, objectiveMetricName, goal, additionalMetricNames}``, ``algorithm{algorithmName,
algorithmSettings[{name, value}]}``, ``parallelTrialCount``, ``maxTrialCount``, ``maxFailedTrialCount``; Kale's
defaults 3, 12, 3), and Kale's AutoML flow in the project's own key: ``metadata.kale_ext.automl = {"parameter":
NAME, "families": {FAMILY: [Katib-shaped parameters]}}``.

Validation lists every problem at once (``TuningError``, code "tune.invalid", details.problems), each a sentence that
names the field and the fix: Katib's webhook rules (pkg/webhook/v1beta1/experiment/validator), the rules Katib only
finds when a suggestion fails (min > max, a double with min <= 0 under bayesianoptimization, through
tuning.algorithms.validate_settings), and ours: a tuned parameter must be a pipeline parameter of a matching type, the
objective and additional metrics pipeline metrics.

Plain Python; never imports tornado or jupyter_server.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from ..errors import KaleError
from ..pipeline.model import Pipeline
from . import rules
from .space import Algorithm, AutoML, ExperimentSpec, Objective, Parameter

KATIB_DEFAULTS = {"parallelTrialCount": 3, "maxTrialCount": 12, "maxFailedTrialCount": 3}  # Kale's rpc/katib.py
DISTRIBUTIONS = ("uniform", "logUniform", "normal", "logNormal")


class TuningError(KaleError):
    status = 400
    code = "tune.invalid"


def _refuse(problems: list[str], what: str) -> None:
    if problems:
        head = problems[0] if len(problems) == 1 else f"{len(problems)} problems: " + " ".join(problems)
        raise TuningError(f"The {what} is invalid: {head}", details={"problems": problems})


# ---------------------------------------------------------------------------------------------------------- reading
def read_experiment(notebook: dict[str, Any], pipeline: Pipeline, *, backend: str = "local") -> ExperimentSpec:
    """The notebook's experiment, validated against its pipeline (TuningError with every problem)."""
    meta = notebook.get("metadata") or {}
    kale, own = meta.get("kubeflow_notebook"), meta.get("kale_ext")
    kale = kale if isinstance(kale, dict) else {}
    own = own if isinstance(own, dict) else {}
    katib = kale.get("katib_metadata")
    if not katib:
        raise TuningError(
            "The notebook defines no experiment: expected metadata.kubeflow_notebook.katib_metadata (Katib-shaped "
            "parameters, objective, algorithm). Fix: define the search space in the Tuning view, or write it there.",
            code="tune.no_experiment",
        )
    spec, problems = _parse(katib, own.get("automl"), None)
    problems += validate(spec, pipeline, backend=backend)
    _refuse(problems, "experiment in the notebook's katib_metadata")
    return spec


def spec_from_katib(
    katib: dict[str, Any], automl: dict[str, Any] | None = None, seed: int | None = None
) -> ExperimentSpec:
    """An ExperimentSpec from Katib-shaped fields (``spec.to_katib()`` gives them back), checked with Katib's rules
    (no pipeline: the names are not checked against one)."""
    spec, problems = _parse(katib, automl, seed)
    problems += validate(spec, None, backend="katib")
    _refuse(problems, "experiment")
    return spec


def _parse(katib: Any, automl: Any, seed: int | None) -> tuple[ExperimentSpec, list[str]]:
    """The spec as written, and the problems of shape (not a dict, a count that is not an integer, ...); problems of
    content are left to ``validate``, which sees the placeholders put in place of what is missing."""
    problems: list[str] = []
    if not isinstance(katib, dict):
        problems.append(f"katib_metadata must be an object, found {type(katib).__name__}.")
        katib = {}
    counts = {}
    for key, default in KATIB_DEFAULTS.items():
        value = katib.get(key, default)
        if value is None:
            value = default
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{key} must be an integer, found {value!r}.")
            value = default
        counts[key] = value
    params = _parse_parameters(katib.get("parameters"), "parameters", problems)
    spec = ExperimentSpec(
        parameters=params,
        objective=_parse_objective(katib.get("objective"), problems),
        algorithm=_parse_algorithm(katib.get("algorithm"), problems),
        parallel_trial_count=counts["parallelTrialCount"],
        max_trial_count=counts["maxTrialCount"],
        max_failed_trial_count=counts["maxFailedTrialCount"],
        automl=_parse_automl(automl, problems),
        seed=seed,
    )
    return spec, problems


def _text(value: Any) -> str | None:
    """A feasibleSpace value as Katib keeps it (a string); numbers written unquoted are taken as their text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)


def _parse_parameters(raw: Any, where: str, problems: list[str]) -> tuple[Parameter, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"{where} must be a list of parameters, found {type(raw).__name__}.")
        return ()
    out = []
    for i, p in enumerate(raw):
        if not isinstance(p, dict):
            problems.append(f"{where}[{i}] must be an object with name, parameterType and feasibleSpace.")
            continue
        space = p.get("feasibleSpace")
        if space is not None and not isinstance(space, dict):
            problems.append(f"{where}[{i}].feasibleSpace must be an object, found {type(space).__name__}.")
            space = {}
        space = space or {}
        values = space.get("list")
        if values is not None and not isinstance(values, list):
            problems.append(f"{where}[{i}].feasibleSpace.list must be a list of strings, found {values!r}.")
            values = None
        distribution = space.get("distribution")
        if distribution not in (None, "", *DISTRIBUTIONS):
            problems.append(
                f"{where}[{i}].feasibleSpace.distribution {distribution!r} is not supported (one of "
                f"{', '.join(DISTRIBUTIONS)})."
            )
        out.append(
            Parameter(
                name=str(p.get("name") or ""),
                type=str(p.get("parameterType") or ""),
                min=_text(space.get("min")),
                max=_text(space.get("max")),
                step=_text(space.get("step")),
                values=None if values is None else tuple(str(_text(v) or "") for v in values),
            )
        )
    return tuple(out)


def _parse_objective(raw: Any, problems: list[str]) -> Objective:
    if not isinstance(raw, dict):
        if raw is not None:
            problems.append(f"objective must be an object, found {type(raw).__name__}.")
        raw = {}
    goal = raw.get("goal")
    if goal is not None:
        try:
            goal = float(goal)
            if not math.isfinite(goal):
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"objective.goal must be a number, found {raw.get('goal')!r}.")
            goal = None
    additional = raw.get("additionalMetricNames") or []
    if not isinstance(additional, list):
        problems.append(f"objective.additionalMetricNames must be a list of metric names, found {additional!r}.")
        additional = []
    return Objective(
        type=str(raw.get("type") or ""),
        metric=str(raw.get("objectiveMetricName") or ""),
        goal=goal,
        additional=tuple(str(a) for a in additional),
    )


def _parse_algorithm(raw: Any, problems: list[str]) -> Algorithm:
    if not isinstance(raw, dict):
        if raw is not None:
            problems.append(f"algorithm must be an object, found {type(raw).__name__}.")
        raw = {}
    settings = raw.get("algorithmSettings") or []
    pairs = []
    if not isinstance(settings, list):
        problems.append("algorithm.algorithmSettings must be a list of {name, value}.")
        settings = []
    for i, s in enumerate(settings):
        if not isinstance(s, dict) or not s.get("name"):
            problems.append(f"algorithm.algorithmSettings[{i}] must be an object with a name and a value.")
            continue
        pairs.append((str(s["name"]), _text(s.get("value")) or ""))
    return Algorithm(name=str(raw.get("algorithmName") or ""), settings=tuple(pairs))


def _parse_automl(raw: Any, problems: list[str]) -> AutoML | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("families"), dict):
        problems.append('kale_ext.automl must be {"parameter": NAME, "families": {FAMILY: [parameters]}}.')
        return None
    families = {
        str(name): _parse_parameters(params or [], f"automl.families.{name}", problems)
        for name, params in raw["families"].items()
    }
    return AutoML(parameter=str(raw.get("parameter") or ""), families=families)


# --------------------------------------------------------------------------------------------- validation, overrides
def validate(spec: ExperimentSpec, pipeline: Pipeline | None, *, backend: str = "local") -> list[str]:
    """Every problem of ``spec`` against ``pipeline`` (empty: fine); see tuning.rules."""
    return rules.validate(spec, pipeline, backend=backend)


def notebook_experiment(
    notebook: dict[str, Any],
    pipeline: Pipeline,
    *,
    backend: str = "local",
    max_trials: int | None = None,
    parallel: int | None = None,
    algorithm: str | None = None,
    seed: int | None = None,
) -> ExperimentSpec:
    """The notebook's experiment with the command line's (or a REST request's) values in place of its own, validated
    for ``backend``: what `kale-ext tune` and POST /kale/v1/experiments start."""
    return with_overrides(
        read_experiment(notebook, pipeline, backend=backend),
        max_trials=max_trials,
        parallel=parallel,
        algorithm=algorithm,
        seed=seed,
        pipeline=pipeline,
        backend=backend,
    )


def with_overrides(
    spec: ExperimentSpec,
    *,
    max_trials: int | None = None,
    parallel: int | None = None,
    algorithm: str | None = None,
    seed: int | None = None,
    pipeline: Pipeline | None = None,
    backend: str = "local",
) -> ExperimentSpec:
    """``spec`` with the command line's values in place of the notebook's (None: keep), re-validated. A new algorithm
    keeps no settings of the old one (their names are per algorithm)."""
    changes: dict[str, Any] = {}
    if max_trials is not None:
        changes["max_trial_count"] = max_trials
        # Katib's rule maxFailedTrialCount <= maxTrialCount: a smaller budget lowers the failure budget with it.
        changes["max_failed_trial_count"] = min(spec.max_failed_trial_count, max(max_trials, 0))
        # A budget smaller than the notebook's parallelism runs its trials all at once (a budget below 1 is refused).
        if parallel is None and max_trials > 0:
            changes["parallel_trial_count"] = min(spec.parallel_trial_count, max_trials)
    if parallel is not None:
        changes["parallel_trial_count"] = parallel
    if algorithm is not None and algorithm != spec.algorithm.name:
        changes["algorithm"] = Algorithm(name=algorithm)
    if seed is not None:
        changes["seed"] = seed
    out = dataclasses.replace(spec, **changes)
    _refuse(validate(out, pipeline, backend=backend), "experiment (with the command line's values)")
    return out


def spec_to_json(spec: ExperimentSpec) -> dict[str, Any]:
    """The spec as stored and shown: ``to_katib()`` plus "automl" and "seed"; ``spec_from_json`` reads it back."""
    automl = None
    if spec.automl is not None:
        automl = {
            "parameter": spec.automl.parameter,
            "families": {k: [p.to_katib() for p in v] for k, v in spec.automl.families.items()},
        }
    return {**spec.to_katib(), "automl": automl, "seed": spec.seed}


def spec_from_json(data: Mapping[str, Any]) -> ExperimentSpec:
    """The inverse of ``spec_to_json`` (a stored experiment's spec; checked with Katib's rules)."""
    katib = {k: v for k, v in data.items() if k not in ("automl", "seed")}
    return spec_from_katib(katib, data.get("automl"), data.get("seed"))


def stage_parameters(spec: ExperimentSpec, family: str) -> tuple[Parameter, ...]:
    """AutoML's second stage: the family's own parameters and the experiment's shared ones (those of no family and
    not the family parameter)."""
    assert spec.automl is not None
    owned = {p.name for params in spec.automl.families.values() for p in params}
    shared = tuple(p for p in spec.parameters if p.name != spec.automl.parameter and p.name not in owned)
    return tuple(spec.automl.families[family]) + shared


__all__ = [
    "KATIB_DEFAULTS",
    "TuningError",
    "read_experiment",
    "spec_from_json",
    "spec_from_katib",
    "spec_to_json",
    "stage_parameters",
    "validate",
    "with_overrides",
]
