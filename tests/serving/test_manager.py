"""The ServingManager over the real inference server process and real HTTP: start on first deploy, state.json, versions and canary, promote, rollback, stop,
finding the server again from another manager, metrics and the request log, bad input."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import urllib.request

import joblib
import pytest

from kale_ext.errors import ConflictError, InvalidRequestError, NotFoundError
from kale_ext.runners.local.identity import driver_alive
from kale_ext.serving.manager import ServingManager, default_name
from kale_ext.serving.process import ServerStartError
from kale_ext.serving.sources import ModelLoadError

ROW = [5.1, 3.5, 1.4, 0.2]


def post(url, body):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with opener.open(req, timeout=10) as r:
        return json.load(r)


def state(manager):
    with open(manager.state_path) as f:
        return json.load(f)


def test_the_first_deploy_starts_the_server_which_serves_the_runs_model(manager, leaf):
    store, run = leaf
    assert manager.server() is None
    answer = manager.deploy(run_id=run["run_id"], variable="clf")
    server = manager.server()
    assert server["alive"] and driver_alive(server["pid"], server["token"]) and server["host"] == "127.0.0.1"
    assert answer == {"name": "clf", "version": "1", "url": f"{server['url']}/v1/models/clf", "traffic": {"1": 100}}
    [version] = store.served_versions("clf")
    assert (version["run_id"], version["step"], version["variable"], version["kind"]) == (
        run["run_id"],
        "train",
        "clf",
        "sklearn",
    )
    assert state(manager) == {
        "models": {"clf": {"versions": {"1": {"model_dir": version["model_dir"]}}, "traffic": {"1": 100}}}
    }
    assert post(answer["url"] + ":predict", {"instances": [ROW]}) == {"predictions": [0]}
    [listed] = manager.list()
    assert listed["status"] == "ready" and listed["traffic"] == {"1": 100} and listed["url"] == answer["url"]
    assert (
        listed["versions"][0]["hash"] == version["hash"] and listed["versions"][0]["model_dir"] == version["model_dir"]
    )


def test_canary_promote_rollback_and_stop(manager, leaf):
    _, run = leaf
    rid = run["run_id"]
    manager.deploy(run_id=rid, variable="clf", name="iris")
    pid = manager.server()["pid"]
    canary = manager.deploy(run_id=rid, variable="doubler", name="iris", canary_percent=10)
    assert canary["version"] == "2" and canary["traffic"] == {"1": 90, "2": 10}
    assert manager.server()["pid"] == pid, "later deploys reuse the running server"
    assert state(manager)["models"]["iris"]["traffic"] == {"1": 90, "2": 10}
    _wait_for_traffic(manager, "iris", {"1": 90, "2": 10})
    answers = [post(canary["url"] + ":predict", {"instances": [ROW]})["predictions"][0] for _ in range(200)]
    assert answers.count(20.4) == 20 and answers.count(0) == 180, "the doubler answers 2*sum(row) for its 10 %"
    replaced = manager.deploy(run_id=rid, variable="doubler", name="iris", canary_percent=30)
    assert replaced["traffic"] == {"1": 70, "3": 30}, "a newer canary replaces the older one"
    assert manager.rollback("iris") == {**replaced, "version": "1", "traffic": {"1": 100}}
    manager.deploy(run_id=rid, variable="doubler", name="iris", canary_percent=50)
    promoted = manager.promote("iris")
    assert (promoted["version"], promoted["traffic"]) == ("4", {"4": 100})
    with pytest.raises(ConflictError, match="nothing to promote"):
        manager.promote("iris")
    with pytest.raises(ConflictError, match="no earlier version"):
        manager.rollback("iris")
    rollout = manager.deploy(run_id=rid, variable="clf", name="iris")
    assert (rollout["version"], rollout["traffic"]) == ("5", {"5": 100}), "without a canary: KServe's rollout"
    manager.stop("iris")
    assert manager.list() == [] and state(manager) == {"models": {}}
    assert manager.server()["alive"], "stopping a model leaves the server running"
    with pytest.raises(NotFoundError, match="No model named 'iris' is served"):
        manager.stop("iris")


def _wait_for_traffic(manager, name, traffic):
    import time

    deadline = time.time() + 10
    while time.time() < deadline and manager.list()[0]["status"] != "ready":
        time.sleep(0.05)
    time.sleep(0.3)  # the server reloads state.json on SIGHUP


def test_another_manager_finds_the_running_server_and_stop_ends_it(manager, leaf):
    store, run = leaf
    manager.deploy(run_id=run["run_id"], variable="clf")
    info = manager.server()
    other = ServingManager(store, port=0)
    assert other.server()["pid"] == info["pid"] and other.list()[0]["status"] == "ready"
    other.stop()
    assert not driver_alive(info["pid"], info["token"]) or _zombie(info["pid"]), "a zombie until its parent reaps it"
    assert manager.server() is None and manager.list() == []
    assert all(r["stopped"] for r in store.served_versions(live=False))


def test_metrics_and_recent_requests_come_from_the_server(manager, leaf):
    _, run = leaf
    answer = manager.deploy(run_id=run["run_id"], variable="clf", name="m")
    for _ in range(5):
        post(answer["url"] + ":predict", {"instances": [ROW]})
    # the server appends to requests.log every half second (the rate comes from its last minute)
    deadline = time.monotonic() + 10
    while manager.metrics()["m"]["1"]["rate_per_s"] < 5 / 60 - 1e-3 and time.monotonic() < deadline:
        time.sleep(0.1)
    stats = manager.metrics()["m"]["1"]
    assert stats["requests"] == 5 and stats["errors"] == 0 and stats["rate_per_s"] == pytest.approx(5 / 60, abs=1e-3)
    assert 0 < stats["p50_ms"] <= stats["p99_ms"] <= 1000
    lines = manager.recent_requests(3)
    assert len(lines) == 3 and all(line.split()[1:4] == ["m", "1", "v1"] for line in lines)


def test_a_kserve_model_directory_is_served_and_bad_ones_are_refused(manager, leaf, tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    store, run = leaf
    plain = tmp_path / "iris-dir"
    plain.mkdir()
    # KServe's layout, no kale-model.json (a model of the same bytes as a run's would share that run's export folder)
    joblib.dump(DecisionTreeClassifier(random_state=0).fit(*load_iris(return_X_y=True)), plain / "model.joblib")
    answer = manager.deploy(model_dir=str(plain))
    assert answer["name"] == "iris-dir"
    [row] = store.served_versions("iris-dir")
    assert row["run_id"] is None and row["hash"].startswith("sha256:") and row["model_dir"] != str(plain)
    assert os.listdir(plain) == ["model.joblib"], "the user's folder is not written to"
    assert post(answer["url"] + ":predict", {"instances": [ROW]}) == {"predictions": [0]}
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no model file"):
        manager.deploy(model_dir=str(tmp_path / "empty"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.joblib").write_bytes(b"not a joblib file")
    with pytest.raises(ModelLoadError, match="Cannot load the model"):
        manager.deploy(model_dir=str(broken))
    joblib.dump({"a": 1}, tmp_path / "dict.joblib")
    (tmp_path / "notmodel").mkdir()
    shutil.move(tmp_path / "dict.joblib", tmp_path / "notmodel" / "model.joblib")
    with pytest.raises(Exception, match="builtins.dict, not a model"):
        manager.deploy(model_dir=str(tmp_path / "notmodel"))


def test_bad_deploy_arguments(manager, leaf):
    _, run = leaf
    with pytest.raises(InvalidRequestError, match="not a valid model name"):
        manager.deploy(run_id=run["run_id"], variable="clf", name="Bad_Name")
    with pytest.raises(InvalidRequestError, match="from 1 to 99"):
        manager.deploy(run_id=run["run_id"], variable="clf", canary_percent=100)
    with pytest.raises(InvalidRequestError, match="not both"):
        manager.deploy(run_id=run["run_id"], variable="clf", model_dir="/x")
    with pytest.raises(InvalidRequestError, match="Name the run"):
        manager.deploy(run_id=run["run_id"])
    assert manager.server() is None, "nothing was started"
    assert default_name("best_model.v2") == "best-model-v2" and default_name("_2x") == "model-2x"


def test_a_server_that_cannot_listen_is_reported_and_not_recorded_as_serving(leaf):
    store, run = leaf
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        manager = ServingManager(store, port=port)
        with pytest.raises(ServerStartError, match="exited with code 2 before listening .*address already in use"):
            manager.deploy(run_id=run["run_id"], variable="clf", name="blocked")
    assert store.served_versions("blocked") == [] and "blocked" not in state(manager)["models"]


def _zombie(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return data[data.rindex(b")") + 2 :].split()[0] == b"Z"
