"""REST resources of served models, under /kale/v1/models. Thin: parse -> ServingManager -> serialize.

    GET    /kale/v1/models?notebook=PATH           the model server of the notebook's store, every model it serves
                                                   (status, versions, traffic, per-version requests / errors / rate /
                                                   p50 / p99, tensors), and the latest request log lines
    POST   /kale/v1/models                         deploy; 201 with {"name", "version", "url", "traffic"}
           {"notebook": PATH, "run_id", "variable", "name": optional, "canary_percent": optional 0-100}
    GET    /kale/v1/models/NAME?notebook=PATH      one served model (as in the listing)
    DELETE /kale/v1/models/NAME?notebook=PATH      stop serving it; 204
    DELETE /kale/v1/models?notebook=PATH           stop the model server and every model; 204
    POST   /kale/v1/models/NAME/promote?notebook=PATH   the newest version takes all traffic; 200 as deploy's answer
    POST   /kale/v1/models/NAME/rollback?notebook=PATH  the newest version is removed; 200 as deploy's answer
    GET    /kale/v1/runs/RUN_ID/models[?notebook=PATH]  what the run can serve

The managers come from ``settings["kale_ext_serving"]`` (ServingManagers, serving.py), one per store folder. The
manager's KaleErrors are answered as their 4xx (a variable that is not a model: 400 model.not_servable; an unknown run,
variable or model: 404). Paths on the wire are relative to the server root.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..api.codec import RequestFieldError
from ..api.models import DeployModelRequest
from ..api.serving_convert import deploy_result, models_view, servable_list
from ..errors import NotFoundError
from .base import KaleHandler
from .serving import SERVING_SETTING, ServingManagers, ServingUnavailableError, model_dirs_of, read_cards

NAME = r"(?P<name>[^/]+)"


def models_routes(prefix: str = "kale/v1") -> list[tuple[str, type]]:
    return [
        (rf"/{prefix}/models", ModelsHandler),
        (rf"/{prefix}/models/{NAME}", ModelHandler),
        (rf"/{prefix}/models/{NAME}/promote", ModelPromoteHandler),
        (rf"/{prefix}/models/{NAME}/rollback", ModelRollbackHandler),
        (rf"/{prefix}/runs/(?P<run_id>[\w.-]+)/models", RunModelsHandler),
    ]


class _ModelsBase(KaleHandler):
    @property
    def managers(self) -> ServingManagers:
        managers = self.settings.get(SERVING_SETTING)
        if managers is None:
            raise ServingUnavailableError(
                "Model serving is not available on this server: its serving manager could not be loaded (see the "
                "server log); install kale-ext with serving support and restart JupyterLab."
            )
        return managers

    def notebook_arg(self) -> str:
        """The absolute path of the ``notebook`` query argument (required: it names the store the models are in)."""
        notebook = self.get_query_argument("notebook", None)
        if not notebook:
            raise RequestFieldError(
                "The query argument 'notebook' is required: the notebook (relative to the server root) whose run "
                "store holds the served models, e.g. ?notebook=dir/nb.ipynb.",
                details={"field": "notebook", "reason": "missing"},
            )
        return self.resolve_path(notebook)

    async def manager(self) -> Any:
        """The manager of the ``notebook`` argument's store (opening a store reads SQLite: off the event loop)."""
        return await self.off_loop(self.managers.for_notebook, self.notebook_arg())


def _view(manager: Any):
    """The whole Models view of one manager (blocking: the manager reads files and the server's metrics)."""
    models = manager.list()
    return models_view(
        models, manager.metrics(), manager.server(), manager.recent_requests(), read_cards(model_dirs_of(models))
    )


class ModelsHandler(_ModelsBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.off_loop(_view, await self.manager()))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = self.parse_body(DeployModelRequest)
        manager = await self.off_loop(self.managers.for_notebook, self.resolve_path(request.notebook))
        answer = await self.off_loop(
            manager.deploy,
            run_id=request.run_id,
            variable=request.variable,
            name=request.name,
            canary_percent=request.canary_percent,
        )
        result = deploy_result(answer)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + result.name)
        self.write_json(result, status=201)

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        await self.off_loop((await self.manager()).stop, None)
        self.set_status(204)
        self.finish()


class ModelHandler(_ModelsBase):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        view = await self.off_loop(_view, await self.manager())
        model = next((m for m in view.models if m.name == name), None)
        if model is None:
            raise NotFoundError(f"No model named {name!r} is served.", code="model.not_found")
        self.write_json(model)

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self.off_loop((await self.manager()).stop, name)
        self.set_status(204)
        self.finish()


class ModelPromoteHandler(_ModelsBase):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        self.write_json(deploy_result(await self.off_loop((await self.manager()).promote, name)))


class ModelRollbackHandler(_ModelsBase):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        self.write_json(deploy_result(await self.off_loop((await self.manager()).rollback, name)))


class RunModelsHandler(_ModelsBase):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        if self.get_query_argument("notebook", None):
            manager = await self.manager()
        else:
            manager = await self.off_loop(self.managers.for_run, run_id)
        self.write_json(servable_list(run_id, await self.off_loop(manager.servable, run_id)))
