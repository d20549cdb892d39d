"""Model directories given by path (`kale-ext serve --model-dir DIR`): a kale-ext export is served where it is; a KServe
model directory without kale-model.json (model.joblib, model.bst, model.txt, model.pt or model.pkl alone) is loaded
and exported into the store's content-addressed ``models/<hash>/`` (the user's folder is never written to). Must not
import tornado or jupyter_server.
"""

from __future__ import annotations

import os
from typing import Any

from ..marshal.registry import file_hash
from ..steps.models import model_kind
from .export import FILES, MODEL_JSON, PYFUNC_FILE, export_model, load_file, read_model_json
from .sources import SERVABLE, ModelLoadError, NotServableError

KIND_OF_FILE = {**{f: k for k, f in FILES.items()}, PYFUNC_FILE: "pyfunc"}


def adopt_model_dir(store: Any, path: str) -> tuple[str, dict[str, Any]]:
    """(model directory to serve, its kale-model.json)."""
    directory = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(directory):
        raise ModelLoadError(f"No model directory {path}: it does not exist or is not a folder.")
    if os.path.exists(os.path.join(directory, MODEL_JSON)):
        return directory, read_model_json(directory)
    files = [f for f in KIND_OF_FILE if os.path.isfile(os.path.join(directory, f))]
    if len(files) != 1:
        raise ModelLoadError(
            f"{path} holds {'no' if not files else 'more than one'} model file: expected exactly one of "
            f"{', '.join(KIND_OF_FILE)} (or a {MODEL_JSON}), found {', '.join(files) or 'none'}."
        )
    model_file = os.path.join(directory, files[0])
    model = _load(model_file, KIND_OF_FILE[files[0]])
    kind = model_kind(model)
    if kind is None:
        t = type(model)
        raise NotServableError(
            f"{model_file} holds a {t.__module__}.{t.__qualname__}, not a model. Servable: {SERVABLE}."
        )
    digest = file_hash(model_file)
    target = os.path.join(store.folder, "models", digest.partition(":")[2])
    if os.path.exists(os.path.join(target, MODEL_JSON)):
        return target, read_model_json(target)
    source = {"run_id": None, "step": None, "variable": None, "hash": digest}
    return target, export_model(model, target, kind=kind, source=source)


def _load(path: str, kind: str) -> Any:
    try:
        return load_file(path, kind)
    except Exception as exc:
        raise ModelLoadError(f"Cannot load the model {path} ({type(exc).__name__}: {exc}).") from None
