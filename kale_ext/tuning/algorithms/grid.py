"""``grid``: every combination of the parameters' values (random, the other algorithm without a model: random_search.py).

grid lists each parameter's values as Katib's ``convert_to_combinations`` does (int: min..max by step, default 1;
double: numpy.arange(min, max + step, step) without a last value above max, every double needs a step; discrete and
categorical: the list) and takes their product in the parameters' order. Katib runs grid through optuna's
GridSampler, which shuffles the product with its seed (0 when none is given) before visiting it; so does this one
(numpy's RandomState, like optuna's), so that a partial grid covers the space evenly and a seed reproduces it. When
every point was suggested (or observed, after a resume) the grid is exhausted: fewer points, then none.

Imports numpy, never the optimizer libraries.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..space import DOUBLE, INT, Objective, Observation, Parameter
from .base import Suggester, assignment_key, plain


def grid_values(param: Parameter) -> list[Any]:
    """The values grid visits for ``param``, in Katib's order (raw values: int, float, or the list's strings).
    Raises ValueError for a double without step or unreadable bounds (validate_settings reports them first)."""
    if param.type == INT:
        int_step = int(float(param.step)) if param.step not in (None, "") else 1
        return list(range(int(param.min), int(param.max) + 1, int_step))  # type: ignore[arg-type]
    if param.type == DOUBLE:
        if param.step in (None, ""):
            raise ValueError(f"parameter {param.name}: grid needs a step for a double")
        low, high, step = float(param.min), float(param.max), float(param.step)  # type: ignore[arg-type]
        values = np.arange(low, high + step, step)
        if len(values) and values[-1] > high:
            values = values[:-1]
        # numpy.arange accumulates 0.1 + 0.2 = 0.30000000000000004: keep the value a person wrote.
        return [float(f"{v:.12g}") for v in values]
    return list(param.values or ())


def grid_size(parameters: Sequence[Parameter]) -> int:
    total = 1
    for p in parameters:
        total *= len(grid_values(p))
    return total


class GridSuggester(Suggester):
    def __init__(self, parameters: Sequence[Parameter], objective: Objective, seed: int | None) -> None:
        super().__init__(parameters, objective)
        points = list(itertools.product(*(grid_values(p) for p in self.parameters)))
        np.random.RandomState(seed or 0).shuffle(points)  # as optuna's GridSampler, so Katib's seed semantics
        self._points = points
        self._next = 0
        self._used: set[tuple[Any, ...]] = set()

    def suggest(self, observations: Sequence[Observation], count: int) -> list[dict[str, Any]]:
        for obs in self._untold(observations):
            self._used.add(assignment_key(self.parameters, obs.assignments))
        out: list[dict[str, Any]] = []
        while len(out) < count and self._next < len(self._points):
            point = self._points[self._next]
            self._next += 1
            assignments = {p.name: plain(v) for p, v in zip(self.parameters, point, strict=True)}
            key = assignment_key(self.parameters, assignments)
            if key in self._used:
                continue
            self._used.add(key)
            out.append(assignments)
        return out
