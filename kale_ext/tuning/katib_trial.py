"""A Katib trial's program: ``python -m kale_ext.tuning.katib_trial --package FILE --sha256 HEX --objective NAME
[--metric NAME ...]``, the primary container of the trial Job that kale_ext.tuning.katib builds.

It reads the compiled pipeline from the mounted ConfigMap (refusing a file whose SHA-256 is not the one the Experiment
was built with), the trial's values from ``KALE_PARAM_<name>`` environment variables (typed by the pipeline's own
input types), creates a Kubeflow Pipelines run of it through kale_ext.runners.kfp (KF_PIPELINES_ENDPOINT, the bearer
token in KF_PIPELINES_SA_TOKEN_PATH, else the pod's service-account token; never printed), waits for it, reads the
run's metrics and prints one ``name=value`` line per metric for Katib's StdOut collector (objective first).

Metrics: KFP's REST API serves no metric values (they live in ML Metadata). The project's step entry also writes them
as JSON into the Metrics artifact's file (kale_ext.runners.kfp.entry.log_metrics), so the trial finds the metrics
artifacts of the run's tasks (``run_details.task_details[].outputs``, keyed by the IR's system.Metrics outputs) and
downloads each through ``GET /apis/v2beta1/artifacts/{id}?view=DOWNLOAD`` (a signed URL of the object store, fetched
without the bearer token).

Exit codes: 0 with the objective printed; 1 when the KFP run did not succeed or reported no objective (Katib counts
the trial as failed); 2 for unusable input. Progress lines go to stderr and never hold '=' (the collector parses every
line of the container's output that contains a metric's name). Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
import urllib.request
from collections.abc import Sequence
from typing import Any

from ..errors import KaleError
from .katib import (
    DEFAULT_KFP_EXPERIMENT,
    DEFAULT_KFP_HOST,
    ENV_KFP_EXPERIMENT,
    ENV_NAMESPACE,
    ENV_PARAMETER_PREFIX,
    ENV_TRIAL_NAME,
)

FINAL = ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED")
TYPES = {"NUMBER_DOUBLE": float, "NUMBER_INTEGER": int, "STRING": str}


class TrialError(KaleError):
    code = "tune.trial"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kale_ext.tuning.katib_trial", description=__doc__.split("\n\n")[0])
    p.add_argument("--package", required=True, help="the compiled pipeline (KFP IR YAML)")
    p.add_argument("--sha256", help="the package's expected SHA-256")
    p.add_argument("--objective", required=True, help="the objective metric")
    p.add_argument("--metric", action="append", default=[], help="an additional metric (repeatable)")
    p.add_argument("--poll-interval", type=float, default=5.0)
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait for the run (default: no limit)")
    return p.parse_args(argv)


def say(text: str) -> None:
    print(f"kale-ext trial: {text.replace('=', ':')}", file=sys.stderr, flush=True)


def read_package(path: str, sha256: str | None) -> tuple[str, list[dict[str, Any]]]:
    import yaml

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise TrialError(f"cannot read the pipeline package {path} ({exc.strerror or exc})") from None
    if sha256 and hashlib.sha256(raw).hexdigest() != sha256:
        raise TrialError(
            f"the pipeline package {path} is not the one this Experiment was built with (its SHA-256 differs): "
            "the ConfigMap was replaced; submit the experiment again"
        )
    text = raw.decode()
    return text, [d for d in yaml.safe_load_all(text) if d]


def trial_values(ir: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """The pipeline's arguments from KALE_PARAM_<name>, typed by the IR's parameterType of each input."""
    inputs = ((ir.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    out: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PARAMETER_PREFIX):
            continue
        name = key[len(ENV_PARAMETER_PREFIX) :]
        if name not in inputs:
            raise TrialError(f"{name} is not an input of the pipeline (its inputs: {', '.join(sorted(inputs))})")
        kind = inputs[name].get("parameterType")
        try:
            out[name] = _typed(kind, raw)
        except ValueError:
            raise TrialError(f"value {raw!r} of {name} is not a {kind}") from None
    return out


def _typed(kind: str, raw: str) -> Any:
    if kind == "NUMBER_INTEGER":
        number = float(raw)
        if not number.is_integer():
            raise ValueError(raw)
        return int(number)
    if kind == "BOOLEAN":
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ValueError(raw)
        return raw.lower() in ("true", "1")
    if kind in ("LIST", "STRUCT"):
        return json.loads(raw)
    return TYPES.get(kind, str)(raw)


def metric_outputs(ir: dict[str, Any]) -> set[str]:
    """The output keys of the IR's system.Metrics artifacts."""
    keys = set()
    for comp in (ir.get("components") or {}).values():
        for key, art in ((comp.get("outputDefinitions") or {}).get("artifacts") or {}).items():
            if ((art.get("artifactType") or {}).get("schemaTitle")) == "system.Metrics":
                keys.add(key)
    return keys


def connect() -> Any:
    from ..runners.kfp.client import connect as kfp_connect
    from ..runners.kfp.runner import ENV_HOST, ENV_TOKEN_PATH, default_token_path

    path = default_token_path()
    token = None
    if path:
        try:
            with open(path) as f:
                token = f.read().strip() or None
        except OSError as exc:
            raise TrialError(f"cannot read the KFP token file {path} ({exc.strerror}); fix {ENV_TOKEN_PATH}") from None
    client = kfp_connect(os.environ.get(ENV_HOST) or DEFAULT_KFP_HOST, token=token, namespace=None)
    if client.multi_user:
        client.namespace = os.environ.get(ENV_NAMESPACE) or None
    return client


def create_run(client: Any, package: str, values: dict[str, Any]) -> str:
    import tempfile

    from ..runners.kfp.submit import experiment_id

    exp_id = experiment_id(client, os.environ.get(ENV_KFP_EXPERIMENT) or DEFAULT_KFP_EXPERIMENT)
    fd, path = tempfile.mkstemp(suffix=".yaml", prefix="kale-trial-")
    with os.fdopen(fd, "w") as f:
        f.write(package)
    try:
        run = client.call(
            client.client.run_pipeline,
            experiment_id=exp_id,
            job_name=os.environ.get(ENV_TRIAL_NAME) or "kale-ext katib trial",
            pipeline_package_path=path,
            params=values,
            what="the creation of the trial's run",
            prints=True,
        )
    finally:
        os.remove(path)
    return str(run.run_id)


def wait(client: Any, run_id: str, poll: float, timeout: float | None) -> Any:
    deadline = None if timeout is None else time.monotonic() + timeout
    state = None
    while True:
        run = client.call(client.client.get_run, run_id, what="the trial run's state")
        if str(run.state) != state:
            state = str(run.state)
            say(f"KFP run {run_id} is {state}")
        if state in FINAL:
            return run
        if deadline is not None and time.monotonic() >= deadline:
            raise TrialError(f"the KFP run {run_id} did not finish within {timeout:g} s")
        time.sleep(poll)


def read_metrics(client: Any, run: Any, keys: set[str]) -> dict[str, float]:
    ids: list[str] = []
    for task in getattr(getattr(run, "run_details", None), "task_details", None) or []:
        for key, artifacts in (getattr(task, "outputs", None) or {}).items():
            if key in keys:
                ids += [i for i in (getattr(artifacts, "artifact_ids", None) or []) if i not in ids]
    if not ids:
        say("the KFP run lists no Metrics artifact among its tasks' outputs; no metric can be read")
    metrics: dict[str, float] = {}
    for artifact_id in ids:
        metrics.update(_download(client, artifact_id))
    return metrics


def _download(client: Any, artifact_id: str) -> dict[str, float]:
    api = client.client._run_api.api_client
    try:
        found = client.call(
            api.call_api,
            "/apis/v2beta1/artifacts/{artifact_id}",
            "GET",
            {"artifact_id": artifact_id},
            [("view", "DOWNLOAD")],
            {"Accept": "application/json"},
            response_type="object",
            auth_settings=["Bearer"],
            _return_http_data_only=True,
            what=f"metrics artifact {artifact_id}",
        )
    except KaleError as exc:
        status = exc.details.get("http_status")
        hint = " (this KFP API has no artifact service; the trial needs KFP 2 with it)" if status == 404 else ""
        say(f"cannot read metrics artifact {artifact_id}{hint}: {exc.message}")
        return {}
    url = (found or {}).get("download_url")
    if not url:
        say(f"metrics artifact {artifact_id} has no download URL (not uploaded); skipped")
        return {}
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # the signed URL: no bearer token
            data = json.loads(response.read() or b"{}")
    except (OSError, ValueError) as exc:  # the object store refused or the file is not the JSON the entry writes
        say(f"cannot download metrics artifact {artifact_id}: {exc}")
        return {}
    if not isinstance(data, dict):
        say(f"metrics artifact {artifact_id} does not hold a JSON object of metrics; skipped")
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def report(objective: str, extra: Sequence[str], metrics: dict[str, float]) -> int:
    """Print the metric lines in Katib's format; 1 when the objective is missing or not finite."""
    code = 0
    for name in [objective, *extra]:
        value = metrics.get(name)
        if value is None or not math.isfinite(value):
            say(f"the run reported no finite value for metric {name}")
            code = 1 if name == objective else code
            continue
        print(f"{name}={value!r}", flush=True)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        package, docs = read_package(args.package, args.sha256)
        values = trial_values(docs[0], dict(os.environ))
        say(f"trial {os.environ.get(ENV_TRIAL_NAME, '?')} with {json.dumps(values)}")
        client = connect()
        run_id = create_run(client, package, values)
        say(f"created KFP run {run_id}")
        run = wait(client, run_id, args.poll_interval, args.timeout)
        if str(run.state) != "SUCCEEDED":
            message = getattr(getattr(run, "error", None), "message", None) or "no message"
            say(f"the KFP run {run_id} ended {run.state}: {message}")
            return 1
        return report(args.objective, args.metric, read_metrics(client, run, metric_outputs(docs[0])))
    except KaleError as exc:
        say(f"error: {exc.message}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
