"""What a model says about itself: its input and output tensors (V2 metadata), feature names, explainer kind and
library version, read from the fitted model's attributes (n_features_in_, feature_names_in_, classes_, n_outputs_,
a Booster's feature count, a torch module's first and last Linear layers). Nothing here calls the model.

Datatypes are the Open Inference Protocol's (FP64, INT64, BYTES, ...). A dimension the model does not reveal is -1,
as in V2 metadata. Must not import tornado or jupyter_server; model libraries only for models of their kind.
"""

from __future__ import annotations

import importlib.metadata
import json
from typing import Any

DISTRIBUTIONS = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm", "pytorch": "torch"}
_NUMPY_TO_V2 = {
    "b": "BOOL",
    "i1": "INT8",
    "i2": "INT16",
    "i4": "INT32",
    "i8": "INT64",
    "u1": "UINT8",
    "u2": "UINT16",
    "u4": "UINT32",
    "u8": "UINT64",
    "f2": "FP16",
    "f4": "FP32",
    "f8": "FP64",
}
_TREE_MODULES = ("sklearn.ensemble", "sklearn.tree")
_LINEAR_MODULES = ("sklearn.linear_model", "sklearn.svm._classes", "sklearn.discriminant_analysis")


def v2_datatype(dtype: Any) -> str:
    """The V2 datatype of a numpy dtype: strings and objects are BYTES."""
    kind = getattr(dtype, "kind", "O")
    if kind in ("U", "S", "O"):
        return "BYTES"
    if kind == "b":
        return "BOOL"
    return _NUMPY_TO_V2.get(f"{kind}{dtype.itemsize}", "BYTES")


def library_version(kind: str) -> str | None:
    dist = DISTRIBUTIONS.get(kind)
    if dist is None:
        return None
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def final_estimator(model: Any) -> Any:
    """A Pipeline's last step (recursively), else the model."""
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
        return final_estimator(steps[-1][1])
    return model


def feature_names(model: Any, kind: str) -> list[str] | None:
    names: Any = None
    if kind in ("sklearn", "pyfunc"):
        names = getattr(model, "feature_names_in_", None)
    elif kind == "xgboost":
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        names = booster.feature_names
    elif kind == "lightgbm":
        booster = getattr(model, "booster_", model)
        names = booster.feature_name()
    return [str(n) for n in names] if names is not None else None


def n_features(model: Any, kind: str) -> int:
    if kind in ("sklearn", "pyfunc"):
        n = getattr(model, "n_features_in_", None)
    elif kind == "xgboost":
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        n = booster.num_features()
    elif kind == "lightgbm":
        n = getattr(model, "booster_", model).num_feature()
    else:
        linear = _torch_linears(model)
        n = linear[0].in_features if linear else None
    return int(n.__index__()) if n is not None and hasattr(n, "__index__") else -1


def tensors(model: Any, kind: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """([input tensor], [output tensor]) as V2 model metadata lists them."""
    width = n_features(model, kind)
    in_type = "FP32" if kind in ("pytorch", "xgboost") else "FP64"
    inputs = [{"name": "input-0", "datatype": in_type, "shape": [-1, width]}]
    return inputs, [_output(model, kind)]


def _output(model: Any, kind: str) -> dict[str, Any]:
    if kind == "pytorch":
        linear = _torch_linears(model)
        return {"name": "output-0", "datatype": "FP32", "shape": [-1, linear[-1].out_features if linear else -1]}
    if kind in ("xgboost", "lightgbm"):  # their servers answer the Booster's predict: one column per class
        n = _booster_outputs(model, kind)
        return {
            "name": "output-0",
            "datatype": "FP32" if kind == "xgboost" else "FP64",
            "shape": [-1, n] if n > 1 else [-1],
        }
    estimator = final_estimator(model)
    classes = getattr(estimator, "classes_", None)
    if classes is not None and hasattr(classes, "dtype"):
        return {"name": "output-0", "datatype": v2_datatype(classes.dtype), "shape": [-1]}
    outputs = getattr(estimator, "n_outputs_", 1)
    shape = [-1, int(outputs)] if isinstance(outputs, int) and outputs > 1 else [-1]
    return {"name": "output-0", "datatype": "FP64", "shape": shape}


def _booster_outputs(model: Any, kind: str) -> int:
    """The number of values a Booster predicts per row (the classes of a multi-class model, else 1)."""
    if kind == "lightgbm":
        return int(getattr(model, "booster_", model).num_model_per_iteration())
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    config = json.loads(booster.save_config())
    return max(1, int(config["learner"]["learner_model_param"].get("num_class", "0")))


def explainer_kind(model: Any, kind: str) -> str:
    """ "linear" for scikit-learn linear models (exact attributions), "tree" for tree ensembles, else "kernel"."""
    if kind in ("xgboost", "lightgbm"):
        return "tree"
    if kind != "sklearn":
        return "kernel"
    module = type(final_estimator(model)).__module__
    if module.startswith(_LINEAR_MODULES) and hasattr(final_estimator(model), "coef_"):
        return "linear"
    if module.startswith(_TREE_MODULES):
        return "tree"
    return "kernel"


def _torch_linears(model: Any) -> list[Any]:
    import torch

    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
