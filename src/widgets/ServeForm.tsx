/**
 * The "Serve…" form: serve a model a finished run bound (model variable, name, canary percent) through POST
 * /kale/v1/models. Shown under a run's step in the runs view and, with a run picker (DeployFromRun), in the Models
 * panel.
 */
import React, { useEffect, useState } from 'react';

import { deployModel, listRuns, listServable } from '../api/client';
import { IDeployResult, IRunSummary, IServable } from '../api/types';
import {
  MODEL_NAME_RE,
  checkServeInput,
  defaultModelName
} from '../model/models';

export function ServeForm(props: {
  notebookPath: string;
  runId: string;
  servable: IServable[];
  onServed: (result: IDeployResult) => void;
  onCancel?: () => void;
}): JSX.Element {
  const first = props.servable[0];
  const [variable, setVariable] = useState(first?.variable ?? '');
  const [name, setName] = useState(defaultModelName(first?.variable ?? ''));
  const [nameEdited, setNameEdited] = useState(false);
  const [canary, setCanary] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const checked = checkServeInput(name, canary);

  const submit = async (ev: React.FormEvent) => {
    ev.preventDefault();
    if (!checked.ok) {
      setError(checked.error);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const result = await deployModel({
        notebook: props.notebookPath,
        run_id: props.runId,
        variable,
        name,
        canary_percent: checked.canary
      });
      props.onServed(result);
    } catch (e) {
      setError(String((e as Error).message ?? e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="jp-Kale-serveForm"
      data-testid="kale-serve-form"
      onSubmit={submit}
    >
      <label>
        <span>Model variable</span>
        <select
          className="jp-mod-styled"
          value={variable}
          onChange={ev => {
            setVariable(ev.target.value);
            if (!nameEdited) {
              setName(defaultModelName(ev.target.value));
            }
          }}
        >
          {props.servable.map(s => (
            <option key={`${s.step}/${s.variable}`} value={s.variable}>
              {s.variable} ({s.kind}, step {s.step})
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Name</span>
        <input
          className="jp-mod-styled"
          value={name}
          aria-invalid={!MODEL_NAME_RE.test(name)}
          onChange={ev => {
            setName(ev.target.value);
            setNameEdited(true);
          }}
        />
      </label>
      <label>
        <span>Canary percent</span>
        <input
          className="jp-mod-styled"
          value={canary}
          inputMode="numeric"
          placeholder="all traffic"
          title="Under a name already served: the share of requests the new version gets; the current version keeps the rest. Blank: the new version takes all traffic."
          onChange={ev => setCanary(ev.target.value)}
        />
      </label>
      {error && (
        <p className="jp-Kale-status jp-mod-error" role="alert">
          Cannot serve the model: {error}
        </p>
      )}
      <div className="jp-Kale-serveActions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          disabled={busy || !variable}
        >
          {busy ? 'Deploying…' : 'Serve'}
        </button>
        {props.onCancel && (
          <button
            type="button"
            className="jp-mod-styled"
            onClick={props.onCancel}
          >
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

/** "Deploy a model…": pick a succeeded run of the notebook and one of the models it bound. */
export function DeployFromRun(props: {
  path: string;
  onServed: () => void;
}): JSX.Element {
  const [open, setOpen] = useState(false);
  const [runs, setRuns] = useState<IRunSummary[] | null>(null);
  const [runId, setRunId] = useState<string>('');
  const [servable, setServable] = useState<IServable[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!open) {
      return;
    }
    listRuns(props.path)
      .then(all => {
        const done = all.filter(r => r.status === 'succeeded');
        setRuns(done);
        setRunId(done[0]?.run_id ?? '');
      })
      .catch(e => setError(String((e as Error).message ?? e)));
  }, [open, props.path]);
  useEffect(() => {
    setServable(null);
    if (!runId) {
      return;
    }
    listServable(runId, props.path)
      .then(list => setServable(list.models))
      .catch(e => setError(String((e as Error).message ?? e)));
  }, [runId, props.path]);
  if (!open) {
    return (
      <button
        className="jp-mod-styled jp-mod-accept jp-Kale-deployModel"
        onClick={() => setOpen(true)}
      >
        Deploy a model…
      </button>
    );
  }
  return (
    <section
      className="jp-Kale-section"
      aria-label="Deploy a model"
      data-testid="kale-deploy-model"
    >
      <h3>Deploy a model</h3>
      {error && (
        <p className="jp-Kale-status jp-mod-error" role="alert">
          {error}
        </p>
      )}
      {runs !== null && runs.length === 0 && (
        <p className="jp-Kale-empty">
          No succeeded run of this notebook yet: run the pipeline first.
        </p>
      )}
      {runs !== null && runs.length > 0 && (
        <label className="jp-Kale-serveRun">
          <span>Run</span>
          <select
            className="jp-mod-styled"
            value={runId}
            onChange={ev => setRunId(ev.target.value)}
          >
            {runs.map(r => (
              <option key={r.run_id} value={r.run_id}>
                {r.run_id}
              </option>
            ))}
          </select>
        </label>
      )}
      {servable !== null && servable.length === 0 && (
        <p className="jp-Kale-empty">This run bound no model.</p>
      )}
      {servable !== null && servable.length > 0 && (
        <ServeForm
          key={runId}
          notebookPath={props.path}
          runId={runId}
          servable={servable}
          onServed={() => {
            setOpen(false);
            props.onServed();
          }}
          onCancel={() => setOpen(false)}
        />
      )}
      {(runs === null || runs.length === 0 || servable?.length === 0) && (
        <button className="jp-mod-styled" onClick={() => setOpen(false)}>
          Close
        </button>
      )}
    </section>
  );
}
