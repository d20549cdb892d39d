"""Schema migrations by PRAGMA user_version: old stores open and keep their runs, empty and too-new stores, two
processes opening the same old store at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from kale_ext.store import SCHEMA_VERSION, Store, StoreError
from kale_ext.store.schema import MIGRATIONS

from .old_stores import write_v1_store

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def columns(path, table="runs"):
    conn = sqlite3.connect(path)
    try:
        return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    finally:
        conn.close()


def version(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_migrations_are_numbered_one_by_one():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == len(MIGRATIONS) == 5


@pytest.mark.parametrize("without_driver_signal", [False, True], ids=["v1", "v1-before-driver-signal"])
def test_a_store_of_the_previous_schema_opens_keeps_its_runs_and_gains_the_new_columns(tmp_path, without_driver_signal):
    path = write_v1_store(str(tmp_path), without_driver_signal=without_driver_signal)
    assert version(path) == 0 and "runner" not in columns(path)

    store = Store(str(tmp_path))

    assert version(path) == SCHEMA_VERSION
    assert {"runner", "external_id", "driver_signal"} <= columns(path)
    run = store.get_run("old-done")
    assert (run["runner"], run["external_id"]) == ("local", None)
    assert run["status"] == "succeeded" and run["parameters"] == {"N": 3} and run["metrics"] == {"acc": 0.75}
    assert [(s["name"], s["status"], s["depends_on"]) for s in run["steps"]] == [
        ("a", "succeeded", []),
        ("b", "succeeded", ["a"]),
    ]
    assert run["steps"][0]["outputs"] == [
        {
            "name": "x",
            "serializer": "pickle",
            "hash": "sha256:1",
            "size": 5,
            "type": "builtins.int",
            "path": str(tmp_path / "runs" / "old-done" / "a" / "x.pkl"),
        }
    ]
    assert run["steps"][1]["inputs"] == [{"name": "x", "hash": "sha256:1", "producer": "a", "producer_run": "old-done"}]
    assert run["steps"][0]["timings"] == {"load_s": 0.1}
    assert [r["run_id"] for r in store.list_runs()] == ["old-running", "old-done"]
    assert store.get_run("old-running")["status"] == "running", "opening a store decides nothing about its runs"
    assert store.recover_interrupted("local") == ["old-running"], "old runs are the local runner's"
    # The migrated store takes new runs of any backend.
    store.create_run(
        run_id="new",
        notebook="/old/nb.ipynb",
        pipeline="p",
        parameters={},
        options={},
        plan=[],
        metric_sources={},
        runner="kfp",
        external_id="kfp-1",
    )
    assert store.find_run_by_external_id("kfp", "kfp-1")["run_id"] == "new"
    assert Store(str(tmp_path)).get_run("old-done") == run, "a second open changes nothing"


def test_a_store_without_tables_is_created_at_the_current_version(tmp_path):
    (tmp_path / "kale.db").write_bytes(b"")  # e.g. touched, or left by a failed first open
    store = Store(str(tmp_path))
    assert version(store.path) == SCHEMA_VERSION
    assert {"runs", "steps", "artifacts", "lineage", "metrics"} <= _tables(store.path)
    assert store.list_runs() == []


def test_a_store_newer_than_this_code_is_refused_and_left_alone(tmp_path):
    Store(str(tmp_path))
    conn = sqlite3.connect(tmp_path / "kale.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.execute("CREATE TABLE from_the_future (x)")
    conn.close()
    with pytest.raises(StoreError) as info:
        Store(str(tmp_path))
    message = info.value.message
    assert f"version {SCHEMA_VERSION + 5}" in message and f"up to version {SCHEMA_VERSION}" in message
    assert info.value.code == "store.too_new" and "upgrade kale-ext" in message
    assert version(tmp_path / "kale.db") == SCHEMA_VERSION + 5 and "from_the_future" in _tables(tmp_path / "kale.db")


def test_a_failing_migration_rolls_back_whole(tmp_path, monkeypatch):
    from kale_ext.store import schema

    path = write_v1_store(str(tmp_path))

    def broken(c):
        c.execute("ALTER TABLE runs ADD COLUMN runner TEXT NOT NULL DEFAULT 'local'")
        c.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(schema, "MIGRATIONS", (schema.MIGRATIONS[0], schema.Migration(2, "broken", broken)))
    with pytest.raises(StoreError, match="no such table"):
        Store(str(tmp_path))
    assert version(path) == 0 and "runner" not in columns(path)
    monkeypatch.undo()
    assert Store(str(tmp_path)).get_run("old-done")["runner"] == "local"


def test_two_processes_opening_the_same_old_store_migrate_it_once(tmp_path):
    write_v1_store(str(tmp_path))
    go = tmp_path / "go"
    # Each migration step is slowed down, so that the second process surely arrives while the first holds the lock,
    # and counted: under the lock, the second must find the store migrated and apply nothing.
    script = textwrap.dedent(
        f"""
        import os, time
        from kale_ext.store import schema
        applied = []
        def slow(m):
            def apply(c):
                m.apply(c)
                applied.append(m.version)
                time.sleep(0.3)
            return apply
        schema.MIGRATIONS = tuple(schema.Migration(m.version, m.summary, slow(m)) for m in schema.MIGRATIONS)
        from kale_ext.store import Store
        print("ready", flush=True)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        store = Store({str(tmp_path)!r})
        print(store.get_run("old-done")["runner"], len(store.list_runs()), applied)
        """
    )
    env = {**os.environ, "PYTHONPATH": REPO}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    assert [p.stdout.readline().strip() for p in procs] == ["ready", "ready"]
    go.write_text("")
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    outs = sorted(out.strip() for out, _ in results)
    every = str([m.version for m in MIGRATIONS])
    assert outs == [f"local 2 {every}", "local 2 []"], "one process migrates, the other finds it done"
    assert version(tmp_path / "kale.db") == SCHEMA_VERSION
    assert [c for c in _column_list(tmp_path / "kale.db") if c in ("runner", "external_id")] == [
        "runner",
        "external_id",
    ]


def _tables(path):
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def _column_list(path):
    conn = sqlite3.connect(path)
    try:
        return [r[1] for r in conn.execute("PRAGMA table_info(runs)")]
    finally:
        conn.close()


def test_the_cli_refuses_a_too_new_store_with_exit_2_and_one_line(tmp_path):
    Store(str(tmp_path))
    conn = sqlite3.connect(tmp_path / "kale.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    proc = subprocess.run(
        [sys.executable, "-m", "kale_ext", "runs", "list", "--store", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": REPO},
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and f"schema version {SCHEMA_VERSION + 1}" in proc.stderr


def test_a_v2_store_gains_artifact_roles_and_served_models_and_keeps_its_artifacts(tmp_path):
    from .old_stores import write_v2_store

    path = write_v2_store(str(tmp_path))
    assert version(path) == 2 and "role" not in columns(path, "artifacts")

    store = Store(str(tmp_path))

    assert version(path) == SCHEMA_VERSION
    assert {"role", "kind"} <= columns(path, "artifacts")
    assert "served_models" in _tables(path)
    [old] = store.step_artifacts("old-done", "a")
    assert (old["name"], old["role"], old["kind"]) == ("x", "output", None), "old artifacts are outputs, no models"
    assert store.get_run("old-done")["steps"][0]["outputs"][0]["name"] == "x"
    assert store.model_artifacts("old-done") == []
    store.update_served(
        "m", add={"version": "1", "kind": "sklearn", "model_dir": "/d", "traffic": 100, "run_id": "old-done"}
    )
    assert [(r["name"], r["version"], r["traffic"], r["stopped"]) for r in store.served_versions()] == [
        ("m", "1", 100, None)
    ]
    assert store.next_served_version("m") == "2"


def test_a_v3_store_gains_experiments_trials_and_snapshots_and_keeps_its_runs(tmp_path):
    from .old_stores import write_v3_store

    path = write_v3_store(str(tmp_path))
    assert version(path) == 3 and "snapshot_id" not in columns(path)
    assert not {"experiments", "trials", "snapshots", "snapshot_files", "chunks"} & _tables(path)

    store = Store(str(tmp_path))

    assert version(path) == SCHEMA_VERSION
    assert {"experiments", "trials", "snapshots", "snapshot_files", "chunks"} <= _tables(path)
    assert "snapshot_id" in columns(path)
    assert store.get_run("old-done")["status"] == "succeeded"
    assert store.run_row("old-done")["snapshot_id"] is None
