/**
 * The Tuning view's form: per pipeline parameter whether it is tuned, its type and its range or list; the objective
 * (a pipeline metric, minimize or maximize, a goal); the algorithm; parallel, max and max failed trials. Controlled:
 * the form and its errors (src/model/tuning-checks.ts) come from the parent, each message beside its field.
 */
import React from 'react';

import {
  ALGORITHMS,
  FormErrors,
  IParameterForm,
  ITuningForm,
  PARAMETER_TYPES,
  ParameterType,
  paramKey
} from '../model/tuning';

export function TuningForm(props: {
  form: ITuningForm;
  errors: FormErrors;
  metrics: string[];
  disabled: boolean;
  onChange: (form: ITuningForm) => void;
}): JSX.Element {
  const { form, errors, disabled } = props;
  const set = (patch: Partial<ITuningForm>) =>
    props.onChange({ ...form, ...patch });
  const setParam = (i: number, patch: Partial<IParameterForm>) =>
    set({
      parameters: form.parameters.map((p, j) =>
        j === i ? { ...p, ...patch } : p
      )
    });
  return (
    <fieldset
      className="jp-Kale-tuningForm"
      data-testid="kale-tuning-form"
      disabled={disabled}
    >
      <legend>Search space</legend>
      {form.parameters.length === 0 && (
        <p className="jp-Kale-hint">
          The pipeline has no parameters: tag a cell pipeline-parameters first.
        </p>
      )}
      {form.parameters.map((p, i) => (
        <ParameterRow
          key={p.name}
          param={p}
          errors={errors}
          onChange={patch => setParam(i, patch)}
        />
      ))}
      <FieldError message={errors.parameters} />
      <div className="jp-Kale-tuningRow">
        <Field label="Objective" error={errors.metric}>
          <Choice
            label="Objective metric"
            value={form.metric}
            options={props.metrics}
            empty="(none)"
            onChange={metric => set({ metric })}
          />
        </Field>
      </div>
      <div className="jp-Kale-tuningRow">
        <Field label="Direction">
          <select
            className="jp-mod-styled"
            aria-label="Objective direction"
            value={form.objectiveType}
            onChange={ev =>
              set({
                objectiveType: ev.target.value as ITuningForm['objectiveType']
              })
            }
          >
            <option value="minimize">minimize</option>
            <option value="maximize">maximize</option>
          </select>
        </Field>
        <TextField
          label="Goal"
          value={form.goal}
          error={errors.goal}
          placeholder="none"
          onChange={goal => set({ goal })}
        />
      </div>
      <div className="jp-Kale-tuningRow">
        <Field label="Algorithm" error={errors.algorithm}>
          <Choice
            label="Algorithm"
            value={form.algorithm}
            options={ALGORITHMS}
            onChange={algorithm => set({ algorithm })}
          />
        </Field>
      </div>
      <div className="jp-Kale-tuningRow">
        <TextField
          label="Parallel"
          value={form.parallel}
          error={errors.parallel}
          onChange={parallel => set({ parallel })}
        />
        <TextField
          label="Max trials"
          value={form.maxTrials}
          error={errors.maxTrials}
          onChange={maxTrials => set({ maxTrials })}
        />
        <TextField
          label="Max failed"
          value={form.maxFailed}
          error={errors.maxFailed}
          onChange={maxFailed => set({ maxFailed })}
        />
      </div>
    </fieldset>
  );
}

function ParameterRow(props: {
  param: IParameterForm;
  errors: FormErrors;
  onChange: (patch: Partial<IParameterForm>) => void;
}): JSX.Element {
  const { param: p, errors } = props;
  const err = (field: string) => errors[paramKey(p.name, field)];
  const ranged = p.type === 'double' || p.type === 'int';
  return (
    <div
      className={'jp-Kale-tuningParam' + (p.tuned ? ' jp-mod-tuned' : '')}
      data-testid="kale-tuning-param"
      data-name={p.name}
    >
      <div className="jp-Kale-tuningParamHead">
        <label className="jp-Kale-tuningTune">
          <input
            type="checkbox"
            checked={p.tuned}
            aria-label={`Tune ${p.name}`}
            onChange={ev => props.onChange({ tuned: ev.target.checked })}
          />
          <code>{p.name}</code>
        </label>
        {p.tuned && (
          <select
            className="jp-mod-styled"
            aria-label={`Type of ${p.name}`}
            value={p.type}
            onChange={ev =>
              props.onChange({ type: ev.target.value as ParameterType })
            }
          >
            {PARAMETER_TYPES.map(t => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        )}
      </div>
      <FieldError message={err('tuned')} />
      {p.tuned && ranged && (
        <div className="jp-Kale-tuningRow">
          {(['min', 'max', 'step'] as const).map(field => (
            <TextField
              key={field}
              label={field}
              ariaLabel={`${field} of ${p.name}`}
              value={p[field]}
              error={err(field)}
              placeholder={field === 'step' ? 'none' : ''}
              onChange={value => props.onChange({ [field]: value })}
            />
          ))}
        </div>
      )}
      {p.tuned && !ranged && (
        <TextField
          label="values"
          ariaLabel={`values of ${p.name}`}
          value={p.list}
          error={err('list')}
          placeholder="a, b, c"
          onChange={list => props.onChange({ list })}
        />
      )}
    </div>
  );
}

/** A select of `options` that keeps a current value outside them (a notebook's own) as its first option. */
function Choice(props: {
  label: string;
  value: string;
  options: readonly string[];
  empty?: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <select
      className="jp-mod-styled"
      aria-label={props.label}
      value={props.value}
      onChange={ev => props.onChange(ev.target.value)}
    >
      {!props.options.includes(props.value) && (
        <option value={props.value}>{props.value || props.empty}</option>
      )}
      {props.options.map(o => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </select>
  );
}

function Field(props: {
  label: string;
  error?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <label className="jp-Kale-tuningField">
      <span>{props.label}</span>
      {props.children}
      <FieldError message={props.error} />
    </label>
  );
}

function TextField(props: {
  label: string;
  ariaLabel?: string;
  value: string;
  error?: string;
  placeholder?: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <Field label={props.label} error={props.error}>
      <input
        className="jp-mod-styled"
        aria-label={props.ariaLabel ?? props.label}
        aria-invalid={props.error ? true : undefined}
        value={props.value}
        placeholder={props.placeholder}
        onChange={ev => props.onChange(ev.target.value)}
      />
    </Field>
  );
}

function FieldError(props: { message?: string }): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <span className="jp-Kale-fieldError" role="alert">
      {props.message}
    </span>
  );
}
