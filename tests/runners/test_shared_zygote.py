"""Runs sharing warm zygotes (launchers.ZygotePool): what an experiment's trials do. The prelude runs once per pool
(per distinct value of a parameter it names), every run's steps see their own parameters, a kill reaches only its run,
a dead zygote fails every run on it and the next run gets a new one, and closing the pool ends them all."""

from __future__ import annotations

import os
import signal
import time

import pytest

from kale_ext.runners.base import RunOptions
from kale_ext.runners.local import LocalRunner
from kale_ext.runners.local.launchers import ZygotePool
from kale_ext.store import Store

from .helpers import pipeline, step, write_notebook
from .test_local import wait_for_pid

# The imports cell appends a line to preludes.txt beside the notebook each time it runs.
PRELUDE = (1, "import os, time\nwith open('preludes.txt', 'a') as f:\n    f.write(f'{os.getpid()}\\n')")


def preludes(folder) -> list[str]:
    path = os.path.join(folder, "preludes.txt")
    return open(path).read().split() if os.path.exists(path) else []


def scaled(*, functions="def scale(v):\n    return v * 10"):
    return pipeline(
        step("train", "score = scale(x) + y\nimport os\npid = os.getpid()", index=3, params=("x", "y")),
        parameters={"x": 1.0, "y": 0},
        metrics={"score": "train"},
        prelude=(PRELUDE, (2, functions)),
    )


@pytest.fixture
def pooled(tmp_path):
    """(a notebook's path, a forking local runner, a pool of zygotes); the pool and the runner closed after."""
    path, _ = write_notebook(tmp_path / "nb.ipynb")
    runner = LocalRunner(Store(str(tmp_path / ".kale")), use_fork=True)
    pool = ZygotePool(str(tmp_path / "zygotes"))
    yield path, runner, pool
    pool.close()
    runner.close()


def finished(runner, run_id, timeout=60):
    return runner.wait(run_id, timeout=timeout)


def test_runs_of_a_pool_share_one_prelude_and_see_their_own_parameters(pooled, tmp_path):
    path, runner, pool = pooled
    values = [(1.0, 0), (2.0, 1), (3.5, 2), (1.0, 3)]
    ids = [runner.start(scaled(), path, RunOptions(parameters={"x": x, "y": y}), zygotes=pool) for x, y in values]
    runs = [finished(runner, run_id) for run_id in ids]
    assert [r["status"] for r in runs] == ["succeeded"] * 4
    assert [r["metrics"]["score"] for r in runs] == [10.0, 21.0, 37.0, 13.0]
    assert len(preludes(tmp_path)) == 1  # one zygote ran the imports and functions cells for all four runs
    alone = finished(runner, runner.start(scaled(), path, RunOptions(parameters={"x": 2.0})))
    assert alone["metrics"]["score"] == 20.0 and len(preludes(tmp_path)) == 2  # outside the pool: its own
    pool.close()
    assert not os.path.exists(tmp_path / "zygotes")  # nothing went wrong: the pool's files are gone


def test_a_parameter_the_prelude_names_gets_a_zygote_per_value(pooled, tmp_path):
    path, runner, pool = pooled
    by_default = "def scale(v, factor=x):\n    return v * factor"  # the functions cell reads x when it runs
    ids = [
        runner.start(scaled(functions=by_default), path, RunOptions(parameters={"x": x}), zygotes=pool)
        for x in (2.0, 3.0, 2.0)
    ]
    runs = [finished(runner, run_id) for run_id in ids]
    assert [r["metrics"]["score"] for r in runs] == [4.0, 9.0, 4.0]  # scale(x) with factor x: x squared
    assert len(preludes(tmp_path)) == 2  # x = 2.0 and x = 3.0


def test_cancelling_one_run_leaves_the_others_on_the_zygote_running(pooled, tmp_path):
    path, runner, pool = pooled
    slow = pipeline(
        step("wait", "time.sleep(seconds)\ndone = seconds", index=2, params=("seconds",)),
        parameters={"seconds": 1.0},
        metrics={"done": "wait"},
        prelude=(PRELUDE,),
    )
    doomed = runner.start(slow, path, RunOptions(parameters={"seconds": 60.0}), zygotes=pool)
    kept = runner.start(slow, path, RunOptions(parameters={"seconds": 2.0}), zygotes=pool)
    wait_for_pid(runner, doomed, "wait")
    wait_for_pid(runner, kept, "wait")
    runner.request_cancel(doomed, "not needed")
    assert finished(runner, doomed)["status"] == "cancelled"
    survivor = finished(runner, kept)
    assert survivor["status"] == "succeeded" and survivor["metrics"]["done"] == 2.0
    assert len(preludes(tmp_path)) == 1


def test_a_dead_zygote_fails_its_runs_and_the_next_run_gets_a_new_one(pooled, tmp_path):
    path, runner, pool = pooled
    slow = pipeline(
        step("wait", "time.sleep(60 + extra)", index=2, params=("extra",)), parameters={"extra": 0}, prelude=(PRELUDE,)
    )
    # two values of extra: two cache keys, so neither run waits for the other's step (single-flight)
    ids = [runner.start(slow, path, RunOptions(parameters={"extra": e}), zygotes=pool) for e in range(2)]
    for run_id in ids:
        wait_for_pid(runner, run_id, "wait")
    (pid,) = preludes(tmp_path)  # the zygote's own pid, written by its prelude
    os.kill(int(pid), signal.SIGKILL)
    for run_id in ids:
        run = finished(runner, run_id)
        assert run["status"] == "failed"
        error = run["steps"][0]["error"]
        assert error["type"] == "LauncherDied" and "code -9" in error["message"], error
        assert os.path.exists(error["message"].rsplit("see ", 1)[1].rstrip(".")), error  # its log is named
    log = error["message"].rsplit("see ", 1)[1].rstrip(".")
    again = finished(runner, runner.start(scaled(), path, RunOptions(parameters={"x": 0.5}), zygotes=pool))
    assert again["status"] == "succeeded" and again["metrics"]["score"] == 5.0
    assert len(preludes(tmp_path)) == 2
    # the dead zygote's own key gets a new zygote, in a folder of its own
    same = finished(runner, runner.start(slow, path, RunOptions(parameters={"extra": -60}), zygotes=pool))
    assert same["status"] == "succeeded" and len(preludes(tmp_path)) == 3
    pool.close()
    assert os.path.exists(log)  # a zygote died: its log stays for the failed steps' errors


def test_closing_the_pool_ends_its_zygotes(pooled, tmp_path):
    path, runner, pool = pooled
    finished(runner, runner.start(scaled(), path, zygotes=pool))
    (pid,) = preludes(tmp_path)
    os.kill(int(pid), 0)  # alive between runs: the next run of the pool forks from it
    pool.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the pool's zygote outlived close()")
