"""Pipeline parameter overrides: parsing ``NAME=VALUE`` and checking values against the defaults' types.

Values are Python literals (``ast.literal_eval``), falling back to the raw string. A string parameter always takes the
raw text; a float parameter accepts an int; anything else must have its default's type. Errors are KaleErrors (exit 2 on
the CLI, 400 on the REST API).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError
from ..syntax import literal_eval


class ParameterError(InvalidRequestError):
    code = "parameter.invalid"


def parse_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ParameterError(f"--param expects NAME=VALUE, got {text!r}.")
    return name, value


def parse_literal(raw: str) -> Any:
    try:
        return literal_eval(raw.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return raw


def coerce(name: str, value: Any, default: Any, *, raw: str | None = None) -> Any:
    """``value`` checked against ``default``'s type; ``raw`` is the command-line text, when there is one."""
    if default is None:
        return value
    if isinstance(default, str):
        if raw is not None:
            return raw
        if isinstance(value, str):
            return value
    elif isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif type(value) is type(default):
        return value
    elif isinstance(default, list | tuple) and isinstance(value, list | tuple):
        return type(default)(value)
    raise ParameterError(
        f"Parameter {name!r} expects a {type(default).__name__} like its default {default!r}, got {value!r} "
        f"({type(value).__name__}).",
        details={"parameter": name},
    )


def resolve(
    defaults: dict[str, Any], overrides: dict[str, Any] | None = None, raw: dict[str, str] | None = None
) -> dict[str, Any]:
    """Defaults with overrides applied; unknown names are refused with the list of known ones."""
    values = dict(defaults)
    merged: dict[str, tuple[Any, str | None]] = {k: (v, None) for k, v in (overrides or {}).items()}
    merged.update({k: (parse_literal(v), v) for k, v in (raw or {}).items()})
    for name, (value, text) in merged.items():
        if name not in defaults:
            known = ", ".join(sorted(defaults)) or "none: the notebook has no pipeline-parameters cell"
            raise ParameterError(f"Unknown parameter {name!r} (known: {known}).", details={"parameter": name})
        values[name] = coerce(name, value, defaults[name], raw=text)
    return values


def to_literals(values: dict[str, Any]) -> dict[str, str]:
    """Values as Python literal source (how step programs receive them); refuses values that are not literals."""
    out = {}
    for name, value in values.items():
        text = repr(value)
        try:
            literal_eval(text)
        except (ValueError, SyntaxError):
            raise ParameterError(f"Parameter {name!r} has a value that is not a Python literal: {text[:80]}") from None
        out[name] = text
    return out
