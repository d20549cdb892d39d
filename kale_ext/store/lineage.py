"""The store's lineage queries: what a run's steps read and wrote, who made an artifact and who used it since.

Read-only functions over a Store's connection, for kale_ext/lineage (the lineage answers and the MLMD export) and
kale_ext/explore.py (a step's exact inputs). Each answers plain dicts of rows; no query runs per step or per
artifact. A resumed run re-records a re-run step's inputs, so the inputs of a (run, step) are the latest lineage row
of each input name. Plain Python (sqlite3 only); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
from typing import Any

from .db import Store

ARTIFACT_COLUMNS = (
    "a.id, a.run_id, a.step, a.name, a.path, a.serializer, a.hash, a.size, a.type, a.role, a.kind, a.created"
)


def run_artifacts(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Every artifact the run's steps wrote (outputs and models; a cached step's are those it took from the cache)."""
    rows = store._conn().execute(
        f"SELECT {ARTIFACT_COLUMNS} FROM artifacts a WHERE a.run_id = ? ORDER BY a.id", (run_id,)
    )
    return [dict(r) for r in rows]


def run_inputs(store: Store, run_id: str, step: str | None = None) -> list[dict[str, Any]]:
    """The artifacts the run's steps (or one step) read: {"consumer", "input", **artifact} (the artifact's run_id and
    step are its producer's), the latest record of each (step, input name)."""
    where, params = ("l.run_id = ?", [run_id]) if step is None else ("l.run_id = ? AND l.step = ?", [run_id, step])
    rows = store._conn().execute(
        f"SELECT l.rowid AS lid, l.step AS consumer, l.name AS input, {ARTIFACT_COLUMNS} FROM lineage l "
        f"JOIN artifacts a ON a.id = l.artifact_id WHERE {where} ORDER BY l.rowid",
        params,
    )
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        latest[(r["consumer"], r["input"])] = {k: r[k] for k in r.keys() if k != "lid"}
    return sorted(latest.values(), key=lambda r: (r["consumer"], r["input"]))


def run_metrics(store: Store, run_id: str) -> list[dict[str, Any]]:
    rows = store._conn().execute("SELECT name, value, step FROM metrics WHERE run_id = ? ORDER BY name", (run_id,))
    return [{"name": r["name"], "value": json.loads(r["value"]), "step": r["step"]} for r in rows]


def hashes_like(store: Store, ref: str) -> list[str]:
    """The distinct artifact or served-model hashes ``ref`` names: a full hash ("sha256:HEX" or HEX) or a prefix of
    at least 8 hex digits of one."""
    text = ref.lower().removeprefix("sha256:")
    if len(text) < 8 or any(ch not in "0123456789abcdef" for ch in text):
        return []
    pattern = "sha256:" + text + "%"
    c = store._conn()
    found = {r["hash"] for r in c.execute("SELECT DISTINCT hash FROM artifacts WHERE hash LIKE ?", (pattern,))}
    found |= {r["hash"] for r in c.execute("SELECT DISTINCT hash FROM served_models WHERE hash LIKE ?", (pattern,))}
    return sorted(found)


def artifacts_with_hash(store: Store, digest: str) -> list[dict[str, Any]]:
    """Every artifact row of that content, with its step's status and cache origin, oldest first."""
    rows = store._conn().execute(
        f"SELECT {ARTIFACT_COLUMNS}, s.status AS step_status, s.cached AS cached, s.cached_from AS cached_from "
        "FROM artifacts a LEFT JOIN steps s ON s.run_id = a.run_id AND s.name = a.step "
        "WHERE a.hash = ? ORDER BY a.created, a.id",
        (digest,),
    )
    return [dict(r) for r in rows]


def consumers_of_hash(store: Store, digest: str) -> list[dict[str, Any]]:
    """Every (run, step, input name) that read an artifact of that content."""
    rows = store._conn().execute(
        "SELECT DISTINCT l.run_id, l.step, l.name, a.run_id AS producer_run, a.step AS producer_step "
        "FROM lineage l JOIN artifacts a ON a.id = l.artifact_id WHERE a.hash = ? ORDER BY l.run_id, l.step, l.name",
        (digest,),
    )
    return [dict(r) for r in rows]


def served_models(store: Store, *, run_id: str | None = None, digest: str | None = None) -> list[dict[str, Any]]:
    """The served versions (live or stopped) made from the run, or of that content."""
    column, value = ("run_id", run_id) if run_id is not None else ("hash", digest)
    rows = store._conn().execute(
        f"SELECT * FROM served_models WHERE {column} = ? ORDER BY name, CAST(version AS INTEGER)", (value,)
    )
    return [dict(r) for r in rows]


def snapshot_row(store: Store, snapshot_id: str) -> dict[str, Any] | None:
    row = store._conn().execute("SELECT * FROM snapshots WHERE snapshot_id = ?", (snapshot_id,)).fetchone()
    return None if row is None else dict(row)


def runs_with_snapshot(store: Store, snapshot_id: str) -> list[dict[str, Any]]:
    rows = store._conn().execute(
        "SELECT run_id, notebook, pipeline, status, created, runner FROM runs WHERE snapshot_id = ? "
        "ORDER BY created, run_id",
        (snapshot_id,),
    )
    return [dict(r) for r in rows]
