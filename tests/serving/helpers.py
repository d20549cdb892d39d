"""Model directories in KServe's layouts (contract 1), serving state files and a small keep-alive HTTP client.

The tests write model directories themselves (export.py belongs to another part) with the files and kale-model.json
that contract fixes, from models trained here. Pyfunc models are classes of this importable module, so cloudpickle
stores them by reference and the server process imports them again.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from typing import Any

import msgspec
import numpy as np

FILES = {"sklearn": "model.joblib", "xgboost": "model.bst", "lightgbm": "model.txt", "pytorch": "model.pt"}


def model_dir(
    folder: str,
    model: Any,
    kind: str = "sklearn",
    *,
    n_features: int = 4,
    in_type: str = "FP64",
    out_type: str = "INT64",
    feature_names: list[str] | None = None,
    transformer: str | None = None,
    background: np.ndarray | None = None,
    inputs: list[dict[str, Any]] | None = None,
) -> str:
    """Write ``model`` in its kind's layout with kale-model.json; returns the directory."""
    os.makedirs(folder, exist_ok=True)
    file = FILES.get(kind, "model.pkl")
    path = os.path.join(folder, file)
    if kind == "sklearn":
        import joblib

        joblib.dump(model, path)
    elif kind in ("xgboost", "lightgbm"):
        model.save_model(path)
    elif kind == "pytorch":
        import torch

        torch.save(model, path)
    else:
        from kale_ext.marshal.builtins import CloudpickleSerializer

        CloudpickleSerializer().save(model, path)
    meta: dict[str, Any] = {
        "kind": kind,
        "file": file,
        "format": {"name": kind, "version": "test"},
        "inputs": inputs or [{"name": "input-0", "datatype": in_type, "shape": [-1, n_features]}],
        "outputs": [{"name": "output-0", "datatype": out_type, "shape": [-1]}],
        "feature_names": feature_names,
        "transformer": None,
        "explainer": None,
        "source": None,
    }
    if transformer is not None:
        with open(os.path.join(folder, "transformer.py"), "w", encoding="utf-8") as f:
            f.write(transformer)
        meta["transformer"] = {"file": "transformer.py", "preprocess": "preprocess", "postprocess": "postprocess"}
    if background is not None:
        np.save(os.path.join(folder, "background.npy"), background)
        meta["explainer"] = {"kind": "kernel", "background": "background.npy"}
    with open(os.path.join(folder, "kale-model.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f)
    return folder


def write_state(state_path: str, models: dict[str, dict[str, Any]]) -> None:
    """models: {name: {"versions": {v: dir}, "traffic": {v: pct}}} -> state.json (atomically, a fresh mtime)."""
    state = {
        "models": {
            name: {
                "versions": {v: {"model_dir": os.path.abspath(d)} for v, d in spec["versions"].items()},
                "traffic": spec.get("traffic") or {max(spec["versions"]): 100},
            }
            for name, spec in models.items()
        }
    }
    os.makedirs(os.path.dirname(state_path), exist_ok=True)
    tmp = state_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f)
    os.replace(tmp, state_path)


class Client:
    """One keep-alive connection; ``call`` returns (status, decoded JSON or text, headers)."""

    def __init__(self, port: int, timeout: float = 30):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any, dict]:
        data = raw if raw is not None else (msgspec.json.encode(body) if body is not None else None)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        payload = resp.read()
        ctype = resp.getheader("content-type", "")
        decoded = json.loads(payload) if ctype.startswith("application/json") and payload else payload.decode()
        if resp.getheader("connection") == "close":
            self.conn.close()
        return resp.status, decoded, dict(resp.getheaders())

    def close(self) -> None:
        self.conn.close()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class Identity:
    """A pyfunc model returning its input unchanged (the V2 datatype round trips)."""

    def predict(self, x):
        return x


class Failing:
    """A pyfunc model that raises for negative inputs and answers the row sums otherwise."""

    def predict(self, x):
        x = np.asarray(x)
        if (x < 0).any():
            raise ValueError("negative inputs are not allowed")
        return x.sum(axis=1)


class AlwaysFailing:
    """A pyfunc model that always raises (the recorded KServe answers use the same model and message)."""

    def predict(self, x):
        raise ValueError("negative inputs are not allowed")


class Slow:
    """A pyfunc model that takes ``seconds`` per call."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def predict(self, x):
        time.sleep(self.seconds)
        return np.zeros(len(x))


class Counting:
    """Counts its calls in a file (works across processes) and lingers a little so requests pile up."""

    def __init__(self, path: str):
        self.path = path

    def predict(self, x):
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"{len(x)}\n")
        time.sleep(0.02)
        return np.asarray(x).sum(axis=1)
