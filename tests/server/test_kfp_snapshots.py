"""A Kubeflow Pipelines run from the REST API of a notebook whose settings ask for a workspace snapshot
(snapshot_volumes): the VolumeSnapshot is taken through the loopback fake Kubernetes API before the submission and
the run's options carry it; a claim the cluster does not know is a 400 with the csi code, and nothing is submitted."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from tests.notebooks import make_notebook

pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install 'kale-ext[kfp]')")

from tests.runners.kfp.fake_csi import NS, FakeCsiKube, kubeconfig  # noqa: E402
from tests.runners.kfp.fake_kfp import FakeKfp  # noqa: E402

TOKEN = "server-token"
SETTINGS = {
    "snapshot_volumes": True,
    "volumes": [{"type": "pvc", "name": "workspace", "mount_point": "/home/jovyan", "snapshot": True}],
}
NOTEBOOK = make_notebook(
    (["step:make"], "values = list(range(3))"),
    (["step:total", "prev:make"], "total = sum(values)"),
    metadata={"kubeflow_notebook": SETTINGS},
)


@pytest.fixture
def fake():
    f = FakeKfp(token=TOKEN).start()
    yield f
    f.stop()


@pytest.fixture
def kube():
    with FakeCsiKube(statuses=[{"readyToUse": True, "restoreSize": "10Gi"}]) as k:
        yield k


@pytest.fixture
def jp_server_config(fake, kube, tmp_path, monkeypatch):
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", kubeconfig(kube.url, tmp_path / "kubeconfig"))
    token = tmp_path / "token"
    token.write_text(TOKEN)
    return {
        "ServerApp": {"jpserver_extensions": {"kale_ext": True}, "allow_unauthenticated_access": False},
        "KfpRunner": {"host": fake.url, "token_path": str(token), "poll_interval": 0.05},
    }


async def post_run(jp_fetch, body):
    return await jp_fetch("kale", "v1", "runs", method="POST", body=json.dumps(body))


async def test_the_run_carries_its_workspace_snapshot(jp_fetch, jp_root_dir, fake, kube):
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    response = await post_run(jp_fetch, {"path": "nb.ipynb", "backend": "kfp"})
    assert response.code == 202
    created = json.loads(response.body)
    (taken,) = created["options"]["volume_snapshots"]
    assert taken["volume_snapshot"] == f"workspace-kale-{created['run_id'].lower()}" and taken["namespace"] == NS
    assert (NS, taken["volume_snapshot"]) in kube.snapshots and created["external_id"] in fake.runs
    shown = json.loads((await jp_fetch("kale", "v1", "runs", created["run_id"])).body)
    assert shown["options"]["volume_snapshots"] == created["options"]["volume_snapshots"]


async def test_an_unknown_claim_is_a_400_and_nothing_is_submitted(jp_fetch, jp_root_dir, fake, kube):
    kube.pvcs.clear()
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(NOTEBOOK))
    with pytest.raises(HTTPClientError) as err:
        await post_run(jp_fetch, {"path": "nb.ipynb", "backend": "kfp"})
    assert err.value.code == 400
    error = json.loads(err.value.response.body)
    assert error["code"] == "csi.not_found" and f"PVC {NS}/workspace not found" in error["message"]
    assert fake.runs == {}
