"""Lineage answers: a run (each step's code, parameters, inputs with their producers, outputs, models, metrics, the
workspace snapshot, the models served from it), an artifact (who made it, from what, and every run that used it since,
as an input or from the cache), and a snapshot (the runs that used it).

A cached step wrote nothing: its artifacts are the ones an earlier execution wrote, so an artifact's "origin" follows
the steps' ``cached_from`` back to the execution that really ran. A step's code hash is the SHA-256 of its cell sources
(prelude, imports, cells: what decides what it computes besides its inputs and parameters). Plain Python over the store;
never imports tornado or jupyter_server.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..errors import NotFoundError
from ..steps.program import parameters_read
from ..steps.spec import StepSpec
from ..store import Store
from ..store import lineage as q
from ..syntax import literal_or_text

ORIGIN_HOPS = 32  # a chain of cache reuses longer than this is not followed further


def code_hash(spec: StepSpec) -> str:
    """The SHA-256 of the step's cell sources: its prelude, its re-run import lines and its own cells, in order."""
    code = {
        "prelude": [c["source"] for c in spec.prelude],
        "imports": list(spec.imports),
        "cells": [c["source"] for c in spec.cells],
    }
    return "sha256:" + hashlib.sha256(json.dumps(code, sort_keys=True).encode()).hexdigest()


def step_specs(row: dict[str, Any]) -> dict[str, StepSpec]:
    return {s["name"]: StepSpec.from_json(s) for s in json.loads(row["plan"])}


def step_of(store: Store, run_id: str, step: str) -> tuple[dict[str, Any], dict[str, Any], StepSpec | None]:
    """The run's row, the step's record (as in ``Store.get_run``) and its spec from the run's plan; NotFoundError
    (404) for an unknown run or step."""
    row = store.run_row(run_id)
    found = next((s for s in store.get_run(run_id)["steps"] if s["name"] == step), None)
    if found is None:
        names = ", ".join(s["name"] for s in store.get_run(run_id)["steps"])
        raise NotFoundError(f"Run {run_id} has no step {step!r} (its steps: {names}).", code="step.not_found")
    return row, found, step_specs(row).get(step)


def step_parameters(spec: StepSpec | None, literals: dict[str, str]) -> dict[str, Any]:
    """The run's parameter values this step reads (what could change what it computes)."""
    if spec is None:
        return {}
    return {p: literal_or_text(literals[p]) for p in parameters_read(spec, literals)}


def _artifact(a: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "hash", "type", "serializer", "size", "path", "role", "kind")
    return {k: a.get(k) for k in keys} | {"artifact_id": a["id"], "variable": a["name"]}


def _origin(store: Store, run_id: str, step: str, steps_of: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The execution that really produced the outputs of (run_id, step): itself, or where its cache hit came from."""
    for _ in range(ORIGIN_HOPS):
        step_row = steps_of.get(run_id, {}).get(step)
        if step_row is None:
            record = store.get_run(run_id) if store.has_run(run_id) else None
            steps_of[run_id] = {s["name"]: s for s in (record or {}).get("steps", [])}
            step_row = steps_of[run_id].get(step)
        if step_row is None or not step_row["cached"] or not step_row["cached_from"]:
            break
        run_id = step_row["cached_from"]
    return {"run_id": run_id, "step": step}


def run_lineage(store: Store, run_id: str) -> dict[str, Any]:
    row = store.run_row(run_id)
    record = store.get_run(run_id)
    specs = step_specs(row)
    literals = json.loads(row["parameters"])
    artifacts = q.run_artifacts(store, run_id)
    inputs = q.run_inputs(store, run_id)
    metrics = q.run_metrics(store, run_id)
    steps_of = {run_id: {s["name"]: s for s in record["steps"]}}
    snapshot_id = row.get("snapshot_id")
    steps = []
    for s in record["steps"]:
        spec = specs.get(s["name"])
        origin = _origin(store, run_id, s["name"], steps_of)
        ins = []
        for i in (i for i in inputs if i["consumer"] == s["name"]):
            producer = {"run_id": i["run_id"], "step": i["step"]}
            ins.append(
                {
                    **_artifact(i),
                    "name": i["input"],
                    "producer": producer,
                    "origin": _origin(store, **producer, steps_of=steps_of),
                }
            )
        outs = [{**_artifact(a), "origin": origin} for a in artifacts if a["step"] == s["name"]]
        steps.append(
            {
                "name": s["name"],
                "status": s["status"],
                "code_hash": code_hash(spec) if spec else None,
                "cache_key": s["cache_key"],
                "cached": s["cached"],
                "cached_from": s["cached_from"],
                "parameters": step_parameters(spec, literals),
                "inputs": ins,
                "outputs": [o for o in outs if o["role"] == "output"],
                "models": [o for o in outs if o["kind"] is not None],
                "metrics": {m["name"]: m["value"] for m in metrics if m["step"] == s["name"]},
                "error": (s["error"] or {}).get("message"),
                "depends_on": s["depends_on"],
            }
        )
    return {
        "kind": "run",
        "run_id": run_id,
        "notebook": row["notebook"],
        "pipeline": row["pipeline"],
        "status": row["status"],
        "runner": row["runner"],
        "created": row["created"],
        "finished": row["finished"],
        "parameters": record["parameters"],
        "metrics": {m["name"]: {"value": m["value"], "step": m["step"]} for m in metrics},
        "snapshot_id": snapshot_id,
        "snapshot": _snapshot_summary(store, snapshot_id),
        "steps": steps,
        "served_models": [_served(v) for v in q.served_models(store, run_id=run_id)],
    }


def _snapshot_summary(store: Store, snapshot_id: str | None) -> dict[str, Any] | None:
    if not snapshot_id:
        return None
    row = q.snapshot_row(store, snapshot_id)
    if row is None:
        return {"snapshot_id": snapshot_id, "missing": True}
    keys = ("snapshot_id", "root", "notebook", "created", "files", "bytes", "new_bytes")
    return {k: row[k] for k in keys} | {"missing": False}


def _served(v: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "version", "run_id", "step", "variable", "hash", "kind", "model_dir", "traffic", "created")
    return {k: v[k] for k in keys} | {"live": v["stopped"] is None}


def artifact_lineage(store: Store, digest: str) -> dict[str, Any]:
    """Who made the content ``digest`` (the execution that really ran, its code, parameters, inputs and workspace
    snapshot) and every run that has it: as an output (``cached``: taken from the cache), as a step's input, served."""
    rows = q.artifacts_with_hash(store, digest)
    served = {(v["name"], v["version"]): v for v in q.served_models(store, digest=digest)}
    for r in rows:
        for v in q.served_models(store, run_id=r["run_id"]):
            if v["step"] == r["step"] and v["variable"] == r["name"]:
                served[(v["name"], v["version"])] = v
    if not rows and not served:
        raise NotFoundError(f"No artifact or served model with hash {digest} in the store {store.folder}.")
    first = next((r for r in rows if not r["cached"]), rows[0] if rows else None)
    made = first if first is not None else next(iter(served.values()))
    producer_run, producer_step = made["run_id"], made["step"]
    producer = None
    if producer_run and store.has_run(producer_run):
        lineage = run_lineage(store, producer_run)
        step = next((s for s in lineage["steps"] if s["name"] == producer_step), None)
        producer = {
            "run_id": producer_run,
            "step": producer_step,
            "status": step["status"] if step else None,
            "code_hash": step["code_hash"] if step else None,
            "parameters": step["parameters"] if step else {},
            "inputs": step["inputs"] if step else [],
            "metrics": step["metrics"] if step else {},
            "snapshot_id": lineage["snapshot_id"],
            "notebook": lineage["notebook"],
        }
    used = [{**c, "how": "input"} for c in q.consumers_of_hash(store, digest)]
    used += [{"run_id": r["run_id"], "step": r["step"], "name": r["name"], "how": "cache"} for r in rows if r["cached"]]
    return {
        "kind": "artifact",
        "hash": digest,
        "type": made.get("type"),
        "serializer": made.get("serializer"),
        "size": made.get("size"),
        "produced_by": producer,
        "copies": [
            {
                "run_id": r["run_id"],
                "step": r["step"],
                "name": r["name"],
                "role": r["role"],
                "cached": bool(r["cached"]),
            }
            for r in rows
        ],
        "used_by": used,
        "runs": sorted({u["run_id"] for u in used} | {r["run_id"] for r in rows}),
        "served_models": [_served(v) for _, v in sorted(served.items())],
    }


def snapshot_lineage(store: Store, snapshot_id: str) -> dict[str, Any]:
    summary = _snapshot_summary(store, snapshot_id)
    runs = q.runs_with_snapshot(store, snapshot_id)
    if (summary is None or summary["missing"]) and not runs:
        raise NotFoundError(f"No snapshot {snapshot_id!r} in the store {store.folder}.", code="snapshot.not_found")
    return {"kind": "snapshot", "snapshot_id": snapshot_id, "snapshot": summary, "runs": runs}


def holds(store: Store, ref: str) -> bool:
    """Whether the store knows ``ref`` as a run, a snapshot or an artifact hash (or a prefix of one)."""
    return store.has_run(ref) or q.snapshot_row(store, ref) is not None or bool(q.hashes_like(store, ref))


def lineage(store: Store, ref: str) -> dict[str, Any]:
    """The lineage of a run id, a snapshot id or an artifact hash (full, or 8+ hex digits of one)."""
    if store.has_run(ref):
        return run_lineage(store, ref)
    if q.snapshot_row(store, ref) is not None or q.runs_with_snapshot(store, ref):
        return snapshot_lineage(store, ref)
    hashes = q.hashes_like(store, ref)
    if len(hashes) > 1:
        raise NotFoundError(
            f"{ref!r} is the start of {len(hashes)} artifact hashes ({', '.join(h[:19] for h in hashes[:5])}...); "
            "give more digits.",
            code="lineage.ambiguous",
        )
    if hashes:
        return artifact_lineage(store, hashes[0])
    raise NotFoundError(
        f"{ref!r} is no run id, snapshot id or artifact hash known to the store {store.folder}.",
        code="lineage.not_found",
    )
