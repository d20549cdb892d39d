"""The store's records of tuning experiments and their trials (tables of migration 4).

A mixin of Store (db.py): it uses only ``self._conn()``. An experiment row carries the spec as run (JSON), its status,
the process driving it (pid and start-time token, like a run's driver: a dead driver leaves it "interrupted", see
``recover_interrupted_experiments``) and its result (best trial, AutoML's families, why it stopped). A trial row is one
suggested assignment: its number, the pipeline run that evaluates it, its status, objective and metrics.
``get_experiment`` answers the experiment dict of the contract (the JSON of ``kale-ext experiments show --json``).
Plain Python (sqlite3 only); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from ..errors import NotFoundError
from ..runners.local.identity import driver_alive, process_token
from .connection import Connection

EXPERIMENT_COLUMNS = frozenset({"status", "finished", "error", "result", "external_id", "driver_pid", "driver_token"})
TRIAL_COLUMNS = frozenset({"run_id", "status", "objective", "metrics", "finished"})
EXPERIMENT_FINAL = ("succeeded", "failed", "cancelled", "interrupted")
INTERRUPTED = (
    "The process driving this experiment stopped before it finished; `kale-ext tune --resume ID` continues it."
)


def _json(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


class Experiments:
    def _conn(self) -> Connection:  # pragma: no cover - Store defines it
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------------------ writes
    def create_experiment(
        self,
        *,
        experiment_id: str,
        notebook: str,
        name: str,
        spec: dict[str, Any],
        runner: str = "local",
        external_id: str | None = None,
        status: str = "running",
    ) -> None:
        """Recorded as driven by this process (a local experiment's driver); ``spec`` is the JSON of the spec."""
        pid = os.getpid()
        with self._conn() as c:
            c.execute(
                "INSERT INTO experiments (experiment_id, notebook, name, runner, external_id, spec, status, created, "
                "driver_pid, driver_token) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    experiment_id,
                    os.path.abspath(notebook),
                    name,
                    runner,
                    external_id,
                    json.dumps(spec),
                    status,
                    time.time(),
                    pid,
                    process_token(pid),
                ),
            )

    def update_experiment(self, experiment_id: str, **fields: Any) -> None:
        self._set("experiments", EXPERIMENT_COLUMNS, "experiment_id = ?", (experiment_id,), fields)

    def add_trial(
        self, experiment_id: str, trial: int, parameters: dict[str, Any], *, stage: str | None = None
    ) -> None:
        with self._conn() as c:
            c.execute(
                "INSERT INTO trials (experiment_id, trial, status, parameters, stage, created) VALUES (?,?,?,?,?,?)",
                (experiment_id, trial, "pending", json.dumps(parameters), stage, time.time()),
            )

    def update_trial(self, experiment_id: str, trial: int, **fields: Any) -> None:
        self._set("trials", TRIAL_COLUMNS, "experiment_id = ? AND trial = ?", (experiment_id, trial), fields)

    def _set(
        self, table: str, allowed: frozenset[str], where: str, key: tuple[Any, ...], fields: dict[str, Any]
    ) -> None:
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise ValueError(
                f"Cannot set {', '.join(map(repr, unknown))} on {table} (one of {', '.join(sorted(allowed))})."
            )
        columns = sorted(allowed.intersection(fields))  # the SQL text comes from the constant set only
        if not columns:
            return
        assignments = ", ".join(f"{k} = ?" for k in columns)
        with self._conn() as c:
            c.execute(f"UPDATE {table} SET {assignments} WHERE {where}", (*[_json(fields[k]) for k in columns], *key))

    # ------------------------------------------------------------------------------------------------------- reads
    def experiment_row(self, experiment_id: str) -> dict[str, Any]:
        row = self._conn().execute("SELECT * FROM experiments WHERE experiment_id = ?", (experiment_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"No experiment {experiment_id!r} in this run store.", code="experiment.not_found")
        return dict(row)

    def has_experiment(self, experiment_id: str) -> bool:
        c = self._conn()
        return c.execute("SELECT 1 FROM experiments WHERE experiment_id = ?", (experiment_id,)).fetchone() is not None

    def trial_rows(self, experiment_id: str) -> list[dict[str, Any]]:
        rows = self._conn().execute("SELECT * FROM trials WHERE experiment_id = ? ORDER BY trial", (experiment_id,))
        return [_trial(dict(r)) for r in rows]

    def get_experiment(self, experiment_id: str) -> dict[str, Any]:
        """The experiment dict of the contract: its fields, spec, best trial, trials, AutoML result, reason."""
        c = self._conn()
        with c.snapshot():
            row = self.experiment_row(experiment_id)
            trials = self.trial_rows(experiment_id)
        return _experiment(row, trials)

    def list_experiments(self, notebook: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first, each the full experiment dict (trials included)."""
        c = self._conn()
        with c.snapshot():
            if notebook is None:
                rows = c.execute("SELECT * FROM experiments ORDER BY created DESC LIMIT ?", (limit,)).fetchall()
            else:
                rows = c.execute(
                    "SELECT * FROM experiments WHERE notebook = ? ORDER BY created DESC LIMIT ?",
                    (os.path.abspath(notebook), limit),
                ).fetchall()
            ids = [r["experiment_id"] for r in rows]
            trials: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
            if ids:
                marks = ",".join("?" * len(ids))
                for t in c.execute(f"SELECT * FROM trials WHERE experiment_id IN ({marks}) ORDER BY trial", ids):
                    trials[t["experiment_id"]].append(_trial(dict(t)))
        return [_experiment(dict(r), trials[r["experiment_id"]]) for r in rows]

    # ------------------------------------------------------------------------------------------------------ recovery
    def recover_interrupted_experiments(
        self, *, alive: Callable[[int | None, str | None], bool] = driver_alive
    ) -> list[str]:
        """Mark the running local experiments whose driver process is gone "interrupted", and their unfinished trials
        too; returns the experiments marked."""
        c = self._conn()
        rows = c.execute(
            "SELECT experiment_id, driver_pid, driver_token FROM experiments WHERE runner = 'local' "
            "AND status = 'running'"
        ).fetchall()
        lost = [r["experiment_id"] for r in rows if not alive(r["driver_pid"], r["driver_token"])]
        now = time.time()
        for experiment_id in lost:
            with c:
                c.execute(
                    "UPDATE experiments SET status = 'interrupted', finished = ?, error = ? "
                    "WHERE experiment_id = ? AND status = 'running'",
                    (now, INTERRUPTED, experiment_id),
                )
                c.execute(
                    "UPDATE trials SET status = 'interrupted', finished = coalesce(finished, ?) "
                    "WHERE experiment_id = ? AND status IN ('pending', 'running')",
                    (now, experiment_id),
                )
        return lost


def _trial(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "trial": row["trial"],
        "run_id": row["run_id"],
        "status": row["status"],
        "parameters": json.loads(row["parameters"]),
        "objective": row["objective"],
        "metrics": json.loads(row["metrics"]) if row["metrics"] else {},
        "stage": row["stage"],
        "created": row["created"],
        "finished": row["finished"],
    }


def _experiment(row: dict[str, Any], trials: list[dict[str, Any]]) -> dict[str, Any]:
    result = json.loads(row["result"]) if row["result"] else {}
    return {
        "experiment_id": row["experiment_id"],
        "notebook": row["notebook"],
        "name": row["name"],
        "runner": row["runner"],
        "external_id": row["external_id"],
        "status": row["status"],
        "created": row["created"],
        "finished": row["finished"],
        "error": row["error"],
        "spec": json.loads(row["spec"]),
        "best": result.get("best"),
        "trials": trials,
        "automl": result.get("automl"),
        "reason": result.get("reason"),
    }
