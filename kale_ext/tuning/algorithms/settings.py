"""Katib's per-algorithm rules for algorithmSettings and for the parameters an algorithm can search.

The rules are those of Katib's suggestion services' ValidateAlgorithmSettings (skopt's for bayesianoptimization,
hyperopt's for random and tpe, optuna's for grid: the services katib-config maps those names to), plus what makes
the suggestion itself fail there (a log-uniform double with min <= 0, a grid double without step, an acquisition
function that needs trial durations). Katib stops at the first problem; here every problem is reported, each a
sentence naming the setting or parameter and the fix.

Plain Python (stdlib only).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence

from ..space import DOUBLE, INT, KATIB_ALGORITHMS, Algorithm, Parameter

LOCAL_ALGORITHMS = ("random", "grid", "bayesianoptimization", "tpe")

BASE_ESTIMATORS = ("GP", "RF", "ET", "GBRT")
ACQ_FUNCS = ("gp_hedge", "LCB", "EI", "PI", "EIps", "PIps")
ACQ_OPTIMIZERS = ("auto", "sampling", "lbfgs")

# name -> (check of the string value returning a problem or None); the settings each algorithm accepts.
Check = Callable[[str, str, str], "str | None"]


def _number(kind: type, test: Callable[[float], bool], rule: str) -> Check:
    def check(algorithm: str, name: str, value: str) -> str | None:
        try:
            number = kind(value)
        except (TypeError, ValueError):
            return f"Setting {name} of {algorithm} must be {rule}; found {value!r}: write a number."
        if not test(number):
            return f"Setting {name} of {algorithm} must be {rule}; found {value}."
        return None

    return check


def _choice(choices: Sequence[str]) -> Check:
    def check(algorithm: str, name: str, value: str) -> str | None:
        if value in choices:
            return None
        return f"Setting {name} of {algorithm} is {value!r}, which Katib does not support: use one of {', '.join(choices)}."

    return check


_RANDOM_STATE = _number(int, lambda v: v >= 0, "an integer >= 0")
SETTINGS: dict[str, dict[str, Check]] = {
    # Katib's skopt service (OptimizerConfiguration._validate_bayesianoptimization_setting).
    "bayesianoptimization": {
        "base_estimator": _choice(BASE_ESTIMATORS),
        "n_initial_points": _number(int, lambda v: v >= 0, "an integer >= 0"),
        "acq_func": _choice(ACQ_FUNCS),
        "acq_optimizer": _choice(ACQ_OPTIMIZERS),
        "random_state": _RANDOM_STATE,
    },
    # Katib's hyperopt service (random and tpe both run there).
    "random": {"random_state": _RANDOM_STATE},
    "tpe": {
        "gamma": _number(float, lambda v: 0 < v < 1, "a number strictly between 0 and 1"),
        "prior_weight": _number(float, lambda v: v > 0, "a number > 0"),
        "n_EI_candidates": _number(int, lambda v: v > 0, "an integer > 0"),
        "random_state": _RANDOM_STATE,
    },
    # Katib's optuna service (grid).
    "grid": {"random_state": _RANDOM_STATE},
}


def validate_settings(
    algorithm: Algorithm,
    parameters: Sequence[Parameter],
    *,
    local: bool = True,
    max_trial_count: int | None = None,
) -> list[str]:
    """Every problem with ``algorithm``'s settings and with ``parameters`` for it; empty when fine.

    ``local``: the experiment runs on this machine, so the algorithm must be one of LOCAL_ALGORITHMS (on Katib, its
    other algorithms are accepted without setting checks). ``max_trial_count``: also check Katib's grid rule that
    maxTrialCount does not exceed the number of grid points (Katib refuses such an experiment; the local engine
    instead stops when the grid is exhausted, so pass it only for Katib)."""
    name = algorithm.name
    if name not in SETTINGS:
        if name not in KATIB_ALGORITHMS:
            return [f"Algorithm {name!r} is not one of Katib's: use one of {', '.join(KATIB_ALGORITHMS)}."]
        if local:
            return [
                f"Algorithm {name!r} runs only on Katib (--backend katib); locally use one of "
                f"{', '.join(LOCAL_ALGORITHMS)}."
            ]
        return []
    problems = _setting_problems(algorithm)
    if local and name == "tpe" and importlib.util.find_spec("optuna") is None:
        # Said here, with the experiment's other problems, rather than when the first trial asks for points.
        problems.append("Algorithm tpe needs optuna, which is not installed: pip install 'kale-ext[tune]'.")
    if name == "bayesianoptimization":
        problems += _bayesian_problems(algorithm, parameters)
    elif name == "grid":
        problems += _grid_problems(parameters, max_trial_count)
    return problems


def _setting_problems(algorithm: Algorithm) -> list[str]:
    accepted = SETTINGS[algorithm.name]
    problems = []
    seen: set[str] = set()
    for key, value in algorithm.settings:
        if key in seen:
            problems.append(f"Setting {key} of {algorithm.name} is given twice: keep one.")
        seen.add(key)
        check = accepted.get(key)
        if check is None:
            problems.append(
                f"Unknown setting {key!r} for algorithm {algorithm.name}: its settings are {', '.join(accepted)}."
            )
            continue
        problem = check(algorithm.name, key, str(value))
        if problem:
            problems.append(problem)
    return problems


def _bounds(param: Parameter) -> tuple[float, float] | None:
    try:
        return float(param.min), float(param.max)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None  # tuning.spec reports unreadable bounds


def _bayesian_problems(algorithm: Algorithm, parameters: Sequence[Parameter]) -> list[str]:
    problems = []
    acq_func = algorithm.setting("acq_func", "gp_hedge")
    if acq_func in ("EIps", "PIps"):
        problems.append(
            f"Setting acq_func of bayesianoptimization is {acq_func}, which needs every trial's duration told to "
            "scikit-optimize; Katib tells only the objective, so its suggestion fails: use gp_hedge, LCB, EI or PI."
        )
    estimator = algorithm.setting("base_estimator", "GP")
    if estimator in ("RF", "ET", "GBRT") and algorithm.setting("acq_optimizer") == "lbfgs":
        problems.append(
            f"Setting acq_optimizer lbfgs needs a gradient, which base_estimator {estimator} does not have: "
            "set acq_optimizer to sampling or auto."
        )
    for p in parameters:
        if p.type not in (DOUBLE, INT):
            continue
        bounds = _bounds(p)
        if bounds is None:
            continue
        low, high = bounds
        if p.type == DOUBLE and low <= 0:
            problems.append(
                f"Parameter {p.name} is a double with min {p.min}: bayesianoptimization searches doubles on a "
                "log-uniform scale (as Katib runs scikit-optimize), which needs min > 0; raise min above 0 or use "
                "another algorithm."
            )
        if low >= high:
            problems.append(
                f"Parameter {p.name} has min {p.min} and max {p.max}: bayesianoptimization needs min < max; widen the "
                "range or make it a fixed pipeline parameter."
            )
    return problems


def _grid_problems(parameters: Sequence[Parameter], max_trial_count: int | None) -> list[str]:
    from .grid import grid_values

    problems = []
    sizes = []
    for p in parameters:
        if p.type == DOUBLE and (p.step is None or str(p.step).strip() == ""):
            problems.append(
                f"Parameter {p.name} is a double without step: grid needs a step for every double to list its "
                "values; add feasibleSpace.step."
            )
            continue
        if p.type in (DOUBLE, INT) and p.step not in (None, ""):
            try:
                step = float(p.step)
            except ValueError:
                continue  # tuning.spec reports an unreadable step
            if step <= 0 or (p.type == INT and step != int(step)):
                kind = "a positive integer" if p.type == INT else "a number > 0"
                problems.append(f"Parameter {p.name} has step {p.step}: grid needs {kind}.")
                continue
        try:
            sizes.append(len(grid_values(p)))
        except ValueError:
            continue  # bounds tuning.spec reports
    if max_trial_count is not None and not problems and len(sizes) == len(parameters):
        total = 1
        for size in sizes:
            total *= size
        if max_trial_count > total:
            problems.append(
                f"maxTrialCount {max_trial_count} is more than the grid's {total} points: Katib refuses it; lower "
                "maxTrialCount or add values."
            )
    return problems
