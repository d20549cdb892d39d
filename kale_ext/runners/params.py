"""Pipeline parameter values: parsing ``NAME=VALUE`` text and checking values against the defaults' types.

Text (a ``--param`` value, a string sent to the REST API) becomes a value with ``parse_value(text, default)``: a Python
literal of the default's type is evaluated, anything else stays the text itself. So for a str parameter ``'boom'`` and
``boom`` both give ``boom`` while ``3`` gives ``"3"``; for an int parameter ``3`` gives 3 and ``boom`` stays a string,
which ``resolve`` then refuses. A float parameter accepts an int; anything else must have its default's type. Errors
are KaleErrors (exit 2 on the CLI, 400 on the REST API). Never imports tornado or jupyter_server.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError
from ..syntax import literal_eval, literal_or_text


class ParameterError(InvalidRequestError):
    code = "parameter.invalid"


def parse_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ParameterError(f"--param expects NAME=VALUE, got {text!r}.")
    return name, value


def _accepts(default: Any, value: Any) -> bool:
    """Whether ``value`` can stand for a parameter whose default is ``default``."""
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple)
    return type(value) is type(default)


def parse_value(text: str, default: Any) -> Any:
    """The value ``text`` gives a parameter whose default is ``default`` (None: no known default, any literal)."""
    value = literal_or_text(text)
    return value if value is not text and _accepts(default, value) else text


def coerce(name: str, value: Any, default: Any) -> Any:
    """``value`` checked against ``default``'s type (a float parameter takes an int, a tuple one a list)."""
    if not _accepts(default, value):
        raise ParameterError(
            f"Parameter {name!r} expects a {type(default).__name__} like its default {default!r}, got {value!r} "
            f"({type(value).__name__}).",
            details={"parameter": name},
        )
    if isinstance(default, float):
        return float(value)
    if isinstance(default, list | tuple):
        return type(default)(value)
    return value


def resolve(defaults: dict[str, Any], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults with the (typed) overrides applied; unknown names are refused with the list of known ones."""
    values = dict(defaults)
    for name, value in (overrides or {}).items():
        if name not in defaults:
            known = ", ".join(sorted(defaults)) or "none: the notebook has no pipeline-parameters cell"
            raise ParameterError(f"Unknown parameter {name!r} (known: {known}).", details={"parameter": name})
        values[name] = coerce(name, value, defaults[name])
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
