"""Wire models of served models: /kale/v1/models, its sub-resources, and /kale/v1/runs/RUN_ID/models.

The serving manager (kale_ext.serving.manager.ServingManager) answers plain dicts; kale_ext.api.serving_convert picks
their fields by name into these models, so the manager does not decide the REST shape. Times are Unix seconds, latencies
milliseconds. Plain msgspec Structs; must not import tornado, jupyter_server, the runners, the store or the serving
package.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

MODEL_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
"""A served model's name: a DNS-1035-like label, as KServe's InferenceService names are (it is also a URL segment)."""

ModelName = Annotated[str, msgspec.Meta(pattern=MODEL_NAME_PATTERN)]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]


class DeployModelRequest(msgspec.Struct, kw_only=True):
    """POST /kale/v1/models: serve the model that step variable ``variable`` of run ``run_id`` bound. ``notebook``
    (relative to the server root) names the store the run is in. ``name`` null: the manager's default (from the
    variable). Under a name already served, ``canary_percent`` routes that share of requests to the new version and
    keeps the current one for the rest (KServe's ``canaryTrafficPercent``); null: the new version takes all traffic."""

    error_codes: ClassVar[dict[str, str]] = {"notebook": "path.invalid"}

    notebook: str
    run_id: str
    variable: str
    name: ModelName | None = None
    canary_percent: Percent | None = None


class DeployResult(msgspec.Struct, kw_only=True):
    """The answer of deploy, promote and rollback: the model's name, the version just deployed (or now serving), the
    model's URL on the model server, and the traffic split by version (percent, summing to 100)."""

    name: str
    version: str
    url: str
    traffic: dict[str, int]


class Servable(msgspec.Struct, kw_only=True):
    """A model a run can serve: the value ``variable`` step ``step`` bound, of ``type`` (its qualified class name),
    served as ``kind`` (sklearn, xgboost, lightgbm, pytorch, pyfunc); ``hash`` is the artifact's content hash."""

    step: str
    variable: str
    kind: str
    type: str
    hash: str


class ServableList(msgspec.Struct, kw_only=True):
    """GET /kale/v1/runs/RUN_ID/models: what the run can serve (empty when it bound no model)."""

    run_id: str
    models: list[Servable]


class TensorSpec(msgspec.Struct, kw_only=True):
    """An input or output tensor of a model (V2 metadata): ``shape`` -1 for a variable dimension."""

    name: str
    datatype: str
    shape: list[int]


class VersionMetrics(msgspec.Struct, kw_only=True):
    """One version's figures from the model server's /metrics: requests and errors (code >= 400) since the server
    started, requests per second lately, latency percentiles (null before any request)."""

    requests: int = 0
    errors: int = 0
    rate_per_s: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None


class ModelVersion(msgspec.Struct, kw_only=True):
    """A version of a served model, its lineage (run, step, variable, content hash; null for a model served from a
    directory), its share of the traffic (percent), its figures, and the tensors from its model directory's
    kale-model.json (empty when that file cannot be read)."""

    version: str
    traffic: int
    kind: str | None
    run_id: str | None
    step: str | None
    variable: str | None
    hash: str | None
    model_dir: str | None
    created: float | None
    metrics: VersionMetrics
    inputs: list[TensorSpec] = []
    outputs: list[TensorSpec] = []
    feature_names: list[str] | None = None
    transformer: bool = False
    explainer: str | None = None


class ServedModel(msgspec.Struct, kw_only=True):
    """A model the local model server serves under ``name`` at ``url``; ``status`` as the manager reports it
    ("ready", "loading", "failed", ...); ``traffic`` by version, percent."""

    name: str
    url: str
    status: str
    versions: list[ModelVersion]
    traffic: dict[str, int]


class ModelServer(msgspec.Struct, kw_only=True):
    """The workspace's local model server (its server.json), and whether its process is alive."""

    pid: int | None
    host: str | None
    port: int | None
    url: str | None
    started: float | None
    alive: bool


class ModelsView(msgspec.Struct, kw_only=True):
    """GET /kale/v1/models?notebook=PATH: the model server of the notebook's store (null when none was started), every
    model it serves, and the latest request log lines (oldest first, as the server wrote them:
    ``TIME MODEL VERSION PROTOCOL METHOD PATH STATUS LATENCY_MS``)."""

    server: ModelServer | None
    models: list[ServedModel]
    recent_requests: list[str]
