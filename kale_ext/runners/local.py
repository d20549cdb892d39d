"""LocalRunner: runs a pipeline on this machine, each step in its own process, independent branches in parallel.

A driver thread per run schedules steps in dependency order (at most ``max_parallel`` at once), answers cache hits
from the store without starting anything, launches the rest through a warm zygote (or fresh interpreters where fork is
unavailable), and records every transition in the store, so that any process can watch the run. Never imports tornado
or jupyter_server.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from typing import Any

from ..errors import NotFoundError
from ..pipeline.model import Pipeline
from ..steps.program import cache_key, environment_identity
from ..steps.runtime import uses_shell, write_json_atomic
from ..steps.spec import StepSpec, build_specs
from ..store import RUN_FINAL, Store, store_dir_for
from ..store.db import new_run_id
from . import params as params_mod
from .base import Listener, Runner, RunnerError
from .processes import SubprocessLauncher, ZygoteLauncher, fork_available

LOG_CHUNK = 1 << 20


class LocalRunner(Runner):
    """``LocalRunner(store)`` keeps every run in ``store``; ``LocalRunner()`` uses each notebook's own store
    (``.kale/`` beside it, or ``$KALE_EXT_HOME``)."""

    name = "local"

    def __init__(self, store: Store | None = None, *, use_fork: bool | None = None) -> None:
        self.store = store
        self.use_fork = fork_available() if use_fork is None else use_fork
        self._stores: dict[str, Store] = {store.folder: store} if store else {}
        self._drivers: dict[str, _RunDriver] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------------------ stores
    def store_for(self, notebook_path: str) -> Store:
        if self.store is not None:
            return self.store
        folder = store_dir_for(notebook_path)
        with self._lock:
            if folder not in self._stores:
                self._stores[folder] = Store(folder)
            return self._stores[folder]

    def _store_of(self, run_id: str) -> Store:
        driver = self._drivers.get(run_id)
        if driver is not None:
            return driver.store
        for store in list(self._stores.values()):
            if store.has_run(run_id):
                return store
        raise NotFoundError(f"No run {run_id!r} is known to this runner.", code="run.not_found")

    # --------------------------------------------------------------------------------------------------------- API
    def start(
        self,
        pipeline: Pipeline,
        notebook_path: str,
        params: dict[str, Any] | None = None,
        *,
        max_parallel: int | None = None,
        use_cache: bool = True,
        fail_fast: bool = False,
        listener: Listener | None = None,
        raw_params: dict[str, str] | None = None,
    ) -> str:
        """See kale_ext.runners.base. ``raw_params`` are command-line texts (``--param N=V``), parsed as literals."""
        if pipeline.has_errors:
            errors = [d for d in pipeline.diagnostics if d.severity == "error"]
            first = errors[0]
            where = f" (cell {first.cell}, line {first.line})" if first.cell is not None else ""
            raise RunnerError(
                f"The notebook has {len(errors)} analysis error(s); first: {first.message}{where}. "
                "Fix them (see `kale-ext analyze`) before running.",
                code="run.analysis_errors",
                details={"diagnostics": [d.to_json() for d in errors]},
            )
        if not pipeline.steps:
            raise RunnerError("The notebook has no pipeline steps: tag code cells with step:NAME.", code="run.no_steps")
        if max_parallel is not None and (not isinstance(max_parallel, int) or max_parallel < 1):
            raise RunnerError(f"max_parallel must be a positive integer, got {max_parallel!r}.")
        values = params_mod.resolve(pipeline.parameters, params, raw_params)
        literals = params_mod.to_literals(values)
        specs = build_specs(pipeline)
        return self._start(
            notebook_path,
            pipeline.name,
            specs,
            literals,
            dict(pipeline.metric_sources),
            max_parallel or os.cpu_count() or 1,
            use_cache,
            fail_fast,
            listener,
            None,
        )

    def _start(
        self,
        notebook_path: str,
        pipeline_name: str,
        specs: list[StepSpec],
        literals: dict[str, str],
        metric_sources: dict[str, str],
        max_parallel: int,
        use_cache: bool,
        fail_fast: bool,
        listener: Listener | None,
        resumed_from: str | None,
    ) -> str:
        notebook = os.path.abspath(notebook_path)
        store = self.store_for(notebook)
        run_id = new_run_id()
        options = {
            "use_cache": use_cache,
            "fail_fast": fail_fast,
            "max_parallel": max_parallel,
            "launcher": "fork" if self.use_fork else "subprocess",
        }
        store.create_run(
            run_id=run_id,
            notebook=notebook,
            pipeline=pipeline_name,
            parameters=literals,
            options=options,
            plan=[s.to_json() for s in specs],
            metric_sources=metric_sources,
            resumed_from=resumed_from,
        )
        driver = _RunDriver(self, store, run_id, notebook, specs, literals, metric_sources, options, listener)
        with self._lock:
            self._drivers[run_id] = driver
        driver.start()
        return run_id

    def resume(self, run_id: str, *, listener: Listener | None = None) -> str:
        store = self._store_of(run_id)
        row = store.run_row(run_id)
        if row["status"] not in ("interrupted", "failed", "cancelled"):
            raise RunnerError(
                f"Run {run_id} is {row['status']}; only interrupted, failed or cancelled runs resume.",
                code="run.not_resumable",
            )
        options = json.loads(row["options"])
        specs = [StepSpec.from_json(s) for s in json.loads(row["plan"])]
        return self._start(
            row["notebook"],
            row["pipeline"],
            specs,
            json.loads(row["parameters"]),
            json.loads(row["metric_sources"]),
            options.get("max_parallel") or os.cpu_count() or 1,
            True,
            options.get("fail_fast", False),
            listener,
            run_id,
        )

    def wait(self, run_id: str, timeout: float | None = None) -> dict[str, Any]:
        driver = self._drivers.get(run_id)
        if driver is not None:
            driver.join(timeout)
        return self.get_run(run_id)

    def cancel(self, run_id: str) -> dict[str, Any]:
        driver = self._drivers.get(run_id)
        if driver is None:
            run = self.get_run(run_id)
            if run["status"] in RUN_FINAL:
                return run
            raise RunnerError(
                f"Run {run_id} is driven by another process; cancel it there.",
                code="run.foreign",
                details={"status": run["status"]},
            )
        driver.request_cancel()
        driver.join(30)
        return self.get_run(run_id)

    def list_runs(self, notebook: str | None = None) -> list[dict[str, Any]]:
        if notebook is not None:
            return self.store_for(notebook).list_runs(notebook)
        runs = [r for store in list(self._stores.values()) for r in store.list_runs()]
        return sorted(runs, key=lambda r: r["created"], reverse=True)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._store_of(run_id).get_run(run_id)

    def read_log(self, run_id: str, step: str, offset: int = 0) -> tuple[str, int]:
        run = self.get_run(run_id)
        match = [s for s in run["steps"] if s["name"] == step]
        if not match:
            raise NotFoundError(f"Run {run_id} has no step {step!r}.", code="step.not_found")
        return read_text(match[0]["log_path"], offset)


def read_text(path: str, offset: int = 0, limit: int = LOG_CHUNK) -> tuple[str, int]:
    """Up to ``limit`` bytes from ``offset``; never splits a UTF-8 character (the next read starts at it)."""
    if offset < 0:
        raise RunnerError(f"offset must be >= 0, got {offset}.")
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(limit)
    except FileNotFoundError:
        return "", offset
    cut = len(data)
    for back in range(1, min(4, len(data)) + 1):
        b = data[-back]
        if b & 0xC0 == 0x80:
            continue
        if b & 0x80 and back < _utf8_len(b):
            cut = len(data) - back
        break
    return data[:cut].decode("utf-8", errors="replace"), offset + cut


def _utf8_len(lead: int) -> int:
    return 4 if lead >= 0xF0 else 3 if lead >= 0xE0 else 2 if lead >= 0xC0 else 1


class _RunDriver(threading.Thread):
    """Schedules one run. All store writes of the run happen on this thread."""

    def __init__(
        self,
        runner: LocalRunner,
        store: Store,
        run_id: str,
        notebook: str,
        specs: list[StepSpec],
        literals: dict[str, str],
        metric_sources: dict[str, str],
        options: dict[str, Any],
        listener: Listener | None,
    ) -> None:
        super().__init__(name=f"kale-run-{run_id}", daemon=True)
        self.runner = runner
        self.store = store
        self.run_id = run_id
        self.cwd = os.path.dirname(notebook)
        self.specs = {s.name: s for s in specs}
        self.order = [s.name for s in specs]
        self.literals = literals
        self.metric_sources = metric_sources
        self.options = options
        self.listener = listener
        self.run_dir = store.runs_dir(run_id)
        self.events: queue.Queue = queue.Queue()
        self.status = {name: "queued" for name in self.order}
        self.outputs: dict[str, dict[str, dict[str, Any]]] = {}  # step -> var -> artifact (with id)
        self.running: dict[str, int | None] = {}  # step -> pid
        self.cancel_requested = threading.Event()
        self.stopping: str | None = None  # "cancel" | "fail_fast"
        self.launcher: ZygoteLauncher | SubprocessLauncher | None = None
        self.pending_inputs: dict[str, tuple[dict[str, int], str]] = {}  # running step -> (input artifact ids, key)
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
        self.store.update_step(self.run_id, name, status=status, **fields)
        self.notify(
            event="step",
            step=name,
            status=status,
            **{k: v for k, v in fields.items() if k != "error"},
            error=fields.get("error"),
        )

    def request_cancel(self) -> None:
        self.cancel_requested.set()
        self.events.put({"event": "cancel"})

    # ------------------------------------------------------------------------------------------------------- main
    def run(self) -> None:
        try:
            os.makedirs(self.run_dir, exist_ok=True)
            self.store.update_run(self.run_id, status="running", started=time.time())
            self.notify(event="run", status="running")
            self.record_parameter_metrics()
            self.drive()
            final, error = self.final_status(), None
        except BaseException as exc:  # the run must never stay "running" because of the driver itself
            final, error = "failed", f"internal error of the local runner: {type(exc).__name__}: {exc}"
            self.kill_running()
        finally:
            if self.launcher is not None:
                self.launcher.close()
        for name in self.order:
            if self.status[name] in ("queued", "running"):
                self.set_step(name, "cancelled", finished=time.time())
        self.store.update_run(self.run_id, status=final, finished=time.time(), error=error)
        with self.runner._lock:  # the store answers for finished runs; keep no per-run state around
            self.runner._drivers.pop(self.run_id, None)
        self.notify(event="run", status=final, error=error)

    def drive(self) -> None:
        while True:
            if self.cancel_requested.is_set() and self.stopping is None:
                self.stop("cancel")
            if self.stopping is None:
                self.schedule()
            if not self.running:
                return
            self.handle(self.events.get())

    def final_status(self) -> str:
        if self.stopping == "cancel":
            return "cancelled"
        if all(s in ("succeeded", "cached") for s in self.status.values()):
            return "succeeded"
        return "failed"

    def record_parameter_metrics(self) -> None:
        import ast

        values = {
            m: ast.literal_eval(self.literals[m])
            for m, src in self.metric_sources.items()
            if not src and m in self.literals
        }
        if values:
            self.store.record_metrics(self.run_id, values, None)

    # -------------------------------------------------------------------------------------------------- scheduling
    def schedule(self) -> None:
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
                    self.start_step(name)
                    changed = True

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

    def start_step(self, name: str) -> None:
        spec = self.specs[name]
        inputs = self.inputs_of(spec)
        key = cache_key(spec, self.literals, {v: a["hash"] for v, a in inputs.items()}, self.environment)
        if self.options["use_cache"]:
            hit = self.store.find_cached(key)
            if hit is not None:
                self.reuse(name, key, hit, inputs)
                return
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
        self.pending_inputs[name] = ({v: a["id"] for v, a in inputs.items()}, key)
        launcher = self.get_launcher()
        self.running[name] = None
        self.set_step(name, "running", started=time.time(), cache_key=key)
        launcher.launch(spec, job_path, os.path.join(step_dir, "log.txt"))

    def get_launcher(self) -> ZygoteLauncher | SubprocessLauncher:
        if self.launcher is None:
            if self.runner.use_fork:
                first = next(iter(self.specs.values()))
                sources = [c["source"] for s in self.specs.values() for c in (s.cells + s.prelude)]
                plan = {
                    "pipeline": first.pipeline,
                    "prelude": first.prelude,
                    "parameters": self.literals,
                    "uses_shell": uses_shell(sources),
                }
                self.launcher = ZygoteLauncher(self.run_dir, self.cwd, plan, self.events)
            else:
                self.launcher = SubprocessLauncher(self.cwd, self.events)
        return self.launcher

    def reuse(self, name: str, key: str, hit: dict[str, Any], inputs: dict[str, dict[str, Any]]) -> None:
        ids = self.store.record_artifacts(self.run_id, name, hit["artifacts"])
        self.outputs[name] = {a["name"]: {**a, "id": ids[a["name"]]} for a in hit["artifacts"]}
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
            self.store.update_step(self.run_id, event["step"], pid=event["pid"], started=time.time())
            if self.stopping:
                self.kill_running()
        elif kind == "exited" and event["step"] in self.running:
            self.finish_step(event["step"], event["code"])
        elif kind == "launcher_died":
            for name in list(self.running):
                self.running.pop(name)
                self.set_step(
                    name,
                    "cancelled" if self.stopping else "failed",
                    finished=time.time(),
                    error=None
                    if self.stopping
                    else {
                        "type": "LauncherDied",
                        "cell": None,
                        "line": None,
                        "traceback": "",
                        "message": f"The step launcher exited with code {event['code']}; see {event['log']}.",
                    },
                )
            if not self.stopping:
                self.stop("fail_fast")

    def finish_step(self, name: str, code: int) -> None:
        self.running.pop(name)
        step_dir = os.path.join(self.run_dir, name)
        try:
            with open(os.path.join(step_dir, "result.json")) as f:
                result = json.load(f)
        except (OSError, ValueError):
            result = None
        now = time.time()
        input_ids, key = self.pending_inputs.pop(name)
        self.store.record_lineage(self.run_id, name, input_ids)
        if code == 0 and result is not None and result.get("status") == "succeeded":
            entries = list(result["outputs"].values())
            ids = self.store.record_artifacts(self.run_id, name, entries)
            self.outputs[name] = {e["name"]: {**e, "id": ids[e["name"]]} for e in entries}
            if result.get("metrics"):
                self.store.record_metrics(self.run_id, result["metrics"], name)
            self.set_step(name, "succeeded", finished=now, exit_code=code, timings=result.get("timings"))
            return
        if self.stopping == "cancel" or (self.stopping and code < 0):
            self.set_step(name, "cancelled", finished=now, exit_code=code)
            return
        error = (result or {}).get("error") or {
            "type": "ProcessExited",
            "cell": None,
            "line": None,
            "traceback": "",
            "message": f"The step process exited with code {code} without a result; see its log.",
        }
        self.set_step(name, "failed", finished=now, exit_code=code, error=error, timings=(result or {}).get("timings"))
        if self.options["fail_fast"] and not self.stopping:
            self.stop("fail_fast")

    def stop(self, reason: str) -> None:
        self.stopping = reason
        for name in self.order:
            if self.status[name] == "queued":
                self.set_step(name, "cancelled", finished=time.time())
        self.kill_running()

    def kill_running(self) -> None:
        from .processes import kill_group

        if self.launcher is not None:
            self.launcher.kill_all()
        for pid in self.running.values():
            if pid:
                kill_group(pid)
