"""Retention (kale_ext.store.retention): which runs gc deletes, which it keeps and why, and what deleting frees.

Real runs of a small pipeline (without snapshots: the snapshot side of gc is tested in tests/snapshots/test_cli.py).
"""

from __future__ import annotations

import os
import time

import pytest

from kale_ext.runners.base import RunOptions
from kale_ext.runners.local import LocalRunner
from kale_ext.store import Store
from kale_ext.store.retention import DAY, delete_runs, folder_bytes, plan_gc
from tests.runners.helpers import pipeline, step, write_notebook

PIPELINE = pipeline(
    step("make", "x = list(range(n))", index=1, outputs=["x"], params=["n"]),
    step("total", "s = sum(x)", index=2, deps=["make"], inputs=["x"]),
    parameters={"n": 3},
    metrics={"s": "total"},
)


@pytest.fixture
def setup(tmp_path):
    store = Store(str(tmp_path / ".kale"))
    runner = LocalRunner(store, snapshots=False)
    nb, _ = write_notebook(tmp_path / "nb.ipynb")
    yield store, runner, nb
    runner.close()


def run(runner, nb, n, *, cache=False):
    run_id = runner.start(PIPELINE, nb, RunOptions(parameters={"n": n}, use_cache=cache))
    assert runner.wait(run_id)["status"] == "succeeded"
    return run_id


def age(store, run_id, days):
    with store._conn() as c:
        c.execute("UPDATE runs SET created = ? WHERE run_id = ?", (time.time() - days * DAY, run_id))


def test_keep_last_deletes_the_older_runs_rows_and_folders(setup):
    store, runner, nb = setup
    ids = [run(runner, nb, n) for n in (1, 2, 3, 4)]
    plan = plan_gc(store, keep_last=2)
    assert plan.delete == [ids[1], ids[0]] and plan.kept == 2 and not plan.protected
    expected = sum(folder_bytes(store.runs_dir(r)) for r in ids[:2])
    assert expected > 0
    assert delete_runs(store, plan) == {"runs": 2, "bytes": expected}
    for r in ids[:2]:
        assert not store.has_run(r) and not os.path.exists(store.runs_dir(r))
        for table in ("steps", "artifacts", "lineage", "metrics"):
            assert store._conn().execute(f"SELECT count(*) FROM {table} WHERE run_id = ?", (r,)).fetchone()[0] == 0
    for r in ids[2:]:
        assert store.get_run(r)["metrics"]["s"] == sum(range(ids.index(r) + 1))


def test_older_than_and_keep_last_must_both_hold(setup):
    store, runner, nb = setup
    ids = [run(runner, nb, n) for n in (1, 2, 3)]
    age(store, ids[0], 10)
    age(store, ids[1], 1)
    assert plan_gc(store, older_than_days=5).delete == [ids[0]]
    assert plan_gc(store, older_than_days=0.5).delete == [ids[1], ids[0]]
    assert plan_gc(store, older_than_days=0.5, keep_last=2).delete == [ids[0]]
    assert plan_gc(store, keep_last=0).delete == [ids[2], ids[1], ids[0]]
    assert plan_gc(store, keep_last=0, notebook=nb).delete == [ids[2], ids[1], ids[0]]
    assert plan_gc(store, keep_last=0, notebook=nb + ".other").delete == []


def test_a_run_whose_artifacts_a_kept_cached_run_uses_stays(setup):
    store, runner, nb = setup
    first = run(runner, nb, 5)
    second = run(runner, nb, 5, cache=True)  # both steps reuse the first run's files
    assert all(s["cached_from"] == first for s in store.get_run(second)["steps"])
    plan = plan_gc(store, keep_last=1)
    assert plan.delete == [] and "uses its artifacts" in plan.protected[first]
    delete_runs(store, plan_gc(store, keep_last=0))  # both may go together
    assert not store.has_run(first) and not store.has_run(second)


def test_running_and_served_runs_stay(setup):
    store, runner, nb = setup
    ids = [run(runner, nb, n) for n in (1, 2, 3)]
    store.update_run(ids[0], status="running")
    store.update_served(
        "m",
        add={
            "version": "1",
            "run_id": ids[1],
            "step": "make",
            "variable": "x",
            "hash": "h",
            "kind": "sklearn",
            "model_dir": "/nowhere",
            "traffic": 100,
        },
    )
    plan = plan_gc(store, keep_last=0)
    assert plan.delete == [ids[2]]
    assert plan.protected == {ids[0]: "it is running", ids[1]: "a served model points at it"}
    store.update_served("m", stop=["1"])  # a stopped version no longer holds its run
    assert ids[1] in plan_gc(store, keep_last=0).delete


def _experiment(store, exp, run_ids, status="succeeded"):
    with store._conn() as c:
        c.execute(
            "INSERT INTO experiments (experiment_id, notebook, name, spec, status, created) VALUES (?,?,?,?,?,?)",
            (exp, "nb", exp, "{}", status, time.time()),
        )
        for i, r in enumerate(run_ids, 1):
            c.execute(
                "INSERT INTO trials (experiment_id, trial, run_id, status, parameters, created) VALUES (?,?,?,?,?,?)",
                (exp, i, r, "succeeded", "{}", time.time()),
            )


def test_an_experiments_trials_go_with_it_or_not_at_all(setup):
    store, runner, nb = setup
    ids = [run(runner, nb, n) for n in (1, 2, 3, 4)]  # newest last
    _experiment(store, "e-old", [ids[0], ids[1]])
    _experiment(store, "e-new", [ids[2], ids[3]])
    plan = plan_gc(store, keep_last=1)  # ids[3] is kept: e-new keeps a trial, so ids[2] stays too
    assert plan.delete == [ids[1], ids[0]] and plan.experiments == ["e-old"]
    assert "experiment e-new" in plan.protected[ids[2]]
    delete_runs(store, plan)
    c = store._conn()
    assert c.execute("SELECT experiment_id FROM experiments").fetchall()[0][0] == "e-new"
    assert c.execute("SELECT count(*) FROM trials").fetchone()[0] == 2
    _experiment(store, "e-live", [], status="running")
    with store._conn() as w:
        w.execute("UPDATE trials SET experiment_id = 'e-live' WHERE run_id = ?", (ids[3],))
    assert "which is running" in plan_gc(store, keep_last=0).protected[ids[3]]
