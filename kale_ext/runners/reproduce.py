"""Reproduce a run: restore its workspace snapshot into a new folder, rerun it there, compare the metrics.

``reproduce(store, run_id, to=None)`` restores the run's snapshot (the notebook's folder as it was when the run
started; every file verified against its hash) into ``to`` (which must be empty or new, and is never the live
workspace) or, by default, a fresh folder ``<store>/reproductions/<run_id>-N`` (inside the store, which snapshots
always skip, so later snapshots of the workspace do not copy it in). It then reruns the run's recorded plan (the steps'
code as it ran, which may have been an unsaved notebook) with the same parameters and without the cache, in that
folder, recorded in the same store and linked to the same snapshot, and compares the two runs' metrics.

Metrics match when both runs have the same metric names and equal values; floats are equal within a relative 1e-9
(the last bits of a float sum may differ with the BLAS's thread count, not with the data or the code). The result:
{"run_id", "original_run_id", "folder", "metrics_match", "differences": [{"metric", "original", "reproduced"}],
"status", "error", "snapshot_id"}; a metric one run lacks appears with null on that side. Plain Python; never imports
tornado or jupyter_server.
"""

from __future__ import annotations

import math
import os
from typing import Any

from ..errors import KaleError
from ..store import RUN_FINAL
from .base import Listener

REL_TOL = 1e-9


class ReproduceError(KaleError):
    status = 400
    code = "reproduce.invalid"


def default_folder(store: Any, run_id: str) -> str:
    """A folder that does not exist yet: ``<store>/reproductions/<run_id>-N`` with the first free N."""
    base = os.path.join(store.folder, "reproductions")
    n = 1
    while os.path.exists(os.path.join(base, f"{run_id}-{n}")):
        n += 1
    return os.path.join(base, f"{run_id}-{n}")


def values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, float) or isinstance(b, float):
            return a == b or math.isclose(a, b, rel_tol=REL_TOL) or (math.isnan(a) and math.isnan(b))
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    return a == b


def compare_metrics(original: dict[str, Any], reproduced: dict[str, Any]) -> list[dict[str, Any]]:
    """Every metric whose value differs (or that one side lacks), by name."""
    out = []
    for name in sorted(set(original) | set(reproduced)):
        a, b = original.get(name), reproduced.get(name)
        if name not in original or name not in reproduced or not values_equal(a, b):
            out.append({"metric": name, "original": a, "reproduced": b})
    return out


def prepare(store: Any, run_id: str, to: str | None) -> tuple[dict[str, Any], str, str]:
    """The original run, its snapshot id and the target folder; ReproduceError (or NotFoundError) when unusable."""
    original = store.get_run(run_id)
    if original["status"] not in RUN_FINAL:
        raise ReproduceError(
            f"Run {run_id} is {original['status']}; reproduce it once it has finished.", code="reproduce.active"
        )
    snapshot_id = original.get("snapshot_id")
    if not snapshot_id:
        raise ReproduceError(
            f"Run {run_id} has no workspace snapshot (it ran with --no-snapshot, workspace.snapshot false, or before "
            "snapshots existed), so its workspace cannot be restored.",
            code="reproduce.no_snapshot",
        )
    return original, snapshot_id, os.path.abspath(to) if to else default_folder(store, run_id)


def reproduce(store: Any, run_id: str, to: str | None = None, *, listener: Listener | None = None) -> dict[str, Any]:
    from ..snapshots import SnapshotStore
    from .local import LocalRunner

    original, snapshot_id, folder = prepare(store, run_id, to)
    snapshots = SnapshotStore(store)
    root = snapshots.show(snapshot_id).get("root") or os.path.dirname(original["notebook"])
    if os.path.realpath(root) == os.path.realpath(folder):
        raise ReproduceError(
            f"{folder} is the run's live workspace; reproduce into a new folder (--to DIR).",
            code="reproduce.live_workspace",
        )
    snapshots.restore(snapshot_id, folder)  # refuses a non-empty folder; verifies every file
    notebook = os.path.join(folder, os.path.relpath(original["notebook"], root))
    runner = LocalRunner(store)
    try:
        new_id = runner.rerun(run_id, notebook, snapshot_id=snapshot_id, listener=listener)
        run = runner.wait(new_id)
    finally:
        runner.close()
    differences = compare_metrics(original["metrics"], run["metrics"])
    return {
        "run_id": new_id,
        "original_run_id": run_id,
        "folder": folder,
        "metrics_match": run["status"] == "succeeded" and not differences,
        "differences": differences,
        "status": run["status"],
        "error": run["error"],
        "snapshot_id": snapshot_id,
    }
