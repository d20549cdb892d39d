"""Output saving: the step's outputs written as artifacts, its metrics made JSON.

``save_outputs`` writes every variable later steps read (groups of names that may share objects as one object graph)
through the serializer registry and answers their manifest entries; a variable the step never defined is a StepError
that names it. ``to_json_value`` turns a metric's final value into JSON. kale_ext.marshal is imported only when a step
has outputs. Never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .failure import StepError
from .spec import StepSpec


def save_outputs(spec: StepSpec, ns: dict[str, Any], output_dir: str) -> dict[str, Any]:
    if not spec.outputs:
        return {}
    from ..marshal import save_group, save_value

    missing = [name for name in spec.outputs if name not in ns]
    if missing:
        raise StepError(
            f"Step {spec.name!r} ended without defining {', '.join(map(repr, missing))}, which later steps read. "
            f"Fix: make sure every path through the step's cells assigns it."
        )
    os.makedirs(output_dir, exist_ok=True)
    saved: dict[str, Any] = {}
    for group in spec.shared_outputs:  # names that may share objects: one object graph each
        for entry in save_group(group, ns, output_dir):
            saved[entry.name] = entry.to_json()
    for name in spec.outputs:
        if name not in saved:
            saved[name] = save_value(name, ns[name], output_dir).to_json()
    return {name: saved[name] for name in spec.outputs}


def to_json_value(value: Any) -> Any:
    """Metric values as JSON: numpy scalars become Python numbers; anything else that JSON refuses becomes its repr."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    try:
        json.dumps(value, allow_nan=True)
        return value
    except (TypeError, ValueError):
        return repr(value)
