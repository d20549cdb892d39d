"""Export of a model object into a model directory in the layout KServe's model servers load, plus kale-model.json.

Layouts (contract 1): scikit-learn -> model.joblib, XGBoost -> model.bst and LightGBM -> model.txt (their Booster's
``save_model``), torch -> model.pt (TorchScript when scriptable, else the whole module), anything else with a callable
``predict`` -> model.pkl (the project's cloudpickle serializer). Beside it kale-model.json: kind, file, format (name and
library version), input and output tensors derived from the model (metadata.py), feature names, the transformer
(transformer.py: the notebook's prelude, when it defines the pre/postprocess functions), the explainer kind and the
lineage (run, step, variable, content hash). A directory is written beside its final place and renamed into it, so a
reader never sees half a model. Must not import tornado or jupyter_server; model libraries are imported only for
models of their kind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from typing import Any

from ..errors import KaleError
from .metadata import explainer_kind, feature_names, library_version, tensors

MODEL_JSON = "kale-model.json"
FILES = {"sklearn": "model.joblib", "xgboost": "model.bst", "lightgbm": "model.txt", "pytorch": "model.pt"}
PYFUNC_FILE = "model.pkl"
BACKGROUND = "background.npy"


class ModelExportError(KaleError):
    status = 400
    code = "model.export"


def export_model(
    model: Any,
    directory: str,
    *,
    kind: str,
    source: dict[str, Any] | None = None,
    transformer: dict[str, Any] | None = None,
    background: Any = None,
) -> dict[str, Any]:
    """Write ``model`` into ``directory`` (created; must not exist yet) and answer its kale-model.json.

    ``transformer``: {"source": PYTHON_SOURCE, "preprocess": NAME | None, "postprocess": NAME | None} or None;
    ``background``: a small sample of the training rows (a 2-D numpy array) for the explainer, or None."""
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        meta = _write_directory(model, kind, staging, source, transformer, background)
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelExportError(
            f"Cannot export the {kind} model of type {type(model).__module__}.{type(model).__qualname__} "
            f"({type(exc).__name__}: {exc}).",
            details={"kind": kind},
        ) from None
    try:
        os.rename(staging, directory)  # atomic: a reader never sees half a model
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not os.path.exists(os.path.join(directory, MODEL_JSON)):
            raise ModelExportError(
                f"Cannot create the model directory {directory}: it exists and is not one."
            ) from None
        return read_model_json(directory)  # another process exported the same model meanwhile
    return meta


def _write_directory(
    model: Any, kind: str, staging: str, source: Any, transformer: dict[str, Any] | None, background: Any
) -> dict[str, Any]:
    """The model file, the explainer's background, transformer.py and kale-model.json, in ``staging``."""
    name = _write_model(model, kind, staging)
    inputs, outputs = tensors(model, kind)
    meta: dict[str, Any] = {
        "kind": kind,
        "file": name,
        "format": {"name": kind, "version": library_version(kind)},
        "inputs": inputs,
        "outputs": outputs,
        "feature_names": feature_names(model, kind),
        "transformer": None,
        "explainer": {"kind": explainer_kind(model, kind), "background": None},
        "source": source,
    }
    if background is not None:
        import numpy as np

        np.save(os.path.join(staging, BACKGROUND), np.asarray(background), allow_pickle=False)
        meta["explainer"]["background"] = BACKGROUND
    if transformer is not None:
        with open(os.path.join(staging, "transformer.py"), "w") as f:
            f.write(transformer["source"])
        meta["transformer"] = {
            "file": "transformer.py",
            "preprocess": transformer.get("preprocess"),
            "postprocess": transformer.get("postprocess"),
        }
    with open(os.path.join(staging, MODEL_JSON), "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def _write_model(model: Any, kind: str, directory: str) -> str:
    if kind == "sklearn":
        import joblib

        joblib.dump(model, os.path.join(directory, FILES[kind]))
        return FILES[kind]
    if kind in ("xgboost", "lightgbm"):
        booster = model.get_booster() if hasattr(model, "get_booster") else getattr(model, "booster_", model)
        with warnings.catch_warnings():  # XGBoost guesses UBJSON for the .bst KServe's server loads, and says so
            warnings.simplefilter("ignore", UserWarning)
            booster.save_model(os.path.join(directory, FILES[kind]))
        return FILES[kind]
    if kind == "pytorch":
        import torch

        path = os.path.join(directory, FILES[kind])
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated in torch 2.9, yet self-contained for serving
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.jit.save(torch.jit.script(model), path)
        except Exception:  # not scriptable (dynamic Python in forward): the whole module, as torch.save writes it
            torch.save(model, path)
        return FILES[kind]
    from ..marshal.registry import default_registry

    default_registry().get("cloudpickle").save(model, os.path.join(directory, PYFUNC_FILE))
    return PYFUNC_FILE


def read_model_json(directory: str) -> dict[str, Any]:
    path = os.path.join(directory, MODEL_JSON)
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as exc:
        raise ModelExportError(
            f"{directory} is not a model directory kale-ext can serve: cannot read {MODEL_JSON} "
            f"({type(exc).__name__}: {exc}).",
            code="model.load",
        ) from None
    if not isinstance(meta, dict) or "kind" not in meta or "file" not in meta:
        raise ModelExportError(f'{path} has no "kind" and "file": not a kale-ext model directory.', code="model.load")
    return meta


def load_exported(directory: str) -> Any:
    """Load the model file of a model directory back (as the loader of its kind does): proves an export loads."""
    meta = read_model_json(directory)
    return load_file(os.path.join(directory, meta["file"]), meta["kind"])


def load_file(path: str, kind: str) -> Any:
    """A model file of a KServe layout, loaded the way that kind's model server loads it."""
    if kind == "sklearn":
        import joblib

        return joblib.load(path)
    if kind == "xgboost":
        import xgboost

        booster = xgboost.Booster()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            booster.load_model(path)
        return booster
    if kind == "lightgbm":
        import lightgbm

        return lightgbm.Booster(model_file=path)
    if kind == "pytorch":
        import torch

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return torch.jit.load(path)
        except Exception:  # not TorchScript: a whole module saved by torch.save
            return torch.load(path, weights_only=False)
    from ..marshal.registry import default_registry

    return default_registry().get("cloudpickle").load(path)
