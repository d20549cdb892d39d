"""KfpRunner through the real kfp.Client against a loopback fake KFP API: what goes on the wire, what the store records,
the faults of issue 9 item 5, the API going away and coming back, a restart re-attaching, cancel."""

from __future__ import annotations

import os
import socket
import time

import pytest

from kale_ext.errors import KaleError
from kale_ext.runners.base import RunOptions

from ...notebooks import write_notebook
from .conftest import TOKEN

yaml = pytest.importorskip("yaml")


def pipeline_of(path):
    from kale_ext.commands.run import load_pipeline

    return load_pipeline(path)


def start(runner, nb, **params):
    return runner.start(pipeline_of(nb), nb, RunOptions(parameters=params))


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_submission_on_the_wire_and_in_the_store(fake_kfp, make_runner, small_nb):
    runner = make_runner()
    run_id = start(runner, small_nb, RATE=2.0)
    run = runner.wait(run_id, 20)

    calls = fake_kfp.calls()
    assert calls[0]["path"] == "/apis/v2beta1/healthz"
    assert {c["authorization"] for c in calls} == {f"Bearer {TOKEN}"}
    lookups = fake_kfp.calls("GET", "/apis/v2beta1/experiments")
    assert '"stringValue": "kale-ext"' in lookups[0]["query"]["filter"]
    (created,) = fake_kfp.calls("POST", "/apis/v2beta1/experiments")
    assert created["body"]["display_name"] == "kale-ext"
    (upload,) = fake_kfp.calls("POST", "/apis/v2beta1/pipelines/upload")
    assert upload["query"]["name"] == "small"
    (version,) = fake_kfp.versions
    assert version["ir"][0]["pipelineInfo"]["name"] == "small"
    assert set(version["ir"][0]["root"]["dag"]["tasks"]) == {"load", "train", "evaluate"}
    (create,) = fake_kfp.calls("POST", "/apis/v2beta1/runs")
    body = create["body"]
    assert body["experiment_id"] == fake_kfp.experiments[0]["experiment_id"]
    sent_ir = body["pipeline_spec"].get("pipeline_spec", body["pipeline_spec"])
    assert sent_ir["root"] == version["ir"][0]["root"]  # the run's IR is the version's
    assert body["runtime_config"]["parameters"] == {"RATE": 2.0, "ROUNDS": 3}

    kfp_id = next(iter(fake_kfp.runs))
    assert run["status"] == "succeeded" and run["runner"] == "kfp" and run["external_id"] == kfp_id
    assert run["options"]["external_url"] == f"{fake_kfp.url}/#/runs/details/{kfp_id}"
    assert run["options"]["kfp"]["pipeline_version_id"] == version["pipeline_version_id"]
    assert [(s["name"], s["status"]) for s in run["steps"]] == [
        ("load", "succeeded"),
        ("train", "succeeded"),
        ("evaluate", "succeeded"),
    ]
    assert run["parameters"] == {"RATE": 2.0, "ROUNDS": 3}
    db = os.path.join(runner.store_dir, "kale.db")
    assert TOKEN.encode() not in open(db, "rb").read()  # the token is never stored


def test_each_deploy_of_the_same_notebook_is_a_new_version_in_the_same_experiment(fake_kfp, make_runner, small_nb):
    runner = make_runner()
    runner.wait(start(runner, small_nb), 20)
    runner.wait(start(runner, small_nb), 20)
    assert len(fake_kfp.calls("POST", "/apis/v2beta1/pipelines/upload")) == 1
    (again,) = fake_kfp.calls("POST", "/apis/v2beta1/pipelines/upload_version")
    assert again["query"]["pipelineid"] == fake_kfp.pipelines[0]["pipeline_id"]
    assert len(fake_kfp.versions) == 2 and len(fake_kfp.experiments) == 1
    assert len(fake_kfp.runs) == 2


def test_task_states_map_onto_steps(fake_kfp, make_runner, small_nb):
    fake_kfp.script = [
        ("RUNNING", {"load": "SUCCEEDED", "train": "RUNNING"}),
        ("FAILED", {"load": "SUCCEEDED", "train": "FAILED"}),
    ]
    runner = make_runner()
    events = []
    run_id = runner.start(pipeline_of(small_nb), small_nb, RunOptions(), listener=events.append)
    run = runner.wait(run_id, 20)
    assert run["status"] == "failed" and run["error"] == "a task failed"
    steps = {s["name"]: s for s in run["steps"]}
    assert (steps["load"]["status"], steps["train"]["status"], steps["evaluate"]["status"]) == (
        "succeeded",
        "failed",
        "skipped",
    )
    assert "the pod exited with code 1" in steps["train"]["error"]["message"]
    assert {"event": "step", "run_id": run_id, "step": "train", "status": "running"} in events
    assert events[-1] == {"event": "run", "run_id": run_id, "status": "failed"}


def test_cancel_terminates_the_kfp_run(fake_kfp, make_runner, small_nb):
    fake_kfp.script = [("RUNNING", {"load": "RUNNING"})]
    runner = make_runner()
    run_id = start(runner, small_nb)
    wait_for(lambda: runner.get_run(run_id)["status"] == "running")
    run = runner.cancel(run_id)
    (terminate,) = fake_kfp.calls("POST", f"/apis/v2beta1/runs/{run['external_id']}:terminate")
    assert terminate["authorization"] == f"Bearer {TOKEN}"
    assert run["status"] == "cancelled"
    assert {s["name"]: s["status"] for s in run["steps"]} == {
        "load": "cancelled",
        "train": "skipped",
        "evaluate": "skipped",
    }


def test_the_api_going_away_leaves_the_run_unknown_and_watching_resumes(fake_kfp, make_runner, small_nb):
    fake_kfp.script = [("RUNNING", {"load": "RUNNING"})]
    runner = make_runner()
    run_id = start(runner, small_nb)
    wait_for(lambda: runner.get_run(run_id)["status"] == "running")
    fake_kfp.stop()
    run = wait_for(lambda: (r := runner.get_run(run_id))["status"] == "unknown" and r)
    assert "cannot reach the Kubeflow Pipelines API" in run["error"] and "watching resumes" in run["error"]
    fake_kfp.script = [("SUCCEEDED", dict.fromkeys(["load", "train", "evaluate"], "SUCCEEDED"))]
    fake_kfp.start()  # the same port
    run = runner.wait(run_id, 60)
    assert run["status"] == "succeeded" and run["error"] is None


def test_a_restarted_server_reattaches_to_unfinished_kfp_runs(fake_kfp, make_runner, small_nb, tmp_path):
    from kale_ext.runners.local import LocalRunner
    from kale_ext.store import Store

    fake_kfp.script = [("RUNNING", {"load": "RUNNING"})]
    first = make_runner()
    run_id = start(first, small_nb)
    wait_for(lambda: first.get_run(run_id)["status"] == "running")
    first.close()  # the server stops; the run goes on in the cluster
    LocalRunner(Store(first.store_dir))  # the local runner opening the store does not call it interrupted
    assert Store(first.store_dir).get_run(run_id)["status"] == "running"
    fake_kfp.script = [("SUCCEEDED", dict.fromkeys(["load", "train", "evaluate"], "SUCCEEDED"))]
    second = make_runner()  # opens the same store: re-attaches
    assert second.wait(run_id, 20)["status"] == "succeeded"


# ------------------------------------------------------------------------------------------------------- faults
def _no_requests(fake):
    assert fake.calls() == []


def test_a_parameter_of_the_wrong_type_is_refused_before_anything_is_sent(fake_kfp, make_runner, small_nb):
    with pytest.raises(KaleError, match="Parameter 'ROUNDS' expects a int"):
        start(make_runner(), small_nb, ROUNDS="many")
    _no_requests(fake_kfp)


def test_analysis_errors_are_refused_before_anything_is_uploaded(fake_kfp, make_runner, tmp_path):
    nb = write_notebook(tmp_path / "bad.ipynb", (["step:a"], "x = (\n"))
    with pytest.raises(KaleError, match="analysis error") as err:
        start(make_runner(), nb)
    assert "nothing was uploaded" in err.value.message
    _no_requests(fake_kfp)


def test_an_unreachable_host_is_reported_at_once(make_runner, small_nb):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(KaleError, match=r"cannot reach the Kubeflow Pipelines API at http://127\.0\.0\.1") as err:
        start(make_runner(host=f"http://127.0.0.1:{port}"), small_nb)
    assert time.monotonic() - t0 < 5
    assert "KF_PIPELINES_ENDPOINT" in err.value.message and "\n" not in err.value.message


def test_a_host_that_is_not_kfp(fake_kfp, make_runner, small_nb):
    fake_kfp.not_kfp = True
    with pytest.raises(KaleError, match="is not a Kubeflow Pipelines API"):
        start(make_runner(), small_nb)


def test_a_refused_token_names_the_token_setting_and_is_never_shown(fake_kfp, make_runner, small_nb, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token")
    with pytest.raises(KaleError, match=r"HTTP 401") as err:
        start(make_runner(token_path=str(wrong)), small_nb)
    assert "KF_PIPELINES_SA_TOKEN_PATH" in err.value.message and "c.KfpRunner.token_path" in err.value.message
    assert "not-the-token" not in err.value.message and err.value.code == "kfp.unauthorized"


def test_a_namespace_the_token_may_not_use(fake_kfp, make_runner, small_nb):
    fake_kfp.namespaces = ["team-a"]
    with pytest.raises(KaleError, match=r"in namespace 'team-b' \(HTTP 403") as err:
        start(make_runner(namespace="team-b"), small_nb)
    assert "--namespace" in err.value.message and err.value.code == "kfp.forbidden"
    assert fake_kfp.calls("POST", "/apis/v2beta1/pipelines/upload") == []


def test_an_experiment_in_another_namespace(fake_kfp, make_runner, small_nb, monkeypatch):
    """A KFP whose experiment lookup answers an experiment of another namespace (the name is taken there)."""
    fake_kfp.experiments.append({"experiment_id": "e1", "display_name": "kale-ext", "namespace": "team-a"})
    fake_kfp.namespaces = ["team-a", "team-b"]
    from .fake_kfp import _Handler

    route = _Handler._route

    def unfiltered(self, r, req):
        req["query"].pop("namespace", None)
        return route(self, r, req)

    monkeypatch.setattr(_Handler, "_route", unfiltered)
    with pytest.raises(KaleError, match="belongs to namespace 'team-a', not 'team-b'") as err:
        start(make_runner(namespace="team-b"), small_nb)
    assert err.value.code == "kfp.namespace"


def test_the_kfp_extra_missing_names_the_pip_command(make_runner, small_nb, monkeypatch):
    import sys

    runner = make_runner()
    monkeypatch.setitem(sys.modules, "kfp", None)
    with pytest.raises(KaleError, match=r"pip install 'kale-ext\[kfp\]'"):
        start(runner, small_nb)
    assert "pip install 'kale-ext[kfp]'" in runner.disabled_reason()


def test_no_host_configured_disables_the_backend_with_the_reason(token_file, tmp_path, monkeypatch):
    from kale_ext.runners.kfp.runner import KfpRunner

    monkeypatch.delenv("KF_PIPELINES_ENDPOINT", raising=False)
    runner = KfpRunner(token_path=token_file, store_dir=str(tmp_path / "s"))
    assert runner.capabilities() == []
    assert "no Kubeflow Pipelines backend is configured (no KFP host)" in runner.disabled_reason()
    monkeypatch.setenv("KF_PIPELINES_ENDPOINT", "http://127.0.0.1:1")
    assert KfpRunner(store_dir=str(tmp_path / "s")).capabilities() == ["runs", "runner:kfp"]


def test_the_token_path_defaults_to_the_environment(monkeypatch, token_file, tmp_path):
    from kale_ext.runners.kfp.runner import KfpRunner

    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", token_file)
    runner = KfpRunner(store_dir=str(tmp_path / "s"))
    assert runner.token_path == token_file and runner.read_token() == TOKEN


def test_logs_point_at_the_kfp_ui(fake_kfp, make_runner, small_nb):
    runner = make_runner()
    run_id = start(runner, small_nb)
    run = runner.wait(run_id, 20)
    text, offset = runner.read_log(run_id, "train")
    assert run["options"]["external_url"] in text and offset == len(text.encode())
    assert runner.read_log(run_id, "train", offset) == ("", offset)


def test_the_store_is_the_local_runners_unless_told_otherwise(tmp_path, monkeypatch):
    from traitlets.config import Config

    from kale_ext.runners.kfp.runner import KfpRunner

    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    shared = str(tmp_path / "shared")
    assert KfpRunner(config=Config({"LocalRunner": {"store_dir": shared}})).store_dir == shared
    own = str(tmp_path / "own")
    config = Config({"LocalRunner": {"store_dir": shared}, "KfpRunner": {"store_dir": own}})
    assert KfpRunner(config=config).store_dir == own
    assert KfpRunner().store_dir == ""


def test_an_unreadable_answer_leaves_the_run_unknown_then_watching_goes_on(fake_kfp, make_runner, small_nb):
    fake_kfp.script = [("RUNNING", {"load": "RUNNING"})]
    runner = make_runner()
    run_id = start(runner, small_nb)
    wait_for(lambda: runner.get_run(run_id)["status"] == "running")
    fake_kfp.garbled = True
    run = wait_for(lambda: (r := runner.get_run(run_id))["status"] == "unknown" and r)
    assert "Failed to parse `not a date`" in run["error"] and "watching resumes" in run["error"]
    fake_kfp.script = [("SUCCEEDED", dict.fromkeys(["load", "train", "evaluate"], "SUCCEEDED"))]
    fake_kfp.garbled = False
    run = runner.wait(run_id, 60)
    assert run["status"] == "succeeded" and run["error"] is None
