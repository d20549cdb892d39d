"""``random`` exactly as Katib runs it: its hyperopt suggestion service calling hyperopt 0.2.5's ``rand.suggest``.

Katib's service (pkg/suggestion/v1beta1/hyperopt/base_service.py) keeps one ``numpy.random.RandomState(random_state)``;
each GetSuggestions call draws ``seed = rstate.randint(2**31 - 1)`` and hyperopt samples the call's points from
``RandomState(seed)``. For each point hyperopt draws the parameters in reverse order of their names (its graph is
evaluated from a stack of the sorted labels), with Katib's mapping of the types: a double ``uniform(min, max)``; a
double with a step and every int (whose step defaults to 1) ``round(uniform(min, max) / step) * step``; discrete and
categorical ``randint(len(list))`` as the index of the list entry. So a seed gives the points Katib gives for it, call
by call (a test compares them with Katib's service running hyperopt 0.2.5, the version Katib pins).

One deliberate difference: ``round(u / step) * step`` is a multiple of the step, which may fall below min or above max
when they are not multiples of it (min 0.1, step 0.2 can give 0.0); Katib passes such a value on, this clamps it into
[min, max]. Stepped doubles are written as a person would (0.6, not 0.6000000000000001).

A resumed experiment's fresh suggester skips one seed per finished trial (at least as many as the calls that made
them), so it never replays the seeds its first points came from.

Imports numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..space import DOUBLE, INT, Objective, Observation, Parameter
from .base import Suggester, is_categorical


class RandomSuggester(Suggester):
    def __init__(self, parameters: Sequence[Parameter], objective: Objective, seed: int | None) -> None:
        super().__init__(parameters, objective)
        self._rstate = np.random.RandomState(seed)
        self._order = sorted(self.parameters, key=lambda p: p.name, reverse=True)  # hyperopt's draw order
        self._started = False

    def _draw(self, rng: np.random.RandomState, param: Parameter) -> Any:
        if is_categorical(param):
            values = list(param.values or ())
            return values[int(rng.randint(len(values)))]
        low, high = float(param.min), float(param.max)  # type: ignore[arg-type]
        value = float(rng.uniform(low, high))
        if param.type == INT or (param.type == DOUBLE and param.step not in (None, "")):
            step = float(param.step) if param.step not in (None, "") else 1.0
            value = min(max(float(np.round(value / step) * step), low), high)
            if param.type == INT:
                return int(round(value))
            return float(f"{value:.12g}")
        return value

    def suggest(self, observations: Sequence[Observation], count: int) -> list[dict[str, Any]]:
        new = self._untold(observations)
        if not self._started:
            self._started = True
            for _ in new:  # a resume: the finished trials' calls used at most this many seeds
                self._rstate.randint(2**31 - 1)
        if count <= 0:
            return []
        rng = np.random.RandomState(self._rstate.randint(2**31 - 1))
        out = []
        for _ in range(count):
            point = {p.name: self._draw(rng, p) for p in self._order}
            out.append({p.name: point[p.name] for p in self.parameters})
        return out
