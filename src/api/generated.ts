/**
 * Generated from kale_ext/api/api.schema.json by scripts/generate-api.sh: do not edit.
 * Change the source and run `jlpm build:api` instead.
 */
/* eslint-disable */

/**
 * Any request or response body under /kale/v1/. Generated from kale_ext/api/; do not edit.
 */
export type ApiBody =
  | ServerInfo
  | ErrorBody
  | AnalyzeRequest
  | Analysis
  | Diagnostic
  | Step
  | StepConfig
  | CellRole
  | StartRunRequest
  | Run
  | RunSummary
  | RunStep
  | StepError
  | RunList
  | LogChunk
  | DeployModelRequest
  | DeployResult
  | ServableList
  | ModelsView
  | ServedModel
  | ModelVersion
  | RunLineage
  | ExploreRequest
  | ExploreResult
  | StartExperimentRequest
  | ResumeExperimentRequest
  | Experiment
  | ExperimentList
  | Trial;

/**
 * GET /kale/v1/info: what the frontend checks before talking to the server. `backends`: every configured
 * backend, the default first.
 */
export interface ServerInfo {
  version: string;
  api_version: string;
  capabilities: string[];
  backends?: Backend[];
}
/**
 * A backend runs can be started on (POST /kale/v1/runs `backend`); `reason` says why it is not enabled.
 */
export interface Backend {
  name: string;
  enabled: boolean;
  reason: string | null;
}
/**
 * Every 4xx/5xx answer. `code` is stable and dotted ("request.field"); `details` names the culprit
 * (`details.field` for a request field of the wrong type).
 */
export interface ErrorBody {
  message: string;
  code: string;
  details: {
    [k: string]: unknown;
  };
}
/**
 * POST /kale/v1/analyze: `{"notebook": {...}, "path": optional}` or `{"path": "saved.ipynb"}`; the notebook
 * JSON itself (an object with "cells") is accepted too, as before.
 */
export interface AnalyzeRequest {
  notebook?: {
    [k: string]: unknown;
  } | null;
  path?: string | null;
}
/**
 * The pipeline a notebook makes, every diagnostic, and the role of every cell.
 */
export interface Analysis {
  pipeline: PipelineInfo;
  steps: Step[];
  parameters: {
    [k: string]: unknown;
  };
  metrics: string[];
  diagnostics: Diagnostic[];
  cells: CellRole[];
}
export interface PipelineInfo {
  name: string;
  description?: string;
}
/**
 * A pipeline step: its cells, the data it reads (and from which step) and writes, its parameters.
 */
export interface Step {
  name: string;
  cells: number[];
  depends_on: string[];
  inputs: string[];
  outputs: string[];
  parameters: string[];
  input_sources: {
    [k: string]: string;
  };
  imports?: string[];
  config?: StepConfig;
}
/**
 * Kale's step-configuration tags (image:, limit:, label:, annotation:, secret:, cache:).
 */
export interface StepConfig {
  image: string | null;
  limits: {
    [k: string]: string;
  };
  labels: {
    [k: string]: string;
  };
  annotations: {
    [k: string]: string;
  };
  secrets: string[];
  cache: boolean | null;
}
/**
 * One finding, anchored to a notebook cell (0-based, markdown counted) and line (1-based); null when pipeline-wide.
 */
export interface Diagnostic {
  severity: 'error' | 'info' | 'warning';
  code: string;
  cell: number | null;
  line: number | null;
  message: string;
}
/**
 * What one notebook cell is to the pipeline: `step` names the step it joins, null when it joins none.
 */
export interface CellRole {
  index: number;
  role:
    | 'functions'
    | 'imports'
    | 'markdown'
    | 'pipeline-metrics'
    | 'pipeline-parameters'
    | 'raw'
    | 'skip'
    | 'step';
  step: string | null;
}
/**
 * POST /kale/v1/runs. `notebook` is the live (possibly unsaved) notebook JSON; without it the saved file at
 * `path` runs. `max_parallel` null: the runner's default. `backend` names where it runs: "local" (this machine)
 * or "kfp" (Kubeflow Pipelines, when GET info lists it enabled).
 */
export interface StartRunRequest {
  path: string;
  backend?: string;
  notebook?: {
    [k: string]: unknown;
  } | null;
  parameters?: {
    [k: string]: unknown;
  };
  use_cache?: boolean;
  fail_fast?: boolean;
  max_parallel?: number | null;
}
/**
 * GET /kale/v1/runs/RUN_ID (and the answer of create and cancel): the run, its steps and metrics. `notebook` is
 * the absolute path; `path` is relative to the server root (null outside the server). `runner` is the backend
 * that owns the run, `external_id` its id there (a KFP run id), `external_url` the run's page there (the KFP UI's
 * run details; null for local runs).
 */
export interface Run {
  run_id: string;
  notebook: string;
  path: string | null;
  pipeline: string;
  status:
    | 'cancelled'
    | 'failed'
    | 'interrupted'
    | 'queued'
    | 'running'
    | 'succeeded'
    | 'unknown';
  runner: string;
  external_id: string | null;
  created: number;
  started: number | null;
  finished: number | null;
  duration_s: number | null;
  metrics: {
    [k: string]: unknown;
  };
  resumed_from: string | null;
  snapshot_id: string | null;
  external_url: string | null;
  parameters: {
    [k: string]: unknown;
  };
  options: RunOptions;
  error: string | null;
  steps: RunStep[];
}
/**
 * The options a run was started with, as recorded. `volume_snapshots`: the workspace snapshots of a Kubeflow
 * Pipelines run (empty otherwise).
 */
export interface RunOptions {
  use_cache: boolean;
  fail_fast: boolean;
  max_parallel: number | null;
  launcher: string | null;
  volume_snapshots?: VolumeSnapshot[];
}
/**
 * A CSI VolumeSnapshot of a workspace claim, taken before a Kubeflow Pipelines submission: the run's steps mount
 * a claim restored from it (`size`, at least the snapshot's `restore_size`) at `mount_point`.
 */
export interface VolumeSnapshot {
  pvc: string;
  mount_point: string;
  volume_snapshot: string;
  namespace: string;
  snapshot_class: string;
  driver: string;
  storage_class: string;
  access_modes: string[];
  restore_size: string | null;
  size: string;
}
/**
 * A step of a run. `cached_from` is the run whose outputs a cached step reused; `timings` are seconds by
 * phase (prelude_s, load_s, cells_s, save_s, total_s) once the step ran.
 */
export interface RunStep {
  name: string;
  status:
    | 'cached'
    | 'cancelled'
    | 'failed'
    | 'queued'
    | 'running'
    | 'skipped'
    | 'succeeded';
  cached: boolean;
  cached_from: string | null;
  depends_on: string[];
  started: number | null;
  finished: number | null;
  duration_s: number | null;
  exit_code: number | null;
  error: StepError | null;
  log_path: string | null;
  cache_key: string | null;
  timings: {
    [k: string]: number;
  } | null;
  inputs: StepInput[];
  outputs: StepOutput[];
}
/**
 * Why a step failed: `cell` is the notebook cell index (0-based, markdown counted), `line` 1-based in it.
 */
export interface StepError {
  type: string | null;
  message: string | null;
  cell: number | null;
  line: number | null;
  traceback: string | null;
}
/**
 * Lineage: the artifact a step read as `name`, made by step `producer` of run `producer_run`.
 */
export interface StepInput {
  name: string;
  hash: string;
  producer: string;
  producer_run: string;
}
/**
 * An artifact a step wrote.
 */
export interface StepOutput {
  name: string;
  serializer: string;
  hash: string;
  size: number;
  type: string;
  path: string;
}
/**
 * An entry of GET /kale/v1/runs: the header fields of a Run, and its steps counted by status.
 */
export interface RunSummary {
  run_id: string;
  notebook: string;
  path: string | null;
  pipeline: string;
  status:
    | 'cancelled'
    | 'failed'
    | 'interrupted'
    | 'queued'
    | 'running'
    | 'succeeded'
    | 'unknown';
  runner: string;
  external_id: string | null;
  created: number;
  started: number | null;
  finished: number | null;
  duration_s: number | null;
  metrics: {
    [k: string]: unknown;
  };
  resumed_from: string | null;
  snapshot_id: string | null;
  steps: {
    [k: string]: number;
  };
}
/**
 * GET /kale/v1/runs?notebook=PATH: newest first.
 */
export interface RunList {
  runs: RunSummary[];
}
/**
 * GET /kale/v1/runs/RUN_ID/steps/STEP/log?offset=N: poll again from `next_offset` while `status` is active.
 */
export interface LogChunk {
  text: string;
  next_offset: number;
  status:
    | 'cached'
    | 'cancelled'
    | 'failed'
    | 'queued'
    | 'running'
    | 'skipped'
    | 'succeeded';
}
/**
 * POST /kale/v1/models: serve the model that step variable `variable` of run `run_id` bound. `notebook`
 * (relative to the server root) names the store the run is in. `name` null: the manager's default (from the
 * variable). Under a name already served, `canary_percent` routes that share of requests to the new version and
 * keeps the current one for the rest (KServe's `canaryTrafficPercent`); null: the new version takes all traffic.
 */
export interface DeployModelRequest {
  notebook: string;
  run_id: string;
  variable: string;
  name?: string | null;
  canary_percent?: number | null;
}
/**
 * The answer of deploy, promote and rollback: the model's name, the version just deployed (or now serving), the
 * model's URL on the model server, and the traffic split by version (percent, summing to 100).
 */
export interface DeployResult {
  name: string;
  version: string;
  url: string;
  traffic: {
    [k: string]: number;
  };
}
/**
 * GET /kale/v1/runs/RUN_ID/models: what the run can serve (empty when it bound no model).
 */
export interface ServableList {
  run_id: string;
  models: Servable[];
}
/**
 * A model a run can serve: the value `variable` step `step` bound, of `type` (its qualified class name),
 * served as `kind` (sklearn, xgboost, lightgbm, pytorch, pyfunc); `hash` is the artifact's content hash.
 */
export interface Servable {
  step: string;
  variable: string;
  kind: string;
  type: string;
  hash: string;
}
/**
 * GET /kale/v1/models?notebook=PATH: the model server of the notebook's store (null when none was started), every
 * model it serves, and the latest request log lines (oldest first, as the server wrote them:
 * `TIME MODEL VERSION PROTOCOL METHOD PATH STATUS LATENCY_MS`).
 */
export interface ModelsView {
  server: ModelServer | null;
  models: ServedModel[];
  recent_requests: string[];
}
/**
 * The workspace's local model server (its server.json), and whether its process is alive.
 */
export interface ModelServer {
  pid: number | null;
  host: string | null;
  port: number | null;
  url: string | null;
  started: number | null;
  alive: boolean;
}
/**
 * A model the local model server serves under `name` at `url`; `status` as the manager reports it
 * ("ready", "loading", "failed", ...); `traffic` by version, percent.
 */
export interface ServedModel {
  name: string;
  url: string;
  status: string;
  versions: ModelVersion[];
  traffic: {
    [k: string]: number;
  };
}
/**
 * A version of a served model, its lineage (run, step, variable, content hash; null for a model served from a
 * directory), its share of the traffic (percent), its figures, and the tensors from its model directory's
 * kale-model.json (empty when that file cannot be read).
 */
export interface ModelVersion {
  version: string;
  traffic: number;
  kind: string | null;
  run_id: string | null;
  step: string | null;
  variable: string | null;
  hash: string | null;
  model_dir: string | null;
  created: number | null;
  metrics: VersionMetrics;
  inputs?: TensorSpec[];
  outputs?: TensorSpec[];
  feature_names?: string[] | null;
  transformer?: boolean;
  explainer?: string | null;
}
/**
 * One version's figures from the model server's /metrics: requests and errors (code >= 400) since the server
 * started, requests per second lately, latency percentiles (null before any request).
 */
export interface VersionMetrics {
  requests?: number;
  errors?: number;
  rate_per_s?: number;
  p50_ms?: number | null;
  p99_ms?: number | null;
}
/**
 * An input or output tensor of a model (V2 metadata): `shape` -1 for a variable dimension.
 */
export interface TensorSpec {
  name: string;
  datatype: string;
  shape: number[];
}
/**
 * GET /kale/v1/runs/RUN_ID/lineage (and `kale-ext lineage RUN_ID --json`, which adds artifact paths).
 */
export interface RunLineage {
  kind: string;
  run_id: string;
  notebook: string;
  pipeline: string;
  status: string;
  runner: string;
  created: number;
  finished: number | null;
  parameters: {
    [k: string]: unknown;
  };
  metrics: {
    [k: string]: LineageMetric;
  };
  snapshot_id: string | null;
  snapshot: SnapshotRef | null;
  steps: StepLineage[];
  served_models: ServedRef[];
}
export interface LineageMetric {
  value: unknown;
  step: string | null;
}
/**
 * The workspace snapshot a run used; `missing`: recorded on the run but no longer in the store.
 */
export interface SnapshotRef {
  snapshot_id: string;
  missing: boolean;
  root?: string | null;
  created?: number | null;
  files?: number | null;
  bytes?: number | null;
  new_bytes?: number | null;
}
/**
 * A step's lineage: the SHA-256 of its cell sources, the parameters it reads, what it read and wrote.
 */
export interface StepLineage {
  name: string;
  status: string;
  code_hash: string | null;
  cache_key: string | null;
  cached: boolean;
  cached_from: string | null;
  parameters: {
    [k: string]: unknown;
  };
  inputs: LineageArtifact[];
  outputs: LineageArtifact[];
  models: LineageArtifact[];
  metrics: {
    [k: string]: unknown;
  };
  error: string | null;
  depends_on: string[];
}
/**
 * An artifact a step read (`name`: the input's name) or wrote. `producer` is the step whose record holds it;
 * `origin` the execution that really wrote it (differs for a step that took it from the cache).
 */
export interface LineageArtifact {
  name: string;
  variable: string;
  hash: string;
  type: string;
  serializer: string;
  size: number;
  role: string;
  kind: string | null;
  artifact_id: number;
  origin: ExecutionRef;
  producer?: ExecutionRef | null;
}
/**
 * A step of a run: the execution that wrote an artifact.
 */
export interface ExecutionRef {
  run_id: string;
  step: string;
}
/**
 * A version of a served model made from the run (`live`: still served).
 */
export interface ServedRef {
  name: string;
  version: string;
  step: string | null;
  variable: string | null;
  hash: string | null;
  kind: string;
  traffic: number;
  live: boolean;
  created: number;
}
/**
 * POST /kale/v1/runs/RUN_ID/steps/STEP/explore: `outputs` also loads the step's outputs.
 */
export interface ExploreRequest {
  outputs?: boolean;
}
/**
 * The exploration notebook written beside the run's notebook; `path` is relative to the server root.
 */
export interface ExploreResult {
  path: string;
}
/**
 * POST /kale/v1/experiments: tune the saved notebook at `path` (relative to the server root) with the experiment
 * in its metadata (`kubeflow_notebook.katib_metadata`, Kale's format, and `kale_ext.automl`). The other fields
 * override the notebook's values as the CLI's flags do (--max-trials, --parallel, --algorithm, --seed, --automl);
 * null: the notebook's value.
 */
export interface StartExperimentRequest {
  path: string;
  max_trials?: number | null;
  parallel?: number | null;
  algorithm?: string | null;
  seed?: number | null;
  automl?: boolean;
}
/**
 * POST /kale/v1/experiments/ID/resume: continue an interrupted or cancelled local experiment under its id, its
 * finished trials told to a fresh optimizer (`kale-ext tune --resume ID`). `max_trials` (more than the trials
 * finished) and `parallel` change its counts, as the CLI's flags do; a larger `max_trials` also continues one that
 * reached maxTrialCount. null: as recorded.
 */
export interface ResumeExperimentRequest {
  max_trials?: number | null;
  parallel?: number | null;
}
/**
 * GET /kale/v1/experiments/ID (and the answer of create and cancel). `notebook` is the absolute path, `path`
 * relative to the server root. `runner` is "local" or "katib" (`external_id`: the Katib Experiment's
 * "namespace/name"). `spec` is the experiment as run: Katib-shaped (parameters, objective, algorithm,
 * parallelTrialCount, maxTrialCount, maxFailedTrialCount) plus `automl` and `seed`. `reason` says why it
 * stopped ("goal reached", "maxTrialCount reached", ...), null while it runs. `refresh_error`: a Katib experiment
 * whose cluster could not be read just now says why (the rest is as last recorded).
 */
export interface Experiment {
  experiment_id: string;
  notebook: string;
  path: string | null;
  name: string;
  runner: string;
  external_id: string | null;
  status: 'cancelled' | 'failed' | 'interrupted' | 'running' | 'succeeded';
  created: number;
  finished: number | null;
  error: string | null;
  reason: string | null;
  spec: {
    [k: string]: unknown;
  };
  best: ExperimentBest | null;
  trials: Trial[];
  automl: AutoMLResult | null;
  refresh_error?: string | null;
}
/**
 * The best trial so far: its number, its run, the parameter values it ran with, its objective value.
 */
export interface ExperimentBest {
  trial: number;
  run_id: string | null;
  parameters: {
    [k: string]: unknown;
  };
  objective: number | null;
}
/**
 * One trial: a pipeline run (`run_id`, null until it starts) with the suggested `parameters`; `objective` is
 * the objective metric's value once it succeeded, `metrics` the objective and additional metrics; `stage` is
 * AutoML's "families" or "tune" (null outside AutoML); `created` and `finished` are Unix seconds.
 */
export interface Trial {
  trial: number;
  run_id: string | null;
  status:
    | 'cancelled'
    | 'failed'
    | 'interrupted'
    | 'pending'
    | 'running'
    | 'succeeded';
  parameters: {
    [k: string]: unknown;
  };
  objective: number | null;
  metrics: {
    [k: string]: unknown;
  };
  stage: string | null;
  created: number | null;
  finished: number | null;
}
/**
 * AutoML: the family that won the first stage, and each family's objective there (null: its trial failed).
 */
export interface AutoMLResult {
  best_family: string | null;
  families: {
    [k: string]: number | null;
  };
}
/**
 * GET /kale/v1/experiments?path=NB: the notebook's experiments, newest first.
 */
export interface ExperimentList {
  experiments: Experiment[];
}

/** The REST API version this frontend speaks (kale_ext.api.API_VERSION). */
export const API_VERSION = '1';
