"""The one root error of kale_ext. Subclasses carry an HTTP status and a stable code.

The server turns any KaleError into a JSON 4xx/5xx with {message, code, details}; the CLI turns it into one line on stderr
and exit code 2. Plain Python: imports nothing from tornado or jupyter_server.
"""

from __future__ import annotations

from typing import Any


class KaleError(Exception):
    status: int = 400
    code: str = "kale.error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code, "details": self.details}


class InvalidRequestError(KaleError):
    """The input is unusable (malformed JSON, missing field, wrong type)."""

    status = 400
    code = "request.invalid"


class NotebookError(KaleError):
    """A file is not a readable notebook (missing, unreadable, not JSON, not nbformat 4)."""

    status = 400
    code = "notebook.invalid"


class NotFoundError(KaleError):
    status = 404
    code = "not_found"


class ForbiddenPathError(KaleError):
    """A request names a path outside the server's root directory."""

    status = 403
    code = "path.forbidden"


class ConflictError(KaleError):
    status = 409
    code = "conflict"
