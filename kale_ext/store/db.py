"""The SQLite run store: writes, the cache lookup, and the recovery of runs whose driver died.

One connection per thread; WAL lets the UI read while a driver writes. Opening a store brings its schema up to date
(schema.py) and decides nothing about its runs. Each run carries its backend (``runner``: "local", later "kfp") and that
backend's id for it (``external_id``), and only the backend that owns a run decides whether it is interrupted: the local
runner calls ``recover_interrupted("local")`` when it opens a store, which marks the local runs whose driver process
died (killed, crashed, machine rebooted; found by pid and process start time) "interrupted" and their unfinished steps
"cancelled". Such a run keeps its plan (step specs), so it can be resumed: succeeded steps are found again through their
cache keys. Records are assembled in records.py. Plain Python (sqlite3 only); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import NotFoundError
from ..runners.local.identity import driver_alive, process_token
from . import records
from .connection import Connection, StoreError, connect
from .experiments import Experiments
from .schema import migrate
from .served import ServedModels

ENV_HOME = "KALE_EXT_HOME"
RUN_FINAL = ("succeeded", "failed", "cancelled", "interrupted")
STEP_FINAL = ("succeeded", "cached", "failed", "cancelled", "skipped")


def store_dir_for(notebook_path: str) -> str:
    """$KALE_EXT_HOME if set, else ``.kale`` beside the notebook."""
    home = os.environ.get(ENV_HOME)
    if home:
        return os.path.abspath(os.path.expanduser(home))
    return os.path.join(os.path.dirname(os.path.abspath(notebook_path)), ".kale")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


# The columns update_run / update_step may set (the SQL names only these constants, never a caller's keyword).
RUN_COLUMNS = frozenset(
    {"status", "started", "finished", "error", "driver_pid", "driver_token", "driver_signal", "external_id"}
)
STEP_COLUMNS = frozenset(
    {
        "status",
        "cached",
        "cached_from",
        "cache_key",
        "started",
        "finished",
        "exit_code",
        "pid",
        "log_path",
        "error",
        "timings",
    }
)
INTERRUPTED = "The process driving this run stopped before it finished; resume it to continue."


class Store(ServedModels, Experiments):
    def __init__(self, folder: str) -> None:
        self.folder = os.path.abspath(folder)
        self.path = os.path.join(self.folder, "kale.db")
        self._local = threading.local()
        try:
            os.makedirs(self.folder, exist_ok=True)
            migrate(self._conn(), self.folder)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"Cannot open the run store at {self.folder} ({type(exc).__name__}: {exc}). "
                f"Fix: make that folder writable, or set {ENV_HOME} to a writable folder.",
                details={"folder": self.folder},
            ) from None

    def _conn(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn

    def runs_dir(self, run_id: str) -> str:
        return os.path.join(self.folder, "runs", run_id)

    # ------------------------------------------------------------------------------------------------------- writes
    def create_run(
        self,
        *,
        run_id: str,
        notebook: str,
        pipeline: str,
        parameters: dict[str, str],
        options: dict[str, Any],
        plan: list[dict[str, Any]],
        metric_sources: dict[str, str],
        resumed_from: str | None = None,
        driver_signal: str | None = None,
        runner: str = "local",
        external_id: str | None = None,
    ) -> None:
        """The driver is this process; ``driver_signal`` (e.g. "SIGTERM") is the signal on which it cancels the run
        cleanly, or None when other processes must not signal it. ``runner`` names the backend that owns the run and
        ``external_id`` is that backend's id for it (a KFP run id), unique per runner; None for local runs."""
        now = time.time()
        pid = os.getpid()
        with self._conn() as c:
            c.execute(
                "INSERT INTO runs (run_id, notebook, pipeline, status, created, parameters, options, plan, "
                "metric_sources, driver_pid, driver_token, driver_signal, resumed_from, runner, external_id) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    notebook,
                    pipeline,
                    "queued",
                    now,
                    json.dumps(parameters),
                    json.dumps(options),
                    json.dumps(plan),
                    json.dumps(metric_sources),
                    pid,
                    process_token(pid),
                    driver_signal,
                    resumed_from,
                    runner,
                    external_id,
                ),
            )
            c.executemany(
                "INSERT INTO steps (run_id, name, position, status, depends_on, log_path) VALUES (?,?,?,?,?,?)",
                [
                    (
                        run_id,
                        s["name"],
                        i,
                        "queued",
                        json.dumps(s["depends_on"]),
                        os.path.join(self.runs_dir(run_id), s["name"], "log.txt"),
                    )
                    for i, s in enumerate(plan)
                ],
            )

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set columns of the run (names in RUN_COLUMNS; dicts and lists are stored as JSON)."""
        self._update("runs", RUN_COLUMNS, "run_id = ?", (run_id,), fields)

    def update_step(self, run_id: str, name: str, **fields: Any) -> None:
        """Set columns of the step (names in STEP_COLUMNS; dicts and lists are stored as JSON)."""
        self._update("steps", STEP_COLUMNS, "run_id = ? AND name = ?", (run_id, name), fields)

    def _update(
        self, table: str, allowed: frozenset[str], where: str, key: tuple[Any, ...], fields: dict[str, Any]
    ) -> None:
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise ValueError(
                f"Cannot set {', '.join(map(repr, unknown))} on {table}: not a column that may be updated "
                f"(one of {', '.join(sorted(allowed))})."
            )
        columns = sorted(allowed.intersection(fields))  # the SQL text comes from the constant set only
        if not columns:
            return
        values = [json.dumps(fields[k]) if isinstance(fields[k], dict | list) else fields[k] for k in columns]
        assignments = ", ".join(f"{k} = ?" for k in columns)
        with self._conn() as c:
            c.execute(f"UPDATE {table} SET {assignments} WHERE {where}", (*values, *key))

    def record_artifacts(self, run_id: str, step: str, entries: list[dict[str, Any]]) -> dict[str, int]:
        """Each entry a manifest entry, with optionally "role" ("output", the default, or "model": a model no later
        step reads) and "kind" (the serving kind of a model); answers {name: artifact id}."""
        now = time.time()
        ids: dict[str, int] = {}
        with self._conn() as c:
            for e in entries:
                cur = c.execute(
                    "INSERT INTO artifacts (run_id, step, name, path, serializer, hash, size, type, created, role, "
                    "kind) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id,
                        step,
                        e["name"],
                        e["path"],
                        e["serializer"],
                        e["hash"],
                        e["size"],
                        e["type"],
                        now,
                        e.get("role") or "output",
                        e.get("kind"),
                    ),
                )
                assert cur.lastrowid is not None  # an INSERT into a rowid table always sets it
                ids[e["name"]] = cur.lastrowid
        return ids

    def record_lineage(self, run_id: str, step: str, inputs: dict[str, int]) -> None:
        with self._conn() as c:
            c.executemany(
                "INSERT INTO lineage (run_id, step, name, artifact_id) VALUES (?,?,?,?)",
                [(run_id, step, name, aid) for name, aid in inputs.items()],
            )

    def record_metrics(self, run_id: str, metrics: dict[str, Any], step: str | None) -> None:
        with self._conn() as c:
            c.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, name, value, step) VALUES (?,?,?,?)",
                [(run_id, k, json.dumps(v), step) for k, v in metrics.items()],
            )

    # ------------------------------------------------------------------------------------------------------- reads
    def find_cached(self, cache_key: str) -> dict[str, Any] | None:
        """The latest successful execution with this key whose output files all still exist."""
        c = self._conn()
        rows = c.execute(
            "SELECT run_id, name FROM steps WHERE cache_key = ? AND status IN ('succeeded', 'cached') "
            "ORDER BY finished DESC LIMIT 5",
            (cache_key,),
        ).fetchall()
        for row in rows:
            arts = self.step_artifacts(row["run_id"], row["name"])
            if all(os.path.exists(a["path"]) for a in arts):
                metrics = {
                    r["name"]: json.loads(r["value"])
                    for r in c.execute(
                        "SELECT name, value FROM metrics WHERE run_id = ? AND step = ?", (row["run_id"], row["name"])
                    )
                }
                return {"run_id": row["run_id"], "step": row["name"], "artifacts": arts, "metrics": metrics}
        return None

    def step_artifacts(self, run_id: str, step: str) -> list[dict[str, Any]]:
        rows = (
            self._conn()
            .execute(
                "SELECT id, name, path, serializer, hash, size, type, role, kind FROM artifacts "
                "WHERE run_id = ? AND step = ? ORDER BY id",
                (run_id, step),
            )
            .fetchall()
        )
        return [dict(r) for r in rows]

    def run_row(self, run_id: str) -> dict[str, Any]:
        row = self._conn().execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"No run {run_id!r} in the store {self.folder}.", code="run.not_found")
        return dict(row)

    def has_run(self, run_id: str) -> bool:
        return self._conn().execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run as a JSON-able dict (the shape of `kale-ext runs show --json`), in five queries (records.py)."""
        return records.run_record(self._conn(), run_id, self.folder)

    def list_runs(self, notebook: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first; each a summary (no steps' details), in three queries whatever their number (records.py)."""
        return records.run_summaries(self._conn(), None if notebook is None else os.path.abspath(notebook), limit)

    def find_run_by_external_id(self, runner: str, external_id: str) -> dict[str, Any] | None:
        """The run that backend ``runner`` knows as ``external_id`` (e.g. a KFP run id), or None."""
        row = (
            self._conn()
            .execute("SELECT run_id FROM runs WHERE runner = ? AND external_id = ?", (runner, external_id))
            .fetchone()
        )
        return None if row is None else self.get_run(row["run_id"])

    # ------------------------------------------------------------------------------------------------------ recovery
    def recover_interrupted(
        self, runner: str = "local", *, alive: Callable[[int | None, str | None], bool] = driver_alive
    ) -> list[str]:
        """Mark ``runner``'s unfinished runs whose driver process is gone (``alive(pid, token)`` is false) as
        interrupted, and their unfinished steps as cancelled; the runs of other backends are not looked at. Called by
        the backend that owns the runs (the local runner, when it opens a store); returns the runs it marked."""
        c = self._conn()
        rows = c.execute(
            "SELECT run_id, driver_pid, driver_token FROM runs WHERE runner = ? AND status IN ('queued', 'running')",
            (runner,),
        ).fetchall()
        lost = [r["run_id"] for r in rows if not alive(r["driver_pid"], r["driver_token"])]
        now = time.time()
        for run_id in lost:
            with c:
                c.execute(
                    "UPDATE runs SET status = 'interrupted', finished = ?, error = ? "
                    "WHERE run_id = ? AND status IN ('queued', 'running')",
                    (now, INTERRUPTED, run_id),
                )
                c.execute(
                    "UPDATE steps SET status = 'cancelled', finished = coalesce(finished, ?) "
                    "WHERE run_id = ? AND status IN ('queued', 'running')",
                    (now, run_id),
                )
        return lost
