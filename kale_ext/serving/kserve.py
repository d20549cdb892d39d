"""A model directory (kale-model.json, contract 1) as a KServe ``serving.kserve.io/v1beta1`` InferenceService.

``build_inference_service`` returns the resource as a plain dict; ``validate_inference_service`` checks it against
KServe's published CRD schema (vendored, pruned, in schemas/inferenceservice.v1beta1.json; its ``$comment`` names the
source commit) with jsonschema, strictly: a field the schema does not declare is an error, as the API server's
``fieldValidation=Strict`` makes it. Creating it on a cluster lives in kserve_client.py.

The predictor: scikit-learn, XGBoost and LightGBM models run on KServe's built-in runtimes (``modelFormat`` with the
major version those runtimes advertise: sklearn 1, xgboost 2, lightgbm 4), which load model.joblib / model.bst /
model.txt from ``/mnt/models``. Other kinds (torch modules saved as model.pt, pyfunc objects) have no KServe runtime for
that layout, so the predictor is a custom container running kale-ext's own server (kserve_entry.py) on the mounted
model directory. The transformer, when kale-model.json names one, is a custom container running the same entry point
with ``--transformer``: KServe's controller appends ``--model_name NAME --predictor_host HOST --http_port 8080`` to a
transformer container's arguments (pkg/apis/serving/v1beta1/transformer_custom.go), ``HOST`` being the predictor's
in-cluster service, and its ``STORAGE_URI`` environment variable makes KServe's storage initializer mount the same
model directory (with transformer.py) at /mnt/models.

Must not import tornado, jupyter_server or the kubernetes client.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import KaleError

GROUP, VERSION, KIND, PLURAL = "serving.kserve.io", "v1beta1", "InferenceService", "inferenceservices"
SCHEMA_FILE = Path(__file__).with_name("schemas") / "inferenceservice.v1beta1.json"
MODEL_MOUNT = "/mnt/models"  # KServe's DefaultModelLocalMountPath
# KServe's ClusterServingRuntimes (config/runtimes/): model format -> the version label they advertise.
RUNTIME_FORMATS = {"sklearn": "1", "xgboost": "2", "lightgbm": "4"}
PROTOCOLS = ("v1", "v2", "grpc-v1", "grpc-v2")  # KServe's InferenceServiceProtocol values
CUSTOM_KINDS = ("pytorch", "pyfunc")
# KServe's webhook: an InferenceService name is a DNS-1035 label (IsvcNameFmt), at most 63 characters.
NAME_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
ENTRY = ["python", "-m", "kale_ext.serving.kserve_entry"]


class KServeError(KaleError):
    status = 400
    code = "kserve.invalid"


def read_model_info(model_dir: str | Path) -> dict[str, Any]:
    """kale-model.json of a model directory (contract 1), checked for the fields this module uses."""
    path = Path(model_dir) / "kale-model.json"
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        raise KServeError(
            f"{model_dir} is not a model directory: it has no kale-model.json", code="model.load"
        ) from None
    except (OSError, ValueError) as exc:
        raise KServeError(f"cannot read {path}: {exc}", code="model.load") from None
    kind = info.get("kind") if isinstance(info, dict) else None
    if kind not in (*RUNTIME_FORMATS, *CUSTOM_KINDS):
        raise KServeError(
            f"{path}: unknown model kind {kind!r} (known: {', '.join((*RUNTIME_FORMATS, *CUSTOM_KINDS))})",
            code="model.load",
        )
    return info


def storage_uri_for(model_dir: str | Path, volumes: list[dict[str, Any]] | None) -> str | None:
    """``pvc://CLAIM/PATH`` when the model directory lies under the mount point of a claim in Kale's ``volumes``
    setting ([{"type": "pvc", "name": CLAIM, "mount_point": DIR}, ...]); the deepest mount point wins. None otherwise."""
    target = PurePosixPath(Path(model_dir).resolve().as_posix())
    best: tuple[int, str] | None = None
    for v in volumes or []:
        if not isinstance(v, dict) or v.get("type", "pvc") not in ("pvc", "new_pvc"):
            continue
        claim, mount = v.get("name"), v.get("mount_point")
        if not claim or not isinstance(mount, str) or not mount.startswith("/"):
            continue
        root = PurePosixPath(mount)
        if target == root or root in target.parents:
            rel = target.relative_to(root).as_posix()
            uri = f"pvc://{claim}" + ("" if rel == "." else f"/{rel}")
            if best is None or len(root.parts) > best[0]:
                best = (len(root.parts), uri)
    return best[1] if best else None


def build_inference_service(
    model_dir: str | Path,
    *,
    name: str,
    namespace: str,
    storage_uri: str | None = None,
    volumes: list[dict[str, Any]] | None = None,
    canary_percent: int | None = None,
    protocol: str | None = None,
    image: str | None = None,
) -> dict[str, Any]:
    """The InferenceService for a model directory. ``storage_uri`` overrides the URI derived from ``volumes``;
    ``image`` (an image with kale-ext installed) is needed for a transformer and for kinds without a KServe runtime."""
    info = read_model_info(model_dir)
    if not NAME_RE.fullmatch(name) or len(name) > 63:
        raise KServeError(f"InferenceService name {name!r} must be a DNS-1035 label: a-z, 0-9 and '-', at most 63")
    uri = storage_uri or storage_uri_for(model_dir, volumes)
    if not uri:
        raise KServeError(
            f"{model_dir} is on no volume of the notebook's volumes setting: pass a storage URI (pvc://, s3://, gs://)"
        )
    protocol = protocol or "v2"
    if protocol not in PROTOCOLS:
        raise KServeError(f"protocol {protocol!r} is not one of KServe's: {', '.join(PROTOCOLS)}")
    predictor: dict[str, Any] = _predictor(info, name, uri, protocol, image)
    if canary_percent is not None:
        if isinstance(canary_percent, bool) or not isinstance(canary_percent, int) or not 0 <= canary_percent <= 100:
            raise KServeError(f"canary percent must be an integer from 0 to 100, not {canary_percent!r}")
        predictor["canaryTrafficPercent"] = canary_percent
    spec: dict[str, Any] = {"predictor": predictor}
    if info.get("transformer"):
        spec["transformer"] = {
            "containers": [_container(image, ["--transformer", "--model_dir", MODEL_MOUNT], uri, protocol)]
        }
    source = info.get("source") or {}
    labels = {"app.kubernetes.io/managed-by": "kale-ext"}
    annotations = {f"kale-ext/{k}": str(source[k]) for k in ("run_id", "step", "variable", "hash") if source.get(k)}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND, "metadata": metadata, "spec": spec}


def _predictor(info: dict[str, Any], name: str, uri: str, protocol: str, image: str | None) -> dict[str, Any]:
    kind = info["kind"]
    if kind in RUNTIME_FORMATS:
        model_format: dict[str, Any] = {"name": kind}
        major = str((info.get("format") or {}).get("version") or "").split(".")[0]
        if major == RUNTIME_FORMATS[kind]:  # KServe matches "mt:NAME:VERSION" labels exactly
            model_format["version"] = major
        return {"model": {"modelFormat": model_format, "protocolVersion": protocol, "storageUri": uri}}
    args = ["--model_name", name, "--model_dir", MODEL_MOUNT, "--http_port", "8080"]
    return {"containers": [_container(image, args, uri, protocol, kind=kind)]}


def _container(image: str | None, args: list[str], uri: str, protocol: str, kind: str | None = None) -> dict[str, Any]:
    if not image:
        what = f"a {kind} model has no KServe runtime" if kind else "the transformer runs kale-ext's server"
        raise KServeError(f"{what}: give an image with kale-ext installed (--image)")
    env = [{"name": "STORAGE_URI", "value": uri}, {"name": "PROTOCOL", "value": protocol}]
    return {"name": "kserve-container", "image": image, "command": list(ENTRY), "args": args, "env": env}


@cache
def crd_schema() -> dict[str, Any]:
    """The vendored openAPIV3Schema, closed: every object that lists properties refuses others (Strict validation)."""
    doc = json.loads(SCHEMA_FILE.read_text())
    return _closed(doc["openAPIV3Schema"])


def _closed(node: Any) -> Any:
    if isinstance(node, list):
        return [_closed(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _closed(v) for k, v in node.items()}
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def validate_inference_service(obj: dict[str, Any]) -> None:
    """Raise a KServeError listing every place where ``obj`` breaks KServe's CRD schema (path: message)."""
    import jsonschema

    validator = jsonschema.Draft7Validator(crd_schema())
    problems = sorted(
        f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in validator.iter_errors(obj)
    )
    if obj.get("apiVersion") != f"{GROUP}/{VERSION}" or obj.get("kind") != KIND:
        problems.insert(0, f"(root): apiVersion/kind must be {GROUP}/{VERSION} {KIND}")
    if problems:
        raise KServeError(
            "the InferenceService does not match KServe's CRD schema: " + "; ".join(problems[:5]),
            code="kserve.schema",
            details={"problems": problems},
        )
