"""CSI VolumeSnapshots of a notebook's workspace PVC for Kubeflow Pipelines runs (what Rok did for Kale): which claims
to snapshot, the ``snapshot.storage.k8s.io/v1`` VolumeSnapshot manifest and its validation against the vendored CRD
schema (crds/, from kubernetes-csi/external-snapshotter), the choice of the VolumeSnapshotClass from the claim's CSI
driver, and the restored claim the run's steps mount (kfp-kubernetes ``CreatePVC`` with the snapshot as its
``dataSource``; ``restored_claim`` is the PersistentVolumeClaim the KFP driver creates from those inputs).

Which claims: ``kale-ext run --backend kfp --snapshot-pvc PVC`` (``c.KfpRunner.snapshot_pvc``), or Kale's notebook
setting ``snapshot_volumes: true`` with the workspace claim among the notebook's ``volumes`` (type ``pvc``): those
marked ``snapshot: true``, else the one whose mount point holds ``abs_working_dir``, else the only one.

Talking to the cluster is csi_client.py. Plain Python: never imports the kubernetes client, tornado or jupyter_server.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from ...errors import KaleError

GROUP, VERSION, KIND, PLURAL = "snapshot.storage.k8s.io", "v1", "VolumeSnapshot", "volumesnapshots"
CLASS_PLURAL = "volumesnapshotclasses"
CRD_DIR = Path(__file__).with_name("crds")
SNAPSHOT_CRD = CRD_DIR / "snapshot.storage.k8s.io_volumesnapshots.yaml"
CLASS_CRD = CRD_DIR / "snapshot.storage.k8s.io_volumesnapshotclasses.yaml"
DEFAULT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"
# Where a Kubeflow notebook server mounts its workspace volume: the mount point when the claim is not in ``volumes``.
DEFAULT_MOUNT = "/home/jovyan"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_UNITS: dict[str, float] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_UNITS.update({"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "m": 10**-3, "": 1})


class CsiSnapshotError(KaleError):
    """A workspace snapshot that cannot be taken: codes csi.setting, csi.pvc, csi.not_found, csi.no_class, csi.failed,
    csi.timeout, csi.schema, csi.api, csi.config."""

    status = 400
    code = "csi.failed"


def snapshot_requests(settings: dict[str, Any], pvc: str | None = None) -> list[dict[str, str]]:
    """The claims to snapshot before a submission: [{"pvc", "mount_point"}] (empty: no snapshot asked for).

    ``pvc`` (the CLI's --snapshot-pvc) wins over the notebook setting; it is mounted where the notebook's ``volumes``
    mount it, else at DEFAULT_MOUNT. Raises CsiSnapshotError (csi.setting) for a setting that names no usable claim."""
    volumes = [v for v in settings.get("volumes") or [] if isinstance(v, dict)]
    claims = [v for v in volumes if v.get("type") == "pvc" and v.get("name")]
    if pvc:
        _check_name(pvc, "--snapshot-pvc")
        mount = next((v.get("mount_point") for v in claims if v["name"] == pvc), None)
        return [{"pvc": pvc, "mount_point": mount if isinstance(mount, str) and _absolute(mount) else DEFAULT_MOUNT}]
    if settings.get("snapshot_volumes") is not True:
        return []
    chosen = [v for v in claims if v.get("snapshot") is True] or _workspace_claims(claims, settings)
    if not chosen:
        found = ", ".join(f"{v['name']} at {v.get('mount_point')}" for v in claims) or "no volume of type pvc"
        raise CsiSnapshotError(
            "the notebook setting snapshot_volumes is true but names no workspace claim to snapshot (found: "
            f"{found}); add the workspace PVC to the notebook's volumes as type pvc with snapshot: true, or pass "
            "--snapshot-pvc PVC",
            code="csi.setting",
        )
    out = []
    for v in chosen:
        _check_name(v["name"], "the volume name")
        if not _absolute(v.get("mount_point")):
            raise CsiSnapshotError(
                f"volume {v['name']}: needs an absolute mount_point to mount its restored claim, found "
                f"{v.get('mount_point')!r}",
                code="csi.setting",
            )
        out.append({"pvc": v["name"], "mount_point": v["mount_point"]})
    return out


def _workspace_claims(claims: list[dict[str, Any]], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The claim mounted over abs_working_dir (the deepest mount point holding it), else the only claim."""
    workdir = settings.get("abs_working_dir")
    if isinstance(workdir, str) and workdir.startswith("/"):
        holding = [v for v in claims if _absolute(v.get("mount_point")) and _within(workdir, v["mount_point"])]
        if holding:
            return [max(holding, key=lambda v: len(v["mount_point"].rstrip("/")))]
    return claims if len(claims) == 1 else []


def _within(path: str, folder: str) -> bool:
    folder = folder.rstrip("/") or "/"
    return path == folder or path.startswith(folder if folder == "/" else folder + "/")


def _absolute(path: Any) -> bool:
    return isinstance(path, str) and path.startswith("/")


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or len(name) > 253 or not DNS_SUBDOMAIN.match(name):
        raise CsiSnapshotError(
            f"{what} {name!r} is not a PersistentVolumeClaim name (lowercase letters, digits, '-' and '.')",
            code="csi.setting",
        )


def snapshot_name(pvc: str, run_id: str) -> str:
    """The VolumeSnapshot's name: the claim's and the run's, a DNS subdomain of at most 253 characters."""
    suffix = f"-kale-{run_id.lower()}"
    return pvc[: 253 - len(suffix)].rstrip("-.") + suffix


def choose_class(driver: str, classes: list[dict[str, Any]], pvc: str) -> dict[str, Any]:
    """The VolumeSnapshotClass for ``driver``: the one marked default among those of that driver, else the first by
    name. Raises CsiSnapshotError (csi.no_class) naming the driver and every class found."""
    matching = sorted((c for c in classes if c.get("driver") == driver), key=lambda c: c["metadata"]["name"])
    if not matching:
        found = ", ".join(f"{c['metadata']['name']} (driver {c.get('driver')})" for c in classes) or "none"
        raise CsiSnapshotError(
            f"no VolumeSnapshotClass has the driver {driver!r} of PVC {pvc}'s storage class; classes found: {found}. "
            f"Create one with driver: {driver} (and the CSI snapshotter for it)",
            code="csi.no_class",
        )
    marked = [c for c in matching if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"]
    return (marked or matching)[0]


def build_volume_snapshot(
    *, name: str, namespace: str, pvc: str, snapshot_class: str, run_id: str, notebook: str | None = None
) -> dict[str, Any]:
    """The VolumeSnapshot of ``pvc`` (a plain manifest, validated by ``validate_volume_snapshot``)."""
    annotations = {"kale-ext/run-id": run_id}
    if notebook:
        annotations["kale-ext/notebook"] = notebook
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "kale-ext", "kale-ext/run-id": run_id.lower()},
            "annotations": annotations,
        },
        "spec": {"volumeSnapshotClassName": snapshot_class, "source": {"persistentVolumeClaimName": pvc}},
    }


@cache
def crd_schema(path: Path = SNAPSHOT_CRD) -> dict[str, Any]:
    """The v1 openAPIV3Schema of a vendored CRD, closed (a field it does not declare is an error, as with the API
    server's fieldValidation=Strict)."""
    import yaml

    doc = yaml.safe_load(path.read_text())
    version = next(v for v in doc["spec"]["versions"] if v["name"] == VERSION)
    return _closed(version["schema"]["openAPIV3Schema"])


def _closed(node: Any) -> Any:
    if isinstance(node, list):
        return [_closed(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _closed(v) for k, v in node.items()}
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def schema_problems(obj: dict[str, Any], path: Path = SNAPSHOT_CRD) -> list[str]:
    """Every place where ``obj`` breaks the CRD's schema ("path: message"), empty when it conforms."""
    import jsonschema

    validator = jsonschema.Draft7Validator(crd_schema(path))
    return sorted(
        f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in validator.iter_errors(obj)
    )


def validate_volume_snapshot(obj: dict[str, Any]) -> None:
    """Raise CsiSnapshotError (csi.schema) listing every problem: the CRD's schema, and the CEL rules it declares that
    jsonschema cannot read (exactly one source; a class name, when given, not empty)."""
    problems = schema_problems(obj)
    if (obj.get("apiVersion"), obj.get("kind")) != (f"{GROUP}/{VERSION}", KIND):
        problems.insert(0, f"(root): apiVersion/kind must be {GROUP}/{VERSION} {KIND}")
    spec = obj.get("spec") or {}
    source = spec.get("source") or {}
    if len([k for k in ("persistentVolumeClaimName", "volumeSnapshotContentName") if k in source]) != 1:
        problems.append("spec.source: exactly one of volumeSnapshotContentName and persistentVolumeClaimName")
    if spec.get("volumeSnapshotClassName") == "":
        problems.append("spec.volumeSnapshotClassName: must not be the empty string when set")
    if problems:
        raise CsiSnapshotError(
            "the VolumeSnapshot does not match the snapshot.storage.k8s.io/v1 CRD schema: " + "; ".join(problems[:5]),
            code="csi.schema",
            details={"problems": problems},
        )


def quantity(text: str) -> float:
    """A Kubernetes quantity ("10Gi", "1.5G", "500M", "1e9") in bytes."""
    m = re.fullmatch(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([KMGTPE]i|[mkMGTPE]?)\s*", str(text))
    if not m:
        raise CsiSnapshotError(f"{text!r} is not a Kubernetes quantity (e.g. 10Gi)", code="csi.api")
    return float(m.group(1)) * _UNITS[m.group(2)]


def restore_size(restore: str | None, requested: str | None) -> str:
    """The restored claim's size: the larger of the snapshot's restoreSize and the source claim's request (a claim
    restored from a snapshot must ask for at least restoreSize)."""
    sizes = [s for s in (restore, requested) if s]
    if not sizes:
        raise CsiSnapshotError(
            "neither the snapshot's restoreSize nor the claim's size request is known", code="csi.api"
        )
    return max(sizes, key=quantity)


def data_source(snapshot: str) -> dict[str, str]:
    return {"apiGroup": GROUP, "kind": KIND, "name": snapshot}


def restored_claim(entry: dict[str, Any], name: str) -> dict[str, Any]:
    """The PersistentVolumeClaim the KFP driver creates for CreatePVC with ``entry``'s inputs (see csi_client's
    ``take_snapshots``): what the steps mount, for validation with the Kubernetes schema."""
    spec: dict[str, Any] = {
        "accessModes": list(entry["access_modes"]),
        "resources": {"requests": {"storage": entry["size"]}},
        "dataSource": data_source(entry["volume_snapshot"]),
    }
    if entry.get("storage_class"):
        spec["storageClassName"] = entry["storage_class"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": entry["namespace"]},
        "spec": spec,
    }
