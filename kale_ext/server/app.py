"""The jupyter_server ExtensionApp of kale_ext: the whole route table and the admin settings (traitlets).

Every route lives under ``/kale/v1/``. Managers (the runner) are built here at start-up and handed to handlers through
``self.settings``; there are no global singletons. The runner class is an admin setting, so later backends
(Kubeflow Pipelines) plug in by configuration: ``c.KaleExtApp.runner_class = "..."``. Backends are Configurables built
with the app's config (``c.LocalRunner.max_processes = 4``), and the capabilities GET info reports come from them.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from jupyter_server.extension.application import ExtensionApp
from traitlets import Type

from .. import __version__
from ..runners.base import Runner
from .handlers import AnalyzeHandler, InfoHandler
from .runs import RUNNER_SETTING, runs_routes

API_PREFIX = "kale/v1"


def _routes() -> list[tuple[str, type]]:
    return [
        (rf"/{API_PREFIX}/info", InfoHandler),
        (rf"/{API_PREFIX}/analyze", AnalyzeHandler),
        *runs_routes(API_PREFIX),
    ]


class KaleExtApp(ExtensionApp):
    name = "kale_ext"
    load_other_extensions = True

    runner_class = Type(
        default_value="kale_ext.runners.local.LocalRunner",
        klass=Runner,
        config=True,
        help="The runner behind the deploy button and /kale/v1/runs (default: the embedded local runner).",
    )

    def initialize_settings(self) -> None:
        # Backends are Configurables: built with the app's config (the Type trait checked the class is a Runner).
        runner: Runner = cast("type[Any]", self.runner_class)(parent=self, log=self.log)
        self.settings.update(
            {
                "kale_ext_version": __version__,
                RUNNER_SETTING: runner,
                "kale_ext_capabilities": ["analyze", *runner.capabilities()],
            }
        )
        self.log.info("kale_ext %s loaded: REST API under /%s/", __version__, API_PREFIX)

    def initialize_handlers(self) -> None:
        self.handlers.extend(_routes())

    async def stop_extension(self) -> None:
        """jupyter_server's shutdown hook: cancel the active runs (reason "server stopped") and stop their processes."""
        runner = self.settings.get(RUNNER_SETTING)
        if runner is not None:
            await asyncio.get_running_loop().run_in_executor(None, runner.close)
