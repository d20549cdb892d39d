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
import uuid
from typing import Any

from ..errors import NotFoundError
from ..pipeline.model import Pipeline
from ..runners.base import Listener
from ..runners.local.identity import driver_alive, process_token
from ..runners.local.runner import LocalRunner
from ..store import Store
from .engine import ExperimentDriver
from .space import ExperimentSpec
from .spec import TuningError, spec_from_json, spec_to_json

RESUMABLE = ("interrupted", "cancelled")


def new_experiment_id() -> str:
    return "exp-" + time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def load_pipeline(notebook_path: str) -> tuple[dict[str, Any], Pipeline]:
    from ..analysis import analyze
    from ..notebook import load_notebook, pipeline_name_for

    nb = load_notebook(notebook_path)
    return nb, analyze(nb, name=pipeline_name_for(notebook_path))


class Tuner:
    def __init__(self, runner: LocalRunner) -> None:
        self.runner = runner
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
            experiment_id=experiment_id, notebook=notebook, name=pipeline.name, spec=spec_to_json(spec)
        )
        self._drive(store, experiment_id, notebook, pipeline, spec, automl, listener, [])
        return experiment_id

    def _drive(
        self,
        store: Store,
        experiment_id: str,
        notebook: str,
        pipeline: Pipeline,
        spec: ExperimentSpec,
        automl: bool,
        listener: Listener | None,
        trials: list[dict[str, Any]],
    ) -> None:
        driver = ExperimentDriver(
            self.runner, store, experiment_id, notebook, pipeline, spec, automl=automl, listener=listener, trials=trials
        )
        with self._lock:
            if self._closed:
                store.update_experiment(experiment_id, status="cancelled", finished=time.time(), error="shut down")
                raise TuningError("The tuner is shut down; no experiment can start.", code="tune.closed")
            self._drivers[experiment_id] = driver
        driver.start()

    def resume(self, experiment_id: str, *, listener: Listener | None = None) -> str:
        """Continue an interrupted or cancelled experiment under the same id: its finished trials are told to a fresh
        suggester, and trials run until its budget or a stop rule ends it (the notebook is analyzed again)."""
        store = self._store_of(experiment_id)
        row = store.experiment_row(experiment_id)
        if row["status"] not in RESUMABLE:
            raise TuningError(
                f"Experiment {experiment_id} is {row['status']}; only interrupted or cancelled experiments resume.",
                code="tune.not_resumable",
                details={"status": row["status"]},
            )
        spec = spec_from_json(json.loads(row["spec"]))
        pipeline = load_pipeline(row["notebook"])[1]
        pid = os.getpid()
        store.update_experiment(
            experiment_id, status="running", finished=None, error=None, driver_pid=pid, driver_token=process_token(pid)
        )
        trials = store.trial_rows(experiment_id)
        self._drive(store, experiment_id, row["notebook"], pipeline, spec, spec.automl is not None, listener, trials)
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
            store = self._store_of(experiment_id)
            row = store.experiment_row(experiment_id)
            if row["status"] == "running" and driver_alive(row["driver_pid"], row["driver_token"]):
                raise TuningError(
                    f"Experiment {experiment_id} is driven by another process (pid {row['driver_pid']}); cancel it "
                    "there (Ctrl+C or SIGTERM to its kale-ext tune).",
                    code="tune.foreign",
                    details={"driver_pid": row["driver_pid"]},
                )
            store.recover_interrupted_experiments()
            return store.get_experiment(experiment_id)
        driver.request_cancel()
        return self.wait(experiment_id, 60)

    def get(self, experiment_id: str) -> dict[str, Any]:
        return self._store_of(experiment_id).get_experiment(experiment_id)

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
