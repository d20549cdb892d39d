/**
 * One tuning experiment in the Tuning view: its status, best trial and why it stopped, the trials as a table (the best
 * row highlighted; a row opens its trial's run) and the plots (TuningPlots).
 */
import React from 'react';

import { IExperiment, ITrial } from '../api/types';
import { formatValue, variedParameters } from '../model/tuning-plots';
import { TuningPlots } from './TuningPlots';

export function ExperimentView(props: {
  experiment: IExperiment;
  onOpenRun: (runId: string) => void;
}): JSX.Element {
  const e = props.experiment;
  const objective = (e.spec.objective ?? {}) as Record<string, unknown>;
  const metric = String(objective.objectiveMetricName ?? 'objective');
  const names = variedParameters(e.trials);
  const bestTrial = e.best?.trial ?? null;
  const trials = [...e.trials].sort((a, b) => a.trial - b.trial);
  const open = (trial: number) => {
    const runId = trials.find(t => t.trial === trial)?.run_id;
    if (runId) {
      props.onOpenRun(runId);
    }
  };
  return (
    <div
      className="jp-Kale-experiment"
      data-testid="kale-experiment"
      data-status={e.status}
      data-experiment-id={e.experiment_id}
    >
      <div className="jp-Kale-runHeader">
        <span className={`jp-Kale-badge jp-mod-${e.status}`}>{e.status}</span>
        <span className="jp-Kale-runId" title={e.experiment_id}>
          {e.experiment_id}
        </span>
        <span>
          {trials.length} / {String(e.spec.maxTrialCount ?? '?')} trials
        </span>
      </div>
      {e.best && (
        <p className="jp-Kale-tuningBest" data-testid="kale-tuning-best">
          Best: trial {e.best.trial}, {metric} ={' '}
          {e.best.objective === null ? '–' : formatValue(e.best.objective)} (
          {formatParameters(e.best.parameters)})
        </p>
      )}
      {e.automl && (
        <p className="jp-Kale-tuningBest" data-testid="kale-tuning-family">
          Best family: {e.automl.best_family ?? '–'} (
          {Object.entries(e.automl.families)
            .map(([f, v]) => `${f} ${v === null ? '–' : formatValue(v)}`)
            .join(', ')}
          )
        </p>
      )}
      {e.reason && <p className="jp-Kale-hint">Stopped: {e.reason}</p>}
      {e.error && (
        <p className="jp-Kale-status jp-mod-error" role="alert">
          {e.error}
        </p>
      )}
      {e.refresh_error && (
        <p
          className="jp-Kale-status jp-mod-warning"
          data-testid="kale-tuning-refresh-error"
        >
          As last read from the cluster: {e.refresh_error}
        </p>
      )}
      <TrialsTable
        trials={trials}
        metric={metric}
        bestTrial={bestTrial}
        onOpen={open}
      />
      <TuningPlots
        trials={trials}
        objectiveType={String(objective.type ?? 'minimize')}
        metric={metric}
        parameters={names}
        bestTrial={bestTrial}
        onOpenTrial={open}
      />
    </div>
  );
}

function TrialsTable(props: {
  trials: ITrial[];
  metric: string;
  bestTrial: number | null;
  onOpen: (trial: number) => void;
}): JSX.Element {
  return (
    <table className="jp-Kale-trials" data-testid="kale-trials">
      <thead>
        <tr>
          <th>#</th>
          <th title="status">st.</th>
          <th>parameters</th>
          <th title={props.metric}>{props.metric}</th>
        </tr>
      </thead>
      <tbody>
        {props.trials.map(t => (
          <tr
            key={t.trial}
            className={
              (t.trial === props.bestTrial ? 'jp-mod-best' : '') +
              (t.run_id ? ' jp-mod-clickable' : '')
            }
            data-trial={t.trial}
            data-status={t.status}
            data-run-id={t.run_id ?? ''}
            title={t.run_id ? `Open run ${t.run_id}` : 'Not started yet'}
            onClick={() => props.onOpen(t.trial)}
          >
            <td title={t.stage ? `AutoML stage: ${t.stage}` : undefined}>
              {t.trial}
              {t.stage === 'families' ? '*' : ''}
            </td>
            <td>
              <span
                className={`jp-Kale-statusDot jp-mod-${t.status}`}
                title={t.status}
                aria-label={t.status}
                role="img"
              />
            </td>
            <td className="jp-Kale-trialParams">
              {Object.entries(t.parameters).map(([k, v]) => (
                <span key={k}>{formatParameters({ [k]: v })}</span>
              ))}
            </td>
            <td>{t.objective === null ? '' : formatValue(t.objective)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function formatParameters(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(
      ([k, v]) => `${k}=${typeof v === 'number' ? formatValue(v) : String(v)}`
    )
    .join(', ');
}
