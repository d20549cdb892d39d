"""REST resources of served models (/kale/v1/models, /kale/v1/runs/RUN_ID/models) with jp_fetch, authentication on.

The serving manager is the test double of tests/serving_double.py, plugged in as an admin would plug in another one
(``c.KaleExtApp.serving_manager_class``); the runs are real local runs of a small scikit-learn pipeline. Every answer is
decoded into its kale_ext.api.models model.
"""

from __future__ import annotations

import asyncio
import json
import time

import msgspec
import pytest
from tornado.httpclient import HTTPClientError

from kale_ext.api.info import ErrorBody, ServerInfo
from kale_ext.api.models import DeployResult, ModelsView, ServableList, ServedModel
from kale_ext.server.serving import SERVING_SETTING
from tests.notebooks import make_notebook as _nb

DOUBLE = "tests.serving_double.FakeServingManager"

NOTEBOOK = _nb(
    (["imports"], "from sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression"),
    (["step:train"], "X, y = load_iris(return_X_y=True)\nmodel = LogisticRegression(max_iter=300).fit(X, y)"),
    (["step:score", "prev:train"], "accuracy = float(model.score(X, y))"),
)


@pytest.fixture(autouse=True)
def _stores_beside_the_notebooks(monkeypatch):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"kale_ext": True}, "allow_unauthenticated_access": False},
        "KaleExtApp": {"serving_manager_class": DOUBLE, "serving_port": 18080},
    }


async def call(jp_fetch, *parts, **kw):
    response = await jp_fetch("kale", "v1", *parts, allow_nonstandard_methods=True, **kw)
    return response.code, (json.loads(response.body) if response.body else None)


async def fail(jp_fetch, *parts, **kw) -> tuple[int, ErrorBody]:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", *parts, allow_nonstandard_methods=True, **kw)
    return err.value.code, msgspec.json.decode(err.value.response.body, type=ErrorBody)


async def finished_run(jp_fetch, jp_root_dir) -> str:
    (jp_root_dir / "iris.ipynb").write_text(json.dumps(NOTEBOOK))
    _, run = await call(jp_fetch, "runs", method="POST", body=json.dumps({"path": "iris.ipynb"}))
    for _ in range(1200):
        _, run = await call(jp_fetch, "runs", run["run_id"])
        if run["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.1)
    assert run["status"] == "succeeded", run
    return run["run_id"]


def deploy_body(run_id: str, **extra) -> str:
    return json.dumps({"notebook": "iris.ipynb", "run_id": run_id, "variable": "model", **extra})


async def view(jp_fetch) -> ModelsView:
    code, body = await call(jp_fetch, "models", params={"notebook": "iris.ipynb"})
    assert code == 200
    return msgspec.convert(body, ModelsView)


async def test_serving_is_a_capability_and_the_manager_is_the_configured_one(jp_fetch, jp_serverapp):
    info = msgspec.json.decode((await jp_fetch("kale", "v1", "info")).body, type=ServerInfo)
    assert "models" in info.capabilities
    managers = jp_serverapp.web_app.settings[SERVING_SETTING]
    assert managers.manager_class.__name__ == "FakeServingManager" and managers.port == 18080


async def test_deploy_a_run_model_list_it_with_metrics_canary_promote_and_stop(jp_fetch, jp_root_dir):
    run_id = await finished_run(jp_fetch, jp_root_dir)
    code, body = await call(jp_fetch, "runs", run_id, "models")
    servable = msgspec.convert(body, ServableList)
    assert code == 200 and [(m.step, m.variable, m.kind) for m in servable.models] == [("train", "model", "sklearn")]
    assert servable.models[0].type.endswith("LogisticRegression") and servable.models[0].hash

    response = await jp_fetch("kale", "v1", "models", method="POST", body=deploy_body(run_id, name="iris"))
    first = msgspec.json.decode(response.body, type=DeployResult)
    assert response.code == 201 and response.headers["Location"].endswith("/kale/v1/models/iris")
    assert (first.name, first.version, first.traffic) == ("iris", "1", {"1": 100})
    assert first.url == "http://127.0.0.1:18080/v1/models/iris"

    # Requests as the model server logs them: the listing's figures are computed from them per version.
    now = time.time()
    lines = [f"{now - 1:.3f} iris 1 v1 POST /v1/models/iris:predict 200 {ms}" for ms in (2.0, 4.0, 6.0, 8.0)]
    lines.append(f"{now:.3f} iris 1 v2 POST /v2/models/iris/infer 422 1.0")
    log = jp_root_dir / ".kale" / "serving" / "requests.log"
    log.write_text("\n".join(lines) + "\n")

    listing = await view(jp_fetch)
    assert listing.server is not None and listing.server.alive and listing.server.port == 18080
    [model] = listing.models
    [version] = model.versions
    assert (model.name, model.status, model.traffic) == ("iris", "ready", {"1": 100})
    assert (version.run_id, version.step, version.variable, version.traffic) == (run_id, "train", "model", 100)
    assert (version.metrics.requests, version.metrics.errors) == (5, 1)
    assert (version.metrics.p50_ms, version.metrics.p99_ms) == (4.0, 8.0) and version.metrics.rate_per_s == 0.5
    assert [(t.name, t.datatype, t.shape) for t in version.inputs] == [("input-0", "FP64", [-1, 4])]
    assert listing.recent_requests == [" ".join(line.split()) for line in lines]

    code, body = await call(jp_fetch, "models", method="POST", body=deploy_body(run_id, name="iris", canary_percent=10))
    assert code == 201 and body["version"] == "2" and body["traffic"] == {"1": 90, "2": 10}
    [model] = (await view(jp_fetch)).models
    assert [(v.version, v.traffic) for v in model.versions] == [("1", 90), ("2", 10)]
    assert model.versions[1].metrics.requests == 0 and model.versions[1].metrics.p50_ms is None

    code, one = await call(jp_fetch, "models", "iris", params={"notebook": "iris.ipynb"})
    assert code == 200 and msgspec.convert(one, ServedModel).traffic == {"1": 90, "2": 10}

    code, body = await call(jp_fetch, "models", "iris", "promote", method="POST", body=b"", params=_nb_arg())
    assert (code, body["version"], body["traffic"]) == (200, "2", {"2": 100})

    code, body = await call(jp_fetch, "models", method="POST", body=deploy_body(run_id, name="iris", canary_percent=30))
    code, body = await call(jp_fetch, "models", "iris", "rollback", method="POST", body=b"", params=_nb_arg())
    assert (code, body["version"], body["traffic"]) == (200, "2", {"2": 100})

    code, _ = await call(jp_fetch, "models", "iris", method="DELETE", params=_nb_arg())
    assert code == 204 and (await view(jp_fetch)).models == []

    await call(jp_fetch, "models", method="POST", body=deploy_body(run_id))
    assert [m.name for m in (await view(jp_fetch)).models] == ["model"]
    code, _ = await call(jp_fetch, "models", method="DELETE", params=_nb_arg())
    stopped = await view(jp_fetch)
    assert code == 204 and stopped.models == [] and stopped.server is None


def _nb_arg() -> dict[str, str]:
    return {"notebook": "iris.ipynb"}


async def test_a_variable_that_is_not_a_model_and_unknown_things_are_4xx(jp_fetch, jp_root_dir):
    run_id = await finished_run(jp_fetch, jp_root_dir)
    status, error = await fail(jp_fetch, "models", method="POST", body=deploy_body(run_id, variable="X"))
    assert (status, error.code) == (400, "model.not_servable") and "numpy.ndarray" in error.message
    status, error = await fail(jp_fetch, "models", method="POST", body=deploy_body(run_id, variable="nope"))
    assert status == 404
    status, error = await fail(jp_fetch, "models", method="POST", body=deploy_body("20990101-000000-abcdef"))
    assert (status, error.code) == (404, "run.not_found")
    status, error = await fail(jp_fetch, "runs", "20990101-000000-abcdef", "models")
    assert status == 404
    for verb, parts in (("POST", ("iris", "promote")), ("POST", ("iris", "rollback")), ("DELETE", ("iris",))):
        status, error = await fail(jp_fetch, "models", *parts, method=verb, params=_nb_arg(), body=None)
        assert (status, error.code) == (404, "model.not_found"), (verb, parts)
    status, error = await fail(jp_fetch, "models", "iris", params=_nb_arg())
    assert (status, error.code) == (404, "model.not_found")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"run_id": "r", "variable": "model"}, "notebook"),
        ({"notebook": "iris.ipynb", "variable": "model"}, "run_id"),
        ({"notebook": "iris.ipynb", "run_id": "r", "variable": 3}, "variable"),
        ({"notebook": "iris.ipynb", "run_id": "r", "variable": "model", "name": "Not A Name"}, "name"),
        ({"notebook": "iris.ipynb", "run_id": "r", "variable": "model", "canary_percent": 101}, "canary_percent"),
        ({"notebook": "iris.ipynb", "run_id": "r", "variable": "model", "canary_percent": "10"}, "canary_percent"),
    ],
)
async def test_a_bad_deploy_body_is_400_naming_the_field(jp_fetch, body, field):
    status, error = await fail(jp_fetch, "models", method="POST", body=json.dumps(body))
    assert status == 400 and error.details["field"] == field and f"'{field}'" in error.message


@pytest.mark.parametrize("body, code", [("{not json", "request.json"), ("[1]", "request.json"), ("", "request.empty")])
async def test_an_unusable_deploy_body_is_400(jp_fetch, body, code):
    assert (await fail(jp_fetch, "models", method="POST", body=body))[1].code == code


async def test_the_notebook_argument_is_required_and_stays_inside_the_root(jp_fetch):
    status, error = await fail(jp_fetch, "models")
    assert (status, error.details["field"]) == (400, "notebook")
    status, error = await fail(jp_fetch, "models", params={"notebook": "../../etc/x.ipynb"})
    assert (status, error.code) == (403, "path.forbidden")
    body = json.dumps({"notebook": "../outside.ipynb", "run_id": "r", "variable": "model"})
    assert (await fail(jp_fetch, "models", method="POST", body=body))[0] == 403


async def test_an_empty_store_has_no_server_and_no_models(jp_fetch, jp_root_dir):
    (jp_root_dir / "iris.ipynb").write_text(json.dumps(NOTEBOOK))
    listing = await view(jp_fetch)
    assert listing.server is None and listing.models == [] and listing.recent_requests == []


class TestWithoutAServingManager:
    """A server whose serving manager cannot be imported still starts; the models resources say why they are off."""

    @pytest.fixture
    def jp_server_config(self):
        return {
            "ServerApp": {"jpserver_extensions": {"kale_ext": True}, "allow_unauthenticated_access": False},
            "KaleExtApp": {"serving_manager_class": "tests.no_such_module.Manager"},
        }

    async def test_models_answer_503_and_info_has_no_models_capability(self, jp_fetch):
        info = msgspec.json.decode((await jp_fetch("kale", "v1", "info")).body, type=ServerInfo)
        assert "models" not in info.capabilities and "runs" in info.capabilities
        status, error = await fail(jp_fetch, "models", params=_nb_arg())
        assert (status, error.code) == (503, "serving.unavailable") and "serving manager" in error.message
