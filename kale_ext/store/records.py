"""Run records: the dicts ``Store.get_run`` and ``Store.list_runs`` answer, assembled from a fixed set of queries.

A run's record needs five queries whatever its size (the run, its steps, its artifacts, its lineage, its metrics) and a
list of runs three (the runs, their step counts, their metrics); the rows are grouped here, in Python, never fetched
per step or per run. The queries run inside one read snapshot, so a record is never half before a driver's write and
half after it. Plain Python (sqlite3 only); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

from ..errors import NotFoundError
from .connection import Connection

OUTPUT_KEYS = ("name", "serializer", "hash", "size", "type", "path")

# The runs a list selects; both constant texts, chosen by whether a notebook is given (its parameter comes first).
_SELECT_ALL = "SELECT * FROM runs ORDER BY created DESC, run_id DESC LIMIT ?"
_SELECT_NOTEBOOK = "SELECT * FROM runs WHERE notebook = ? ORDER BY created DESC, run_id DESC LIMIT ?"


def run_record(c: Connection, run_id: str, folder: str) -> dict[str, Any]:
    """The run as a JSON-able dict (the shape of ``kale-ext runs show --json``); NotFoundError if it is unknown."""
    with c.snapshot():
        r = c.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"No run {run_id!r} in the store {folder}.", code="run.not_found")
        steps = c.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY position", (run_id,)).fetchall()
        outputs = _by_step(
            c.execute(
                "SELECT step, name, serializer, hash, size, type, path FROM artifacts WHERE run_id = ? AND role = 'output' "
                "ORDER BY id",
                (run_id,),
            ),
            OUTPUT_KEYS,
        )
        inputs = _by_step(
            c.execute(
                "SELECT l.step AS step, l.name, a.hash, a.step AS producer, a.run_id AS producer_run FROM lineage l "
                "JOIN artifacts a ON a.id = l.artifact_id WHERE l.run_id = ? ORDER BY l.step, l.name",
                (run_id,),
            ),
            ("name", "hash", "producer", "producer_run"),
        )
        metrics = _metrics(c.execute("SELECT name, value FROM metrics WHERE run_id = ? ORDER BY name", (run_id,)))
    return {
        **_header(r, metrics),
        "parameters": _literal_dict(json.loads(r["parameters"])),
        "options": json.loads(r["options"]),
        "error": r["error"],
        "steps": [_step(s, inputs.get(s["name"], []), outputs.get(s["name"], [])) for s in steps],
    }


def run_summaries(c: Connection, notebook: str | None, limit: int) -> list[dict[str, Any]]:
    """Newest first; each a summary whose "steps" counts the steps by status."""
    select, params = (_SELECT_ALL, (limit,)) if notebook is None else (_SELECT_NOTEBOOK, (notebook, limit))
    selected = f"SELECT run_id FROM ({select})"
    with c.snapshot():
        rows = c.execute(select, params).fetchall()
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for row in c.execute(
            f"SELECT run_id, status, count(*) AS n FROM steps WHERE run_id IN ({selected}) GROUP BY run_id, status",
            params,
        ):
            counts[row["run_id"]][row["status"]] = row["n"]
        metrics: dict[str, list[Any]] = defaultdict(list)
        for row in c.execute(
            f"SELECT run_id, name, value FROM metrics WHERE run_id IN ({selected}) ORDER BY run_id, name", params
        ):
            metrics[row["run_id"]].append(row)
    return [{**_header(r, _metrics(metrics.get(r["run_id"], []))), "steps": counts.get(r["run_id"], {})} for r in rows]


def _header(r: Any, metrics: dict[str, Any]) -> dict[str, Any]:
    """The fields a run's summary and its full record share."""
    return {
        "run_id": r["run_id"],
        "notebook": r["notebook"],
        "pipeline": r["pipeline"],
        "status": r["status"],
        "created": r["created"],
        "started": r["started"],
        "finished": r["finished"],
        "duration_s": _duration(r["started"], r["finished"]),
        "metrics": metrics,
        "resumed_from": r["resumed_from"],
        "runner": r["runner"],
        "external_id": r["external_id"],
        "snapshot_id": r["snapshot_id"],  # the run's workspace snapshot (None: none was taken)
    }


def _step(s: Any, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": s["name"],
        "status": s["status"],
        "cached": bool(s["cached"]),
        "cached_from": s["cached_from"],
        "depends_on": json.loads(s["depends_on"]),
        "started": s["started"],
        "finished": s["finished"],
        "duration_s": _duration(s["started"], s["finished"]),
        "exit_code": s["exit_code"],
        "error": json.loads(s["error"]) if s["error"] else None,
        "log_path": s["log_path"],
        "cache_key": s["cache_key"],
        "timings": json.loads(s["timings"]) if s["timings"] else None,
        "inputs": inputs,
        "outputs": outputs,
    }


def _by_step(rows: Any, keys: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by their "step" column, in query order, each as a dict of ``keys``."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row["step"]].append({k: row[k] for k in keys})
    return out


def _metrics(rows: Any) -> dict[str, Any]:
    return {m["name"]: json.loads(m["value"]) for m in rows}


def _duration(start: float | None, end: float | None) -> float | None:
    if start is None:
        return None
    return round((end if end is not None else time.time()) - start, 3)


def _literal_dict(params: dict[str, str]) -> dict[str, Any]:
    from ..syntax import literal_or_text

    return {k: literal_or_text(v) for k, v in params.items()}
