"""A test double of ServingManager (serving-contracts.md, contract 4) for the REST and browser tests of the Models panel.

It keeps the contract's behaviour without a model server: what a run can serve comes from the real run store (a step
output whose type has a callable ``predict``), each deploy writes a model directory with a kale-model.json whose input
tensor has the loaded model's ``n_features_in_``, versions and traffic follow KServe's canary rules (a canary percent
keeps the current version for the rest; promote gives the newest all traffic; rollback removes it), and the metrics and
recent requests are computed from ``<store>/serving/requests.log``, which the tests write in the server's line format
``TIME MODEL VERSION PROTOCOL METHOD PATH STATUS LATENCY_MS`` (TIME in Unix seconds). The state lives in a JSON file
of the store folder, so every instance over the same store sees the same models (the REST handlers and the tests).

Used by tests/server/test_models.py and, through ``c.KaleExtApp.serving_manager_class``, by ui-tests/test_models_panel.py.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import time
from typing import Any

from kale_ext.errors import InvalidRequestError, KaleError, NotFoundError
from kale_ext.marshal.registry import ArtifactEntry, load_value
from kale_ext.store import Store

RATE_WINDOW_S = 10.0


def _has_predict(type_name: str) -> bool:
    module, _, qualname = type_name.rpartition(".")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError):
        return False
    return callable(getattr(obj, "predict", None))


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank


class FakeServingManager:
    def __init__(self, store: Store, *, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.store, self.host, self.port = store, host, port
        self.folder = os.path.join(store.folder, "serving")
        self.state_path = os.path.join(self.folder, "fake-state.json")
        self.log_path = os.path.join(self.folder, "requests.log")

    # --- state -----------------------------------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        try:
            with open(self.state_path, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return {"server": None, "models": {}}

    def _save(self, state: dict[str, Any]) -> None:
        os.makedirs(self.folder, exist_ok=True)
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f)
        os.replace(tmp, self.state_path)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _answer(self, name: str, model: dict[str, Any], version: str) -> dict[str, Any]:
        return {"name": name, "version": version, "url": f"{self.url}/v1/models/{name}", "traffic": model["traffic"]}

    def _model(self, state: dict[str, Any], name: str) -> dict[str, Any]:
        if name not in state["models"]:
            raise NotFoundError(f"No model named {name!r} is served.", code="model.not_found")
        return state["models"][name]

    # --- the contract ----------------------------------------------------------------------------------------------
    def servable(self, run_id: str) -> list[dict[str, Any]]:
        run = self.store.get_run(run_id)
        return [
            {"step": s["name"], "variable": o["name"], "kind": _kind(o["type"]), "type": o["type"], "hash": o["hash"]}
            for s in run["steps"]
            if s["status"] == "succeeded"
            for o in s["outputs"]
            if _has_predict(o["type"])
        ]

    def deploy(
        self,
        *,
        run_id: str | None = None,
        variable: str | None = None,
        model_dir: str | None = None,
        name: str | None = None,
        canary_percent: int | None = None,
    ) -> dict[str, Any]:
        if run_id is None or variable is None:
            raise InvalidRequestError("The test double deploys from runs only.", code="request.field")
        entry, step = self._output(run_id, variable)
        name = name or variable.replace("_", "-").lower()
        state = self._load()
        model = state["models"].setdefault(name, {"versions": {}, "traffic": {}})
        version = str(len(model["versions"]) + 1)
        while version in model["versions"]:
            version = str(int(version) + 1)
        directory = os.path.join(self.folder, "models", name, version)
        self._write_card(directory, entry)
        model["versions"][version] = {
            "run_id": run_id, "step": step, "variable": variable, "hash": entry.hash, "kind": _kind(entry.type),
            "model_dir": directory, "created": time.time(),
        }  # fmt: skip
        current = [v for v, p in model["traffic"].items() if p > 0]
        if canary_percent is not None and current:
            model["traffic"] = {current[0]: 100 - canary_percent, version: canary_percent}
        else:
            model["traffic"] = {version: 100}
            model["versions"] = {version: model["versions"][version]}
        state["server"] = state["server"] or {"pid": os.getpid(), "started": time.time()}
        self._save(state)
        return self._answer(name, model, version)

    def _output(self, run_id: str, variable: str) -> tuple[ArtifactEntry, str]:
        run = self.store.get_run(run_id)
        for s in run["steps"]:
            for o in s["outputs"]:
                if o["name"] == variable:
                    if not _has_predict(o["type"]):
                        raise KaleError(
                            f"{variable!r} is a {o['type']}, not a model: serve a scikit-learn estimator or pipeline, "
                            "an XGBoost or LightGBM model, a torch module, or any object with a predict method.",
                            code="model.not_servable",
                        )
                    return ArtifactEntry.from_json(o), s["name"]
        raise NotFoundError(f"Run {run_id} bound no variable {variable!r}.", code="variable.not_found")

    def _write_card(self, directory: str, entry: ArtifactEntry) -> None:
        features = getattr(load_value(entry), "n_features_in_", None)
        os.makedirs(directory, exist_ok=True)
        card = {
            "kind": _kind(entry.type), "file": "model.joblib",
            "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, int(features or 1)]}],
            "outputs": [{"name": "output-0", "datatype": "INT64", "shape": [-1]}],
            "feature_names": None, "transformer": None, "explainer": None,
        }  # fmt: skip
        with open(os.path.join(directory, "kale-model.json"), "w", encoding="utf-8") as f:
            json.dump(card, f)

    def list(self) -> list[dict[str, Any]]:
        state = self._load()
        return [
            {
                "name": name,
                "url": f"{self.url}/v1/models/{name}",
                "status": "ready",
                "versions": [{"version": v, **meta} for v, meta in model["versions"].items()],
                "traffic": model["traffic"],
            }  # fmt: skip
            for name, model in state["models"].items()
        ]

    def promote(self, name: str) -> dict[str, Any]:
        state = self._load()
        model = self._model(state, name)
        newest = max(model["versions"], key=int)
        model["versions"], model["traffic"] = {newest: model["versions"][newest]}, {newest: 100}
        self._save(state)
        return self._answer(name, model, newest)

    def rollback(self, name: str) -> dict[str, Any]:
        state = self._load()
        model = self._model(state, name)
        if len(model["versions"]) < 2:
            raise KaleError(f"{name!r} has no canary version to roll back.", code="model.no_canary")
        newest = max(model["versions"], key=int)
        del model["versions"][newest]
        previous = max(model["versions"], key=int)
        model["traffic"] = {previous: 100}
        self._save(state)
        return self._answer(name, model, previous)

    def stop(self, name: str | None = None) -> None:
        state = self._load()
        if name is None:
            state = {"server": None, "models": {}}
        else:
            self._model(state, name)
            del state["models"][name]
        self._save(state)

    def server(self) -> dict[str, Any] | None:
        started = self._load()["server"]
        if started is None:
            return None
        return {**started, "token": "0", "host": self.host, "port": self.port, "url": self.url, "alive": True}

    def _log(self) -> list[list[str]]:
        try:
            with open(self.log_path, encoding="utf-8") as f:
                return [line.split() for line in f if len(line.split()) == 8]
        except FileNotFoundError:
            return []

    def metrics(self) -> dict[str, dict[str, dict[str, Any]]]:
        now = time.time()
        out: dict[str, dict[str, dict[str, Any]]] = {}
        grouped: dict[tuple[str, str], list[list[str]]] = {}
        for fields in self._log():
            grouped.setdefault((fields[1], fields[2]), []).append(fields)
        for (model, version), lines in grouped.items():
            latencies = [float(f[7]) for f in lines]
            out.setdefault(model, {})[version] = {
                "requests": len(lines),
                "errors": sum(1 for f in lines if int(f[6]) >= 400),
                "rate_per_s": sum(1 for f in lines if now - float(f[0]) <= RATE_WINDOW_S) / RATE_WINDOW_S,
                "p50_ms": _percentile(latencies, 0.50),
                "p99_ms": _percentile(latencies, 0.99),
            }
        return out

    def recent_requests(self, limit: int = 50) -> list[str]:
        return [" ".join(f) for f in self._log()[-limit:]]


def _kind(type_name: str) -> str:
    return "sklearn" if type_name.startswith("sklearn.") else "pyfunc"
