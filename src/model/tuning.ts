/**
 * The Tuning view's form, as a pure model: the search space over the pipeline's parameters, the objective over its
 * metrics, the algorithm and the trial counts, with every field kept as the text the user typed. It is read from and
 * written to Kale's own notebook format (`metadata.kubeflow_notebook.katib_metadata`: Katib-shaped, feasibleSpace
 * values as strings), so Kale 0.7 notebooks show their experiment, and checked as the user types with Katib's
 * webhook rules and the local engine's (one message per field). No React, no JupyterLab here.
 */

export type ParameterType = 'double' | 'int' | 'discrete' | 'categorical';
export type ObjectiveType = 'minimize' | 'maximize';

export const PARAMETER_TYPES: readonly ParameterType[] = [
  'double',
  'int',
  'discrete',
  'categorical'
];
/** The algorithms the local engine runs (kale_ext.tuning.algorithms.LOCAL_ALGORITHMS), by Katib's names. */
export const ALGORITHMS = [
  'random',
  'grid',
  'bayesianoptimization',
  'tpe'
] as const;

/** Kale's notebook metadata key and the experiment inside it. */
export const KALE_METADATA_KEY = 'kubeflow_notebook';
export const KATIB_KEY = 'katib_metadata';

export interface IParameterForm {
  name: string;
  tuned: boolean;
  type: ParameterType;
  min: string;
  max: string;
  step: string;
  /** discrete / categorical: the values, comma-separated. */
  list: string;
}

export interface ITuningForm {
  parameters: IParameterForm[];
  metric: string;
  objectiveType: ObjectiveType;
  goal: string;
  /** additionalMetricNames as read, kept (the form does not edit them). */
  additional: string[];
  algorithm: string;
  /** algorithmSettings as read, kept as they were (the form does not edit them). */
  settings: Array<{ name: string; value: string }>;
  parallel: string;
  maxTrials: string;
  maxFailed: string;
}

/** What the form is checked against: the pipeline's parameters (with defaults) and metrics, from the analysis. */
export interface IPipelineShape {
  parameters: Record<string, unknown>;
  metrics: string[];
}

/** Field key -> the message shown beside that field. Keys: `param:NAME:min|max|step|list`, `metric`, `goal`,
 * `parallel`, `maxTrials`, `maxFailed`, `parameters`. */
export type FormErrors = Record<string, string>;

export function paramKey(name: string, field: string): string {
  return `param:${name}:${field}`;
}

/** The type a parameter's default suggests: an integer -> int, another number -> double, anything else categorical. */
export function typeForDefault(value: unknown): ParameterType {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? 'int' : 'double';
  }
  return 'categorical';
}

function blankParameter(name: string, def: unknown): IParameterForm {
  const type = typeForDefault(def);
  return {
    name,
    tuned: false,
    type,
    min: '',
    max: '',
    step: '',
    list: type === 'categorical' && def !== undefined ? String(def) : ''
  };
}

/**
 * The form for a pipeline, filled from the notebook's `katib_metadata` when it has one. Parameters of the
 * experiment that the pipeline does not have are kept (tuned), so the checks can name them.
 */
export function formFromKatib(
  katib: unknown,
  pipeline: IPipelineShape
): ITuningForm {
  const k = isObject(katib) ? katib : {};
  const objective = isObject(k.objective) ? k.objective : {};
  const algorithm = isObject(k.algorithm) ? k.algorithm : {};
  const byName = new Map<string, IParameterForm>();
  for (const [name, def] of Object.entries(pipeline.parameters)) {
    byName.set(name, blankParameter(name, def));
  }
  for (const p of Array.isArray(k.parameters) ? k.parameters : []) {
    if (!isObject(p) || typeof p.name !== 'string') {
      continue;
    }
    const space = isObject(p.feasibleSpace) ? p.feasibleSpace : {};
    const type = PARAMETER_TYPES.includes(p.parameterType as ParameterType)
      ? (p.parameterType as ParameterType)
      : typeForDefault(pipeline.parameters[p.name]);
    byName.set(p.name, {
      name: p.name,
      tuned: true,
      type,
      min: text(space.min),
      max: text(space.max),
      step: text(space.step),
      list: Array.isArray(space.list) ? space.list.map(String).join(', ') : ''
    });
  }
  const metric =
    typeof objective.objectiveMetricName === 'string'
      ? objective.objectiveMetricName
      : '';
  return {
    parameters: [...byName.values()],
    metric: metric || (pipeline.metrics[0] ?? ''),
    objectiveType: objective.type === 'maximize' ? 'maximize' : 'minimize',
    goal: text(objective.goal),
    additional: Array.isArray(objective.additionalMetricNames)
      ? objective.additionalMetricNames.map(String)
      : [],
    algorithm:
      typeof algorithm.algorithmName === 'string'
        ? algorithm.algorithmName
        : 'random',
    settings: Array.isArray(algorithm.algorithmSettings)
      ? algorithm.algorithmSettings
          .filter(isObject)
          .map(s => ({ name: String(s.name), value: String(s.value) }))
      : [],
    parallel: text(k.parallelTrialCount ?? 3),
    maxTrials: text(k.maxTrialCount ?? 12),
    maxFailed: text(k.maxFailedTrialCount ?? 3)
  };
}

/** The form as Kale's `katib_metadata`: the tuned parameters with feasibleSpace strings, the objective, algorithm
 * and counts. Call it on a form without errors (numbers are written as typed, trimmed). */
export function formToKatib(form: ITuningForm): Record<string, unknown> {
  const objective: Record<string, unknown> = {
    type: form.objectiveType,
    objectiveMetricName: form.metric
  };
  if (form.goal.trim() !== '') {
    objective.goal = Number(form.goal);
  }
  if (form.additional.length > 0) {
    objective.additionalMetricNames = form.additional;
  }
  const algorithm: Record<string, unknown> = { algorithmName: form.algorithm };
  if (form.settings.length > 0) {
    algorithm.algorithmSettings = form.settings;
  }
  return {
    parameters: form.parameters.filter(p => p.tuned).map(parameterToKatib),
    objective,
    algorithm,
    parallelTrialCount: Number(form.parallel),
    maxTrialCount: Number(form.maxTrials),
    maxFailedTrialCount: Number(form.maxFailed)
  };
}

function parameterToKatib(p: IParameterForm): Record<string, unknown> {
  const space: Record<string, unknown> = {};
  if (p.type === 'double' || p.type === 'int') {
    space.min = p.min.trim();
    space.max = p.max.trim();
    if (p.step.trim() !== '') {
      space.step = p.step.trim();
    }
  } else {
    space.list = splitList(p.list);
  }
  return { name: p.name, parameterType: p.type, feasibleSpace: space };
}

export function splitList(list: string): string[] {
  return list
    .split(',')
    .map(v => v.trim())
    .filter(v => v !== '');
}

function text(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The part of JupyterLab's notebook model the Tuning view reads and writes (INotebookModel has it). */
export interface IMetadataModel {
  getMetadata(key: string): unknown;
  setMetadata(key: string, value: unknown): void;
}

/** The notebook's `kubeflow_notebook.katib_metadata`, or undefined. */
export function readKatib(model: IMetadataModel): unknown {
  const kale = model.getMetadata(KALE_METADATA_KEY);
  return isObject(kale) ? kale[KATIB_KEY] : undefined;
}

/**
 * Write the experiment into `kubeflow_notebook.katib_metadata` through the notebook model (saved with the notebook;
 * JupyterLab's undo covers cells, not notebook metadata), keeping Kale's other settings; nothing is written when it
 * is already there as it is.
 */
export function writeKatib(
  model: IMetadataModel,
  katib: Record<string, unknown>
): boolean {
  const kale = model.getMetadata(KALE_METADATA_KEY);
  const base = isObject(kale) ? kale : {};
  if (JSON.stringify(base[KATIB_KEY]) === JSON.stringify(katib)) {
    return false;
  }
  model.setMetadata(KALE_METADATA_KEY, { ...base, [KATIB_KEY]: katib });
  return true;
}

/** Bring a form up to date with the pipeline's parameters: new ones are added untuned, untuned ones the pipeline no
 * longer has are dropped (tuned ones stay, so the checks name them). */
export function syncParameters(
  form: ITuningForm,
  pipeline: IPipelineShape
): ITuningForm {
  const have = new Set(form.parameters.map(p => p.name));
  const kept = form.parameters.filter(
    p => p.tuned || p.name in pipeline.parameters
  );
  const added = Object.entries(pipeline.parameters)
    .filter(([name]) => !have.has(name))
    .map(([name, def]) => blankParameter(name, def));
  if (added.length === 0 && kept.length === form.parameters.length) {
    return form;
  }
  return { ...form, parameters: [...kept, ...added] };
}

/** AutoML's model families from the notebook's own `kale_ext.automl` ({"parameter", "families": {name: [...]}}), or
 * null when it defines none: the view then offers no AutoML. */
export function readAutoML(
  model: IMetadataModel
): { parameter: string; families: string[] } | null {
  const own = model.getMetadata('kale_ext');
  const automl = isObject(own) ? own.automl : undefined;
  if (!isObject(automl) || typeof automl.parameter !== 'string') {
    return null;
  }
  const families = isObject(automl.families)
    ? Object.keys(automl.families)
    : [];
  return families.length > 0 ? { parameter: automl.parameter, families } : null;
}
