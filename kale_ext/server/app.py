"""The jupyter_server ExtensionApp of kale_ext: the whole route table and the admin settings (traitlets).

Every route lives under ``/kale/v1/``. Managers are built here at start-up and handed to handlers through
``self.settings``; there are no global singletons.
"""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp

from .. import __version__
from .handlers import AnalyzeHandler, InfoHandler

API_PREFIX = "kale/v1"


def _routes() -> list[tuple[str, type]]:
    return [
        (rf"/{API_PREFIX}/info", InfoHandler),
        (rf"/{API_PREFIX}/analyze", AnalyzeHandler),
    ]


class KaleExtApp(ExtensionApp):
    name = "kale_ext"
    load_other_extensions = True

    def initialize_settings(self) -> None:
        self.settings.update({"kale_ext_version": __version__})
        self.log.info("kale_ext %s loaded: REST API under /%s/", __version__, API_PREFIX)

    def initialize_handlers(self) -> None:
        self.handlers.extend(_routes())
