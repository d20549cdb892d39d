"""LocalRunner: runs a pipeline on this machine, each step in its own process, independent branches in parallel.

The Runner API (see base.py) over the store; each run is driven by a RunDriver thread (driver.py) that records every
transition in the store, so that any process can watch the run. Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from typing import Any

from ...errors import NotFoundError
from ...pipeline.model import Pipeline
from ...steps.spec import StepSpec, build_specs
from ...store import RUN_FINAL, Store, store_dir_for
from ...store.db import new_run_id
from .. import params as params_mod
from ..base import CancelTimeoutError, Listener, Runner, RunnerError, RunOptions
from .driver import RunDriver
from .identity import driver_alive, signal_process
from .launchers import fork_available

LOG_CHUNK = 1 << 20


class LocalRunner(Runner):
    """``LocalRunner(store)`` keeps every run in ``store``; ``LocalRunner()`` uses each notebook's own store
    (``.kale/`` beside it, or ``$KALE_EXT_HOME``).

    ``cancel_signal`` (e.g. "SIGTERM") declares that this process cancels its runs cleanly on that signal (the
    ``kale-ext run`` command installs such a handler); it is recorded with each run, so that another process's runner
    can cancel the run by sending it. Without it, other processes cannot cancel this process's runs ("run.foreign").
    """

    name = "local"
    foreign_cancel_timeout = 15.0  # seconds a cancel of another process's run waits for that run to end

    def __init__(
        self, store: Store | None = None, *, use_fork: bool | None = None, cancel_signal: str | None = None
    ) -> None:
        if cancel_signal is not None and not isinstance(getattr(signal, cancel_signal, None), signal.Signals):
            raise ValueError(f"cancel_signal must name a signal, got {cancel_signal!r}.")
        self.cancel_signal = cancel_signal
        self.store = store
        self.use_fork = fork_available() if use_fork is None else use_fork
        self._stores: dict[str, Store] = {store.folder: store} if store else {}
        self._drivers: dict[str, RunDriver] = {}
        self._lock = threading.Lock()
        self._closed = False

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
    def capabilities(self) -> list[str]:
        return ["runs", f"runner:{self.name}"]

    def start(
        self,
        pipeline: Pipeline,
        notebook_path: str,
        options: RunOptions | None = None,
        *,
        listener: Listener | None = None,
    ) -> str:
        """See kale_ext.runners.base."""
        options = options or RunOptions()
        if self._closed:
            raise RunnerError("The runner is shut down; no new run can start.", code="run.closed")
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
        max_parallel = options.max_parallel
        if max_parallel is not None and (
            not isinstance(max_parallel, int) or isinstance(max_parallel, bool) or max_parallel < 1
        ):
            raise RunnerError(f"max_parallel must be a positive integer, got {max_parallel!r}.")
        values = params_mod.resolve(pipeline.parameters, options.parameters)
        literals = params_mod.to_literals(values)
        specs = build_specs(pipeline)
        return self._start(
            notebook_path,
            pipeline.name,
            specs,
            literals,
            dict(pipeline.metric_sources),
            max_parallel or os.cpu_count() or 1,
            options.use_cache,
            options.fail_fast,
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
            driver_signal=self.cancel_signal,
        )
        driver = RunDriver(
            store, run_id, notebook, specs, literals, metric_sources, options, listener, on_finished=self._forget
        )
        with self._lock:
            if self._closed:
                raise RunnerError("The runner is shut down; no new run can start.", code="run.closed")
            self._drivers[run_id] = driver
        driver.start()
        return run_id

    def close(self, reason: str = "server stopped", timeout: float = 30) -> None:
        """Shut down: refuse new runs, cancel the active ones (their step processes are killed, their run records
        "cancelled" with ``reason`` as its error) and stop their zygotes; returns once their drivers ended."""
        with self._lock:
            self._closed = True
            drivers = list(self._drivers.values())
        for driver in drivers:
            driver.request_cancel(reason)
        for driver in drivers:
            driver.join(timeout)

    def _forget(self, run_id: str) -> None:
        """A driver's run ended: the store answers for finished runs, so no per-run state is kept."""
        with self._lock:
            self._drivers.pop(run_id, None)

    def resume(self, run_id: str, *, listener: Listener | None = None) -> str:
        if self._closed:
            raise RunnerError("The runner is shut down; no new run can start.", code="run.closed")
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

    def cancel(self, run_id: str, *, reason: str | None = None) -> dict[str, Any]:
        """Stop the run and return it (see base.py); ``reason`` becomes the run's error. A run driven by another live
        process on this machine is cancelled through it (``_cancel_foreign``)."""
        driver = self._drivers.get(run_id)
        if driver is None:
            return self._cancel_foreign(run_id)
        driver.request_cancel(reason)
        driver.join(30)
        return self.get_run(run_id)

    def request_cancel(self, run_id: str, reason: str | None = None) -> None:
        """Ask this process's driver of ``run_id`` to cancel it, without waiting (safe in a signal handler)."""
        driver = self._drivers.get(run_id)
        if driver is not None:
            driver.request_cancel(reason)

    def _cancel_foreign(self, run_id: str) -> dict[str, Any]:
        """Cancel a run whose driver is another process: send that driver its recorded cancel signal, after checking
        that the pid still belongs to the process that started the run (its start time), then wait for the run to end.
        A driver found dead leaves its run "interrupted" (as the store's recovery does)."""
        store = self._store_of(run_id)
        row = store.run_row(run_id)
        if row["status"] in RUN_FINAL:
            return store.get_run(run_id)
        pid, token, sig_name = row["driver_pid"], row["driver_token"], row.get("driver_signal")
        if not driver_alive(pid, token):
            store.recover_interrupted()
            return store.get_run(run_id)
        sig = getattr(signal, sig_name, None) if sig_name else None
        if pid == os.getpid() or not isinstance(sig, signal.Signals) or not token:
            raise RunnerError(
                f"Run {run_id} is driven by another process (pid {pid}) that cannot be cancelled from here; "
                "cancel it there.",
                code="run.foreign",
                details={"status": row["status"], "driver_pid": pid},
            )
        try:
            delivered = signal_process(pid, token, sig)
        except PermissionError:
            raise RunnerError(
                f"Run {run_id} is driven by process {pid}, which this user may not signal; cancel it there.",
                code="run.foreign",
                details={"status": row["status"], "driver_pid": pid},
            ) from None
        deadline = time.monotonic() + self.foreign_cancel_timeout
        while True:
            status = store.run_row(run_id)["status"]
            if status in RUN_FINAL:
                return store.get_run(run_id)
            if not delivered or not driver_alive(pid, token):
                store.recover_interrupted()
                if store.run_row(run_id)["status"] in RUN_FINAL:
                    return store.get_run(run_id)
            if time.monotonic() >= deadline:
                raise CancelTimeoutError(
                    f"Run {run_id}: its driver (pid {pid}) was asked to cancel it but the run is still {status} after "
                    f"{self.foreign_cancel_timeout:g} s.",
                    details={"status": status, "driver_pid": pid},
                )
            time.sleep(0.1)

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
