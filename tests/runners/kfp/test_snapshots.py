"""The CSI VolumeSnapshot path of KFP runs (kale_ext.runners.kfp.snapshots, csi_client): which claim is snapshotted,
the manifests checked against the published CRD schema (vendored) and the Kubernetes schema (kubernetes-validate,
strict), and the wire calls of the real kubernetes client against a loopback fake API server: reads of the claim, its
StorageClass and the VolumeSnapshotClasses, the VolumeSnapshot POST body, readiness polled, timeout, error status, no
matching class, unknown claim. Tested against API contracts, not a live cluster."""

from __future__ import annotations

import copy

import pytest

from kale_ext.runners.kfp.snapshots import (
    CLASS_CRD,
    DEFAULT_MOUNT,
    CsiSnapshotError,
    build_volume_snapshot,
    choose_class,
    restore_size,
    restored_claim,
    schema_problems,
    snapshot_name,
    snapshot_requests,
    validate_volume_snapshot,
)

from .fake_csi import DRIVER, NOT_READY, NS, READY, TOKEN, FakeCsiKube, api_client, default_classes, storage_class

pytest.importorskip("kubernetes", reason="the kubernetes client comes with the kfp extra")
pytest.importorskip("yaml", reason="PyYAML comes with kfp")
SNAPS = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots"


def claims(*volumes, **settings):
    return {"volumes": list(volumes), **settings}


def pvc_volume(name, mount, **extra):
    return {"type": "pvc", "name": name, "mount_point": mount, **extra}


# ------------------------------------------------------------------------------------------------ which claims
def test_the_cli_claim_is_mounted_where_the_notebook_mounts_it_else_at_the_notebook_servers_home():
    settings = claims(pvc_volume("workspace", "/home/jovyan/work"))
    assert snapshot_requests(settings, "workspace") == [{"pvc": "workspace", "mount_point": "/home/jovyan/work"}]
    assert snapshot_requests({}, "data") == [{"pvc": "data", "mount_point": DEFAULT_MOUNT}]
    assert snapshot_requests(settings) == []  # neither the flag nor snapshot_volumes: no snapshot


def test_snapshot_volumes_picks_the_marked_claims_else_the_one_holding_the_working_dir_else_the_only_one():
    marked = claims(pvc_volume("a", "/a", snapshot=True), pvc_volume("b", "/b"), snapshot_volumes=True)
    assert [r["pvc"] for r in snapshot_requests(marked)] == ["a"]
    by_workdir = claims(
        pvc_volume("home", "/home/jovyan"),
        pvc_volume("proj", "/home/jovyan/project"),
        pvc_volume("data", "/data"),
        snapshot_volumes=True,
        abs_working_dir="/home/jovyan/project/nb",
    )
    assert snapshot_requests(by_workdir) == [{"pvc": "proj", "mount_point": "/home/jovyan/project"}]
    only = claims(pvc_volume("w", "/w"), {"type": "new_pvc", "name": "s", "mount_point": "/s"}, snapshot_volumes=True)
    assert [r["pvc"] for r in snapshot_requests(only)] == ["w"]


@pytest.mark.parametrize(
    ("settings", "pvc", "message"),
    [
        (claims(pvc_volume("a", "/a"), pvc_volume("b", "/b"), snapshot_volumes=True), None, "found: a at /a, b at /b"),
        (claims(snapshot_volumes=True), None, "found: no volume of type pvc"),
        (claims(pvc_volume("a", "rel", snapshot=True), snapshot_volumes=True), None, "absolute mount_point"),
        ({}, "Not_A_Name", "is not a PersistentVolumeClaim name"),
    ],
)
def test_a_setting_naming_no_usable_claim_is_refused(settings, pvc, message):
    with pytest.raises(CsiSnapshotError, match=message) as err:
        snapshot_requests(settings, pvc)
    assert err.value.code == "csi.setting"


# -------------------------------------------------------------------------------------- class choice, manifests
def test_the_class_of_the_claims_driver_is_chosen_the_default_one_first():
    assert choose_class(DRIVER, default_classes(), "w")["metadata"]["name"] == "csi-hostpath-snapclass"
    undefaulted = [c for c in default_classes() if c["metadata"]["name"] != "csi-hostpath-snapclass"]
    assert choose_class(DRIVER, undefaulted, "w")["metadata"]["name"] == "a-hostpath-retain"
    with pytest.raises(CsiSnapshotError) as err:
        choose_class("pd.csi.storage.gke.io", default_classes(), "w")
    message = str(err.value)
    assert err.value.code == "csi.no_class" and "'pd.csi.storage.gke.io'" in message
    assert "ebs-snapclass (driver ebs.csi.aws.com)" in message and "csi-hostpath-snapclass" in message


def test_the_fakes_classes_match_the_published_volumesnapshotclass_crd():
    for c in default_classes():
        assert schema_problems(c, CLASS_CRD) == []
    assert schema_problems({**default_classes()[0], "deletionPolicy": "Sometimes"}, CLASS_CRD)


def _snapshot():
    return build_volume_snapshot(
        name=snapshot_name("workspace", "R1"), namespace=NS, pvc="workspace", snapshot_class="c", run_id="R1"
    )


def test_the_volume_snapshot_matches_the_published_crd_schema_and_a_broken_one_does_not():
    obj = _snapshot()
    validate_volume_snapshot(obj)  # raises when it does not conform
    assert obj["spec"] == {"volumeSnapshotClassName": "c", "source": {"persistentVolumeClaimName": "workspace"}}
    assert obj["metadata"]["name"] == "workspace-kale-r1"
    broken = {
        "a misspelt field": lambda o: o["spec"].update(volumeSnapshotClass="c"),
        "a wrong type": lambda o: o["spec"]["source"].update(persistentVolumeClaimName=3),
        "no source": lambda o: o["spec"].pop("source"),
        "two sources": lambda o: o["spec"]["source"].update(volumeSnapshotContentName="x"),
        "an empty class": lambda o: o["spec"].update(volumeSnapshotClassName=""),
        "another kind": lambda o: o.update(kind="VolumeSnapshotContent"),
    }
    for what, breaks in broken.items():
        bad = copy.deepcopy(obj)
        breaks(bad)
        with pytest.raises(CsiSnapshotError) as err:
            validate_volume_snapshot(bad)
        assert err.value.code == "csi.schema" and err.value.details["problems"], what


def test_snapshot_names_are_dns_subdomains_within_253_characters():
    long = snapshot_name("w" * 260, "RUN1")
    assert len(long) <= 253 and long.endswith("-kale-run1")
    validate_volume_snapshot({**_snapshot(), "metadata": {"name": long, "namespace": NS}})


def test_the_restored_claim_is_a_valid_pvc_sized_at_least_restore_size():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    assert restore_size("12Gi", "10Gi") == "12Gi" and restore_size("9Gi", "10Gi") == "10Gi"
    assert restore_size(None, "10G") == "10G" and restore_size("10737418240", "10G") == "10737418240"
    entry = {
        "volume_snapshot": "workspace-kale-r1",
        "namespace": NS,
        "size": "12Gi",
        "access_modes": ["ReadWriteOnce"],
        "storage_class": "csi-hostpath-sc",
    }
    claim = restored_claim(entry, "run-1-workspace-restored")
    assert kubernetes_validate.validate(claim, "1.33", strict=True)
    assert claim["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io",
        "kind": "VolumeSnapshot",
        "name": "workspace-kale-r1",
    }
    bad = copy.deepcopy(claim)
    bad["spec"]["dataSource"]["snapshot"] = "x"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.33", strict=True)


# ------------------------------------------------------------------------------------- the wire, real client
def take(kube, timeout=5.0, requests=None):
    from kale_ext.runners.kfp.csi_client import take_snapshots

    events = []
    taken = take_snapshots(
        api_client(kube.url),
        requests or [{"pvc": "workspace", "mount_point": "/home/jovyan"}],
        namespace=NS,
        run_id="R1",
        notebook="/nb/w.ipynb",
        timeout=timeout,
        poll_interval=0.01,
        listener=events.append,
    )
    return taken, events


def test_snapshot_is_created_from_the_claims_driver_and_awaited_until_ready():
    with FakeCsiKube() as kube:
        (entry,), events = take(kube)
    paths = [(r["method"], r["path"].split("?")[0]) for r in kube.requests]
    assert paths == [
        ("GET", f"/api/v1/namespaces/{NS}/persistentvolumeclaims/workspace"),
        ("GET", "/apis/storage.k8s.io/v1/storageclasses/csi-hostpath-sc"),
        ("GET", "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses"),
        ("POST", SNAPS),
        *[("GET", f"{SNAPS}/workspace-kale-r1")] * 3,  # not ready, not ready, ready
    ]
    assert all(r["authorized"] for r in kube.requests)
    body = kube.requests[3]["body"]
    validate_volume_snapshot(body)
    assert body["spec"] == {
        "volumeSnapshotClassName": "csi-hostpath-snapclass",
        "source": {"persistentVolumeClaimName": "workspace"},
    }
    assert body["metadata"]["namespace"] == NS and body["metadata"]["annotations"]["kale-ext/run-id"] == "R1"
    assert entry == {
        "pvc": "workspace",
        "mount_point": "/home/jovyan",
        "volume_snapshot": "workspace-kale-r1",
        "namespace": NS,
        "snapshot_class": "csi-hostpath-snapclass",
        "driver": DRIVER,
        "storage_class": "csi-hostpath-sc",
        "access_modes": ["ReadWriteOnce"],
        "restore_size": "12Gi",
        "size": "12Gi",  # restoreSize, above the claim's 10Gi request
    }
    assert [e["status"] for e in events] == ["creating", "ready"] and kube.deleted == []
    # the served status itself is what the CRD describes
    served = {**body, "status": READY}
    assert schema_problems(served) == []


def test_not_ready_in_time_is_an_error_and_the_snapshot_is_deleted():
    with FakeCsiKube(statuses=[NOT_READY]) as kube:
        with pytest.raises(CsiSnapshotError) as err:
            take(kube, timeout=0.2)
    assert err.value.code == "csi.timeout"
    assert f"VolumeSnapshot {NS}/workspace-kale-r1 of PVC workspace was not ready to use after 0.2 s" in str(err.value)
    assert "--snapshot-timeout" in str(err.value) and "\n" not in str(err.value)
    assert kube.deleted == [(NS, "workspace-kale-r1")] and kube.snapshots == {}


def test_an_error_status_is_reported_with_its_message_and_the_snapshot_is_deleted():
    failed = {"readyToUse": False, "error": {"message": "rpc error: code = Internal desc = disk full", "time": "x"}}
    with FakeCsiKube(statuses=[NOT_READY, failed]) as kube:
        with pytest.raises(CsiSnapshotError, match="failed: rpc error: code = Internal desc = disk full") as err:
            take(kube)
    assert err.value.code == "csi.failed" and kube.deleted == [(NS, "workspace-kale-r1")]


def test_a_second_snapshot_failing_deletes_the_first_one_too():
    with FakeCsiKube() as kube:
        requests = [{"pvc": "workspace", "mount_point": "/w"}, {"pvc": "gone", "mount_point": "/g"}]
        with pytest.raises(CsiSnapshotError, match="gone"):
            take(kube, requests=requests)
    assert kube.deleted == [(NS, "workspace-kale-r1")]


@pytest.mark.parametrize(
    ("setup", "code", "message"),
    [
        ("no_class", "csi.no_class", "no VolumeSnapshotClass has the driver 'other.csi.example.com'"),
        ("unknown_pvc", "csi.not_found", f"PVC {NS}/workspace not found"),
        ("no_storage_class", "csi.pvc", "has no storage class"),
        ("no_crd", "csi.not_found", "serves no snapshot.storage.k8s.io/v1 API"),
        ("bad_token", "csi.api", "refused access to PVC"),
    ],
)
def test_faults_are_one_line_and_create_nothing(setup, code, message):
    from .fake_csi import pvc

    with FakeCsiKube() as kube:
        client_token = TOKEN
        if setup == "no_class":
            kube.storage_classes["csi-hostpath-sc"] = storage_class(provisioner="other.csi.example.com")
        elif setup == "unknown_pvc":
            kube.pvcs.clear()
        elif setup == "no_storage_class":
            kube.pvcs[(NS, "workspace")] = pvc(storage_class=None)
        elif setup == "no_crd":
            kube.route = _without_snapshot_api(kube.route)
        elif setup == "bad_token":
            client_token = "wrong"
        from kale_ext.runners.kfp.csi_client import take_snapshots

        with pytest.raises(CsiSnapshotError) as err:
            take_snapshots(
                api_client(kube.url, client_token),
                [{"pvc": "workspace", "mount_point": "/w"}],
                namespace=NS,
                run_id="R1",
                poll_interval=0.01,
            )
    assert err.value.code == code and message in str(err.value) and "\n" not in str(err.value)
    assert TOKEN not in str(err.value) and kube.calls("POST") == []


def _without_snapshot_api(route):
    def answer(method, path, body):
        if path.startswith("/apis/snapshot.storage.k8s.io/"):
            return 404, {"kind": "Status", "message": "the server could not find the requested resource", "code": 404}
        return route(method, path, body)

    return answer


def test_the_kubeconfig_and_its_namespace_are_used_when_no_client_is_given(tmp_path, monkeypatch):
    from kale_ext.kube import default_namespace
    from kale_ext.runners.kfp.csi_client import kube_api_client

    from .fake_csi import kubeconfig

    with FakeCsiKube() as kube:
        monkeypatch.setenv("KUBECONFIG", kubeconfig(kube.url, tmp_path / "kubeconfig"))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        assert default_namespace(None) == NS and default_namespace("team-a") == "team-a"
        client = kube_api_client()
        assert client.configuration.host == kube.url
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
        with pytest.raises(CsiSnapshotError, match=r"no Kubernetes configuration \(in-cluster or kubeconfig\)") as err:
            kube_api_client()
    assert err.value.code == "csi.config" and "\n" not in str(err.value)


def test_an_unreachable_kubernetes_api_is_one_line_at_once():
    import socket

    from kale_ext.runners.kfp.csi_client import take_snapshots

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    client = api_client(url)
    client.configuration.retries = 0
    with pytest.raises(CsiSnapshotError) as err:
        take_snapshots(client, [{"pvc": "workspace", "mount_point": "/w"}], namespace=NS, run_id="R1")
    assert err.value.code == "csi.api" and f"cannot reach the Kubernetes API at {url}" in str(err.value)
