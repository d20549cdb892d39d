import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  IAnalysis,
  IApiErrorBody,
  IDeployModelRequest,
  IDeployResult,
  IExploreResult,
  IExperiment,
  IExperimentList,
  ILogChunk,
  IModelsView,
  IServableList,
  IRun,
  IRunLineage,
  IRunList,
  IRunSummary,
  IServerInfo,
  IResumeExperimentRequest,
  IStartExperimentRequest,
  IStartRunRequest
} from './types';

export type { IApiErrorBody, IServerInfo } from './types';

/** The REST prefix of the kale_ext server extension. */
export const API_PREFIX = 'kale/v1';

/** An error answered by the server (status >= 400) or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The error body's details (tune.invalid: {"problems": [...]}). */
    readonly details: Record<string, unknown> = {}
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The one HTTP client of the frontend: every call to the server extension goes through here, with Jupyter's
 * authentication (token and XSRF) handled by ServerConnection.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_PREFIX, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(
      0,
      'network',
      `Cannot reach the Jupyter server: ${String(error)}`
    );
  }
  const text = await response.text();
  let data: any = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const body = (data ?? {}) as Partial<IApiErrorBody>;
    throw new ApiError(
      response.status,
      body.code ?? `http.${response.status}`,
      body.message ?? `${response.status} ${response.statusText}`,
      (body.details ?? {}) as Record<string, unknown>
    );
  }
  return data as T;
}

/** GET /kale/v1/info */
export function fetchInfo(): Promise<IServerInfo> {
  return requestAPI<IServerInfo>('info');
}

/** POST /kale/v1/analyze: the analysis of a live (possibly unsaved) notebook. */
export function analyzeNotebook(
  notebook: unknown,
  path: string
): Promise<IAnalysis> {
  return requestAPI<IAnalysis>('analyze', {
    method: 'POST',
    body: JSON.stringify({ notebook, path })
  });
}

/** GET /kale/v1/runs?notebook=PATH: the notebook's runs, newest first. */
export async function listRuns(notebookPath: string): Promise<IRunSummary[]> {
  const data = await requestAPI<IRunList>(
    `runs?notebook=${encodeURIComponent(notebookPath)}`
  );
  return data.runs;
}

/** POST /kale/v1/runs: start a run; the server answers 202 with the run at once. */
export function startRun(request: IStartRunRequest): Promise<IRun> {
  return requestAPI<IRun>('runs', {
    method: 'POST',
    body: JSON.stringify(request)
  });
}

/** GET /kale/v1/runs/RUN_ID */
export function getRun(runId: string): Promise<IRun> {
  return requestAPI<IRun>(`runs/${encodeURIComponent(runId)}`);
}

/** POST /kale/v1/runs/RUN_ID/cancel */
export function cancelRun(runId: string): Promise<IRun> {
  return requestAPI<IRun>(`runs/${encodeURIComponent(runId)}/cancel`, {
    method: 'POST'
  });
}

/** GET /kale/v1/runs/RUN_ID/steps/STEP/log?offset=N: the step's output from byte N. */
export function readStepLog(
  runId: string,
  step: string,
  offset: number
): Promise<ILogChunk> {
  return requestAPI<ILogChunk>(
    `runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(step)}/log?offset=${offset}`
  );
}

/** GET /kale/v1/runs/RUN_ID/lineage: each step's code hash, parameters, inputs with producers, outputs, models. */
export function getRunLineage(runId: string): Promise<IRunLineage> {
  return requestAPI<IRunLineage>(`runs/${encodeURIComponent(runId)}/lineage`);
}

/** POST /kale/v1/runs/RUN_ID/steps/STEP/explore: write the step's exploration notebook; answers its path. */
export function exploreStep(
  runId: string,
  step: string,
  outputs: boolean
): Promise<IExploreResult> {
  return requestAPI<IExploreResult>(
    `runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(step)}/explore`,
    { method: 'POST', body: JSON.stringify({ outputs }) }
  );
}

function notebookQuery(notebookPath: string): string {
  return `notebook=${encodeURIComponent(notebookPath)}`;
}

/** GET /kale/v1/models?notebook=PATH: the model server of the notebook's store and every model it serves. */
export function listModels(notebookPath: string): Promise<IModelsView> {
  return requestAPI<IModelsView>(`models?${notebookQuery(notebookPath)}`);
}

/** GET /kale/v1/runs/RUN_ID/models: the models a finished run can serve. */
export function listServable(
  runId: string,
  notebookPath: string
): Promise<IServableList> {
  return requestAPI<IServableList>(
    `runs/${encodeURIComponent(runId)}/models?${notebookQuery(notebookPath)}`
  );
}

/** POST /kale/v1/models: serve a run's model (a canary percent keeps the current version for the rest). */
export function deployModel(
  request: IDeployModelRequest
): Promise<IDeployResult> {
  return requestAPI<IDeployResult>('models', {
    method: 'POST',
    body: JSON.stringify(request)
  });
}

/** POST /kale/v1/models/NAME/promote or /rollback */
export function changeRollout(
  name: string,
  action: 'promote' | 'rollback',
  notebookPath: string
): Promise<IDeployResult> {
  return requestAPI<IDeployResult>(
    `models/${encodeURIComponent(name)}/${action}?${notebookQuery(notebookPath)}`,
    { method: 'POST' }
  );
}

/** DELETE /kale/v1/models/NAME (one model), or DELETE /kale/v1/models (name null: the server and every model). */
export async function stopModel(
  name: string | null,
  notebookPath: string
): Promise<void> {
  const target =
    name === null ? 'models' : `models/${encodeURIComponent(name)}`;
  await requestAPI<null>(`${target}?${notebookQuery(notebookPath)}`, {
    method: 'DELETE'
  });
}

/** GET /kale/v1/experiments?path=NB: the notebook's tuning experiments, newest first. */
export async function listExperiments(
  notebookPath: string
): Promise<IExperiment[]> {
  const data = await requestAPI<IExperimentList>(
    `experiments?path=${encodeURIComponent(notebookPath)}`
  );
  return data.experiments;
}

/** POST /kale/v1/experiments: tune the saved notebook's experiment; 201 with it at once (trials run in the background). */
export function startExperiment(
  request: IStartExperimentRequest
): Promise<IExperiment> {
  return requestAPI<IExperiment>('experiments', {
    method: 'POST',
    body: JSON.stringify(request)
  });
}

/** GET /kale/v1/experiments/ID */
export function getExperiment(experimentId: string): Promise<IExperiment> {
  return requestAPI<IExperiment>(
    `experiments/${encodeURIComponent(experimentId)}`
  );
}

/** POST /kale/v1/experiments/ID/cancel */
export function cancelExperiment(experimentId: string): Promise<IExperiment> {
  return requestAPI<IExperiment>(
    `experiments/${encodeURIComponent(experimentId)}/cancel`,
    { method: 'POST' }
  );
}

/** POST /kale/v1/experiments/ID/resume: continue an interrupted or cancelled experiment under its id. */
export function resumeExperiment(
  experimentId: string,
  request: IResumeExperimentRequest = {}
): Promise<IExperiment> {
  return requestAPI<IExperiment>(
    `experiments/${encodeURIComponent(experimentId)}/resume`,
    { method: 'POST', body: JSON.stringify(request) }
  );
}
