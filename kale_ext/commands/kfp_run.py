"""`kale-ext run NOTEBOOK --backend kfp [--host URL] [--experiment NAME] [--namespace NS] [--detach]
[--snapshot-pvc PVC] [--snapshot-timeout SECONDS]`.

Submits the pipeline to Kubeflow Pipelines with the KfpRunner (the run is recorded in the same store as local runs) and,
unless --detach, watches it with the same per-step progress lines as a local run; the exit code is then that of a local
run (0 succeeded, 1 failed or cancelled). Ctrl+C stops watching without cancelling the KFP run (``kale-ext runs cancel
RUN_ID`` does). With --snapshot-pvc (or the notebook's snapshot_volumes), the workspace claim is snapshotted first and
the VolumeSnapshot's name is printed with the submission line (and in the JSON). Faults (the kfp extra missing, the
host unreachable, credentials refused, no snapshot class for the claim's driver, ...) are one line, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..pipeline.model import Pipeline
from ..runners.base import RunOptions


def execute_kfp(args: argparse.Namespace, pipeline: Pipeline, options: RunOptions) -> int:
    from ..runners.kfp.runner import KfpRunner
    from .run import Progress, finish, volume_snapshots_of

    names = ("host", "experiment", "namespace", "snapshot_pvc", "snapshot_timeout")
    overrides: dict[str, Any] = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    runner = KfpRunner(reattach=False, **overrides)
    if args.detach:
        run_id = runner.start(pipeline, args.notebook, options, listener=Progress())
        runner.close()
        run = runner.get_run(run_id)
        _announce(run)
        if args.json:
            json.dump(
                {
                    "run_id": run_id,
                    "status": run["status"],
                    "runner": "kfp",
                    "external_id": run["external_id"],
                    "external_url": run["options"]["external_url"],
                    **volume_snapshots_of(run),
                },
                sys.stdout,
            )
            sys.stdout.write("\n")
        return 0
    progress = Progress()
    run_id = runner.start(pipeline, args.notebook, options, listener=progress)
    _announce(runner.get_run(run_id))
    try:
        run = runner.wait(run_id)
    except KeyboardInterrupt:
        sys.stderr.write(f"kale-ext: stopped watching; the KFP run goes on (kale-ext runs cancel {run_id})\n")
        raise
    finally:
        runner.close()
    return finish(run, args.json)


def _announce(run: dict[str, Any]) -> None:
    sys.stderr.write(
        f"run {run['run_id']} submitted to Kubeflow Pipelines as {run['external_id']}: {run['options']['external_url']}\n"
    )
    for s in run["options"].get("volume_snapshots") or []:
        sys.stderr.write(
            f"workspace PVC {s['pvc']} snapshotted as VolumeSnapshot {s['namespace']}/{s['volume_snapshot']}; the steps "
            f"mount a PVC restored from it ({s['size']}) at {s['mount_point']}\n"
        )
