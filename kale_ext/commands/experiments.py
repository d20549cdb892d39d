"""`kale-ext experiments list [--notebook NB] [--json]` and `kale-ext experiments show ID [--json]`: tuning history.

The store is found as for `kale-ext runs` ($KALE_EXT_HOME, else ./.kale; ``--notebook NB`` the one beside that
notebook; ``--store DIR``). Experiments whose driving process died are shown "interrupted". An experiment created on a
cluster (runner "katib") is refreshed from it (kale_ext.tuning.katib_submit.refresh) before it is shown.
``--json``: list prints {"experiments": [...]}, show prints the experiment dict.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("experiments", help="list or show tuning experiments and their trials")
    es = p.add_subparsers(dest="experiments_command", metavar="ACTION", parser_class=type(p))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--notebook", help="use the store beside this notebook (list: only its experiments)")
    common.add_argument("--store", help="store folder (default: $KALE_EXT_HOME or ./.kale)")
    common.add_argument("--json", action="store_true")
    lp = es.add_parser("list", parents=[common], help="experiments, newest first")
    lp.set_defaults(execute=execute_list)
    sp = es.add_parser("show", parents=[common], help="one experiment: its trials, best trial, why it stopped")
    sp.add_argument("experiment_id")
    sp.set_defaults(execute=execute_show)
    p.set_defaults(execute=lambda args: (p.print_help(sys.stderr), 2)[1])


def open_store(args: argparse.Namespace):
    from .runs import open_store as open_run_store

    store = open_run_store(args)
    store.recover_interrupted_experiments()
    return store


def refreshed(store, experiment: dict[str, Any]) -> dict[str, Any]:
    """A Katib experiment as the cluster reports it now; a local one as recorded."""
    if experiment["runner"] != "katib":
        return experiment
    from ..tuning import katib_submit

    return katib_submit.refresh(store, experiment)


def execute_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    experiments = store.list_experiments(args.notebook)
    if args.json:
        json.dump({"experiments": experiments}, sys.stdout)
        sys.stdout.write("\n")
        return 0
    if not experiments:
        print("no experiments")
        return 0
    print(f"{'EXPERIMENT':<30} {'STATUS':<11} {'TRIALS':>7} {'BEST':>12}  {'CREATED':<19}  NOTEBOOK")
    for e in experiments:
        done = sum(t["status"] in ("succeeded", "failed") for t in e["trials"])
        best = e["best"]["objective"] if e["best"] else None
        print(
            f"{e['experiment_id']:<30} {e['status']:<11} {f'{done}/' + str(e['spec'].get('maxTrialCount')):>7} "
            f"{_fmt(best):>12}  {_time(e['created']):<19}  {e['notebook']}"
        )
    return 0


def execute_show(args: argparse.Namespace) -> int:
    store = open_store(args)
    experiment = refreshed(store, store.get_experiment(args.experiment_id))
    if args.json:
        json.dump(experiment, sys.stdout)
        sys.stdout.write("\n")
        return 0
    spec = experiment["spec"]
    objective = spec["objective"]
    print(f"experiment {experiment['experiment_id']}  {experiment['status']}  ({experiment['runner']})")
    print(f"notebook   {experiment['notebook']}")
    print(
        f"objective  {objective['type']} {objective['objectiveMetricName']}"
        + (f" (goal {objective['goal']})" if objective.get("goal") is not None else "")
        + f"; algorithm {spec['algorithm']['algorithmName']}; parallel {spec['parallelTrialCount']}, max "
        f"{spec['maxTrialCount']} trials, max failed {spec['maxFailedTrialCount']}"
        + (f"; seed {spec['seed']}" if spec.get("seed") is not None else "")
    )
    if experiment.get("reason"):
        print(f"stopped    {experiment['reason']}")
    if experiment.get("error"):
        print(f"error      {experiment['error']}")
    if experiment.get("automl"):
        automl = experiment["automl"]
        families = ", ".join(f"{k}={_fmt(v)}" for k, v in automl["families"].items())
        print(f"automl     best family {automl['best_family']} ({families})")
    best = experiment.get("best")
    if best:
        values = " ".join(f"{k}={_fmt(v)}" for k, v in best["parameters"].items())
        print(f"best       trial {best['trial']}: {_fmt(best['objective'])}  {values}  (run {best['run_id']})")
    print(f"\n{'TRIAL':>5} {'STATUS':<11} {'OBJECTIVE':>12}  {'RUN':<24} PARAMETERS")
    for t in experiment["trials"]:
        values = " ".join(f"{k}={_fmt(v)}" for k, v in t["parameters"].items())
        stage = f"[{t['stage']}] " if t.get("stage") else ""
        print(f"{t['trial']:>5} {t['status']:<11} {_fmt(t['objective']):>12}  {t['run_id'] or '-':<24} {stage}{values}")
    return 0


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _time(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"
