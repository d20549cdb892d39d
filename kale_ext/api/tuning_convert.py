"""From the tuning engine's experiment dicts to the wire models of kale_ext.api.tuning, field by field.

The dicts are the contract's experiment shape (``Tuner.get`` / ``Tuner.list``, the JSON of ``kale-ext experiments
show``); each response field is picked here by name, so a key the engine adds does not leak onto the wire and one it
renames fails here, in tests. Plain Python; must not import tornado, jupyter_server, the runners, the store or the
tuning engine (it only reads the dicts they answer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .tuning import AutoMLResult, Experiment, ExperimentBest, ExperimentList, Trial

Record = Mapping[str, Any]


def experiment_from_record(record: Record, path: str | None = None) -> Experiment:
    """An experiment dict as the Experiment model; ``path`` is the notebook relative to the server root."""
    return Experiment(
        experiment_id=str(record["experiment_id"]),
        notebook=str(record["notebook"]),
        path=path,
        name=str(record.get("name") or ""),
        runner=str(record.get("runner") or "local"),
        external_id=_text(record.get("external_id")),
        status=record["status"],
        created=float(record["created"]),
        finished=_number(record.get("finished")),
        error=_text(record.get("error")),
        reason=_text(record.get("reason")),
        spec=dict(record.get("spec") or {}),
        best=_best(record.get("best")),
        trials=[_trial(t) for t in record.get("trials") or []],
        automl=_automl(record.get("automl")),
        refresh_error=_text(record.get("refresh_error")),
    )


def experiment_list(records: list[Record], path_of: Callable[[str], str | None] | None = None) -> ExperimentList:
    """``{"experiments": [...]}``; ``path_of(notebook)`` gives each experiment's ``path``."""
    return ExperimentList(
        experiments=[experiment_from_record(r, path_of(str(r["notebook"])) if path_of else None) for r in records]
    )


def _best(b: Record | None) -> ExperimentBest | None:
    if not b:
        return None
    return ExperimentBest(
        trial=int(b["trial"]),
        run_id=_text(b.get("run_id")),
        parameters=dict(b.get("parameters") or {}),
        objective=_number(b.get("objective")),
    )


def _trial(t: Record) -> Trial:
    return Trial(
        trial=int(t["trial"]),
        run_id=_text(t.get("run_id")),
        status=t["status"],
        parameters=dict(t.get("parameters") or {}),
        objective=_number(t.get("objective")),
        metrics=dict(t.get("metrics") or {}),
        stage=_text(t.get("stage")),
        created=_number(t.get("created")),
        finished=_number(t.get("finished")),
    )


def _automl(a: Record | None) -> AutoMLResult | None:
    if not a:
        return None
    return AutoMLResult(
        best_family=_text(a.get("best_family")),
        families={str(k): _number(v) for k, v in (a.get("families") or {}).items()},
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
