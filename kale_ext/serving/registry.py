"""The served models: state.json (contract 2) read into versions with their loaded model, batcher and router.

A reload builds a new registry beside the old one, reusing every version whose model directory is unchanged (its model,
batcher and counters stay), loading only new directories, and is swapped in as one reference: requests already routed
keep the version object they hold, so a reload never drops an in-flight request. A model that fails to load is kept as
"not ready" with its reason. Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from ..errors import KaleError
from .batcher import Batcher
from .loader import LoadedModel, ModelLoadError, load_model_dir
from .metrics import Metrics
from .router import Router, validate_traffic

log = logging.getLogger("kale_ext.serving")


class ModelNotFoundError(KaleError):
    status = 404
    code = "model.not_found"


class ModelNotReadyError(KaleError):
    status = 503
    code = "model.not_ready"


@dataclass
class ModelVersion:
    name: str
    version: str
    model_dir: str
    loaded: LoadedModel | None
    reason: str | None
    batcher: Batcher | None
    explainer: Any = None
    loading: bool = False  # the model directory is being loaded in the background (not ready until it is)

    @property
    def ready(self) -> bool:
        return self.loaded is not None


@dataclass
class ServedModel:
    name: str
    versions: dict[str, ModelVersion]
    router: Router

    @property
    def ready(self) -> bool:
        primary = self.router.primary()
        return primary is not None and self.versions[primary].ready


@dataclass
class Limits:
    max_batch_size: int = 32
    max_batch_wait_ms: float = 2.0
    max_body_bytes: int = 16 * 1024 * 1024
    # A KServe transformer: the models are called at this predictor (remote.py), in this protocol.
    predictor_host: str | None = None
    protocol: str = "v1"


@dataclass
class Registry:
    models: dict[str, ServedModel] = field(default_factory=dict)

    def model(self, name: str) -> ServedModel:
        served = self.models.get(name)
        if served is None:
            raise ModelNotFoundError(f"Model with name {name} does not exist.")
        return served

    def route(self, name: str, version: str | None = None) -> ModelVersion:
        """The version a request reaches: the one named, else the router's pick; 404 unknown, 503 not ready."""
        served = self.model(name)
        if version is None:
            version = served.router.pick()
            if version is None:
                raise ModelNotReadyError(f"Model with name {name} is not ready. It has no version taking traffic.")
        chosen = served.versions.get(version)
        if chosen is None:
            raise ModelNotFoundError(f"Model with name {name} version {version} does not exist.")
        if not chosen.ready:
            raise ModelNotReadyError(f"Model with name {name} is not ready. {chosen.reason}")
        return chosen


def read_state(path: str) -> dict[str, Any]:
    """state.json's models; a missing file is no models, an unreadable one is a KaleError (the old registry stays)."""
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise KaleError(f"Serving state {path} is not readable JSON: {e}", code="serving.state") from e
    models = state.get("models") if isinstance(state, dict) else None
    if not isinstance(models, dict):
        raise KaleError(f"Serving state {path} has no 'models' object.", code="serving.state")
    return models


def build_registry(
    models: dict[str, Any],
    old: Registry | None,
    executor: Executor,
    metrics: Metrics,
    limits: Limits,
    loader: Executor | None = None,
) -> Registry:
    """A registry for ``models`` (state.json's), reusing ``old``'s versions with an unchanged directory (loaded or
    still loading). New versions load on ``loader`` in the background: until then they answer 503 "still loading",
    so a slow model never keeps the server from listening or the other models from serving. Without ``loader`` they
    load here, before it returns."""
    registry = Registry()
    for name, spec in models.items():
        versions: dict[str, ModelVersion] = {}
        previous = old.models.get(name) if old else None
        for version, vspec in (spec.get("versions") or {}).items():
            model_dir = os.path.abspath(str(vspec.get("model_dir", "")))
            kept = previous.versions.get(str(version)) if previous else None
            if kept is not None and kept.model_dir == model_dir and (kept.ready or kept.loading):
                versions[str(version)] = kept
            else:
                entry = ModelVersion(name, str(version), model_dir, None, "Its model is still loading.", None)
                versions[str(version)] = entry
                if loader is None:
                    load_version(entry, executor, metrics, limits)
                else:
                    entry.loading = True
                    loader.submit(load_version, entry, executor, metrics, limits)
        try:
            traffic = validate_traffic(name, versions, spec.get("traffic") or {})
        except ValueError as e:
            log.error("serving state: %s; the model takes no traffic", e)
            traffic = {}
        if previous is not None and previous.router.traffic == {v: p for v, p in traffic.items() if p > 0}:
            router = previous.router  # the same split keeps its position in the round-robin
        else:
            router = Router(traffic)
        registry.models[name] = ServedModel(name, versions, router)
    return registry


def load_version(entry: ModelVersion, executor: Executor, metrics: Metrics, limits: Limits) -> None:
    """Load ``entry``'s model directory into it: ready with its batcher, or not ready with the load error as reason.
    The batcher is set before the model, so a request that sees the version ready finds its batcher."""
    name, version = entry.name, entry.version
    try:
        try:
            predictor = None
            if limits.predictor_host:
                from .remote import remote_predictor

                predictor = remote_predictor(limits.predictor_host, name, limits.protocol)
            loaded = load_model_dir(entry.model_dir, predictor)
        except ModelLoadError as e:
            log.error("model %s version %s (%s) is not ready: %s", name, version, entry.model_dir, e.message)
            entry.reason = e.message
            return
        entry.batcher = Batcher(
            loaded.predict,
            executor,
            max_batch_size=limits.max_batch_size,
            max_wait_s=limits.max_batch_wait_ms / 1000.0,
            on_batch=lambda size: metrics.observe_batch(name, version, size),
        )
        entry.reason = None
        entry.loaded = loaded
        log.info("model %s version %s loaded from %s (%s)", name, version, entry.model_dir, loaded.kind)
    except Exception as e:  # never leave a version "loading" forever because of a bug in a model's own code
        log.exception("model %s version %s failed to load", name, version)
        entry.reason = f"Its model failed to load: {type(e).__name__}: {e}"
    finally:
        entry.loading = False
