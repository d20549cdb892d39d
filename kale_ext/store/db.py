"""The SQLite run store. One connection per thread; WAL lets the UI read while a driver writes.

A run whose driver process died (killed, crashed, machine rebooted) is found on open by its driver's pid and process start
time and marked "interrupted"; its unfinished steps become "cancelled". The run keeps its plan (step specs), so it can be
resumed: succeeded steps are found again through their cache keys.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from typing import Any

from ..errors import KaleError, NotFoundError
from ..runners.local.identity import driver_alive, process_token

ENV_HOME = "KALE_EXT_HOME"
RUN_FINAL = ("succeeded", "failed", "cancelled", "interrupted")
STEP_FINAL = ("succeeded", "cached", "failed", "cancelled", "skipped")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    notebook TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    parameters TEXT NOT NULL,      -- {name: python literal source}
    options TEXT NOT NULL,         -- {use_cache, fail_fast, max_parallel}
    plan TEXT NOT NULL,            -- [StepSpec JSON], enough to resume
    metric_sources TEXT NOT NULL,
    driver_pid INTEGER,
    driver_token TEXT,
    driver_signal TEXT,            -- the signal that makes the driver cancel the run (another process may send it)
    resumed_from TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_notebook ON runs(notebook, created);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    cached INTEGER NOT NULL DEFAULT 0,
    cached_from TEXT,              -- run_id whose outputs were reused
    cache_key TEXT,
    depends_on TEXT NOT NULL,
    started REAL,
    finished REAL,
    exit_code INTEGER,
    pid INTEGER,
    log_path TEXT,
    error TEXT,                    -- {type, message, cell, line, traceback}
    timings TEXT,
    PRIMARY KEY (run_id, name)
);
CREATE INDEX IF NOT EXISTS steps_cache ON steps(cache_key, status);
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    serializer TEXT NOT NULL,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    type TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_step ON artifacts(run_id, step);
CREATE TABLE IF NOT EXISTS lineage (          -- step (run_id, step) consumed artifact as input `name`
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    name TEXT NOT NULL,
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id)
);
CREATE INDEX IF NOT EXISTS lineage_step ON lineage(run_id, step);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    step TEXT,
    PRIMARY KEY (run_id, name)
);
"""


class StoreError(KaleError):
    status = 500
    code = "store.unavailable"


def store_dir_for(notebook_path: str) -> str:
    """$KALE_EXT_HOME if set, else ``.kale`` beside the notebook."""
    home = os.environ.get(ENV_HOME)
    if home:
        return os.path.abspath(os.path.expanduser(home))
    return os.path.join(os.path.dirname(os.path.abspath(notebook_path)), ".kale")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


class Store:
    def __init__(self, folder: str) -> None:
        self.folder = os.path.abspath(folder)
        self.path = os.path.join(self.folder, "kale.db")
        self._local = threading.local()
        try:
            os.makedirs(self.folder, exist_ok=True)
            self._conn().executescript(SCHEMA)
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"Cannot open the run store at {self.folder} ({type(exc).__name__}: {exc}). "
                f"Fix: make that folder writable, or set {ENV_HOME} to a writable folder.",
                details={"folder": self.folder},
            ) from None
        self.recover_interrupted()

    def _migrate(self) -> None:
        """Add the columns that stores made by older versions lack."""
        c = self._conn()
        columns = {r["name"] for r in c.execute("PRAGMA table_info(runs)")}
        if "driver_signal" not in columns:
            try:
                c.execute("ALTER TABLE runs ADD COLUMN driver_signal TEXT")
            except sqlite3.OperationalError as exc:  # another process added it meanwhile
                if "duplicate column" not in str(exc):
                    raise

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = _Tx(conn)
            conn = self._local.conn
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
    ) -> None:
        """The driver is this process; ``driver_signal`` (e.g. "SIGTERM") is the signal on which it cancels the run
        cleanly, or None when other processes must not signal it."""
        now = time.time()
        pid = os.getpid()
        with self._conn() as c:
            c.execute(
                "INSERT INTO runs (run_id, notebook, pipeline, status, created, parameters, options, plan, "
                "metric_sources, driver_pid, driver_token, driver_signal, resumed_from) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
        self._update("runs", "run_id = ?", (run_id,), fields)

    def update_step(self, run_id: str, name: str, **fields: Any) -> None:
        self._update("steps", "run_id = ? AND name = ?", (run_id, name), fields)

    def _update(self, table: str, where: str, key: tuple, fields: dict[str, Any]) -> None:
        cols = []
        values = []
        for k, v in fields.items():
            cols.append(f"{k} = ?")
            values.append(json.dumps(v) if isinstance(v, dict | list) else v)
        with self._conn() as c:
            c.execute(f"UPDATE {table} SET {', '.join(cols)} WHERE {where}", (*values, *key))

    def record_artifacts(self, run_id: str, step: str, entries: list[dict[str, Any]]) -> dict[str, int]:
        now = time.time()
        ids = {}
        with self._conn() as c:
            for e in entries:
                cur = c.execute(
                    "INSERT INTO artifacts (run_id, step, name, path, serializer, hash, size, type, created) "
                    "VALUES (?,?,?,?,?,?,?,?,?)",
                    (run_id, step, e["name"], e["path"], e["serializer"], e["hash"], e["size"], e["type"], now),
                )
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
                "SELECT id, name, path, serializer, hash, size, type FROM artifacts WHERE run_id = ? AND step = ? ORDER BY id",
                (run_id, step),
            )
            .fetchall()
        )
        return [dict(r) for r in rows]

    def step_inputs(self, run_id: str, step: str) -> list[dict[str, Any]]:
        """Lineage: the artifacts a step read, with the step (and run) that produced each."""
        rows = (
            self._conn()
            .execute(
                "SELECT l.name, a.hash, a.step AS producer, a.run_id AS producer_run FROM lineage l "
                "JOIN artifacts a ON a.id = l.artifact_id WHERE l.run_id = ? AND l.step = ? ORDER BY l.name",
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
        """The run as a JSON-able dict (the shape of the REST resource and of `kale-ext runs show --json`)."""
        r = self.run_row(run_id)
        c = self._conn()
        steps = []
        for s in c.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY position", (run_id,)):
            steps.append(
                {
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
                    "inputs": self.step_inputs(run_id, s["name"]),
                    "outputs": [
                        {k: a[k] for k in ("name", "serializer", "hash", "size", "type", "path")}
                        for a in self.step_artifacts(run_id, s["name"])
                    ],
                }
            )
        return {
            **self._run_header(c, r),
            "parameters": _literal_dict(json.loads(r["parameters"])),
            "options": json.loads(r["options"]),
            "error": r["error"],
            "steps": steps,
        }

    @staticmethod
    def _run_header(c: sqlite3.Connection, r: sqlite3.Row) -> dict[str, Any]:
        """The fields a run's summary and its full record share."""
        metrics = {
            m["name"]: json.loads(m["value"])
            for m in c.execute("SELECT name, value FROM metrics WHERE run_id = ? ORDER BY name", (r["run_id"],))
        }
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
        }

    def list_runs(self, notebook: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first; each a summary (no steps' details)."""
        c = self._conn()
        if notebook is None:
            rows = c.execute("SELECT * FROM runs ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
        else:
            rows = c.execute(
                "SELECT * FROM runs WHERE notebook = ? ORDER BY created DESC LIMIT ?",
                (os.path.abspath(notebook), limit),
            ).fetchall()
        out = []
        for r in rows:
            counts = {
                row["status"]: row["n"]
                for row in c.execute(
                    "SELECT status, count(*) AS n FROM steps WHERE run_id = ? GROUP BY status", (r["run_id"],)
                )
            }
            out.append({**self._run_header(c, r), "steps": counts})
        return out

    # ------------------------------------------------------------------------------------------------------ recovery
    def recover_interrupted(self) -> list[str]:
        """Mark runs whose driver process is gone as interrupted (and their unfinished steps as cancelled)."""
        c = self._conn()
        rows = c.execute(
            "SELECT run_id, driver_pid, driver_token FROM runs WHERE status IN ('queued', 'running')"
        ).fetchall()
        lost = [r["run_id"] for r in rows if not driver_alive(r["driver_pid"], r["driver_token"])]
        now = time.time()
        for run_id in lost:
            with c:
                c.execute(
                    "UPDATE runs SET status = 'interrupted', finished = ?, error = ? WHERE run_id = ?",
                    (now, "The process driving this run stopped before it finished; resume it to continue.", run_id),
                )
                c.execute(
                    "UPDATE steps SET status = 'cancelled', finished = coalesce(finished, ?) "
                    "WHERE run_id = ? AND status IN ('queued', 'running')",
                    (now, run_id),
                )
        return lost


class _Tx:
    """A connection whose ``with`` block is one transaction (BEGIN IMMEDIATE ... COMMIT/ROLLBACK); nestable."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.depth = 0

    def execute(self, *args: Any) -> sqlite3.Cursor:
        return self.conn.execute(*args)

    def executemany(self, *args: Any) -> sqlite3.Cursor:
        return self.conn.executemany(*args)

    def executescript(self, script: str) -> None:
        self.conn.executescript(script)

    def __enter__(self) -> _Tx:
        if self.depth == 0:
            self.conn.execute("BEGIN IMMEDIATE")
        self.depth += 1
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _duration(start: float | None, end: float | None) -> float | None:
    if start is None:
        return None
    return round((end if end is not None else time.time()) - start, 3)


def _literal_dict(params: dict[str, str]) -> dict[str, Any]:
    from ..syntax import literal_or_text

    return {k: literal_or_text(v) for k, v in params.items()}
