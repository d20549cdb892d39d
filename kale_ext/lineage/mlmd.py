"""A run's lineage as ML Metadata (MLMD): a ``LineageGraph`` message of ml_metadata's metadata_store.proto, in the
protobuf JSON mapping (camelCase field names, int64 as strings, enums by name), ready to be parsed with
``google.protobuf.json_format.Parse(text, metadata_store_pb2.LineageGraph())`` and loaded into an MLMD store
(mlmd_load.py does it).

What maps to what (as Kubeflow Pipelines records its runs in MLMD):
- contexts: the pipeline (type ``kale_ext.Pipeline``) and the run (``kale_ext.PipelineRun``, child of the pipeline);
- executions: the run's steps (``kale_ext.Step``: status, code hash, cache key, cache origin, parameters, error);
- artifacts: the artifacts the steps read and wrote (``kale_ext.Artifact``), the models (``kale_ext.Model``, base
  type MODEL), each step's metrics (``kale_ext.Metrics``, base type METRICS) and the workspace snapshot
  (``kale_ext.WorkspaceSnapshot``); one artifact per content and file, so a cached step's outputs are the artifacts
  the execution it reused wrote;
- events: INPUT (the step read it; path: the variable name, or "workspace" for the snapshot) and OUTPUT (it wrote it);
- attributions (every artifact to the run and the pipeline), associations (every execution to both).

Ids are local to the file (1, 2, ... per kind); a loader maps them to the ids its store assigns. Plain Python; never
imports tornado, jupyter_server or protobuf.
"""

from __future__ import annotations

import json
from typing import Any

from ..marshal.registry import GROUP_SERIALIZER
from ..store import Store
from .graph import run_lineage

STATES = {
    "succeeded": "COMPLETE",
    "cached": "CACHED",
    "failed": "FAILED",
    "cancelled": "CANCELED",
    "skipped": "CANCELED",
    "running": "RUNNING",
    "queued": "NEW",
}
STRING, INT, DOUBLE = "STRING", "INT", "DOUBLE"
ARTIFACT_PROPS = {"hash": STRING, "serializer": STRING, "value_type": STRING, "size": INT, "variable": STRING}
TYPES: dict[str, dict[str, Any]] = {
    "artifactTypes": {
        "kale_ext.Artifact": {"properties": ARTIFACT_PROPS},
        "kale_ext.Model": {"properties": {**ARTIFACT_PROPS, "model_kind": STRING}, "baseType": "MODEL"},
        "kale_ext.Metrics": {"properties": {"step": STRING}, "baseType": "METRICS"},
        "kale_ext.WorkspaceSnapshot": {
            "properties": {"snapshot_id": STRING, "root": STRING, "files": INT, "bytes": INT}
        },
    },
    "executionTypes": {
        "kale_ext.Step": {
            "properties": {
                "step": STRING,
                "status": STRING,
                "code_hash": STRING,
                "cache_key": STRING,
                "cached_from": STRING,
                "parameters": STRING,
                "error": STRING,
            }
        }
    },
    "contextTypes": {
        "kale_ext.Pipeline": {"properties": {"notebook": STRING}},
        "kale_ext.PipelineRun": {
            "properties": {"run_id": STRING, "status": STRING, "parameters": STRING, "snapshot_id": STRING}
        },
    },
}


def value(v: Any) -> dict[str, Any]:
    """An MLMD Value in the JSON mapping (int64 as a string)."""
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, str):
        return {"stringValue": v}
    return {"stringValue": json.dumps(v, sort_keys=True, default=str)}


def _props(d: dict[str, Any]) -> dict[str, Any]:
    return {k: value(v) for k, v in d.items() if v is not None}


class _Graph:
    def __init__(self) -> None:
        self.types: dict[str, dict[str, str]] = {kind: {} for kind in TYPES}  # kind -> name -> id
        self.out: dict[str, list[dict[str, Any]]] = {
            k: []
            for k in ("artifactTypes", "executionTypes", "contextTypes", "artifacts", "executions", "contexts")
            + ("events", "attributions", "associations", "parentContexts")
        }
        for kind, named in TYPES.items():
            for name, spec in named.items():
                type_id = str(len(self.out[kind]) + 1)
                self.types[kind][name] = type_id
                props = spec["properties"]
                entry = {"id": type_id, "name": name, "properties": props}
                if "baseType" in spec:
                    entry["baseType"] = spec["baseType"]
                self.out[kind].append(entry)
        self.artifact_ids: dict[tuple[str, str], str] = {}

    def add(self, kind: str, type_kind: str, type_name: str, **fields: Any) -> str:
        new_id = str(len(self.out[kind]) + 1)
        self.out[kind].append({"id": new_id, "typeId": self.types[type_kind][type_name], "type": type_name, **fields})
        return new_id

    def artifact(self, key: tuple[str, str], type_name: str, **fields: Any) -> tuple[str, bool]:
        """The artifact's id, and whether it is new (one artifact per key)."""
        if key in self.artifact_ids:
            return self.artifact_ids[key], False
        self.artifact_ids[key] = self.add("artifacts", "artifactTypes", type_name, **fields)
        return self.artifact_ids[key], True


def _ms(t: float | None) -> str | None:
    return None if t is None else str(int(t * 1000))


def _file_artifact(g: _Graph, a: dict[str, Any], run_id: str, step: str) -> str:
    model = a.get("kind") is not None
    props = {"hash": a["hash"], "serializer": a["serializer"], "value_type": a["type"], "size": a["size"]}
    props["variable"] = a["variable"]
    if model:
        props["model_kind"] = a["kind"]
    origin = a.get("origin") or {"run_id": run_id, "step": step}
    # A shared-output group is one file holding several variables: one artifact per variable of it.
    key = (a["hash"], a["path"] + ("#" + a["variable"] if a["serializer"] == GROUP_SERIALIZER else ""))
    art_id, _ = g.artifact(
        key,
        "kale_ext.Model" if model else "kale_ext.Artifact",
        name=f"{origin['run_id']}/{origin['step']}/{a['variable']}#{a['artifact_id']}",
        uri="file://" + a["path"],
        properties=_props(props),
        state="LIVE",
    )
    return art_id


def to_mlmd(store: Store, run_id: str) -> dict[str, Any]:
    """The run's LineageGraph in MLMD's protobuf JSON (see the module docstring)."""
    lin = run_lineage(store, run_id)
    g = _Graph()
    created = _ms(lin["created"])
    pipeline_ctx = g.add(
        "contexts",
        "contextTypes",
        "kale_ext.Pipeline",
        name=lin["pipeline"],
        properties=_props({"notebook": lin["notebook"]}),
    )
    run_ctx = g.add(
        "contexts",
        "contextTypes",
        "kale_ext.PipelineRun",
        name=run_id,
        properties=_props(
            {
                "run_id": run_id,
                "status": lin["status"],
                "parameters": lin["parameters"],
                "snapshot_id": lin["snapshot_id"],
            }
        ),
        createTimeSinceEpoch=created,
    )
    g.out["parentContexts"].append({"childId": run_ctx, "parentId": pipeline_ctx})
    snapshot = None
    if lin["snapshot"]:
        s = lin["snapshot"]
        snapshot, _ = g.artifact(
            ("snapshot", s["snapshot_id"]),
            "kale_ext.WorkspaceSnapshot",
            name=f"snapshot/{s['snapshot_id']}",
            uri="file://" + store.folder + "/snapshots/" + s["snapshot_id"],
            properties=_props({k: s.get(k) for k in ("snapshot_id", "root", "files", "bytes")}),
            state="LIVE" if not s.get("missing") else "DELETED",
        )
    for step in lin["steps"]:
        ex = g.add(
            "executions",
            "executionTypes",
            "kale_ext.Step",
            name=f"{run_id}/{step['name']}",
            lastKnownState=STATES.get(step["status"], "UNKNOWN"),
            properties=_props(
                {
                    "step": step["name"],
                    "status": step["status"],
                    "code_hash": step["code_hash"],
                    "cache_key": step["cache_key"],
                    "cached_from": step["cached_from"],
                    "parameters": step["parameters"],
                    "error": step["error"],
                }
            ),
        )
        events = g.out["events"]
        if snapshot is not None:
            events.append({"artifactId": snapshot, "executionId": ex, "type": "INPUT", "path": _path("workspace")})
        for i in step["inputs"]:
            art = _file_artifact(g, {**i, "origin": i["origin"]}, run_id, step["name"])
            events.append({"artifactId": art, "executionId": ex, "type": "INPUT", "path": _path(i["name"])})
        for o in step["outputs"] + [m for m in step["models"] if m["role"] != "output"]:
            art = _file_artifact(g, o, run_id, step["name"])
            events.append({"artifactId": art, "executionId": ex, "type": "OUTPUT", "path": _path(o["name"])})
        if step["metrics"]:
            art, _ = g.artifact(
                ("metrics", step["name"]),
                "kale_ext.Metrics",
                name=f"{run_id}/{step['name']}/metrics",
                properties=_props({"step": step["name"]}),
                customProperties=_props(step["metrics"]),
                state="LIVE",
            )
            events.append({"artifactId": art, "executionId": ex, "type": "OUTPUT", "path": _path("metrics")})
        for ctx in (pipeline_ctx, run_ctx):
            g.out["associations"].append({"executionId": ex, "contextId": ctx})
    for art in g.artifact_ids.values():
        for ctx in (pipeline_ctx, run_ctx):
            g.out["attributions"].append({"artifactId": art, "contextId": ctx})
    return {k: v for k, v in g.out.items() if v}


def _path(key: str) -> dict[str, Any]:
    return {"steps": [{"key": key}]}
