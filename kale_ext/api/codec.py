"""Bytes <-> wire models: the one place request bodies are decoded and validated and responses encoded.

A body that is not JSON, is not an object, or nests deeper than the decoder's recursion allows is an
InvalidRequestError (400, code "request.json" / "request.empty" / "request.too_deep"); a field of the wrong type or a
missing one is a RequestFieldError (400, code "request.field" unless the model maps the field to its own code through
its ``error_codes`` class variable) whose ``details.field`` names the field, as msgspec's "at `$.field`" path does.
Plain Python and msgspec; must not import tornado, jupyter_server, the runners or the store.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from ..errors import InvalidRequestError

T = TypeVar("T")

_AT = re.compile(r"^(?P<what>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")


class RequestFieldError(InvalidRequestError):
    """A request field has the wrong type or value, or is missing. ``details``: {"field", "reason"}."""

    code = "request.field"


def decode_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong."""
    if not raw or not raw.strip():
        raise InvalidRequestError("The request body is empty: send a JSON object.", code="request.empty")
    try:
        body = msgspec.json.decode(raw)
    except RecursionError:
        raise InvalidRequestError(
            "The request body nests JSON arrays or objects deeper than the server accepts; send a flatter body.",
            code="request.too_deep",
        ) from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidRequestError(f"The request body is not valid JSON ({exc}).", code="request.json") from None
    if not isinstance(body, dict):
        raise InvalidRequestError(
            f"The request body must be a JSON object, not {_json_kind(body)}.", code="request.json"
        )
    return body


def parse(obj: dict[str, Any], model: type[T]) -> T:
    """``obj`` validated into ``model``; a RequestFieldError naming the field when it does not fit."""
    try:
        return msgspec.convert(obj, model)
    except msgspec.ValidationError as exc:
        raise field_error(str(exc), model) from None
    except RecursionError:
        raise InvalidRequestError(
            "The request nests deeper than the server accepts.", code="request.too_deep"
        ) from None


def decode(raw: bytes, model: type[T]) -> T:
    """The request body decoded and validated into ``model``."""
    return parse(decode_object(raw), model)


def field_error(message: str, model: type) -> RequestFieldError:
    """Turn msgspec's "Expected `int | null`, got `str` - at `$.max_parallel`" into an error naming the field."""
    match = _AT.match(message)
    what = match.group("what") if match else message
    path = (match.group("path") if match else None) or "$"
    missing = _MISSING.match(what)
    if missing:
        path = f"{path}.{missing.group('name')}"
    field = path.removeprefix("$").removeprefix(".") or "(body)"
    top = re.split(r"[.\[]", field, maxsplit=1)[0]
    code = getattr(model, "error_codes", {}).get(top, RequestFieldError.code)
    if missing:
        text = f"The request is missing the required field '{field}'."
    else:
        text = f"The request field '{field}' is invalid: {what[:1].lower()}{what[1:]}."
    return RequestFieldError(text, code=code, details={"field": field, "reason": what})


def _fallback(value: Any) -> Any:
    """Values without a JSON form (a parameter default of an unusual type) are sent as their text, as before."""
    return str(value)


_ENCODER = msgspec.json.Encoder(enc_hook=_fallback)


def encode(value: Any) -> bytes:
    """A wire model (or plain JSON-able data) as JSON bytes."""
    return _ENCODER.encode(value)


def to_builtins(value: Any) -> Any:
    """A wire model as plain dicts and lists (for ``json.dump(..., indent=...)`` on the CLI)."""
    return msgspec.to_builtins(value, enc_hook=_fallback)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
