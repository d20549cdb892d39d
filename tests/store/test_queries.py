"""A run's record and a list of runs take a fixed number of queries; updates name only known columns; runs carry their
backend and its id for them."""

from __future__ import annotations

import sqlite3

import pytest

from kale_ext.store import Store


def add_run(store, run_id, n_steps, *, created=None, runner="local", external_id=None, notebook="/nb.ipynb"):
    plan = [{"name": f"s{i}", "depends_on": [f"s{i - 1}"] if i else []} for i in range(n_steps)]
    store.create_run(
        run_id=run_id,
        notebook=notebook,
        pipeline="p",
        parameters={"N": "1"},
        options={},
        plan=plan,
        metric_sources={},
        runner=runner,
        external_id=external_id,
    )
    if created is not None:
        store._conn().execute("UPDATE runs SET created = ? WHERE run_id = ?", (created, run_id))
    previous = {}
    for i, s in enumerate(plan):
        store.update_step(run_id, s["name"], status="succeeded", started=1.0, finished=2.0, timings={"run_s": 1})
        ids = store.record_artifacts(
            run_id,
            s["name"],
            [
                {"name": f"v{i}", "path": f"/a/{i}", "serializer": "pickle", "hash": f"h{i}", "size": i, "type": "int"},
                {"name": f"w{i}", "path": f"/b/{i}", "serializer": "pickle", "hash": f"g{i}", "size": i, "type": "int"},
            ],
        )
        store.record_lineage(run_id, s["name"], previous)
        previous = {f"v{i}": ids[f"v{i}"]}
        store.record_metrics(run_id, {f"m{i}": i}, s["name"])


class Queries:
    """Counts the SELECTs the store's connection of this thread runs (sqlite3's trace callback)."""

    def __init__(self, store: Store) -> None:
        self.conn: sqlite3.Connection = store._conn().conn
        self.selects: list[str] = []

    def __enter__(self) -> Queries:
        self.conn.set_trace_callback(self._trace)
        return self

    def __exit__(self, *exc) -> None:
        self.conn.set_trace_callback(None)

    def _trace(self, sql: str) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            self.selects.append(sql)


def test_get_run_takes_the_same_five_queries_for_one_step_or_twenty(tmp_path):
    store = Store(str(tmp_path))
    add_run(store, "small", 1)
    add_run(store, "big", 20)
    with Queries(store) as small:
        store.get_run("small")
    with Queries(store) as big:
        run = store.get_run("big")
    assert len(small.selects) == len(big.selects) == 5, big.selects  # run, steps, artifacts, lineage, metrics
    # ... and the record is complete: every step's inputs and outputs, in order.
    assert [s["name"] for s in run["steps"]] == [f"s{i}" for i in range(20)]
    assert run["steps"][0]["inputs"] == []
    assert run["steps"][7]["inputs"] == [{"name": "v6", "hash": "h6", "producer": "s6", "producer_run": "big"}]
    assert [o["name"] for o in run["steps"][7]["outputs"]] == ["v7", "w7"]
    assert run["steps"][7]["outputs"][1] == {
        "name": "w7",
        "serializer": "pickle",
        "hash": "g7",
        "size": 7,
        "type": "int",
        "path": "/b/7",
    }
    assert run["metrics"] == {f"m{i}": i for i in range(20)}
    assert run["steps"][19]["timings"] == {"run_s": 1} and run["steps"][19]["duration_s"] == 1.0


def test_list_runs_takes_the_same_three_queries_for_one_run_or_thirty(tmp_path):
    store = Store(str(tmp_path))
    add_run(store, "r00", 3, created=100.0)
    with Queries(store) as one:
        store.list_runs()
    for i in range(1, 30):
        add_run(store, f"r{i:02d}", 3 + i % 4, created=100.0 + i)
    store.update_step("r05", "s0", status="failed")
    with Queries(store) as thirty:
        runs = store.list_runs()
    with Queries(store) as of_notebook:
        assert len(store.list_runs("/nb.ipynb", limit=10)) == 10
    assert len(one.selects) == len(thirty.selects) == len(of_notebook.selects) == 3, thirty.selects
    assert [r["run_id"] for r in runs] == [f"r{i:02d}" for i in range(29, -1, -1)]
    by_id = {r["run_id"]: r for r in runs}
    assert by_id["r05"]["steps"] == {"failed": 1, "succeeded": 3 + 5 % 4 - 1}
    assert by_id["r06"]["steps"] == {"succeeded": 3 + 6 % 4}
    assert by_id["r06"]["metrics"] == {f"m{i}": i for i in range(3 + 6 % 4)}


def test_list_runs_limit_and_notebook_select_the_same_runs_in_every_query(tmp_path):
    store = Store(str(tmp_path))
    for i in range(6):
        add_run(store, f"a{i}", 1, created=float(i), notebook="/a.ipynb")
        add_run(store, f"b{i}", 2, created=float(i) + 0.5, notebook="/b.ipynb")
    add_run(store, "tie", 1, created=5.0, notebook="/a.ipynb")  # same created as a5: run_id breaks the tie
    runs = store.list_runs("/a.ipynb", limit=3)
    assert [r["run_id"] for r in runs] == ["tie", "a5", "a4"]
    assert all(r["steps"] == {"succeeded": 1} and r["metrics"] == {"m0": 0} for r in runs)
    assert [r["run_id"] for r in store.list_runs(limit=2)] == ["b5", "tie"]


def test_records_carry_the_runner_and_its_id_for_the_run(tmp_path):
    store = Store(str(tmp_path))
    add_run(store, "local-1", 1)
    add_run(store, "kfp-1", 1, runner="kfp", external_id="0b5e-run")
    assert {(r["run_id"], r["runner"], r["external_id"]) for r in store.list_runs()} == {
        ("local-1", "local", None),
        ("kfp-1", "kfp", "0b5e-run"),
    }
    found = store.find_run_by_external_id("kfp", "0b5e-run")
    assert found == store.get_run("kfp-1") and found["runner"] == "kfp"
    assert store.find_run_by_external_id("local", "0b5e-run") is None, "the id is the backend's own"
    assert store.find_run_by_external_id("kfp", "other") is None
    with pytest.raises(sqlite3.IntegrityError):
        add_run(store, "kfp-2", 1, runner="kfp", external_id="0b5e-run")
    add_run(store, "local-2", 1)  # many runs without an external id
    store.update_run("local-2", external_id="late-id")  # a backend may learn its id after recording the run
    assert store.find_run_by_external_id("local", "late-id")["run_id"] == "local-2"


def test_updates_refuse_unknown_columns_and_write_nothing(tmp_path):
    store = Store(str(tmp_path))
    add_run(store, "r", 1)
    with pytest.raises(ValueError, match=r"'run_id = run_id; --'.*'runner'"):
        store.update_run("r", status="failed", **{"run_id = run_id; --": 1, "runner": "kfp"})
    with pytest.raises(ValueError, match="'position'"):
        store.update_step("r", "s0", position=3)
    run = store.get_run("r")
    assert (run["status"], run["runner"], run["steps"][0]["status"]) == ("queued", "local", "succeeded")
    store.update_run("r", status="failed", error="boom")
    assert (store.get_run("r")["status"], store.get_run("r")["error"]) == ("failed", "boom")
