"""From the core's plain data to the wire models: the only place that decides what a response carries.

The pipeline model's ``to_json()`` and the runners' run records (``get_run`` / ``list_runs`` dicts, shaped by the store)
are internal; each field of a response is picked here by name, so a column added to the store does not leak onto the
wire and a field renamed there fails here, in tests. Plain Python; must not import tornado, jupyter_server, the runners
or the store (it only reads the dicts they answer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from .analysis import Analysis
from .runs import (
    LogChunk,
    Run,
    RunList,
    RunOptions,
    RunStep,
    RunSummary,
    StepError,
    StepInput,
    StepOutput,
    VolumeSnapshot,
)

Record = Mapping[str, Any]


def analysis_from_pipeline(data: Record) -> Analysis:
    """``Pipeline.to_json()`` as the Analysis model."""
    return msgspec.convert(data, Analysis)


def run_from_record(record: Record, path: str | None = None) -> Run:
    """A runner's ``get_run`` dict as the Run model; ``path`` is the notebook relative to the server root."""
    return Run(
        **_header(record, path),
        external_url=_text((record.get("options") or {}).get("external_url")),
        parameters=dict(record.get("parameters") or {}),
        options=_options(record.get("options") or {}),
        error=_text(record.get("error")),
        steps=[_step(s) for s in record.get("steps", [])],
    )


def summary_from_record(record: Record, path: str | None = None) -> RunSummary:
    """A runner's ``list_runs`` entry as the RunSummary model."""
    return RunSummary(**_header(record, path), steps={k: int(n) for k, n in (record.get("steps") or {}).items()})


def run_list(records: list[Record], path_of: Callable[[str], str | None] | None = None) -> RunList:
    """``{"runs": [...]}``, the one shape of a run listing; ``path_of(notebook)`` gives each run's ``path``."""
    return RunList(runs=[summary_from_record(r, path_of(r["notebook"]) if path_of else None) for r in records])


def log_chunk(text: str, next_offset: int, status: str) -> LogChunk:
    return msgspec.convert({"text": text, "next_offset": next_offset, "status": status}, LogChunk)


def _header(r: Record, path: str | None) -> dict[str, Any]:
    """The fields a run summary and a full run share."""
    return {
        "run_id": r["run_id"],
        "notebook": r["notebook"],
        "path": path,
        "pipeline": r["pipeline"],
        "status": r["status"],
        "runner": r.get("runner") or "local",
        "external_id": r.get("external_id"),
        "created": r["created"],
        "started": r.get("started"),
        "finished": r.get("finished"),
        "duration_s": r.get("duration_s"),
        "metrics": dict(r.get("metrics") or {}),
        "resumed_from": r.get("resumed_from"),
        "snapshot_id": r.get("snapshot_id"),
    }


def _options(o: Record) -> RunOptions:
    return RunOptions(
        use_cache=bool(o.get("use_cache", True)),
        fail_fast=bool(o.get("fail_fast", False)),
        max_parallel=o.get("max_parallel"),
        launcher=o.get("launcher"),
        volume_snapshots=msgspec.convert(o.get("volume_snapshots") or [], list[VolumeSnapshot]),
    )


def _step(s: Record) -> RunStep:
    return RunStep(
        name=s["name"],
        status=s["status"],
        cached=bool(s.get("cached")),
        cached_from=s.get("cached_from"),
        depends_on=list(s.get("depends_on") or []),
        started=s.get("started"),
        finished=s.get("finished"),
        duration_s=s.get("duration_s"),
        exit_code=s.get("exit_code"),
        error=_step_error(s.get("error")),
        log_path=s.get("log_path"),
        cache_key=s.get("cache_key"),
        timings=s.get("timings"),
        inputs=[
            StepInput(name=i["name"], hash=i["hash"], producer=i["producer"], producer_run=i["producer_run"])
            for i in s.get("inputs") or []
        ],
        outputs=[
            StepOutput(
                name=a["name"],
                serializer=a["serializer"],
                hash=a["hash"],
                size=a["size"],
                type=a["type"],
                path=a["path"],
            )
            for a in s.get("outputs") or []
        ],
    )


def _step_error(e: Record | None) -> StepError | None:
    if not e:
        return None
    return StepError(
        type=_text(e.get("type")),
        message=_text(e.get("message")),
        cell=e.get("cell"),
        line=e.get("line"),
        traceback=_text(e.get("traceback")),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
