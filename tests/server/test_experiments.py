"""REST resources of tuning experiments with pytest-jupyter's jp_fetch (authentication on), over the real Tuner and
the local runner: start (201) on a tunable notebook, watch the trials to the end, list, open a trial's run, cancel;
every bad input a 4xx with its code (an invalid experiment: 400 tune.invalid naming every problem)."""

from __future__ import annotations

import asyncio
import copy
import json

import pytest
from tornado.httpclient import HTTPClientError

from tests.tuning.objective import KATIB, loads, objective_notebook


@pytest.fixture(autouse=True)
def _stores_beside_the_notebooks(monkeypatch):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)


async def fetch_json(jp_fetch, *parts, **kw):
    return json.loads((await jp_fetch("kale", "v1", *parts, **kw)).body)


async def error_of(jp_fetch, *parts, **kw):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", *parts, **kw)
    return err.value.code, json.loads(err.value.response.body)


async def wait_done(jp_fetch, experiment_id, timeout=120):
    for _ in range(int(timeout / 0.2)):
        experiment = await fetch_json(jp_fetch, "experiments", experiment_id)
        if experiment["status"] != "running":
            return experiment
        await asyncio.sleep(0.2)
    raise AssertionError(f"experiment {experiment_id} did not finish")


def write(root, name="sub/tune.ipynb", **kwargs):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(objective_notebook(**kwargs)))
    return name


async def start(jp_fetch, **body):
    return await jp_fetch("kale", "v1", "experiments", method="POST", body=json.dumps(body))


async def test_start_answers_201_then_the_trials_run_to_the_best(jp_fetch, jp_root_dir):
    name = write(jp_root_dir)
    response = await start(jp_fetch, path=name, max_trials=4, parallel=2)
    assert response.code == 201
    created = json.loads(response.body)
    assert created["status"] == "running" and created["path"] == name and created["runner"] == "local"
    assert response.headers["Location"].endswith("/experiments/" + created["experiment_id"])
    assert created["spec"]["maxTrialCount"] == 4 and created["spec"]["parallelTrialCount"] == 2

    done = await wait_done(jp_fetch, created["experiment_id"])
    assert done["status"] == "succeeded", done
    assert len(done["trials"]) == 4 and all(t["status"] == "succeeded" for t in done["trials"])
    best = max(done["trials"], key=lambda t: t["objective"])
    assert done["best"]["trial"] == best["trial"] and done["best"]["objective"] == best["objective"]
    assert done["best"]["parameters"] == best["parameters"] and set(best["parameters"]) == {"x", "y"}
    assert done["reason"] and done["finished"] >= done["created"]
    assert loads(jp_root_dir / "sub") == 1  # the data-loading step reads no tuned parameter: it ran once

    # A trial opens its run: the run resource knows it, with the trial's parameters and metrics.
    run = await fetch_json(jp_fetch, "runs", best["run_id"])
    assert run["status"] == "succeeded" and run["metrics"]["score"] == best["objective"]
    assert {k: run["parameters"][k] for k in ("x", "y")} == best["parameters"]

    listed = await fetch_json(jp_fetch, "experiments", params={"path": name})
    assert [e["experiment_id"] for e in listed["experiments"]] == [created["experiment_id"]]
    assert listed["experiments"][0]["path"] == name and len(listed["experiments"][0]["trials"]) == 4


async def test_an_invalid_experiment_is_refused_with_every_problem(jp_fetch, jp_root_dir):
    katib = copy.deepcopy(KATIB)
    katib["parameters"][1]["feasibleSpace"] = {"min": "5", "max": "1"}  # min > max
    katib["parameters"].append({"name": "nope", "parameterType": "categorical", "feasibleSpace": {"list": []}})
    katib["objective"]["objectiveMetricName"] = "accuracy"  # not a pipeline metric
    name = write(jp_root_dir, katib=katib)
    code, body = await error_of(jp_fetch, "experiments", method="POST", body=json.dumps({"path": name}))
    assert (code, body["code"]) == (400, "tune.invalid")
    problems = body["details"]["problems"]
    assert len(problems) == 4, problems  # every problem at once, each naming its field
    assert any("accuracy" in p for p in problems)
    assert any("(y)" in p and "min (5)" in p for p in problems)
    assert sum("(nope)" in p for p in problems) == 2  # an empty list, and not a pipeline parameter
    assert all(p in body["message"] for p in problems)


async def test_overrides_are_validated_too(jp_fetch, jp_root_dir):
    katib = copy.deepcopy(KATIB)
    katib["parameters"][0]["feasibleSpace"] = {"min": "0", "max": "0.5"}
    katib["algorithm"] = {"algorithmName": "random"}
    name = write(jp_root_dir, katib=katib)
    # A double with min 0 is fine under random and refused under bayesianoptimization (log-uniform).
    code, body = await error_of(
        jp_fetch, "experiments", method="POST", body=json.dumps({"path": name, "algorithm": "bayesianoptimization"})
    )
    assert (code, body["code"]) == (400, "tune.invalid")
    assert any("x" in p and "0" in p for p in body["details"]["problems"])
    code, body = await error_of(
        jp_fetch, "experiments", method="POST", body=json.dumps({"path": name, "parallel": 20, "max_trials": 2})
    )
    assert (code, body["code"]) == (400, "tune.invalid")


async def test_bad_requests_are_4xx(jp_fetch, jp_root_dir):
    (jp_root_dir / "plain.ipynb").write_text(json.dumps({**objective_notebook(), "metadata": {}}))
    code, body = await error_of(jp_fetch, "experiments", method="POST", body=json.dumps({"path": "plain.ipynb"}))
    assert code == 400 and body["code"].startswith("tune.")
    code, body = await error_of(jp_fetch, "experiments", method="POST", body=json.dumps({"path": "x", "max_trials": 0}))
    assert (code, body["code"], body["details"]["field"]) == (400, "request.field", "max_trials")
    code, body = await error_of(jp_fetch, "experiments", method="POST", body=json.dumps({"max_trials": 2}))
    assert (code, body["code"]) == (400, "path.invalid")
    code, body = await error_of(jp_fetch, "experiments", method="POST", body=json.dumps({"path": "../out.ipynb"}))
    assert (code, body["code"]) == (403, "path.forbidden")
    code, body = await error_of(jp_fetch, "experiments", params={"path": "../out.ipynb"})
    assert (code, body["code"]) == (403, "path.forbidden")
    code, body = await error_of(jp_fetch, "experiments", method="POST", body=json.dumps({"path": "missing.ipynb"}))
    assert code == 400 and body["code"].startswith("notebook.")
    name = write(jp_root_dir)
    code, body = await error_of(jp_fetch, "experiments", method="POST", body=json.dumps({"path": name, "automl": True}))
    assert (code, body["code"]) == (400, "tune.no_automl")  # no model families in the notebook's kale_ext metadata
    code, body = await error_of(
        jp_fetch, "experiments", method="POST", body=json.dumps({"path": name, "algorithm": "hyperband"})
    )
    assert (code, body["code"]) == (400, "tune.invalid") and any("hyperband" in p for p in body["details"]["problems"])
    assert (await fetch_json(jp_fetch, "experiments", params={"path": name}))["experiments"] == []  # nothing started
    for parts, kw in ((("no-such-id",), {}), (("no-such-id", "cancel"), {"method": "POST", "body": "{}"})):
        code, body = await error_of(jp_fetch, "experiments", *parts, **kw)
        assert code == 404, (parts, body)


async def test_a_key_error_inside_the_tuner_is_a_500_not_an_unknown_experiment(jp_fetch, jp_serverapp, monkeypatch):
    tuner = jp_serverapp.web_app.settings["kale_ext_tuner"]
    code, body = await error_of(jp_fetch, "experiments", "no-such-id")
    assert (code, body["code"]) == (404, "experiment.not_found")  # an unknown id: the Tuner's own NotFoundError

    def broken(experiment_id, **kwargs):
        raise KeyError("objectiveMetricName")  # a bug in the Tuner, not an unknown experiment

    monkeypatch.setattr(tuner, "get", broken)
    code, body = await error_of(jp_fetch, "experiments", "no-such-id")
    assert (code, body["code"]) == (500, "internal"), body


async def test_cancel_stops_a_running_experiment(jp_fetch, jp_root_dir):
    name = write(jp_root_dir, load_s=3.0)
    created = json.loads((await start(jp_fetch, path=name, max_trials=6, parallel=2)).body)
    await asyncio.sleep(0.5)
    cancelled = await fetch_json(jp_fetch, "experiments", created["experiment_id"], "cancel", method="POST", body="{}")
    assert cancelled["experiment_id"] == created["experiment_id"]
    done = await wait_done(jp_fetch, created["experiment_id"])
    assert done["status"] == "cancelled", done
    assert all(t["status"] != "running" for t in done["trials"])
    assert sum(t["status"] == "succeeded" for t in done["trials"]) < 6


async def test_resume_continues_a_cancelled_experiment_under_its_id(jp_fetch, jp_root_dir):
    name = write(jp_root_dir, train_s=0.5)
    created = json.loads((await start(jp_fetch, path=name, max_trials=4, parallel=1)).body)
    eid = created["experiment_id"]
    for _ in range(300):  # one trial done, then cancel
        seen = await fetch_json(jp_fetch, "experiments", eid)
        if any(t["status"] == "succeeded" for t in seen["trials"]):
            break
        await asyncio.sleep(0.1)
    await fetch_json(jp_fetch, "experiments", eid, "cancel", method="POST", body="{}")
    stopped = await wait_done(jp_fetch, eid)
    assert stopped["status"] == "cancelled"
    resumed = await fetch_json(jp_fetch, "experiments", eid, "resume", method="POST", body="")  # no body: as recorded
    assert resumed["experiment_id"] == eid and resumed["status"] == "running"
    done = await wait_done(jp_fetch, eid)
    assert done["status"] == "succeeded" and done["reason"] == "maxTrialCount reached"
    finished = [t for t in done["trials"] if t["status"] in ("succeeded", "failed")]
    assert len(finished) == 4 and len({(t["parameters"]["x"], t["parameters"]["y"]) for t in finished}) == 4
    # A finished experiment resumes only with a larger budget; every refusal is a 4xx naming what is wrong.
    code, body = await error_of(jp_fetch, "experiments", eid, "resume", method="POST", body="{}")
    assert (code, body["code"]) == (400, "tune.not_resumable") and "maxTrialCount" in body["message"]
    code, body = await error_of(jp_fetch, "experiments", eid, "resume", method="POST", body='{"max_trials": 3}')
    assert (code, body["code"]) == (400, "tune.invalid") and "greater than the 4 trials" in body["message"]
    code, body = await error_of(jp_fetch, "experiments", eid, "resume", method="POST", body='{"max_trials": "x"}')
    assert (code, body["code"], body["details"]["field"]) == (400, "request.field", "max_trials")
    code, body = await error_of(jp_fetch, "experiments", "no-such-id", "resume", method="POST", body="{}")
    assert code == 404
    more = await fetch_json(jp_fetch, "experiments", eid, "resume", method="POST", body='{"max_trials": 5}')
    assert more["status"] == "running" and more["spec"]["maxTrialCount"] == 5
    assert len([t for t in (await wait_done(jp_fetch, eid))["trials"] if t["status"] == "succeeded"]) == 5


async def test_info_offers_experiments(jp_fetch):
    info = await fetch_json(jp_fetch, "info")
    assert "experiments" in info["capabilities"]


async def test_server_shutdown_stops_the_running_experiments(jp_fetch, jp_root_dir, jp_serverapp):
    name = write(jp_root_dir, load_s=3.0)
    created = json.loads((await start(jp_fetch, path=name, max_trials=4, parallel=2)).body)
    assert created["status"] == "running"
    (app,) = [a for a in jp_serverapp.extension_manager.extension_apps["kale_ext"]]
    await app.stop_extension()  # jupyter_server's shutdown hook
    stopped = await fetch_json(jp_fetch, "experiments", created["experiment_id"])
    assert stopped["status"] == "cancelled", stopped
    assert all(t["status"] not in ("pending", "running") for t in stopped["trials"]), stopped["trials"]
    # The closed tuner starts nothing more: a 4xx saying so, never a 500.
    code, body = await error_of(jp_fetch, "experiments", method="POST", body=json.dumps({"path": name}))
    assert (code, body["code"]) == (400, "tune.closed")
