/**
 * The Tuning view of the sidebar: the notebook's experiment as a form (TuningForm) read from and written into its
 * `kubeflow_notebook.katib_metadata` through the notebook model; Start (the notebook is saved first: the server tunes
 * the saved file), Cancel, and Resume for an interrupted or cancelled one; the latest experiment (TuningExperiment: its trials as a live table, polled like the
 * runs view, and plots). A trial opens its run in the runs view.
 */
import React, { useEffect, useMemo, useRef, useState } from 'react';

import {
  ApiError,
  cancelExperiment,
  resumeExperiment,
  getExperiment,
  listExperiments,
  startExperiment
} from '../api/client';
import { IAnalysis, IExperiment } from '../api/types';
import { NotebookPipeline } from '../model/notebook-pipeline';
import {
  formFromKatib,
  formToKatib,
  IPipelineShape,
  ITuningForm,
  readAutoML,
  readKatib,
  syncParameters,
  writeKatib
} from '../model/tuning';
import { checkForm } from '../model/tuning-checks';
import { usePoll } from './hooks';
import { ExperimentView } from './TuningExperiment';
import { TuningForm } from './TuningForm';

export function TuningView(props: {
  pipeline: NotebookPipeline;
  analysis: IAnalysis | null;
  pollInterval: number;
  /** Why tuning is off on this server (no "experiments" capability), or null. */
  unavailable: string | null;
  onOpenRun: (runId: string) => void;
}): JSX.Element {
  const { pipeline, analysis } = props;
  const model = pipeline.model;
  const context = pipeline.panel.context;
  // The model exists before its content is loaded: read the experiment only once the notebook is.
  const [ready, setReady] = useState(context.isReady);
  useEffect(() => {
    void context.ready.then(() => setReady(true));
  }, [context]);
  const [open, setOpen] = useState(false);
  const shape: IPipelineShape | null = useMemo(
    () =>
      analysis
        ? { parameters: analysis.parameters, metrics: analysis.metrics }
        : null,
    [analysis]
  );
  const [form, setForm] = useState<ITuningForm | null>(null);
  // The experiment as the notebook has it (JSON), to tell our own writes from a change made elsewhere.
  const [stored, setStored] = useState<string | null>(null);
  useEffect(() => {
    if (!ready || !model) {
      return;
    }
    const read = () => setStored(JSON.stringify(readKatib(model) ?? null));
    read();
    if (readKatib(model)) {
      setOpen(true); // a notebook with an experiment (Kale 0.7's too) shows it
    }
    model.metadataChanged.connect(read);
    return () => {
      model.metadataChanged.disconnect(read);
    };
  }, [ready, model]);
  // The stored experiment the form was last read from or wrote: another change (a revert, a reload of the file,
  // another view's edit) is read into the form again; a change of the pipeline only brings in its new parameters.
  const basis = useRef<string | null>(null);
  useEffect(() => {
    if (!shape || !model || stored === null) {
      return;
    }
    setForm(f => {
      if (f && stored === basis.current) {
        return syncParameters(f, shape);
      }
      basis.current = stored;
      return formFromKatib(JSON.parse(stored), shape);
    });
  }, [shape, model, stored]);
  const errors = useMemo(
    () => (form && shape ? checkForm(form, shape) : {}),
    [form, shape]
  );
  const valid = Object.keys(errors).length === 0;
  const change = (next: ITuningForm) => {
    setForm(next);
    if (model && shape && Object.keys(checkForm(next, shape)).length === 0) {
      const katib = formToKatib(next);
      basis.current = JSON.stringify(katib);
      writeKatib(model, katib);
    }
  };

  const families = ready && model ? readAutoML(model) : null;
  const [automl, setAutoml] = useState(false);

  const [experiment, setExperiment] = useState<IExperiment | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (props.unavailable) {
      return;
    }
    listExperiments(pipeline.path)
      .then(list => setExperiment(e => e ?? list[0] ?? null))
      .catch(e => setError(String((e as Error).message ?? e)));
  }, [pipeline.path, props.unavailable]);
  const running = experiment?.status === 'running';
  usePoll(
    async () => {
      if (experiment) {
        const id = experiment.experiment_id;
        const next = await getExperiment(id);
        // An answer that arrives after Cancel, Start or Resume replaced the experiment is stale: keep the newer one.
        setExperiment(e =>
          e?.experiment_id === id && e.status === 'running' ? next : e
        );
      }
    },
    running ? props.pollInterval : null,
    [experiment?.experiment_id]
  );

  const act = async (fn: () => Promise<IExperiment>) => {
    setBusy(true);
    setError(null);
    setProblems([]);
    try {
      setExperiment(await fn());
    } catch (e) {
      setError(String((e as Error).message ?? e));
      const found = e instanceof ApiError ? e.details.problems : undefined;
      setProblems(Array.isArray(found) ? found.map(String) : []);
    } finally {
      setBusy(false);
    }
  };
  const start = () =>
    act(async () => {
      if (pipeline.model?.dirty) {
        await pipeline.panel.context.save(); // the server reads the experiment from the saved notebook
      }
      return startExperiment({
        path: pipeline.path,
        automl: automl && families !== null
      });
    });
  const cancel = () =>
    act(() => cancelExperiment((experiment as IExperiment).experiment_id));
  // An experiment stopped before its end (a server restart, a killed `kale-ext tune`, Cancel) continues under its id.
  const resumable =
    experiment !== null &&
    experiment.runner === 'local' &&
    (experiment.status === 'interrupted' || experiment.status === 'cancelled');
  const resume = () =>
    act(() => resumeExperiment((experiment as IExperiment).experiment_id));

  return (
    <section
      className="jp-Kale-section jp-Kale-tuning"
      aria-label="Tuning"
      data-testid="kale-tuning"
    >
      <h3>
        <button
          className="jp-Kale-linkButton"
          aria-expanded={open}
          data-testid="kale-tuning-toggle"
          onClick={() => setOpen(!open)}
        >
          {open ? '▾' : '▸'} Tuning
        </button>
      </h3>
      {open && props.unavailable && (
        <p className="jp-Kale-hint">{props.unavailable}</p>
      )}
      {open && !props.unavailable && form && shape && (
        <>
          <TuningForm
            form={form}
            errors={errors}
            metrics={shape.metrics}
            disabled={busy || running}
            onChange={change}
          />
          {families && (
            <label
              className="jp-Kale-tuningAutoML"
              title={`First run every family of ${families.parameter} once at the notebook's defaults, in parallel, then tune the best one's hyperparameters with the remaining trials.`}
            >
              <input
                type="checkbox"
                checked={automl}
                disabled={busy || running}
                aria-label="AutoML"
                onChange={ev => setAutoml(ev.target.checked)}
              />
              AutoML: try every {families.parameter} (
              {families.families.join(', ')}), then tune the best
            </label>
          )}
          <div className="jp-Kale-tuningActions">
            <button
              className="jp-mod-styled jp-mod-accept"
              data-testid="kale-tuning-start"
              disabled={!valid || busy || running}
              title={valid ? '' : 'Fix the fields marked above first.'}
              onClick={start}
            >
              Start tuning
            </button>
            {running && (
              <button
                className="jp-mod-styled jp-mod-warn"
                data-testid="kale-tuning-cancel"
                disabled={busy}
                onClick={cancel}
              >
                Cancel
              </button>
            )}
            {resumable && (
              <button
                className="jp-mod-styled"
                data-testid="kale-tuning-resume"
                disabled={busy}
                title="Continue this experiment under its id: its finished trials are told to a fresh optimizer."
                onClick={resume}
              >
                Resume
              </button>
            )}
          </div>
        </>
      )}
      {open && error && (
        <div className="jp-Kale-status jp-mod-error" role="alert">
          <p>Tuning: {error}</p>
          {problems.length > 0 && (
            <ul>
              {problems.map((p, i) => (
                <li key={i}>{p}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {open && experiment && (
        <ExperimentView experiment={experiment} onOpenRun={props.onOpenRun} />
      )}
    </section>
  );
}
