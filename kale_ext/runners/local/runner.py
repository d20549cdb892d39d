"""LocalRunner: runs a pipeline on this machine, each step in its own process, independent branches in parallel.

The Runner API (see base.py) over the store; each run is driven by a RunDriver thread (driver.py) that records every
transition in the store, so that any process can watch the run. All runs of one LocalRunner share one pool of step
processes (slots.py). A traitlets Configurable: the Jupyter server builds it with its config; the CLI with keyword
arguments. Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from typing import Any

from traitlets import Bool, Enum, Integer, TraitError, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from ...errors import NotFoundError
from ...pipeline.model import Pipeline
from ...steps.spec import StepSpec, build_specs
from ...store import RUN_FINAL, Store, store_dir_for
from ...store.db import ENV_HOME, new_run_id
from .. import params as params_mod
from ..base import CancelTimeoutError, Listener, Runner, RunnerError, RunOptions, refuse_unrunnable
from ..workspace import ENV_SNAPSHOTS, Workspace, snapshots_default, take_snapshot, workspace_of
from .driver import RunDriver
from .identity import UnsignalableDriverError, cancel_foreign_driver
from .inflight import InFlight
from .launchers import ENV_NO_FORK, ZygotePool, fork_available
from .slots import Slots

LOG_CHUNK = 1 << 20


class _ConfigurableRunnerMeta(type(LoggingConfigurable), type(Runner)):  # type: ignore[misc]
    """A traitlets Configurable that is also an abstract Runner."""


class LocalRunner(LoggingConfigurable, Runner, metaclass=_ConfigurableRunnerMeta):
    """The embedded runner; a Configurable (``c.LocalRunner.max_processes = 4`` in the Jupyter server's config).

    ``LocalRunner(store)`` keeps every run in ``store``; else ``store_dir``, else each notebook's own store (``.kale/``
    beside it). ``use_fork`` (True/False) is a shorthand for ``launcher``.

    ``cancel_signal`` (e.g. "SIGTERM") declares that this process cancels its runs cleanly on that signal (the
    ``kale-ext run`` command installs such a handler); it is recorded with each run, so that another process's runner
    can cancel the run by sending it. Without it, other processes cannot cancel this process's runs ("run.foreign").
    """

    name = "local"
    foreign_cancel_timeout = 15.0  # seconds a cancel of another process's run waits for that run to end

    store_dir = Unicode(
        config=True,
        help=f"Folder of the run store (kale.db and the runs' files) for every notebook. Default: ${ENV_HOME} if "
        "set; empty: a .kale/ folder beside each notebook.",
    )
    launcher = Enum(
        ["fork", "subprocess"],
        config=True,
        help="How step processes start: 'fork' (a warm process runs the imports and functions cells once and forks "
        "one child per step) or 'subprocess' (a fresh interpreter per step). Default: 'fork' where os.fork exists, "
        f"unless ${ENV_NO_FORK} is set to something other than 0.",
    )
    max_parallel = Integer(
        config=True,
        help="Steps of one run that execute at once when the run does not say (--max-parallel). Default: the CPU "
        "count.",
    )
    max_processes = Integer(
        config=True,
        help="Step processes of all active runs together (one pool shared by every run of this runner, so that "
        "several runs at once do not each take every core). Default: the CPU count.",
    )
    snapshots = Bool(
        config=True,
        help="Take a snapshot of each run's workspace (the notebook's folder and the notebook setting "
        "kale_ext.workspace.paths) before its first step, so the run can be restored and reproduced. Default: on, "
        f"unless ${ENV_SNAPSHOTS} is 0. A run or a notebook may still opt out (--no-snapshot, workspace.snapshot).",
    )
    cancel_signal = Unicode(
        None,
        allow_none=True,
        help="The signal on which this process cancels its runs cleanly (recorded with each run, so that another "
        "process may send it); None: other processes cannot cancel this process's runs.",
    )

    @default("store_dir")
    def _default_store_dir(self) -> str:
        home = os.environ.get(ENV_HOME)
        return os.path.abspath(os.path.expanduser(home)) if home else ""

    @default("snapshots")
    def _default_snapshots(self) -> bool:
        return snapshots_default()

    @default("launcher")
    def _default_launcher(self) -> str:
        return "fork" if fork_available() else "subprocess"

    @default("max_parallel")
    def _default_max_parallel(self) -> int:
        return os.cpu_count() or 1

    @default("max_processes")
    def _default_max_processes(self) -> int:
        return os.cpu_count() or 1

    @validate("max_parallel", "max_processes")
    def _positive(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"{proposal['trait'].name} must be at least 1, got {proposal['value']}.")
        return proposal["value"]

    @validate("cancel_signal")
    def _a_signal(self, proposal: Any) -> str | None:
        value = proposal["value"]
        if value is not None and not isinstance(getattr(signal, value, None), signal.Signals):
            raise TraitError(f"cancel_signal must name a signal, got {value!r}.")
        return value

    def __init__(self, store: Store | None = None, *, use_fork: bool | None = None, **kwargs: Any) -> None:
        if use_fork is not None:
            kwargs["launcher"] = "fork" if use_fork else "subprocess"
        super().__init__(**kwargs)
        if self.launcher == "fork" and not hasattr(os, "fork"):
            self.log.warning("LocalRunner.launcher 'fork' needs os.fork; using 'subprocess'.")
            self.launcher = "subprocess"
        self.store = store
        self.slots = Slots(self.max_processes)
        self.inflight = InFlight()  # one execution at a time per cache key across this runner's runs
        self._stores: dict[str, Store] = {store.folder: store} if store else {}
        if store is not None:
            store.recover_interrupted(self.name)  # this runner owns the store's local runs: it decides what died
        self._drivers: dict[str, RunDriver] = {}
        self._lock = threading.Lock()
        self._closed = False

    @property
    def use_fork(self) -> bool:
        return self.launcher == "fork"

    # ------------------------------------------------------------------------------------------------------ stores
    def store_for(self, notebook_path: str) -> Store:
        if self.store is not None:
            return self.store
        folder = os.path.abspath(self.store_dir) if self.store_dir else store_dir_for(notebook_path)
        with self._lock:
            if folder not in self._stores:
                self._stores[folder] = Store(folder)
                self._stores[folder].recover_interrupted(self.name)
            return self._stores[folder]

    def store_of(self, run_id: str) -> Store:
        """The store that holds the run (its driver's while it runs); NotFoundError when no store opened here has it."""
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
        zygotes: ZygotePool | None = None,
    ) -> str:
        """See kale_ext.runners.base. ``zygotes``: a pool of warm zygotes the run may share with others started with
        it (an experiment's trials, see launchers.ZygotePool); None, or the subprocess launcher: its own processes."""
        options = options or RunOptions()
        if self._closed:
            raise RunnerError("The runner is shut down; no new run can start.", code="run.closed")
        refuse_unrunnable(pipeline)
        max_parallel = options.max_parallel
        if max_parallel is not None and (
            not isinstance(max_parallel, int) or isinstance(max_parallel, bool) or max_parallel < 1
        ):
            raise RunnerError(f"max_parallel must be a positive integer, got {max_parallel!r}.")
        values = params_mod.resolve(pipeline.parameters, options.parameters)
        literals = params_mod.to_literals(values)
        specs = build_specs(pipeline)
        # A malformed workspace setting refuses the run only when a snapshot is wanted.
        workspace = workspace_of(notebook_path, pipeline.settings) if self.snapshots and options.snapshot else None
        return self._start(
            notebook_path,
            pipeline.name,
            specs,
            literals,
            dict(pipeline.metric_sources),
            max_parallel or self.max_parallel,
            options.use_cache,
            options.fail_fast,
            listener,
            None,
            workspace,
            zygotes=zygotes,
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
        workspace: Workspace | None,
        snapshot_id: str | None = None,
        store: Store | None = None,
        zygotes: ZygotePool | None = None,
    ) -> str:
        """Record the run and start its driver. ``workspace``: snapshot it before the first step (None: no snapshot);
        ``snapshot_id``: the run's snapshot is already known (a resumed run keeps its original's); ``store``: record
        it there rather than in the notebook's store (a reproduction stays beside its original)."""
        notebook = os.path.abspath(notebook_path)
        store = store or self.store_for(notebook)
        run_id = new_run_id()
        options = {
            "use_cache": use_cache,
            "fail_fast": fail_fast,
            "max_parallel": max_parallel,
            "launcher": self.launcher,
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
        if snapshot_id is not None:
            store.update_run(run_id, snapshot_id=snapshot_id)
        driver = RunDriver(
            store,
            run_id,
            notebook,
            specs,
            literals,
            metric_sources,
            options,
            listener,
            take_snapshot=None if workspace is None else (lambda: take_snapshot(store, workspace)),
            slots=self.slots,
            on_finished=self._forget,
            inflight=self.inflight,
            zygotes=zygotes,
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
        return self._start_recorded(run_id, None, listener, resume=True)

    def rerun(
        self, run_id: str, notebook_path: str, *, snapshot_id: str | None, listener: Listener | None = None
    ) -> str:
        """A new run of a recorded run's plan (its steps' code as it ran) and parameters, without the cache, with
        ``notebook_path``'s folder as the working folder, recorded in the original's store and linked to
        ``snapshot_id`` (the snapshot that folder was restored from; no new snapshot is taken). Used by
        ``kale-ext runs reproduce``."""
        return self._start_recorded(run_id, notebook_path, listener, snapshot_id=snapshot_id)

    def _start_recorded(
        self,
        run_id: str,
        notebook_path: str | None,
        listener: Listener | None,
        *,
        resume: bool = False,
        snapshot_id: str | None = None,
    ) -> str:
        """A new run of the recorded run ``run_id``'s plan, parameters and options. ``resume``: in the run's own
        notebook, with the cache, recorded as resumed from it on its snapshot (only an interrupted, failed or
        cancelled run resumes); otherwise (``rerun``): in ``notebook_path``, without the cache, recorded in the
        original's store and linked to ``snapshot_id``."""
        if self._closed:
            raise RunnerError("The runner is shut down; no new run can start.", code="run.closed")
        store = self.store_of(run_id)
        row = store.run_row(run_id)
        if resume and row["status"] not in ("interrupted", "failed", "cancelled"):
            raise RunnerError(
                f"Run {run_id} is {row['status']}; only interrupted, failed or cancelled runs resume.",
                code="run.not_resumable",
            )
        options = json.loads(row["options"])
        return self._start(
            row["notebook"] if notebook_path is None else notebook_path,
            row["pipeline"],
            [StepSpec.from_json(s) for s in json.loads(row["plan"])],
            json.loads(row["parameters"]),
            json.loads(row["metric_sources"]),
            options.get("max_parallel") or self.max_parallel,
            resume,  # use_cache: a resumed run reuses the steps that succeeded; a rerun executes every step
            options.get("fail_fast", False),
            listener,
            run_id if resume else None,
            None,
            # A resumed run keeps the workspace the original started from, whatever it is now.
            row.get("snapshot_id") if resume else snapshot_id,
            None if resume else store,
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
        store = self.store_of(run_id)
        row = store.run_row(run_id)
        if row["status"] in RUN_FINAL:
            return store.get_run(run_id)
        pid = row["driver_pid"]
        details = {"status": row["status"], "driver_pid": pid}
        try:
            ended = cancel_foreign_driver(
                pid,
                row["driver_token"],
                row.get("driver_signal"),
                ended=lambda: store.run_row(run_id)["status"] in RUN_FINAL,
                recover=lambda: store.recover_interrupted(self.name),
                timeout=self.foreign_cancel_timeout,
            )
        except UnsignalableDriverError:
            raise RunnerError(
                f"Run {run_id} is driven by another process (pid {pid}) that cannot be cancelled from here; "
                "cancel it there.",
                code="run.foreign",
                details=details,
            ) from None
        except PermissionError:
            raise RunnerError(
                f"Run {run_id} is driven by process {pid}, which this user may not signal; cancel it there.",
                code="run.foreign",
                details=details,
            ) from None
        if not ended:
            status = store.run_row(run_id)["status"]
            raise CancelTimeoutError(
                f"Run {run_id}: its driver (pid {pid}) was asked to cancel it but the run is still {status} after "
                f"{self.foreign_cancel_timeout:g} s.",
                details={"status": status, "driver_pid": pid},
            )
        return store.get_run(run_id)

    def list_runs(self, notebook: str | None = None) -> list[dict[str, Any]]:
        if notebook is not None:
            return self.store_for(notebook).list_runs(notebook)
        runs = [r for store in list(self._stores.values()) for r in store.list_runs()]
        return sorted(runs, key=lambda r: r["created"], reverse=True)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self.store_of(run_id).get_run(run_id)

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
