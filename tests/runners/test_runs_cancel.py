"""`kale-ext runs cancel RUN_ID` of a local run driven by another `kale-ext run` process (the Kubeflow Pipelines case
is in tests/runners/kfp/test_cli_kfp.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from .helpers import code_cell, write_notebook


def test_runs_cancel_stops_a_local_run_of_another_process(tmp_path):
    write_notebook(
        tmp_path / "slow.ipynb",
        [code_cell("import time\ntime.sleep(60)\nx = 1", "step:sleep"), code_cell("y = x", "step:after", "prev:sleep")],
    )
    env = {k: v for k, v in os.environ.items() if k != "KALE_EXT_HOME"}
    cmd = [sys.executable, "-m", "kale_ext"]
    driver = subprocess.Popen([*cmd, "run", "slow.ipynb"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        run = None
        while time.monotonic() < deadline:
            listed = subprocess.run(
                [*cmd, "runs", "list", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True
            )
            runs = json.loads(listed.stdout) if listed.returncode == 0 else []
            if runs and runs[0]["status"] == "running":
                run = runs[0]
                break
            time.sleep(0.2)
        assert run is not None, "the run did not start"
        cancel = subprocess.run(
            [*cmd, "runs", "cancel", run["run_id"], "--json"], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert cancel.returncode == 0, cancel.stderr
        assert json.loads(cancel.stdout)["status"] == "cancelled"
        assert driver.wait(timeout=30) == 1
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
