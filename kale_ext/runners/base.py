"""The Runner interface: what the CLI, the REST handlers and the UI use to run a pipeline and watch its runs.

Implemented by ``LocalRunner`` (kale_ext.runners.local) and ``KfpRunner`` (kale_ext.runners.kfp.runner): peers behind
this one abstract class, each a traitlets Configurable built with the app's config. Plain Python; never imports tornado or
jupyter_server.

Contract
--------
``start(pipeline, notebook_path, options=None, *, listener=None) -> run_id``
    Validates ``options`` (a RunOptions; its ``parameters`` map names to typed values, already parsed by the caller:
    unknown names or wrong types raise ParameterError, a KaleError with status 400), records the run as "queued" and
    returns at once; the run proceeds in the background.
``capabilities() -> list[str]``: what this backend adds to GET /kale/v1/info ("runs", "runner:NAME", ...).
``wait(run_id, timeout=None) -> dict``: blocks until the run ends (or the timeout passes), returns ``get_run``.
``cancel(run_id) -> dict``: stops the run's processes (their process groups) and marks it "cancelled". A run driven by
    another process is cancelled through that process (LocalRunner: a verified signal to its driver) and waited for.
``resume(run_id) -> run_id``: a new run of an interrupted/failed/cancelled run's recorded plan and parameters; steps that
    already succeeded are reused from the cache.
``list_runs(notebook=None) -> list[dict]``: newest first, summaries
    ``{run_id, notebook, pipeline, status, created, started, finished, duration_s, steps: {status: count}, metrics}``.
``get_run(run_id) -> dict``: JSON-able
    ``{run_id, notebook, pipeline, status, created, started, finished, duration_s, parameters, options, metrics,
    resumed_from, error, steps: [{name, status, cached, cached_from, depends_on, started, finished, duration_s,
    exit_code, error: {type, message, cell, line, traceback} | None, log_path, cache_key, timings,
    outputs: [{name, serializer, hash, size, type, path}], inputs: [{name, hash, producer, producer_run}]}]}``
    (``inputs`` is the lineage: which artifact, made by which step, each input was).
    Times are Unix seconds. Run status: queued, running, succeeded, failed, cancelled, interrupted, unknown (the
    backend does not answer for now: a KFP API that went away; ``error`` says why).
    Step status: queued, running, cached, succeeded, failed, cancelled, skipped (an upstream step failed).
    ``error.cell`` is the notebook cell index (0-based, markdown cells counted, as in the pipeline model's diagnostics)
    and ``error.line`` the 1-based line in that cell.
``close()``: shuts the runner down (the server's stop): refuses new runs, cancels the active ones with the reason
    "server stopped" (recorded as the run's error) and stops their processes; returns once they ended.
``read_log(run_id, step, offset=0) -> (text, next_offset)``: the step's stdout+stderr from byte ``offset``; readable
    while the step runs; poll with the returned offset.

Unknown run ids raise NotFoundError (404). ``listener`` (optional) is called from the driver thread with
``{"event": "step"|"run", "run_id", "step"?, "status", ...}`` at every status change.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import KaleError
from ..pipeline.model import Pipeline

Listener = Callable[[dict[str, Any]], None]


class RunnerError(KaleError):
    status = 400
    code = "run.invalid"


def refuse_unrunnable(pipeline: Pipeline, *, after: str = "") -> None:
    """Refuse a pipeline with analysis errors (the first one named, with its cell and line) or without steps, before a
    runner does anything; ``after`` ends the first message (the KFP runner: "; nothing was uploaded")."""
    errors = [d for d in pipeline.diagnostics if d.severity == "error"]
    if errors:
        first = errors[0]
        where = "" if first.cell is None else f" (cell {first.cell}" + (f", line {first.line})" if first.line else ")")
        raise RunnerError(
            f"The notebook has {len(errors)} analysis error(s); first: {first.message}{where}. "
            f"Fix them (see `kale-ext analyze`) before running{after}.",
            code="run.analysis_errors",
            details={"diagnostics": [d.to_json() for d in errors]},
        )
    if not pipeline.steps:
        raise RunnerError("The notebook has no pipeline steps: tag code cells with step:NAME.", code="run.no_steps")


class CancelTimeoutError(RunnerError):
    """A cancel was delivered but the run did not reach a final status in time."""

    status = 409
    code = "run.cancel_timeout"


@dataclass(frozen=True)
class RunOptions:
    """How to run: ``parameters`` are typed values (the CLI and the REST layer parse text with
    ``kale_ext.runners.params.parse_value``); ``max_parallel`` None means the runner's default; ``snapshot`` False: the run records no workspace snapshot."""

    parameters: dict[str, Any] = field(default_factory=dict)
    max_parallel: int | None = None
    use_cache: bool = True
    fail_fast: bool = False
    # False: no workspace snapshot for this run (``kale-ext run --no-snapshot``; see kale_ext.runners.workspace).
    snapshot: bool = True


class Runner(abc.ABC):
    """A backend that runs pipelines. Every method is abstract except ``close``."""

    name: ClassVar[str]  # short backend name shown in capabilities ("local", later "kfp")

    @abc.abstractmethod
    def start(
        self,
        pipeline: Pipeline,
        notebook_path: str,
        options: RunOptions | None = None,
        *,
        listener: Listener | None = None,
    ) -> str: ...

    @abc.abstractmethod
    def capabilities(self) -> list[str]: ...

    @abc.abstractmethod
    def wait(self, run_id: str, timeout: float | None = None) -> dict[str, Any]: ...

    @abc.abstractmethod
    def cancel(self, run_id: str) -> dict[str, Any]: ...

    @abc.abstractmethod
    def resume(self, run_id: str, *, listener: Listener | None = None) -> str: ...

    @abc.abstractmethod
    def list_runs(self, notebook: str | None = None) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def get_run(self, run_id: str) -> dict[str, Any]: ...

    @abc.abstractmethod
    def read_log(self, run_id: str, step: str, offset: int = 0) -> tuple[str, int]: ...

    def close(self) -> None:  # noqa: B027 (a runner that holds no processes or threads has nothing to stop)
        """Shut down (see the contract above)."""
