/**
 * The checks the Tuning form runs as the user types: Katib's webhook rules (ranges, lists, counts) and the local
 * engine's (a pipeline parameter and metric, bayesianoptimization's log-uniform doubles, grid's steps), each message
 * keyed by the field it is shown beside (see FormErrors). The server checks the same again when the experiment
 * starts (400 tune.invalid); these are there so the user sees them before. Pure.
 */
import {
  ALGORITHMS,
  FormErrors,
  IParameterForm,
  IPipelineShape,
  ITuningForm,
  paramKey,
  splitList
} from './tuning';

/** Every problem of the form, by field; empty when it can be written and started. */
export function checkForm(
  form: ITuningForm,
  pipeline: IPipelineShape
): FormErrors {
  const errors: FormErrors = {};
  const tuned = form.parameters.filter(p => p.tuned);
  if (tuned.length === 0) {
    errors.parameters =
      'Tune at least one parameter: tick it and give its range or values.';
  }
  for (const p of tuned) {
    checkParameter(p, form.algorithm, pipeline, errors);
  }
  checkObjective(form, pipeline, errors);
  if (!(ALGORITHMS as readonly string[]).includes(form.algorithm)) {
    errors.algorithm = `"${form.algorithm}" is not an algorithm the local engine runs; pick one of ${ALGORITHMS.join(', ')}.`;
  }
  checkCounts(form, errors);
  return errors;
}

function checkParameter(
  p: IParameterForm,
  algorithm: string,
  pipeline: IPipelineShape,
  errors: FormErrors
): void {
  const known = Object.keys(pipeline.parameters);
  if (!known.includes(p.name)) {
    errors[paramKey(p.name, 'tuned')] =
      `"${p.name}" is not a pipeline parameter of this notebook (it has ${known.join(', ') || 'none'}); untick it or add it to the pipeline-parameters cell.`;
  }
  if (p.type === 'double' || p.type === 'int') {
    checkRange(p, algorithm, errors);
    return;
  }
  const values = splitList(p.list);
  if (values.length === 0) {
    errors[paramKey(p.name, 'list')] =
      `A ${p.type} parameter needs at least one value: list them separated by commas.`;
  } else if (p.type === 'discrete') {
    const bad = values.find(v => !isNumber(v));
    if (bad !== undefined) {
      errors[paramKey(p.name, 'list')] =
        `"${bad}" is not a number: a discrete parameter lists numbers (use categorical for text).`;
    }
  }
}

function checkRange(
  p: IParameterForm,
  algorithm: string,
  errors: FormErrors
): void {
  const what = p.type === 'int' ? 'an integer' : 'a number';
  const ok = (v: string) => (p.type === 'int' ? isInteger(v) : isNumber(v));
  for (const field of ['min', 'max'] as const) {
    const v = p[field].trim();
    if (v === '') {
      errors[paramKey(p.name, field)] = `Give the ${field}imum (${what}).`;
    } else if (!ok(v)) {
      errors[paramKey(p.name, field)] = `"${v}" is not ${what}.`;
    }
  }
  const step = p.step.trim();
  if (step !== '' && (!ok(step) || Number(step) <= 0)) {
    errors[paramKey(p.name, 'step')] =
      `The step must be ${what} above 0, got "${step}".`;
  } else if (step === '' && p.type === 'double' && algorithm === 'grid') {
    errors[paramKey(p.name, 'step')] =
      'grid needs a step for a double parameter (the grid is min, min + step, …, max): give one.';
  }
  if (errors[paramKey(p.name, 'min')] || errors[paramKey(p.name, 'max')]) {
    return;
  }
  const min = Number(p.min);
  const max = Number(p.max);
  if (min > max) {
    errors[paramKey(p.name, 'max')] =
      `The max (${p.max.trim()}) is below the min (${p.min.trim()}): swap them.`;
  } else if (
    p.type === 'double' &&
    algorithm === 'bayesianoptimization' &&
    min <= 0
  ) {
    errors[paramKey(p.name, 'min')] =
      `bayesianoptimization samples a double log-uniformly (as Katib runs scikit-optimize), so its min must be above 0, got ${p.min.trim()}.`;
  }
}

function checkObjective(
  form: ITuningForm,
  pipeline: IPipelineShape,
  errors: FormErrors
): void {
  if (form.metric.trim() === '') {
    errors.metric =
      pipeline.metrics.length > 0
        ? 'Pick the metric to optimize.'
        : 'The pipeline has no metrics: print one in a pipeline-metrics cell first.';
  } else if (!pipeline.metrics.includes(form.metric)) {
    errors.metric = `"${form.metric}" is not a metric of this pipeline (it has ${pipeline.metrics.join(', ') || 'none'}).`;
  }
  const goal = form.goal.trim();
  if (goal !== '' && !isNumber(goal)) {
    errors.goal = `"${goal}" is not a number (leave it empty for no goal).`;
  }
}

function checkCounts(form: ITuningForm, errors: FormErrors): void {
  const parallel = count(
    form.parallel,
    1,
    'parallel trials',
    errors,
    'parallel'
  );
  const max = count(form.maxTrials, 1, 'max trials', errors, 'maxTrials');
  const failed = count(
    form.maxFailed,
    0,
    'max failed trials',
    errors,
    'maxFailed'
  );
  if (parallel !== null && max !== null && parallel > max) {
    errors.parallel = `Parallel trials (${parallel}) must not exceed max trials (${max}).`;
  }
  if (failed !== null && max !== null && failed > max) {
    errors.maxFailed = `Max failed trials (${failed}) must not exceed max trials (${max}).`;
  }
}

function count(
  value: string,
  least: number,
  label: string,
  errors: FormErrors,
  key: string
): number | null {
  const v = value.trim();
  if (!isInteger(v) || Number(v) < least) {
    errors[key] =
      `The ${label} must be a whole number of at least ${least}, got "${v}".`;
    return null;
  }
  return Number(v);
}

export function isNumber(v: string): boolean {
  return v.trim() !== '' && Number.isFinite(Number(v));
}

export function isInteger(v: string): boolean {
  return isNumber(v) && Number.isInteger(Number(v));
}
