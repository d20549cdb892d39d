"""The experiment's typed model: Katib v1beta1's parameters, objective and algorithm, as frozen dataclasses.

Values stay as Katib writes them (feasibleSpace min/max/step and list are strings) so that a parsed experiment turns back
into the exact Katib shape (``to_katib``); ``Parameter.value`` converts one suggested value to the Python value the
pipeline parameter receives. Parsing a notebook's metadata and the webhook rules live in tuning.spec; this module only
holds the shapes shared by the algorithms, the engine, the store and the Katib manifest.

Plain Python (stdlib only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DOUBLE, INT, DISCRETE, CATEGORICAL = "double", "int", "discrete", "categorical"
PARAMETER_TYPES = (DOUBLE, INT, DISCRETE, CATEGORICAL)
MINIMIZE, MAXIMIZE = "minimize", "maximize"
# Katib's algorithm names (webhook); the ones the local engine runs are tuning.algorithms.LOCAL_ALGORITHMS.
KATIB_ALGORITHMS = (
    "random",
    "tpe",
    "grid",
    "hyperband",
    "bayesianoptimization",
    "cmaes",
    "sobol",
    "multivariate-tpe",
    "enas",
    "darts",
    "pbt",
)
# Experiment and trial statuses, as stored and shown (local experiments; Katib's conditions map onto them).
EXPERIMENT_STATUSES = ("running", "succeeded", "failed", "cancelled", "interrupted")
TRIAL_STATUSES = ("pending", "running", "succeeded", "failed", "cancelled", "interrupted")


@dataclass(frozen=True)
class Parameter:
    """One Katib parameter: ``parameterType`` and ``feasibleSpace`` with its strings as written."""

    name: str
    type: str  # one of PARAMETER_TYPES
    min: str | None = None
    max: str | None = None
    step: str | None = None
    values: tuple[str, ...] | None = None  # feasibleSpace.list (discrete, categorical)

    def value(self, raw: Any) -> Any:
        """The Python value a pipeline parameter receives for a suggested ``raw`` (int for int, float for double,
        int or float for a discrete number as its list writes it, str for categorical)."""
        if self.type == INT:
            return int(raw)
        if self.type == DOUBLE:
            return float(raw)
        if self.type == DISCRETE:
            text = str(raw)
            try:
                return int(text)
            except ValueError:
                return float(text)
        return str(raw)

    def to_katib(self) -> dict[str, Any]:
        space: dict[str, Any] = {}
        if self.min is not None:
            space["min"] = self.min
        if self.max is not None:
            space["max"] = self.max
        if self.step is not None:
            space["step"] = self.step
        if self.values is not None:
            space["list"] = list(self.values)
        return {"name": self.name, "parameterType": self.type, "feasibleSpace": space}


@dataclass(frozen=True)
class Objective:
    type: str  # MINIMIZE or MAXIMIZE
    metric: str  # objectiveMetricName: a pipeline metric
    goal: float | None = None
    additional: tuple[str, ...] = ()  # additionalMetricNames

    def better(self, a: float, b: float) -> bool:
        """Whether objective value ``a`` is strictly better than ``b``."""
        return a < b if self.type == MINIMIZE else a > b

    def reached(self, value: float) -> bool:
        """Katib's rule: the experiment succeeds once a trial's objective reaches the goal (<= for minimize)."""
        if self.goal is None:
            return False
        return value <= self.goal if self.type == MINIMIZE else value >= self.goal

    def to_katib(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "objectiveMetricName": self.metric}
        if self.goal is not None:
            out["goal"] = self.goal
        if self.additional:
            out["additionalMetricNames"] = list(self.additional)
        return out


@dataclass(frozen=True)
class Algorithm:
    name: str
    settings: tuple[tuple[str, str], ...] = ()  # algorithmSettings [{name, value}], values strings

    def setting(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.settings:
            if key == name:
                return value
        return default

    def to_katib(self) -> dict[str, Any]:
        out: dict[str, Any] = {"algorithmName": self.name}
        if self.settings:
            out["algorithmSettings"] = [{"name": k, "value": v} for k, v in self.settings]
        return out


@dataclass(frozen=True)
class AutoML:
    """Kale's AutoML flow, from the notebook's ``kale_ext`` metadata: a categorical pipeline parameter chooses the model
    family; each family has its own Katib-shaped parameters, sampled only when that family is chosen."""

    parameter: str
    families: Mapping[str, tuple[Parameter, ...]]


@dataclass(frozen=True)
class ExperimentSpec:
    parameters: tuple[Parameter, ...]
    objective: Objective
    algorithm: Algorithm
    parallel_trial_count: int = 3
    max_trial_count: int = 12
    max_failed_trial_count: int = 3
    automl: AutoML | None = None
    seed: int | None = None  # --seed; Katib's algorithm setting random_state where the algorithm has one

    def to_katib(self) -> dict[str, Any]:
        """The Katib-shaped ``katib_metadata`` (and an Experiment's spec fields) for this experiment."""
        return {
            "parameters": [p.to_katib() for p in self.parameters],
            "objective": self.objective.to_katib(),
            "algorithm": self.algorithm.to_katib(),
            "parallelTrialCount": self.parallel_trial_count,
            "maxTrialCount": self.max_trial_count,
            "maxFailedTrialCount": self.max_failed_trial_count,
        }


@dataclass
class Observation:
    """A finished trial as the algorithms see it: its assignments (parameter name -> the suggested value) and its
    objective value as reported (not negated), None when the trial failed or reported no objective."""

    trial: str
    assignments: dict[str, Any]
    value: float | None
    metrics: dict[str, float] = field(default_factory=dict)
