"""`kale-ext runs reproduce RUN_ID [--to DIR] [--json]`: rerun a run in a restored copy of its workspace.

Restores the run's workspace snapshot (and so its notebook) into DIR (empty or new) or a fresh folder in the store,
reruns it there with the same parameters and without the cache, and compares the metrics (kale_ext.runners.reproduce).
Prints {"run_id", "original_run_id", "folder", "metrics_match", "differences", ...} with --json. Exit 0 when the
metrics match, 1 when they differ (or the rerun failed), 2 for unusable input: an unknown run, a run without a
snapshot, a non-empty target, a damaged snapshot (the file named).
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = actions.add_parser(
        "reproduce", parents=[common], help="rerun a run in a restored copy of its workspace; compare the metrics"
    )
    p.add_argument("run_id")
    p.add_argument("--to", metavar="DIR", help="an empty or new folder (default: a new folder in the store)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from ..runners.reproduce import reproduce
    from .run import Progress, report_failures
    from .runs import open_store

    store = open_store(args)
    result = reproduce(store, args.run_id, args.to, listener=Progress())
    if result["status"] != "succeeded":
        report_failures(store.get_run(result["run_id"]))
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        verdict = "metrics match" if result["metrics_match"] else "metrics DIFFER"
        print(f"run {result['run_id']} reproduced {result['original_run_id']} in {result['folder']}: {verdict}")
        for d in result["differences"]:
            print(f"  {d['metric']}: original {d['original']!r}, reproduced {d['reproduced']!r}")
        if result["status"] != "succeeded":
            print(f"  the rerun {result['status']}" + (f": {result['error']}" if result["error"] else ""))
    return 0 if result["metrics_match"] else 1
