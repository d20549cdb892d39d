"""Wire models of tuning experiments: /kale/v1/experiments and its sub-resources.

The engine (kale_ext.tuning.experiment.Tuner) answers plain experiment dicts (the JSON of ``kale-ext experiments show
ID --json``); kale_ext.api.tuning_convert picks their fields by name into these models, so the store does not decide
the REST shape. Times are Unix seconds. Plain msgspec Structs; must not import tornado, jupyter_server, the runners,
the store or the tuning engine.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec

ExperimentStatus = Literal["running", "succeeded", "failed", "cancelled", "interrupted"]
TrialStatus = Literal["pending", "running", "succeeded", "failed", "cancelled", "interrupted"]
Count = Annotated[int, msgspec.Meta(ge=1)]


class StartExperimentRequest(msgspec.Struct, kw_only=True):
    """POST /kale/v1/experiments: tune the saved notebook at ``path`` (relative to the server root) with the experiment
    in its metadata (``kubeflow_notebook.katib_metadata``, Kale's format, and ``kale_ext.automl``). The other fields
    override the notebook's values as the CLI's flags do (--max-trials, --parallel, --algorithm, --seed, --automl);
    null: the notebook's value."""

    error_codes: ClassVar[dict[str, str]] = {"path": "path.invalid"}

    path: str
    max_trials: Count | None = None
    parallel: Count | None = None
    algorithm: str | None = None
    seed: int | None = None
    automl: bool = False


class ExperimentBest(msgspec.Struct, kw_only=True):
    """The best trial so far: its number, its run, the parameter values it ran with, its objective value."""

    trial: int
    run_id: str | None
    parameters: dict[str, Any]
    objective: float | None


class Trial(msgspec.Struct, kw_only=True):
    """One trial: a pipeline run (``run_id``, null until it starts) with the suggested ``parameters``; ``objective`` is
    the objective metric's value once it succeeded, ``metrics`` the objective and additional metrics; ``stage`` is
    AutoML's "families" or "tune" (null outside AutoML); ``created`` and ``finished`` are Unix seconds."""

    trial: int
    run_id: str | None
    status: TrialStatus
    parameters: dict[str, Any]
    objective: float | None
    metrics: dict[str, Any]
    stage: str | None
    created: float | None
    finished: float | None


class AutoMLResult(msgspec.Struct, kw_only=True):
    """AutoML: the family that won the first stage, and each family's objective there (null: its trial failed)."""

    best_family: str | None
    families: dict[str, float | None]


class ResumeExperimentRequest(msgspec.Struct, kw_only=True):
    """POST /kale/v1/experiments/ID/resume: continue an interrupted or cancelled local experiment under its id, its
    finished trials told to a fresh optimizer (``kale-ext tune --resume ID``). ``max_trials`` (more than the trials
    finished) and ``parallel`` change its counts, as the CLI's flags do; a larger ``max_trials`` also continues one that
    reached maxTrialCount. null: as recorded."""

    max_trials: Count | None = None
    parallel: Count | None = None


class Experiment(msgspec.Struct, kw_only=True):
    """GET /kale/v1/experiments/ID (and the answer of create and cancel). ``notebook`` is the absolute path, ``path``
    relative to the server root. ``runner`` is "local" or "katib" (``external_id``: the Katib Experiment's
    "namespace/name"). ``spec`` is the experiment as run: Katib-shaped (parameters, objective, algorithm,
    parallelTrialCount, maxTrialCount, maxFailedTrialCount) plus ``automl`` and ``seed``. ``reason`` says why it
    stopped ("goal reached", "maxTrialCount reached", ...), null while it runs. ``refresh_error``: a Katib experiment
    whose cluster could not be read just now says why (the rest is as last recorded)."""

    experiment_id: str
    notebook: str
    path: str | None
    name: str
    runner: str
    external_id: str | None
    status: ExperimentStatus
    created: float
    finished: float | None
    error: str | None
    reason: str | None
    spec: dict[str, Any]
    best: ExperimentBest | None
    trials: list[Trial]
    automl: AutoMLResult | None
    refresh_error: str | None = None


class ExperimentList(msgspec.Struct, kw_only=True):
    """GET /kale/v1/experiments?path=NB: the notebook's experiments, newest first."""

    experiments: list[Experiment]
