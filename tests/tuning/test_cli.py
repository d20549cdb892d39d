"""`kale-ext tune` and `kale-ext experiments` as a user runs them (subprocesses): progress lines, --json, exit codes
0/1/2 with one-line errors, SIGTERM cancels cleanly, a SIGKILL leaves the experiment interrupted and --resume
continues it."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.tuning.objective import KATIB, objective_notebook, write_objective

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def env(tmp_path) -> dict[str, str]:
    return {**os.environ, "KALE_EXT_HOME": str(tmp_path / "store"), "PYTHONPATH": REPO}


def kale(tmp_path, *args, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kale_ext", *args], capture_output=True, text=True, env=env(tmp_path), timeout=timeout
    )


def show(tmp_path, eid) -> dict:
    out = kale(tmp_path, "experiments", "show", eid, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_tune_json_progress_and_experiments_commands(tmp_path):
    nb = write_objective(tmp_path)
    out = kale(
        tmp_path, "tune", nb, "--max-trials", "3", "--parallel", "1", "--algorithm", "random", "--seed", "5", "--json"
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert {"experiment_id", "status", "best", "trials"} <= set(result)
    assert result["status"] == "succeeded" and len(result["trials"]) == 3
    for t in result["trials"]:
        assert {"trial", "run_id", "status", "parameters", "objective", "metrics"} <= set(t)
    assert set(result["best"]) == {"trial", "run_id", "parameters", "objective"}
    assert result["spec"]["algorithm"]["algorithmName"] == "random" and result["spec"]["seed"] == 5
    lines = [line for line in out.stderr.splitlines() if " trial " in line and "succeeded" in line]
    assert len(lines) == 3 and all("score=" in line and "best: score=" in line for line in lines)
    assert show(tmp_path, result["experiment_id"]) == result
    listed = json.loads(kale(tmp_path, "experiments", "list", "--json").stdout)["experiments"]
    assert [e["experiment_id"] for e in listed] == [result["experiment_id"]]
    text = kale(tmp_path, "experiments", "show", result["experiment_id"]).stdout
    assert "maxTrialCount reached" in text and result["best"]["run_id"] in text
    # The same seed reproduces the trials' parameters.
    again = json.loads(
        kale(
            tmp_path,
            "tune",
            nb,
            "--max-trials",
            "3",
            "--parallel",
            "1",
            "--algorithm",
            "random",
            "--seed",
            "5",
            "--json",
        ).stdout
    )
    assert [t["parameters"] for t in again["trials"]] == [t["parameters"] for t in result["trials"]]


def test_exit_1_when_no_trial_succeeded(tmp_path):
    katib = copy.deepcopy(KATIB)
    katib["parameters"] = [{"name": "x", "parameterType": "discrete", "feasibleSpace": {"list": ["0.95", "0.99"]}}]
    nb = write_objective(tmp_path, katib=katib)
    out = kale(tmp_path, "tune", nb, "--json")
    assert out.returncode == 1
    result = json.loads(out.stdout)
    assert result["status"] == "failed" and result["best"] is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--max-trials", "0"], "maxTrialCount must be greater than 0"),
        (["--parallel", "9", "--max-trials", "4"], "parallelTrialCount (9) must be less than or equal"),
        (["--algorithm", "annealing"], "'annealing' is not a Katib algorithm"),
        (["--emit", "x.yaml"], "--emit apply to --backend katib only"),
        (["--resume", "exp-1", "--seed", "3"], "--resume continues the experiment as it was recorded"),
        (["--resume", "exp-1", "--algorithm", "tpe"], "--algorithm cannot change it"),
        (["--resume", "exp-none"], "No experiment 'exp-none'"),
        (["--automl"], "--automl needs the notebook's model families"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, needle):
    out = kale(tmp_path, "tune", write_objective(tmp_path), *args)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and needle in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_bad_experiment_in_the_notebook_names_every_problem(tmp_path):
    katib = copy.deepcopy(KATIB)
    katib["parameters"][0]["name"] = "lr"
    katib["parameters"][1]["feasibleSpace"] = {"min": "5", "max": "2"}
    katib["objective"]["objectiveMetricName"] = "auc"
    out = kale(tmp_path, "tune", write_objective(tmp_path, katib=katib))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    for needle in ("3 problems", "'lr' is not a pipeline parameter", "min (5) is greater", "'auc' is not a pipeline"):
        assert needle in out.stderr


def test_experiments_show_unknown_id_exits_2(tmp_path):
    kale(tmp_path, "tune", write_objective(tmp_path), "--max-trials", "1")
    out = kale(tmp_path, "experiments", "show", "exp-nope")
    assert out.returncode == 2 and "No experiment 'exp-nope'" in out.stderr


def start_tune(tmp_path, nb, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kale_ext", "tune", nb, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(tmp_path),
    )


def wait_for_trials(tmp_path, succeeded: int, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        listed = kale(tmp_path, "experiments", "list", "--json")
        if listed.returncode == 0:
            experiments = json.loads(listed.stdout)["experiments"]
            if experiments and sum(t["status"] == "succeeded" for t in experiments[0]["trials"]) >= succeeded:
                return experiments[0]
        time.sleep(0.2)
    raise AssertionError(f"fewer than {succeeded} trials succeeded in {timeout} s")


def test_sigterm_cancels_cleanly(tmp_path):
    nb = write_objective(tmp_path, train_s=0.6)
    proc = start_tune(tmp_path, nb, "--max-trials", "8", "--parallel", "2", "--json")
    exp = wait_for_trials(tmp_path, 1)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr  # a trial succeeded before the cancel
    result = json.loads(stdout)
    assert result["experiment_id"] == exp["experiment_id"]
    assert result["status"] == "cancelled" and "SIGTERM received" in stderr
    statuses = {t["status"] for t in result["trials"]}
    assert statuses <= {"succeeded", "cancelled"} and len(result["trials"]) < 8
    assert "cancelled" in statuses, statuses  # the trials running at the SIGTERM are cancelled
    for t in result["trials"]:
        if t["status"] == "cancelled":
            run = json.loads(kale(tmp_path, "runs", "show", t["run_id"], "--json").stdout)
            assert run["status"] == "cancelled"


def test_sigkill_leaves_it_interrupted_and_resume_continues(tmp_path):
    nb = write_objective(tmp_path, train_s=0.4)
    proc = start_tune(tmp_path, nb, "--max-trials", "6", "--parallel", "1")
    exp = wait_for_trials(tmp_path, 2)
    proc.kill()
    proc.wait(timeout=30)
    eid = exp["experiment_id"]
    killed = show(tmp_path, eid)
    assert killed["status"] == "interrupted" and "--resume" in killed["error"]
    done_before = [t for t in killed["trials"] if t["status"] == "succeeded"]
    assert len(done_before) >= 2
    out = kale(tmp_path, "tune", nb, "--resume", eid, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["experiment_id"] == eid and result["status"] == "succeeded"
    finished = [t for t in result["trials"] if t["status"] in ("succeeded", "failed")]
    assert len(finished) == 6  # the budget counts the trials finished before the kill
    assert {t["trial"] for t in done_before} <= {t["trial"] for t in finished}
    points = [(t["parameters"]["x"], t["parameters"]["y"]) for t in finished]
    assert len(set(points)) == 6  # the fresh grid suggester was told the finished trials
    assert result["best"]["objective"] == max(t["objective"] for t in finished)


def test_another_process_cancels_a_cli_experiment(tmp_path):
    # The Jupyter server's Tuner cancelling an experiment that `kale-ext tune` drives: the recorded SIGTERM, verified.
    from kale_ext.runners.local import LocalRunner
    from kale_ext.store import Store
    from kale_ext.tuning.experiment import Tuner

    nb = write_objective(tmp_path, train_s=0.5)
    proc = start_tune(tmp_path, nb, "--max-trials", "10", "--parallel", "1", "--json")
    exp = wait_for_trials(tmp_path, 1)
    store = Store(str(tmp_path / "store"))
    assert store.experiment_row(exp["experiment_id"])["driver_signal"] == "SIGTERM"
    runner = LocalRunner(store)
    tuner = Tuner(runner)
    try:
        tuner.store_for(nb)
        cancelled = tuner.cancel(exp["experiment_id"])
        assert cancelled["status"] == "cancelled"
        stdout, stderr = proc.communicate(timeout=60)
        assert "SIGTERM received" in stderr and json.loads(stdout)["status"] == "cancelled"
    finally:
        tuner.close()
        runner.close()


def test_an_experiment_without_a_cancel_signal_is_not_cancelled_from_outside(tmp_path):
    from kale_ext.analysis import analyze
    from kale_ext.runners.local import LocalRunner
    from kale_ext.store import Store
    from kale_ext.tuning.experiment import ExperimentConflictError, Tuner
    from kale_ext.tuning.spec import read_experiment

    nb = write_objective(tmp_path, train_s=0.3)
    notebook = objective_notebook(train_s=0.3)
    spec = read_experiment(notebook, analyze(notebook))
    store = Store(str(tmp_path / "store"))
    runner = LocalRunner(store)  # no cancel_signal: nothing recorded that others could send
    driving, other = Tuner(runner), Tuner(runner)
    try:
        eid = driving.start(nb, spec)
        other.store_for(nb)
        with pytest.raises(ExperimentConflictError) as info:
            other.cancel(eid)
        assert info.value.status == 409 and "cannot be cancelled from here" in info.value.message
        assert driving.cancel(eid)["status"] == "cancelled"
        assert other.cancel(eid)["status"] == "cancelled"  # a finished experiment: answered as it is
    finally:
        driving.close()
        runner.close()


def test_a_driver_recorded_without_its_start_time_is_refused_at_once(tmp_path):
    # No start time (no /proc where it ran): its pid cannot be told from a reused one, so it is never signalled, and
    # the cancel says so at once instead of waiting out the timeout as if it had asked the driver.
    import subprocess
    import sys

    from kale_ext.runners.local import LocalRunner
    from kale_ext.store import Store
    from kale_ext.tuning.experiment import ExperimentConflictError, Tuner

    nb = write_objective(tmp_path)
    store = Store(str(tmp_path / "store"))
    store.create_experiment(experiment_id="exp-x", notebook=nb, name="x", spec={}, driver_signal="SIGTERM")
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    runner = LocalRunner(store)
    tuner = Tuner(runner)
    try:
        store.update_experiment("exp-x", driver_pid=driver.pid, driver_token=None)
        tuner.store_for(nb)
        tuner.foreign_cancel_timeout = 5.0
        with pytest.raises(ExperimentConflictError) as info:
            tuner.cancel("exp-x")
        assert info.value.status == 409 and "cannot be cancelled from here" in info.value.message
        assert driver.poll() is None  # never signalled
    finally:
        driver.kill()
        driver.wait()
        tuner.close()
        runner.close()
