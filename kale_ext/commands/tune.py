"""`kale-ext tune NOTEBOOK [--max-trials N] [--parallel N] [--algorithm NAME] [--seed N] [--automl] [--json]
[--resume EXPERIMENT_ID] [--backend local|katib] [--emit FILE] [--namespace NS]`.

Reads the notebook's experiment (Kale's katib_metadata; the flags override its values), validates it (every problem on
one line, exit 2) and runs it locally: trials are pipeline runs of the local runner, parallelTrialCount at a time, with
live progress on stderr (trial, parameters, objective, best so far). SIGTERM or Ctrl+C cancels it cleanly (the
running trials' runs are cancelled); a SIGKILL leaves it "interrupted", and ``--resume EXPERIMENT_ID`` continues it
(``--max-trials``/``--parallel`` may change its counts; a larger --max-trials continues one that reached its budget).
With --json, stdout gets the experiment dict at the end ({"experiment_id", "status", "best", "trials", ...}). Exit 0
when at least one trial succeeded, 1 otherwise, 2 for unusable input. ``--backend katib`` builds a Katib Experiment
instead (kale_ext.tuning.katib_submit.submit).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from typing import Any

from ..errors import KaleError

REASON_SIGNAL = "cancelled: the kale-ext tune process driving it received {}"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tune", help="tune pipeline parameters: trials as parallel local runs (Katib's experiment)")
    p.add_argument("notebook", help="path to a .ipynb file whose metadata holds the experiment (katib_metadata)")
    p.add_argument("--max-trials", type=int, metavar="N", help="maxTrialCount (default: the notebook's, else 12)")
    p.add_argument("--parallel", type=int, metavar="N", help="parallelTrialCount (default: the notebook's, else 3)")
    p.add_argument("--algorithm", metavar="NAME", help="random, grid, bayesianoptimization or tpe")
    p.add_argument("--seed", type=int, metavar="N", help="random seed of the algorithm: the experiment reproduces")
    p.add_argument("--automl", action="store_true", help="run every model family once, then tune the best one")
    p.add_argument("--json", action="store_true", help="print the experiment as one JSON object at the end")
    p.add_argument(
        "--resume",
        metavar="EXPERIMENT_ID",
        help="continue an interrupted or cancelled experiment (with a larger --max-trials, also a finished one)",
    )
    k = p.add_argument_group("Katib (--backend katib)")
    k.add_argument("--backend", choices=("local", "katib"), default="local", help="where the trials run")
    k.add_argument("--emit", metavar="FILE", help="write the Katib Experiment manifest to FILE instead of creating it")
    k.add_argument("--namespace", metavar="NS", help="the Kubernetes namespace of the Experiment")
    k.add_argument(
        "--image",
        metavar="IMAGE",
        help="the trial container's image (default: the notebook's kale_ext.katib.image, else Kale's docker_image)",
    )
    p.set_defaults(execute=execute)


class TrialProgress:
    """One line per trial event on stderr: when it starts, and when it ends with its objective and the best so far."""

    def __init__(self, metric: str, stream=None) -> None:
        self.metric = metric
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = time.time()

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("event") != "trial":
            return
        values = " ".join(f"{k}={_fmt(v)}" for k, v in event["parameters"].items())
        line = f"[{time.time() - self.t0:7.2f}s] trial {event['trial']:<3} {event['status']:<9} {values}"
        if event["status"] not in ("running", "pending"):
            if event.get("objective") is not None:
                line += f"  {self.metric}={_fmt(event['objective'])}"
            if event.get("error"):
                line += f"  ({event['error']})"
            best = event.get("best")
            if best is not None:
                line += f"  best: {self.metric}={_fmt(best['objective'])} (trial {best['trial']})"
        self.stream.write(line + "\n")
        self.stream.flush()


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def execute(args: argparse.Namespace) -> int:
    katib_only = [f"--{n}" for n in ("emit", "namespace", "image") if getattr(args, n)]
    if args.backend == "local" and katib_only:
        raise KaleError(f"{', '.join(katib_only)} apply to --backend katib only.")
    if args.resume:
        given = [f"--{n}" for n in ("algorithm", "seed") if getattr(args, n) is not None]
        if given or args.automl or args.backend != "local":
            raise KaleError(
                "--resume continues the experiment as it was recorded (only --max-trials and --parallel may change); "
                f"{', '.join(given) or '--automl/--backend'} cannot change it. Fix: leave them out, or start a new "
                "experiment."
            )
    from ..tuning.experiment import load_pipeline
    from ..tuning.spec import notebook_experiment

    nb, pipeline = load_pipeline(args.notebook)
    if args.backend == "katib":
        return _katib(args, nb, pipeline)
    if pipeline.has_errors:
        first = next(d for d in pipeline.diagnostics if d.severity == "error")
        raise KaleError(f"The notebook has analysis errors; first: {first.message}. Fix them before tuning.")
    spec = None
    if not args.resume:
        spec = notebook_experiment(
            nb, pipeline, max_trials=args.max_trials, parallel=args.parallel, algorithm=args.algorithm, seed=args.seed
        )
    return _local(args, pipeline, spec)


def _katib(args: argparse.Namespace, nb: dict[str, Any], pipeline) -> int:
    from ..tuning import katib_submit
    from ..tuning.spec import notebook_experiment

    spec = notebook_experiment(
        nb,
        pipeline,
        backend="katib",
        max_trials=args.max_trials,
        parallel=args.parallel,
        algorithm=args.algorithm,
        seed=args.seed,
    )
    return int(katib_submit.submit(args, args.notebook, spec, pipeline))


def _local(args: argparse.Namespace, pipeline, spec) -> int:
    from ..runners.local import LocalRunner
    from ..tuning.experiment import Tuner

    # Trial runs record SIGTERM as their cancel signal: a cancel from the Jupyter server cancels this experiment.
    runner = LocalRunner(cancel_signal="SIGTERM")
    tuner = Tuner(runner)
    state: dict[str, Any] = {"id": None, "signal": None}

    def on_signal(signum, frame) -> None:
        name = signal.Signals(signum).name
        if state["signal"] is None:
            state["signal"] = name
            sys.stderr.write(f"kale-ext: {name} received; cancelling the experiment...\n")
        if state["id"] is not None:
            tuner.request_cancel(state["id"], REASON_SIGNAL.format(name))

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        if args.resume:
            tuner.store_for(args.notebook)
            metric = tuner.get(args.resume)["spec"]["objective"]["objectiveMetricName"]
            eid = tuner.resume(
                args.resume, listener=TrialProgress(metric), max_trials=args.max_trials, parallel=args.parallel
            )
        else:
            eid = tuner.start(
                args.notebook,
                spec,
                listener=TrialProgress(spec.objective.metric),
                automl=args.automl,
                pipeline=pipeline,
            )
        state["id"] = eid
        sys.stderr.write(f"experiment {eid} {'resumed' if args.resume else 'started'}\n")
        if state["signal"] is not None:
            tuner.request_cancel(eid, REASON_SIGNAL.format(state["signal"]))
        experiment = tuner.wait(eid, timeout=0.2)
        while experiment["status"] == "running":  # short waits: the signal handlers run between them
            experiment = tuner.wait(eid, timeout=0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        tuner.close()
        runner.close()
    return finish(experiment, args.json)


def finish(experiment: dict[str, Any], as_json: bool) -> int:
    trials = experiment["trials"]
    if as_json:
        json.dump(experiment, sys.stdout)
        sys.stdout.write("\n")
    else:
        counts: dict[str, int] = {}
        for t in trials:
            counts[t["status"]] = counts.get(t["status"], 0) + 1
        metric = experiment["spec"]["objective"]["objectiveMetricName"]
        line = (
            f"experiment {experiment['experiment_id']} {experiment['status']}"
            + (f" ({experiment['reason']})" if experiment.get("reason") else "")
            + f": {len(trials)} trials ("
            + ", ".join(f"{n} {k}" for k, n in counts.items())
            + ")"
        )
        best = experiment.get("best")
        if best is not None:
            values = " ".join(f"{k}={_fmt(v)}" for k, v in best["parameters"].items())
            line += f"; best trial {best['trial']}: {metric}={_fmt(best['objective'])} {values} (run {best['run_id']})"
        if experiment.get("automl") and experiment["automl"].get("best_family"):
            line += f"; best family {experiment['automl']['best_family']}"
        if experiment.get("error"):
            line += f"; error: {experiment['error']}"
        sys.stderr.write(line + "\n")
    return 0 if any(t["status"] == "succeeded" for t in trials) else 1
