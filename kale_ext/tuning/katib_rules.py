"""Katib's admission rules for a v1beta1 Experiment, re-implemented: the Experiment CRD has no schema, so a cluster
checks an Experiment only in Katib's validating webhook (pkg/webhook/v1beta1/experiment/validator), after its defaulting
webhook. ``validate_experiment(manifest)`` answers every problem as a sentence naming the field and the fix; empty
when the webhook would admit it.

Beyond the webhook, rules that make a created Experiment fail later: the name is a full DNS-1035 label (Katib names the
suggestion's Deployment and Service after it; the webhook's own regex is not anchored at the end), the metric names
are what the StdOut collector's filter can read, the primary container exists in the Job, the primary container's
command and args survive the collector's unquoted ``sh -c`` join, and list values survive Katib's substitution into the
template's JSON. ``job_schema_problems`` checks the embedded Job against the Kubernetes OpenAPI schema
(kubernetes_validate, strict), with the trial parameters substituted the way Katib's validator does.

Plain Python (stdlib; kubernetes_validate only inside job_schema_problems); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from ..errors import KaleError
from .space import KATIB_ALGORITHMS, PARAMETER_TYPES


class KatibError(KaleError):
    status = 400
    code = "tune.katib"


DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
METRIC_NAME = re.compile(r"[\w|-]+")  # the name group of the StdOut collector's default filter
PARAM_REF = re.compile(r"\$\{trialParameters\..+?\}")
META_REF = re.compile(r"\$\{trialSpec\.(.+?)\}")
META_KEYS = ("Name", "Namespace", "Kind", "APIVersion", "Annotations", "Labels")
SHELL_SAFE = re.compile(r"[A-Za-z0-9_./:=,@%+-]+")
DISTRIBUTIONS = ("", "uniform", "logUniform", "normal", "logNormal")
COLLECTORS = ("StdOut", "File", "TensorFlowEvent", "PrometheusMetric", "Custom", "None", "Push")
RESUME_POLICIES = ("", "Never", "LongRunning", "FromVolume")


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_experiment(manifest: Any) -> list[str]:
    if not isinstance(manifest, dict):
        return [f"an Experiment is a mapping, found {type(manifest).__name__}"]
    out: list[str] = []
    if manifest.get("apiVersion") != "kubeflow.org/v1beta1" or manifest.get("kind") != "Experiment":
        out.append(
            f"apiVersion/kind must be kubeflow.org/v1beta1 Experiment, found "
            f"{manifest.get('apiVersion')!r}/{manifest.get('kind')!r}"
        )
    meta = manifest.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str) or not DNS_1035.fullmatch(name) or len(name) > 40:
        out.append(
            f"metadata.name {name!r} must be a DNS-1035 label of at most 40 characters (lower-case letters, digits "
            "and '-', starting with a letter, ending with a letter or digit); choose a shorter or simpler name"
        )
    ns = meta.get("namespace")
    if ns is not None and (not isinstance(ns, str) or not DNS_1123.fullmatch(ns) or len(ns) > 63):
        out.append(f"metadata.namespace {ns!r} is not a namespace name (DNS-1123 label); pass a valid --namespace")
    spec = manifest.get("spec")
    if not isinstance(spec, dict):
        return [*out, "spec is required: the objective, algorithm, parameters and trial template"]
    out += _counts(spec)
    objective = _objective(spec.get("objective"))
    out += objective
    if objective and spec.get("objective") is None:
        return out  # Katib stops at a missing objective
    out += _algorithm(spec.get("algorithm"))
    out += _early_stopping(spec.get("earlyStopping"))
    if spec.get("resumePolicy", "") not in RESUME_POLICIES:
        out.append(f"spec.resumePolicy {spec.get('resumePolicy')!r} must be one of Never, LongRunning, FromVolume")
    out += _trial_template(spec)
    params = spec.get("parameters")
    if not params and spec.get("nasConfig") is None:
        out.append("spec.parameters must list at least one parameter to tune (or spec.nasConfig be given)")
    elif params and spec.get("nasConfig") is not None:
        out.append("only one of spec.parameters and spec.nasConfig can be given; remove one")
    elif params:
        out += _parameters(params)
    out += _collector(spec.get("metricsCollectorSpec") or {})
    return out


def _counts(spec: dict[str, Any]) -> list[str]:
    out = []
    parallel = spec.get("parallelTrialCount", 3)  # Katib's defaulting webhook sets 3
    most, failed = spec.get("maxTrialCount"), spec.get("maxFailedTrialCount")
    for field, value in (("parallelTrialCount", parallel), ("maxTrialCount", most), ("maxFailedTrialCount", failed)):
        if value is not None and not _int(value):
            out.append(f"spec.{field} must be an integer, found {value!r}")
    if out:
        return out
    if failed is not None and failed < 0:
        out.append(f"spec.maxFailedTrialCount {failed} must not be less than 0")
    if most is not None and most <= 0:
        out.append(f"spec.maxTrialCount {most} must be greater than 0")
    if parallel is not None and parallel <= 0:
        out.append(f"spec.parallelTrialCount {parallel} must be greater than 0")
    if failed is not None and most is not None and failed > most:
        out.append(f"spec.maxFailedTrialCount {failed} must be less than or equal to spec.maxTrialCount {most}")
    if parallel is not None and most is not None and parallel > most:
        out.append(f"spec.parallelTrialCount {parallel} must be less than or equal to spec.maxTrialCount {most}")
    return out


def _objective(obj: Any) -> list[str]:
    if not isinstance(obj, dict):
        return ["spec.objective is required: type (minimize or maximize) and objectiveMetricName"]
    out = []
    if obj.get("type") not in ("minimize", "maximize"):
        out.append(f"spec.objective.type {obj.get('type')!r} must be minimize or maximize")
    metric = obj.get("objectiveMetricName")
    if not metric:
        out.append("spec.objective.objectiveMetricName is required: the pipeline metric to optimize")
    additional = obj.get("additionalMetricNames") or []
    if metric and metric in additional:
        out.append(f"spec.objective.additionalMetricNames must not contain the objective metric {metric!r}; remove it")
    for m in [metric, *additional]:
        if m and (not isinstance(m, str) or not METRIC_NAME.fullmatch(m)):
            out.append(
                f"metric name {m!r} cannot be read by Katib's StdOut collector (its filter reads names of letters, "
                "digits, '_', '|' and '-'); rename the pipeline metric"
            )
    goal = obj.get("goal")
    if goal is not None and (isinstance(goal, bool) or not isinstance(goal, int | float)):
        out.append(f"spec.objective.goal must be a number, found {goal!r}")
    return out


def _algorithm(algo: Any) -> list[str]:
    if not isinstance(algo, dict):
        return ["spec.algorithm is required: algorithmName and optional algorithmSettings"]
    name = algo.get("algorithmName")
    if not name:
        return ["spec.algorithm.algorithmName is required"]
    out = []
    if name not in KATIB_ALGORITHMS:
        out.append(
            f"spec.algorithm.algorithmName {name!r} has no suggestion service in Katib's default configuration; "
            f"use one of {', '.join(KATIB_ALGORITHMS)}"
        )
    for i, s in enumerate(algo.get("algorithmSettings") or []):
        if not isinstance(s, dict) or not s.get("name") or not isinstance(s.get("value"), str):
            out.append(
                f"spec.algorithm.algorithmSettings[{i}] must be {{name, value}} with a string value, found {s!r}"
            )
    return out


def _early_stopping(es: Any) -> list[str]:
    if es is None:
        return []
    if not isinstance(es, dict) or es.get("algorithmName") != "medianstop":
        name = es.get("algorithmName") if isinstance(es, dict) else es
        return [f"spec.earlyStopping.algorithmName {name!r} is not Katib's; the only early stopping is medianstop"]
    out = []
    rules = {"min_trials_required": 1, "start_step": 1}
    for s in es.get("algorithmSettings") or []:
        key, value = (s or {}).get("name"), (s or {}).get("value")
        if key not in rules:
            out.append(
                f"spec.earlyStopping setting {key!r} is unknown; medianstop takes min_trials_required, start_step"
            )
        elif not str(value).isdigit() or int(str(value)) < rules[key]:
            out.append(f"spec.earlyStopping setting {key} must be an integer >= {rules[key]}, found {value!r}")
    return out


def _parameters(params: Any) -> list[str]:
    if not isinstance(params, list):
        return [f"spec.parameters must be a list, found {type(params).__name__}"]
    out, seen = [], set()
    for i, p in enumerate(params):
        where = f"spec.parameters[{i}]"
        if not isinstance(p, dict) or not p.get("name"):
            out.append(f"{where} needs a name (the pipeline parameter it tunes)")
            continue
        where = f"{where} ({p['name']})"
        if p["name"] in seen:
            out.append(f"{where} is listed twice; keep one")
        seen.add(p["name"])
        kind, space = p.get("parameterType"), p.get("feasibleSpace") or {}
        if kind not in PARAMETER_TYPES:
            out.append(f"{where}: parameterType {kind!r} is not supported; use one of {', '.join(PARAMETER_TYPES)}")
        if space.get("distribution", "") not in DISTRIBUTIONS:
            out.append(f"{where}: feasibleSpace.distribution {space.get('distribution')!r} is not supported")
        if not space:
            out.append(f"{where}: feasibleSpace must be specified")
            continue
        for key in ("min", "max", "step"):
            if key in space and not isinstance(space[key], str):
                out.append(f"{where}: feasibleSpace.{key} must be a string (Katib's type), found {space[key]!r}")
        out += _space(where, kind, space)
    return out


def _space(where: str, kind: Any, space: dict[str, Any]) -> list[str]:
    out = []
    values = space.get("list")
    if kind in ("double", "int"):
        if values:
            out.append(f"{where}: feasibleSpace.list is not supported for parameterType {kind}; give min and max")
        if not space.get("min") or not space.get("max"):
            out.append(f"{where}: feasibleSpace.min and feasibleSpace.max must be specified for parameterType {kind}")
        else:
            try:
                low, high = float(space["min"]), float(space["max"])
            except (TypeError, ValueError):
                out.append(f"{where}: feasibleSpace min {space['min']!r} and max {space['max']!r} must be numbers")
            else:
                if low > high:
                    out.append(f"{where}: feasibleSpace.min {space['min']} is greater than max {space['max']}")
    elif kind in ("discrete", "categorical"):
        if any(space.get(k) for k in ("min", "max", "step")):
            out.append(f"{where}: feasibleSpace min, max and step are not supported for parameterType {kind}; use list")
        if not isinstance(values, list) or not values:
            out.append(f"{where}: feasibleSpace.list must hold at least one value for parameterType {kind}")
        else:
            for v in values:
                if not isinstance(v, str):
                    out.append(f"{where}: feasibleSpace.list values must be strings, found {v!r}")
                elif '"' in v or "\\" in v or any(ord(ch) < 32 for ch in v):
                    out.append(
                        f"{where}: value {v!r} holds a quote, backslash or control character, which breaks Katib's "
                        "substitution into the trial template's JSON; choose another value"
                    )
    return out


def _trial_template(spec: dict[str, Any]) -> list[str]:
    t = spec.get("trialTemplate")
    if not isinstance(t, dict):
        return ["spec.trialTemplate is required"]
    out = []
    if not t.get("primaryContainerName"):
        out.append("spec.trialTemplate.primaryContainerName must be specified")
    trial_spec, config_map = t.get("trialSpec"), t.get("configMap")
    is_job = isinstance(trial_spec, dict) and trial_spec.get("kind") == "Job"
    if not is_job and not (t.get("successCondition") and t.get("failureCondition")):
        out.append("spec.trialTemplate successCondition and failureCondition must be specified (defaulted for Jobs)")
    if t.get("trialParameters") is None:
        return [*out, "spec.trialTemplate.trialParameters must be specified"]
    if trial_spec is None and config_map is None:
        return [*out, "spec.trialTemplate.trialSpec or spec.trialTemplate.configMap must be specified"]
    if trial_spec is not None and config_map is not None:
        return [*out, "only one of spec.trialTemplate.trialSpec or spec.trialTemplate.configMap can be specified"]
    if config_map is not None:
        if not all((config_map or {}).get(k) for k in ("configMapName", "configMapNamespace", "templatePath")):
            out.append("spec.trialTemplate.configMap needs configMapName, configMapNamespace and templatePath")
        return out  # the template lives in the cluster; it cannot be checked here
    if not isinstance(trial_spec, dict):
        return [*out, f"spec.trialTemplate.trialSpec must be an object, found {type(trial_spec).__name__}"]
    out += _trial_parameters(spec, t, json.dumps(trial_spec))
    meta = trial_spec.get("metadata") or {}
    if meta.get("name") or meta.get("namespace"):
        out.append(
            "metadata.name and metadata.namespace in spec.trialTemplate.trialSpec must be omitted (Katib sets them)"
        )
    if not trial_spec.get("apiVersion") or not trial_spec.get("kind"):
        out.append("apiVersion and kind in spec.trialTemplate.trialSpec must be specified")
    if trial_spec.get("apiVersion") == "batch/v1" and is_job:
        out += _job(trial_spec, t.get("primaryContainerName"), (spec.get("metricsCollectorSpec") or {}))
    return out


def _trial_parameters(spec: dict[str, Any], t: dict[str, Any], text: str) -> list[str]:
    out: list[str] = []
    declared = {p.get("name") for p in spec.get("parameters") or [] if isinstance(p, dict)}
    names: set[str] = set()
    refs: set[str] = set()
    for i, p in enumerate(t["trialParameters"]):
        where = f"spec.trialTemplate.trialParameters[{i}]"
        name, ref = (p or {}).get("name"), (p or {}).get("reference")
        if not name or not ref or "{" in name or "}" in name:
            out.append(f"{where}: name and reference must be specified and the name must not contain '{{' or '}}'")
            continue
        if name in names:
            out.append(f"{where}: name {name!r} is declared twice in spec.trialTemplate.trialParameters")
            continue
        if ref in refs:
            out.append(f"{where}: reference {ref!r} is used twice in spec.trialTemplate.trialParameters")
            continue
        names.add(name)
        refs.add(ref)
        if declared and not _is_meta(ref) and ref not in declared:
            out.append(f"{where}: reference {ref!r} is not a parameter of spec.parameters")
        token = f"${{trialParameters.{name}}}"
        if token not in text:
            out.append(f"{where}: {name!r} is declared but {token} is not used in the trialSpec")
        text = text.replace(token, "test-value")
    left = sorted(set(PARAM_REF.findall(text)))
    if left:
        out.append(f"the trialSpec uses {', '.join(left)}, not declared in spec.trialTemplate.trialParameters")
    return out


def _is_meta(ref: str) -> bool:
    match = META_REF.fullmatch(ref)
    if not match:
        return False
    key = match.group(1)
    sub = re.fullmatch(r"(.+)\[(.+)]", key)
    return key in META_KEYS or bool(sub and sub.group(1) in META_KEYS)


def _job(job: dict[str, Any], primary: Any, collector: dict[str, Any]) -> list[str]:
    pod = (((job.get("spec") or {}).get("template") or {}).get("spec")) or {}
    containers = [c for c in pod.get("containers") or [] if isinstance(c, dict)]
    found = next((c for c in containers if c.get("name") == primary), None)
    if found is None:
        names = [c.get("name") for c in containers]
        return [f"primaryContainerName {primary!r} is not a container of the Job (containers: {names}); fix the name"]
    kind = ((collector.get("collector") or {}).get("kind")) or "StdOut"
    if kind != "StdOut":
        return []
    argv = [*(found.get("command") or []), *(found.get("args") or [])]
    if not found.get("command"):
        return [f"container {primary!r} needs an explicit command: Katib's StdOut collector rewrites it into sh -c"]
    if argv[:2] in (["sh", "-c"], ["bash", "-c"]):
        argv = argv[3:]  # the script itself is shell by intent; what follows it would be its $0, $1 ...
    bad = [a for a in argv if not SHELL_SAFE.fullmatch(str(a))]
    if bad:
        return [
            f"container {primary!r} arguments {bad} would be split or reinterpreted: Katib's StdOut collector joins "
            "command and args with spaces into sh -c, unquoted; pass such values in environment variables"
        ]
    return []


def _collector(mc: dict[str, Any]) -> list[str]:
    kind = ((mc.get("collector") or {}).get("kind")) or "StdOut"
    if kind not in COLLECTORS:
        return [f"spec.metricsCollectorSpec.collector.kind {kind!r} is invalid; use one of {', '.join(COLLECTORS)}"]
    out = []
    source = mc.get("source") or {}
    path = source.get("fileSystemPath") or {}
    if kind == "File" and (path.get("kind") != "File" or not str(path.get("path", "")).startswith("/")):
        out.append("spec.metricsCollectorSpec.source.fileSystemPath needs kind File and an absolute path")
    if kind == "File" and path.get("format") not in ("TEXT", "JSON"):
        out.append("spec.metricsCollectorSpec.source.fileSystemPath.format must be TEXT or JSON")
    if kind == "TensorFlowEvent" and (path.get("kind") != "Directory" or not str(path.get("path", "")).startswith("/")):
        out.append("spec.metricsCollectorSpec.source.fileSystemPath needs kind Directory and an absolute path")
    if kind == "Custom" and not (mc.get("collector") or {}).get("customCollector"):
        out.append("spec.metricsCollectorSpec.collector.customCollector is required for kind Custom")
    for f in ((source.get("filter") or {}).get("metricsFormat")) or []:
        try:
            re.compile(f)
        except re.error as exc:
            out.append(f"spec.metricsCollectorSpec.source.filter.metricsFormat {f!r} is not a regex: {exc}")
            continue
        if not re.fullmatch(r".*\(.*\).*\(.*\).*", f):
            out.append(f"spec.metricsCollectorSpec filter {f!r} needs two groups: the metric's name, then its value")
    return out


def job_schema_problems(manifest: dict[str, Any], k8s_version: str = "1.33") -> list[str]:
    """The trial template's Job against the Kubernetes schema (kubernetes_validate, strict: unknown fields are errors),
    with ``${trialParameters.X}`` replaced by a value the way Katib's validator does; the name Katib gives it is set."""
    import kubernetes_validate  # the test extra's library (it ships no types: see pyproject's mypy overrides)

    job = copy.deepcopy(manifest["spec"]["trialTemplate"]["trialSpec"])
    text = PARAM_REF.sub("test-value", json.dumps(job))
    job = json.loads(text)
    job.setdefault("metadata", {})["name"] = "trial-test"
    try:
        kubernetes_validate.validate(job, k8s_version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"the trial Job is not a valid Kubernetes {k8s_version} Job: {exc.message} at {list(exc.path)}"]
    return []
