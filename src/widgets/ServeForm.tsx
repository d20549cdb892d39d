/**
 * The "Serve…" form: serve a model a finished run bound (model variable, name, canary percent) through POST
 * /kale/v1/models. Shown under a run's step in the runs view and in the Models panel's deploy section.
 */
import React, { useState } from 'react';

import { deployModel } from '../api/client';
import { IDeployResult, IServable } from '../api/types';
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
