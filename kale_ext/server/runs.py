"""REST resources of local runs, under /kale/v1/runs. Thin: parse -> LocalRunner -> serialize.

    GET  /kale/v1/runs?notebook=PATH             runs, newest first (of that notebook's store, or those known here)
    POST /kale/v1/runs                           start a run; 202 with the run at once (it proceeds in the background)
         {"path": "dir/nb.ipynb", "notebook": optional live notebook JSON, "parameters": {}, "use_cache": true,
          "fail_fast": false, "max_parallel": null}
         (a string sent for a parameter is parsed as the CLI's --param text: a literal of the parameter's type, or text)
    GET  /kale/v1/runs/RUN_ID                    the run, its steps, metrics
    POST /kale/v1/runs/RUN_ID/cancel             stop its processes; 200 with the run
    GET  /kale/v1/runs/RUN_ID/steps/STEP/log?offset=N   {"text", "next_offset", "status"}: poll with next_offset

The runner is one manager per server (``settings["kale_ext_runner"]``), built by KaleExtApp at start-up. Paths on the wire are relative to the server root.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InvalidRequestError, NotFoundError
from ..runners.base import Runner, RunOptions
from ..runners.params import parse_value
from .base import KaleHandler

RUNNER_SETTING = "kale_ext_runner"


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
    def runner(self) -> Runner:
        return self.settings[RUNNER_SETTING]  # built by KaleExtApp at start-up

    def serialize(self, run: dict[str, Any]) -> dict[str, Any]:
        return {**run, "path": self.relative_path(run["notebook"])}

    async def off_loop(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def _option(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = body.get(name, default)
    if value is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
        return value
    raise InvalidRequestError(f"'{name}' must be a {kind.__name__}, got {value!r}.", code="request.field")


class RunsHandler(_RunsBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.get_query_argument("notebook", None)
        path = self.resolve_path(notebook) if notebook else None
        runs = await self.off_loop(self.runner.list_runs, path)
        self.write_json({"runs": [self.serialize(r) for r in runs]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        from ..analysis import analyze
        from ..notebook import load_notebook

        body = self.get_json_body_object()
        path = self.resolve_path(body.get("path"))
        live = body.get("notebook")
        if live is not None and not isinstance(live, dict):
            raise InvalidRequestError("'notebook' must be a notebook JSON object.", code="request.notebook")
        params = _option(body, "parameters", dict, {}) or {}
        use_cache = _option(body, "use_cache", bool, True)
        fail_fast = _option(body, "fail_fast", bool, False)
        max_parallel = _option(body, "max_parallel", int, None)
        name = path.rsplit("/", 1)[-1].removesuffix(".ipynb")

        def start() -> dict[str, Any]:
            nb = live if live is not None else load_notebook(path)
            pipeline = analyze(nb, name=name)
            values = {
                k: parse_value(v, pipeline.parameters.get(k)) if isinstance(v, str) else v for k, v in params.items()
            }
            options = RunOptions(
                parameters=values,
                max_parallel=max_parallel,
                use_cache=True if use_cache is None else use_cache,
                fail_fast=bool(fail_fast),
            )
            run_id = self.runner.start(pipeline, path, options)
            return self.runner.get_run(run_id)

        run = await self.off_loop(start)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + run["run_id"])
        self.write_json(self.serialize(run), status=202)


class RunHandler(_RunsBase):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.write_json(self.serialize(await self.off_loop(self.runner.get_run, run_id)))


class RunCancelHandler(_RunsBase):
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        self.write_json(self.serialize(await self.off_loop(self.runner.cancel, run_id)))


class StepLogHandler(_RunsBase):
    @web.authenticated
    @authorized
    async def get(self, run_id: str, step: str) -> None:
        raw = self.get_query_argument("offset", "0")
        if not raw.isdigit():
            raise InvalidRequestError(f"'offset' must be a non-negative integer, got {raw!r}.", code="request.field")
        run = await self.off_loop(self.runner.get_run, run_id)
        status = next((s["status"] for s in run["steps"] if s["name"] == step), None)
        if status is None:
            raise NotFoundError(f"Run {run_id} has no step {step!r}.", code="step.not_found")
        text, next_offset = await self.off_loop(self.runner.read_log, run_id, step, int(raw))
        self.write_json({"text": text, "next_offset": next_offset, "status": status})
