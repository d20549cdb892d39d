"""`kale-ext run NOTEBOOK [--param NAME=VALUE ...] [--max-parallel N] [--no-cache] [--fail-fast] [--json]
[--backend local|kfp] [--host URL] [--experiment NAME] [--namespace NS] [--detach] [--snapshot-pvc PVC]
[--snapshot-timeout SECONDS]`.

Analyzes the notebook, runs its pipeline with the LocalRunner (or, with ``--backend kfp``, on Kubeflow Pipelines: see
kfp_run.py) and prints live per-step progress on stderr. Exit 0 only
when the run succeeded, 1 when it failed or was cancelled (Ctrl+C; or SIGTERM, which the Jupyter server's cancel of this
run sends after checking that this process is the run's recorded driver), 2 for unusable input (raised as a KaleError:
bad notebook, unknown --param name, bad value, analysis errors). With --json, stdout gets one JSON object at the end:
{"run_id", "status", "steps": [{"name", "status", "cached", "duration_s"}], "metrics": {}} (its workspace snapshot:
`kale-ext runs show RUN_ID --json`'s "snapshot_id"). Every run records a snapshot of its workspace before its first step
unless --no-snapshot [a flag of both backends] (see kale_ext.runners.workspace).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import Any

from ..errors import KaleError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a notebook's pipeline on this machine (steps in parallel, cached)")
    p.add_argument("notebook", help="path to a .ipynb file")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline parameter (repeatable); VALUE is a Python literal of the parameter's type, "
        "anything else is taken as text (for a str parameter MODE=boom and MODE=\"'boom'\" both give boom)",
    )
    p.add_argument(
        "--max-parallel",
        type=int,
        default=None,
        metavar="N",
        help=f"steps running at once (default: the CPU count, {os.cpu_count()})",
    )
    p.add_argument("--no-cache", action="store_true", help="re-execute every step, even unchanged ones")
    p.add_argument("--fail-fast", action="store_true", help="cancel the other branches as soon as a step fails")
    p.add_argument(
        "--no-snapshot",
        action="store_true",
        help="take no snapshot of the workspace (the notebook's folder) for this run: it cannot be restored or "
        "reproduced later",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object with the result at the end")
    k = p.add_argument_group("Kubeflow Pipelines (--backend kfp; needs pip install 'kale-ext[kfp]')")
    k.add_argument("--backend", choices=("local", "kfp"), default="local", help="where the pipeline runs")
    k.add_argument("--host", metavar="URL", help="the KFP API (default: $KF_PIPELINES_ENDPOINT)")
    k.add_argument("--experiment", metavar="NAME", help="the KFP experiment (created if missing; default kale-ext)")
    k.add_argument("--namespace", metavar="NS", help="the Kubernetes namespace of the run (multi-user KFP)")
    k.add_argument("--detach", action="store_true", help="print the run and return once KFP accepted it")
    k.add_argument(
        "--snapshot-pvc",
        metavar="PVC",
        help="snapshot this workspace PVC (CSI VolumeSnapshot) before submitting; the steps mount a PVC restored "
        "from it (default: the notebook's snapshot_volumes setting)",
    )
    k.add_argument(
        "--snapshot-timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for the VolumeSnapshot to be ready to use (default 300)",
    )
    p.set_defaults(execute=execute)


def load_pipeline(notebook: str):
    """The analyzed pipeline of a notebook file (KaleError when the file is not a usable notebook)."""
    from ..analysis import analyze
    from ..notebook import load_notebook, pipeline_name_for

    return analyze(load_notebook(notebook), name=pipeline_name_for(notebook))


class Progress:
    """Per-step progress lines on stderr, prefixed with the time since the run started."""

    def __init__(self, stream=None) -> None:
        self.stream = stream if stream is not None else sys.stderr  # looked up now, not when the module loaded
        self.t0 = time.time()

    def __call__(self, event: dict[str, Any]) -> None:
        elapsed = f"[{time.time() - self.t0:6.2f}s]"
        if event.get("event") == "step":
            status = event["status"]
            extra = ""
            if status in ("succeeded", "failed") and event.get("duration_s") is not None:
                extra = f"  {event['duration_s']:.2f}s"
            if status == "failed" and event.get("error"):
                extra += f"  {event['error'].get('message', '')}"
            self.stream.write(f"{elapsed} {event['step']:<24} {status}{extra}\n")
        elif event.get("event") == "volume_snapshot":  # the KFP backend's workspace snapshot, before the submission
            what = f"VolumeSnapshot {event['namespace']}/{event['volume_snapshot']} of PVC {event['pvc']}"
            if event["status"] == "ready":
                self.stream.write(f"{elapsed} {what} ready to use (restoreSize {event.get('restore_size')})\n")
            else:
                self.stream.write(f"{elapsed} {what} created (class {event['snapshot_class']}), waiting for it\n")
        elif event.get("event") == "run" and event["status"] != "running":
            reason = f"  {event['error']}" if event.get("error") else ""  # e.g. why a KFP run's state is unknown
            self.stream.write(f"{elapsed} run {event['run_id']} {event['status']}{reason}\n")
        self.stream.flush()


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run["run_id"],
        "status": run["status"],
        "steps": [
            {"name": s["name"], "status": s["status"], "cached": s["cached"], "duration_s": s["duration_s"]}
            for s in run["steps"]
        ],
        "metrics": run["metrics"],
        **(
            {
                "runner": run["runner"],
                "external_id": run["external_id"],
                "external_url": run["options"].get("external_url"),
                **volume_snapshots_of(run),
            }
            if run.get("runner", "local") != "local"
            else {}
        ),
    }


def volume_snapshots_of(run: dict[str, Any]) -> dict[str, Any]:
    """{"volume_snapshots": [{"pvc", "volume_snapshot", "namespace", ...}]} when the run's workspace was snapshotted."""
    taken = run["options"].get("volume_snapshots")
    return {"volume_snapshots": taken} if taken else {}


def report_failures(run: dict[str, Any], stream=None) -> None:
    stream = stream if stream is not None else sys.stderr
    for s in run["steps"]:
        if s["status"] != "failed" or not s["error"]:
            continue
        err = s["error"]
        where = f" at cell {err['cell']}, line {err['line']}" if err.get("cell") is not None else ""
        stream.write(f"\nstep {s['name']!r} failed{where}:\n{err.get('traceback') or err.get('message')}")
        stream.write(f"\n(full log: {s['log_path']})\n")


REASON_SIGTERM = "cancelled: the kale-ext run process driving it received SIGTERM"


def execute(args: argparse.Namespace) -> int:
    from ..runners.base import RunOptions
    from ..runners.local import LocalRunner
    from ..runners.params import parse_assignment, parse_value

    texts = dict(parse_assignment(p) for p in args.param)
    if args.max_parallel is not None and args.max_parallel < 1:
        raise KaleError(f"--max-parallel must be at least 1, got {args.max_parallel}.")
    kfp_flags = ("host", "experiment", "namespace", "detach", "snapshot_pvc", "snapshot_timeout")
    kfp_only = [f"--{n.replace('_', '-')}" for n in kfp_flags if getattr(args, n, None) not in (None, False)]
    if args.backend == "local" and kfp_only:
        raise KaleError(f"{', '.join(kfp_only)} apply to --backend kfp only.")
    timeout = getattr(args, "snapshot_timeout", None)
    if timeout is not None and timeout <= 0:
        raise KaleError(f"--snapshot-timeout must be a positive number of seconds, got {timeout:g}.")
    pipeline = load_pipeline(args.notebook)
    options = RunOptions(
        # An unknown name is refused by the runner, with the list of the known ones.
        parameters={name: parse_value(text, pipeline.parameters.get(name)) for name, text in texts.items()},
        max_parallel=args.max_parallel,
        use_cache=not args.no_cache,
        fail_fast=args.fail_fast,
        snapshot=not args.no_snapshot,
    )
    if args.backend == "kfp":
        from .kfp_run import execute_kfp

        return execute_kfp(args, pipeline, options)
    runner = LocalRunner(cancel_signal="SIGTERM")
    progress = Progress()
    state: dict[str, Any] = {"run_id": None, "terminated": False}

    def on_sigterm(signum, frame) -> None:
        # Only asks the driver thread to cancel (no waiting here): the main thread's wait() then returns the
        # cancelled run, reported like any other, exit code 1.
        if not state["terminated"]:
            state["terminated"] = True
            sys.stderr.write("kale-ext: SIGTERM received; cancelling the run...\n")
        if state["run_id"] is not None:
            runner.request_cancel(state["run_id"], REASON_SIGTERM)

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        run_id = runner.start(pipeline, args.notebook, options, listener=progress)
        state["run_id"] = run_id
        if state["terminated"]:  # SIGTERM arrived while the run was being created
            runner.request_cancel(run_id, REASON_SIGTERM)
        try:
            run = runner.wait(run_id)
        except KeyboardInterrupt:
            sys.stderr.write("kale-ext: cancelling the run...\n")
            runner.cancel(run_id)
            raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return finish(run, args.json)


def finish(run: dict[str, Any], as_json: bool) -> int:
    """Report a finished run (failures, then the summary line or the JSON object); the exit code of `kale-ext run`."""
    run_id = run["run_id"]
    report_failures(run)
    if as_json:
        json.dump(summarize(run), sys.stdout)
        sys.stdout.write("\n")
    else:
        counts: dict[str, int] = {}
        for s in run["steps"]:
            counts[s["status"]] = counts.get(s["status"], 0) + 1
        metrics = ", ".join(f"{k}={v}" for k, v in run["metrics"].items())
        sys.stderr.write(
            f"run {run_id} {run['status']} in {run['duration_s'] or 0:.2f} s ("
            + ", ".join(f"{n} {k}" for k, n in counts.items())
            + ")"
            + (f"; metrics: {metrics}" if metrics else "")
            + "\n"
        )
    return 0 if run["status"] == "succeeded" else 1
