"""Load a model directory (KServe's layouts, described by kale-model.json) into a predictor the server can call.

Layouts (contract 1): sklearn model.joblib, xgboost model.bst (predicted through a DMatrix, as KServe's xgbserver does),
lightgbm model.txt, pytorch model.pt (a whole module or TorchScript; eval mode, no grad), pyfunc model.pkl (any object
with a callable ``predict``, read by the project's cloudpickle serializer). A transformer.py beside it is imported as its own
module (before the model, so classes the notebook defined unpickle); its ``preprocess`` / ``postprocess`` run
around ``predict``. Loading never raises anything but ModelLoadError.
Must not import tornado or jupyter_server; model libraries are imported only when a model of their kind is loaded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import KaleError

META_FILE = "kale-model.json"
DEFAULT_FILES = {
    "sklearn": "model.joblib",
    "xgboost": "model.bst",
    "lightgbm": "model.txt",
    "pytorch": "model.pt",
    "pyfunc": "model.pkl",
}
_module_ids = itertools.count(1)


class ModelLoadError(KaleError):
    status = 400
    code = "model.load"


@dataclass
class LoadedModel:
    """A model ready to be called: ``predict(x)`` takes the model's input (ndarray, DataFrame or list of str)."""

    model_dir: str
    kind: str
    meta: dict[str, Any]
    model: Any
    predict: Callable[[Any], Any]
    preprocess: Callable[[Any], Any] | None = None
    postprocess: Callable[[Any], Any] | None = None
    feature_names: list[str] | None = field(default=None)

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return list(self.meta.get("inputs") or [])

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return list(self.meta.get("outputs") or [])


def read_meta(model_dir: str) -> dict[str, Any]:
    """kale-model.json, or the kind guessed from the one model file present (a directory written by other tools)."""
    path = os.path.join(model_dir, META_FILE)
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                meta = json.load(f)
        except (OSError, ValueError) as e:
            raise ModelLoadError(
                f"{path} is not readable JSON ({e}); re-export the model with `kale-ext serve`."
            ) from e
        if not isinstance(meta, dict) or meta.get("kind") not in DEFAULT_FILES:
            raise ModelLoadError(f"{path}: 'kind' must be one of {sorted(DEFAULT_FILES)}, found {meta.get('kind')!r}.")
        return meta
    if not os.path.isdir(model_dir):
        raise ModelLoadError(f"Model directory {model_dir} does not exist.")
    for kind, name in DEFAULT_FILES.items():
        if os.path.isfile(os.path.join(model_dir, name)):
            return {"kind": kind, "file": name}
    raise ModelLoadError(
        f"{model_dir} holds neither {META_FILE} nor a model file ({', '.join(DEFAULT_FILES.values())})."
    )


def load_model_dir(model_dir: str, predictor: Callable[[Any], Any] | None = None) -> LoadedModel:
    """Load the directory's model and transformer; any failure becomes a ModelLoadError that says why. With
    ``predictor`` (a KServe transformer's remote predictor, remote.py) only the transformer is loaded and the model is
    called through it."""
    meta = read_meta(model_dir)
    kind = meta["kind"]
    prelude, functions = _load_transformer(model_dir, meta["transformer"]) if meta.get("transformer") else (None, {})
    if predictor is not None:
        loaded = LoadedModel(model_dir, kind, meta, None, predictor, feature_names=meta.get("feature_names"))
        loaded.preprocess, loaded.postprocess = functions.get("preprocess"), functions.get("postprocess")
        return loaded
    path = os.path.join(model_dir, meta.get("file") or DEFAULT_FILES[kind])
    if not os.path.isfile(path):
        raise ModelLoadError(f"{kind} model file {path} is missing.")
    try:
        with _prelude_in_main(prelude):
            model, predict = _LOADERS[kind](path)
    except ModelLoadError:
        raise
    except Exception as e:  # a corrupt file or a library mismatch: the model is "not ready", never a crash
        raise ModelLoadError(f"Cannot load the {kind} model {path}: {type(e).__name__}: {e}") from e
    loaded = LoadedModel(model_dir, kind, meta, model, predict, feature_names=meta.get("feature_names"))
    loaded.preprocess, loaded.postprocess = functions.get("preprocess"), functions.get("postprocess")
    return loaded


@contextlib.contextmanager
def _prelude_in_main(prelude: Any) -> Iterator[None]:
    """While a model file is read, names the notebook defined (pickled as ``__main__.NAME`` by torch.save, joblib or
    pickle) resolve to the prelude's definitions. Only names __main__ lacks are added, and removed again after: the
    unpickled objects hold their classes directly, and another model's prelude may define the same names."""
    main = sys.modules.get("__main__")
    if prelude is None or main is None:
        yield
        return
    added = [n for n in vars(prelude) if not n.startswith("__") and not hasattr(main, n)]
    for name in added:
        setattr(main, name, getattr(prelude, name))
    try:
        yield
    finally:
        for name in added:
            delattr(main, name)


def _load_sklearn(path: str) -> tuple[Any, Callable[[Any], Any]]:
    import joblib

    model = joblib.load(path)
    if not callable(getattr(model, "predict", None)):
        raise ModelLoadError(f"{path} holds a {type(model).__name__}, which has no predict method.")
    return model, model.predict


def _load_xgboost(path: str) -> tuple[Any, Callable[[Any], Any]]:
    import xgboost as xgb

    booster = xgb.Booster(params={"nthread": 1}, model_file=path)

    def predict(x: Any) -> Any:
        return booster.predict(xgb.DMatrix(x, nthread=1))

    return booster, predict


def _load_lightgbm(path: str) -> tuple[Any, Callable[[Any], Any]]:
    import lightgbm as lgb

    booster = lgb.Booster(model_file=path)

    def predict(x: Any) -> Any:
        return booster.predict(x, num_threads=1)

    return booster, predict


def _load_pytorch(path: str) -> tuple[Any, Callable[[Any], Any]]:
    import zipfile

    import torch

    with zipfile.ZipFile(path) as archive:  # TorchScript archives hold the compiled code; torch.save'd modules do not
        scripted = any("/code/" in n for n in archive.namelist())
    if scripted:
        module = torch.jit.load(path, map_location="cpu")
    else:  # the whole module, pickled by torch.save: its classes must be importable (the transformer's prelude)
        module = torch.load(path, map_location="cpu", weights_only=False)
    module.eval()

    def predict(x: Any) -> Any:
        tensor = torch.as_tensor(np.asarray(x, dtype=np.float32))
        with torch.no_grad():
            out = module(tensor)
        return out.detach().cpu().numpy()

    return module, predict


def _load_pyfunc(path: str) -> tuple[Any, Callable[[Any], Any]]:
    from ..marshal.builtins import CloudpickleSerializer

    model = CloudpickleSerializer().load(path)
    if not callable(getattr(model, "predict", None)):
        raise ModelLoadError(f"{path} holds a {type(model).__name__}, which has no callable predict.")
    return model, model.predict


_LOADERS: dict[str, Callable[[str], tuple[Any, Callable[[Any], Any]]]] = {
    "sklearn": _load_sklearn,
    "xgboost": _load_xgboost,
    "lightgbm": _load_lightgbm,
    "pytorch": _load_pytorch,
    "pyfunc": _load_pyfunc,
}


def _load_transformer(model_dir: str, spec: dict[str, Any]) -> tuple[Any, dict[str, Callable | None]]:
    """Import transformer.py as a module of its own (never __main__); the module and its named functions."""
    path = os.path.join(model_dir, spec.get("file") or "transformer.py")
    name = f"kale_ext_transformer_{next(_module_ids)}"
    try:
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ModelLoadError(f"Transformer {path} is not an importable Python file.")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module  # pickled notebook classes and dataclasses look their module up here
        module_spec.loader.exec_module(module)
    except ModelLoadError:
        raise
    except BaseException as e:  # the prelude is notebook code: a SystemExit or an ImportError must not kill the server
        sys.modules.pop(name, None)
        raise ModelLoadError(f"Transformer {path} failed to import: {type(e).__name__}: {e}") from e
    found: dict[str, Callable | None] = {}
    for role in ("preprocess", "postprocess"):
        fn_name = spec.get(role)
        fn = getattr(module, fn_name, None) if fn_name else None
        if fn_name and not callable(fn):
            raise ModelLoadError(f"Transformer {path} defines no function {fn_name!r} (the {role} function named).")
        found[role] = fn
    return module, found
