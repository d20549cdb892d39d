"""REST resources of runs (of every backend), under /kale/v1/runs. Thin: parse -> the backends -> serialize.

    GET  /kale/v1/runs?notebook=PATH             runs, newest first (of that notebook's store, or those known here)
    POST /kale/v1/runs                           start a run; 202 with the run at once (it proceeds in the background)
         {"path": "dir/nb.ipynb", "notebook": optional live notebook JSON, "parameters": {}, "use_cache": true,
          "fail_fast": false, "max_parallel": null, "backend": "local" | "kfp"}
         (a string sent for a parameter is parsed as the CLI's --param text: a literal of the parameter's type, or text)
    GET  /kale/v1/runs/RUN_ID                    the run, its steps, metrics
    POST /kale/v1/runs/RUN_ID/cancel             stop its processes; 200 with the run
    GET  /kale/v1/runs/RUN_ID/steps/STEP/log?offset=N   {"text", "next_offset", "status"}: poll with next_offset

Bodies are the models of kale_ext.api.runs (StartRunRequest in; Run, RunList, LogChunk out); the runner's dicts are
converted by kale_ext.api.convert. The backends are one manager per server (``settings["kale_ext_backends"]``, a
kale_ext.runners.backends.Backends), built by KaleExtApp at start-up: a run starts on the backend the request names and
every other verb goes to the backend recorded with the run. Paths on the wire are relative to the server root.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..api.convert import log_chunk, run_from_record, run_list
from ..api.runs import Run, StartRunRequest
from ..errors import InvalidRequestError, NotFoundError
from ..runners.backends import Backends
from ..runners.base import RunOptions
from ..runners.params import parse_value
from .base import KaleHandler
from .handlers import analyze_or_refuse

RUNNER_SETTING = "kale_ext_runner"
BACKENDS_SETTING = "kale_ext_backends"


def runs_routes(prefix: str = "kale/v1") -> list[tuple[str, type]]:
    return [
        (rf"/{prefix}/runs", RunsHandler),
        (rf"/{prefix}/runs/(?P<run_id>[\w.-]+)", RunHandler),
        (rf"/{prefix}/runs/(?P<run_id>[\w.-]+)/cancel", RunCancelHandler),
        (rf"/{prefix}/runs/(?P<run_id>[\w.-]+)/steps/(?P<step>[^/]+)/log", StepLogHandler),
    ]


class _RunsBase(KaleHandler):
    auth_resource = "kale"

    @property
    def backends(self) -> Backends:
        return self.settings[BACKENDS_SETTING]  # built by KaleExtApp at start-up

    def serialize(self, run: dict[str, Any]) -> Run:
        return run_from_record(run, self.relative_path(run["notebook"]))


class RunsHandler(_RunsBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.get_query_argument("notebook", None)
        path = self.resolve_path(notebook) if notebook else None
        runs = await self.off_loop(self.backends.list_runs, path)
        self.write_json(run_list(runs, self.relative_path))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        from ..notebook import load_notebook, pipeline_name_for

        request = self.parse_body(StartRunRequest)
        path = self.resolve_path(request.path)
        runner = self.backends.runner(request.backend)  # an unknown or disabled backend: 400 with the reason

        def start() -> dict[str, Any]:
            nb = request.notebook if request.notebook is not None else load_notebook(path)
            pipeline = analyze_or_refuse(nb, pipeline_name_for(path))
            values = {
                k: parse_value(v, pipeline.parameters.get(k)) if isinstance(v, str) else v
                for k, v in request.parameters.items()
            }
            options = RunOptions(
                parameters=values,
                max_parallel=request.max_parallel,
                use_cache=request.use_cache,
                fail_fast=request.fail_fast,
            )
            run_id = runner.start(pipeline, path, options)
            return runner.get_run(run_id)

        run = await self.off_loop(start)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + run["run_id"])
        self.write_json(self.serialize(run), status=202)


class RunHandler(_RunsBase):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.write_json(self.serialize(await self.off_loop(self.backends.get_run, run_id)))


class RunCancelHandler(_RunsBase):
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        self.write_json(self.serialize(await self.off_loop(self.backends.cancel, run_id)))


class StepLogHandler(_RunsBase):
    @web.authenticated
    @authorized
    async def get(self, run_id: str, step: str) -> None:
        raw = self.get_query_argument("offset", "0")
        if not raw.isdigit():
            raise InvalidRequestError(f"'offset' must be a non-negative integer, got {raw!r}.", code="request.field")
        run = await self.off_loop(self.backends.get_run, run_id)
        status = next((s["status"] for s in run["steps"] if s["name"] == step), None)
        if status is None:
            raise NotFoundError(f"Run {run_id} has no step {step!r}.", code="step.not_found")
        text, next_offset = await self.off_loop(self.backends.read_log, run_id, step, int(raw))
        self.write_json(log_chunk(text, next_offset, status))
