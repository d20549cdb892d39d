"""Putting an InferenceService on a cluster: write it to a file, or create/patch it with the kubernetes client
(CustomObjectsApi: get, then create when absent or merge-patch when present), then wait for its Ready condition and
report status.url. ``deploy_to_kserve`` is what ``kale-ext serve ... --backend kserve`` calls.

The kubernetes client is the ``kale-ext[kserve]`` extra and is imported only inside the functions that use it. Nothing
here logs the client's configuration (its bearer token). Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from .kserve import GROUP, PLURAL, VERSION, KServeError, build_inference_service, validate_inference_service

log = logging.getLogger(__name__)


def deploy_to_kserve(
    model_dir: str | Path,
    *,
    name: str,
    namespace: str,
    storage_uri: str | None = None,
    canary_percent: int | None = None,
    emit: str | Path | None = None,
    volumes: list[dict[str, Any]] | None = None,
    protocol: str | None = None,
    image: str | None = None,
    api_client: Any = None,
    timeout: float = 300.0,
    poll_interval: float = 2.0,
) -> dict[str, Any]:
    """Build and validate the InferenceService; with ``emit`` write it (YAML, or JSON for a .json file) and stop
    there, otherwise create or patch it and wait up to ``timeout`` seconds for Ready.

    Returns {"name", "namespace", "action": "emitted"|"created"|"patched", "file": str|None, "ready": bool|None,
    "url": str|None, "conditions": [...], "manifest": {...}}, and "warnings": [str] when a canary percent is given
    for a resource that did not exist yet."""
    manifest = build_inference_service(
        model_dir,
        name=name,
        namespace=namespace,
        storage_uri=storage_uri,
        volumes=volumes,
        canary_percent=canary_percent,
        protocol=protocol,
        image=image,
    )
    validate_inference_service(manifest)
    result: dict[str, Any] = {"name": name, "namespace": namespace, "file": None, "ready": None, "url": None}
    result["conditions"] = []
    if emit is not None:
        result.update(action="emitted", file=str(write_manifest(manifest, emit)), manifest=manifest)
        return result
    api = _custom_objects(api_client)
    result["action"] = apply_inference_service(api, manifest)
    if result["action"] == "created" and canary_percent is not None:
        result["warnings"] = [
            "canaryTrafficPercent applies from the second revision on: the new InferenceService's first revision "
            "takes all traffic (KServe splits traffic in Serverless mode only)"
        ]
    status = wait_ready(api, name, namespace, timeout=timeout, poll_interval=poll_interval)
    result.update(status, manifest=manifest)
    return result


def write_manifest(manifest: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    if path.suffix == ".json":
        text = json.dumps(manifest, indent=2) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(manifest, sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _custom_objects(api_client: Any) -> Any:
    from ..kube import api_client as kube_api_client

    api_client = kube_api_client(api_client, fail=KServeError, needed_for="deploying to KServe")
    from kubernetes import client

    return client.CustomObjectsApi(api_client)


def apply_inference_service(api: Any, manifest: dict[str, Any]) -> str:
    """Create the resource, or merge-patch it when it exists; "created" or "patched". An update without a canary
    percent sends ``canaryTrafficPercent: null``, which removes a previous one (KServe then promotes the revision)."""
    from kubernetes.client.exceptions import ApiException

    name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
    try:
        api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except ApiException as exc:
        if exc.status != 404:
            raise _api_error("read", name, exc) from None
        try:
            api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
        except ApiException as exc2:
            raise _api_error("create", name, exc2) from None
        log.info("created InferenceService %s/%s", namespace, name)
        return "created"
    body = json.loads(json.dumps(manifest))
    body["spec"]["predictor"].setdefault("canaryTrafficPercent", None)
    if "transformer" not in body["spec"]:
        body["spec"]["transformer"] = None
    try:
        api.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, body)
    except ApiException as exc:
        raise _api_error("patch", name, exc) from None
    log.info("patched InferenceService %s/%s", namespace, name)
    return "patched"


def wait_ready(api: Any, name: str, namespace: str, *, timeout: float, poll_interval: float) -> dict[str, Any]:
    """Poll until the Ready condition is True or ``timeout`` passes: {"ready", "url", "conditions"}."""
    from kubernetes.client.exceptions import ApiException

    deadline = time.monotonic() + timeout
    while True:
        try:
            obj = api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except ApiException as exc:
            raise _api_error("read", name, exc) from None
        status = obj.get("status") or {}
        conditions = [
            {k: c.get(k) for k in ("type", "status", "reason", "message") if c.get(k) is not None}
            for c in status.get("conditions") or []
        ]
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        if ready or time.monotonic() >= deadline:
            return {"ready": ready, "url": status.get("url"), "conditions": conditions}
        time.sleep(poll_interval)


def _api_error(action: str, name: str, exc: Any) -> KServeError:
    reason = exc.reason or ""
    try:
        reason = json.loads(exc.body or "{}").get("message") or reason
    except ValueError:
        pass
    err = KServeError(f"could not {action} InferenceService {name}: {exc.status} {reason}", code="kserve.api")
    err.status = 409 if exc.status == 409 else 404 if exc.status == 404 else 400
    return err
