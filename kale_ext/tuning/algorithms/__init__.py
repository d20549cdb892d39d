"""The search algorithms of local experiments, with Katib's names, settings and semantics.

- ``random`` (random_search.RandomSuggester): Katib's hyperopt random search, the same points for the same seed;
  setting random_state.
- ``grid`` (grid.GridSuggester): the product of every parameter's values (a double needs a step), visited in a
  seeded shuffled order like Katib's optuna GridSampler, fewer points once exhausted; setting random_state.
- ``bayesianoptimization`` (bayesian.BayesianSuggester): scikit-optimize exactly as Katib's skopt service runs it
  (GP, 10 initial points, gp_hedge, doubles log-uniform); settings base_estimator, n_initial_points, acq_func,
  acq_optimizer, random_state.
- ``tpe`` (tpe.TpeSuggester): optuna's TPESampler; settings gamma, prior_weight, n_EI_candidates, random_state.

``validate_settings`` names every problem (settings.py); ``make_suggester`` builds the suggester the engine calls
like Katib's GetSuggestions. A seed (--seed) is the random_state of every algorithm unless its settings give one.

Plain Python: never imports tornado or jupyter_server; numpy, scikit-optimize and optuna only when a suggester is
built (the server imports this at start-up, and validating an experiment needs none of them).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..space import Algorithm, Objective, Parameter
from .base import AlgorithmUnavailableError, Suggester, drive, raw_value
from .settings import LOCAL_ALGORITHMS, SETTINGS, validate_settings

__all__ = [
    "LOCAL_ALGORITHMS",
    "SETTINGS",
    "AlgorithmUnavailableError",
    "Suggester",
    "drive",
    "make_suggester",
    "raw_value",
    "validate_settings",
]


def make_suggester(
    parameters: Sequence[Parameter], objective: Objective, algorithm: Algorithm, seed: int | None = None
) -> Suggester:
    """The suggester of ``algorithm`` for this search space (validate_settings first: this assumes valid input)."""
    name = algorithm.name
    random_state = algorithm.setting("random_state")
    if random_state is not None:
        seed = int(random_state)
    if name == "random":
        from .random_search import RandomSuggester

        return RandomSuggester(parameters, objective, seed)
    if name == "grid":
        from .grid import GridSuggester

        return GridSuggester(parameters, objective, seed)
    if name == "bayesianoptimization":
        from .bayesian import BayesianSuggester

        return BayesianSuggester(parameters, objective, algorithm, seed)
    if name == "tpe":
        from .tpe import TpeSuggester

        return TpeSuggester(parameters, objective, algorithm, seed)
    raise AlgorithmUnavailableError(
        f"Algorithm {name!r} runs only on Katib (--backend katib); locally use one of {', '.join(LOCAL_ALGORITHMS)}.",
        details={"algorithm": name},
    )
