"""Wire models of lineage and step exploration: GET /kale/v1/runs/RUN_ID/lineage and
POST /kale/v1/runs/RUN_ID/steps/STEP/explore. The lineage answer of kale_ext.lineage.graph (plain dicts) is converted
by ``run_lineage_model``; artifact files' absolute paths stay on the server. Plain msgspec Structs; must not import
tornado, jupyter_server, the runners or the store.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec


class ExecutionRef(msgspec.Struct, kw_only=True):
    """A step of a run: the execution that wrote an artifact."""

    run_id: str
    step: str


class LineageArtifact(msgspec.Struct, kw_only=True):
    """An artifact a step read (``name``: the input's name) or wrote. ``producer`` is the step whose record holds it;
    ``origin`` the execution that really wrote it (differs for a step that took it from the cache)."""

    name: str
    variable: str
    hash: str
    type: str
    serializer: str
    size: int
    role: str
    kind: str | None
    artifact_id: int
    origin: ExecutionRef
    producer: ExecutionRef | None = None


class StepLineage(msgspec.Struct, kw_only=True):
    """A step's lineage: the SHA-256 of its cell sources, the parameters it reads, what it read and wrote."""

    name: str
    status: str
    code_hash: str | None
    cache_key: str | None
    cached: bool
    cached_from: str | None
    parameters: dict[str, Any]
    inputs: list[LineageArtifact]
    outputs: list[LineageArtifact]
    models: list[LineageArtifact]
    metrics: dict[str, Any]
    error: str | None
    depends_on: list[str]


class LineageMetric(msgspec.Struct, kw_only=True):
    value: Any
    step: str | None


class SnapshotRef(msgspec.Struct, kw_only=True):
    """The workspace snapshot a run used; ``missing``: recorded on the run but no longer in the store."""

    snapshot_id: str
    missing: bool
    root: str | None = None
    created: float | None = None
    files: int | None = None
    bytes: int | None = None
    new_bytes: int | None = None


class ServedRef(msgspec.Struct, kw_only=True):
    """A version of a served model made from the run (``live``: still served)."""

    name: str
    version: str
    step: str | None
    variable: str | None
    hash: str | None
    kind: str
    traffic: int
    live: bool
    created: float


class RunLineage(msgspec.Struct, kw_only=True):
    """GET /kale/v1/runs/RUN_ID/lineage (and ``kale-ext lineage RUN_ID --json``, which adds artifact paths)."""

    kind: str
    run_id: str
    notebook: str
    pipeline: str
    status: str
    runner: str
    created: float
    finished: float | None
    parameters: dict[str, Any]
    metrics: dict[str, LineageMetric]
    snapshot_id: str | None
    snapshot: SnapshotRef | None
    steps: list[StepLineage]
    served_models: list[ServedRef]


class ExploreRequest(msgspec.Struct, kw_only=True):
    """POST /kale/v1/runs/RUN_ID/steps/STEP/explore: ``outputs`` also loads the step's outputs."""

    error_codes: ClassVar[dict[str, str]] = {"outputs": "request.field"}

    outputs: bool = False


class ExploreResult(msgspec.Struct, kw_only=True):
    """The exploration notebook written beside the run's notebook; ``path`` is relative to the server root."""

    path: str


def run_lineage_model(answer: dict[str, Any]) -> RunLineage:
    return msgspec.convert(answer, RunLineage)
