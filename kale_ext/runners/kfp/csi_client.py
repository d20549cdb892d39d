"""Taking the CSI VolumeSnapshots of a KFP run's workspace claims with the kubernetes client, before the submission:
read the claim, its StorageClass' provisioner (the CSI driver), the cluster's VolumeSnapshotClasses (the one of that
driver is chosen, snapshots.py), create the ``snapshot.storage.k8s.io/v1`` VolumeSnapshot (validated against the CRD
schema first), and poll it until ``status.readyToUse`` (a ``status.error`` or the timeout: the snapshot is deleted
and the run is not submitted). Each snapshot answers the entry the compiler mounts (volumes.py, kind "restored") and
the run records (options.volume_snapshots).

Every fault is a one-line CsiSnapshotError. The kubernetes client comes with the kfp extra and is imported inside the
functions. Nothing here logs the client's configuration (its bearer token). Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from .snapshots import (
    CLASS_PLURAL,
    GROUP,
    PLURAL,
    VERSION,
    CsiSnapshotError,
    build_volume_snapshot,
    choose_class,
    restore_size,
    snapshot_name,
    validate_volume_snapshot,
)

REQUEST_TIMEOUT = 10.0  # seconds per API call


def kube_api_client(api_client: Any = None) -> Any:
    """``api_client``, else one configured in-cluster, else from $KUBECONFIG (or ~/.kube/config), read now."""
    from ...kube import api_client as kube_api_client

    def fail(reason: str) -> CsiSnapshotError:
        return CsiSnapshotError(f"snapshotting the workspace PVC needs the Kubernetes API: {reason}", code="csi.config")

    # retries 0: a cluster that does not answer is reported at once
    return kube_api_client(api_client, fail=fail, retries=0, needed_for="snapshotting the workspace PVC")


def take_snapshots(
    api_client: Any,
    requests: Sequence[dict[str, str]],
    *,
    namespace: str,
    run_id: str,
    notebook: str | None = None,
    timeout: float = 300.0,
    poll_interval: float = 2.0,
    listener: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """One ready VolumeSnapshot per request; on a fault the ones already taken are deleted before it is raised."""
    taken: list[dict[str, Any]] = []
    try:
        for request in requests:
            taken.append(
                take_snapshot(
                    api_client,
                    request,
                    namespace=namespace,
                    run_id=run_id,
                    notebook=notebook,
                    timeout=timeout,
                    poll_interval=poll_interval,
                    listener=listener,
                )
            )
    except BaseException:
        delete_snapshots(api_client, taken)
        raise
    return taken


def take_snapshot(
    api_client: Any,
    request: dict[str, str],
    *,
    namespace: str,
    run_id: str,
    notebook: str | None,
    timeout: float,
    poll_interval: float,
    listener: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any]:
    from kubernetes import client

    pvc_name = request["pvc"]
    core, storage = client.CoreV1Api(api_client), client.StorageV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    pvc = _call(core.read_namespaced_persistent_volume_claim, pvc_name, namespace, what=f"PVC {namespace}/{pvc_name}")
    storage_class = pvc.spec.storage_class_name
    if not storage_class:
        raise CsiSnapshotError(
            f"PVC {namespace}/{pvc_name} has no storage class (a statically provisioned volume); a CSI snapshot needs "
            "a claim provisioned by a CSI driver's StorageClass",
            code="csi.pvc",
        )
    sc = _call(storage.read_storage_class, storage_class, what=f"StorageClass {storage_class} of PVC {pvc_name}")
    classes = _call(custom.list_cluster_custom_object, GROUP, VERSION, CLASS_PLURAL, what="the VolumeSnapshotClasses")
    chosen = choose_class(sc.provisioner, list(classes.get("items") or []), pvc_name)
    name = snapshot_name(pvc_name, run_id)
    manifest = build_volume_snapshot(
        name=name,
        namespace=namespace,
        pvc=pvc_name,
        snapshot_class=chosen["metadata"]["name"],
        run_id=run_id,
        notebook=notebook,
    )
    validate_volume_snapshot(manifest)
    _call(
        custom.create_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        manifest,
        what=f"VolumeSnapshot {name}",
    )
    entry = {
        "pvc": pvc_name,
        "mount_point": request["mount_point"],
        "volume_snapshot": name,
        "namespace": namespace,
        "snapshot_class": chosen["metadata"]["name"],
        "driver": sc.provisioner,
        "storage_class": storage_class,
        "access_modes": list(pvc.spec.access_modes or ["ReadWriteOnce"]),
    }
    _tell(listener, entry, "creating")
    try:
        status = wait_ready(custom, namespace, name, pvc_name, timeout=timeout, poll_interval=poll_interval)
    except BaseException:
        delete_snapshots(api_client, [entry])
        raise
    requested = ((pvc.spec.resources and pvc.spec.resources.requests) or {}).get("storage")
    entry["restore_size"] = status.get("restoreSize")
    entry["size"] = restore_size(status.get("restoreSize"), requested)
    _tell(listener, entry, "ready")
    return entry


def wait_ready(
    custom: Any, namespace: str, name: str, pvc: str, *, timeout: float, poll_interval: float
) -> dict[str, Any]:
    """The snapshot's status once readyToUse; CsiSnapshotError on status.error (its message) or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        obj = _call(
            custom.get_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, name, what=f"VolumeSnapshot {name}"
        )
        status = obj.get("status") or {}
        if status.get("readyToUse") is True:
            return status
        error = status.get("error") or {}
        if error.get("message"):
            raise CsiSnapshotError(
                f"VolumeSnapshot {namespace}/{name} of PVC {pvc} failed: {error['message']}; it was deleted and "
                "nothing was submitted",
                code="csi.failed",
            )
        if time.monotonic() >= deadline:
            raise CsiSnapshotError(
                f"VolumeSnapshot {namespace}/{name} of PVC {pvc} was not ready to use after {timeout:g} s "
                f"(readyToUse: {status.get('readyToUse')}); it was deleted and nothing was submitted. Raise "
                "--snapshot-timeout (c.KfpRunner.snapshot_timeout) or check the CSI snapshotter's events",
                code="csi.timeout",
            )
        time.sleep(poll_interval)


def delete_snapshots(api_client: Any, entries: Sequence[dict[str, Any]]) -> None:
    """Delete the VolumeSnapshots of ``entries`` (a run that was not submitted); best effort, never raises."""
    if not entries:
        return
    from kubernetes import client

    custom = client.CustomObjectsApi(api_client)
    for e in entries:
        try:
            custom.delete_namespaced_custom_object(
                GROUP, VERSION, e["namespace"], PLURAL, e["volume_snapshot"], _request_timeout=REQUEST_TIMEOUT
            )
        except Exception:  # already gone, or the cluster went away: nothing more to do here
            pass


def _tell(listener: Callable[[dict[str, Any]], None] | None, entry: dict[str, Any], status: str) -> None:
    if listener is not None:
        listener({"event": "volume_snapshot", "status": status, **entry})


def _call(func: Callable[..., Any], *args: Any, what: str) -> Any:
    """One API call; its faults as one-line CsiSnapshotErrors (the API's message, never the client's headers)."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return func(*args, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        reason = exc.reason or ""
        try:
            reason = json.loads(exc.body or "{}").get("message") or reason
        except (ValueError, AttributeError):
            pass
        if exc.status == 404:
            hint = (
                "; the cluster serves no snapshot.storage.k8s.io/v1 API (install the CSI external-snapshotter CRDs)"
                if "VolumeSnapshotClasses" in what
                else "; check the name and the namespace (--namespace)"
            )
            raise CsiSnapshotError(f"{what} not found (HTTP 404: {reason}){hint}", code="csi.not_found") from None
        if exc.status in (401, 403):
            raise CsiSnapshotError(
                f"the Kubernetes API refused access to {what} (HTTP {exc.status}: {reason}); check the service "
                "account's or the kubeconfig user's permissions",
                code="csi.api",
            ) from None
        raise CsiSnapshotError(
            f"the Kubernetes API answered HTTP {exc.status} for {what}: {reason}", code="csi.api"
        ) from None
    except (HTTPError, OSError) as exc:
        host = getattr(getattr(func, "__self__", None), "api_client", None)
        where = getattr(getattr(host, "configuration", None), "host", "the Kubernetes API")
        raise CsiSnapshotError(
            f"cannot reach the Kubernetes API at {where} for {what} ({type(exc).__name__})", code="csi.api"
        ) from None
