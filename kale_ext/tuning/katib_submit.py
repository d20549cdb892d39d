"""``kale-ext tune NOTEBOOK --backend katib [--emit FILE] [--namespace NS] [--automl]``: the notebook's
experiment as a Katib Experiment on a cluster, and ``refresh``: its state read back in the experiment shape of local
experiments (what ``kale-ext experiments show`` prints).

``submit`` compiles the pipeline (kale_ext.runners.kfp), builds the ConfigMap and the Experiment (kale_ext.tuning.katib),
validates them with Katib's webhook rules, then either writes both to FILE (``--emit``: YAML, or JSON for a .json file;
nothing is recorded) or creates them with the kubernetes client (the ConfigMap first, then the Experiment, then the
ConfigMap is made owned by the Experiment so that deleting the Experiment deletes it), records the experiment in the
run store (runner "katib", external_id "NAMESPACE/NAME") and prints its name.

AutoML on Katib (Katib has no conditional parameters): ``--automl`` runs in two stages, each its own Experiment. The
first ("families") is a grid over the family parameter alone, one trial per family with the notebook's defaults. The
second ("tune") tunes the best family's own parameters, with the family parameter fixed to it (a constant of the trial
Job) and the rest of the trial budget (maxTrialCount less the number of families). ``--automl`` emits or creates the
second stage when the run store holds a finished first stage of this notebook with a best family: a Katib first stage
(refreshed from the cluster) or a local AutoML experiment (``kale-ext tune --automl``); otherwise it emits or creates the
first stage, and the same command, once that has finished, the second.

The kubernetes client is the kale-ext[kserve] extra, imported only where used; its configuration (a bearer token) is
never printed. Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
from dataclasses import replace
from typing import Any

from ..errors import KaleError
from ..kube import default_namespace
from .katib import GROUP, PLURAL, VERSION, build_manifests, configmap_name
from .katib_rules import DNS_1123, KatibError
from .katib_status import refresh, stage_of
from .rules import validate
from .space import CATEGORICAL, Algorithm, ExperimentSpec, Parameter

SETTINGS_KEY = "katib"  # the notebook's kale_ext.katib: {"image", "kfp_host", "kfp_experiment", "service_account"}


def submit(args: argparse.Namespace, notebook_path: str, spec: ExperimentSpec, pipeline: Any) -> int:
    """``args``: the tune command's arguments, read with getattr: emit, namespace, automl, and image (the trial's
    image, before the notebook's settings) when the command has such a flag; ``spec``: validated, with overrides."""
    from ..notebook import load_notebook
    from ..runners.kfp.compiler import compile_pipeline

    namespace = default_namespace(getattr(args, "namespace", None))
    if not DNS_1123.fullmatch(namespace) or len(namespace) > 63:
        raise KatibError(f"namespace {namespace!r} is not a Kubernetes namespace name; pass a valid --namespace")
    full = spec
    if getattr(args, "automl", False) and spec.automl is None:
        raise KatibError(
            '--automl needs the notebook\'s model families: metadata.kale_ext.automl = {"parameter": NAME, '
            '"families": {FAMILY: [parameters]}}',
            code="tune.no_automl",
        )
    store = _store(notebook_path) if getattr(args, "automl", False) else None
    spec, stage, fixed = plan_stage(spec, store, notebook_path) if store is not None else (spec, None, {})
    # Katib's rules for the Experiment as it goes (an AutoML stage is one of its own), with its grid's count rule.
    problems = validate(spec, None, backend="katib", submitted=True)
    if problems:
        what = f"the AutoML stage {stage!r}" if stage else "the Katib Experiment"
        raise KatibError(f"{what} is invalid: {' '.join(problems)}")
    settings = pipeline.settings.get(SETTINGS_KEY) if isinstance(pipeline.settings.get(SETTINGS_KEY), dict) else {}
    image = getattr(args, "image", None) or settings.get("image") or _docker_image(pipeline)
    compiled = compile_pipeline(pipeline, nb=load_notebook(notebook_path))
    name = experiment_name(compiled.name, stage)
    manifests = build_manifests(
        spec,
        name=name,
        namespace=namespace,
        pipeline_package=compiled.yaml,
        image=image,
        kfp_host=settings.get("kfp_host"),
        kfp_experiment=settings.get("kfp_experiment"),
        service_account=settings.get("service_account"),
        notebook=os.path.abspath(notebook_path),
        constants=fixed,
    )
    emit = getattr(args, "emit", None)
    if emit:
        path = write_manifests(manifests, emit)
        print(f"wrote the Katib Experiment {namespace}/{name} and its pipeline ConfigMap to {path}")
        return 0
    create(manifests, api_client=getattr(args, "api_client", None))
    store = store or _store(notebook_path)
    record = spec_record(spec, full, stage, fixed)
    experiment_id = f"katib-{secrets.token_hex(6)}"
    store.create_experiment(
        experiment_id=experiment_id,
        notebook=notebook_path,
        name=name,
        spec=record,
        runner="katib",
        external_id=f"{namespace}/{name}",
    )
    what = f" (AutoML stage {stage})" if stage else ""
    print(
        f"created Katib Experiment {namespace}/{name}{what}; follow it with: kale-ext experiments show {experiment_id}"
    )
    return 0


def experiment_name(pipeline_name: str, stage: str | None) -> str:
    """A DNS-1035 label of at most 40 characters: the pipeline's name, the AutoML stage, a random suffix."""
    base = "".join(ch for ch in pipeline_name.lower() if ch in "abcdefghijklmnopqrstuvwxyz0123456789-").strip("-")
    base = base.lstrip("0123456789-") or "kale"
    suffix = f"-{stage[:3]}" if stage else ""
    return f"{base[: 40 - 6 - len(suffix)].rstrip('-')}{suffix}-{secrets.token_hex(2)}"


def spec_record(
    stage_spec: ExperimentSpec, full: ExperimentSpec, stage: str | None, fixed: dict[str, str]
) -> dict[str, Any]:
    """The stored spec: the Experiment's own (what runs on the cluster) and, for an AutoML stage, the notebook's
    AutoML block with the stage and its constants (refresh types the trials' values with them)."""
    from .spec import spec_to_json

    automl = None
    if stage is not None:
        automl = {**(spec_to_json(full)["automl"] or {}), "stage": stage, "fixed": fixed}
    return {**stage_spec.to_katib(), "automl": automl, "seed": stage_spec.seed}


def plan_stage(spec: ExperimentSpec, store: Any, notebook: str) -> tuple[ExperimentSpec, str, dict[str, str]]:
    """(the stage's spec, "families" or "tune", the trial's constant pipeline arguments)."""
    automl = spec.automl
    assert automl is not None
    best = best_family(store, notebook)
    families = tuple(automl.families)
    if best is None:
        grid = Parameter(automl.parameter, CATEGORICAL, values=families)
        count = len(families)
        first = replace(
            spec,
            parameters=(grid,),
            algorithm=Algorithm("grid"),
            max_trial_count=count,
            parallel_trial_count=min(spec.parallel_trial_count, count),
            max_failed_trial_count=min(spec.max_failed_trial_count, count),
            automl=None,
        )
        return first, "families", {}
    if best not in automl.families:
        raise KatibError(f"the first AutoML stage's best family {best!r} is not a family of this notebook's automl")
    from .spec import stage_parameters

    own = stage_parameters(spec, best)
    if not own:
        raise KatibError(f"family {best!r} has no hyperparameters to tune; its first-stage trial is the result")
    budget = max(1, spec.max_trial_count - len(families))
    second = replace(
        spec,
        parameters=own,
        max_trial_count=budget,
        parallel_trial_count=min(spec.parallel_trial_count, budget),
        max_failed_trial_count=min(spec.max_failed_trial_count, budget),
        automl=None,
    )
    return second, "tune", {automl.parameter: best}


def best_family(store: Any, notebook: str) -> str | None:
    """The best family of the newest finished first stage of ``notebook``: a local AutoML experiment's
    automl.best_family, or a Katib "families" stage's best trial (refreshed from the cluster)."""
    for exp in store.list_experiments(os.path.abspath(notebook)):
        if exp["runner"] == "katib" and stage_of(exp) == "families":
            try:
                exp = refresh(store, exp)
            except KaleError:
                continue
            family = (exp.get("automl") or {}).get("best_family")
            if exp["status"] == "succeeded" and family:
                return str(family)
        elif exp["runner"] == "local" and exp["status"] in ("succeeded", "cancelled") and exp.get("automl"):
            family = (exp["automl"] or {}).get("best_family")
            if family:
                return str(family)
    return None


def _docker_image(pipeline: Any) -> str | None:
    setting = pipeline.settings.get("docker_image") or pipeline.settings.get("base_image")
    return setting if isinstance(setting, str) and setting.strip() else None


def _store(notebook_path: str) -> Any:
    from ..store import Store, store_dir_for

    return Store(store_dir_for(notebook_path))


def write_manifests(manifests: list[dict[str, Any]], path: str) -> str:
    """YAML documents (ConfigMap, then Experiment), or for a .json file one v1 List."""
    try:
        if path.endswith(".json"):
            text = json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}, indent=2) + "\n"
        else:
            import yaml

            text = yaml.safe_dump_all(manifests, sort_keys=False)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    except OSError as exc:
        raise KatibError(f"cannot write {path}: {exc.strerror or exc}; choose another --emit FILE") from None
    return path


def create(manifests: list[dict[str, Any]], *, api_client: Any = None) -> str | None:
    """Create the ConfigMap and the Experiment, then own the ConfigMap by the Experiment; the Experiment's uid."""
    import urllib3

    core, custom = _apis(api_client)
    configmap, experiment = manifests
    ns, name = experiment["metadata"]["namespace"], experiment["metadata"]["name"]
    try:
        return _create(core, custom, configmap, experiment)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise KatibError(
            f"cannot reach the cluster's API server to create {ns}/{name}: {exc}; check KUBECONFIG, or use --emit FILE",
            code="tune.katib_api",
        ) from None


def _create(core: Any, custom: Any, configmap: dict[str, Any], experiment: dict[str, Any]) -> str | None:
    from kubernetes.client.exceptions import ApiException

    ns, name = experiment["metadata"]["namespace"], experiment["metadata"]["name"]
    try:
        core.create_namespaced_config_map(ns, configmap)
    except ApiException as exc:
        raise _api_error("create the pipeline ConfigMap", ns, configmap["metadata"]["name"], exc) from None
    try:
        created = custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, experiment)
    except ApiException as exc:
        core.delete_namespaced_config_map(configmap["metadata"]["name"], ns)
        raise _api_error("create the Experiment", ns, name, exc) from None
    uid = (created.get("metadata") or {}).get("uid")
    if uid:
        owner = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Experiment", "name": name, "uid": uid}
        try:
            core.patch_namespaced_config_map(configmap_name(name), ns, {"metadata": {"ownerReferences": [owner]}})
        except ApiException as exc:
            raise _api_error("make the Experiment own its ConfigMap", ns, name, exc) from None
    return uid


def _apis(api_client: Any) -> tuple[Any, Any]:
    from ..kube import api_client as kube_api_client

    def fail(reason: str) -> KatibError:
        hint = "; set KUBECONFIG, or use --emit FILE" if "configuration" in reason else ""
        return KatibError(reason + hint)

    api_client = kube_api_client(api_client, fail=fail, needed_for="submitting to Katib")
    from kubernetes import client

    return client.CoreV1Api(api_client), client.CustomObjectsApi(api_client)


def _api_error(action: str, namespace: str, name: str, exc: Any) -> KatibError:
    from .katib_status import api_message

    status = getattr(exc, "status", 0) or 0
    hint = {
        401: "the cluster refused the credentials; fix your kubeconfig",
        403: f"you may not do this in namespace {namespace}; use a namespace you may use (--namespace)",
        404: "Katib (its Experiment CRD) is not installed there, or the namespace does not exist",
        409: "one with this name exists already; submit again (a new name is drawn)",
    }.get(status, "see the cluster's message")
    if status == 0:
        hint = "the cluster's API server did not answer; check KUBECONFIG and the network"
    return KatibError(
        f"could not {action} {namespace}/{name}: HTTP {status} {api_message(exc)}; {hint}",
        code="tune.katib_api",
        details={"http_status": status},
    )
