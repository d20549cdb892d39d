"""Cancelling a run driven by another process: a real `kale-ext run` is cancelled through a LocalRunner of this
process (a SIGTERM to the CLI, sent only after checking its pid and start time); other drivers are never signalled."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from kale_ext.runners.base import RunnerError
from kale_ext.runners.local import LocalRunner
from kale_ext.runners.local.identity import process_token
from kale_ext.store import Store

from .helpers import code_cell, write_notebook
from .test_local import live_group_members

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc (driver start times, process groups)")

SLOW_STEP = "import subprocess, time\nsubprocess.Popen(['sleep', '60'])\ntime.sleep(60)"


def start_cli(folder, notebook):
    env = {k: v for k, v in os.environ.items() if k != "KALE_EXT_HOME"}
    return subprocess.Popen(
        [sys.executable, "-m", "kale_ext", "run", notebook, "--json"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_running_step(store, proc, timeout=60):
    """(run_id, step pid) once the CLI's run has its step process running, with its `sleep` child."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        row = (
            store._conn()
            .execute("SELECT run_id, pid FROM steps WHERE status = 'running' AND pid IS NOT NULL")
            .fetchone()
        )
        if row and len(live_group_members(row["pid"])) >= 2:
            return row["run_id"], row["pid"]
        time.sleep(0.1)
    raise AssertionError("the CLI's step never started")


@pytest.fixture
def cli_run(tmp_path):
    path, _ = write_notebook(tmp_path / "slow.ipynb", [code_cell(SLOW_STEP, "step:slow")])
    proc = start_cli(tmp_path, "slow.ipynb")
    store = Store(str(tmp_path / ".kale"))
    try:
        run_id, step_pid = wait_running_step(store, proc)
        yield store, proc, run_id, step_pid
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_cancel_of_a_cli_run_stops_the_cli_and_its_step_group(cli_run):
    store, proc, run_id, step_pid = cli_run
    runner = LocalRunner(store)
    assert run_id not in runner._drivers
    t0 = time.time()
    run = runner.cancel(run_id)
    assert time.time() - t0 < 15
    assert run["status"] == "cancelled" and "SIGTERM" in run["error"]
    assert [s["status"] for s in run["steps"]] == ["cancelled"]
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert '"status": "cancelled"' in out and "SIGTERM received" in err
    deadline = time.time() + 5
    while live_group_members(step_pid) and time.time() < deadline:
        time.sleep(0.05)
    assert live_group_members(step_pid) == []
    assert runner.cancel(run_id)["status"] == "cancelled", "cancelling a finished run returns it"


def fake_run(store, run_id="r1"):
    store.create_run(
        run_id=run_id,
        notebook="/nowhere/nb.ipynb",
        pipeline="p",
        parameters={},
        options={},
        plan=[{"name": "a", "depends_on": []}],
        metric_sources={},
        driver_signal="SIGTERM",
    )
    store.update_run(run_id, status="running")
    return run_id


@pytest.fixture
def bystander():
    """A live process that must never be signalled (a SIGTERM would end it)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    deadline = time.time() + 5
    while process_token(proc.pid) is None and time.time() < deadline:
        time.sleep(0.01)
    yield proc
    proc.kill()
    proc.wait()


def test_a_reused_pid_is_never_signalled_and_the_run_becomes_interrupted(tmp_path, bystander):
    store = Store(str(tmp_path / ".kale"))
    run_id = fake_run(store)
    # The recorded driver "was" this pid, but a different process (another start time): the pid was reused.
    store.update_run(run_id, driver_pid=bystander.pid, driver_token=str(int(process_token(bystander.pid)) + 1))
    run = LocalRunner(store).cancel(run_id)
    assert run["status"] == "interrupted" and [s["status"] for s in run["steps"]] == ["cancelled"]
    time.sleep(0.2)
    assert bystander.poll() is None


def test_a_dead_driver_leaves_the_run_interrupted(tmp_path):
    store = Store(str(tmp_path / ".kale"))
    run_id = fake_run(store)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store.update_run(run_id, driver_pid=gone.pid, driver_token="1")
    assert LocalRunner(store).cancel(run_id)["status"] == "interrupted"


def test_a_driver_without_a_cancel_signal_stays_foreign(tmp_path, bystander):
    store = Store(str(tmp_path / ".kale"))
    run_id = fake_run(store)
    store.update_run(
        run_id, driver_pid=bystander.pid, driver_token=process_token(bystander.pid), driver_signal=None
    )  # e.g. another Jupyter server: a SIGTERM would stop the whole server
    with pytest.raises(RunnerError) as info:
        LocalRunner(store).cancel(run_id)
    assert info.value.code == "run.foreign"
    assert bystander.poll() is None and store.get_run(run_id)["status"] == "running"


def test_this_process_is_never_signalled(tmp_path):
    store = Store(str(tmp_path / ".kale"))
    run_id = fake_run(store)  # recorded with this process as its driver, but no driver thread here
    with pytest.raises(RunnerError) as info:
        LocalRunner(store).cancel(run_id)
    assert info.value.code == "run.foreign"


def test_a_driver_that_does_not_stop_times_out_with_409(tmp_path):
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\ntime.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert stubborn.stdout.readline().strip() == "ready"
        store = Store(str(tmp_path / ".kale"))
        run_id = fake_run(store)
        store.update_run(run_id, driver_pid=stubborn.pid, driver_token=process_token(stubborn.pid))
        runner = LocalRunner(store)
        runner.foreign_cancel_timeout = 0.5
        with pytest.raises(RunnerError) as info:
            runner.cancel(run_id)
        assert (info.value.code, info.value.status) == ("run.cancel_timeout", 409)
        assert stubborn.poll() is None and store.get_run(run_id)["status"] == "running"
    finally:
        stubborn.kill()
        stubborn.wait()


def test_an_old_store_gains_the_driver_signal_column(tmp_path):
    import sqlite3

    folder = tmp_path / ".kale"
    Store(str(folder))
    conn = sqlite3.connect(folder / "kale.db")
    conn.execute("ALTER TABLE runs DROP COLUMN driver_signal")  # as made by an older version,
    conn.execute("PRAGMA user_version = 0")  # which recorded no schema version
    conn.commit()
    conn.close()
    Store(str(folder))
    Store(str(folder))  # idempotent
    conn = sqlite3.connect(folder / "kale.db")
    assert "driver_signal" in {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    conn.close()
