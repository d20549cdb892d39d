"""A small tunable notebook for the tuning tests: a deterministic objective of pipeline parameters x, y and mode.

``score`` is highest (10.0) at x = 0.3, y = 3 with mode "b"; a trial with ``x`` above ``FAIL_ABOVE`` fails (its step
raises), so tests can count failed trials. The ``load`` step reads no tuned parameter (it sleeps ``load_s``, appends a
line to ``loads.txt`` beside the notebook so that a test can count its executions, and returns data); ``train`` reads
the data and the parameters.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.notebooks import make_notebook

FAIL_ABOVE = 0.9
BEST = {"x": 0.3, "y": 3, "mode": "b"}

KATIB: dict[str, Any] = {
    "parameters": [
        {"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.5", "step": "0.1"}},
        {"name": "y", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "4"}},
    ],
    "objective": {"type": "maximize", "objectiveMetricName": "score", "additionalMetricNames": ["penalty"]},
    "algorithm": {"algorithmName": "grid"},
    "parallelTrialCount": 2,
    "maxTrialCount": 6,
    "maxFailedTrialCount": 2,
}

AUTOML: dict[str, Any] = {
    "parameter": "mode",
    "families": {
        "a": [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.5", "step": "0.1"}}],
        "b": [{"name": "y", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "4"}}],
    },
}


def katib_with(**changes: Any) -> dict[str, Any]:
    """A copy of ``KATIB`` with the top-level fields in ``changes`` replaced."""
    katib = copy.deepcopy(KATIB)
    katib.update(changes)
    return katib


def objective_notebook(
    katib: dict[str, Any] | None = None, automl: dict[str, Any] | None = None, load_s: float = 0.0, train_s: float = 0.0
):
    meta: dict[str, Any] = {
        "kubeflow_notebook": {"katib_metadata": copy.deepcopy(katib if katib is not None else KATIB)}
    }
    if automl is not None:
        meta["kale_ext"] = {"automl": copy.deepcopy(automl)}
    return make_notebook(
        (["imports"], "import os\nimport time"),
        (["pipeline-parameters"], f'x = 0.2\ny = 2\nmode = "a"\nload_s = {load_s!r}\ntrain_s = {train_s!r}'),
        (
            ["step:load"],
            "time.sleep(load_s)\n"
            "with open(os.path.join(os.getcwd(), 'loads.txt'), 'a') as f:\n"
            "    f.write('load\\n')\n"
            "data = [1.0, 2.0, 3.0]",
        ),
        (
            ["step:train", "prev:load"],
            "time.sleep(train_s)\n"
            f"if x > {FAIL_ABOVE}:\n"
            "    raise ValueError('x too large')\n"
            "bonus = 1.0 if mode == 'b' else 0.0\n"
            "score = sum(data) + 3.0 + bonus - 10 * (x - 0.3) ** 2 - (y - 3) ** 2\n"
            "penalty = abs(x - 0.3)",
        ),
        (["pipeline-metrics"], "print(score)\nprint(penalty)"),
        metadata=meta,
    )


def write_objective(folder: Path, name: str = "objective.ipynb", **kwargs: Any) -> str:
    import json

    path = folder / name
    path.write_text(json.dumps(objective_notebook(**kwargs)))
    return str(path)


def loads(folder: Path) -> int:
    path = folder / "loads.txt"
    return len(path.read_text().splitlines()) if path.exists() else 0
