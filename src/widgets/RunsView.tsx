/**
 * The notebook's runs (including those started from the CLI: they share the store beside the notebook), and one run in
 * detail: its DAG with live step states, overall progress, each step's log streaming, re-run and cancel, and a link
 * from a failed step to the cell that raised, "Serve…" on a succeeded run's step that bound a model, "Explore…" on
 * a step that ran (its exploration notebook, opened in a kernel) and the run's lineage.
 */
import React, { useEffect, useMemo, useRef, useState } from 'react';

import {
  cancelRun,
  getRun,
  listRuns,
  listServable,
  readStepLog,
  startRun
} from '../api/client';
import {
  ACTIVE_RUN_STATUSES,
  IAnalysis,
  IDeployResult,
  IRun,
  IRunSummary,
  IServable,
  StepStatus
} from '../api/types';
import { buildEdges, IDagEdge } from '../model/dag';
import { formatDuration, runProgress } from '../model/runs';
import { DagView } from './DagView';
import { ExploreForm } from './ExploreForm';
import { usePoll } from './hooks';
import { LineageView } from './LineageView';
import { ServeForm } from './ServeForm';

/** The step states after which a step has its inputs recorded (it started). */
const EXPLORABLE = new Set<StepStatus>(['succeeded', 'cached', 'failed']);

export interface IRunsViewProps {
  path: string;
  analysis: IAnalysis | null;
  pollInterval: number;
  selected: string | null;
  onSelect: (runId: string | null) => void;
  /** Bumped by the parent after it starts a run, to refresh the list at once. */
  refreshKey: number;
  /** Scroll the selected run's detail into view once it has loaded (a run opened from elsewhere, e.g. a trial). */
  revealSelected?: boolean;
  onJump: (cell: number, line: number | null) => void;
  colorOf: (name: string) => string;
  /** Called after a model of a run was deployed from here (the Models panel reloads). */
  onServed?: (result: IDeployResult) => void;
  /** Bring the Models panel to the front. */
  onShowModels?: () => void;
  /** Open an exploration notebook (a path relative to the server root) in a kernel and run its first cell. */
  onExplore?: (path: string) => Promise<void> | void;
}

export function RunsView(props: IRunsViewProps): JSX.Element {
  const [runs, setRuns] = useState<IRunSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const active = runs?.some(r => ACTIVE_RUN_STATUSES.has(r.status)) ?? false;
  usePoll(
    async () => {
      try {
        setRuns(await listRuns(props.path));
        setError(null);
      } catch (e) {
        setError(String((e as Error).message ?? e));
      }
    },
    active ? props.pollInterval : props.pollInterval * 3,
    [props.path, props.refreshKey]
  );
  return (
    <section className="jp-Kale-section" aria-label="Runs">
      <h3>Runs</h3>
      {error && (
        <p className="jp-Kale-status jp-mod-error" role="alert">
          Cannot list runs: {error}
        </p>
      )}
      {runs !== null && runs.length === 0 && (
        <p className="jp-Kale-empty">No runs of this notebook yet.</p>
      )}
      {runs !== null && runs.length > 0 && (
        <ul className="jp-Kale-runs" data-testid="kale-runs">
          {runs.map(run => (
            <li key={run.run_id}>
              <button
                className={
                  'jp-Kale-runRow' +
                  (props.selected === run.run_id ? ' jp-mod-selected' : '')
                }
                aria-pressed={props.selected === run.run_id}
                data-run-id={run.run_id}
                data-status={run.status}
                onClick={() =>
                  props.onSelect(
                    props.selected === run.run_id ? null : run.run_id
                  )
                }
              >
                <span className={`jp-Kale-badge jp-mod-${run.status}`}>
                  {run.status}
                </span>
                <span className="jp-Kale-runTime">
                  {formatTime(run.created ?? run.started)}
                </span>
                {run.runner !== 'local' && (
                  <span className="jp-Kale-runBackend" title="backend">
                    {run.runner}
                  </span>
                )}
                <span className="jp-Kale-runDuration">
                  {formatDuration(run.duration_s)}
                </span>
                <span className="jp-Kale-runMetrics">
                  {formatMetrics(run.metrics)}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {props.selected && (
        <RunDetail
          key={props.selected}
          runId={props.selected}
          reveal={props.revealSelected ?? false}
          analysis={props.analysis}
          pollInterval={props.pollInterval}
          onRerun={id => props.onSelect(id)}
          onJump={props.onJump}
          colorOf={props.colorOf}
          path={props.path}
          onServed={props.onServed}
          onShowModels={props.onShowModels}
          onExplore={props.onExplore}
        />
      )}
    </section>
  );
}

function RunDetail(props: {
  runId: string;
  reveal: boolean;
  analysis: IAnalysis | null;
  pollInterval: number;
  onRerun: (runId: string) => void;
  onJump: (cell: number, line: number | null) => void;
  colorOf: (name: string) => string;
  path: string;
  onServed?: (result: IDeployResult) => void;
  onShowModels?: () => void;
  onExplore?: (path: string) => Promise<void> | void;
}): JSX.Element {
  const [run, setRun] = useState<IRun | null>(null);
  const [exploreStep, setExploreStep] = useState<string | null>(null);
  const [showLineage, setShowLineage] = useState(false);
  const [servable, setServable] = useState<IServable[]>([]);
  const [serveStep, setServeStep] = useState<string | null>(null);
  const [served, setServed] = useState<IDeployResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [logStep, setLogStep] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const active = run === null || ACTIVE_RUN_STATUSES.has(run.status);
  usePoll(
    async () => {
      try {
        setRun(await getRun(props.runId));
        setError(null);
      } catch (e) {
        setError(String((e as Error).message ?? e));
      }
    },
    active ? Math.min(props.pollInterval, 500) : null,
    [props.runId]
  );
  const succeeded = run?.status === 'succeeded';
  useEffect(() => {
    if (!succeeded) {
      return;
    }
    // A server without serving (no "models" capability) answers 503: the run then offers no "Serve…".
    listServable(props.runId, props.path)
      .then(list => setServable(list.models))
      .catch(() => setServable([]));
  }, [succeeded, props.runId, props.path]);
  const names = useMemo(() => run?.steps.map(s => s.name) ?? [], [run]);
  const edges = useMemo(
    () => runEdges(run, props.analysis),
    [names.join('\u0000'), props.analysis]
  );
  const root = useRef<HTMLDivElement>(null);
  const loaded = run !== null;
  useEffect(() => {
    if (loaded && props.reveal) {
      root.current?.scrollIntoView({ block: 'nearest' });
    }
  }, [loaded, props.reveal]);
  if (run === null) {
    return (
      <div className="jp-Kale-runDetail">
        {error ? (
          <p className="jp-Kale-status jp-mod-error" role="alert">
            {error}
          </p>
        ) : (
          <p className="jp-Kale-status">Loading run…</p>
        )}
      </div>
    );
  }
  const statuses: Record<string, StepStatus> = {};
  for (const s of run.steps) {
    statuses[s.name] = s.status;
  }
  const progress = runProgress(run.steps);
  const rerun = async () => {
    setBusy(true);
    try {
      const opts: Partial<IRun['options']> = run.options ?? {};
      const started = await startRun({
        path: run.path ?? run.notebook,
        parameters: run.parameters ?? {},
        backend: run.runner,
        use_cache: opts.use_cache !== false,
        fail_fast: opts.fail_fast === true,
        max_parallel: (opts.max_parallel as number | null) ?? null
      });
      props.onRerun(started.run_id);
    } catch (e) {
      setError(String((e as Error).message ?? e));
    } finally {
      setBusy(false);
    }
  };
  const cancel = async () => {
    setBusy(true);
    try {
      setRun(await cancelRun(run.run_id));
    } catch (e) {
      setError(String((e as Error).message ?? e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div
      ref={root}
      className="jp-Kale-runDetail"
      data-testid="kale-run-detail"
      data-status={run.status}
      data-run-id={run.run_id}
    >
      <div className="jp-Kale-runHeader">
        <span className={`jp-Kale-badge jp-mod-${run.status}`}>
          {run.status}
        </span>
        <span className="jp-Kale-runId" title={run.run_id}>
          {run.run_id}
        </span>
        <span>{formatDuration(run.duration_s)}</span>
        {ACTIVE_RUN_STATUSES.has(run.status) ? (
          <button
            className="jp-mod-styled jp-mod-warn"
            onClick={cancel}
            disabled={busy}
          >
            Cancel
          </button>
        ) : (
          <button
            className="jp-mod-styled"
            onClick={rerun}
            disabled={busy}
            title="Run again with the same parameters and options"
          >
            Re-run
          </button>
        )}
      </div>
      {run.external_url && (
        <div className="jp-Kale-runExternal">
          {run.runner === 'kfp' ? 'On Kubeflow Pipelines' : `On ${run.runner}`}
          {': '}
          <a
            className="jp-Kale-externalLink"
            href={run.external_url}
            target="_blank"
            rel="noopener noreferrer"
            data-testid="kale-run-external"
            title={`${run.runner} run ${run.external_id ?? ''}`}
          >
            open the run ↗
          </a>
        </div>
      )}
      <div
        className="jp-Kale-progress"
        role="progressbar"
        aria-label="Run progress"
        aria-valuemin={0}
        aria-valuemax={progress.total}
        aria-valuenow={progress.done}
        data-testid="kale-run-progress"
      >
        <div
          className="jp-Kale-progressBar"
          style={{
            width: `${progress.total ? (100 * progress.done) / progress.total : 0}%`
          }}
        />
        <span className="jp-Kale-progressText">
          {progress.done}/{progress.total} steps
        </span>
      </div>
      {error && (
        <p className="jp-Kale-status jp-mod-error" role="alert">
          {error}
        </p>
      )}
      {run.error && run.status !== 'succeeded' && (
        <p
          className={
            'jp-Kale-status' + (run.status === 'unknown' ? '' : ' jp-mod-error')
          }
          data-testid="kale-run-error"
        >
          {run.error}
        </p>
      )}
      <DagView
        names={names}
        edges={edges}
        statuses={statuses}
        selected={logStep}
        onSelect={step => setLogStep(step === logStep ? null : step)}
        label="Run DAG"
        colorOf={props.colorOf}
        testId="kale-run-dag"
      />
      {run.metrics && Object.keys(run.metrics).length > 0 && (
        <dl className="jp-Kale-metrics" data-testid="kale-run-metrics">
          {Object.entries(run.metrics).map(([k, v]) => (
            <React.Fragment key={k}>
              <dt>{k}</dt>
              <dd>{formatMetric(v)}</dd>
            </React.Fragment>
          ))}
        </dl>
      )}
      {served && (
        <p
          className="jp-Kale-status jp-mod-ok"
          role="status"
          data-testid="kale-served"
        >
          Serving {served.name} v{served.version} at {served.url} (
          {Object.entries(served.traffic)
            .map(([v, p]) => `v${v} ${p}%`)
            .join(', ')}
          ){' '}
          {props.onShowModels && (
            <button className="jp-Kale-linkButton" onClick={props.onShowModels}>
              Show models
            </button>
          )}
        </p>
      )}
      <div className="jp-Kale-runTools">
        <button
          className="jp-Kale-linkButton"
          aria-expanded={showLineage}
          onClick={() => setShowLineage(!showLineage)}
          data-testid="kale-run-lineage-toggle"
          title="Where this run's results came from: code, parameters, inputs, snapshot"
        >
          {showLineage ? 'Hide lineage' : 'Lineage'}
        </button>
      </div>
      {showLineage && <LineageView runId={run.run_id} status={run.status} />}
      <ul className="jp-Kale-runSteps" data-testid="kale-run-steps">
        {run.steps.map(s => (
          <li key={s.name} data-step={s.name} data-status={s.status}>
            <div className="jp-Kale-runStep">
              <span
                className="jp-Kale-swatch"
                style={{ background: props.colorOf(s.name) }}
                aria-hidden="true"
              />
              <span className="jp-Kale-runStepName">{s.name}</span>
              <span className={`jp-Kale-badge jp-mod-${s.status}`}>
                {s.status}
              </span>
              <span className="jp-Kale-runDuration">
                {formatDuration(s.duration_s)}
              </span>
              <button
                className="jp-Kale-linkButton"
                aria-expanded={logStep === s.name}
                onClick={() => setLogStep(logStep === s.name ? null : s.name)}
              >
                {logStep === s.name ? 'Hide log' : 'Log'}
              </button>
              {props.onExplore && EXPLORABLE.has(s.status) && (
                <button
                  className="jp-Kale-linkButton"
                  aria-expanded={exploreStep === s.name}
                  data-testid="kale-step-explore"
                  onClick={() =>
                    setExploreStep(exploreStep === s.name ? null : s.name)
                  }
                  title="Open a notebook with the exact inputs this step received"
                >
                  Explore…
                </button>
              )}
            </div>
            {exploreStep === s.name && props.onExplore && (
              <ExploreForm
                runId={run.run_id}
                step={s.name}
                hasOutputs={s.status === 'succeeded' || s.status === 'cached'}
                onOpen={props.onExplore}
                onCancel={() => setExploreStep(null)}
              />
            )}
            {servable.some(m => m.step === s.name) && (
              <div className="jp-Kale-stepServe">
                <button
                  className="jp-Kale-linkButton"
                  aria-expanded={serveStep === s.name}
                  onClick={() =>
                    setServeStep(serveStep === s.name ? null : s.name)
                  }
                  title="Serve a model this step bound on the local model server"
                >
                  Serve…
                </button>{' '}
                <span className="jp-Kale-hint">
                  {servable
                    .filter(m => m.step === s.name)
                    .map(m => `${m.variable} (${m.kind})`)
                    .join(', ')}
                </span>
              </div>
            )}
            {serveStep === s.name && (
              <ServeForm
                notebookPath={props.path}
                runId={run.run_id}
                servable={servable.filter(m => m.step === s.name)}
                onServed={result => {
                  setServed(result);
                  setServeStep(null);
                  props.onServed?.(result);
                }}
                onCancel={() => setServeStep(null)}
              />
            )}
            {s.status === 'failed' && s.error && (
              <div className="jp-Kale-stepError" data-testid="kale-step-error">
                <span>
                  {s.error.type &&
                  !(s.error.message ?? '').startsWith(s.error.type)
                    ? `${s.error.type}: `
                    : ''}
                  {s.error.message}
                </span>
                {typeof s.error.cell === 'number' && (
                  <button
                    className="jp-Kale-linkButton"
                    data-testid="kale-step-error-link"
                    data-cell={s.error.cell}
                    data-line={s.error.line ?? ''}
                    onClick={() =>
                      props.onJump(
                        s.error!.cell as number,
                        s.error!.line ?? null
                      )
                    }
                  >
                    Go to cell {s.error.cell + 1}
                    {s.error.line ? `, line ${s.error.line}` : ''}
                  </button>
                )}
              </div>
            )}
            {logStep === s.name && (
              <StepLog
                runId={run.run_id}
                step={s.name}
                live={s.status === 'running' || s.status === 'queued'}
                pollInterval={props.pollInterval}
              />
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function StepLog(props: {
  runId: string;
  step: string;
  live: boolean;
  pollInterval: number;
}): JSX.Element {
  const [text, setText] = useState('');
  const [offset, setOffset] = useState(0);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  usePoll(
    async () => {
      try {
        const chunk = await readStepLog(props.runId, props.step, offset);
        if (chunk.text) {
          setText(t => t + chunk.text);
        }
        setOffset(chunk.next_offset);
        if (!props.live) {
          setDone(true);
        }
      } catch (e) {
        setError(String((e as Error).message ?? e));
        setDone(true);
      }
    },
    done ? null : Math.min(props.pollInterval, 500),
    [props.runId, props.step, offset, props.live]
  );
  return (
    <div className="jp-Kale-log">
      {error && (
        <p className="jp-Kale-status jp-mod-error" role="alert">
          {error}
        </p>
      )}
      <pre
        data-testid="kale-step-log"
        data-step={props.step}
        aria-label={`Log of ${props.step}`}
        tabIndex={0}
      >
        {text || (done ? '(no output)' : '…')}
      </pre>
    </div>
  );
}

/** Edges for a run's DAG: the analysis' labelled edges when it describes the same steps, else depends_on only. */
function runEdges(run: IRun | null, analysis: IAnalysis | null): IDagEdge[] {
  if (!run) {
    return [];
  }
  const names = run.steps.map(s => s.name);
  if (
    analysis &&
    analysis.steps.length === names.length &&
    analysis.steps.every(s => names.includes(s.name))
  ) {
    return buildEdges(analysis.steps);
  }
  return buildEdges(
    run.steps.map(s => ({
      name: s.name,
      cells: [],
      depends_on: s.depends_on ?? [],
      inputs: [],
      outputs: [],
      parameters: [],
      input_sources: {}
    }))
  );
}

function formatTime(unix: number | null | undefined): string {
  if (!unix) {
    return '';
  }
  return new Date(unix * 1000).toLocaleString();
}

function formatMetric(v: unknown): string {
  return typeof v === 'number'
    ? String(Math.round(v * 10000) / 10000)
    : JSON.stringify(v);
}

function formatMetrics(
  metrics: Record<string, unknown> | null | undefined
): string {
  if (!metrics) {
    return '';
  }
  return Object.entries(metrics)
    .slice(0, 2)
    .map(([k, v]) => `${k}=${formatMetric(v)}`)
    .join(' ');
}
