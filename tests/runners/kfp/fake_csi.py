"""A loopback fake of the Kubernetes API for the CSI snapshot path, for the real kubernetes client: the server of
tests/serving/fake_kube.py (records every request, refuses a wrong bearer token) answering PersistentVolumeClaims,
StorageClasses, VolumeSnapshotClasses and VolumeSnapshots from in-memory objects. After a VolumeSnapshot is created,
each GET of it walks through ``statuses`` (default: not ready twice, then ready with a restoreSize); the last one
repeats. DELETE removes it."""

from __future__ import annotations

from typing import Any

from ...serving.fake_kube import FakeKube

TOKEN = "kube-token-of-the-fake-api"
NS = "kubeflow-user"
DRIVER = "hostpath.csi.k8s.io"
SNAP = "/apis/snapshot.storage.k8s.io/v1"
NOT_READY = {"readyToUse": False}
READY = {
    "readyToUse": True,
    "restoreSize": "12Gi",  # larger than the claim's request: the restored claim must ask for this much
    "boundVolumeSnapshotContentName": "snapcontent-1234",
    "creationTime": "2026-12-02T00:00:00Z",
}


def pvc(name: str = "workspace", storage_class: str | None = "csi-hostpath-sc", size: str = "10Gi") -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    spec["volumeName"] = f"pv-{name}"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
        "spec": spec,
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}},
    }


def storage_class(name: str = "csi-hostpath-sc", provisioner: str = DRIVER) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name},
        "provisioner": provisioner,
    }


def snapshot_class(name: str, driver: str, default: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if default:
        meta["annotations"] = {"snapshot.storage.kubernetes.io/is-default-class": "true"}
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshotClass",
        "metadata": meta,
        "driver": driver,
        "deletionPolicy": "Delete",
    }


def default_classes() -> list[dict[str, Any]]:
    """Two classes of the claim's driver (the default one is not first by name) and one of another driver."""
    return [
        snapshot_class("a-hostpath-retain", DRIVER),
        snapshot_class("csi-hostpath-snapclass", DRIVER, default=True),
        snapshot_class("ebs-snapclass", "ebs.csi.aws.com"),
    ]


class FakeCsiKube(FakeKube):
    def __init__(self, token: str = TOKEN, statuses: list[dict[str, Any]] | None = None) -> None:
        super().__init__(token, statuses or [NOT_READY, NOT_READY, READY])
        self.pvcs = {("kubeflow-user", "workspace"): pvc()}
        self.storage_classes = {"csi-hostpath-sc": storage_class()}
        self.snapshot_classes = default_classes()
        self.snapshots: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted: list[tuple[str, str]] = []

    def calls(self, method: str | None = None, contains: str = "") -> list[dict[str, Any]]:
        return [
            r
            for r in self.requests
            if (method is None or r["method"] == method) and contains in r["path"].split("?")[0]
        ]

    def route(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "v1"] and len(parts) == 6 and parts[4] == "persistentvolumeclaims" and method == "GET":
            return self._found(self.pvcs.get((parts[3], parts[5])), "persistentvolumeclaims", parts[5])
        if path.startswith("/apis/storage.k8s.io/v1/storageclasses/") and method == "GET":
            return self._found(self.storage_classes.get(parts[-1]), "storageclasses.storage.k8s.io", parts[-1])
        if path == f"{SNAP}/volumesnapshotclasses" and method == "GET":
            items = self.snapshot_classes
            return 200, {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClassList", "items": items}
        if path.startswith(f"{SNAP}/namespaces/") and parts[5] == "volumesnapshots":
            return self._snapshot(method, parts[4], parts[6] if len(parts) > 6 else None, body)
        return 404, _status(404, "NotFound", f"the server could not find the requested resource ({path})")

    def _snapshot(self, method: str, ns: str, name: str | None, body: Any) -> tuple[int, dict[str, Any]]:
        if method == "POST":
            key = (ns, body["metadata"]["name"])
            if key in self.snapshots:
                return 409, _status(
                    409, "AlreadyExists", f'volumesnapshots.snapshot.storage.k8s.io "{key[1]}" already exists'
                )
            self.snapshots[key], self._gets = body, 0
            return 201, body
        key = (ns, name or "")
        if key not in self.snapshots:
            return self._found(None, "volumesnapshots.snapshot.storage.k8s.io", key[1])
        if method == "DELETE":
            self.deleted.append(key)
            return 200, self.snapshots.pop(key)
        status = self.statuses[min(self._gets, len(self.statuses) - 1)]
        self._gets += 1
        return 200, {**self.snapshots[key], "status": status}

    @staticmethod
    def _found(obj: dict[str, Any] | None, kind: str, name: str) -> tuple[int, dict[str, Any]]:
        if obj is None:
            return 404, _status(404, "NotFound", f'{kind} "{name}" not found')
        return 200, obj


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def api_client(url: str, token: str = TOKEN) -> Any:
    from kubernetes import client

    cfg = client.Configuration(host=url, api_key={"authorization": token}, api_key_prefix={"authorization": "Bearer"})
    return client.ApiClient(cfg)


def kubeconfig(url: str, path: Any, token: str = TOKEN, namespace: str = NS) -> str:
    import yaml

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": url}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "fake", "user": "u", "namespace": namespace}}],
        "current-context": "c",
    }
    path.write_text(yaml.safe_dump(config))
    return str(path)
