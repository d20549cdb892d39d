"""`kale-ext runs list|show|logs|resume|cancel|reproduce`: the run history, of local and Kubeflow Pipelines runs alike.

``reproduce`` (reproduce.py) reruns a run in a restored copy of its workspace snapshot and compares the metrics.

The store is ``$KALE_EXT_HOME`` if set, else ``.kale/`` in the current folder; ``--notebook NB`` selects the store beside
that notebook (and, for ``list``, only its runs); ``--store DIR`` names a store folder directly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING

from ..errors import NotFoundError

if TYPE_CHECKING:
    from ..runners.base import Runner


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list, show, follow the logs of, resume or cancel runs")
    rs = p.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=type(p))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--notebook", help="use the store beside this notebook")
    common.add_argument("--store", help="store folder (default: $KALE_EXT_HOME or ./.kale)")

    lp = rs.add_parser("list", parents=[common], help="runs, newest first")
    lp.add_argument("--json", action="store_true")
    lp.add_argument("--limit", type=int, default=50)
    lp.set_defaults(execute=execute_list)

    sp = rs.add_parser("show", parents=[common], help="one run: steps, timings, errors, metrics")
    sp.add_argument("run_id")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(execute=execute_show)

    gp = rs.add_parser("logs", parents=[common], help="a step's stdout and stderr")
    gp.add_argument("run_id")
    gp.add_argument("step")
    gp.add_argument("--follow", "-f", action="store_true", help="keep printing until the step ends")
    gp.set_defaults(execute=execute_logs)

    up = rs.add_parser("resume", parents=[common], help="continue an interrupted, failed or cancelled run")
    up.add_argument("run_id")
    up.add_argument("--json", action="store_true")
    up.set_defaults(execute=execute_resume)

    cp = rs.add_parser("cancel", parents=[common], help="cancel a run (local, or terminate it on Kubeflow Pipelines)")
    cp.add_argument("run_id")
    cp.add_argument("--json", action="store_true")
    cp.set_defaults(execute=execute_cancel)

    from . import reproduce

    reproduce.add_parser(rs, common)
    p.set_defaults(execute=lambda args: (p.print_help(sys.stderr), 2)[1])


def open_store(args: argparse.Namespace):
    from ..store import Store, store_dir_for

    if args.store:
        folder = args.store
    elif args.notebook:
        folder = store_dir_for(args.notebook)
    else:
        folder = store_dir_for(os.path.join(os.getcwd(), "_"))
    if not os.path.exists(os.path.join(folder, "kale.db")):
        raise NotFoundError(
            f"No run store at {folder} (run a notebook first, or pass --store/--notebook).", code="store.not_found"
        )
    store = Store(folder)
    store.recover_interrupted("local")  # these are the local runner's runs: show the dead ones as interrupted
    return store


def _fmt_time(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def execute_list(args: argparse.Namespace) -> int:
    runs = open_store(args).list_runs(args.notebook, limit=args.limit)
    if args.json:  # a list of the RunSummary models GET /kale/v1/runs answers
        from ..api.codec import to_builtins
        from ..api.convert import run_list

        json.dump(to_builtins(run_list(runs).runs), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for r in runs:
        steps = " ".join(f"{k}={v}" for k, v in sorted(r["steps"].items()))
        dur = f"{r['duration_s']:.1f}s" if r["duration_s"] is not None else "-"
        print(
            f"{r['run_id']}  {r['status']:<11} {r['runner']:<5} {_fmt_time(r['created'])}  {dur:>8}  "
            f"{os.path.basename(r['notebook'])}  {steps}"
        )
    if not runs:
        print("no runs", file=sys.stderr)
    return 0


def execute_show(args: argparse.Namespace) -> int:
    run = open_store(args).get_run(args.run_id)
    if args.json:  # the Run model of GET /kale/v1/runs/RUN_ID
        from ..api.codec import to_builtins
        from ..api.convert import run_from_record

        json.dump(to_builtins(run_from_record(run)), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(f"run {run['run_id']}: {run['status']}  ({run['notebook']})")
    print(f"  created {_fmt_time(run['created'])}, duration {run['duration_s']} s")
    if run["runner"] != "local":
        print(f"  on {run['runner']} as {run['external_id']}: {run['options'].get('external_url')}")
    for vs in run["options"].get("volume_snapshots") or []:
        print(f"  workspace PVC {vs['pvc']}: VolumeSnapshot {vs['namespace']}/{vs['volume_snapshot']}")
    if run["resumed_from"]:
        print(f"  resumed from {run['resumed_from']}")
    if run.get("snapshot_id"):
        print(f"  workspace snapshot {run['snapshot_id']}")
    if run["parameters"]:
        print("  parameters: " + ", ".join(f"{k}={v!r}" for k, v in run["parameters"].items()))
    for s in run["steps"]:
        dur = f"{s['duration_s']:.2f}s" if s["duration_s"] is not None else "-"
        line = f"  {s['name']:<24} {s['status']:<10} {dur:>8}"
        if s["cached"]:
            line += f"  (outputs of run {s['cached_from']})"
        if s["error"]:
            line += f"  {s['error']['message']}"
        print(line)
    if run["metrics"]:
        print("  metrics: " + ", ".join(f"{k}={v}" for k, v in run["metrics"].items()))
    if run["error"]:
        print(f"  {run['error']}")
    return 0


def execute_cancel(args: argparse.Namespace) -> int:
    """Cancel through the backend that owns the run: a local run's driver process, or the KFP run (terminated)."""
    store = open_store(args)
    runner_name = store.run_row(args.run_id)["runner"]
    runner: Runner
    if runner_name == "kfp":
        from ..runners.kfp.runner import KfpRunner

        runner = KfpRunner(store, reattach=False)
    else:
        from ..runners.local import LocalRunner

        runner = LocalRunner(store)
    try:
        run = runner.cancel(args.run_id)
    finally:
        runner.close()
    if args.json:
        from ..api.codec import to_builtins
        from ..api.convert import run_from_record

        json.dump(to_builtins(run_from_record(run)), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(f"run {args.run_id}: {run['status']}")
    return 0


def execute_logs(args: argparse.Namespace) -> int:
    from ..runners.local import read_text

    store = open_store(args)
    run = store.get_run(args.run_id)
    step = next((s for s in run["steps"] if s["name"] == args.step), None)
    if step is None:
        names = ", ".join(s["name"] for s in run["steps"])
        raise NotFoundError(f"Run {args.run_id} has no step {args.step!r} (steps: {names}).", code="step.not_found")
    if run["runner"] == "kfp":  # the logs are in the cluster: say where
        from ..runners.kfp.runner import KfpRunner

        sys.stdout.write(KfpRunner(store, reattach=False).read_log(args.run_id, args.step)[0])
        return 0
    offset = 0
    while True:
        text, offset = read_text(step["log_path"], offset)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            continue
        if not args.follow:
            return 0
        status = next(s["status"] for s in store.get_run(args.run_id)["steps"] if s["name"] == args.step)
        if status not in ("queued", "running"):
            text, offset = read_text(step["log_path"], offset)
            sys.stdout.write(text)
            return 0
        time.sleep(0.2)


def execute_resume(args: argparse.Namespace) -> int:
    from ..runners.local import LocalRunner
    from .run import Progress, report_failures, summarize

    runner = LocalRunner(open_store(args))
    run_id = runner.resume(args.run_id, listener=Progress())
    run = runner.wait(run_id)
    report_failures(run)
    if args.json:
        json.dump(summarize(run), sys.stdout)
        sys.stdout.write("\n")
    return 0 if run["status"] == "succeeded" else 1
