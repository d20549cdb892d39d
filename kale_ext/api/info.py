"""Wire models shared by every endpoint: the server's identity and the one error body.

Plain msgspec Structs; must not import tornado, jupyter_server, the runners or the store.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Backend(msgspec.Struct, kw_only=True):
    """A backend runs can be started on (POST /kale/v1/runs ``backend``); ``reason`` says why it is not enabled."""

    name: str
    enabled: bool
    reason: str | None


class ServerInfo(msgspec.Struct, kw_only=True):
    """GET /kale/v1/info: what the frontend checks before talking to the server. ``backends``: every configured
    backend, the default first."""

    version: str
    api_version: str
    capabilities: list[str]
    backends: list[Backend] = []


class ErrorBody(msgspec.Struct, kw_only=True):
    """Every 4xx/5xx answer. ``code`` is stable and dotted ("request.field"); ``details`` names the culprit
    (``details.field`` for a request field of the wrong type)."""

    message: str
    code: str
    details: dict[str, Any]
