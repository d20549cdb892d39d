/**
 * The left-sidebar "Models" panel: the model server of the current notebook's run store and every model it serves,
 * with status, versions and their traffic split (a bar), request rate, p50 and p99 latency, error counts, recent
 * request log lines, a curl command ready to copy, and the actions deploy (from a finished run), promote, rollback
 * and stop. It polls GET /kale/v1/models while it is visible (the pollInterval setting).
 */
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { changeRollout, listModels, stopModel } from '../api/client';
import { IModelsView, IServedModel } from '../api/types';
import { PipelineController } from '../controller';
import {
  curlCommand,
  formatLatency,
  formatRate,
  inCanary,
  modelTotals,
  primaryVersion,
  requestLinesOf,
  trafficSegments
} from '../model/models';
import { ServerStatus, checkServer } from '../version';
import { usePoll, useSignals } from './hooks';
import { DeployFromRun } from './ServeForm';

const RECENT_LINES = 8;

export function ModelsPanelView(props: {
  controller: PipelineController;
  /** Whether the panel is on screen: polling asks the server only then. */
  isVisible: () => boolean;
  check?: () => Promise<ServerStatus>;
}): JSX.Element {
  const { controller } = props;
  const [status, setStatus] = useState<ServerStatus | null>(null);
  useEffect(() => {
    (props.check ?? checkServer)().then(setStatus);
  }, []);
  useSignals([controller.currentChanged, controller.settingsChanged]);
  const path = controller.current?.path ?? null;
  const capable =
    status?.kind === 'ok' && status.info.capabilities.includes('models');
  return (
    <div className="jp-Kale-panel jp-Kale-models" data-testid="kale-models">
      <header className="jp-Kale-panelHeader">
        <h2>Models</h2>
      </header>
      {status === null && (
        <p className="jp-Kale-status">Connecting to the kale_ext server…</p>
      )}
      {status !== null && status.kind !== 'ok' && (
        <p className="jp-Kale-status jp-mod-error" role="alert">
          {status.message}
        </p>
      )}
      {status?.kind === 'ok' && !capable && (
        <p className="jp-Kale-status jp-mod-error" role="alert">
          This kale_ext server does not serve models (no &quot;models&quot;
          capability): its serving manager could not be loaded; see the server
          log.
        </p>
      )}
      {capable && path === null && (
        <p className="jp-Kale-empty">
          Open a notebook to see the models served from its runs.
        </p>
      )}
      {capable && path !== null && (
        <NotebookModels
          key={path}
          path={path}
          controller={controller}
          isVisible={props.isVisible}
        />
      )}
    </div>
  );
}

function NotebookModels(props: {
  path: string;
  controller: PipelineController;
  isVisible: () => boolean;
}): JSX.Element {
  const { path, controller } = props;
  const [view, setView] = useState<IModelsView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const changes = useSignals([controller.modelsChanged]);
  const refresh = async () => {
    try {
      setView(await listModels(path));
      setError(null);
    } catch (e) {
      setError(String((e as Error).message ?? e));
    }
  };
  usePoll(
    () => (props.isVisible() || view === null ? refresh() : undefined),
    controller.settings.pollInterval,
    [path, changes]
  );
  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await fn();
      setError(null);
    } catch (e) {
      setError(String((e as Error).message ?? e));
    } finally {
      setBusy(false);
      await refresh();
    }
  };
  const server = view?.server ?? null;
  return (
    <>
      <section className="jp-Kale-section" aria-label="Model server">
        <div className="jp-Kale-modelServer" data-testid="kale-model-server">
          {server ? (
            <>
              <span
                className={`jp-Kale-badge jp-mod-${server.alive ? 'succeeded' : 'failed'}`}
              >
                {server.alive ? 'running' : 'stopped'}
              </span>
              <span className="jp-Kale-modelUrl" title={server.url ?? ''}>
                {server.url}
              </span>
              {server.pid !== null && <span>pid {server.pid}</span>}
              <button
                className="jp-mod-styled jp-mod-warn"
                disabled={busy}
                onClick={() => act(() => stopModel(null, path))}
              >
                Stop server
              </button>
            </>
          ) : (
            <span className="jp-Kale-empty">
              No model server runs for this notebook&apos;s store: serving a
              model starts it.
            </span>
          )}
        </div>
        {error && (
          <p className="jp-Kale-status jp-mod-error" role="alert">
            {error}
          </p>
        )}
      </section>
      <DeployFromRun
        path={path}
        onServed={() => controller.notifyModelsChanged()}
      />
      <section className="jp-Kale-section" aria-label="Served models">
        <h3>Served models</h3>
        {view !== null && view.models.length === 0 && (
          <p className="jp-Kale-empty">No model is served.</p>
        )}
        <ul className="jp-Kale-modelList">
          {view?.models.map(m => (
            <ModelCard
              key={m.name}
              model={m}
              recent={view.recent_requests}
              busy={busy}
              onAction={action =>
                act(() =>
                  action === 'stop'
                    ? stopModel(m.name, path)
                    : changeRollout(m.name, action, path)
                )
              }
            />
          ))}
        </ul>
      </section>
    </>
  );
}

function ModelCard(props: {
  model: IServedModel;
  recent: string[];
  busy: boolean;
  onAction: (action: 'promote' | 'rollback' | 'stop') => void;
}): JSX.Element {
  const { model } = props;
  const totals = modelTotals(model);
  const curl = curlCommand(model, primaryVersion(model));
  const lines = requestLinesOf(props.recent, model.name).slice(-RECENT_LINES);
  const canary = inCanary(model);
  return (
    <li
      className="jp-Kale-model"
      data-testid="kale-model"
      data-model={model.name}
      data-status={model.status}
    >
      <div className="jp-Kale-modelHeader">
        <strong className="jp-Kale-modelName">{model.name}</strong>
        <span className={`jp-Kale-badge jp-mod-${badgeOf(model.status)}`}>
          {model.status}
        </span>
      </div>
      <div className="jp-Kale-modelUrl" title={model.url}>
        {model.url}
      </div>
      <TrafficBar traffic={model.traffic} />
      <dl className="jp-Kale-modelStats" data-testid="kale-model-stats">
        <div>
          <dt>Rate</dt>
          <dd data-testid="kale-model-rate">{formatRate(totals.ratePerS)}</dd>
        </div>
        <div>
          <dt>p50</dt>
          <dd data-testid="kale-model-p50">{formatLatency(totals.p50Ms)}</dd>
        </div>
        <div>
          <dt>p99</dt>
          <dd data-testid="kale-model-p99">{formatLatency(totals.p99Ms)}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd data-testid="kale-model-errors">
            {totals.errors} of {totals.requests}
          </dd>
        </div>
      </dl>
      <ul className="jp-Kale-versions" data-testid="kale-model-versions">
        {model.versions.map(v => (
          <li key={v.version} data-version={v.version}>
            <div className="jp-Kale-versionHead">
              <strong>v{v.version}</strong>
              <span data-testid="kale-version-traffic">{v.traffic}%</span>
              <span
                className="jp-Kale-versionSource"
                title={
                  v.run_id
                    ? `run ${v.run_id}, step ${v.step}, variable ${v.variable}, ${v.hash ?? ''}`
                    : (v.model_dir ?? '')
                }
              >
                {v.run_id ? `${v.step}.${v.variable}` : 'from a directory'}
              </span>
              {v.kind && <span className="jp-Kale-versionKind">{v.kind}</span>}
            </div>
            <div className="jp-Kale-versionFigures">
              <span>{formatRate(v.metrics.rate_per_s)}</span>
              <span>p50 {formatLatency(v.metrics.p50_ms)}</span>
              <span>p99 {formatLatency(v.metrics.p99_ms)}</span>
              <span>
                {v.metrics.errors ?? 0}/{v.metrics.requests ?? 0} errors
              </span>
            </div>
          </li>
        ))}
      </ul>
      <div className="jp-Kale-modelActions">
        <button
          className="jp-mod-styled jp-mod-accept"
          disabled={props.busy || !canary}
          title={
            canary
              ? 'The newest version takes all traffic'
              : 'No canary version to promote'
          }
          onClick={() => props.onAction('promote')}
        >
          Promote
        </button>
        <button
          className="jp-mod-styled"
          disabled={props.busy || !canary}
          title={
            canary
              ? 'Remove the newest version; the previous one takes all traffic'
              : 'No canary version to roll back'
          }
          onClick={() => props.onAction('rollback')}
        >
          Rollback
        </button>
        <button
          className="jp-mod-styled jp-mod-warn"
          disabled={props.busy}
          onClick={() => props.onAction('stop')}
        >
          Stop
        </button>
      </div>
      <CurlBox command={curl} />
      {lines.length > 0 && (
        <ul className="jp-Kale-requestLog" data-testid="kale-model-requests">
          {lines.map((l, i) => (
            <li
              key={`${l.timeText}-${i}`}
              className={l.status >= 400 ? 'jp-mod-error' : ''}
              title={l.raw}
            >
              <span>
                {l.time !== null
                  ? new Date(l.time * 1000).toLocaleTimeString()
                  : l.timeText}
              </span>
              <span>v{l.version}</span>
              <span>
                {l.method} {l.path}
              </span>
              <span>{l.status}</span>
              <span>{formatLatency(l.latencyMs)}</span>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function badgeOf(status: string): string {
  if (status === 'ready') {
    return 'succeeded';
  }
  return status === 'failed' ? 'failed' : 'running';
}

export function TrafficBar(props: {
  traffic: Record<string, number>;
}): JSX.Element {
  const segments = trafficSegments(props.traffic);
  const label = segments.map(s => `v${s.version} ${s.percent}%`).join(', ');
  return (
    <div
      className="jp-Kale-trafficBar"
      role="img"
      aria-label={`Traffic: ${label || 'none'}`}
      data-testid="kale-traffic-bar"
    >
      {segments.map((s, i) => (
        <div
          key={s.version}
          className={`jp-Kale-trafficSegment jp-mod-tone${i % 4}`}
          data-version={s.version}
          data-percent={s.percent}
          style={{ left: `${s.offset}%`, width: `${s.percent}%` }}
          title={`v${s.version}: ${s.percent}% of requests`}
        >
          v{s.version} {Math.round(s.percent)}%
        </div>
      ))}
    </div>
  );
}

function CurlBox(props: { command: string | null }): JSX.Element {
  const [copied, setCopied] = useState(false);
  if (props.command === null) {
    return (
      <p className="jp-Kale-hint">
        No input metadata in the model directory (kale-model.json): send
        {' {"instances": [...]} '} to the model URL with :predict.
      </p>
    );
  }
  const command = props.command;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
    } catch {
      copyWithSelection(command);
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <div className="jp-Kale-curl">
      <pre data-testid="kale-model-curl" tabIndex={0}>
        {command}
      </pre>
      <button className="jp-mod-styled" onClick={copy}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

/** The clipboard without the async API (an insecure origin): copy a selected, off-screen text area. */
function copyWithSelection(text: string): void {
  const area = document.createElement('textarea');
  area.value = text;
  area.style.position = 'fixed';
  area.style.left = '-10000px';
  document.body.appendChild(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

/** The Lumino widget of the panel in JupyterLab's left area; the view polls only while it is visible. */
export class ModelsPanel extends ReactWidget {
  constructor(private readonly controller: PipelineController) {
    super();
    this.addClass('jp-Kale-sidebar');
  }

  protected render(): JSX.Element {
    return (
      <ModelsPanelView
        controller={this.controller}
        isVisible={() => this.isVisible}
      />
    );
  }
}
