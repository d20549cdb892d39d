"""Builders of stores as older kale-ext versions wrote them, for the migration tests.

SCHEMA_V1 is, character for character, the SCHEMA of kale_ext/store/db.py before schema versions were recorded (commit
83fafe7, which added driver_signal); its stores are at user_version 0. The rows are written with the INSERTs that code
ran. Never edit these texts: they stand for stores that exist on users' disks. When a migration is added, add the
builder of the version before it here.
"""

from __future__ import annotations

import json
import os
import sqlite3

SCHEMA_V1 = """
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


def write_v1_store(folder: str, *, without_driver_signal: bool = False) -> str:
    """A store as kale-ext wrote it before versions were recorded: one finished run of two steps (with an artifact, its
    lineage and a metric) and one run still "running" whose driver is gone. ``without_driver_signal``: as written
    before commit 83fafe7. Returns the database's path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "kale.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    schema = (
        SCHEMA_V1.replace(
            "    driver_signal TEXT,            -- the signal that makes the driver cancel the run "
            "(another process may send it)\n",
            "",
        )
        if without_driver_signal
        else SCHEMA_V1
    )
    assert without_driver_signal == ("driver_signal" not in schema)
    conn.executescript(schema)
    for run_id, status, pid in (("old-done", "succeeded", 1), ("old-running", "running", 2**22 + 7)):
        _insert_run(conn, folder, run_id, status, pid, without_driver_signal)
    conn.execute(
        "INSERT INTO artifacts (run_id, step, name, path, serializer, hash, size, type, created) "
        "VALUES (?,?,?,?,?,?,?,?,?)",
        (
            "old-done",
            "a",
            "x",
            os.path.join(folder, "runs", "old-done", "a", "x.pkl"),
            "pickle",
            "sha256:1",
            5,
            "builtins.int",
            10.0,
        ),
    )
    conn.execute("INSERT INTO lineage (run_id, step, name, artifact_id) VALUES (?,?,?,?)", ("old-done", "b", "x", 1))
    conn.execute(
        "INSERT OR REPLACE INTO metrics (run_id, name, value, step) VALUES (?,?,?,?)", ("old-done", "acc", "0.75", "b")
    )
    conn.close()
    return path


def _insert_run(conn: sqlite3.Connection, folder: str, run_id: str, status: str, pid: int, old: bool) -> None:
    finished = 12.0 if status == "succeeded" else None
    columns = (
        "run_id, notebook, pipeline, status, created, started, finished, parameters, options, plan, metric_sources, "
        "driver_pid, driver_token, resumed_from"
    )
    values = [
        run_id,
        "/old/nb.ipynb",
        "p",
        status,
        10.0,
        10.5,
        finished,
        json.dumps({"N": "3"}),
        json.dumps({"use_cache": True, "fail_fast": False, "max_parallel": 2, "launcher": "fork"}),
        json.dumps([{"name": "a", "depends_on": []}, {"name": "b", "depends_on": ["a"]}]),
        json.dumps({"acc": "b"}),
        pid,
        "123",
        None,
    ]
    if not old:
        columns += ", driver_signal"
        values.append("SIGTERM")
    conn.execute(f"INSERT INTO runs ({columns}) VALUES ({', '.join('?' * len(values))})", values)
    for i, (name, deps) in enumerate((("a", []), ("b", ["a"]))):
        state = "succeeded" if status == "succeeded" else "running" if i == 0 else "queued"
        conn.execute(
            "INSERT INTO steps (run_id, name, position, status, depends_on, log_path, started, finished, cache_key, "
            "timings) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                run_id,
                name,
                i,
                state,
                json.dumps(deps),
                os.path.join(folder, "runs", run_id, name, "log.txt"),
                None if state == "queued" else 10.5,
                finished,
                f"key-{run_id}-{name}",
                json.dumps({"load_s": 0.1}) if finished else None,
            ),
        )


def write_v2_store(folder: str) -> str:
    """A store at schema version 2 (before artifacts carried a role and kind, and before served models): the v1
    store migrated by migrations 1 and 2, exactly as kale-ext up to issue 9 left it. Returns the database's path."""
    from kale_ext.store.schema import MIGRATIONS

    path = write_v1_store(folder)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row

    class _C:  # the migrations' Connection interface: execute
        execute = staticmethod(conn.execute)

    for migration in MIGRATIONS[:2]:
        migration.apply(_C())  # type: ignore[arg-type]
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    return path


def write_v3_store(folder: str) -> str:
    """A store at schema version 3 (before experiments, trials and snapshots): the v1 store migrated by migrations 1 to
    3, exactly as kale-ext up to issue 10 left it. Returns the database's path."""
    from kale_ext.store.schema import MIGRATIONS

    path = write_v1_store(folder)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row

    class _C:
        execute = staticmethod(conn.execute)

    for migration in MIGRATIONS[:3]:
        migration.apply(_C())  # type: ignore[arg-type]
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    return path
