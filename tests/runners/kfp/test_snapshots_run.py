"""`kale-ext run --backend kfp --snapshot-pvc PVC` (and the notebook setting snapshot_volumes) end to end, against the
loopback fake KFP API and the loopback fake Kubernetes API (real kfp.Client, real kubernetes client): the snapshot is
taken before the submission, the compiled pipeline restores a claim from it (kfp-kubernetes CreatePVC with the
snapshot as data source) that every step mounts at the workspace path, the run records the VolumeSnapshot and the CLI
prints it; faults are one line, exit 2, and leave no snapshot behind. Tested against API contracts, not a live
cluster."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from ...notebooks import write_notebook
from .fake_csi import NS, FakeCsiKube, kubeconfig
from .helpers import read_ir

kfp = pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install 'kale-ext[kfp]')")

ENTRY = {
    "pvc": "workspace",
    "mount_point": "/home/jovyan",
    "volume_snapshot": "workspace-kale-r1",
    "namespace": NS,
    "snapshot_class": "csi-hostpath-snapclass",
    "driver": "hostpath.csi.k8s.io",
    "storage_class": "csi-hostpath-sc",
    "access_modes": ["ReadWriteOnce"],
    "restore_size": "12Gi",
    "size": "12Gi",
}


def kale(*argv):
    from kale_ext.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def kube(tmp_path, monkeypatch, token_file):
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", token_file)
    monkeypatch.delenv("KF_PIPELINES_ENDPOINT", raising=False)
    monkeypatch.delenv("KALE_EXT_HOME", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with FakeCsiKube(statuses=[{"readyToUse": False}, {"readyToUse": True, "restoreSize": "12Gi"}]) as fake:
        monkeypatch.setenv("KUBECONFIG", kubeconfig(fake.url, tmp_path / "kubeconfig"))
        yield fake


def tasks_and_mounts(ir):
    """(root DAG tasks, {executor: {mountPath: pvcNameParameter}}) of a compiled pipeline's two documents."""
    spec, platform = ir
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    mounts = {e: {m["mountPath"]: m["pvcNameParameter"] for m in c.get("pvcMount", [])} for e, c in executors.items()}
    return spec["root"]["dag"]["tasks"], mounts


def restore_task(tasks):
    (name, task), *more = [(n, t) for n, t in tasks.items() if t["taskInfo"]["name"].startswith("restore-volume-")]
    assert not more
    return name, {k: v["runtimeValue"]["constant"] for k, v in task["inputs"]["parameters"].items()}


def test_every_step_mounts_the_claim_restored_from_the_snapshot_instead_of_the_live_one(tmp_path):
    from kale_ext.analysis import analyze
    from kale_ext.notebook import load_notebook
    from kale_ext.runners.kfp.compiler import compile_pipeline
    from kale_ext.runners.kfp.snapshots import restored_claim

    volumes = [
        {"type": "pvc", "name": "workspace", "mount_point": "/home/jovyan"},
        {"type": "new_pvc", "name": "scratch", "mount_point": "/scratch", "size": 1, "size_type": "Gi"},
    ]
    nb = write_notebook(
        tmp_path / "w.ipynb",
        (["step:a"], "x = 1\n"),
        (["step:b", "prev:a"], "y = x + 1\n"),
        (["step:c", "prev:a"], "z = x + 2\n"),
        metadata={"kubeflow_notebook": {"volumes": volumes}},
    )
    result = compile_pipeline(analyze(load_notebook(nb), name="w"), snapshots=[ENTRY])
    path = tmp_path / "w.yaml"
    path.write_text(result.yaml)
    kfp.components.load_component_from_file(str(path))  # kfp's own loader reads the IR back
    tasks, mounts = tasks_and_mounts(read_ir(path))
    name, inputs = restore_task(tasks)
    assert inputs == {
        "access_modes": ["ReadWriteOnce"],
        "size": "12Gi",
        "storage_class_name": "csi-hostpath-sc",
        "pvc_name_suffix": "-workspace-restored",
        "data_source": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "workspace-kale-r1"},
    }
    for step in "abc":
        assert mounts[f"exec-{step}"]["/home/jovyan"] == {
            "taskOutputParameter": {"producerTask": name, "outputParameterKey": "name"}
        }
        assert "/scratch" in mounts[f"exec-{step}"]  # the other volumes are unchanged
        assert name in tasks[step]["dependentTasks"]
    assert "existing-claim" not in result.yaml and "constant: workspace\n" not in result.yaml
    # the claim the KFP driver creates from those inputs is a valid PersistentVolumeClaim
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    claim = restored_claim({**ENTRY, "size": inputs["size"]}, "run-abc-workspace-restored")
    assert claim["spec"]["dataSource"] == inputs["data_source"]
    kubernetes_validate.validate(claim, "1.33", strict=True)


def test_run_snapshots_the_pvc_then_submits_the_restoring_pipeline(fake_kfp, kube, small_nb):
    code, out, err = kale(
        "run", small_nb, "--backend", "kfp", "--host", fake_kfp.url, "--snapshot-pvc", "workspace", "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    (taken,) = result["volume_snapshots"]
    name = f"workspace-kale-{result['run_id'].lower()}"
    assert taken["volume_snapshot"] == name and taken["namespace"] == NS and taken["size"] == "12Gi"
    assert f"VolumeSnapshot {NS}/{name} of PVC workspace created (class csi-hostpath-snapclass)" in err
    assert f"workspace PVC workspace snapshotted as VolumeSnapshot {NS}/{name}" in err
    assert (NS, name) in kube.snapshots and kube.deleted == []  # kept: the run restores from it
    assert len(kube.calls("GET", f"volumesnapshots/{name}")) == 2  # not ready, then ready
    body = fake_kfp.runs[result["external_id"]]["body"]["pipeline_spec"]
    tasks, mounts = tasks_and_mounts((body["pipeline_spec"], body["platform_spec"]))
    task, inputs = restore_task(tasks)
    assert inputs["data_source"]["name"] == name and inputs["size"] == "12Gi"
    assert all(m["/home/jovyan"]["taskOutputParameter"]["producerTask"] == task for m in mounts.values())
    assert set(mounts) == {"exec-load", "exec-train", "exec-evaluate"}

    code, out, _ = kale("runs", "show", result["run_id"], "--notebook", small_nb)
    assert code == 0 and f"workspace PVC workspace: VolumeSnapshot {NS}/{name}" in out


def test_the_notebook_setting_snapshot_volumes_snapshots_the_marked_claim(fake_kfp, kube, tmp_path):
    settings = {
        "snapshot_volumes": True,
        "volumes": [{"type": "pvc", "name": "workspace", "mount_point": "/home/jovyan/work", "snapshot": True}],
    }
    nb = write_notebook(
        tmp_path / "s.ipynb",
        (["step:a"], "x = 1\n"),
        (["step:b", "prev:a"], "y = x + 1\n"),
        metadata={"kubeflow_notebook": settings},
    )
    code, out, err = kale("run", nb, "--backend", "kfp", "--host", fake_kfp.url, "--detach", "--json")
    assert code == 0, err
    (taken,) = json.loads(out)["volume_snapshots"]
    assert (taken["pvc"], taken["mount_point"]) == ("workspace", "/home/jovyan/work")
    body = fake_kfp.runs[json.loads(out)["external_id"]]["body"]["pipeline_spec"]
    _, mounts = tasks_and_mounts((body["pipeline_spec"], body["platform_spec"]))
    assert all(
        list(m) == ["/home/jovyan/work"] and "taskOutputParameter" in m["/home/jovyan/work"] for m in mounts.values()
    )


def test_faults_before_the_snapshot_leave_nothing_and_are_one_line(fake_kfp, kube, small_nb):
    kube.pvcs.clear()
    code, out, err = kale("run", small_nb, "--backend", "kfp", "--host", fake_kfp.url, "--snapshot-pvc", "workspace")
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("kale-ext: error: ")
    assert f"PVC {NS}/workspace not found" in err and "Traceback" not in err
    assert fake_kfp.runs == {} and kube.calls("POST") == []

    fake_kfp.stop()  # KFP unreachable: refused before anything is asked of the cluster
    before = len(kube.requests)
    code, _, err = kale("run", small_nb, "--backend", "kfp", "--host", fake_kfp.url, "--snapshot-pvc", "workspace")
    assert code == 2 and "cannot reach the Kubeflow Pipelines API" in err and len(kube.requests) == before


def test_a_refused_submission_deletes_the_snapshot(fake_kfp, kube, small_nb, monkeypatch):
    from kale_ext.runners.kfp import submit
    from kale_ext.runners.kfp.client import KfpApiError

    def refuse(*args, **kwargs):
        raise KfpApiError("KFP refused the run (HTTP 400: bad pipeline)", code="kfp.refused")

    monkeypatch.setattr(submit, "submit", refuse)
    code, _, err = kale("run", small_nb, "--backend", "kfp", "--host", fake_kfp.url, "--snapshot-pvc", "workspace")
    # the progress lines of the snapshot, then the fault in one line
    assert code == 2 and err.splitlines()[-1] == "kale-ext: error: KFP refused the run (HTTP 400: bad pipeline)"
    assert "ready to use" in err and "Traceback" not in err
    assert len(kube.calls("POST")) == 1 and len(kube.deleted) == 1 and kube.snapshots == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--snapshot-pvc", "workspace"], "--snapshot-pvc apply to --backend kfp only"),
        (["--backend", "kfp", "--snapshot-timeout", "0"], "--snapshot-timeout must be a positive number"),
    ],
)
def test_snapshot_flags_are_checked(small_nb, args, message):
    code, out, err = kale("run", small_nb, *args)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_compiling_without_submitting_says_the_snapshot_is_taken_at_submission(tmp_path):
    from .helpers import compile_file

    settings = {"snapshot_volumes": True, "volumes": [{"type": "pvc", "name": "w", "mount_point": "/home/jovyan"}]}
    nb = write_notebook(tmp_path / "c.ipynb", (["step:a"], "x = 1\n"), metadata={"kubeflow_notebook": settings})
    code, out, _ = compile_file(nb, "--json")
    assert code == 0
    (warning,) = [d for d in json.loads(out)["diagnostics"] if d["code"] == "kfp.snapshot"]
    assert warning["severity"] == "warning" and "taken when the run is submitted" in warning["message"]
