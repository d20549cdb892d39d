"""Wire models of runs: /kale/v1/runs and its sub-resources, and ``kale-ext runs list|show --json``.

The runners and the store answer plain dicts; kale_ext.api.convert turns them into these models field by field, so the
store does not decide the REST shape. Times are Unix seconds. Plain msgspec Structs; must not import tornado,
jupyter_server, the runners or the store.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec

# "unknown": the backend that runs it (Kubeflow Pipelines) does not answer; the run's error says why, and the status
# is updated again once it answers.
RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted", "unknown"]
StepStatus = Literal["queued", "running", "cached", "succeeded", "failed", "cancelled", "skipped"]


class StartRunRequest(msgspec.Struct, kw_only=True):
    """POST /kale/v1/runs. ``notebook`` is the live (possibly unsaved) notebook JSON; without it the saved file at
    ``path`` runs. ``max_parallel`` null: the runner's default. ``backend`` names where it runs: "local" (this machine)
    or "kfp" (Kubeflow Pipelines, when GET info lists it enabled)."""

    error_codes: ClassVar[dict[str, str]] = {"path": "path.invalid", "notebook": "request.notebook"}

    path: str
    backend: str = "local"
    notebook: dict[str, Any] | None = None
    parameters: dict[str, Any] = {}
    use_cache: bool = True
    fail_fast: bool = False
    max_parallel: int | None = None


class StepError(msgspec.Struct, kw_only=True):
    """Why a step failed: ``cell`` is the notebook cell index (0-based, markdown counted), ``line`` 1-based in it."""

    type: str | None
    message: str | None
    cell: int | None
    line: int | None
    traceback: str | None


class StepInput(msgspec.Struct, kw_only=True):
    """Lineage: the artifact a step read as ``name``, made by step ``producer`` of run ``producer_run``."""

    name: str
    hash: str
    producer: str
    producer_run: str


class StepOutput(msgspec.Struct, kw_only=True):
    """An artifact a step wrote."""

    name: str
    serializer: str
    hash: str
    size: int
    type: str
    path: str


class RunStep(msgspec.Struct, kw_only=True):
    """A step of a run. ``cached_from`` is the run whose outputs a cached step reused; ``timings`` are seconds by
    phase (prelude_s, load_s, cells_s, save_s, total_s) once the step ran."""

    name: str
    status: StepStatus
    cached: bool
    cached_from: str | None
    depends_on: list[str]
    started: float | None
    finished: float | None
    duration_s: float | None
    exit_code: int | None
    error: StepError | None
    log_path: str | None
    cache_key: str | None
    timings: dict[str, float] | None
    inputs: list[StepInput]
    outputs: list[StepOutput]


class VolumeSnapshot(msgspec.Struct, kw_only=True):
    """A CSI VolumeSnapshot of a workspace claim, taken before a Kubeflow Pipelines submission: the run's steps mount
    a claim restored from it (``size``, at least the snapshot's ``restore_size``) at ``mount_point``."""

    pvc: str
    mount_point: str
    volume_snapshot: str
    namespace: str
    snapshot_class: str
    driver: str
    storage_class: str
    access_modes: list[str]
    restore_size: str | None
    size: str


class RunOptions(msgspec.Struct, kw_only=True):
    """The options a run was started with, as recorded. ``volume_snapshots``: the workspace snapshots of a Kubeflow
    Pipelines run (empty otherwise)."""

    use_cache: bool
    fail_fast: bool
    max_parallel: int | None
    launcher: str | None
    volume_snapshots: list[VolumeSnapshot] = []


class _RunHeader(msgspec.Struct, kw_only=True):
    """The fields a run's summary and its full record share. ``notebook`` is the absolute path; ``path`` is relative to
    the server root (null outside the server). ``runner`` is the backend that owns the run, ``external_id`` its id
    there (a KFP run id). ``snapshot_id`` is the workspace snapshot taken for the run (``kale-ext snapshots show``;
    null when none was taken: ``--no-snapshot``, the notebook's ``workspace.snapshot`` false, or a run from before)."""

    run_id: str
    notebook: str
    path: str | None
    pipeline: str
    status: RunStatus
    runner: str
    external_id: str | None
    created: float
    started: float | None
    finished: float | None
    duration_s: float | None
    metrics: dict[str, Any]
    resumed_from: str | None
    snapshot_id: str | None


class RunSummary(_RunHeader, kw_only=True):
    """An entry of GET /kale/v1/runs: the header fields of a Run, and its steps counted by status."""

    steps: dict[StepStatus, int]


class Run(_RunHeader, kw_only=True):
    """GET /kale/v1/runs/RUN_ID (and the answer of create and cancel): the run, its steps and metrics. ``notebook`` is
    the absolute path; ``path`` is relative to the server root (null outside the server). ``runner`` is the backend
    that owns the run, ``external_id`` its id there (a KFP run id), ``external_url`` the run's page there (the KFP UI's
    run details; null for local runs)."""

    external_url: str | None
    parameters: dict[str, Any]
    options: RunOptions
    error: str | None
    steps: list[RunStep]


class RunList(msgspec.Struct, kw_only=True):
    """GET /kale/v1/runs?notebook=PATH: newest first."""

    runs: list[RunSummary]


class LogChunk(msgspec.Struct, kw_only=True):
    """GET /kale/v1/runs/RUN_ID/steps/STEP/log?offset=N: poll again from ``next_offset`` while ``status`` is active."""

    text: str
    next_offset: int
    status: StepStatus
