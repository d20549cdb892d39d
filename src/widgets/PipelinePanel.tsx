/**
 * The left-sidebar "Pipeline" panel: the server handshake, then for the current notebook its Pipeline mode toggle,
 * the live DAG, diagnostics, parameters and deploy button, its Tuning view, and its runs.
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useState } from 'react';

import { startRun } from '../api/client';
import { IDiagnostic, IServerBackend } from '../api/types';
import { PipelineController } from '../controller';
import { backendReason } from '../model/backends';
import { NotebookPipeline } from '../model/notebook-pipeline';
import { parametersToSend } from '../model/parameters';
import { ServerStatus, checkServer } from '../version';
import { NotebookDag } from './DagPanel';
import { DeployButton, IBackendEntry, ParametersForm } from './DeployBar';
import { useSignals } from './hooks';
import { RunsView } from './RunsView';
import { TuningView } from './TuningView';

/** The body of the left-sidebar "Pipeline" panel. */
export function PipelinePanelView(props: {
  check: () => Promise<ServerStatus>;
  controller?: PipelineController | null;
}): JSX.Element {
  const [status, setStatus] = useState<ServerStatus | null>(null);
  const refresh = useCallback(() => {
    setStatus(null);
    props.check().then(setStatus);
  }, [props.check]);
  useEffect(refresh, [refresh]);
  const controller = props.controller ?? null;
  useSignals([controller?.currentChanged, controller?.settingsChanged]);
  const current = controller?.current ?? null;

  return (
    <div className="jp-Kale-panel">
      <header className="jp-Kale-panelHeader">
        <h2>Pipeline</h2>
      </header>
      <ServerStatusView status={status} onRetry={refresh} />
      {status?.kind === 'ok' && controller && (
        <>
          {current ? (
            <NotebookView
              key={current.panel.id}
              pipeline={current}
              controller={controller}
              capabilities={status.info.capabilities ?? []}
              backends={status.info.backends ?? []}
            />
          ) : (
            <p className="jp-Kale-empty" data-testid="kale-no-notebook">
              Open a notebook to see its pipeline.
            </p>
          )}
        </>
      )}
    </div>
  );
}

function NotebookView(props: {
  pipeline: NotebookPipeline;
  controller: PipelineController;
  capabilities: string[];
  backends: IServerBackend[];
}): JSX.Element {
  const { pipeline, controller } = props;
  useSignals([pipeline.changed]);
  const analysis = pipeline.analysis;
  const colorOf = pipeline.colorOf();
  const [paramTexts, setParamTexts] = useState<Record<string, string>>({});
  const [selectedRun, setSelectedRun] = useState<string | null>(null);
  const [refreshKey, setRefreshKey] = useState(0);
  const [deploying, setDeploying] = useState(false);
  const [deployError, setDeployError] = useState<string | null>(null);
  const settings = controller.settings;
  const mode = pipeline.pipelineMode;
  const diagnostics = analysis?.diagnostics ?? [];
  const errors = diagnostics.filter(d => d.severity === 'error');
  const jump = (cell: number, line: number | null) =>
    void controller.jump(pipeline, cell, line);

  // A run opened from elsewhere (a trial): its detail renders below the runs list, brought into view once loaded.
  const [revealRun, setRevealRun] = useState(false);
  const openRun = (runId: string) => {
    setSelectedRun(runId);
    setRevealRun(true);
    setRefreshKey(k => k + 1);
  };

  const deploy = async (backend: string) => {
    if (!analysis) {
      return;
    }
    const params = parametersToSend(analysis.parameters, paramTexts);
    if (!params.ok) {
      setDeployError(params.error);
      return;
    }
    setDeploying(true);
    setDeployError(null);
    try {
      const run = await startRun({
        path: pipeline.path,
        notebook: pipeline.model?.toJSON() as
          Record<string, unknown> | undefined,
        parameters: params.values,
        backend,
        use_cache: settings.useCache,
        fail_fast: settings.failFast,
        max_parallel: settings.maxParallel
      });
      setSelectedRun(run.run_id);
      setRefreshKey(k => k + 1);
    } catch (e) {
      setDeployError(String((e as Error).message ?? e));
    } finally {
      setDeploying(false);
    }
  };

  const backends: IBackendEntry[] = [
    {
      id: 'local',
      label: 'Run locally',
      disabledReason: props.capabilities.includes('runs')
        ? null
        : 'This kale_ext server does not offer runs (no "runs" capability); update kale_ext and restart JupyterLab.'
    },
    {
      id: 'kfp',
      label: 'Kubeflow Pipelines',
      disabledReason: backendReason(props.backends, 'kfp')
    }
  ];
  let deployBlocked: string | null = null;
  if (!analysis) {
    deployBlocked = 'Waiting for the analysis of the notebook.';
  } else if (analysis.steps.length === 0) {
    deployBlocked = 'The notebook has no steps: tag a cell as a step first.';
  } else if (errors.length > 0) {
    deployBlocked = `Fix the ${errors.length} error(s) below first.`;
  }

  return (
    <div className="jp-Kale-notebook" data-testid="kale-notebook">
      <div className="jp-Kale-notebookHeader">
        <span className="jp-Kale-notebookName" title={pipeline.path}>
          {analysis?.pipeline.name ?? pipeline.path}
        </span>
        <label className="jp-Kale-switch">
          <input
            type="checkbox"
            role="switch"
            aria-checked={mode}
            checked={mode}
            data-testid="kale-pipeline-mode"
            onChange={ev => pipeline.setPipelineMode(ev.target.checked)}
          />
          <span>Pipeline mode</span>
        </label>
      </div>
      <section className="jp-Kale-section" aria-label="Pipeline graph">
        <h3>
          Steps{' '}
          <span className="jp-Kale-analysisState" aria-live="polite">
            {pipeline.analyzing ? 'analyzing…' : ''}
          </span>
        </h3>
        {pipeline.error && (
          <p className="jp-Kale-status jp-mod-error" role="alert">
            Analysis failed: {pipeline.error}
          </p>
        )}
        <NotebookDag
          pipeline={pipeline}
          onJump={jump}
          testId="kale-dag"
          onOpenFull={() => controller.openDag(pipeline)}
        />
      </section>
      <DiagnosticsList diagnostics={diagnostics} onJump={jump} />
      {analysis && (
        <section className="jp-Kale-section" aria-label="Deploy">
          <ParametersForm
            defaults={analysis.parameters}
            values={paramTexts}
            onChange={(name, value) =>
              setParamTexts({ ...paramTexts, [name]: value })
            }
          />
          <DeployButton
            backends={backends}
            busy={deploying}
            disabledReason={deployBlocked}
            onDeploy={deploy}
          />
          {deployBlocked && <p className="jp-Kale-hint">{deployBlocked}</p>}
          {deployError && (
            <p className="jp-Kale-status jp-mod-error" role="alert">
              Cannot start the run: {deployError}
            </p>
          )}
        </section>
      )}
      <TuningView
        pipeline={pipeline}
        analysis={analysis}
        pollInterval={settings.pollInterval}
        unavailable={
          props.capabilities.includes('experiments')
            ? null
            : 'This kale_ext server does not offer tuning (no "experiments" capability): the tuning engine could not be loaded; see the server log.'
        }
        onOpenRun={openRun}
      />
      <RunsView
        path={pipeline.path}
        analysis={analysis}
        pollInterval={settings.pollInterval}
        selected={selectedRun}
        revealSelected={revealRun}
        onSelect={id => {
          setRevealRun(true);
          setSelectedRun(id);
        }}
        refreshKey={refreshKey}
        onJump={jump}
        colorOf={colorOf}
        onServed={() => controller.notifyModelsChanged()}
        onShowModels={() => controller.showModels()}
        onExplore={async path => {
          await controller.openExploration(path);
        }}
      />
    </div>
  );
}

function DiagnosticsList(props: {
  diagnostics: IDiagnostic[];
  onJump: (cell: number, line: number | null) => void;
}): JSX.Element | null {
  if (props.diagnostics.length === 0) {
    return null;
  }
  const order = { error: 0, warning: 1, info: 2 };
  const sorted = [...props.diagnostics].sort(
    (a, b) => order[a.severity] - order[b.severity]
  );
  return (
    <section className="jp-Kale-section" aria-label="Diagnostics">
      <h3>Diagnostics</h3>
      <ul className="jp-Kale-diagnostics" data-testid="kale-diagnostics">
        {sorted.map((d, i) => (
          <li key={i} className={`jp-mod-${d.severity}`}>
            {typeof d.cell === 'number' ? (
              <button
                className="jp-Kale-linkButton"
                data-cell={d.cell}
                onClick={() => props.onJump(d.cell as number, d.line)}
              >
                <strong>{d.severity}</strong> cell {d.cell + 1}
                {d.line ? `, line ${d.line}` : ''}: {d.message}
              </button>
            ) : (
              <span>
                <strong>{d.severity}</strong>: {d.message}
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function ServerStatusView(props: {
  status: ServerStatus | null;
  onRetry: () => void;
}): JSX.Element {
  const { status, onRetry } = props;
  if (status === null) {
    return (
      <p className="jp-Kale-status" data-testid="kale-server-status">
        Connecting to the kale_ext server extension…
      </p>
    );
  }
  if (status.kind === 'ok') {
    return (
      <p className="jp-Kale-status jp-mod-ok" data-testid="kale-server-status">
        Server extension{' '}
        <span data-testid="kale-server-version">{status.info.version}</span>{' '}
        (API {status.info.api_version})
      </p>
    );
  }
  return (
    <div
      className="jp-Kale-status jp-mod-error"
      role="alert"
      data-testid="kale-server-status"
    >
      <p>{status.message}</p>
      <button className="jp-mod-styled jp-mod-accept" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}

/** The Lumino widget that hosts the panel in JupyterLab's left area. */
export class PipelinePanel extends ReactWidget {
  constructor(private readonly controller: PipelineController | null = null) {
    super();
    this.addClass('jp-Kale-sidebar');
  }

  protected render(): JSX.Element {
    return (
      <PipelinePanelView check={checkServer} controller={this.controller} />
    );
  }
}
