/**
 * The REST API's request and response shapes under the names the frontend uses. They are not written here: they are
 * generated (src/api/generated.ts) from the JSON Schema of the Python models in kale_ext/api/, so the two halves
 * cannot drift. Change a shape in kale_ext/api/ and run `jlpm build:api`.
 */
import type {
  Analysis,
  Backend,
  CellRole,
  DeployModelRequest,
  DeployResult,
  Diagnostic,
  Experiment,
  ExperimentList,
  ErrorBody,
  ExploreResult,
  LineageArtifact,
  LogChunk,
  ModelServer,
  ModelsView,
  ModelVersion,
  Servable,
  ServableList,
  ServedModel,
  TensorSpec,
  VersionMetrics,
  Run,
  RunLineage,
  RunList,
  RunStep,
  ResumeExperimentRequest,
  RunSummary,
  ServerInfo,
  StartExperimentRequest,
  StartRunRequest,
  Step,
  StepConfig,
  StepError,
  StepLineage,
  Trial
} from './generated';

export { API_VERSION } from './generated';

/** GET /kale/v1/info */
export type IServerInfo = ServerInfo;
export type IServerBackend = Backend;
/** The JSON error body of every 4xx/5xx answer. */
export type IApiErrorBody = ErrorBody;
/** POST /kale/v1/analyze */
export type IAnalysis = Analysis;
export type IDiagnostic = Diagnostic;
export type IStep = Step;
export type IStepConfig = StepConfig;
/** The role of one notebook cell in the pipeline (analysis `cells`). */
export type ICellRole = CellRole;
/** POST /kale/v1/runs */
export type IStartRunRequest = StartRunRequest;
/** GET /kale/v1/runs/RUN_ID (and the answer of create and cancel) */
export type IRun = Run;
/** An entry of GET /kale/v1/runs */
export type IRunSummary = RunSummary;
/** GET /kale/v1/runs */
export type IRunList = RunList;
export type IRunStep = RunStep;
export type IStepError = StepError;
/** GET /kale/v1/runs/RUN_ID/steps/STEP/log */
export type ILogChunk = LogChunk;
/** GET /kale/v1/runs/RUN_ID/lineage */
export type IRunLineage = RunLineage;
export type IStepLineage = StepLineage;
export type ILineageArtifact = LineageArtifact;
/** POST /kale/v1/runs/RUN_ID/steps/STEP/explore */
export type IExploreResult = ExploreResult;

/** POST /kale/v1/models */
export type IDeployModelRequest = DeployModelRequest;
/** The answer of deploy, promote and rollback */
export type IDeployResult = DeployResult;
/** GET /kale/v1/models?notebook=PATH */
export type IModelsView = ModelsView;
export type IModelServer = ModelServer;
export type IServedModel = ServedModel;
export type IModelVersion = ModelVersion;
export type IVersionMetrics = VersionMetrics;
export type ITensorSpec = TensorSpec;
/** GET /kale/v1/runs/RUN_ID/models */
export type IServableList = ServableList;
export type IServable = Servable;

/** POST /kale/v1/experiments */
export type IStartExperimentRequest = StartExperimentRequest;
/** POST /kale/v1/experiments/ID/resume */
export type IResumeExperimentRequest = ResumeExperimentRequest;
/** GET /kale/v1/experiments/ID (and the answer of create and cancel) */
export type IExperiment = Experiment;
/** GET /kale/v1/experiments?path=NB */
export type IExperimentList = ExperimentList;
export type ITrial = Trial;

export type Severity = Diagnostic['severity'];
export type CellRoleName = CellRole['role'];
export type RunStatus = Run['status'];
export type StepStatus = RunStep['status'];

/** Runs still going: polled, cancellable. "unknown": its backend (Kubeflow Pipelines) does not answer for now. */
export const ACTIVE_RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>([
  'queued',
  'running',
  'unknown'
]);
