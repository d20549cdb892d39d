"""The human summary of a lineage answer (``kale-ext lineage REF`` without --json). Plain Python."""

from __future__ import annotations

import time
from typing import Any


def _short(digest: str | None) -> str:
    return (digest or "-")[:19]


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def render(lineage: dict[str, Any]) -> str:
    kind = lineage["kind"]
    if kind == "run":
        return "\n".join(_run(lineage))
    if kind == "artifact":
        return "\n".join(_artifact(lineage))
    return "\n".join(_snapshot(lineage))


def _run(r: dict[str, Any]) -> list[str]:
    out = [f"run {r['run_id']}: {r['status']}  pipeline {r['pipeline']} ({r['notebook']}), {_when(r['created'])}"]
    if r["parameters"]:
        out.append("  parameters: " + ", ".join(f"{k}={v!r}" for k, v in r["parameters"].items()))
    snap = r["snapshot"]
    if snap:
        extra = " (not in the store)" if snap.get("missing") else f": {snap['files']} files, {snap['bytes']} bytes"
        out.append(f"  workspace snapshot {snap['snapshot_id']}{extra}")
    else:
        out.append("  workspace snapshot: none recorded")
    for s in r["steps"]:
        head = f"  step {s['name']}: {s['status']}  code {_short(s['code_hash'])}"
        if s["cached_from"]:
            head += f"  (from the cache of run {s['cached_from']})"
        out.append(head)
        if s["parameters"]:
            out.append("    parameters: " + ", ".join(f"{k}={v!r}" for k, v in s["parameters"].items()))
        for i in s["inputs"]:
            origin = i["origin"]
            where = f"{origin['step']} of run {origin['run_id']}"
            out.append(f"    in  {i['name']:<16} {_short(i['hash'])}  from {where}")
        for o in s["outputs"]:
            out.append(f"    out {o['name']:<16} {_short(o['hash'])}  {o['type']}")
        for m in s["models"]:
            out.append(f"    model {m['name']:<14} {_short(m['hash'])}  {m['kind']}")
        for name, value in s["metrics"].items():
            out.append(f"    metric {name} = {value!r}")
        if s["error"]:
            out.append(f"    error: {s['error']}")
    for v in r["served_models"]:
        state = "served" if v["live"] else "stopped"
        out.append(f"  model {v['name']} v{v['version']} ({state}): {v['variable']} of step {v['step']}")
    return out


def _artifact(a: dict[str, Any]) -> list[str]:
    out = [f"artifact {a['hash']}: {a['type']} ({a['serializer']}, {a['size']} bytes)"]
    p = a["produced_by"]
    if p:
        out.append(
            f"  produced by step {p['step']} of run {p['run_id']} ({p['status']}), code {_short(p['code_hash'])}"
        )
        if p["parameters"]:
            out.append("    parameters: " + ", ".join(f"{k}={v!r}" for k, v in p["parameters"].items()))
        for i in p["inputs"]:
            out.append(
                f"    from {i['name']} {_short(i['hash'])} of step {i['origin']['step']} of {i['origin']['run_id']}"
            )
        out.append(f"    workspace snapshot: {p['snapshot_id'] or 'none recorded'}")
    for u in a["used_by"]:
        how = "read it as input" if u["how"] == "input" else "took it from the cache"
        out.append(f"  run {u['run_id']} step {u['step']} {how} ({u['name']})")
    for v in a["served_models"]:
        out.append(f"  served as {v['name']} v{v['version']} ({'live' if v['live'] else 'stopped'})")
    return out


def _snapshot(s: dict[str, Any]) -> list[str]:
    snap = s["snapshot"] or {}
    out = [f"snapshot {s['snapshot_id']}: {snap.get('files', '?')} files, {snap.get('bytes', '?')} bytes"]
    out += [f"  used by run {r['run_id']} ({r['status']}, {_when(r['created'])})" for r in s["runs"]]
    if not s["runs"]:
        out.append("  used by no run")
    return out
