"""Handlers of the stateless resources: server info and notebook analysis. Thin: parse -> core -> serialize."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .. import __version__
from ..api import API_VERSION
from ..api.analysis import AnalyzeRequest
from ..api.convert import analysis_from_pipeline
from ..api.info import Backend, ServerInfo
from ..errors import InvalidRequestError
from ..pipeline.model import Pipeline
from .base import KaleHandler


def analyze_or_refuse(nb: dict[str, Any], name: str | None) -> Pipeline:
    """The analysis of a notebook from a request; input that exhausts the parser's or the analysis' recursion (one
    expression of 400,000 terms, brackets nested 10,000 deep) is the client's to fix: a 400, never a 500."""
    from ..analysis import analyze

    try:
        return analyze(nb, name=name)
    except RecursionError:
        raise InvalidRequestError(
            "The notebook's code nests deeper than the analysis can follow (an expression of very many terms or "
            "deeply nested brackets); split it into smaller statements.",
            code="analysis.too_deep",
        ) from None


class InfoHandler(KaleHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        capabilities = list(self.settings.get("kale_ext_capabilities", []))
        backends = self.settings.get("kale_ext_backends")
        listed = [Backend(**b) for b in backends.info()] if backends is not None else []
        self.write_json(
            ServerInfo(version=__version__, api_version=API_VERSION, capabilities=capabilities, backends=listed)
        )


def _notebook_from_body(handler: KaleHandler, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Accept the notebook itself, {"notebook": {...}, "path": optional}, or {"path": "..."} of a saved notebook."""
    from ..notebook import load_notebook

    if "cells" in body:  # the notebook JSON itself (its own keys are checked by the notebook reader)
        return body, None
    request = handler.parse_body(AnalyzeRequest, body)
    if request.notebook is not None:
        return request.notebook, request.path
    if request.path is not None:
        return load_notebook(handler.resolve_path(request.path)), request.path
    raise InvalidRequestError(
        'Send a notebook: the notebook JSON itself, {"notebook": {...}}, or {"path": "relative/path.ipynb"}.',
        code="request.notebook",
    )


class AnalyzeHandler(KaleHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        from ..notebook import pipeline_name_for

        nb, path = _notebook_from_body(self, self.get_json_body_object())
        name = pipeline_name_for(path) if path else None
        pipeline = await self.off_loop(analyze_or_refuse, nb, name)
        self.write_json(analysis_from_pipeline(pipeline.to_json()))
