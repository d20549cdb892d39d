/**
 * "Explore in notebook" for a step of a run: asks the server for the step's exploration notebook (a first cell that
 * loads the step's parameters and inputs, optionally its outputs, then the step's cells) and hands its path to the
 * caller, which opens it in a kernel and runs the first cell.
 */
import React, { useState } from 'react';

import { exploreStep } from '../api/client';

export function ExploreForm(props: {
  runId: string;
  step: string;
  /** Whether the step wrote outputs (succeeded or cached): only then can they be loaded too. */
  hasOutputs: boolean;
  onOpen: (path: string) => Promise<void> | void;
  onCancel: () => void;
}): JSX.Element {
  const [outputs, setOutputs] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const open = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = await exploreStep(
        props.runId,
        props.step,
        outputs && props.hasOutputs
      );
      await props.onOpen(result.path);
      props.onCancel();
    } catch (e) {
      setError(String((e as Error).message ?? e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div
      className="jp-Kale-exploreForm"
      data-testid="kale-explore-form"
      data-step={props.step}
    >
      <label
        title={
          props.hasOutputs
            ? 'Load the values the step wrote too'
            : 'This step wrote no outputs'
        }
      >
        <input
          type="checkbox"
          checked={outputs && props.hasOutputs}
          disabled={!props.hasOutputs || busy}
          onChange={ev => setOutputs(ev.target.checked)}
          data-testid="kale-explore-outputs"
        />{' '}
        with its outputs
      </label>{' '}
      <button
        className="jp-mod-styled jp-mod-accept"
        onClick={open}
        disabled={busy}
        data-testid="kale-explore-open"
      >
        {busy ? 'Opening…' : 'Open notebook'}
      </button>{' '}
      <button className="jp-Kale-linkButton" onClick={props.onCancel}>
        Cancel
      </button>
      {error && (
        <p className="jp-Kale-status jp-mod-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
