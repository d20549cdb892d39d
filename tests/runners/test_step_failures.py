"""A step process that ends without a result, and a launcher that dies under its steps, fail as typed StepFailures."""

from __future__ import annotations

import time

import pytest

from kale_ext.runners.local import LocalRunner
from kale_ext.store import Store

from .helpers import pipeline, step, write_notebook


@pytest.mark.parametrize("use_fork", [True, False], ids=["zygote", "subprocess"])
def test_step_process_exiting_without_a_result(tmp_path, use_fork):
    nb, _ = write_notebook(tmp_path / "nb.ipynb")
    runner = LocalRunner(Store(str(tmp_path / ".kale")), use_fork=use_fork)
    run = runner.wait(runner.start(pipeline(step("gone", "import os\nos._exit(3)", index=1)), nb))
    (gone,) = run["steps"]
    assert run["status"] == "failed" and gone["status"] == "failed" and gone["exit_code"] == 3
    assert gone["error"] == {
        "type": "ProcessExited",
        "message": "The step process exited with code 3 without a result; see its log.",
        "cell": None,
        "line": None,
        "traceback": "",
    }


def test_launcher_dying_under_a_running_step(tmp_path):
    nb, _ = write_notebook(tmp_path / "nb.ipynb")
    runner = LocalRunner(Store(str(tmp_path / ".kale")), use_fork=True)
    # A forked step's parent is the warm launcher: killing it is the launcher's death while the step runs. The step
    # first waits for the driver to learn its pid (the launcher reports it after the fork), so that it is ended too.
    source = (
        "import os, signal, time\nopen('step.pid', 'w').write(str(os.getpid()))\ntime.sleep(1)\n"
        "os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(20)"
    )
    run = runner.wait(runner.start(pipeline(step("orphan", source, index=1)), nb), timeout=60)
    (orphan,) = run["steps"]
    assert run["status"] == "failed" and orphan["status"] == "failed"
    error = orphan["error"]
    assert error["type"] == "LauncherDied" and error["message"].startswith(
        "The step launcher exited with code -9; see "
    )
    assert (error["cell"], error["line"], error["traceback"]) == (None, None, "")
    pid = int((tmp_path / "step.pid").read_text())
    deadline = time.time() + 10
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the step process was left running after its launcher died"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")
