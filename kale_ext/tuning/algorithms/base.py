"""The suggester interface (Katib's GetSuggestions) and the value conversions every algorithm shares.

A suggester is built once per experiment and called with ALL finished trials so far and the number of new points
wanted, like Katib's suggestion services; it keeps track of what it has already told its optimizer. Values cross the
interface in their raw form: int for int, float for double, the list's string for discrete and categorical (the engine
applies Parameter.value before the pipeline sees them).

Plain Python (stdlib only); the optimizer libraries are imported by the algorithm modules that need them.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from kale_ext.errors import KaleError

from ..space import CATEGORICAL, DISCRETE, DOUBLE, INT, MAXIMIZE, Objective, Observation, Parameter


class AlgorithmUnavailableError(KaleError):
    """The algorithm's library is not installed (the message names the extra to install) or the algorithm runs only
    on Katib."""

    status = 400
    code = "tune.algorithm_unavailable"


class Suggester(ABC):
    """Katib's GetSuggestions for one experiment: ``suggest`` is called with every finished trial so far (value None:
    failed, never told to the optimizer) and returns up to ``count`` new assignments {parameter name: raw value}."""

    def __init__(self, parameters: Sequence[Parameter], objective: Objective) -> None:
        self.parameters = tuple(parameters)
        self.objective = objective
        self._told: set[str] = set()  # trial names already told to the optimizer (or known failed)

    @abstractmethod
    def suggest(self, observations: Sequence[Observation], count: int) -> list[dict[str, Any]]: ...

    def _untold(self, observations: Sequence[Observation]) -> list[Observation]:
        """The observations not seen before, in the order given; marks them seen."""
        out = []
        for obs in observations:
            if obs.trial not in self._told:
                self._told.add(obs.trial)
                out.append(obs)
        return out

    def loss(self, value: float) -> float:
        """What a minimising optimizer is told: the objective, negated for maximize (Katib's services do the same)."""
        return -float(value) if self.objective.type == MAXIMIZE else float(value)


def raw_value(param: Parameter, value: Any) -> Any:
    """``value`` (a raw suggestion or the converted pipeline value stored for a trial) as the raw value the optimizer
    knows: int, float, or the list's own string for discrete and categorical."""
    if param.type == INT:
        return int(value)
    if param.type == DOUBLE:
        return float(value)
    values = param.values or ()
    text = str(value)
    if text in values:
        return text
    if param.type == DISCRETE:  # a number the engine converted: find the list entry it came from
        for entry in values:
            try:
                if math.isclose(float(entry), float(value)):
                    return entry
            except (TypeError, ValueError):
                continue
    return text


def plain(value: Any) -> Any:
    """A numpy scalar (skopt returns numpy.int64 and numpy.str_) as the plain Python int, float or str."""
    if isinstance(value, bool):
        return value
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, (int, float, str)):
        value = item()
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def assignment_key(parameters: Sequence[Parameter], assignments: dict[str, Any]) -> tuple[Any, ...]:
    """A hashable key of one point, equal for the raw and the converted values of the same assignment."""
    key = []
    for p in parameters:
        raw = raw_value(p, assignments[p.name])
        key.append(round(raw, 12) if isinstance(raw, float) else raw)
    return tuple(key)


def is_categorical(param: Parameter) -> bool:
    return param.type in (CATEGORICAL, DISCRETE)


def drive(
    suggester: Suggester, fn: Callable[[dict[str, Any]], float | None], max_trials: int, parallel: int
) -> list[Observation]:
    """Run a suggester on an in-process objective in rounds, as Katib's controller does when a round's trials finish
    together: ask for min(parallel, remaining) points with every finished trial so far, evaluate them, repeat until
    max_trials trials ran or the suggester has nothing left. ``fn`` returning None is a failed trial. For benchmarks
    and tests of the algorithms; pipelines run through the experiment engine."""
    observations: list[Observation] = []
    while len(observations) < max_trials:
        points = suggester.suggest(list(observations), min(parallel, max_trials - len(observations)))
        if not points:
            break
        for point in points:
            observations.append(Observation(f"trial-{len(observations) + 1}", point, fn(point)))
    return observations
