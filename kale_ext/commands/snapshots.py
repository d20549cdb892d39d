"""`kale-ext snapshots list|show|diff|restore`: the workspace snapshots every run records (kale_ext.snapshots).

``list [--notebook NB] [--json]``: newest first, ``[{"snapshot_id", "run_ids", "created", "files", "bytes",
"new_bytes", ...}]``. ``show SNAPSHOT [--json]``: that entry and its files ``[{"path", "size", "hash"}]``. ``diff A
[B | --workspace] [--json]``: ``{"added", "removed", "changed"}`` (relative paths) from A to B, or to the live
workspace; with A alone, what A changed since the snapshot of the same folder before it. ``restore SNAPSHOT --to DIR [--force] [--json]``: every file written and verified against its hash; DIR must
be empty, and is never the snapshot's own (live) workspace, unless --force. The store is chosen as for ``kale-ext
runs`` (--store, --notebook, $KALE_EXT_HOME, ./.kale). Unusable input (an unknown snapshot, a non-empty target) exits 2
with one line; a damaged snapshot names the file and exits 2 too (nothing half-verified is reported as restored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from ..errors import KaleError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("snapshots", help="list, show, diff or restore the workspace snapshots of runs")
    ss = p.add_subparsers(dest="snapshots_command", metavar="ACTION", parser_class=type(p))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", help="store folder (default: $KALE_EXT_HOME or ./.kale)")
    common.add_argument("--json", action="store_true", help="print JSON")

    lp = ss.add_parser("list", parents=[common], help="snapshots, newest first")
    lp.add_argument("--notebook", help="only the snapshots of this notebook's runs (and its store)")
    lp.set_defaults(execute=execute_list)

    sp = ss.add_parser("show", parents=[common], help="one snapshot: its files, sizes and runs")
    sp.add_argument("snapshot_id")
    sp.add_argument("--notebook", help="use the store beside this notebook")
    sp.set_defaults(execute=execute_show)

    dp = ss.add_parser("diff", parents=[common], help="files added, removed and changed between two snapshots")
    dp.add_argument("snapshot_id")
    dp.add_argument(
        "other", nargs="?", help="the second snapshot (default: the snapshot of the same folder taken before it)"
    )
    dp.add_argument("--workspace", action="store_true", help="compare with the live workspace instead")
    dp.add_argument("--notebook", help="use the store beside this notebook")
    dp.set_defaults(execute=execute_diff)

    rp = ss.add_parser("restore", parents=[common], help="write a snapshot's files into a folder, verified")
    rp.add_argument("snapshot_id")
    rp.add_argument("--to", required=True, metavar="DIR", help="an empty or new folder")
    rp.add_argument("--force", action="store_true", help="write into a non-empty folder, even the live workspace")
    rp.add_argument("--notebook", help="use the store beside this notebook")
    rp.set_defaults(execute=execute_restore)
    p.set_defaults(execute=lambda args: (p.print_help(sys.stderr), 2)[1])


def snapshot_store(args: argparse.Namespace):
    from ..snapshots import SnapshotStore
    from .runs import open_store

    return SnapshotStore(open_store(args))


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=1)
    sys.stdout.write("\n")


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # unreachable: the loop returns at "GB"


def execute_list(args: argparse.Namespace) -> int:
    notebook = os.path.abspath(args.notebook) if args.notebook else None
    entries = snapshot_store(args).list(notebook)
    if args.json:
        _print_json(entries)
        return 0
    for e in entries:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["created"]))
        runs = ",".join(e["run_ids"]) or "-"
        print(
            f"{e['snapshot_id']}  {created}  {e['files']:>6} files  {human(e['bytes']):>9}  "
            f"+{human(e['new_bytes']):>9} new  runs {runs}"
        )
    if not entries:
        print("no snapshots", file=sys.stderr)
    return 0


def execute_show(args: argparse.Namespace) -> int:
    shown = snapshot_store(args).show(args.snapshot_id)
    if args.json:
        _print_json(shown)
        return 0
    runs = ", ".join(shown["run_ids"]) or "no run"
    print(f"snapshot {shown['snapshot_id']} of {shown['root']} (runs: {runs})")
    print(f"  {len(shown['files'])} files, {human(shown['bytes'])}, {human(shown['new_bytes'])} new in the store")
    for f in shown["files"]:
        print(f"  {human(f['size']):>9}  {f['hash'][:19]}  {f['path']}")
    return 0


def execute_diff(args: argparse.Namespace) -> int:
    if args.workspace and args.other:
        raise KaleError("Give a second snapshot or --workspace, not both.", code="snapshot.diff_args")
    diff = snapshot_store(args).diff(args.snapshot_id, args.other, workspace=args.workspace)
    if args.json:
        _print_json({k: diff[k] for k in ("added", "removed", "changed")})
        return 0
    for mark, key in (("+", "added"), ("-", "removed"), ("M", "changed")):
        for path in diff[key]:
            print(f"{mark} {path}")
    if not any(diff[k] for k in ("added", "removed", "changed")):
        print("no differences", file=sys.stderr)
    return 0


def refuse_live_workspace(root: str | None, target: str, force: bool) -> None:
    """The live workspace is never overwritten by a restore unless --force."""
    if force or not root:
        return
    if os.path.realpath(root) == os.path.realpath(target):
        raise KaleError(
            f"{target} is the snapshot's own workspace: restoring there would overwrite the live files. "
            "Fix: restore into a new folder (--to DIR), or pass --force to overwrite the workspace.",
            code="snapshot.live_workspace",
        )


def execute_restore(args: argparse.Namespace) -> int:
    snapshots = snapshot_store(args)
    shown = snapshots.show(args.snapshot_id)  # an unknown snapshot is refused before anything is written
    target = os.path.abspath(args.to)
    refuse_live_workspace(shown.get("root"), target, args.force)
    result = snapshots.restore(args.snapshot_id, target, force=args.force)
    if args.json:
        _print_json(result)
    else:
        print(
            f"restored snapshot {result['snapshot_id']}: {result['files']} files, {human(result['bytes'])} "
            f"into {result['folder']} (every file verified)"
        )
    return 0
