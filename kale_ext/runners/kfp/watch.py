"""Watching one KFP run: a thread that polls ``GET /apis/v2beta1/runs/{id}`` and maps the run's state and its tasks'
states (``run_details.task_details``, matched to steps by their display name, the step's name) onto the store.

KFP run states -> run status: PENDING queued; RUNNING, CANCELING, PAUSED running; SUCCEEDED succeeded; FAILED failed;
CANCELED cancelled; SKIPPED cancelled (KFP did not execute it). Task states -> step status: PENDING queued; RUNNING,
CANCELING running; SUCCEEDED succeeded; SKIPPED skipped; FAILED failed; CANCELED cancelled. When the run ends, steps KFP
never reported end with it (succeeded with a succeeded run, else skipped or cancelled). A KFP API that does not answer
(unreachable, 5xx, credentials refused) leaves the run "unknown" with the reason as its error; polling goes on, and
the next answer sets the real state and clears the reason. Metrics are not read: the v2beta1 API does not serve
metric values (they live in ML Metadata); the KFP UI shows them.

Plain Python (kfp through client.py); never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...errors import KaleError
from ...store import Store
from ..base import Listener

if TYPE_CHECKING:
    from .runner import KfpRunner

ACTIVE = ("queued", "running", "unknown")
RUN_STATES = {
    "PENDING": "queued",
    "RUNNING": "running",
    "CANCELING": "running",
    "PAUSED": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "CANCELED": "cancelled",
    "SKIPPED": "cancelled",
}
TASK_STATES = {
    "PENDING": "queued",
    "RUNNING": "running",
    "CANCELING": "running",
    "SUCCEEDED": "succeeded",
    "SKIPPED": "skipped",
    "FAILED": "failed",
    "CANCELED": "cancelled",
}
MAX_BACKOFF = 30.0


def _ts(value: Any) -> float | None:
    if isinstance(value, datetime):
        t = value.timestamp()
        return t if t > 0 else None
    return None


def _message(status: Any) -> str | None:
    return (getattr(status, "message", None) or None) if status is not None else None


class Watch(threading.Thread):
    def __init__(
        self,
        runner: KfpRunner,
        store: Store,
        run_id: str,
        listener: Listener | None,
        *,
        on_finished: Callable[[str], None],
    ) -> None:
        super().__init__(name=f"kale-kfp-watch-{run_id}", daemon=True)
        self.runner, self.store, self.run_id = runner, store, run_id
        self.listener = listener
        self.on_finished = on_finished
        row = store.run_row(run_id)
        self.external_id = row["external_id"]
        self.recorded = json.loads(row["options"]).get("kfp") or {}
        self._wake = threading.Event()

    def poke(self) -> None:
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def run(self) -> None:
        client = None
        backoff = self.runner.poll_interval
        try:
            while not self.runner.closed:
                try:
                    if client is None:
                        client = self.runner.connect(self.recorded)
                    found = client.call(client.client.get_run, self.external_id, what="the run's state")
                except (KaleError, ValueError, TypeError) as exc:  # unreachable, refused, or an answer kfp cannot read
                    client = None
                    self._unknown(exc.message if isinstance(exc, KaleError) else f"unreadable answer: {exc}")
                    self._sleep(backoff)
                    backoff = min(MAX_BACKOFF, backoff * 2)
                    continue
                backoff = self.runner.poll_interval
                if self.apply(found):
                    return
                self._sleep(self.runner.poll_interval)
        finally:
            self.on_finished(self.run_id)

    def _emit(self, event: dict[str, Any]) -> None:
        if self.listener is not None:
            self.listener({"run_id": self.run_id, **event})

    def _unknown(self, reason: str) -> None:
        row = self.store.run_row(self.run_id)
        error = f"The KFP API does not answer; watching resumes when it does: {reason}"
        if row["status"] != "unknown" or row["error"] != error:
            self.store.update_run(self.run_id, status="unknown", error=error)
            self._emit({"event": "run", "status": "unknown", "error": error})

    def apply(self, kfp_run: Any) -> bool:
        """Record what KFP answered; True once the run is final."""
        state = str(getattr(kfp_run, "state", None) or "PENDING")
        status = RUN_STATES.get(state, "queued")
        current = self.store.get_run(self.run_id)
        tasks = getattr(getattr(kfp_run, "run_details", None), "task_details", None) or []
        by_name = {getattr(t, "display_name", None): t for t in tasks}
        for step in current["steps"]:  # in the plan's order, so progress reads top to bottom
            if step["name"] in by_name:
                self._apply_task(step, by_name[step["name"]])
        final = status in ("succeeded", "failed", "cancelled")
        if final:
            self._close_steps(status)
        started = current["started"] or _ts(getattr(kfp_run, "created_at", None))
        fields: dict[str, Any] = {"status": status}
        if status != "queued":
            fields["started"] = started
        fields["error"] = _message(getattr(kfp_run, "error", None)) if status == "failed" else None
        if status == "cancelled" and state == "SKIPPED":
            fields["error"] = "KFP skipped the run."
        if final:
            fields["finished"] = _ts(getattr(kfp_run, "finished_at", None)) or time.time()
        if status != current["status"] or fields.get("error") != current["error"] or final:
            self.store.update_run(self.run_id, **fields)
            if status != current["status"]:
                self._emit({"event": "run", "status": status})
        return final

    def _apply_task(self, step: dict[str, Any], task: Any) -> None:
        status = TASK_STATES.get(str(getattr(task, "state", None) or "PENDING"), "queued")
        started, finished = _ts(getattr(task, "start_time", None)), _ts(getattr(task, "end_time", None))
        error = _message(getattr(task, "error", None))
        fields: dict[str, Any] = {"status": status}
        if started:
            fields["started"] = started
        if finished and status not in ("queued", "running"):
            fields["finished"] = finished
        if status == "failed":
            fields["error"] = {
                "type": "KfpTaskFailed",
                "message": error or "the KFP task failed",
                "cell": None,
                "line": None,
                "traceback": None,
            }
        if status == step["status"] and fields.get("started", step["started"]) == step["started"]:
            return
        self.store.update_step(self.run_id, step["name"], **fields)
        event: dict[str, Any] = {"event": "step", "step": step["name"], "status": status}
        if started and finished:
            event["duration_s"] = round(finished - started, 3)
        if "error" in fields:
            event["error"] = fields["error"]
        if status != step["status"]:
            self._emit(event)

    def _close_steps(self, run_status: str) -> None:
        now = time.time()
        for step in self.store.get_run(self.run_id)["steps"]:
            if step["status"] in ("queued", "running"):
                if run_status == "succeeded":
                    status = "succeeded"
                else:
                    status = "cancelled" if step["status"] == "running" else "skipped"
                self.store.update_step(self.run_id, step["name"], status=status, finished=now)
                self._emit({"event": "step", "step": step["name"], "status": status})
