"""Handlers of the stateless resources: server info and notebook analysis. Thin: parse -> core -> serialize."""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .. import API_VERSION, __version__
from ..errors import InvalidRequestError
from .base import KaleHandler


class InfoHandler(KaleHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        capabilities = self.settings.get("kale_ext_capabilities", [])
        self.write_json({"version": __version__, "api_version": API_VERSION, "capabilities": list(capabilities)})


def _notebook_from_body(handler: KaleHandler, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Accept the notebook itself, {"notebook": {...}, "path": optional}, or {"path": "..."} of a saved notebook."""
    from ..notebook import load_notebook

    path = body.get("path")
    if "cells" in body:
        return body, None
    if "notebook" in body:
        nb = body["notebook"]
        if not isinstance(nb, dict):
            raise InvalidRequestError("'notebook' must be a notebook JSON object.", code="request.notebook")
        return nb, path if isinstance(path, str) else None
    if path is not None:
        return load_notebook(handler.resolve_path(path)), path
    raise InvalidRequestError(
        'Send a notebook: the notebook JSON itself, {"notebook": {...}}, or {"path": "relative/path.ipynb"}.',
        code="request.notebook",
    )


class AnalyzeHandler(KaleHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        from ..analysis import analyze

        nb, path = _notebook_from_body(self, self.get_json_body_object())
        name = None
        if path:
            name = path.rsplit("/", 1)[-1].removesuffix(".ipynb")
        pipeline = await asyncio.get_running_loop().run_in_executor(None, lambda: analyze(nb, name=name))
        self.write_json(pipeline.to_json())
