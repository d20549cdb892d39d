"""REST resources of lineage and step exploration. Thin: parse -> kale_ext.lineage / kale_ext.explore -> serialize.

    GET  /kale/v1/runs/RUN_ID/lineage                    the run's lineage (RunLineage)
    POST /kale/v1/runs/RUN_ID/steps/STEP/explore         {"outputs": bool} -> 201 {"path"}: the step's exploration
                                                         notebook, written beside the run's notebook (relative path)

The run's store is the one the backend that found the run found it in (``Backends.store_of``), not its notebook's:
a run of ``kale-ext runs reproduce`` stays in its original's store, its notebook restored under
``<store>/reproductions/``. An unknown run or step is 404; a run whose notebook is outside the server root cannot get
an exploration notebook there (403); a step that cannot be explored as asked (no outputs, never started) is 409.
"""

from __future__ import annotations

import os

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..api.lineage import ExploreRequest, ExploreResult, run_lineage_model
from ..errors import ForbiddenPathError
from ..store import Store
from .base import KaleHandler
from .runs import BACKENDS_SETTING

RUN = r"(?P<run_id>[\w.-]+)"


def lineage_routes(prefix: str = "kale/v1") -> list[tuple[str, type]]:
    return [
        (rf"/{prefix}/runs/{RUN}/lineage", RunLineageHandler),
        (rf"/{prefix}/runs/{RUN}/steps/(?P<step>[^/]+)/explore", StepExploreHandler),
    ]


class _LineageBase(KaleHandler):
    def store_of(self, run_id: str) -> Store:
        """The store holding the run, as the backend that found it knows it (404 when none knows it)."""
        return self.settings[BACKENDS_SETTING].store_of(run_id)


class RunLineageHandler(_LineageBase):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        from ..lineage.graph import run_lineage

        answer = await self.off_loop(lambda: run_lineage(self.store_of(run_id), run_id))
        self.write_json(run_lineage_model(answer))


class StepExploreHandler(_LineageBase):
    @web.authenticated
    @authorized
    async def post(self, run_id: str, step: str) -> None:
        from ..explore import write_exploration_notebook
        from ..lineage.graph import step_of

        request = self.parse_body(ExploreRequest)

        def write() -> str:
            store = self.store_of(run_id)
            row, _, _ = step_of(store, run_id, step)  # 404 for an unknown step, before anything is written
            if not self.inside_root(os.path.dirname(row["notebook"])):
                raise ForbiddenPathError(
                    "The run's notebook is outside the server's root directory: its exploration notebook cannot be "
                    "written beside it. Fix: start JupyterLab in a folder that contains the notebook.",
                )
            return write_exploration_notebook(run_id, step, outputs=request.outputs, store=store)

        path = await self.off_loop(write)
        self.write_json(ExploreResult(path=self.relative_path(path)), status=201)
