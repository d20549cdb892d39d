"""Single-flight of cached steps (runners/local/inflight.py): runs of one LocalRunner that need the same cache key at
the same time execute that step once; the others wait and take it from the cache, or execute it if it failed."""

from __future__ import annotations

import queue

from kale_ext.analysis import analyze
from kale_ext.runners.base import RunOptions
from kale_ext.runners.local import LocalRunner
from kale_ext.runners.local.inflight import InFlight
from kale_ext.store import Store
from tests.notebooks import make_notebook
from tests.tuning.objective import loads, objective_notebook


def load_statuses(runs):
    return sorted(next(s["status"] for s in r["steps"] if s["name"] == "load") for r in runs)


def test_parallel_runs_execute_the_shared_step_once(tmp_path):
    nb = objective_notebook(load_s=1.0)
    pipeline = analyze(nb)
    path = str(tmp_path / "objective.ipynb")
    runner = LocalRunner(Store(str(tmp_path / "store")), use_fork=True)
    try:
        ids = [runner.start(pipeline, path, RunOptions(parameters={"x": x})) for x in (0.1, 0.2, 0.3)]
        runs = [runner.wait(i, timeout=60) for i in ids]
    finally:
        runner.close()
    assert [r["status"] for r in runs] == ["succeeded"] * 3
    assert load_statuses(runs) == ["cached", "cached", "succeeded"]
    assert loads(tmp_path) == 1
    for r in runs:  # reused from this experiment's runs (a cached step may itself point at the one that executed)
        load = next(s for s in r["steps"] if s["name"] == "load")
        assert load["cached_from"] in (None, *ids)
    assert len({r["metrics"]["score"] for r in runs}) == 3  # the train steps ran with their own parameters


def test_a_failed_owner_lets_a_waiting_run_execute_the_step_itself(tmp_path):
    # The shared step fails in the first run only (a marker file), so the waiting run must execute it itself.
    nb = make_notebook(
        (["imports"], "import os\nimport time"),
        (["pipeline-parameters"], "x = 1"),
        (
            ["step:load"],
            "first = not os.path.exists('marker')\n"
            "open('marker', 'a').close()\n"
            "time.sleep(0.8)\n"
            "if first:\n"
            "    raise RuntimeError('first attempt fails')\n"
            "data = 2",
        ),
        (["step:train", "prev:load"], "score = data * x"),
        (["pipeline-metrics"], "print(score)"),
    )
    pipeline = analyze(nb)
    runner = LocalRunner(Store(str(tmp_path / "store")), use_fork=False)
    try:
        path = str(tmp_path / "nb.ipynb")
        first = runner.start(pipeline, path, RunOptions(parameters={"x": 1}))
        second = runner.start(pipeline, path, RunOptions(parameters={"x": 2}))
        a, b = runner.wait(first, timeout=60), runner.wait(second, timeout=60)
    finally:
        runner.close()
    # Whichever driver claimed the key first executed the failing attempt; the other waited, then executed it itself.
    failed, succeeded = sorted((a, b), key=lambda r: r["status"])
    assert (failed["status"], succeeded["status"]) == ("failed", "succeeded")
    failed_load = next(s for s in failed["steps"] if s["name"] == "load")
    succeeded_load = next(s for s in succeeded["steps"] if s["name"] == "load")
    assert failed_load["status"] == "failed"
    assert succeeded_load["status"] == "succeeded"
    # Single-flight: the waiting run started its own attempt only once the owner's attempt had finished (without it,
    # both attempts would run side by side).
    assert succeeded_load["started"] >= failed_load["finished"], (failed_load, succeeded_load)
    assert succeeded["metrics"]["score"] == 2 * succeeded["parameters"]["x"]


def test_inflight_claims_release_and_waiters():
    flights = InFlight()
    mine, theirs = queue.Queue(), queue.Queue()
    assert flights.claim("k", "run-a", mine)
    assert flights.claim("k", "run-a", mine)  # the owner again (it waited for a slot meanwhile)
    assert not flights.claim("k", "run-b", theirs)
    flights.release("k", "run-b")  # not the owner: nothing happens
    assert theirs.empty() and flights.owner("k") == "run-a"
    flights.release("k", "run-a")
    assert theirs.get_nowait() == {"event": "inflight", "key": "k"}
    assert flights.claim("k", "run-b", theirs) and flights.owner("k") == "run-b"
    assert not flights.claim("k", "run-a", mine)
    flights.withdraw(mine)
    flights.release_all("run-b")
    assert mine.empty() and flights.owner("k") is None
