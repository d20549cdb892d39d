"""Tuner: local tuning experiments over a LocalRunner (one per process; the Jupyter server keeps one).

``start`` records the experiment in the notebook's run store and drives it on a thread (engine.ExperimentDriver);
``wait``, ``cancel``, ``resume``, ``get``, ``list`` and ``close`` work on the experiments of the stores it opened. The
experiment dict (``get``) is the store's (store/experiments.py): the JSON of ``kale-ext experiments show --json`` and
of GET /kale/v1/experiments/ID. An experiment whose driving process died is "interrupted" (found when its store is
opened, like runs); ``resume`` continues it under the same id, its finished trials told to a fresh suggester.
Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from typing import Any

from ..errors import NotFoundError
from ..pipeline.model import Pipeline
from ..runners.base import Listener
from ..runners.local.identity import (
    UnsignalableDriverError,
    cancel_foreign_driver,
    process_token,
)
from ..runners.local.runner import LocalRunner
from ..store import Store
from ..store.db import new_run_id
from ..store.experiments import EXPERIMENT_FINAL
from .engine import ExperimentDriver
from .space import ExperimentSpec
from .spec import TuningError, spec_from_json, spec_to_json, validate, with_overrides

RESUMABLE = ("interrupted", "cancelled")


class ExperimentConflictError(TuningError):
    """The experiment is driven by another process that cannot be (or was not, in time) cancelled from here."""

    status = 409
    code = "tune.foreign"


def new_experiment_id() -> str:
    return "exp-" + new_run_id()


def load_pipeline(notebook_path: str) -> tuple[dict[str, Any], Pipeline]:
    from ..analysis import analyze
    from ..notebook import load_notebook, pipeline_name_for

    nb = load_notebook(notebook_path)
    return nb, analyze(nb, name=pipeline_name_for(notebook_path))


class Tuner:
    """``runner.cancel_signal`` (the `kale-ext tune` command's runner: "SIGTERM") is recorded with each experiment as
    the signal on which this process cancels it, so that another process's Tuner (the Jupyter server's) can cancel
    it by sending that signal; None: other processes cannot cancel this process's experiments."""

    foreign_cancel_timeout = 30.0  # seconds a cancel of another process's experiment waits for it to end

    def __init__(self, runner: LocalRunner) -> None:
        self.runner = runner
        self.driver_signal: str | None = getattr(runner, "cancel_signal", None)
        self._drivers: dict[str, ExperimentDriver] = {}
        self._stores: dict[str, Store] = {}
        self._lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------------------------------------------------ stores
    def store_for(self, notebook_path: str) -> Store:
        """The notebook's run store; the first time, its experiments whose driver died are marked interrupted."""
        store = self.runner.store_for(notebook_path)
        with self._lock:
            if store.folder not in self._stores:
                self._stores[store.folder] = store
                store.recover_interrupted_experiments()
        return store

    def _store_of(self, experiment_id: str) -> Store:
        driver = self._drivers.get(experiment_id)
        if driver is not None:
            return driver.store
        stores = list(self._stores.values())
        if self.runner.store is not None and self.runner.store.folder not in self._stores:
            stores.append(self.store_for(self.runner.store.folder))
        for store in stores:
            if store.has_experiment(experiment_id):
                return store
        raise NotFoundError(f"No experiment {experiment_id!r} is known here.", code="experiment.not_found")

    # --------------------------------------------------------------------------------------------------------- API
    def start(
        self,
        notebook_path: str,
        spec: ExperimentSpec,
        *,
        listener: Listener | None = None,
        automl: bool = False,
        pipeline: Pipeline | None = None,
    ) -> str:
        """Record the experiment and start driving it; returns its id at once. ``spec`` is validated already
        (tuning.spec); ``pipeline`` is the notebook's analyzed pipeline (read from the file when None)."""
        if automl and spec.automl is None:
            raise TuningError(
                '--automl needs the notebook\'s model families: metadata.kale_ext.automl = {"parameter": NAME, '
                '"families": {FAMILY: [parameters]}}.',
                code="tune.no_automl",
            )
        notebook = os.path.abspath(notebook_path)
        if pipeline is None:
            pipeline = load_pipeline(notebook)[1]
        store = self.store_for(notebook)
        experiment_id = new_experiment_id()
        if not automl:  # the spec as run: the AutoML block only when its flow runs (resume reads it back so)
            spec = dataclasses.replace(spec, automl=None)
        store.create_experiment(
            experiment_id=experiment_id,
            notebook=notebook,
            name=pipeline.name,
            spec=spec_to_json(spec),
            driver_signal=self.driver_signal,
        )
        self._drive(store, experiment_id, notebook, pipeline, spec, listener, [])
        return experiment_id

    def _drive(
        self,
        store: Store,
        experiment_id: str,
        notebook: str,
        pipeline: Pipeline,
        spec: ExperimentSpec,
        listener: Listener | None,
        trials: list[dict[str, Any]],
    ) -> None:
        driver = ExperimentDriver(
            self.runner, store, experiment_id, notebook, pipeline, spec, listener=listener, trials=trials
        )
        with self._lock:
            if self._closed:
                store.update_experiment(experiment_id, status="cancelled", finished=time.time(), error="shut down")
                raise TuningError("The tuner is shut down; no experiment can start.", code="tune.closed")
            self._drivers[experiment_id] = driver
        driver.start()

    def resume(
        self,
        experiment_id: str,
        *,
        listener: Listener | None = None,
        max_trials: int | None = None,
        parallel: int | None = None,
    ) -> str:
        """Continue an interrupted or cancelled experiment under the same id: its finished trials are told to a fresh
        suggester, and trials run until its budget or a stop rule ends it (the notebook is analyzed again).
        ``max_trials`` (more than the trials finished) and ``parallel`` change its counts; like Katib's restart, a
        larger ``max_trials`` also continues an experiment that succeeded by reaching maxTrialCount."""
        store = self._store_of(experiment_id)
        row = store.experiment_row(experiment_id)
        if row["runner"] == "katib":
            raise TuningError(
                f"Experiment {experiment_id} runs on Katib ({row['external_id']}); Katib's controller restarts its "
                "trials on the cluster, it does not resume here.",
                code="tune.not_resumable",
                details={"status": row["status"]},
            )
        trials = store.trial_rows(experiment_id)
        finished = sum(t["status"] in ("succeeded", "failed") for t in trials)
        if max_trials is not None and max_trials <= finished:
            raise TuningError(
                f"maxTrialCount {max_trials} must be greater than the {finished} trials experiment {experiment_id} "
                "has finished.",
                details={"problems": [f"maxTrialCount must be greater than {finished}."]},
            )
        reason = json.loads(row["result"] or "{}").get("reason")
        extended = max_trials is not None and row["status"] == "succeeded" and reason == "maxTrialCount reached"
        if row["status"] not in RESUMABLE and not extended:
            raise TuningError(
                f"Experiment {experiment_id} is {row['status']}"
                + (f" ({reason})" if reason else "")
                + "; only interrupted or cancelled experiments resume, and one that reached maxTrialCount with a "
                "larger maxTrialCount (--max-trials).",
                code="tune.not_resumable",
                details={"status": row["status"]},
            )
        pipeline = load_pipeline(row["notebook"])[1]
        spec = spec_from_json(json.loads(row["spec"]))
        problems = validate(spec, pipeline)  # the notebook may have changed since: its parameters, its metrics
        if problems:
            raise TuningError(
                f"Experiment {experiment_id} no longer fits its notebook: " + " ".join(problems),
                details={"problems": problems},
            )
        spec = with_overrides(spec, max_trials=max_trials, parallel=parallel, pipeline=pipeline)
        pid = os.getpid()
        store.update_experiment(
            experiment_id,
            status="running",
            finished=None,
            error=None,
            spec=spec_to_json(spec),
            driver_pid=pid,
            driver_token=process_token(pid),
            driver_signal=self.driver_signal,
        )
        self._drive(store, experiment_id, row["notebook"], pipeline, spec, listener, trials)
        return experiment_id

    def wait(self, experiment_id: str, timeout: float | None = None) -> dict[str, Any]:
        driver = self._drivers.get(experiment_id)
        if driver is not None:
            driver.join(timeout)
            if not driver.is_alive():
                self._drivers.pop(experiment_id, None)
        return self.get(experiment_id)

    def request_cancel(self, experiment_id: str, reason: str = "cancelled") -> None:
        """Ask the experiment's driver to cancel it, without waiting (safe in a signal handler)."""
        driver = self._drivers.get(experiment_id)
        if driver is not None:
            driver.request_cancel(reason)

    def cancel(self, experiment_id: str) -> dict[str, Any]:
        """Cancel the experiment (its running trials' runs are cancelled) and return it."""
        driver = self._drivers.get(experiment_id)
        if driver is None:
            return self._cancel_foreign(experiment_id)
        driver.request_cancel()
        return self.wait(experiment_id, 60)

    def _cancel_foreign(self, experiment_id: str) -> dict[str, Any]:
        """An experiment driven by another process: send it its recorded cancel signal (after checking that the pid
        is still the process that started it) and wait for it to end; a dead driver leaves it "interrupted"."""
        store = self._store_of(experiment_id)
        row = store.experiment_row(experiment_id)
        pid = row["driver_pid"]
        details = {"driver_pid": pid, "status": row["status"]}
        if row["status"] != "running":
            store.recover_interrupted_experiments()
            return store.get_experiment(experiment_id)
        try:
            ended = cancel_foreign_driver(
                pid,
                row["driver_token"],
                row.get("driver_signal"),
                ended=lambda: store.experiment_row(experiment_id)["status"] in EXPERIMENT_FINAL,
                recover=store.recover_interrupted_experiments,
                timeout=self.foreign_cancel_timeout,
            )
        except UnsignalableDriverError:
            raise ExperimentConflictError(
                f"Experiment {experiment_id} is driven by another process (pid {pid}) that cannot be cancelled from "
                "here; cancel it there.",
                details=details,
            ) from None
        except PermissionError:
            raise ExperimentConflictError(
                f"Experiment {experiment_id} is driven by process {pid}, which this user may not signal; cancel it "
                "there.",
                details=details,
            ) from None
        if not ended:
            raise ExperimentConflictError(
                f"Experiment {experiment_id}: its driver (pid {pid}) was asked to cancel it but it is still running "
                f"after {self.foreign_cancel_timeout:g} s.",
                code="tune.cancel_timeout",
                details=details,
            )
        return store.get_experiment(experiment_id)

    def get(self, experiment_id: str, *, refresh: bool = False) -> dict[str, Any]:
        """The recorded experiment (NotFoundError "experiment.not_found", a 404: none known here). ``refresh``: a
        running Katib experiment is read from its cluster first and recorded (katib_status.refresh; its KatibError when
        the cluster cannot be read)."""
        store = self._store_of(experiment_id)
        record = store.get_experiment(experiment_id)
        if refresh and record.get("runner") == "katib" and record.get("status") == "running":
            from .katib_status import refresh as refresh_from_cluster

            return refresh_from_cluster(store, record)
        return record

    def list(self, notebook: str | None = None) -> list[dict[str, Any]]:
        if notebook is not None:
            return self.store_for(notebook).list_experiments(notebook)
        found = [e for store in list(self._stores.values()) for e in store.list_experiments()]
        return sorted(found, key=lambda e: e["created"], reverse=True)

    def close(self, timeout: float = 60) -> None:
        """Refuse new experiments, cancel the active ones (reason "server stopped") and wait for them."""
        with self._lock:
            self._closed = True
            drivers = list(self._drivers.values())
        for driver in drivers:
            driver.request_cancel("server stopped")
        for driver in drivers:
            driver.join(timeout)
