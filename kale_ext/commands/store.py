"""`kale-ext store info|verify`: what the run store holds, and whether it is intact.

``info [--json]``: {"folder", "categories": {category: {"bytes", "files"}}, "total": {"bytes", "files"}, "counts":
{table: rows}, "snapshot_store": the snapshot engine's own figures} (kale_ext.store.usage: the categories add up to
the total). ``verify [--json]``: {"healthy", "snapshots": [{"snapshot_id", "path", "chunk", "problem"}], "artifacts":
[{"run_id", "step", "name", "path", "problem"}], "artifacts_checked"}; exit 0 when healthy, 1 when it found damage, 2
for unusable input (no store).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="the run store's size by category, and a check of its contents")
    ss = p.add_subparsers(dest="store_command", metavar="ACTION", parser_class=type(p))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", help="store folder (default: $KALE_EXT_HOME or ./.kale)")
    common.add_argument("--notebook", help="use the store beside this notebook")
    common.add_argument("--json", action="store_true", help="print one JSON object")
    ss.add_parser("info", parents=[common], help="size by category and record counts").set_defaults(
        execute=execute_info
    )
    ss.add_parser(
        "verify", parents=[common], help="check every snapshot chunk and run artifact (exit 1 on damage)"
    ).set_defaults(execute=execute_verify)
    p.set_defaults(execute=lambda args: (p.print_help(sys.stderr), 2)[1])


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=1)
    sys.stdout.write("\n")


def execute_info(args: argparse.Namespace) -> int:
    from ..snapshots import SnapshotStore
    from ..store.usage import CATEGORIES, disk_usage, record_counts
    from .runs import open_store
    from .snapshots import human

    store = open_store(args)
    usage = disk_usage(store.folder)
    info = {
        "folder": store.folder,
        "categories": {c: usage[c] for c in CATEGORIES},
        "total": usage["total"],
        "counts": record_counts(store),
        "snapshot_store": SnapshotStore(store).sizes(),
    }
    if args.json:
        _print_json(info)
        return 0
    print(f"store {info['folder']}: {human(info['total']['bytes'])} in {info['total']['files']} files")
    for name, figure in info["categories"].items():
        print(f"  {name:<18} {human(figure['bytes']):>10}  {figure['files']:>7} files")
    print("  " + ", ".join(f"{n} {t}" for t, n in info["counts"].items()))
    return 0


def execute_verify(args: argparse.Namespace) -> int:
    from ..snapshots import SnapshotStore
    from ..store.usage import verify_artifacts
    from .runs import open_store

    store = open_store(args)
    snapshot_damage = SnapshotStore(store).verify()
    artifact_damage, checked = verify_artifacts(store)
    healthy = not snapshot_damage and not artifact_damage
    report = {
        "healthy": healthy,
        "snapshots": snapshot_damage,
        "artifacts": artifact_damage,
        "artifacts_checked": checked,
    }
    if args.json:
        _print_json(report)
    else:
        for d in snapshot_damage:
            print(
                f"snapshot {d['snapshot_id']}: {d['path']}: {d['problem']}"
                + (f" (chunk {d['chunk']})" if d.get("chunk") else "")
            )
        for d in artifact_damage:
            print(f"run {d['run_id']} step {d['step']} artifact {d['name']} ({d['path']}): {d['problem']}")
        print(
            ("healthy" if healthy else f"DAMAGED: {len(snapshot_damage) + len(artifact_damage)} problem(s)")
            + f" ({checked} artifact file(s) checked)",
            file=sys.stdout if healthy else sys.stderr,
        )
    return 0 if healthy else 1
