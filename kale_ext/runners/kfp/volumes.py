"""Kale's notebook volumes compiled to KFP through kfp-kubernetes: an existing claim (``pvc``) is mounted in every step; a
new claim (``new_pvc``) is created by each run with ``CreatePVC`` (named ``<run>-<name>``) and mounted in every step.
Other volume types (Kale's ``pv``, Rok's ``clone``) and incomplete entries are warning diagnostics, not mounted.
A workspace claim snapshotted before the submission (csi_client.py) is replaced by a claim each run restores from its
VolumeSnapshot (``CreatePVC`` with the snapshot as ``data_source``, kind "restored"), mounted at the same path.

Kale's ``volumes`` setting: [{"type": "pvc" | "new_pvc", "name", "mount_point", and for a new_pvc "size", "size_type"
("Gi"), "storage_class_name", "volume_access_mode" (rom | rwo | rwm; Kale's default rwm), "annotations" ([{"key",
"value"}] as Kale's frontend writes them, or a dict)}].

Imports kfp lazily (inside the functions); never imports tornado or jupyter_server.
"""

from __future__ import annotations

from typing import Any

from ...pipeline.model import Diagnostic
from .config import warn
from .snapshots import data_source

ACCESS_MODES = {"rom": "ReadOnlyMany", "rwo": "ReadWriteOnce", "rwm": "ReadWriteMany"}


def volume_plan(settings: dict[str, Any], out: list[Diagnostic]) -> list[dict[str, Any]]:
    """Kale's ``volumes`` setting, validated: [{"kind": "pvc"|"new_pvc", "name", "mount_point", ...}]."""
    volumes = settings.get("volumes") or []
    if not isinstance(volumes, list):
        out.append(warn("kfp.volume", None, f"the notebook setting volumes must be a list, found {volumes!r}"))
        return []
    plan = []
    for i, v in enumerate(volumes):
        label = f"volume {i + 1} ({v.get('name', '?') if isinstance(v, dict) else v!r})"
        if not isinstance(v, dict) or not v.get("name") or not str(v.get("mount_point", "")).startswith("/"):
            out.append(warn("kfp.volume", None, f"{label}: needs a name and an absolute mount_point; not mounted"))
            continue
        kind = v.get("type")
        if kind == "pvc":
            plan.append({"kind": "pvc", "name": v["name"], "mount_point": v["mount_point"]})
        elif kind == "new_pvc":
            entry = _new_pvc(v, settings, label, out)
            if entry is not None:
                plan.append(entry)
        else:
            out.append(
                warn(
                    "kfp.volume",
                    None,
                    f"{label}: volume type {kind!r} cannot be compiled to KFP (supported: "
                    "pvc, an existing claim; new_pvc, a claim created by each run); not mounted",
                )
            )
    return plan


def _new_pvc(v: dict[str, Any], settings: dict[str, Any], label: str, out: list[Diagnostic]) -> dict[str, Any] | None:
    size = v.get("size")
    mode = ACCESS_MODES.get(str(v.get("volume_access_mode") or settings.get("volume_access_mode") or "rwm"))
    if not isinstance(size, int | str) or not str(size).strip() or mode is None:
        out.append(
            warn(
                "kfp.volume", None, f"{label}: a new_pvc needs a size and an access mode in rom, rwo, rwm; not created"
            )
        )
        return None
    annotations = v.get("annotations") or []
    if isinstance(annotations, list):  # Kale's frontend writes [{"key", "value"}]
        annotations = {a["key"]: a["value"] for a in annotations if isinstance(a, dict) and a.get("key")}
    return {
        "kind": "new_pvc",
        "name": v["name"],
        "mount_point": v["mount_point"],
        "size": f"{size}{v.get('size_type') or ''}",
        "access_modes": [mode],
        "storage_class_name": v.get("storage_class_name") or settings.get("storage_class_name"),
        "annotations": annotations if isinstance(annotations, dict) else {},
    }


def with_snapshots(plan: list[dict[str, Any]], snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The volume plan with each snapshotted claim (an entry of csi_client.take_snapshots) replaced by the claim
    restored from its snapshot: the live claim is no longer mounted where its restored copy is."""
    if not snapshots:
        return plan
    taken = {s["pvc"] for s in snapshots} | {s["mount_point"] for s in snapshots}
    kept = [v for v in plan if not (v["kind"] == "pvc" and (v["name"] in taken or v["mount_point"] in taken))]
    restored = [
        {
            "kind": "restored",
            "name": s["pvc"],
            "mount_point": s["mount_point"],
            "size": s["size"],
            "access_modes": list(s["access_modes"]),
            "storage_class_name": s["storage_class"],
            "data_source": data_source(s["volume_snapshot"]),
        }
        for s in snapshots
    ]
    return kept + restored


def create_volumes(plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Inside the pipeline function: one CreatePVC task per new_pvc volume (its claim is named after the run)."""
    from kfp import kubernetes

    created = {}
    for v in plan:
        if v["kind"] == "new_pvc":
            optional = {"storage_class_name": v["storage_class_name"], "annotations": v["annotations"]}
            task = kubernetes.CreatePVC(
                pvc_name_suffix=f"-{v['name']}",
                access_modes=v["access_modes"],
                size=v["size"],
                **{k: value for k, value in optional.items() if value},  # absent: the cluster's defaults
            )
            task.set_display_name(f"create-volume-{v['name']}")
            created[v["name"]] = task
        elif v["kind"] == "restored":  # the run's own copy of the workspace, restored from its VolumeSnapshot
            task = kubernetes.CreatePVC(
                pvc_name_suffix=f"-{v['name']}-restored",
                access_modes=v["access_modes"],
                size=v["size"],
                storage_class_name=v["storage_class_name"],
                data_source=v["data_source"],
            )
            task.set_display_name(f"restore-volume-{v['name']}")
            created[v["name"]] = task
    return created


def mount_volumes(task: Any, plan: list[dict[str, Any]], created: dict[str, Any]) -> None:
    from kfp import kubernetes

    for v in plan:
        claim = created[v["name"]].outputs["name"] if v["kind"] != "pvc" else v["name"]
        kubernetes.mount_pvc(task, pvc_name=claim, mount_path=v["mount_point"])
