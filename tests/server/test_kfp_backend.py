"""The server with two backends: local and Kubeflow Pipelines (configured with the loopback fake KFP API's host)."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import HTTPClientError

from tests.notebooks import make_notebook

pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install 'kale-ext[kfp]')")

from tests.runners.kfp.fake_kfp import FakeKfp  # noqa: E402

TOKEN = "server-token"
NOTEBOOK = make_notebook(
    (["pipeline-parameters"], "N = 3"),
    (["step:make"], "values = list(range(N))"),
    (["step:total", "prev:make"], "total = sum(values)"),
)


@pytest.fixture
def fake():
    f = FakeKfp(token=TOKEN).start()
    yield f
    f.stop()


@pytest.fixture
def jp_server_config(fake, tmp_path, monkeypatch):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    token = tmp_path / "token"
    token.write_text(TOKEN)
    return {
        "ServerApp": {"jpserver_extensions": {"kale_ext": True}, "allow_unauthenticated_access": False},
        "KfpRunner": {"host": fake.url, "token_path": str(token), "poll_interval": 0.05},
    }


async def fetch_json(jp_fetch, *parts, **kw):
    return json.loads((await jp_fetch("kale", "v1", *parts, **kw)).body)


async def post_run(jp_fetch, body):
    return await jp_fetch("kale", "v1", "runs", method="POST", body=json.dumps(body))


async def wait_status(jp_fetch, run_id, done=("succeeded", "failed", "cancelled"), timeout=30):
    for _ in range(int(timeout / 0.05)):
        run = await fetch_json(jp_fetch, "runs", run_id)
        if run["status"] in done:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} stayed {run['status']}")


async def test_info_lists_both_backends_and_the_union_of_capabilities(jp_fetch):
    info = await fetch_json(jp_fetch, "info")
    assert info["backends"] == [
        {"name": "local", "enabled": True, "reason": None},
        {"name": "kfp", "enabled": True, "reason": None},
    ]
    assert info["capabilities"] == ["analyze", "runs", "runner:local", "runner:kfp", "models", "experiments"]


async def test_a_kfp_run_from_the_rest_api(jp_fetch, jp_root_dir, fake):
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    response = await post_run(jp_fetch, {"path": "nb.ipynb", "backend": "kfp", "parameters": {"N": "7"}})
    assert response.code == 202
    created = json.loads(response.body)
    assert created["runner"] == "kfp" and created["external_id"] in fake.runs
    (create,) = fake.calls("POST", "/apis/v2beta1/runs")
    assert create["body"]["runtime_config"]["parameters"] == {"N": 7}
    assert {c["authorization"] for c in fake.calls()} == {f"Bearer {TOKEN}"}
    run = await wait_status(jp_fetch, created["run_id"])
    assert run["status"] == "succeeded" and [s["status"] for s in run["steps"]] == ["succeeded", "succeeded"]
    assert run["external_url"] == f"{fake.url}/#/runs/details/{created['external_id']}"
    listed = await fetch_json(jp_fetch, "runs", params={"notebook": "nb.ipynb"})
    assert [(r["run_id"], r["runner"]) for r in listed["runs"]] == [(created["run_id"], "kfp")]
    log = await fetch_json(jp_fetch, "runs", created["run_id"], "steps", "make", "log")
    assert run["external_url"] in log["text"] and log["status"] == "succeeded"


async def test_cancel_routes_to_the_kfp_backend(jp_fetch, jp_root_dir, fake):
    fake.script = [("RUNNING", {"make": "RUNNING"})]
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    created = json.loads((await post_run(jp_fetch, {"path": "nb.ipynb", "backend": "kfp"})).body)
    await wait_status(jp_fetch, created["run_id"], done=("running",))
    cancelled = await fetch_json(jp_fetch, "runs", created["run_id"], "cancel", method="POST", body="{}")
    assert cancelled["status"] == "cancelled"
    assert fake.calls("POST", f"/apis/v2beta1/runs/{created['external_id']}:terminate")


async def test_a_kfp_api_that_goes_away_shows_the_run_unknown_until_it_answers(jp_fetch, jp_root_dir, fake):
    fake.script = [("RUNNING", {"make": "RUNNING"})]
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    created = json.loads((await post_run(jp_fetch, {"path": "nb.ipynb", "backend": "kfp"})).body)
    await wait_status(jp_fetch, created["run_id"], done=("running",))
    fake.stop()
    unknown = await wait_status(jp_fetch, created["run_id"], done=("unknown",))
    assert "cannot reach the Kubeflow Pipelines API" in unknown["error"]
    listed = await fetch_json(jp_fetch, "runs", params={"notebook": "nb.ipynb"})
    assert listed["runs"][0]["status"] == "unknown"
    fake.script = [("SUCCEEDED", {"make": "SUCCEEDED", "total": "SUCCEEDED"})]
    fake.start()
    run = await wait_status(jp_fetch, created["run_id"], timeout=60)
    assert run["status"] == "succeeded" and run["error"] is None


@pytest.mark.parametrize(
    ("body", "fault", "code", "message"),
    [
        ({"backend": "spark"}, None, "run.backend", "this server has no backend 'spark'"),
        ({"backend": "kfp", "parameters": {"N": "many"}}, None, "parameter.invalid", "expects a int"),
        ({"backend": "kfp"}, "down", "kfp.unreachable", "cannot reach the Kubeflow Pipelines API"),
        ({"backend": "kfp"}, "token", "kfp.unauthorized", "KF_PIPELINES_SA_TOKEN_PATH"),
    ],
)
async def test_faults_are_4xx_with_a_message(jp_fetch, jp_root_dir, fake, body, fault, code, message):
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    if fault == "down":
        fake.stop()
    elif fault == "token":
        fake.token = "another"
    with pytest.raises(HTTPClientError) as err:
        await post_run(jp_fetch, {"path": "nb.ipynb", **body})
    assert err.value.code == 400
    error = json.loads(err.value.response.body)
    assert error["code"] == code and message in error["message"] and TOKEN not in error["message"]
