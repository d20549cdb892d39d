"""The jupyter_server ExtensionApp of kale_ext: the whole route table and the admin settings (traitlets).

Every route lives under ``/kale/v1/``. Managers (the runner) are built here at start-up and handed to handlers through
``self.settings``; there are no global singletons. The default runner class is an admin setting
(``c.KaleExtApp.runner_class``) and further backends are a list of classes (``c.KaleExtApp.backend_classes``; by default
the Kubeflow Pipelines runner, which reports itself disabled, with the reason, until the kfp extra is installed and a host
is configured). Backends are Configurables built with the app's config (``c.LocalRunner.max_processes = 4``,
``c.KfpRunner.host = ...``); GET info's capabilities are the union of theirs and its ``backends`` lists each of them.
The serving manager class is an admin setting too (``c.KaleExtApp.serving_manager_class``); when it cannot be
imported the server still starts, without the "models" capability, and /kale/v1/models answers 503 saying why. The
tuning engine likewise (``c.KaleExtApp.tuner_class``: one Tuner over the default runner, closed at shutdown; without it
no "experiments" capability and /kale/v1/experiments answers 503).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from jupyter_server.extension.application import ExtensionApp
from traitlets import DottedObjectName, Integer, List, Type, Unicode
from traitlets.utils.importstring import import_item

from .. import __version__
from ..runners.backends import Backends
from ..runners.base import Runner
from .experiments import TUNER_SETTING, experiments_routes
from .handlers import AnalyzeHandler, InfoHandler
from .lineage import lineage_routes
from .models import models_routes
from .runs import BACKENDS_SETTING, RUNNER_SETTING, runs_routes
from .serving import SERVING_SETTING, ServingManagers

API_PREFIX = "kale/v1"


def _routes() -> list[tuple[str, type]]:
    return [
        (rf"/{API_PREFIX}/info", InfoHandler),
        (rf"/{API_PREFIX}/analyze", AnalyzeHandler),
        *runs_routes(API_PREFIX),
        *lineage_routes(API_PREFIX),
        *models_routes(API_PREFIX),
        *experiments_routes(API_PREFIX),
    ]


class KaleExtApp(ExtensionApp):
    name = "kale_ext"
    load_other_extensions = True

    runner_class = Type(
        default_value="kale_ext.runners.local.LocalRunner",
        klass=Runner,
        config=True,
        help="The default runner behind the deploy button and /kale/v1/runs (default: the embedded local runner).",
    )
    backend_classes = List(
        Type(klass=Runner),
        default_value=["kale_ext.runners.kfp.runner.KfpRunner"],
        config=True,
        help="Further backends runs can be started on (POST /kale/v1/runs with their name as 'backend'), each a Runner "
        "class; a backend whose name repeats an earlier one's is ignored. Default: the Kubeflow Pipelines runner.",
    )

    # A dotted name, imported at start-up (not a Type trait, which imports its default when the app is built): a
    # server whose serving manager cannot be imported still serves everything else.
    serving_manager_class = DottedObjectName(
        "kale_ext.serving.manager.ServingManager",
        config=True,
        help="The serving manager behind /kale/v1/models and the Models panel, as a dotted name: built per run store "
        "as CLASS(store, host=..., port=...) (default: the local model server's manager).",
    )
    serving_host = Unicode(
        "127.0.0.1",
        config=True,
        help="The address the local model server binds when the Models panel starts it (loopback by default: the "
        "inference endpoints are plain HTTP, as KServe's are).",
    )
    serving_port = Integer(8080, config=True, help="The port of the local model server the Models panel starts.")
    # A dotted name for the same reason as the serving manager's: a server whose tuning engine cannot be imported
    # still serves everything else (without the "experiments" capability; /kale/v1/experiments answers 503).
    tuner_class = DottedObjectName(
        "kale_ext.tuning.experiment.Tuner",
        config=True,
        help="The tuning engine behind /kale/v1/experiments and the Tuning view, as a dotted name: built once at "
        "start-up as CLASS(runner) over the default runner, closed at shutdown (default: the local Tuner).",
    )

    def initialize_settings(self) -> None:
        # Backends are Configurables: built with the app's config (the Type traits checked each class is a Runner).
        runner: Runner = cast("type[Any]", self.runner_class)(parent=self, log=self.log)
        others = [cast("type[Any]", _class(c))(parent=self, log=self.log) for c in self.backend_classes]
        backends = Backends([runner, *others])
        serving = self._serving_managers(runner)
        tuner, tuner_reason = self._tuner(runner)
        capabilities = [
            "analyze",
            *backends.capabilities(),
            *(["models"] if serving else []),
            *(["experiments"] if tuner is not None else []),
        ]
        self.settings.update(
            {
                "kale_ext_version": __version__,
                RUNNER_SETTING: runner,
                BACKENDS_SETTING: backends,
                SERVING_SETTING: serving,
                TUNER_SETTING: tuner,
                TUNER_SETTING + "_reason": tuner_reason,
                "kale_ext_capabilities": capabilities,
            }
        )
        self.log.info("kale_ext %s loaded: REST API under /%s/", __version__, API_PREFIX)

    def _serving_managers(self, runner: Runner) -> ServingManagers | None:
        try:
            manager_class = import_item(self.serving_manager_class)
        except (ImportError, AttributeError, ValueError) as exc:
            self.log.warning("kale_ext: model serving is off: cannot load the serving manager class (%s).", exc)
            return None
        return ServingManagers(manager_class, runner, host=self.serving_host, port=self.serving_port)

    def _tuner(self, runner: Runner) -> tuple[Any, str | None]:
        """The server's one Tuner over the default runner, or None and why (its class cannot be imported)."""
        try:
            tuner_class = import_item(self.tuner_class)
        except (ImportError, AttributeError, ValueError) as exc:
            self.log.warning("kale_ext: tuning is off: cannot load the tuner class (%s).", exc)
            return None, f"cannot load the tuner class {self.tuner_class} ({exc})"
        return tuner_class(runner), None

    def initialize_handlers(self) -> None:
        self.handlers.extend(_routes())

    async def stop_extension(self) -> None:
        """jupyter_server's shutdown hook: stop the experiments' drivers (their trials are runs: the backends then cancel
        them, reason "server stopped") and stop the runs' processes."""
        loop = asyncio.get_running_loop()
        tuner = self.settings.get(TUNER_SETTING)
        if tuner is not None:
            await loop.run_in_executor(None, tuner.close)
        backends = self.settings.get(BACKENDS_SETTING)
        if backends is not None:
            await loop.run_in_executor(None, backends.close)


def _class(value: Any) -> type:
    return import_item(value) if isinstance(value, str) else value
