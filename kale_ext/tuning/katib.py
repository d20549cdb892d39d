"""A Katib v1beta1 Experiment for a notebook's tuning experiment, as plain manifests (no Katib SDK, see KUBEFLOW_SPECS §0).

``build_manifests`` answers two objects: a ConfigMap holding the notebook's compiled KFP pipeline (the IR YAML of
kale_ext.runners.kfp, both documents) and the Experiment. Its trial template is a batch/v1 Job whose one container runs
``python -m kale_ext.tuning.katib_trial``: that program submits the pipeline to Kubeflow Pipelines with the trial's
parameters, waits for the run and prints the run's metrics as ``name=value`` lines for Katib's StdOut collector.

Why a ConfigMap and not an environment variable: Katib copies the trial template into every Trial and every Job, so a
pipeline embedded in the template would be stored ``maxTrialCount`` times over in etcd, and a large pipeline (each
component carries its step program) would push the Experiment itself towards the object size limit. The ConfigMap is
stored once, mounted read-only into each trial, and its SHA-256 is passed to the trial, which refuses a package that was
replaced under the same name.

Why the trial's values travel in environment variables: Katib's StdOut collector rewrites the primary container into
``sh -c "<command and args joined with spaces> 1>metrics.log 2>&1 && ..."`` without quoting, so an argument holding a
space or a quote would be split or break the shell; environment values are left alone. The command and args are fixed,
shell-safe tokens (checked by katib_rules).

Plain Python (stdlib + yaml for the package's parameters); never imports tornado, jupyter_server or kubernetes.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from typing import Any

from .katib_rules import validate_experiment
from .space import ExperimentSpec

GROUP, VERSION, PLURAL = "kubeflow.org", "v1beta1", "experiments"
API_VERSION = f"{GROUP}/{VERSION}"
TRIAL_CONTAINER = "kale-trial"
DEFAULT_TRIAL_IMAGE = f"python:{sys.version_info.major}.{sys.version_info.minor}"  # the pins are for this Python
DEFAULT_KFP_HOST = "http://ml-pipeline.kubeflow:8888"  # the in-cluster KFP API service of a Kubeflow install
DEFAULT_KFP_EXPERIMENT = "kale-ext-katib"
PACKAGE_DIR = "/var/kale/pipeline"
PACKAGE_FILE = "pipeline.yaml"
KFP_TOKEN_DIR = "/var/run/secrets/kubeflow/pipelines"
KFP_TOKEN_AUDIENCE = "pipelines.kubeflow.org"  # the audience KFP's multi-user API server accepts
TRIAL_NAME_PARAMETER = "kaleTrialName"  # a trialParameter referencing the Trial's own name (${trialSpec.Name})
ENV_PARAMETER_PREFIX = "KALE_PARAM_"
ENV_TRIAL_NAME = "KALE_KATIB_TRIAL"
ENV_NAMESPACE = "KALE_KATIB_NAMESPACE"
ENV_KFP_EXPERIMENT = "KALE_KFP_EXPERIMENT"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kale-ext"}
PACKAGE_SHA_ANNOTATION = "kale-ext.io/pipeline-sha256"
NOTEBOOK_ANNOTATION = "kale-ext.io/notebook"


def package_sha256(package: str) -> str:
    return hashlib.sha256(package.encode()).hexdigest()


def configmap_name(experiment_name: str) -> str:
    return f"{experiment_name}-pipeline"


def build_configmap(*, name: str, namespace: str, package: str) -> dict[str, Any]:
    """The ConfigMap holding the compiled pipeline (``package``: the IR YAML text) for Experiment ``name``."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(name),
            "namespace": namespace,
            "labels": {**MANAGED_BY, "kale-ext.io/experiment": name},
            "annotations": {PACKAGE_SHA_ANNOTATION: package_sha256(package)},
        },
        "data": {PACKAGE_FILE: package},
    }


def build_experiment(
    spec: ExperimentSpec,
    *,
    name: str,
    namespace: str,
    pipeline_package: str | dict[str, Any],
    image: str | None = None,
    requirements: Sequence[str] | None = None,
    kfp_host: str | None = None,
    kfp_experiment: str | None = None,
    service_account: str | None = None,
    notebook: str | None = None,
    constants: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Experiment manifest. ``pipeline_package``: the compiled IR (YAML text, or the PipelineSpec as a dict);
    ``requirements``: what the trial pip-installs before it starts (default: kale-ext, kfp and kfp-kubernetes pinned to
    the versions installed here; ``[]``: the image holds them); ``kfp_host``: the KFP API seen from the trial's pod;
    ``constants``: pipeline arguments every trial passes unchanged (AutoML's second stage: the chosen family)."""
    package = pipeline_package if isinstance(pipeline_package, str) else _dump(pipeline_package)
    katib = spec.to_katib()
    annotations = {PACKAGE_SHA_ANNOTATION: package_sha256(package)}
    if notebook:
        annotations[NOTEBOOK_ANNOTATION] = notebook
    return {
        "apiVersion": API_VERSION,
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY), "annotations": annotations},
        "spec": {
            "objective": katib["objective"],
            "algorithm": _algorithm(spec),
            "parallelTrialCount": katib["parallelTrialCount"],
            "maxTrialCount": katib["maxTrialCount"],
            "maxFailedTrialCount": katib["maxFailedTrialCount"],
            "metricsCollectorSpec": {"collector": {"kind": "StdOut"}},
            "parameters": katib["parameters"],
            "trialTemplate": _trial_template(
                spec,
                name=name,
                package_sha=package_sha256(package),
                image=image or DEFAULT_TRIAL_IMAGE,
                requirements=default_requirements() if requirements is None else list(requirements),
                kfp_host=kfp_host or DEFAULT_KFP_HOST,
                kfp_experiment=kfp_experiment or DEFAULT_KFP_EXPERIMENT,
                service_account=service_account,
                constants=constants or {},
            ),
        },
    }


def build_manifests(
    spec: ExperimentSpec, *, name: str, namespace: str, pipeline_package: str, **options: Any
) -> list[dict[str, Any]]:
    """[ConfigMap, Experiment], validated: raises KatibError naming every webhook rule the Experiment breaks."""
    from .katib_rules import KatibError

    experiment = build_experiment(spec, name=name, namespace=namespace, pipeline_package=pipeline_package, **options)
    fixed = tuple(options.get("constants") or ())
    problems = package_problems(spec, pipeline_package, fixed) + validate_experiment(experiment)
    if problems:
        raise KatibError(
            f"the Katib Experiment would be refused: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            code="tune.invalid",
            details={"problems": problems},
        )
    return [build_configmap(name=name, namespace=namespace, package=pipeline_package), experiment]


def package_problems(spec: ExperimentSpec, package: str, constants: Sequence[str] = ()) -> list[str]:
    """Every tuned parameter must be an input of the compiled pipeline (the trial passes it as a run argument)."""
    import yaml

    docs = [d for d in yaml.safe_load_all(package) if d]
    inputs = ((docs[0].get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {} if docs else {}
    return [
        f"parameter {p.name!r} is not an input of the compiled pipeline (inputs: {', '.join(sorted(inputs)) or 'none'});"
        " tune a pipeline parameter"
        for p in spec.parameters
        if p.name not in inputs
    ] + [f"constant {c!r} is not an input of the compiled pipeline" for c in constants if c not in inputs]


def _algorithm(spec: ExperimentSpec) -> dict[str, Any]:
    """Katib's algorithm; --seed becomes the random_state setting where Katib's algorithm has one (skopt's and
    hyperopt's suggestion services read it) and the notebook did not set one."""
    out = spec.algorithm.to_katib()
    seeded = spec.algorithm.name in ("random", "tpe", "bayesianoptimization", "multivariate-tpe", "cmaes", "sobol")
    if spec.seed is not None and seeded and spec.algorithm.setting("random_state") is None:
        out["algorithmSettings"] = [
            *out.get("algorithmSettings", []),
            {"name": "random_state", "value": str(spec.seed)},
        ]
    return out


def default_requirements() -> list[str]:
    """kale-ext, kfp and kfp-kubernetes pinned to what is installed here (the trial's code is this code)."""
    from ..runners.kfp.requirements import SELF_DISTRIBUTION, SELF_REQUIREMENT, _version

    pins = [f"{SELF_REQUIREMENT}=={_version(SELF_DISTRIBUTION)}"]
    for dist in ("kfp", "kfp-kubernetes"):
        version = _version(dist)
        pins.append(f"{dist}=={version}" if version else dist)
    return pins


def trial_command(spec: ExperimentSpec, *, package_sha: str, requirements: list[str]) -> tuple[list[str], list[str]]:
    """(command, args) of the trial container. With requirements: ``sh -c 'pip install ... && python -m ...'``
    (Katib keeps a leading ``sh -c`` and appends its redirect to the script, so only the trial's own output reaches
    the metrics file); without: the trial program directly."""
    program = ["python3", "-m", "kale_ext.tuning.katib_trial", "--package", f"{PACKAGE_DIR}/{PACKAGE_FILE}"]
    program += ["--sha256", package_sha, "--objective", spec.objective.metric]
    for metric in spec.objective.additional:
        program += ["--metric", metric]
    if not requirements:
        return program, []
    install = ["python3", "-m", "pip", "install", "--quiet", "--no-warn-script-location", "--disable-pip-version-check"]
    script = " ".join(install + [_sh_quote(r) for r in requirements]) + " && " + " ".join(program)
    return ["sh", "-c"], [script]


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _trial_template(
    spec: ExperimentSpec,
    *,
    name: str,
    package_sha: str,
    image: str,
    requirements: list[str],
    kfp_host: str,
    kfp_experiment: str,
    service_account: str | None,
    constants: dict[str, Any],
) -> dict[str, Any]:
    command, args = trial_command(spec, package_sha=package_sha, requirements=requirements)
    env: list[dict[str, Any]] = [
        {"name": ENV_TRIAL_NAME, "value": f"${{trialParameters.{TRIAL_NAME_PARAMETER}}}"},
        {"name": ENV_NAMESPACE, "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "KF_PIPELINES_ENDPOINT", "value": kfp_host},
        {"name": ENV_KFP_EXPERIMENT, "value": kfp_experiment},
        {"name": "KF_PIPELINES_SA_TOKEN_PATH", "value": f"{KFP_TOKEN_DIR}/token"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    env += [
        {"name": f"{ENV_PARAMETER_PREFIX}{p.name}", "value": f"${{trialParameters.{p.name}}}"} for p in spec.parameters
    ]
    env += [{"name": f"{ENV_PARAMETER_PREFIX}{k}", "value": str(v)} for k, v in sorted(constants.items())]
    container: dict[str, Any] = {
        "name": TRIAL_CONTAINER,
        "image": image,
        "command": command,
        "env": env,
        "volumeMounts": [
            {"name": "kale-pipeline", "mountPath": PACKAGE_DIR, "readOnly": True},
            {"name": "kfp-token", "mountPath": KFP_TOKEN_DIR, "readOnly": True},
        ],
    }
    if args:
        container["args"] = args
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": [
            {"name": "kale-pipeline", "configMap": {"name": configmap_name(name)}},
            {
                "name": "kfp-token",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "path": "token",
                                "audience": KFP_TOKEN_AUDIENCE,
                                "expirationSeconds": 7200,
                            }
                        }
                    ]
                },
            },
        ],
    }
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {
            "backoffLimit": 0,  # a failed trial is Katib's to count, not the Job's to retry
            "template": {
                # An Istio sidecar never exits, so the Job (and the trial) would never complete.
                "metadata": {"annotations": {"sidecar.istio.io/inject": "false"}, "labels": dict(MANAGED_BY)},
                "spec": pod_spec,
            },
        },
    }
    return {
        "primaryContainerName": TRIAL_CONTAINER,
        "trialParameters": [
            {"name": TRIAL_NAME_PARAMETER, "description": "the Trial's name", "reference": "${trialSpec.Name}"},
            *(
                {"name": p.name, "description": f"pipeline parameter {p.name}", "reference": p.name}
                for p in spec.parameters
            ),
        ],
        "trialSpec": job,
    }


def _dump(doc: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(doc, sort_keys=False)


__all__ = [
    "API_VERSION",
    "DEFAULT_TRIAL_IMAGE",
    "GROUP",
    "PLURAL",
    "TRIAL_CONTAINER",
    "VERSION",
    "build_configmap",
    "build_experiment",
    "build_manifests",
    "configmap_name",
    "validate_experiment",
]
