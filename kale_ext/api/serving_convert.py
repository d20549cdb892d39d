"""From the serving manager's plain dicts to the wire models of kale_ext.api.models: each field picked by name.

``ServingManager.list()``, ``.metrics()``, ``.server()``, ``.servable()`` and the deploy answer (serving-contracts.md,
contract 4) are internal shapes; a key the manager adds does not leak onto the wire and one it renames fails here, in
tests. A version's tensors come from its model directory's kale-model.json (contract 1), read by the caller and passed
in as ``cards``. Plain Python; must not import tornado, jupyter_server, the runners, the store or the serving package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from .models import (
    DeployResult,
    ModelServer,
    ModelsView,
    ModelVersion,
    Servable,
    ServableList,
    ServedModel,
    TensorSpec,
    VersionMetrics,
)

Record = Mapping[str, Any]


def deploy_result(answer: Record) -> DeployResult:
    """The answer of ``deploy`` / ``promote`` / ``rollback``."""
    return DeployResult(
        name=str(answer["name"]),
        version=str(answer["version"]),
        url=str(answer["url"]),
        traffic=_traffic(answer.get("traffic")),
    )


def servable_list(run_id: str, entries: list[Record]) -> ServableList:
    return ServableList(
        run_id=run_id,
        models=[
            Servable(
                step=str(e["step"]),
                variable=str(e["variable"]),
                kind=str(e["kind"]),
                type=str(e["type"]),
                hash=str(e["hash"]),
            )
            for e in entries
        ],
    )


def models_view(
    models: list[Record],
    metrics: Record,
    server: Record | None,
    recent: list[str],
    cards: Mapping[str, Record] | None = None,
) -> ModelsView:
    """``GET /kale/v1/models``: ``models`` from ``list()``, ``metrics`` from ``metrics()`` ({name: {version: {...}}}),
    ``server`` from ``server()``, ``recent`` from ``recent_requests()``, ``cards`` the kale-model.json of each
    model directory, by its path."""
    cards = cards or {}
    return ModelsView(
        server=_server(server) if server else None,
        models=[_model(m, metrics.get(m["name"]) or {}, cards) for m in models],
        recent_requests=[str(line) for line in recent],
    )


def _model(m: Record, metrics: Record, cards: Mapping[str, Record]) -> ServedModel:
    traffic = _traffic(m.get("traffic"))
    return ServedModel(
        name=str(m["name"]),
        url=str(m.get("url") or ""),
        status=str(m.get("status") or "unknown"),
        versions=[_version(v, traffic, metrics.get(str(v["version"])) or {}, cards) for v in m.get("versions") or []],
        traffic=traffic,
    )


def _version(v: Record, traffic: dict[str, int], metrics: Record, cards: Mapping[str, Record]) -> ModelVersion:
    version = str(v["version"])
    model_dir = v.get("model_dir")
    card = (cards.get(model_dir) or {}) if model_dir else {}
    return ModelVersion(
        version=version,
        traffic=traffic.get(version, 0),
        kind=_text(v.get("kind") or card.get("kind")),
        run_id=_text(v.get("run_id")),
        step=_text(v.get("step")),
        variable=_text(v.get("variable")),
        hash=_text(v.get("hash")),
        model_dir=_text(model_dir),
        created=_time(v.get("created")),
        metrics=_metrics(metrics),
        inputs=_tensors(card.get("inputs")),
        outputs=_tensors(card.get("outputs")),
        feature_names=[str(n) for n in card["feature_names"]] if isinstance(card.get("feature_names"), list) else None,
        transformer=bool(card.get("transformer")),
        explainer=_text((card.get("explainer") or {}).get("kind")) if isinstance(card.get("explainer"), dict) else None,
    )


def _metrics(m: Record) -> VersionMetrics:
    return VersionMetrics(
        requests=int(m.get("requests") or 0),
        errors=int(m.get("errors") or 0),
        rate_per_s=float(m.get("rate_per_s") or 0.0),
        p50_ms=_number(m.get("p50_ms")),
        p99_ms=_number(m.get("p99_ms")),
    )


def _server(s: Record) -> ModelServer:
    return ModelServer(
        pid=s.get("pid"),
        host=_text(s.get("host")),
        port=s.get("port"),
        url=_text(s.get("url")),
        started=_time(s.get("started")),
        alive=bool(s.get("alive")),
    )


def _tensors(value: Any) -> list[TensorSpec]:
    """The tensors of a kale-model.json; an unreadable entry is left out rather than failing the whole listing."""
    out: list[TensorSpec] = []
    for t in value if isinstance(value, list) else []:
        try:
            out.append(msgspec.convert(t, TensorSpec))
        except msgspec.ValidationError:
            continue
    return out


def _traffic(value: Any) -> dict[str, int]:
    return {str(k): int(p) for k, p in (value or {}).items()}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _time(value: Any) -> float | None:
    """Unix seconds from a number or from the text the server writes (server.json's ISO 8601 "started")."""
    from ..serving.observe import log_time

    if value is None or isinstance(value, int | float):
        return _number(value)
    return log_time(str(value))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
