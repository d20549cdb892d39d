"""The SQLite store: WAL mode, the default folder, interrupted-run recovery (migrations: test_migrations.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from kale_ext.store import Store, store_dir_for


def plan():
    return [{"name": "a", "depends_on": []}, {"name": "b", "depends_on": ["a"]}]


def test_wal_mode_and_layout(tmp_path):
    store = Store(str(tmp_path / ".kale"))
    assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert os.path.exists(tmp_path / ".kale" / "kale.db")


def test_store_folder_default_and_env(tmp_path, monkeypatch):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    assert store_dir_for(str(tmp_path / "sub" / "nb.ipynb")) == str(tmp_path / "sub" / ".kale")
    monkeypatch.setenv("KALE_EXT_HOME", str(tmp_path / "home"))
    assert store_dir_for(str(tmp_path / "sub" / "nb.ipynb")) == str(tmp_path / "home")


def test_run_lifecycle_and_queries(tmp_path):
    store = Store(str(tmp_path))
    store.create_run(
        run_id="r1",
        notebook=str(tmp_path / "nb.ipynb"),
        pipeline="p",
        parameters={"N": "(1, 2)"},
        options={},
        plan=plan(),
        metric_sources={},
    )
    store.update_run("r1", status="running", started=100.0)
    store.update_step("r1", "a", status="succeeded", started=100.0, finished=101.5, cache_key="k1")
    ids = store.record_artifacts(
        "r1",
        "a",
        [
            {
                "name": "x",
                "path": str(tmp_path / "x"),
                "serializer": "pickle",
                "hash": "sha256:0",
                "size": 1,
                "type": "builtins.int",
            }
        ],
    )
    store.record_lineage("r1", "b", {"x": ids["x"]})
    store.record_metrics("r1", {"acc": 0.5}, "a")
    run = store.get_run("r1")
    assert run["parameters"] == {"N": (1, 2)}
    assert run["steps"][0]["duration_s"] == 1.5 and run["steps"][0]["outputs"][0]["name"] == "x"
    assert run["metrics"] == {"acc": 0.5}
    assert [r["run_id"] for r in store.list_runs(str(tmp_path / "nb.ipynb"))] == ["r1"]
    assert store.list_runs(str(tmp_path / "other.ipynb")) == []
    (tmp_path / "x").write_text("1")
    assert store.find_cached("k1")["artifacts"][0]["hash"] == "sha256:0"
    os.remove(tmp_path / "x")
    assert store.find_cached("k1") is None, "a cache entry whose files are gone is not a hit"


def test_runs_of_dead_drivers_become_interrupted(tmp_path):
    store = Store(str(tmp_path))
    store.create_run(
        run_id="live", notebook="nb", pipeline="p", parameters={}, options={}, plan=plan(), metric_sources={}
    )
    store.update_run("live", status="running")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.create_run(
        run_id="dead", notebook="nb", pipeline="p", parameters={}, options={}, plan=plan(), metric_sources={}
    )
    store.update_run("dead", status="running", driver_pid=int(dead.stdout))
    store.update_step("dead", "a", status="running")
    again = Store(str(tmp_path))
    assert again.get_run("dead")["status"] == "running", "opening a store decides nothing: the backend does"
    assert again.recover_interrupted("local") == ["dead"]  # as the local runner does when it opens a store
    assert again.get_run("live")["status"] == "running", "this process is alive: its run is not touched"
    run = again.get_run("dead")
    assert run["status"] == "interrupted" and run["finished"] is not None
    assert [s["status"] for s in run["steps"]] == ["cancelled", "cancelled"]


def test_unusable_store_folder_is_a_kale_error(tmp_path):
    import pytest

    from kale_ext.store.db import StoreError

    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreError, match="KALE_EXT_HOME"):
        Store(str(tmp_path / "file" / ".kale"))
