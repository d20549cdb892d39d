/**
 * The REST API's request and response shapes (snake_case on the wire), as served by kale_ext/server/ and documented in
 * kale_ext/pipeline/model.py (analysis) and kale_ext/runners/base.py (runs).
 */

export type Severity = 'error' | 'warning' | 'info';

export interface IDiagnostic {
  severity: Severity;
  code: string;
  /** 0-based notebook cell index (markdown counted), or null for pipeline-wide diagnostics. */
  cell: number | null;
  /** 1-based line in the cell, or null. */
  line: number | null;
  message: string;
}

export interface IStep {
  name: string;
  cells: number[];
  depends_on: string[];
  inputs: string[];
  outputs: string[];
  parameters: string[];
  input_sources: Record<string, string>;
  imports?: string[];
  config?: Record<string, unknown>;
}

/** What a notebook cell is in the pipeline (kale_ext/pipeline/model.py CellRoleName). */
export type CellRoleName =
  | 'imports'
  | 'functions'
  | 'pipeline-parameters'
  | 'pipeline-metrics'
  | 'step'
  | 'skip'
  | 'markdown'
  | 'raw';

/** The analysis' answer for one cell: its role, and the step its code runs in (null unless role is 'step'). */
export interface ICellRole {
  /** 0-based notebook cell index (markdown counted). */
  index: number;
  role: CellRoleName;
  step: string | null;
}

/** POST /kale/v1/analyze */
export interface IAnalysis {
  pipeline: { name: string; description?: string | null };
  steps: IStep[];
  parameters: Record<string, unknown>;
  metrics: string[];
  diagnostics: IDiagnostic[];
  /** Every notebook cell, in order: the sidebar shows these roles instead of deriving them from tags. */
  cells: ICellRole[];
}

export type RunStatus =
  'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export type StepStatus =
  | 'queued'
  | 'running'
  | 'cached'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'skipped';

export interface IStepError {
  type?: string | null;
  message?: string | null;
  cell?: number | null;
  line?: number | null;
  traceback?: string | null;
}

export interface IRunStep {
  name: string;
  status: StepStatus;
  cached?: boolean;
  depends_on?: string[];
  started?: number | null;
  finished?: number | null;
  duration_s?: number | null;
  exit_code?: number | null;
  error?: IStepError | null;
}

/** An entry of GET /kale/v1/runs */
export interface IRunSummary {
  run_id: string;
  notebook?: string | null;
  pipeline?: string | null;
  status: RunStatus;
  created?: number | null;
  started?: number | null;
  finished?: number | null;
  duration_s?: number | null;
  /** Step counts by status. */
  steps?: Partial<Record<StepStatus, number>>;
  metrics?: Record<string, unknown> | null;
}

/** GET /kale/v1/runs/RUN_ID */
export interface IRun extends Omit<IRunSummary, 'steps'> {
  parameters?: Record<string, unknown>;
  options?: Record<string, unknown>;
  error?: unknown;
  steps: IRunStep[];
}

/** POST /kale/v1/runs */
export interface IStartRunRequest {
  path: string;
  notebook?: unknown;
  parameters: Record<string, unknown>;
  use_cache: boolean;
  fail_fast: boolean;
  max_parallel: number | null;
}

/** GET /kale/v1/runs/RUN_ID/steps/STEP/log */
export interface ILogChunk {
  text: string;
  next_offset: number;
}

export const ACTIVE_RUN_STATUSES: ReadonlySet<string> = new Set([
  'queued',
  'running'
]);
