"""`kale-ext gc [--keep-last N] [--older-than DAYS] [--dry-run] [--json]`: delete old runs and what only they use.

Deletes the runs the policy selects (kale_ext.store.retention: the runs beyond the N newest of each notebook and/or
created more than DAYS ago; never a running run, one a live served model points at, a trial of an experiment that
stays, or a run whose files a kept run uses), with their rows, folders and artifacts; then the workspace snapshots
that only deleted runs referenced, and the chunks no remaining snapshot references (the snapshot engine's delete and
sweep). A snapshot a kept run references is never deleted. ``--dry-run`` prints the same plan and figures and deletes
nothing. At least one of --keep-last and --older-than is required (gc never guesses a policy).

JSON: {"dry_run", "deleted_runs": [...], "kept_runs", "protected": [{"run_id", "reason"}], "experiments": [...],
"snapshots": [...], "freed": {"runs_bytes", "chunks", "chunk_bytes", "bytes"}}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ..errors import KaleError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gc", help="delete old runs, and the snapshots and chunks only they use")
    p.add_argument("--keep-last", type=int, metavar="N", help="keep the N newest runs of each notebook")
    p.add_argument("--older-than", type=float, metavar="DAYS", help="delete only runs created more than DAYS ago")
    p.add_argument("--dry-run", action="store_true", help="print what would be deleted; delete nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--store", help="store folder (default: $KALE_EXT_HOME or ./.kale)")
    p.add_argument("--notebook", help="only this notebook's runs (in the store beside it)")
    p.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from ..store.retention import chunks_freed, delete_runs, doomed_snapshots, folder_bytes, plan_gc
    from .runs import open_store

    if args.keep_last is None and args.older_than is None:
        raise KaleError("Say which runs go: --keep-last N and/or --older-than DAYS (add --dry-run to look first).")
    if args.keep_last is not None and args.keep_last < 0:
        raise KaleError(f"--keep-last must be 0 or more, got {args.keep_last}.")
    if args.older_than is not None and args.older_than < 0:
        raise KaleError(f"--older-than must be 0 or more days, got {args.older_than}.")
    store = open_store(args)
    notebook = os.path.abspath(args.notebook) if args.notebook else None
    plan = plan_gc(store, keep_last=args.keep_last, older_than_days=args.older_than, notebook=notebook)
    snapshots = doomed_snapshots(store, plan.delete)
    if args.dry_run:
        runs_bytes = sum(folder_bytes(store.runs_dir(r)) for r in plan.delete)
        chunks = chunks_freed(store, snapshots)
    else:
        runs_bytes = delete_runs(store, plan)["bytes"]
        chunks = _delete_snapshots(store, snapshots)
    report = {
        "dry_run": bool(args.dry_run),
        "deleted_runs": plan.delete,
        "kept_runs": plan.kept,
        "protected": [{"run_id": r, "reason": why} for r, why in sorted(plan.protected.items())],
        "experiments": plan.experiments,
        "snapshots": snapshots,
        "freed": {
            "runs_bytes": runs_bytes,
            "chunks": chunks["chunks"],
            "chunk_bytes": chunks["bytes"],
            "bytes": runs_bytes + chunks["bytes"],
        },
    }
    _print(report, args.json)
    return 0


def _delete_snapshots(store: Any, snapshots: list[str]) -> dict[str, int]:
    from ..snapshots import SnapshotStore

    engine = SnapshotStore(store)
    if snapshots:
        engine.delete(snapshots)
    swept = engine.sweep()
    return {"chunks": int(swept["chunks"]), "bytes": int(swept["bytes"])}


def _print(report: dict[str, Any], as_json: bool) -> None:
    from .snapshots import human

    if as_json:
        json.dump(report, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    verb = "would delete" if report["dry_run"] else "deleted"
    freed = report["freed"]
    print(
        f"{verb} {len(report['deleted_runs'])} run(s), {len(report['snapshots'])} snapshot(s), "
        f"{freed['chunks']} chunk(s): {human(freed['bytes'])} "
        f"(runs {human(freed['runs_bytes'])}, chunks {human(freed['chunk_bytes'])}); {report['kept_runs']} run(s) kept"
    )
    for p in report["protected"]:
        print(f"  kept {p['run_id']}: {p['reason']}")
    for run_id in report["deleted_runs"]:
        print(f"  {'-' if not report['dry_run'] else '?'} {run_id}")
