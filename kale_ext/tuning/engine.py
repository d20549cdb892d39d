"""The loop of one local experiment: trials as pipeline runs of the local runner, Katib's stop rules, AutoML's stages.

Katib's loop, on one thread (``ExperimentDriver``): while fewer than parallelTrialCount trials run and the budget
(maxTrialCount started trials) allows, ask the suggester for as many points as there are free slots, giving it every
finished trial (a failed one with value None); each point starts a run (``runner.start`` with the point's values as
pipeline parameters); each run that ends is a finished trial (its objective read from the run's metrics; a run that
failed, or did not report the objective metric, is a failed trial, counted like Katib's "metrics unavailable").
Steps that read no tuned parameter have the same cache key in every trial, so the runner executes them once
(single-flight, runners/local/inflight.py) and the other trials reuse them.

Stop rules, in Katib's order (pkg/controller.v1beta1/experiment/util/status_util.go): the goal reached -> succeeded;
more than maxFailedTrialCount failed trials -> failed (the issue's rule; Katib's controller compares with >=);
maxTrialCount trials finished, or the suggester has nothing left (grid exhausted) and nothing runs -> succeeded (failed
when no trial succeeded). On goal or failure the trials still running
are cancelled (Katib leaves them running; here they would only hold cores). A cancel cancels the running trials'
runs -> cancelled.

AutoML (Kale's flow): stage "families" runs every family once with the notebook's defaults (only the family parameter
set), then stage "tune" tunes the best family's parameters (tuning.spec.stage_parameters) with the remaining budget,
the family parameter fixed. All store writes of the experiment happen on this thread. Never imports tornado or
jupyter_server.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any

from ..pipeline.model import Pipeline
from ..runners.base import Listener, RunOptions
from ..runners.local.launchers import ZygotePool
from ..runners.local.runner import LocalRunner
from ..store import RUN_FINAL, Store
from .algorithms import make_suggester
from .space import ExperimentSpec, Observation, Parameter
from .spec import stage_parameters

FINISHED = ("succeeded", "failed")


class ExperimentDriver(threading.Thread):
    """Drives one experiment; ``trials`` are the recorded ones (a resume passes those of the earlier attempt)."""

    def __init__(
        self,
        runner: LocalRunner,
        store: Store,
        experiment_id: str,
        notebook: str,
        pipeline: Pipeline,
        spec: ExperimentSpec,
        *,
        listener: Listener | None,
        trials: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(name=f"kale-experiment-{experiment_id}", daemon=True)
        self.runner, self.store, self.experiment_id = runner, store, experiment_id
        self.notebook, self.pipeline, self.spec = notebook, pipeline, spec
        self.automl = spec.automl is not None  # the spec as run holds the AutoML block only when its flow runs
        self.listener = listener
        self.events: queue.Queue = queue.Queue()
        self.cancel_reason: str | None = None
        self.trials: dict[int, dict[str, Any]] = {t["trial"]: dict(t) for t in trials if t["status"] in FINISHED}
        self.next_trial = max((t["trial"] for t in trials), default=0) + 1
        self.running: dict[str, dict[str, Any]] = {}  # run_id -> its trial, while the run runs
        self.family: str | None = None  # AutoML: the best family once stage "families" is over
        self.suggester: Any = None
        self.exhausted = False
        self.zygotes: ZygotePool | None = None

    # ---------------------------------------------------------------------------------------------------- plumbing
    def notify(self, event: dict[str, Any]) -> None:
        if self.listener is not None:
            try:
                self.listener(event)
            except Exception:
                pass

    def request_cancel(self, reason: str = "cancelled") -> None:
        if self.cancel_reason is None:
            self.cancel_reason = reason
        self.events.put({"event": "cancel"})

    def _on_run(self, event: dict[str, Any]) -> None:  # called on a run's driver thread
        if event.get("event") == "run" and event.get("status") in RUN_FINAL:
            self.events.put({"event": "run", "run_id": event["run_id"]})

    # -------------------------------------------------------------------------------------------------------- main
    def run(self) -> None:
        self.notify({"event": "experiment", "experiment_id": self.experiment_id, "status": "running"})
        error = None
        if self.runner.use_fork:  # the trials' steps fork from zygotes that ran the prelude once for the experiment
            self.zygotes = ZygotePool(os.path.join(self.store.folder, "zygotes", self.experiment_id))
        try:
            status, reason = self.drive()
        except BaseException as exc:  # the experiment must never stay "running" because of the engine itself
            status, reason = "failed", "error"
            error = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
            self.cancel_running(f"the experiment failed: {error}")
        finally:
            if self.zygotes is not None:  # every trial's run has ended (drive and cancel_running wait for them)
                self.zygotes.close()
        self.store.update_experiment(
            self.experiment_id, status=status, finished=time.time(), error=error, result=self.result(reason)
        )
        self.notify({"event": "experiment", "experiment_id": self.experiment_id, "status": status, "reason": reason})

    def drive(self) -> tuple[str, str]:
        while True:
            if self.cancel_reason is not None:
                self.cancel_running(self.cancel_reason)
                return "cancelled", "cancelled"
            verdict = self.verdict()
            if verdict is not None:
                if self.running:
                    self.cancel_running(f"the experiment stopped: {verdict[1]}")
                return verdict
            self.fill()
            if self.cancel_reason is not None:
                continue  # cancelled while starting trials (the runner shut down): the top of the loop ends it
            if not self.running:
                verdict = self.verdict()
                return verdict or ("succeeded", "search space exhausted")
            self.handle(self.events.get())

    def verdict(self) -> tuple[str, str] | None:
        """Katib's stop rules, in its order; None while the experiment goes on."""
        finished = list(self.trials.values())
        objective = self.spec.objective
        if any(t["status"] == "succeeded" and objective.reached(t["objective"]) for t in finished):
            return "succeeded", "goal reached"
        failed = sum(t["status"] == "failed" for t in finished)
        # The rule (and Katib's documentation): failed when MORE than maxFailedTrialCount trials failed, so
        # maxFailedTrialCount is the number of failures tolerated. (Katib's controller code compares with ">=".)
        if failed > self.spec.max_failed_trial_count:
            return "failed", "too many failed trials"
        if len(finished) >= self.spec.max_trial_count:
            if not any(t["status"] == "succeeded" for t in finished):
                return "failed", "no trial succeeded"
            return "succeeded", "maxTrialCount reached"
        if self.automl and self.family is None and self.families_done() and not self.running:
            if not any(t["status"] == "succeeded" for t in finished if t.get("stage") == "families"):
                return "failed", "no model family succeeded"
        if self.exhausted and not self.running:
            if not any(t["status"] == "succeeded" for t in finished):
                return "failed", "no trial succeeded"
            return "succeeded", "search space exhausted"
        return None

    # ------------------------------------------------------------------------------------------------ suggestions
    def fill(self) -> None:
        """Start trials in the free slots, as many as the budget and the suggester allow."""
        while True:
            free = self.spec.parallel_trial_count - len(self.running)
            budget = self.spec.max_trial_count - len(self.trials) - len(self.running)
            count = min(free, budget)
            if count <= 0 or self.exhausted or self.cancel_reason is not None or self.verdict() is not None:
                return  # (a trial that fails as it starts may end the experiment: the verdict is asked each time)
            points = self.next_points(count)
            if points is None:  # AutoML: wait for the families' trials before tuning the best one
                return
            if not points:
                self.exhausted = True
                return
            for stage, values in points:
                self.start_trial(stage, values)

    def next_points(self, count: int) -> list[tuple[str | None, dict[str, Any]]] | None:
        if not self.automl:
            return [(None, p) for p in self.suggest(self.spec.parameters, {}, None, count)]
        assert self.spec.automl is not None
        name = self.spec.automl.parameter
        if self.family is None:
            started = {t["parameters"][name] for t in self.trials.values() if t.get("stage") == "families"}
            started |= {t["parameters"].get(name) for t in self.running.values()}
            todo = [f for f in self.spec.automl.families if f not in started]
            if todo:  # the family's own hyperparameters at the notebook's defaults, named so the result shows them
                defaults = self.pipeline.parameters
                return [
                    ("families", {name: f, **{p.name: defaults[p.name] for p in self.spec.automl.families[f]}})
                    for f in todo[:count]
                ]
            if self.running:
                return None
            self.family = self.best_family()
            if self.family is None:
                return None
        params = stage_parameters(self.spec, self.family)
        if not params:
            return []  # the best family has nothing to tune: done
        return [("tune", p) for p in self.suggest(params, {name: self.family}, "tune", count)]

    def suggest(
        self, params: tuple[Parameter, ...], fixed: dict[str, Any], stage: str | None, count: int
    ) -> list[dict[str, Any]]:
        if self.suggester is None:
            self.suggester = make_suggester(params, self.spec.objective, self.spec.algorithm, self.spec.seed)
        told = [
            Observation(
                trial=str(t["trial"]),
                assignments={p.name: t["parameters"][p.name] for p in params},
                value=t["objective"] if t["status"] == "succeeded" else None,
                metrics=t.get("metrics") or {},
            )
            for t in sorted(self.trials.values(), key=lambda t: t["trial"])
            if t.get("stage") == stage and all(p.name in t["parameters"] for p in params)
        ]
        by_name = {p.name: p for p in params}
        points = self.suggester.suggest(told, count)
        return [{**fixed, **{k: by_name[k].value(v) for k, v in point.items()}} for point in points[:count]]

    def families_done(self) -> bool:
        assert self.spec.automl is not None
        name = self.spec.automl.parameter
        done = {t["parameters"].get(name) for t in self.trials.values() if t.get("stage") == "families"}
        return all(f in done for f in self.spec.automl.families)

    def best_family(self) -> str | None:
        scores = self.family_scores()
        best: tuple[str, float] | None = None
        for family, value in scores.items():
            if value is not None and (best is None or self.spec.objective.better(value, best[1])):
                best = (family, value)
        return None if best is None else best[0]

    def family_scores(self) -> dict[str, float | None]:
        assert self.spec.automl is not None
        name = self.spec.automl.parameter
        scores: dict[str, float | None] = {f: None for f in self.spec.automl.families}
        for t in self.trials.values():
            if t.get("stage") == "families" and t["status"] == "succeeded":
                scores[t["parameters"][name]] = t["objective"]
        return scores

    # ------------------------------------------------------------------------------------------------------ trials
    def start_trial(self, stage: str | None, values: dict[str, Any]) -> None:
        number = self.next_trial
        self.next_trial += 1
        self.store.add_trial(self.experiment_id, number, values, stage=stage)
        trial = {"trial": number, "run_id": None, "status": "running", "parameters": values, "stage": stage}
        try:
            run_id = self.runner.start(
                self.pipeline, self.notebook, RunOptions(parameters=values), listener=self._on_run, zygotes=self.zygotes
            )
        except Exception as exc:  # e.g. a value the pipeline parameter refuses: the trial fails, the experiment goes on
            closed = getattr(exc, "code", None) == "run.closed"  # the runner shut down: no trial can run any more
            status = "cancelled" if closed else "failed"
            self.finish_trial({**trial, "status": status, "objective": None, "metrics": {}}, str(exc))
            if closed:
                self.request_cancel("the local runner shut down")
            return
        trial["run_id"] = run_id
        self.running[run_id] = trial
        self.store.update_trial(self.experiment_id, number, run_id=run_id, status="running")
        self.notify_trial(trial)

    def handle(self, event: dict[str, Any]) -> None:
        if event.get("event") != "run" or event["run_id"] not in self.running:
            return
        trial = self.running.pop(event["run_id"])
        run = self.store.get_run(event["run_id"])
        metrics = {k: v for k, v in run["metrics"].items() if isinstance(v, int | float) and not isinstance(v, bool)}
        value = metrics.get(self.spec.objective.metric)
        objective = None if value is None or not math.isfinite(value) else float(value)
        ok = run["status"] == "succeeded" and objective is not None
        status = "succeeded" if ok else "cancelled" if run["status"] == "cancelled" else "failed"
        wanted = (self.spec.objective.metric, *self.spec.objective.additional)
        kept = {k: float(metrics[k]) for k in wanted if k in metrics}
        self.finish_trial({**trial, "status": status, "objective": objective if ok else None, "metrics": kept})

    def finish_trial(self, trial: dict[str, Any], error: str | None = None) -> None:
        number = trial["trial"]
        self.store.update_trial(
            self.experiment_id,
            number,
            status=trial["status"],
            objective=trial["objective"],
            metrics=trial["metrics"],
            finished=time.time(),
        )
        if trial["status"] in FINISHED:  # a cancelled trial (the experiment stops) is not an observation
            self.trials[number] = trial
        self.store.update_experiment(self.experiment_id, result=self.result(None))
        self.notify_trial(trial, error)

    def notify_trial(self, trial: dict[str, Any], error: str | None = None) -> None:
        event = {
            "event": "trial",
            "experiment_id": self.experiment_id,
            "trial": trial["trial"],
            "status": trial["status"],
            "run_id": trial["run_id"],
            "parameters": trial["parameters"],
            "objective": trial.get("objective"),
            "stage": trial.get("stage"),
            "best": self.best(),
        }
        if error:
            event["error"] = error
        self.notify(event)

    def cancel_running(self, reason: str) -> None:
        for run_id in list(self.running):
            self.runner.request_cancel(run_id, reason)
        while self.running:
            self.handle(self.events.get())

    # ------------------------------------------------------------------------------------------------------ result
    def best(self) -> dict[str, Any] | None:
        best = None
        for t in sorted(self.trials.values(), key=lambda t: t["trial"]):
            if t["status"] == "succeeded" and (
                best is None or self.spec.objective.better(t["objective"], best["objective"])
            ):
                best = t
        if best is None:
            return None
        return {k: best[k] for k in ("trial", "run_id", "parameters", "objective")}

    def result(self, reason: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"best": self.best(), "reason": reason, "automl": None}
        if self.automl:
            scores = self.family_scores()
            best = self.family or self.best_family()
            out["automl"] = {"best_family": best, "families": scores}
        return out
