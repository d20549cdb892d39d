"""A run whose driver process is SIGKILLed shows as interrupted on the next start and can be resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from kale_ext.runners.local import LocalRunner
from kale_ext.store import Store

from .helpers import REPO


def test_killed_driver_is_recovered_as_interrupted_and_resumes_from_the_cache(tmp_path):
    store_dir = tmp_path / ".kale"
    flag = tmp_path / "slow.flag"
    flag.write_text("1")
    marker = tmp_path / "first_ran.txt"
    driver = textwrap.dedent(
        f"""
        import sys, time
        from kale_ext.runners.local import LocalRunner
        from kale_ext.store import Store
        from tests.runners.helpers import pipeline, step, write_notebook
        nb, _ = write_notebook({str(tmp_path / "nb.ipynb")!r})
        p = pipeline(
            step("first", "open({str(marker)!r}, 'a').write('x')\\nbase = 20", index=1, outputs=["base"]),
            step("second", "import os, time\\nif os.path.exists({str(flag)!r}):\\n    time.sleep(60)\\nvalue = base + 1",
                 index=2, deps=["first"], inputs=["base"], outputs=["value"]),
            step("third", "answer = value * 2", index=3, deps=["second"], inputs=["value"]),
            metrics={{"answer": "third"}},
        )
        runner = LocalRunner(Store({str(store_dir)!r}))
        run_id = runner.start(p, nb)
        print(run_id, flush=True)
        runner.wait(run_id)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", driver], cwd=REPO, stdout=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    store = Store(str(store_dir))
    deadline = time.time() + 30
    while time.time() < deadline:
        row = (
            store._conn()
            .execute("SELECT status, pid FROM steps WHERE run_id=? AND name='second'", (run_id,))
            .fetchone()
        )
        if row["status"] == "running" and row["pid"]:
            break
        time.sleep(0.05)
    step_pid = row["pid"]
    assert store.get_run(run_id)["status"] == "running"

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    recovered = Store(str(store_dir))  # "the next start": the local runner opens the store
    runner = LocalRunner(recovered)
    run = recovered.get_run(run_id)
    assert run["status"] == "interrupted"
    assert {s["name"]: s["status"] for s in run["steps"]} == {
        "first": "succeeded",
        "second": "cancelled",
        "third": "cancelled",
    }
    # The orphaned step is stopped too: its zygote saw the driver go away.
    deadline = time.time() + 5
    while time.time() < deadline and _running(step_pid):
        time.sleep(0.05)
    assert not _running(step_pid)

    flag.unlink()
    resumed = runner.wait(runner.resume(run_id), timeout=60)
    assert resumed["status"] == "succeeded" and resumed["resumed_from"] == run_id
    assert [(s["name"], s["status"]) for s in resumed["steps"]] == [
        ("first", "cached"),
        ("second", "succeeded"),
        ("third", "succeeded"),
    ]
    assert resumed["metrics"] == {"answer": 42}
    assert marker.read_text() == "x", "the step that had succeeded must not run again"


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_only_the_local_runner_decides_its_runs_are_interrupted(tmp_path, monkeypatch):
    """A remote backend's run (here "kfp") is not the local runner's to judge: its recorded driver pid may be long dead
    while the run goes on elsewhere. Only the local run of that dead driver becomes interrupted."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store = Store(str(tmp_path / ".kale"))
    for run_id, runner, external_id in (("remote", "kfp", "kfp-run-1"), ("here", "local", None)):
        store.create_run(
            run_id=run_id,
            notebook=str(tmp_path / "nb.ipynb"),
            pipeline="p",
            parameters={},
            options={},
            plan=[{"name": "a", "depends_on": []}],
            metric_sources={},
            runner=runner,
            external_id=external_id,
        )
        store.update_run(run_id, status="running", driver_pid=gone.pid)
        store.update_step(run_id, "a", status="running")

    reopened = Store(str(tmp_path / ".kale"))
    assert [reopened.get_run(r)["status"] for r in ("remote", "here")] == ["running", "running"]

    runner = LocalRunner(reopened)
    remote = runner.get_run("remote")
    assert (remote["status"], remote["steps"][0]["status"], remote["finished"]) == ("running", "running", None)
    assert remote["runner"] == "kfp" and remote["external_id"] == "kfp-run-1"
    here = runner.get_run("here")
    assert (here["status"], here["steps"][0]["status"]) == ("interrupted", "cancelled")

    # The same through a runner that opens the notebook's store itself (as the server's does).
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    assert LocalRunner().store_for(str(tmp_path / "nb.ipynb")).get_run("remote")["status"] == "running"
