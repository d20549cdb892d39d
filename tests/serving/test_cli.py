"""`kale-ext serve`: deploy with --json, list, promote, rollback, stop, and bad input as one line with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kale_ext import cli

from .conftest import REPO


@pytest.fixture
def serve(leaf, monkeypatch, capsys):
    store, run = leaf

    def call(*argv):
        code = cli.main(["serve", *argv, "--store", store.folder, "--port", "0"])
        out, err = capsys.readouterr()
        return code, out, err

    yield call, run["run_id"]
    cli.main(["serve", "stop", "--store", store.folder])


def test_deploy_list_canary_promote_and_stop_from_the_command_line(serve):
    call, rid = serve
    code, out, err = call(rid, "--model", "clf", "--name", "iris", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert set(answer) == {"name", "version", "url", "traffic"}
    assert (answer["name"], answer["version"], answer["traffic"]) == ("iris", "1", {"1": 100})
    assert answer["url"].startswith("http://127.0.0.1:") and answer["url"].endswith("/v1/models/iris")
    code, out, _ = call(rid, "--model", "doubler", "--name", "iris", "--canary-percent", "25")
    assert code == 0 and out.strip().endswith("(traffic: v1 75%, v2 25%)")
    code, out, _ = call("list", "--json")
    [listed] = json.loads(out)
    assert listed["name"] == "iris" and listed["traffic"] == {"1": 75, "2": 25} and len(listed["versions"]) == 2
    assert listed["versions"][1]["variable"] == "doubler" and listed["versions"][1]["run_id"] == rid
    code, out, _ = call("promote", "iris", "--json")
    assert code == 0 and json.loads(out)["traffic"] == {"2": 100}
    code, out, err = call("rollback", "iris")
    assert code == 2 and out == "" and err.count("\n") == 1 and "no earlier version" in err
    code, out, _ = call("stop", "iris")
    assert code == 0 and out == "stopped iris\n"
    code, out, _ = call("list")
    assert code == 0 and out == "no served models\n"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["{rid}", "--model", "X"], "numpy.ndarray, not a model"),
        (["{rid}", "--model", "nope"], "kept no model named 'nope'"),
        (["{rid}", "--model", "clf", "--step", "nope"], "has no step 'nope'"),
        (["no-such-run", "--model", "clf"], "No run 'no-such-run'"),
        (["{rid}"], "--model VARIABLE"),
        ([], "Name a RUN_ID"),
        (["list", "--model", "clf"], "takes no --model"),
        (["promote"], "needs the served model's NAME"),
        (["stop", "ghost"], "No model named 'ghost'"),
        (["--model-dir", "/no/such/dir"], "does not exist"),
        (["{rid}", "--model", "clf", "--canary-percent", "0"], "from 1 to 99"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(serve, argv, message):
    call, rid = serve
    code, out, err = call(*[a.format(rid=rid) for a in argv])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("kale-ext: error: ") and message in err, err


def test_help_explains_both_forms():
    out = subprocess.run(
        [sys.executable, "-m", "kale_ext.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin"},
    ).stdout
    assert "kale-ext serve RUN_ID --model VARIABLE" in out and "promote NAME" in out and "--foreground" in out


def test_the_server_outlives_the_command_that_started_it_and_later_commands_find_it(leaf):
    store, run = leaf
    from kale_ext.serving.process import read_server

    def kale(*argv):
        # The real CLI in its own interpreter, starting the real server.
        code = "import sys; from kale_ext import cli\nsys.exit(cli.main(sys.argv[1:]))\n"
        argv = ["serve", *argv, "--store", store.folder, "--port", "0"]
        env = {**os.environ, "PYTHONPATH": REPO}
        proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120, env=env)
        return proc.returncode, proc.stdout, proc.stderr

    try:
        code, out, err = kale(run["run_id"], "--model", "clf", "--name", "bg", "--json")
        assert code == 0, err
        info = read_server(os.path.join(store.folder, "serving"))
        assert info["alive"], "the command has exited; its server runs on"
        code, out, _ = kale("list", "--json")
        [listed] = json.loads(out)
        assert listed["name"] == "bg" and listed["status"] == "ready" and listed["url"] == json.loads(out)[0]["url"]
    finally:
        code, out, _ = kale("stop")
    assert code == 0 and out == "stopped the model server and every model\n"
    after = read_server(os.path.join(store.folder, "serving"))
    assert after is None or not after["alive"]


def test_foreground_records_the_deploy_and_runs_the_server_in_this_process(serve, leaf, monkeypatch):
    import types

    call, rid = serve
    store, _ = leaf
    calls = []
    server = types.ModuleType("kale_ext.serving.server")  # part serve-http's module, as contract 3 names it
    server.serve = lambda state_path, host, port, **limits: calls.append(
        (state_path, host, port, json.load(open(state_path)))
    )
    monkeypatch.setitem(sys.modules, "kale_ext.serving.server", server)
    code, out, err = call(rid, "--model", "clf", "--name", "fg", "--foreground")
    assert code == 0, err
    [(state_path, host, port, state)] = calls
    assert state_path == os.path.join(store.folder, "serving", "state.json") and (host, port) == ("127.0.0.1", 0)
    assert state["models"]["fg"]["traffic"] == {"1": 100}
    assert not os.path.exists(os.path.join(store.folder, "serving", "server.json")), "no background server started"
    code, _, _ = call("--foreground")
    assert code == 0 and len(calls) == 2, "--foreground alone serves what is recorded"


def test_backend_kserve_writes_the_runs_model_as_an_inference_service(leaf, tmp_path, capsys):
    import yaml

    store, run = leaf
    target = tmp_path / "isvc.yaml"
    argv = ["serve", run["run_id"], "--model", "clf", "--backend", "kserve", "--namespace", "team"]
    argv += ["--image", "registry.invalid/kale-ext:0.1.0", "--emit", str(target), "--store", store.folder, "--json"]
    assert cli.main(argv) == 2, "a model directory on no volume of the notebook needs a storage URI"
    assert "pass a storage URI" in capsys.readouterr().err
    assert cli.main([*argv, "--storage-uri", "pvc://models/clf"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["action"] == "emitted" and answer["name"] == "clf" and answer["namespace"] == "team"
    isvc = yaml.safe_load(target.read_text())
    assert (isvc["apiVersion"], isvc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    assert isvc["metadata"] == {**isvc["metadata"], "name": "clf", "namespace": "team"}
    assert isvc["spec"]["predictor"]["model"]["modelFormat"]["name"] == "sklearn"
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "pvc://models/clf"
    assert "transformer" in isvc["spec"], "the leaf notebook defines preprocess: the transformer comes along"
    assert cli.main(["serve", "list", "--backend", "kserve", "--store", store.folder]) == 2
    assert "deploys one model" in capsys.readouterr().err
