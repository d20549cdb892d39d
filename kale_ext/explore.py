"""Step exploration: a step's exact parameters and inputs (and, on request, outputs) in a notebook's kernel.

    from kale_ext import explore
    explore.load("20261202-004500-ab12cd", "train")            # parameters + inputs, into the caller's globals
    explore.load("20261202-004500-ab12cd", "train", outputs=True, store="path/to/.kale")

``load`` reads the run's plan (the step's spec), the run's parameter literals the step reads, and the artifacts the
step consumed (the lineage table, recorded when the step started, so a failed step has them too); every file is
verified against its recorded content hash before it is loaded, so the kernel holds exactly what the step saw.
``exploration_notebook`` builds the notebook the sidebar's "Explore in notebook" opens: a header naming the run, the
step and its status (and error), a first cell calling ``load``, then the step's prelude and its own cells.

Plain Python; never imports tornado or jupyter_server (the REST handler that writes the notebook does).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from .errors import KaleError
from .lineage.graph import step_of, step_parameters
from .lineage.stores import store_of_run
from .marshal import ArtifactEntry, default_registry, load_values
from .store import Store
from .store import lineage as q


class ExploreError(KaleError):
    """A step that cannot be explored as asked (no outputs, never started, an artifact changed or missing)."""

    status = 409
    code = "explore.unavailable"


def _entries(rows: list[dict[str, Any]], key: str) -> dict[str, ArtifactEntry]:
    out = {}
    for r in rows:
        entry = ArtifactEntry(r[key], r["path"], r["serializer"], r["hash"], r["size"], r["type"])
        _verify(entry)
        out[r[key]] = entry
    return out


def _verify(entry: ArtifactEntry) -> None:
    if not os.path.isfile(entry.path):
        raise ExploreError(
            f"The artifact {entry.name!r} ({entry.path}) is gone from the store: it cannot be loaded as the step saw "
            "it. Fix: re-run the producing step without the cache.",
            code="explore.artifact_missing",
            details={"name": entry.name, "path": entry.path},
        )
    found = default_registry().hash_saved(entry)
    if found != entry.hash:
        raise ExploreError(
            f"The artifact {entry.name!r} ({entry.path}) changed since the run recorded it (hash {found}, recorded "
            f"{entry.hash}): it is not what the step saw. Fix: re-run the producing step without the cache.",
            code="explore.artifact_changed",
            details={"name": entry.name, "path": entry.path, "expected": entry.hash, "found": found},
        )


def collect(
    run_id: str, step: str, *, outputs: bool = False, store: str | os.PathLike[str] | Store | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The values ``load`` binds, and one row per name for its summary: {"name", "kind", "type", "hash", "from"}."""
    found_store = store_of_run(run_id, store)
    row, record, spec = step_of(found_store, run_id, step)
    values: dict[str, Any] = {}
    summary: list[dict[str, Any]] = []
    for name, value in step_parameters(spec, json.loads(row["parameters"])).items():
        values[name] = value
        summary.append({"name": name, "kind": "parameter", "type": type(value).__name__, "hash": None, "from": "run"})
    inputs = q.run_inputs(found_store, run_id, step)
    expected = list(spec.inputs) if spec is not None else []
    if expected and not inputs:
        raise ExploreError(
            f"Step {step!r} of run {run_id} is {record['status']} and never started: its inputs "
            f"({', '.join(expected)}) were never handed to it. Explore one of its upstream steps instead.",
            code="explore.not_started",
        )
    loaded = load_values(_entries(inputs, "input"))
    for r in inputs:
        values[r["input"]] = loaded[r["input"]]
        summary.append(_row(r["input"], "input", r, f"{r['step']} of {r['run_id']}"))
    if outputs:
        arts = outputs_of(found_store, run_id, record)
        out = load_values(_entries(arts, "name"))
        for a in arts:
            values[a["name"]] = out[a["name"]]
            summary.append(_row(a["name"], "output" if a["role"] == "output" else "model", a, step))
    return values, summary


def outputs_of(store: Store, run_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The artifacts step ``record`` of the run wrote (outputs and models); ExploreError when it wrote none."""
    arts = [a for a in q.run_artifacts(store, run_id) if a["step"] == record["name"]]
    if record["status"] not in ("succeeded", "cached") or not arts:
        raise ExploreError(
            f"Step {record['name']!r} of run {run_id} is {record['status']} and produced no outputs to load. "
            "Fix: explore it without its outputs.",
            code="explore.no_outputs",
            details={"status": record["status"]},
        )
    return arts


def _row(name: str, kind: str, artifact: dict[str, Any], source: str) -> dict[str, Any]:
    short = artifact["type"].rsplit(".", 1)[-1]
    return {"name": name, "kind": kind, "type": short, "hash": artifact["hash"], "from": source}


class Loaded(dict):
    """What ``load`` answers: {name: value}. In a notebook, the cell that calls ``load`` shows the names only (the
    values themselves may be large; the printed table already describes them)."""

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(f"<{len(self)} name(s) loaded: {', '.join(self)}>")


def load(
    run_id: str,
    step: str,
    *,
    outputs: bool = False,
    store: str | os.PathLike[str] | Store | None = None,
    namespace: dict[str, Any] | None = None,
    show: bool = True,
) -> dict[str, Any]:
    """Bind step ``step`` of run ``run_id``'s parameters and inputs (and outputs, with ``outputs=True``) in
    ``namespace`` (default: the caller's globals, a kernel's user namespace); returns {name: value}. ``show`` prints
    a table of what was loaded (name, kind, type, content hash, where from)."""
    values, summary = collect(run_id, step, outputs=outputs, store=store)
    target = namespace if namespace is not None else sys._getframe(1).f_globals
    if values:
        from .steps.rebinder import Rebinder

        rebinder = Rebinder(target)  # notebook functions among the values read their globals from this namespace
        for name, value in values.items():
            target[name] = rebinder.value(value)
        rebinder.fill_missing()
    if show:
        print(summary_table(run_id, step, summary))
    return Loaded((name, target[name]) for name in values)


def summary_table(run_id: str, step: str, rows: list[dict[str, Any]]) -> str:
    head = f"Loaded step {step!r} of run {run_id}: {len(rows)} name(s)"
    if not rows:
        return head
    cols = ("name", "kind", "type", "hash", "from")
    cells = [[r["name"], r["kind"], r["type"], (r["hash"] or "-")[:19], r["from"]] for r in rows]
    widths = [max(len(c), *(len(str(x[i])) for x in cells)) for i, c in enumerate(cols)]
    lines = [head, "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(cell, widths, strict=True)) for cell in cells]
    return "\n".join(line.rstrip() for line in lines)


# The notebook is built in explore_notebook.py; re-exported here, the public module.
from .explore_notebook import exploration_notebook, write_exploration_notebook  # noqa: E402

__all__ = [
    "ExploreError",
    "Loaded",
    "collect",
    "exploration_notebook",
    "load",
    "summary_table",
    "write_exploration_notebook",
]
