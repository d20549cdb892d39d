"""The driver of one local run: a thread that schedules its steps and records every transition in the store.

Steps start in dependency order, at most ``max_parallel`` at once and each holding a slot of the runner-wide pool
(slots.py) while its process lives; a cache hit is answered from the store without starting anything (and without a
slot); the rest go to a launcher (the warm zygote, or a fresh interpreter per step). A failed step skips its
dependents (independent branches finish) or, with fail_fast, cancels everything. All store writes of the run happen on
this thread. Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ...errors import KaleError
from ...steps.failure import StepFailure
from ...steps.program import cache_key, environment_identity
from ...steps.runtime import uses_shell, write_json_atomic
from ...steps.spec import StepSpec
from ...store import Store
from ...syntax import literal_eval
from ..base import Listener, RunnerError
from .identity import kill_group
from .inflight import InFlight
from .launchers import SharedZygoteLauncher, SubprocessLauncher, ZygoteLauncher, ZygotePool
from .slots import Slots


def model_entries(outputs: list[dict[str, Any]], models: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The artifacts to record for a step: its outputs (with the kind of those that are models) and, with role
    "model", the models it bound that no later step reads (result.json's "models", written by steps/models.py)."""
    entries = [{**e, "role": "output", "kind": (models.get(e["name"]) or {}).get("kind")} for e in outputs]
    for model in models.values():
        if model.get("artifact") is not None:
            entries.append({**model["artifact"], "role": "model", "kind": model["kind"]})
    return entries


class RunDriver(threading.Thread):
    """Schedules one run. All store writes of the run happen on this thread.

        ``options["launcher"]`` ("fork" | "subprocess") picks the launcher; ``slots`` is the runner's pool of step processes
        (None: unbounded); ``inflight`` the runner's single-flight of cache keys (None: none); ``zygotes`` a pool of warm
    zygotes shared with other runs (an experiment's trials; None: the run starts its own); ``on_finished(run_id)`` is called once the run's final status is recorded (the runner forgets the
        driver then), so the driver needs nothing of the runner itself.
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        notebook: str,
        specs: list[StepSpec],
        literals: dict[str, str],
        metric_sources: dict[str, str],
        options: dict[str, Any],
        listener: Listener | None,
        *,
        take_snapshot: Callable[[], str] | None = None,
        slots: Slots | None = None,
        on_finished: Callable[[str], None] | None = None,
        inflight: InFlight | None = None,
        zygotes: ZygotePool | None = None,
    ) -> None:
        super().__init__(name=f"kale-run-{run_id}", daemon=True)
        self.zygotes = zygotes
        self.slots = slots
        self.inflight = inflight
        self.claimed: dict[str, str] = {}  # step -> the cache key this run executes (single-flight, inflight.py)
        self.waiting_flight: set[str] = set()  # ready steps whose key another run executes now
        self.on_finished = on_finished
        self.holding: set[str] = set()  # steps whose process holds a slot
        self.waiting_slot = False  # a ready step waits for a slot of the pool
        self.store = store
        self.run_id = run_id
        self.cwd = os.path.dirname(notebook)
        self.specs = {s.name: s for s in specs}
        self.order = [s.name for s in specs]
        self.literals = literals
        self.metric_sources = metric_sources
        self.options = options
        self.listener = listener
        self.take_snapshot = take_snapshot  # the run's workspace snapshot (its id), taken before the first step
        self.run_dir = store.runs_dir(run_id)
        self.events: queue.Queue = queue.Queue()
        self.status = {name: "queued" for name in self.order}
        self.outputs: dict[str, dict[str, dict[str, Any]]] = {}  # step -> var -> artifact (with id)
        self.running: dict[str, int | None] = {}  # step -> pid
        self.cancel_requested = threading.Event()
        self.stopping: str | None = None  # "cancel" | "fail_fast"
        self.cancel_reason: str | None = None  # recorded as the run's error when it ends cancelled
        self.launcher: ZygoteLauncher | SharedZygoteLauncher | SubprocessLauncher | None = None
        self.started: dict[str, float] = {}  # running step -> when its process started
        self.environment = environment_identity()

    # --------------------------------------------------------------------------------------------------- plumbing
    def notify(self, **event: Any) -> None:
        if self.listener is not None:
            try:
                self.listener({"run_id": self.run_id, **event})
            except Exception:
                pass

    def set_step(self, name: str, status: str, **fields: Any) -> None:
        self.status[name] = status
        if "started" in fields:
            self.started[name] = fields["started"]
        self.store.update_step(self.run_id, name, status=status, **fields)
        if status in ("succeeded", "cached", "failed", "cancelled", "skipped") and name in self.claimed:
            assert self.inflight is not None
            self.inflight.release(self.claimed.pop(name), self.run_id)  # the outcome is in the store now
        duration = None
        if "finished" in fields and name in self.started:
            duration = round(fields["finished"] - self.started[name], 3)
        self.notify(
            event="step",
            step=name,
            status=status,
            duration_s=duration,
            **{k: v for k, v in fields.items() if k != "error"},
            error=fields.get("error"),
        )

    def request_cancel(self, reason: str | None = None) -> None:
        if reason and self.cancel_reason is None:
            self.cancel_reason = reason
        self.cancel_requested.set()
        self.events.put({"event": "cancel"})

    # ------------------------------------------------------------------------------------------------------- main
    def run(self) -> None:
        try:
            os.makedirs(self.run_dir, exist_ok=True)
            self.store.update_run(self.run_id, status="running", started=time.time())
            self.notify(event="run", status="running")
            error = self.snapshot_workspace()
            if error is not None:
                final = "failed"
            else:
                self.record_parameter_metrics()
                self.drive()
                final = self.final_status()
                if final == "cancelled":
                    error = self.cancel_reason
        except BaseException as exc:  # the run must never stay "running" because of the driver itself
            final, error = "failed", f"internal error of the local runner: {type(exc).__name__}: {exc}"
            self.kill_running()
        finally:
            if self.launcher is not None:
                self.launcher.close()
            for name in list(self.holding):  # the launcher is closed: none of the run's step processes lives
                self.release_slot(name)
            if self.slots is not None:
                self.slots.withdraw(self.events)
            if self.inflight is not None:
                self.inflight.withdraw(self.events)
        for name in self.order:
            if self.status[name] in ("queued", "running"):
                self.set_step(name, "cancelled", finished=time.time())
        if self.inflight is not None:
            self.inflight.release_all(self.run_id)
        self.store.update_run(self.run_id, status=final, finished=time.time(), error=error)
        if self.on_finished is not None:
            self.on_finished(self.run_id)
        self.notify(event="run", status=final, error=error)

    def snapshot_workspace(self) -> str | None:
        """Take the run's workspace snapshot before any step starts (files unchanged since the last snapshot are not
        read again, so this costs about what changed); the run's error when it cannot be taken (a full disk), else
        None."""
        if self.take_snapshot is None:
            return None
        try:
            snapshot_id = self.take_snapshot()
        except KaleError as exc:
            return f"The workspace snapshot failed, so no step ran: {exc.message}"
        except OSError as exc:
            return f"The workspace snapshot failed, so no step ran: {type(exc).__name__}: {exc}"
        self.store.update_run(self.run_id, snapshot_id=snapshot_id)
        self.notify(event="snapshot", snapshot_id=snapshot_id)
        return None

    def drive(self) -> None:
        while True:
            if self.cancel_requested.is_set() and self.stopping is None:
                self.stop("cancel")
            if self.stopping is None:
                self.schedule()
            if not self.running and not self.waiting_slot and not self.waiting_flight:
                return
            self.handle(self.events.get())

    def final_status(self) -> str:
        if self.stopping == "cancel":
            return "cancelled"
        if all(s in ("succeeded", "cached") for s in self.status.values()):
            return "succeeded"
        return "failed"

    def record_parameter_metrics(self) -> None:
        values = {
            m: literal_eval(self.literals[m])
            for m, src in self.metric_sources.items()
            if not src and m in self.literals
        }
        if values:
            self.store.record_metrics(self.run_id, values, None)

    # -------------------------------------------------------------------------------------------------- scheduling
    def schedule(self) -> None:
        self.waiting_slot = False
        self.waiting_flight = set()
        changed = True
        while changed:
            changed = False
            for name in self.order:
                if self.status[name] != "queued":
                    continue
                deps = [self.status.get(d) for d in self.specs[name].depends_on if d in self.status]
                if any(d in ("failed", "skipped", "cancelled") for d in deps):
                    self.set_step(name, "skipped", finished=time.time())
                    changed = True
                elif all(d in ("succeeded", "cached") for d in deps):
                    if len(self.running) >= self.options["max_parallel"]:
                        return
                    changed = self.start_step(name) or changed

    def inputs_of(self, spec: StepSpec) -> dict[str, dict[str, Any]]:
        found = {}
        for var in spec.inputs:
            producers = [spec.input_sources[var]] if var in spec.input_sources else reversed(spec.depends_on)
            for producer in producers:
                if var in self.outputs.get(producer, {}):
                    found[var] = self.outputs[producer][var]
                    break
            else:
                raise RunnerError(f"Step {spec.name!r} reads {var!r}, which no upstream step produced.")
        return found

    def start_step(self, name: str) -> bool:
        """Reuse the step's cached outputs or launch its process; False when no slot of the pool is free (the driver
        then waits for a "slot" event) or another run executes the same cache key now (it waits for "inflight")."""
        spec = self.specs[name]
        inputs = self.inputs_of(spec)
        key = cache_key(spec, self.literals, {v: a["hash"] for v, a in inputs.items()}, self.environment)
        if self.options["use_cache"] and spec.cache is not False:
            # Claim the key before looking in the cache: the owner records its outcome before it releases the key,
            # so a run that waited finds the step in the cache (no window in which both miss and both execute it).
            if self.inflight is not None:
                if not self.inflight.claim(key, self.run_id, self.events):
                    self.waiting_flight.add(name)
                    return False
                self.claimed[name] = key
            hit = self.store.find_cached(key)
            if hit is not None:
                self.reuse(name, key, hit, inputs)
                return True
        if self.slots is not None:
            if not self.slots.try_acquire(self.events):
                self.waiting_slot = True
                return False
            self.holding.add(name)
        step_dir = os.path.join(self.run_dir, name)
        os.makedirs(step_dir, exist_ok=True)
        job_path = os.path.join(step_dir, "job.json")
        job = {
            "parameters": self.literals,
            "inputs": {
                v: {k: a[k] for k in ("name", "path", "serializer", "hash", "size", "type")} for v, a in inputs.items()
            },
            "output_dir": os.path.join(step_dir, "outputs"),
            "result": os.path.join(step_dir, "result.json"),
        }
        write_json_atomic(job_path, job)
        # Lineage is recorded as the step starts, not when it ends: a step that fails, is cancelled or whose process
        # dies still names the exact artifacts it read (step exploration loads them to debug the failure).
        self.store.record_lineage(self.run_id, name, {v: a["id"] for v, a in inputs.items()})
        launcher = self.get_launcher()
        self.running[name] = None
        self.set_step(name, "running", started=time.time(), cache_key=key)
        launcher.launch(spec, job_path, os.path.join(step_dir, "log.txt"))
        return True

    def release_slot(self, name: str) -> None:
        if name in self.holding:
            self.holding.discard(name)
            assert self.slots is not None
            self.slots.release()

    def get_launcher(self) -> ZygoteLauncher | SharedZygoteLauncher | SubprocessLauncher:
        if self.launcher is None:
            if self.options["launcher"] == "fork":
                first = next(iter(self.specs.values()))
                sources = [c["source"] for s in self.specs.values() for c in (s.cells + s.prelude)]
                plan = {
                    "pipeline": first.pipeline,
                    "prelude": first.prelude,
                    "parameters": self.literals,
                    "uses_shell": uses_shell(sources),
                }
                probes = os.path.join(self.store.folder, "probes")
                if self.zygotes is not None:
                    self.launcher = self.zygotes.launcher(self.run_id, self.cwd, plan, self.events, probe_dir=probes)
                else:
                    self.launcher = ZygoteLauncher(self.run_dir, self.cwd, plan, self.events, probe_dir=probes)
            else:
                self.launcher = SubprocessLauncher(self.cwd, self.events)
        return self.launcher

    def reuse(self, name: str, key: str, hit: dict[str, Any], inputs: dict[str, dict[str, Any]]) -> None:
        # The cached step's model artifacts (role "model") are recorded too, so the run can serve them.
        ids = self.store.record_artifacts(self.run_id, name, hit["artifacts"])
        self.outputs[name] = {
            a["name"]: {**a, "id": ids[a["name"]]} for a in hit["artifacts"] if a.get("role", "output") == "output"
        }
        self.store.record_lineage(self.run_id, name, {v: a["id"] for v, a in inputs.items()})
        if hit["metrics"]:
            self.store.record_metrics(self.run_id, hit["metrics"], name)
        now = time.time()
        self.set_step(name, "cached", cached=1, cached_from=hit["run_id"], cache_key=key, started=now, finished=now)

    # ----------------------------------------------------------------------------------------------------- events
    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "started" and event["step"] in self.running:
            self.running[event["step"]] = event["pid"]
            # The step's own start: with a zygote, the first step waits for the prelude before it is forked.
            self.started[event["step"]] = time.time()
            self.store.update_step(self.run_id, event["step"], pid=event["pid"], started=self.started[event["step"]])
            if self.stopping:
                self.kill_running()
        elif kind == "exited" and event["step"] in self.running:
            self.finish_step(event["step"], event["code"])
        elif kind == "launcher_died":
            self.kill_running()  # each step leads its own session: without this, steps outlive their dead launcher
            for name in list(self.running):
                self.running.pop(name)
                self.release_slot(name)
                self.set_step(
                    name,
                    "cancelled" if self.stopping else "failed",
                    finished=time.time(),
                    error=None if self.stopping else StepFailure.launcher_died(event["code"], event["log"]).to_json(),
                )
            if not self.stopping:
                self.stop("fail_fast")

    def finish_step(self, name: str, code: int) -> None:
        self.running.pop(name)
        self.release_slot(name)  # the step's process has exited
        step_dir = os.path.join(self.run_dir, name)
        try:
            with open(os.path.join(step_dir, "result.json")) as f:
                result = json.load(f)
        except (OSError, ValueError):
            result = None
        now = time.time()
        if code == 0 and result is not None and result.get("status") == "succeeded":
            entries = list(result["outputs"].values())
            ids = self.store.record_artifacts(self.run_id, name, model_entries(entries, result.get("models") or {}))
            self.outputs[name] = {e["name"]: {**e, "id": ids[e["name"]]} for e in entries}
            if result.get("metrics"):
                self.store.record_metrics(self.run_id, result["metrics"], name)
            self.set_step(name, "succeeded", finished=now, exit_code=code, timings=result.get("timings"))
            return
        if self.stopping == "cancel" or (self.stopping and code < 0):
            self.set_step(name, "cancelled", finished=now, exit_code=code)
            return
        error = (result or {}).get("error") or StepFailure.process_exited(code).to_json()
        self.set_step(name, "failed", finished=now, exit_code=code, error=error, timings=(result or {}).get("timings"))
        if self.options["fail_fast"] and not self.stopping:
            self.stop("fail_fast")

    def stop(self, reason: str) -> None:
        self.stopping = reason
        self.waiting_slot = False
        self.waiting_flight = set()
        if self.slots is not None:
            self.slots.withdraw(self.events)
        if self.inflight is not None:
            self.inflight.withdraw(self.events)
        for name in self.order:
            if self.status[name] == "queued":
                self.set_step(name, "cancelled", finished=time.time())
        self.kill_running()

    def kill_running(self) -> None:
        if self.launcher is not None:
            self.launcher.kill_all()
        for pid in self.running.values():
            if pid:
                kill_group(pid)
