"""What runs inside a KFP task: the body of every compiled component calls ``run_step``.

``run_step`` runs the project's own step program for the step (``kale_ext.steps.program.render_program`` executed as
``python step.py --job JOB.json``, exactly as the local runner runs it), with the step's spec embedded in the component.
It maps KFP's world onto the step program's job file: parameter values become Python literals, each input artifact is a
directory holding one serialized variable and its manifest entry, each output variable is written into its output
artifact's directory the same way, and the step's pipeline metrics are logged to the component's Metrics artifact.

Runs in the task's image: stdlib + kale_ext only (the artifacts are kfp objects, used through ``.path``, ``.metadata``
and ``log_metric``; kfp itself is not imported). Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

ENTRY_FILE = "kale_entry.json"  # the manifest entry of the variable held by an artifact directory


class StepFailedError(RuntimeError):
    """The step program failed: the task fails with the error of the user's code (cell and line included)."""


def run_step(
    spec: dict[str, Any],
    *,
    parameters: dict[str, Any],
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    metrics: Any = None,
    tuples: tuple[str, ...] = (),
    workdir: str | None = None,
) -> None:
    """``parameters``: variable -> value; ``inputs`` / ``outputs``: variable -> kfp Artifact; ``tuples``: parameters
    whose notebook default is a tuple (KFP carries them as lists); ``workdir``: the folder the step runs in, as the
    local runner runs it in the notebook's folder (Kale's ``abs_working_dir`` setting, on a mounted volume)."""
    from ...steps.program import render_program
    from ...steps.spec import StepSpec

    work = tempfile.mkdtemp(prefix="kale-step-")
    try:
        job = {
            "parameters": {n: repr(tuple(v) if n in tuples else v) for n, v in parameters.items()},
            "inputs": share_groups({n: read_entry(a.path) for n, a in inputs.items()}),
            "output_dir": os.path.join(work, "outputs"),
            "result": os.path.join(work, "result.json"),
        }
        program = os.path.join(work, "step.py")
        with open(program, "w") as f:
            f.write(render_program(StepSpec.from_json(spec), "step.py"))
        with open(os.path.join(work, "job.json"), "w") as f:
            json.dump(job, f)
        sys.stdout.flush()
        if workdir and not os.path.isdir(workdir):
            print(f"kale-ext: the working folder {workdir} does not exist in this task; running in {os.getcwd()}")
            workdir = None
        argv = [sys.executable, program, "--job", os.path.join(work, "job.json")]
        code = subprocess.run(argv, cwd=workdir).returncode
        result = _read_result(str(job["result"]), code)
        if result.get("status") != "succeeded":
            error = result.get("error") or {}
            where = f" (notebook cell {error['cell']}, line {error['line']})" if error.get("cell") is not None else ""
            raise StepFailedError(f"step {spec['name']!r} failed{where}: {error.get('message', 'no result')}")
        for name, artifact in outputs.items():
            write_entry(artifact, result["outputs"][name])
        if metrics is not None:
            log_metrics(metrics, result.get("metrics") or {})
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _read_result(path: str, code: int) -> dict[str, Any]:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"status": "failed", "error": {"message": f"the step program exited with code {code} and no result"}}


def read_entry(directory: str) -> dict[str, Any]:
    """The manifest entry of an input artifact, its file path made absolute in this task's file system."""
    with open(os.path.join(directory, ENTRY_FILE)) as f:
        entry = json.load(f)
    entry["path"] = os.path.join(directory, entry["path"])
    return entry


def share_groups(entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Names saved as one object graph (a shared-output group) arrive as copies of one file, one per artifact; pointing
    them at one copy makes the step program load the graph once, so the objects they share stay shared."""
    from ...marshal.registry import GROUP_SERIALIZER

    first: dict[str, str] = {}
    for entry in entries.values():
        if entry["serializer"] == GROUP_SERIALIZER:
            entry["path"] = first.setdefault(entry["hash"], entry["path"])
    return entries


def write_entry(artifact: Any, entry: dict[str, Any]) -> None:
    """Copy one saved variable into its output artifact's directory, with its manifest entry (path made relative)."""
    os.makedirs(artifact.path, exist_ok=True)
    filename = os.path.basename(entry["path"])
    shutil.copyfile(entry["path"], os.path.join(artifact.path, filename))
    with open(os.path.join(artifact.path, ENTRY_FILE), "w") as f:
        json.dump({**entry, "path": filename}, f)
    artifact.metadata.update({k: entry[k] for k in ("serializer", "type", "hash", "size")})


def log_metrics(metrics: Any, values: dict[str, Any]) -> None:
    """Numbers go to the Metrics artifact (the KFP UI compares runs by them); other values are reported, not dropped.

    The numbers are also written as JSON into the artifact's file: KFP keeps a Metrics artifact's values only in ML
    Metadata, which its REST API does not serve, while the file is uploaded to the pipeline root like any artifact
    and can be downloaded through the API (GET /apis/v2beta1/artifacts/ID?view=DOWNLOAD). A Katib trial reads the
    run's metrics that way (kale_ext.tuning.katib_trial)."""
    numbers: dict[str, int | float] = {}
    for name, value in sorted(values.items()):
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int | float):
            metrics.log_metric(name, value)
            numbers[name] = value
        else:
            print(
                f"kale-ext: metric {name!r} is not a number ({value!r}); KFP metrics hold numbers only", file=sys.stderr
            )
    path = getattr(metrics, "path", None)
    if path:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            json.dump(numbers, f, allow_nan=True)
