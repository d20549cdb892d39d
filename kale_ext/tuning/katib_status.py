"""A Katib Experiment's state read from the cluster into the run store, in the experiment shape of local experiments.

``refresh(store, experiment)`` (``experiment``: a store experiment dict with runner "katib" and external_id "NS/NAME")
reads the Experiment and its Trial CRs (label ``katib.kubeflow.org/experiment=NAME``) with the kubernetes client and
records what Katib says:

- status: a True ``Succeeded`` condition -> succeeded, a True ``Failed`` -> failed, anything else -> running; the reason
  from the condition (ExperimentGoalReached -> "goal reached", ExperimentMaxTrialsReached -> "maxTrialCount reached",
  ExperimentSuggestionEndReached -> "search space exhausted", a failure -> its message);
- trials: numbered 1, 2, ... in creation order; status from the Trial's conditions (Succeeded and EarlyStopped ->
  succeeded, Failed and MetricsUnavailable -> failed, Killed -> cancelled, Running -> running, else pending); parameters
  from ``spec.parameterAssignments`` typed like the local engine's (Parameter.value) plus the AutoML stage's constants;
  the objective and metrics from ``status.observation.metrics`` by Katib's default strategies (max of each metric when
  maximizing, min when minimizing; "unavailable" -> none);
- best: ``status.currentOptimalTrial`` (bestTrialName, parameterAssignments, observation) as {trial, run_id: None,
  parameters, objective}.

A trial has no local run (run_id None); its Katib name is in each trial's "katib_trial". Never imports tornado or
jupyter_server; kubernetes only inside the functions.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .katib import GROUP, VERSION
from .katib_rules import KatibError
from .space import Parameter

EXPERIMENT_LABEL = "katib.kubeflow.org/experiment"
REASONS = {
    "ExperimentGoalReached": "goal reached",
    "ExperimentMaxTrialsReached": "maxTrialCount reached",
    "ExperimentSuggestionEndReached": "search space exhausted",
}
TRIAL_STATES = (
    ("Succeeded", "succeeded"),
    ("EarlyStopped", "succeeded"),
    ("MetricsUnavailable", "failed"),
    ("Failed", "failed"),
    ("Killed", "cancelled"),
    ("Running", "running"),
)


def stage_of(experiment: dict[str, Any]) -> str | None:
    return ((experiment.get("spec") or {}).get("automl") or {}).get("stage")


def api_message(exc: Any) -> str:
    try:
        return str(json.loads(getattr(exc, "body", None) or "{}").get("message") or exc.reason or "")
    except (ValueError, AttributeError):
        return str(getattr(exc, "reason", "") or "")


def read(external_id: str, api_client: Any = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the Experiment, its Trials) from the cluster."""
    import urllib3
    from kubernetes.client.exceptions import ApiException

    from .katib_submit import _apis

    ns, _, name = external_id.partition("/")
    _, custom = _apis(api_client)
    try:
        experiment = custom.get_namespaced_custom_object(GROUP, VERSION, ns, "experiments", name)
        trials = custom.list_namespaced_custom_object(
            GROUP, VERSION, ns, "trials", label_selector=f"{EXPERIMENT_LABEL}={name}"
        )
    except ApiException as exc:
        hint = "it was deleted from the cluster" if exc.status == 404 else "see the cluster's message"
        raise KatibError(
            f"cannot read Katib Experiment {external_id}: HTTP {exc.status} {api_message(exc)}; {hint}",
            code="tune.katib_api",
        ) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise KatibError(f"cannot reach the cluster to read {external_id}: {exc}", code="tune.katib_api") from None
    return experiment, list(trials.get("items") or [])


def refresh(store: Any, experiment: dict[str, Any], *, api_client: Any = None) -> dict[str, Any]:
    cr, trial_crs = read(experiment["external_id"], api_client)
    spec = experiment.get("spec") or {}
    typed = _typer(spec)
    maximize = ((spec.get("objective") or {}).get("type")) == "maximize"
    metric = (spec.get("objective") or {}).get("objectiveMetricName")
    trial_crs.sort(key=lambda t: ((t.get("metadata") or {}).get("creationTimestamp") or "", t["metadata"]["name"]))
    numbers = {t["metadata"]["name"]: i + 1 for i, t in enumerate(trial_crs)}
    known = {t["trial"]: t for t in store.trial_rows(experiment["experiment_id"])}
    for trial_cr in trial_crs:
        _record_trial(store, experiment["experiment_id"], numbers, known, trial_cr, typed, maximize, metric)
    status, reason, error = _status(cr.get("status") or {})
    result = {"best": _best(cr.get("status") or {}, numbers, typed, maximize, metric), "reason": reason}
    result["katib"] = {"trials": list(numbers)}
    if stage_of(experiment) == "families":
        result["automl"] = _families(store.trial_rows(experiment["experiment_id"]), maximize)
    elif stage_of(experiment) == "tune":
        result["automl"] = _tuned_family(store, experiment)
    fields: dict[str, Any] = {"status": status, "error": error, "result": result}
    if status != "running":
        fields["finished"] = _time((cr.get("status") or {}).get("completionTime"))
    store.update_experiment(experiment["experiment_id"], **fields)
    out = store.get_experiment(experiment["experiment_id"])
    names = {n: name for name, n in numbers.items()}
    for trial in out["trials"]:
        trial["katib_trial"] = names.get(trial["trial"])
    return out


def _record_trial(
    store: Any,
    experiment_id: str,
    numbers: dict[str, int],
    known: dict[int, dict[str, Any]],
    cr: dict[str, Any],
    typed: Any,
    maximize: bool,
    metric: str | None,
) -> None:
    number = numbers[cr["metadata"]["name"]]
    if number not in known:
        params = typed((cr.get("spec") or {}).get("parameterAssignments") or [])
        store.add_trial(experiment_id, number, params, stage=None)
    status = _trial_status(cr.get("status") or {})
    metrics = _metrics((cr.get("status") or {}).get("observation") or {}, maximize)
    fields: dict[str, Any] = {"status": status, "metrics": metrics, "objective": metrics.get(metric or "")}
    if status not in ("pending", "running"):
        fields["finished"] = _time((cr.get("status") or {}).get("completionTime"))
    store.update_trial(experiment_id, number, **fields)


def _typer(spec: dict[str, Any]) -> Any:
    params = {}
    for p in spec.get("parameters") or []:
        params[p["name"]] = Parameter(p["name"], p.get("parameterType", "categorical"))
    fixed = ((spec.get("automl") or {}).get("fixed")) or {}

    def typed(assignments: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = dict(fixed)
        for a in assignments:
            name, raw = str(a.get("name")), a.get("value")
            p = params.get(name)
            try:
                out[name] = p.value(raw) if p else raw
            except (TypeError, ValueError):  # a value Katib wrote that its type cannot read: shown as written
                out[name] = raw
        return out

    return typed


def _metrics(observation: dict[str, Any], maximize: bool) -> dict[str, float]:
    out = {}
    for m in observation.get("metrics") or []:
        raw = m.get("max" if maximize else "min", m.get("latest"))
        try:
            out[m["name"]] = float(raw)
        except (TypeError, ValueError, KeyError):  # "unavailable": never reported
            continue
    return out


def _trial_status(status: dict[str, Any]) -> str:
    true = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
    return next((mapped for kind, mapped in TRIAL_STATES if kind in true), "pending")


def _status(status: dict[str, Any]) -> tuple[str, str | None, str | None]:
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
    if "Succeeded" in conditions:
        c = conditions["Succeeded"]
        return "succeeded", REASONS.get(c.get("reason") or "", c.get("message") or c.get("reason")), None
    if "Failed" in conditions:
        c = conditions["Failed"]
        message = c.get("message") or c.get("reason") or "Katib failed the experiment"
        reason = "too many failed trials" if "max failed" in message.lower() else message
        return "failed", reason, message
    return "running", None, None


def _best(
    status: dict[str, Any], numbers: dict[str, int], typed: Any, maximize: bool, metric: str | None
) -> dict[str, Any] | None:
    optimal = status.get("currentOptimalTrial") or {}
    name = optimal.get("bestTrialName")
    if not name:
        return None
    objective = _metrics(optimal.get("observation") or {}, maximize).get(metric or "")
    return {
        "trial": numbers.get(name),
        "run_id": None,
        "katib_trial": name,
        "parameters": typed(optimal.get("parameterAssignments") or []),
        "objective": objective,
    }


def _families(trials: list[dict[str, Any]], maximize: bool) -> dict[str, Any] | None:
    """The first AutoML stage's result: each family's objective (one trial per family) and the best family."""
    families = {
        str(next(iter(t["parameters"].values()), "")): t["objective"] for t in trials if t["objective"] is not None
    }
    if not families:
        return None
    pick = max if maximize else min
    return {"best_family": pick(families, key=lambda f: families[f]), "families": families}


def _tuned_family(store: Any, experiment: dict[str, Any]) -> dict[str, Any]:
    """The second AutoML stage's result: the family it tunes, with the first stage's objectives when the store holds
    that stage (the newest finished first stage of the notebook that chose this family)."""
    automl = (experiment.get("spec") or {}).get("automl") or {}
    family = (automl.get("fixed") or {}).get(automl.get("parameter"))
    for other in store.list_experiments(experiment["notebook"]):
        found = other.get("automl") or {}
        if other["experiment_id"] != experiment["experiment_id"] and found.get("best_family") == family:
            return {"best_family": family, "families": found.get("families") or {}}
    return {"best_family": family, "families": {}}


def _time(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
