"""Base handler of every kale_ext REST endpoint: authentication, authorization, JSON bodies and one JSON error shape.

Every verb of every handler is wrapped by ``@web.authenticated`` and ``@authorized`` (jupyter_server's authorizer, resource
"kale"), so a request without valid credentials is refused with 403 before any work. Bodies are parsed into and
responses serialized from the wire models of kale_ext.api (its codec decides what a bad body answers). Errors are always
an ErrorBody ``{"message", "code", "details"}``: KaleError subclasses carry their 4xx status; anything unexpected is
logged with its traceback on the server and answered 500 without one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ..api import codec
from ..api.info import ErrorBody
from ..errors import ForbiddenPathError, InvalidRequestError, KaleError, NotFoundError

T = TypeVar("T")

AUTH_RESOURCE = "kale"


class KaleHandler(ExtensionHandlerMixin, APIHandler):
    """Parse -> core -> serialize. Subclasses decorate each verb with ``@web.authenticated`` and ``@authorized``."""

    auth_resource = AUTH_RESOURCE

    # --- request helpers -------------------------------------------------------------------------------------------
    def get_json_body_object(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400 that says what is wrong (not JSON, not an object, too deep)."""
        return codec.decode_object(self.request.body)

    def parse_body(self, model: type[T], body: dict[str, Any] | None = None) -> T:
        """The request body (or ``body``, already decoded) validated into ``model``; a 400 naming the bad field."""
        return codec.parse(self.get_json_body_object() if body is None else body, model)

    def resolve_path(self, relative: str) -> str:
        """A path from a request, resolved inside the server's root directory; anything outside is refused (403)."""
        if not isinstance(relative, str) or not relative:
            raise InvalidRequestError(
                "'path' must be a non-empty string relative to the server root.", code="path.invalid"
            )
        if "\x00" in relative:
            raise InvalidRequestError("'path' contains a NUL character.", code="path.invalid")
        candidate = os.path.realpath(os.path.join(self.server_root(), relative.lstrip("/")))
        if not self.inside_root(candidate):
            raise ForbiddenPathError(f"'{relative}' is outside the server's root directory.")
        return candidate

    def server_root(self) -> str:
        """The server's root directory, symlinks resolved."""
        return os.path.realpath(self.settings.get("server_root_dir") or os.getcwd())

    def inside_root(self, path: str) -> bool:
        """Whether the absolute ``path``, its symlinks resolved, is the server's root directory or inside it."""
        root = self.server_root()
        return os.path.commonpath([root, os.path.realpath(path)]) == root

    def relative_path(self, absolute: str) -> str:
        return os.path.relpath(absolute, self.server_root())

    async def off_loop(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the default executor, so blocking work (SQLite, files, processes) never stalls
        the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))

    def write_json(self, payload: Any, status: int = 200) -> None:
        """Answer a wire model (kale_ext.api) as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(codec.encode(payload))

    # --- errors ----------------------------------------------------------------------------------------------------
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, KaleError):
            status_code = exc.status
            payload = ErrorBody(message=exc.message, code=exc.code, details=dict(exc.details))
        elif isinstance(exc, web.HTTPError):
            reason = exc.log_message or exc.reason or HTTPStatus(exc.status_code).phrase
            payload = ErrorBody(message=reason, code=f"http.{exc.status_code}", details={})
            status_code = exc.status_code
        else:
            payload = ErrorBody(message="Internal error in kale_ext; see the server log.", code="internal", details={})
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(codec.encode(payload))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, KaleError):  # a client mistake answered with a 4xx: no traceback in the log
            self.log.info("%s %s -> %s %s", self.request.method, self.request.path, value.status, value.code)
            return
        super().log_exception(typ, value, tb)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, KaleError):
            status_code = exc.status
        super().send_error(status_code, **kwargs)


def not_found(what: str) -> NotFoundError:
    return NotFoundError(f"{what} was not found.")
