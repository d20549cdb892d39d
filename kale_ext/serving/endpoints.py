"""KServe's REST routes and answers (V1, Open Inference Protocol V2, /metrics), independent of the HTTP transport.

``Endpoints.handle(method, path, body)`` returns a Response; errors become KServe's bodies: 404 unknown model
``{"error": "Model with name M does not exist."}``, 400 V1 body not JSON, 422 malformed V2 request
(``{"detail": [...]}`` with the reason), 500 model error ``{"error": message}`` (the server keeps serving), 501 explainer unavailable, 503 not
ready. Model code (predict, preprocess, postprocess, explain) runs in the thread pool, never on the event loop.
Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import msgspec

from .. import __version__
from ..errors import KaleError
from . import protocol_v1 as v1
from . import protocol_v2 as v2
from .metrics import CONTENT_TYPE as METRICS_TYPE
from .metrics import Metrics
from .registry import ModelNotReadyError, ModelVersion, Registry

log = logging.getLogger("kale_ext.serving")
JSON = "application/json"
_encoder = msgspec.json.Encoder(enc_hook=v1.to_builtin)
OFF_LOOP_BYTES = 256 * 1024
_V1 = re.compile(r"^/v1/models/([^/:]+)(?::(predict|explain))?$")
_V2 = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?(?:/(ready|infer))?$")


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    model: str | None = None  # set for requests addressed to a model: metrics and requests.log
    version: str = "-"
    protocol: str = "-"


class ModelError(Exception):
    """The model (or the transformer) raised: 500 with its message, as KServe's InferenceError."""


def _json(status: int, payload: Any, **kw: Any) -> Response:
    return Response(status, _encoder.encode(payload), **kw)


class Endpoints:
    def __init__(self, registry: Callable[[], Registry], executor: Executor, metrics: Metrics):
        self._registry = registry
        self._executor = executor
        self.metrics = metrics

    async def handle(self, method: str, path: str, body: bytes) -> Response:
        path = path.partition("?")[0]
        protocol = "v1" if path.startswith("/v1/") else "v2" if path.startswith("/v2") else "-"
        name = version = None
        try:
            if m := _V1.match(path):
                name = unquote(m.group(1))
                return await self._v1(method, name, m.group(2), body)
            if m := _V2.match(path):
                name, version = unquote(m.group(1)), m.group(2) and unquote(m.group(2))
                return await self._v2_model(method, name, version, m.group(3), body)
            return self._static(method, path)
        except v2.V2RequestError as e:
            return self._fail(e.status, e.body(), name, getattr(e, "served_version", version), protocol)
        except KaleError as e:
            return self._fail(e.status, {"error": e.message}, name, getattr(e, "served_version", version), protocol)
        except ModelError as e:
            return self._fail(500, {"error": str(e)}, name, getattr(e, "served_version", version), protocol)
        except Exception as e:  # our own bug: KServe's generic handler body, logged with its trace; the server lives
            log.exception("request %s %s failed", method, path)
            return self._fail(500, {"error": f"{type(e).__name__} : {e}"}, name, version, protocol)

    def _fail(self, status: int, payload: Any, name: str | None, version: str | None, protocol: str) -> Response:
        return _json(status, payload, model=name, version=version or "-", protocol=protocol)

    def _static(self, method: str, path: str) -> Response:
        routes: dict[str, Callable[[], Response]] = {
            "/v1/models": lambda: _json(200, {"models": list(self._registry().models)}),
            "/v2": lambda: _json(200, {"name": "kale-ext", "version": __version__, "extensions": []}),
            "/v2/health/live": lambda: _json(200, {"live": True}),
            "/v2/health/ready": self._server_ready,
            "/v2/models": lambda: _json(200, {"models": list(self._registry().models)}),
            "/metrics": lambda: Response(200, self.metrics.render().encode(), METRICS_TYPE),
        }
        route = routes.get(path)
        if route is None:
            return _json(404, {"detail": "Not Found"})
        if method not in ("GET", "HEAD"):
            return _json(405, {"detail": "Method Not Allowed"})
        return route()

    def _server_ready(self) -> Response:
        not_ready = [m.name for m in self._registry().models.values() if not m.ready]
        if not_ready:
            return _json(503, {"error": f"Server is not ready. Models not ready: {', '.join(not_ready)}."})
        return _json(200, {"ready": True})

    async def _v1(self, method: str, name: str, action: str | None, body: bytes) -> Response:
        if action is None:
            if method != "GET":
                return _json(405, {"detail": "Method Not Allowed"})
            return self._model_ready(name, None, "v1")
        if method != "POST":
            return _json(405, {"detail": "Method Not Allowed"})
        chosen = self._registry().route(name)
        try:
            return await self._v1_call(chosen, action, body)
        except Exception as e:
            e.served_version = chosen.version  # type: ignore[attr-defined]  # metrics count errors per version
            raise

    async def _v1_call(self, chosen: ModelVersion, action: str, body: bytes) -> Response:
        size, name = len(body), chosen.name
        instances = await self._off_loop(size, v1.parse_instances, body)
        loaded = chosen.loaded
        assert loaded is not None
        if loaded.preprocess:
            x = await self._call(loaded.preprocess, instances)
        else:
            x = await self._off_loop(size, v1.model_input, instances, loaded.feature_names)
        if action == "explain":
            payload = await self._call(self._explainer(chosen).explain, x)
        else:
            payload = {"predictions": v1.predictions(await self._predict(chosen, x))}
        encoded = await self._off_loop(size, _encoder.encode, payload)
        return Response(200, encoded, model=name, version=chosen.version, protocol="v1")

    async def _off_loop(self, size: int, fn: Callable[..., Any], *args: Any) -> Any:
        """Decoding and encoding of large bodies run in the thread pool, so one big request never stalls the loop."""
        if size < OFF_LOOP_BYTES:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _model_ready(self, name: str, version: str | None, protocol: str) -> Response:
        served = self._registry().model(name)
        target = version or served.router.primary()
        chosen = served.versions.get(target) if target else None
        if version is not None and chosen is None:
            self._registry().route(name, version)  # raises KServe's 404 for the unknown version
        if chosen is None or not chosen.ready:
            reason = chosen.reason if chosen else "It has no version taking traffic."
            message = f"Model with name {name} is not ready. {reason}"
            return _json(503, {"name": name, "ready": False, "error": message}, model=name, protocol=protocol)
        return _json(200, {"name": name, "ready": True}, model=name, version=chosen.version, protocol=protocol)

    async def _v2_model(self, method: str, name: str, version: str | None, action: str | None, body: bytes) -> Response:
        if action == "infer":
            if method != "POST":
                return _json(405, {"detail": "Method Not Allowed"})
            return await self._infer(name, version, body)
        if method != "GET":
            return _json(405, {"detail": "Method Not Allowed"})
        if action == "ready":
            return self._model_ready(name, version, "v2")
        return self._metadata(name, version)

    def _metadata(self, name: str, version: str | None) -> Response:
        served = self._registry().model(name)
        if version is not None:
            self._registry().route(name, version) if version not in served.versions else None
        target = version or served.router.primary() or next(iter(served.versions), None)
        chosen = served.versions.get(target) if target else None
        meta = chosen.loaded.meta if chosen and chosen.loaded else {}
        return _json(
            200,
            {
                "name": name,
                "versions": [version] if version else sorted(served.versions, key=lambda v: (len(v), v)),
                "platform": meta.get("kind", ""),
                "inputs": meta.get("inputs") or [],
                "outputs": meta.get("outputs") or [],
            },
            model=name,
            version=target or "-",
            protocol="v2",
        )

    async def _infer(self, name: str, version: str | None, body: bytes) -> Response:
        chosen = self._registry().route(name, version)
        try:
            return await self._infer_call(chosen, body)
        except Exception as e:
            e.served_version = chosen.version  # type: ignore[attr-defined]  # metrics count errors per version
            raise

    async def _infer_call(self, chosen: ModelVersion, body: bytes) -> Response:
        size, name = len(body), chosen.name
        loaded = chosen.loaded
        assert loaded is not None
        request = await self._off_loop(size, v2.parse_request, body)
        decoded = await self._off_loop(size, v2.decode_inputs, request, loaded.inputs)
        if loaded.preprocess:
            x = await self._call(loaded.preprocess, decoded)
        else:
            x = v2.model_input(request, decoded)
        result = await self._predict(chosen, x)
        outputs = await self._off_loop(size, v2.output_tensors, result, loaded.outputs)
        payload = v2.response(request, name, chosen.version, outputs)
        encoded = await self._off_loop(size, _encoder.encode, payload)
        return Response(200, encoded, model=name, version=chosen.version, protocol="v2")

    async def _predict(self, chosen: ModelVersion, x: Any) -> Any:
        assert chosen.batcher is not None and chosen.loaded is not None
        try:
            result = await chosen.batcher.submit(x)
        except Exception as e:
            raise ModelError(str(e) or type(e).__name__) from e
        if chosen.loaded.postprocess:
            result = await self._call(chosen.loaded.postprocess, result)
        return result

    async def _call(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, arg)
        except KaleError:
            raise
        except Exception as e:
            raise ModelError(f"{getattr(fn, '__name__', 'transformer')}: {type(e).__name__}: {e}") from e

    def _explainer(self, chosen: ModelVersion) -> Any:
        if chosen.explainer is None:
            from .explain import Explainer

            assert chosen.loaded is not None
            chosen.explainer = Explainer(chosen.loaded)
        return chosen.explainer


__all__ = ["Endpoints", "Response", "ModelNotReadyError"]
