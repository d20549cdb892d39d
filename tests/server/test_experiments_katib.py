"""GET /kale/v1/experiments/ID of a Katib experiment (made by `kale-ext tune --backend katib`) reads it from the cluster,
a loopback fake Kubernetes API, as `kale-ext experiments show` does; a cluster that cannot be read gives the
experiment as last recorded with refresh_error saying why (200, never a 500); it does not resume here (400)."""

from __future__ import annotations

import argparse
import json

import pytest
from tornado.httpclient import HTTPClientError

from kale_ext.analysis import analyze
from kale_ext.notebook import load_notebook, pipeline_name_for
from kale_ext.tuning import katib_submit
from tests.tuning.katib_helpers import FakeKatibKube, small_notebook, small_spec

pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install 'kale-ext[kfp]')")
pytest.importorskip("kubernetes", reason="the kubernetes client is not installed (pip install 'kale-ext[kserve]')")


@pytest.fixture(autouse=True)
def _stores_beside_the_notebooks(monkeypatch):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)


async def fetch_json(jp_fetch, *parts, **kw):
    return json.loads((await jp_fetch("kale", "v1", *parts, **kw)).body)


async def test_a_katib_experiment_is_read_from_its_cluster(jp_fetch, jp_root_dir, tmp_path, monkeypatch):
    path = small_notebook(jp_root_dir / "small.ipynb")
    pipeline = analyze(load_notebook(path), name=pipeline_name_for(path))
    with FakeKatibKube() as kube:
        kubeconfig = kube.kubeconfig(tmp_path / "kubeconfig")
        monkeypatch.setenv("KUBECONFIG", kubeconfig)
        args = argparse.Namespace(emit=None, namespace="team-a", image=None, automl=False)
        assert katib_submit.submit(args, path, small_spec(), pipeline) == 0
        (listed,) = (await fetch_json(jp_fetch, "experiments", params={"path": "small.ipynb"}))["experiments"]
        eid, name = listed["experiment_id"], listed["external_id"].split("/")[1]
        assert listed["runner"] == "katib" and listed["status"] == "running"

        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
        stale = await fetch_json(jp_fetch, "experiments", eid)
        assert stale["status"] == "running" and "Kubernetes configuration" in stale["refresh_error"]

        monkeypatch.setenv("KUBECONFIG", kubeconfig)
        kube.status = {
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "ExperimentMaxTrialsReached"}],
            "completionTime": "2026-12-02T00:20:00Z",
            "currentOptimalTrial": {
                "bestTrialName": f"{name}-a",
                "parameterAssignments": [{"name": "RATE", "value": "1.5"}, {"name": "ROUNDS", "value": "7"}],
                "observation": {"metrics": [{"name": "score", "min": "5.6", "max": "5.6", "latest": "5.6"}]},
            },
        }
        kube.trials = [
            {
                "apiVersion": "kubeflow.org/v1beta1",
                "kind": "Trial",
                "metadata": {"name": f"{name}-a", "creationTimestamp": "2026-12-02T00:01:00Z"},
                "spec": {"parameterAssignments": [{"name": "RATE", "value": "1.5"}, {"name": "ROUNDS", "value": "7"}]},
                "status": {
                    "conditions": [{"type": "Succeeded", "status": "True"}],
                    "observation": {"metrics": [{"name": "score", "min": "5.6", "max": "5.6", "latest": "5.6"}]},
                    "completionTime": "2026-12-02T00:10:00Z",
                },
            }
        ]
        fresh = await fetch_json(jp_fetch, "experiments", eid)
    assert fresh["status"] == "succeeded" and fresh["reason"] == "maxTrialCount reached"
    assert fresh["refresh_error"] is None
    assert fresh["best"]["parameters"] == {"RATE": 1.5, "ROUNDS": 7} and fresh["best"]["objective"] == 5.6
    assert [(t["trial"], t["status"], t["objective"]) for t in fresh["trials"]] == [(1, "succeeded", 5.6)]
    # Finished: answered from the store, the cluster is not asked again (it is gone now).
    assert (await fetch_json(jp_fetch, "experiments", eid))["status"] == "succeeded"
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("kale", "v1", "experiments", eid, "resume", method="POST", body="{}")
    assert err.value.code == 400 and json.loads(err.value.response.body)["code"] == "tune.not_resumable"
