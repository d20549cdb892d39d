"""``tpe``: the Tree-structured Parzen Estimator of optuna (TPESampler, driven by ask/tell).

Katib runs tpe in its hyperopt service; hyperopt is barely maintained, so this uses optuna's TPE, which Katib's own
optuna service also runs (for tpe and multivariate-tpe). The settings keep the names Katib's tpe accepts, mapped onto
optuna's: n_EI_candidates -> n_ei_candidates, prior_weight -> prior_weight, random_state -> seed (else --seed), and
gamma (hyperopt's fraction of good trials, in (0, 1)) -> hyperopt's rule min(ceil(gamma * sqrt(n)), 25) as optuna's
gamma function. The model is multivariate (joint over the parameters) after 5 random trials; parallel points are
asked with constant_liar, as Katib's optuna service does, so that a batch does not pile onto one point. Search space: double uniform on [min, max] (stepped when it has a step), int by its step,
discrete and categorical as their lists: the distributions of Katib's hyperopt and optuna services.

Imports optuna (the ``tune`` extra) when a suggester is built, never at import.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from ..space import DOUBLE, INT, Algorithm, Objective, Observation, Parameter
from .base import AlgorithmUnavailableError, Suggester, assignment_key, is_categorical, plain, raw_value


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise AlgorithmUnavailableError(
            "The tpe algorithm needs optuna, which is not installed: pip install 'kale-ext[tune]'.",
            details={"algorithm": "tpe", "extra": "tune"},
        ) from exc
    return optuna


def distributions(optuna: Any, parameters: Sequence[Parameter]) -> dict[str, Any]:
    d = optuna.distributions
    out: dict[str, Any] = {}
    for p in parameters:
        if p.type == INT:
            int_step = int(float(p.step)) if p.step not in (None, "") else 1
            out[p.name] = d.IntDistribution(int(p.min), int(p.max), step=int_step)  # type: ignore[arg-type]
        elif p.type == DOUBLE:
            step = float(p.step) if p.step not in (None, "") else None
            out[p.name] = d.FloatDistribution(float(p.min), float(p.max), step=step)  # type: ignore[arg-type]
        elif is_categorical(p):
            out[p.name] = d.CategoricalDistribution(list(p.values or ()))
    return out


def _hyperopt_gamma(fraction: float) -> Callable[[int], int]:
    def gamma(n: int) -> int:
        return min(int(math.ceil(fraction * math.sqrt(n))), 25)

    return gamma


# Fixed here rather than left to optuna's defaults, which changed between releases (multivariate and constant_liar
# became defaults in optuna 5). n_startup_trials 5 instead of optuna's 10: on Branin (benchmarks/bench_tuning.py,
# 20 seeds) it is better than Katib's hyperopt tpe after 20 and after 50 trials, sequential and at parallel 3, where
# 10 random trials first lose to it after 20 sequential trials.
DEFAULTS: dict[str, Any] = {"n_startup_trials": 5, "multivariate": True, "constant_liar": True}


def sampler_options(algorithm: Algorithm, seed: int | None) -> dict[str, Any]:
    options: dict[str, Any] = dict(DEFAULTS)
    options["seed"] = seed  # the random_state setting, else --seed (make_suggester resolves it)
    if algorithm.setting("n_EI_candidates") is not None:
        options["n_ei_candidates"] = int(algorithm.setting("n_EI_candidates"))  # type: ignore[arg-type]
    if algorithm.setting("prior_weight") is not None:
        options["prior_weight"] = float(algorithm.setting("prior_weight"))  # type: ignore[arg-type]
    if algorithm.setting("gamma") is not None:
        options["gamma"] = _hyperopt_gamma(float(algorithm.setting("gamma")))  # type: ignore[arg-type]
    return options


class TpeSuggester(Suggester):
    def __init__(
        self, parameters: Sequence[Parameter], objective: Objective, algorithm: Algorithm, seed: int | None
    ) -> None:
        optuna = _optuna()
        super().__init__(parameters, objective)
        self._optuna = optuna
        self._distributions = distributions(optuna, self.parameters)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optuna flags constant_liar as experimental
            sampler = optuna.samplers.TPESampler(**sampler_options(algorithm, seed))
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one INFO line per trial otherwise
        self.study = optuna.create_study(sampler=sampler, direction="minimize")
        self._pending: dict[tuple[Any, ...], list[int]] = defaultdict(list)

    def suggest(self, observations: Sequence[Observation], count: int) -> list[dict[str, Any]]:
        for obs in self._untold(observations):
            self._tell(obs)
        out = []
        for _ in range(max(count, 0)):
            trial = self.study.ask(fixed_distributions=self._distributions)
            assignments = {p.name: plain(trial.params[p.name]) for p in self.parameters}
            self._pending[assignment_key(self.parameters, assignments)].append(trial.number)
            out.append(assignments)
        return out

    def _tell(self, obs: Observation) -> None:
        numbers = self._pending.get(assignment_key(self.parameters, obs.assignments))
        if numbers:
            number = numbers.pop(0)
            if obs.value is None:
                self.study.tell(number, state=self._optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(number, self.loss(obs.value))
        elif obs.value is not None:
            # A trial this suggester did not ask for (a resumed experiment): tell it as a finished trial.
            params = {p.name: raw_value(p, obs.assignments[p.name]) for p in self.parameters}
            self.study.add_trial(
                self._optuna.trial.create_trial(
                    params=params, distributions=self._distributions, value=self.loss(obs.value)
                )
            )
