"""Models a step binds: which values are servable models, and their saving beside the step's outputs.

A step's bound globals are the names its cells created or rebound (``bound_names``: a cheap comparison of object ids
taken before and after the cells). Among them, ``model_kind`` picks the model-typed values: scikit-learn estimators and
pipelines, XGBoost and LightGBM models, torch modules (only when torch is already imported: torch is never imported
here), and any other object with a callable ``predict`` that is not a class, module or function. The checks look at
the value's type and at modules already in ``sys.modules``, so a step that binds no model pays a few dict lookups per
name. ``save_models`` writes the models no later step reads (the leaf training steps) through the serializers; a model
that is also an output is saved once, as that output. Never imports tornado or jupyter_server (nor torch, sklearn,
xgboost, lightgbm: it only finds them in ``sys.modules``).
"""

from __future__ import annotations

import sys
import types
from typing import Any

KINDS = ("sklearn", "xgboost", "lightgbm", "pytorch", "pyfunc")
_NOT_MODELS = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def snapshot(ns: dict[str, Any]) -> dict[str, int]:
    """The identity of every value in the namespace, before the cells run."""
    return {name: id(value) for name, value in ns.items()}


def bound_names(ns: dict[str, Any], before: dict[str, int]) -> list[str]:
    """The public names the cells created or rebound since ``before``."""
    return [n for n, v in ns.items() if not n.startswith("_") and before.get(n) != id(v)]


def model_kind(value: Any) -> str | None:
    """The serving kind of ``value`` ("sklearn", "xgboost", "lightgbm", "pytorch", "pyfunc"), or None if no model."""
    if isinstance(value, _NOT_MODELS):
        return None
    t = type(value)
    root = t.__module__.partition(".")[0]
    if root == "xgboost" and _is_instance(value, "xgboost", ("Booster", "XGBModel")):
        return "xgboost"
    if root == "lightgbm" and _is_instance(value, "lightgbm", ("Booster", "LGBMModel")):
        return "lightgbm"
    base = sys.modules.get("sklearn.base")
    if base is not None and isinstance(value, base.BaseEstimator) and callable(getattr(t, "predict", None)):
        return "sklearn"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        return "pytorch"
    if callable(getattr(t, "predict", None)):
        return "pyfunc"
    return None


def _is_instance(value: Any, module: str, names: tuple[str, ...]) -> bool:
    mod = sys.modules.get(module)
    return mod is not None and any(isinstance(value, getattr(mod, n, ())) for n in names if hasattr(mod, n))


def find_models(ns: dict[str, Any], names: list[str]) -> dict[str, str]:
    """{name: kind} for the model-typed values among ``names``."""
    found = {}
    for name in names:
        kind = model_kind(ns[name])
        if kind is not None:
            found[name] = kind
    return found


def save_models(
    models: dict[str, str], ns: dict[str, Any], outputs: dict[str, Any], output_dir: str
) -> dict[str, dict[str, Any]]:
    """Each model as {"kind", "artifact"}: ``artifact`` is None for a model saved as one of the step's outputs, else
    the manifest entry of its own file (in ``output_dir/models/``). A model that cannot be serialized is left out
    with a line on stderr: the step's outputs are what the pipeline needs; a model is an extra."""
    if not models:
        return {}
    import os

    from ..marshal import SerializationError, save_value

    saved: dict[str, dict[str, Any]] = {}
    directory = os.path.join(output_dir, "models")
    for name, kind in models.items():
        if name in outputs:
            saved[name] = {"kind": kind, "artifact": None}
            continue
        os.makedirs(directory, exist_ok=True)
        try:
            entry = save_value(name, ns[name], directory).to_json()
        except SerializationError as exc:
            sys.stderr.write(f"kale-ext: model {name!r} is not kept for serving: {exc.message}\n")
            continue
        saved[name] = {"kind": kind, "artifact": entry}
    return saved
