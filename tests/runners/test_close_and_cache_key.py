"""LocalRunner.close() (the server's shutdown) and which parameters a step's cache key counts."""

from __future__ import annotations

import json
import time

import pytest

from kale_ext.analysis import analyze
from kale_ext.runners.base import RunnerError, RunOptions
from kale_ext.runners.local import LocalRunner
from kale_ext.store import Store

from ..analysis.harness import FN, PAR, S, notebook
from .helpers import pipeline, step, write_notebook
from .test_local import live_group_members, wait_for_pid


def test_close_cancels_active_runs_with_reason_and_stops_their_processes(tmp_path):
    path, _ = write_notebook(tmp_path / "nb.ipynb")
    runner = LocalRunner(Store(str(tmp_path / ".kale")))
    assert runner.use_fork
    p = pipeline(step("sleepy", "import time\ntime.sleep(60)", index=1))
    run_id = runner.start(p, path)
    step_pid = wait_for_pid(runner, run_id, "sleepy")
    zygote = runner._drivers[run_id].launcher.proc
    t0 = time.time()
    runner.close()
    assert time.time() - t0 < 15
    run = runner.get_run(run_id)
    assert run["status"] == "cancelled" and run["error"] == "server stopped"
    assert [s["status"] for s in run["steps"]] == ["cancelled"]
    assert zygote.poll() is not None, "the run's zygote is stopped"
    time.sleep(0.3)
    assert live_group_members(step_pid) == []
    with pytest.raises(RunnerError, match="shut down"):
        runner.start(p, path)
    runner.close()  # idempotent


def _run(runner, path, nb, **params):
    return runner.wait(runner.start(analyze(nb), path, RunOptions(parameters=params or {})), timeout=120)


def test_cache_key_counts_the_parameters_a_step_reads_and_those_the_prelude_reads(tmp_path):
    nb = notebook(
        [
            PAR("N = 2\nUNUSED = 0\nRATE = 1.5\nFACTOR = 3"),
            FN("def scaled(v, f=FACTOR):\n    return v * f\ndef rated(v):\n    return v * RATE"),
            S("direct", "n2 = N * 2"),
            S("via_call", "r = rated(2)"),
            S("via_prelude_default", "s = scaled(2)"),
            S("none", "z = 1"),
        ]
    )
    pipe = analyze(nb)
    assert {s.name: s.parameters for s in pipe.steps}["via_prelude_default"] == []  # the analysis does not list it
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    runner = LocalRunner(Store(str(tmp_path / ".kale")))
    first = _run(runner, str(path), nb)
    assert first["status"] == "succeeded"

    def statuses(run):
        return {s["name"]: s["status"] for s in run["steps"]}

    assert set(statuses(_run(runner, str(path), nb, UNUSED=5)).values()) == {"cached"}
    assert statuses(_run(runner, str(path), nb, N=7)) == {
        "direct": "succeeded",
        "via_call": "cached",
        "via_prelude_default": "cached",
        "none": "cached",
    }
    assert statuses(_run(runner, str(path), nb, RATE=2.5))["via_call"] == "succeeded"
    # FACTOR is read by the prelude at definition time (a default value): every step with the prelude counts it.
    run = _run(runner, str(path), nb, FACTOR=4)
    assert statuses(run)["via_prelude_default"] == "succeeded"
    assert statuses(run)["none"] == "succeeded"
    runner.close()
