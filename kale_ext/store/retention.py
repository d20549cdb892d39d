"""Retention: which runs a garbage collection may delete, and deleting their rows and folders.

``plan_gc(store, keep_last=, older_than_days=)`` decides; ``delete_runs(store, plan)`` deletes. A run is a candidate when
it is beyond the ``keep_last`` newest runs of its notebook and (if given) older than ``older_than_days``; with both, it
must meet both (the conservative reading). A candidate is kept anyway, with the reason recorded, when:

- it is queued or running (its driver may write to it at any moment);
- a live served model (``served_models.stopped IS NULL``) points at it: the model directory may read its artifacts; a
  stopped version keeps its row and its lineage text (run id, content hash) after the run goes;
- it is a trial of an experiment that keeps at least one of its trial runs, or of an experiment still running: an
  experiment's trials go together with it or not at all (the experiment's rows are deleted with its last runs);
- a kept run uses its files: a cached step records the artifacts of the run it reused (paths inside that run's folder),
  so the run whose folder holds a kept run's artifact stays (repeated until nothing changes).

Deleting a run that ``kale-ext runs reproduce`` made also deletes its folder under ``<store>/reproductions/`` once no
remaining run lives there.

Snapshots: ``doomed_snapshots`` names those only the deleted runs referenced, ``chunks_freed`` what deleting them
frees (from the manifests, for --dry-run); kale_ext.commands.gc deletes them through the snapshot engine. Plain Python (sqlite3 only); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

DAY = 86400.0


@dataclass
class GcPlan:
    delete: list[str] = field(default_factory=list)  # run ids, newest first
    kept: int = 0  # runs that stay (policy and protection)
    protected: dict[str, str] = field(default_factory=dict)  # candidate run id -> why it stays
    experiments: list[str] = field(default_factory=list)  # experiments deleted with their last trial runs


def plan_gc(
    store: Any, *, keep_last: int | None = None, older_than_days: float | None = None, notebook: str | None = None
) -> GcPlan:
    """The runs to delete (see the module's docstring); only runs of ``notebook`` (an absolute path) when given.
    Reads only."""
    c = store._conn()
    with c.snapshot():
        runs = [dict(r) for r in c.execute("SELECT run_id, notebook, status, created FROM runs ORDER BY created DESC")]
        served = {r["run_id"] for r in c.execute("SELECT run_id FROM served_models WHERE stopped IS NULL")}
        trials = [dict(r) for r in c.execute("SELECT experiment_id, run_id FROM trials WHERE run_id IS NOT NULL")]
        exp_status = {
            r["experiment_id"]: r["status"] for r in c.execute("SELECT experiment_id, status FROM experiments")
        }
        paths = [(r["run_id"], r["path"]) for r in c.execute("SELECT run_id, path FROM artifacts")]
    candidates = _candidates(
        [r for r in runs if notebook is None or r["notebook"] == notebook], keep_last, older_than_days
    )
    protected: dict[str, str] = {}
    by_id = {r["run_id"]: r for r in runs}
    for run_id in candidates:
        if by_id[run_id]["status"] in ("queued", "running"):
            protected[run_id] = f"it is {by_id[run_id]['status']}"
        elif run_id in served:
            protected[run_id] = "a served model points at it"
    while True:  # each rule may protect runs another rule then looks at again
        before = len(protected)
        experiments = _experiments_going(candidates, protected, trials, exp_status)
        _protect_used_folders(store, runs, candidates, protected, paths)
        if len(protected) == before:
            break
    delete = [r["run_id"] for r in runs if r["run_id"] in candidates and r["run_id"] not in protected]
    return GcPlan(delete=delete, kept=len(runs) - len(delete), protected=protected, experiments=experiments)


def _candidates(runs: list[dict[str, Any]], keep_last: int | None, older_than_days: float | None) -> set[str]:
    seen: dict[str, int] = defaultdict(int)
    cutoff = None if older_than_days is None else time.time() - older_than_days * DAY
    out: set[str] = set()
    for r in runs:  # newest first
        seen[r["notebook"]] += 1
        beyond = keep_last is None or seen[r["notebook"]] > keep_last
        old = cutoff is None or r["created"] < cutoff
        if beyond and old:
            out.add(r["run_id"])
    return out


def _experiments_going(
    candidates: set[str], protected: dict[str, str], trials: list[dict[str, Any]], exp_status: dict[str, str]
) -> list[str]:
    """The experiments all of whose trial runs are deletable; the trial runs of the others are protected."""
    by_exp: dict[str, list[str]] = defaultdict(list)
    for t in trials:
        by_exp[t["experiment_id"]].append(t["run_id"])
    going = []
    for exp, run_ids in sorted(by_exp.items()):
        if exp_status.get(exp) == "running":
            reason = f"it is a trial of experiment {exp}, which is running"
        elif all(r in candidates and r not in protected for r in run_ids):
            going.append(exp)
            continue
        else:
            reason = f"it is a trial of experiment {exp}, which keeps other trials"
        for r in run_ids:
            if r in candidates:
                protected.setdefault(r, reason)
    return going


def _protect_used_folders(
    store: Any,
    runs: list[dict[str, Any]],
    candidates: set[str],
    protected: dict[str, str],
    paths: list[tuple[str, str]],
) -> None:
    """Keep the runs whose folder holds an artifact a kept run records (cached steps record the reused files)."""
    folder_of = {os.path.realpath(store.runs_dir(r["run_id"])) + os.sep: r["run_id"] for r in runs}
    uses: dict[str, set[str]] = defaultdict(set)  # run -> runs whose folders hold its artifacts
    for run_id, path in paths:
        real = os.path.realpath(path)
        for prefix, owner in folder_of.items():
            if owner != run_id and real.startswith(prefix):
                uses[run_id].add(owner)
                break
    changed = True
    while changed:
        changed = False
        kept = {r["run_id"] for r in runs if r["run_id"] not in candidates or r["run_id"] in protected}
        for user in kept:
            for owner in uses.get(user, ()):
                if owner in candidates and owner not in protected:
                    protected[owner] = f"kept run {user} uses its artifacts (a cached step)"
                    changed = True


def doomed_snapshots(store: Any, deleted: list[str]) -> list[str]:
    """The snapshots the deleted runs referenced that no remaining run references."""
    if not deleted:
        return []
    gone = set(deleted)
    refs: dict[str, set[str]] = {}
    for r in store._conn().execute("SELECT run_id, snapshot_id FROM runs WHERE snapshot_id IS NOT NULL"):
        refs.setdefault(r["snapshot_id"], set()).add(r["run_id"])
    return sorted(s for s, runs in refs.items() if runs & gone and not runs - gone)


def chunks_freed(store: Any, snapshots: list[str]) -> dict[str, int]:
    """The chunks (and their bytes) only ``snapshots`` reference, read from the manifests (what a sweep would free)."""
    if not snapshots:
        return {"chunks": 0, "bytes": 0}
    doomed = set(snapshots)
    kept: set[str] = set()
    theirs: set[str] = set()
    for r in store._conn().execute("SELECT snapshot_id, chunks FROM snapshot_files"):
        (theirs if r["snapshot_id"] in doomed else kept).update(json.loads(r["chunks"]))
    only = theirs - kept
    sizes = {r["hash"]: r["size"] for r in store._conn().execute("SELECT hash, size FROM chunks")}
    return {"chunks": sum(1 for h in only if h in sizes), "bytes": sum(sizes.get(h, 0) for h in only)}


def folder_bytes(folder: str) -> int:
    """The apparent size of the files under ``folder`` (0 when it does not exist); symlinks are not followed."""
    total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(base, name)).st_size
            except OSError:
                pass
    return total


def delete_runs(store: Any, plan: GcPlan) -> dict[str, int]:
    """Delete the plan's runs (rows of runs, steps, artifacts, lineage, metrics, and their experiments' rows) in one
    transaction, then their folders; {"runs", "bytes"} freed by the folders."""
    ids = list(plan.delete)
    if not ids:
        return {"runs": 0, "bytes": 0}
    c = store._conn()
    notebooks = [store.run_row(r)["notebook"] for r in ids]
    with c:
        for exp in plan.experiments:
            c.execute("DELETE FROM trials WHERE experiment_id = ?", (exp,))
            c.execute("DELETE FROM experiments WHERE experiment_id = ?", (exp,))
        for run_id in ids:
            c.execute("DELETE FROM lineage WHERE run_id = ?", (run_id,))
            c.execute("DELETE FROM artifacts WHERE run_id = ?", (run_id,))
            c.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            c.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))
            c.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
    freed = 0
    for run_id in ids:  # after the commit: a crash in between leaves folders no row names (store info: "other")
        folder = store.runs_dir(run_id)
        freed += folder_bytes(folder)
        shutil.rmtree(folder, ignore_errors=True)
    for folder in _unused_reproductions(store, notebooks):
        freed += folder_bytes(folder)
        shutil.rmtree(folder, ignore_errors=True)
    return {"runs": len(ids), "bytes": freed}


def _unused_reproductions(store: Any, notebooks: list[str]) -> list[str]:
    """The folders ``kale-ext runs reproduce`` made in the store (``<store>/reproductions/<name>``) for the deleted
    runs' notebooks that no remaining run's notebook lies in."""
    base = os.path.join(store.folder, "reproductions") + os.sep
    folders = {base + n[len(base) :].split(os.sep, 1)[0] for n in notebooks if n.startswith(base)}
    if not folders:
        return []
    remaining = [r["notebook"] for r in store._conn().execute("SELECT notebook FROM runs")]
    return sorted(f for f in folders if not any(n.startswith(f + os.sep) for n in remaining))
