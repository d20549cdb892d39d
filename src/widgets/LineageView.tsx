/**
 * A run's lineage in the sidebar: the workspace snapshot it ran on, the models served from it, and per step its code
 * hash, the parameters it read, its inputs with the step (and run, when it came from the cache) that produced them,
 * its outputs, models and metrics. Read once from GET /kale/v1/runs/RUN_ID/lineage (a finished run does not change).
 */
import React, { useEffect, useState } from 'react';

import { getRunLineage } from '../api/client';
import { ILineageArtifact, IRunLineage, IStepLineage } from '../api/types';

export function LineageView(props: {
  runId: string;
  /** Re-read when the run's status changes (a running run gains steps' lineage). */
  status: string;
}): JSX.Element {
  const [lineage, setLineage] = useState<IRunLineage | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    getRunLineage(props.runId)
      .then(l => live && (setLineage(l), setError(null)))
      .catch(e => live && setError(String((e as Error).message ?? e)));
    return () => {
      live = false;
    };
  }, [props.runId, props.status]);
  if (error) {
    return (
      <p className="jp-Kale-status jp-mod-error" role="alert">
        Cannot read the lineage: {error}
      </p>
    );
  }
  if (lineage === null) {
    return <p className="jp-Kale-status">Loading lineage…</p>;
  }
  const snapshot = lineage.snapshot;
  return (
    <section
      className="jp-Kale-lineage"
      aria-label="Run lineage"
      data-testid="kale-run-lineage"
    >
      <h4>Lineage</h4>
      <p className="jp-Kale-lineageMeta" data-testid="kale-lineage-snapshot">
        Workspace snapshot:{' '}
        {snapshot ? (
          <code title={snapshot.root ?? ''}>
            {snapshot.snapshot_id}
            {snapshot.missing
              ? ' (no longer in the store)'
              : ` · ${snapshot.files ?? '?'} files, ${formatBytes(snapshot.bytes)}`}
          </code>
        ) : (
          <span className="jp-Kale-hint">none recorded</span>
        )}
      </p>
      {lineage.served_models.length > 0 && (
        <p className="jp-Kale-lineageMeta" data-testid="kale-lineage-served">
          Served:{' '}
          {lineage.served_models
            .map(
              v =>
                `${v.name} v${v.version} (${v.variable} of ${v.step}${v.live ? '' : ', stopped'})`
            )
            .join('; ')}
        </p>
      )}
      <ol className="jp-Kale-lineageSteps">
        {lineage.steps.map(s => (
          <StepLineageItem key={s.name} step={s} runId={lineage.run_id} />
        ))}
      </ol>
    </section>
  );
}

function StepLineageItem(props: {
  step: IStepLineage;
  runId: string;
}): JSX.Element {
  const s = props.step;
  const params = Object.entries(s.parameters);
  const models = s.models.filter(m => m.role !== 'output');
  return (
    <li data-step={s.name} data-testid="kale-lineage-step">
      <div className="jp-Kale-lineageStep">
        <span className="jp-Kale-runStepName">{s.name}</span>
        <span className={`jp-Kale-badge jp-mod-${s.status}`}>{s.status}</span>
        {s.code_hash && (
          <code
            className="jp-Kale-hash"
            title={`code (cell sources) ${s.code_hash}`}
          >
            {shortHash(s.code_hash)}
          </code>
        )}
      </div>
      {s.cached_from && (
        <div className="jp-Kale-hint">from the cache of {s.cached_from}</div>
      )}
      {params.length > 0 && (
        <div className="jp-Kale-lineageRow">
          params:{' '}
          {params.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}
        </div>
      )}
      {s.inputs.map(a => (
        <ArtifactRow key={`in-${a.name}`} arrow="←" artifact={a}>
          {' '}
          from <b>{a.origin.step}</b>
          {a.origin.run_id !== props.runId && (
            <span className="jp-Kale-hint"> of {a.origin.run_id}</span>
          )}
        </ArtifactRow>
      ))}
      {s.outputs.map(a => (
        <ArtifactRow key={`out-${a.name}`} arrow="→" artifact={a}>
          {a.kind && <span className="jp-Kale-hint"> model ({a.kind})</span>}
        </ArtifactRow>
      ))}
      {models.map(a => (
        <ArtifactRow key={`model-${a.name}`} arrow="→" artifact={a}>
          <span className="jp-Kale-hint"> model ({a.kind})</span>
        </ArtifactRow>
      ))}
      {Object.entries(s.metrics).map(([k, v]) => (
        <div key={`m-${k}`} className="jp-Kale-lineageRow">
          metric {k} = {typeof v === 'number' ? String(v) : JSON.stringify(v)}
        </div>
      ))}
      {s.error && (
        <div className="jp-Kale-lineageRow jp-mod-error">{s.error}</div>
      )}
    </li>
  );
}

function ArtifactRow(props: {
  arrow: string;
  artifact: ILineageArtifact;
  children?: React.ReactNode;
}): JSX.Element {
  const a = props.artifact;
  return (
    <div
      className="jp-Kale-lineageRow"
      data-testid="kale-lineage-artifact"
      data-direction={props.arrow === '←' ? 'input' : 'output'}
      data-name={a.name}
      data-hash={a.hash}
    >
      {props.arrow} <b>{a.name}</b>{' '}
      <code className="jp-Kale-hash" title={`${a.type}, ${a.hash}`}>
        {shortHash(a.hash)}
      </code>
      {props.children}
    </div>
  );
}

export function shortHash(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 10);
}

function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) {
    return '? bytes';
  }
  const units = ['bytes', 'KB', 'MB', 'GB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
