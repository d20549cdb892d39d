"""Vendor the part of KServe's InferenceService CRD schema that kale_ext/serving/kserve.py emits and validates.

Reads the CRD YAML from a KServe checkout (config/crd/full/serving.kserve.io_inferenceservices.yaml), takes the
v1beta1 openAPIV3Schema and keeps, of spec, the predictor and the transformer with the fields kale-ext writes (the
model spec, containers, replicas, canaryTrafficPercent, the batcher, service account, labels and annotations); every
schema below a kept field is kept whole. Fields left out are refused by the strict validation, so the builder can
only emit what was checked. Writes kale_ext/serving/schemas/inferenceservice.v1beta1.json.

    python scripts/vendor_kserve_crd.py CRD_YAML --source "kserve/kserve@COMMIT:PATH"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

COMPONENT_FIELDS = {
    "predictor": [
        "model",
        "containers",
        "minReplicas",
        "maxReplicas",
        "canaryTrafficPercent",
        "serviceAccountName",
        "batcher",
        "logger",
        "timeout",
        "containerConcurrency",
        "scaleTarget",
        "scaleMetric",
        "labels",
        "annotations",
        "nodeSelector",
        "tolerations",
    ],
    "transformer": [
        "containers",
        "minReplicas",
        "maxReplicas",
        "canaryTrafficPercent",
        "serviceAccountName",
        "batcher",
        "logger",
        "timeout",
        "containerConcurrency",
        "scaleTarget",
        "scaleMetric",
        "labels",
        "annotations",
        "nodeSelector",
        "tolerations",
    ],
}
OUT = Path(__file__).resolve().parent.parent / "kale_ext" / "serving" / "schemas" / "inferenceservice.v1beta1.json"


def prune(schema: dict) -> dict:
    spec = schema["properties"]["spec"]
    kept = {}
    for component, fields in COMPONENT_FIELDS.items():
        full = spec["properties"][component]
        props = {k: full["properties"][k] for k in fields if k in full["properties"]}
        missing = sorted(set(fields) - set(props))
        if missing:
            raise SystemExit(f"the CRD's {component} has no {missing}")
        kept[component] = {**full, "properties": props}
        if "required" in full:
            kept[component]["required"] = [r for r in full["required"] if r in props]
    spec = {**spec, "properties": kept}
    # status stays open: the controller writes it, kale-ext only reads conditions and url.
    status = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return {**schema, "properties": {**schema["properties"], "spec": spec, "status": status}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("crd")
    parser.add_argument("--source", required=True, help="repository@commit:path the CRD came from")
    args = parser.parse_args()
    crd = yaml.safe_load(Path(args.crd).read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    out = {
        "$comment": (
            f"Vendored from {args.source} (spec.versions[v1beta1].schema.openAPIV3Schema), pruned by "
            "scripts/vendor_kserve_crd.py to the fields kale-ext emits; regenerate with that script."
        ),
        "group": crd["spec"]["group"],
        "version": version["name"],
        "kind": crd["spec"]["names"]["kind"],
        "plural": crd["spec"]["names"]["plural"],
        "openAPIV3Schema": prune(version["schema"]["openAPIV3Schema"]),
    }
    OUT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
