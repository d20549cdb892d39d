import {
  formFromKatib,
  formToKatib,
  IPipelineShape,
  ITuningForm,
  paramKey,
  readAutoML,
  readKatib,
  syncParameters,
  typeForDefault,
  writeKatib
} from '../model/tuning';
import { checkForm } from '../model/tuning-checks';
import {
  bestSoFar,
  objectivePlot,
  parameterPlot,
  variedParameters
} from '../model/tuning-plots';

const PIPELINE: IPipelineShape = {
  parameters: { C: 1.0, GAMMA: 0.1, DEPTH: 3, FAMILY: 'svm' },
  metrics: ['accuracy', 'loss']
};

// A Kale 0.7 notebook's katib_metadata, as Kale's own UI writes it (feasibleSpace strings).
const KALE_KATIB = {
  parameters: [
    {
      name: 'C',
      parameterType: 'double',
      feasibleSpace: { min: '0.01', max: '10' }
    },
    {
      name: 'DEPTH',
      parameterType: 'int',
      feasibleSpace: { min: '1', max: '8', step: '1' }
    },
    {
      name: 'FAMILY',
      parameterType: 'categorical',
      feasibleSpace: { list: ['svm', 'rf'] }
    }
  ],
  objective: {
    type: 'maximize',
    objectiveMetricName: 'accuracy',
    goal: 0.99,
    additionalMetricNames: ['loss']
  },
  algorithm: {
    algorithmName: 'bayesianoptimization',
    algorithmSettings: [{ name: 'random_state', value: '7' }]
  },
  parallelTrialCount: 2,
  maxTrialCount: 16,
  maxFailedTrialCount: 3
};

function goodForm(): ITuningForm {
  return formFromKatib(KALE_KATIB, PIPELINE);
}

describe('tuning form <-> katib_metadata', () => {
  it('reads a Kale notebook and writes back the same experiment', () => {
    const form = goodForm();
    expect(form.parameters.map(p => [p.name, p.tuned, p.type])).toEqual([
      ['C', true, 'double'],
      ['GAMMA', false, 'double'],
      ['DEPTH', true, 'int'],
      ['FAMILY', true, 'categorical']
    ]);
    expect(form.parameters[3].list).toBe('svm, rf');
    expect(form.goal).toBe('0.99');
    const back = formToKatib(form);
    expect(back).toEqual(KALE_KATIB);
  });

  it('starts a notebook without an experiment with its parameters untuned and its first metric', () => {
    const form = formFromKatib(undefined, PIPELINE);
    expect(form.parameters.every(p => !p.tuned)).toBe(true);
    expect(form.metric).toBe('accuracy');
    expect([
      form.algorithm,
      form.parallel,
      form.maxTrials,
      form.maxFailed
    ]).toEqual(['random', '3', '12', '3']);
    expect(form.parameters.find(p => p.name === 'FAMILY')?.list).toBe('svm');
  });

  it('types parameters from their defaults', () => {
    expect([
      typeForDefault(3),
      typeForDefault(0.5),
      typeForDefault('x'),
      typeForDefault(true)
    ]).toEqual(['int', 'double', 'categorical', 'categorical']);
  });

  it('writes numbers trimmed and lists split, without an empty goal', () => {
    const form = goodForm();
    form.parameters[0].min = ' 0.5 ';
    form.parameters[3].list = 'svm,, rf , logreg';
    form.goal = '';
    const out = formToKatib(form) as any;
    expect(out.parameters[0].feasibleSpace).toEqual({ min: '0.5', max: '10' });
    expect(out.parameters[2].feasibleSpace).toEqual({
      list: ['svm', 'rf', 'logreg']
    });
    expect('goal' in out.objective).toBe(false);
  });
});

describe('tuning form checks', () => {
  it('accepts a valid experiment', () => {
    expect(checkForm(goodForm(), PIPELINE)).toEqual({});
  });

  it('names min > max beside the max', () => {
    const form = goodForm();
    form.parameters[2].min = '9';
    expect(checkForm(form, PIPELINE)).toEqual({
      [paramKey('DEPTH', 'max')]: 'The max (8) is below the min (9): swap them.'
    });
  });

  it('refuses a double min <= 0 under bayesianoptimization only', () => {
    const form = goodForm();
    form.parameters[0].min = '0';
    expect(Object.keys(checkForm(form, PIPELINE))).toEqual([
      paramKey('C', 'min')
    ]);
    expect(checkForm(form, PIPELINE)[paramKey('C', 'min')]).toMatch(
      /log-uniformly.*above 0/
    );
    form.algorithm = 'random';
    expect(checkForm(form, PIPELINE)).toEqual({});
  });

  it('asks grid for the step of a double', () => {
    const form = goodForm();
    form.algorithm = 'grid';
    expect(Object.keys(checkForm(form, PIPELINE))).toEqual([
      paramKey('C', 'step')
    ]);
    form.parameters[0].step = '0.5';
    expect(checkForm(form, PIPELINE)).toEqual({});
  });

  it('refuses non-numbers, non-integers and empty lists', () => {
    const form = goodForm();
    form.parameters[0].max = 'ten';
    form.parameters[2].min = '1.5';
    form.parameters[3].list = ' , ';
    form.goal = 'high';
    const errors = checkForm(form, PIPELINE);
    expect(errors[paramKey('C', 'max')]).toBe('"ten" is not a number.');
    expect(errors[paramKey('DEPTH', 'min')]).toBe('"1.5" is not an integer.');
    expect(errors[paramKey('FAMILY', 'list')]).toMatch(/at least one value/);
    expect(errors.goal).toMatch(/"high" is not a number/);
  });

  it('refuses a discrete list with text', () => {
    const form = goodForm();
    form.parameters[2].type = 'discrete';
    form.parameters[2].list = '1, 2, many';
    expect(checkForm(form, PIPELINE)[paramKey('DEPTH', 'list')]).toMatch(
      /"many" is not a number/
    );
  });

  it('refuses counts out of order and below their least', () => {
    const form = goodForm();
    form.parallel = '20';
    form.maxFailed = '17';
    expect(checkForm(form, PIPELINE)).toEqual({
      parallel: 'Parallel trials (20) must not exceed max trials (16).',
      maxFailed: 'Max failed trials (17) must not exceed max trials (16).'
    });
    form.parallel = '0';
    form.maxFailed = '-1';
    form.maxTrials = 'x';
    const errors = checkForm(form, PIPELINE);
    expect(Object.keys(errors).sort()).toEqual([
      'maxFailed',
      'maxTrials',
      'parallel'
    ]);
  });

  it('names an unknown metric, an unknown parameter and an empty search space', () => {
    const form = formFromKatib(
      {
        ...KALE_KATIB,
        parameters: [
          {
            name: 'LR',
            parameterType: 'double',
            feasibleSpace: { min: '0.1', max: '1' }
          }
        ]
      },
      PIPELINE
    );
    form.metric = 'f1';
    const errors = checkForm(form, PIPELINE);
    expect(errors[paramKey('LR', 'tuned')]).toMatch(
      /"LR" is not a pipeline parameter.*C, GAMMA, DEPTH, FAMILY/
    );
    expect(errors.metric).toBe(
      '"f1" is not a metric of this pipeline (it has accuracy, loss).'
    );
    const empty = formFromKatib(undefined, PIPELINE);
    expect(checkForm(empty, PIPELINE).parameters).toMatch(
      /Tune at least one parameter/
    );
  });
});

describe('tuning plots', () => {
  const trials = [
    {
      trial: 1,
      status: 'succeeded',
      parameters: { C: 1, K: 'a' },
      objective: 0.5
    },
    {
      trial: 3,
      status: 'succeeded',
      parameters: { C: 4, K: 'b' },
      objective: 0.4
    },
    {
      trial: 2,
      status: 'succeeded',
      parameters: { C: 2, K: 'a' },
      objective: 0.9
    },
    {
      trial: 4,
      status: 'failed',
      parameters: { C: 8, K: 'c' },
      objective: null
    },
    {
      trial: 5,
      status: 'running',
      parameters: { C: 3, K: 'c' },
      objective: null
    }
  ];
  const box = { width: 200, height: 100, pad: 20 };

  it('keeps the best so far in trial order', () => {
    expect(bestSoFar(trials, 'maximize')).toEqual([
      { trial: 1, value: 0.5 },
      { trial: 2, value: 0.9 },
      { trial: 3, value: 0.9 }
    ]);
    expect(bestSoFar(trials, 'minimize').map(b => b.value)).toEqual([
      0.5, 0.5, 0.4
    ]);
  });

  it('plots scored trials only, the best one marked, higher objectives higher up', () => {
    const plot = objectivePlot(trials, 'maximize', 2, box)!;
    expect(plot.dots.map(d => d.trial)).toEqual([1, 2, 3]);
    expect(plot.dots.filter(d => d.best).map(d => d.trial)).toEqual([2]);
    const [d1, d2, d3] = plot.dots;
    expect(d2.y).toBeLessThan(d1.y);
    expect(d1.y).toBeLessThan(d3.y);
    expect(d1.x).toBe(box.pad);
    expect(plot.labels).toEqual({
      xMin: '#1',
      xMax: '#3',
      yMin: '0.4',
      yMax: '0.9'
    });
    expect(plot.line.split(' ')).toHaveLength(5); // 3 points + one step corner per later trial
    expect(objectivePlot(trials.slice(3), 'maximize', null, box)).toBeNull();
  });

  it('plots the parameters the scored trials varied', () => {
    expect(variedParameters(trials)).toEqual(['C', 'K']);
    const automl = [
      {
        trial: 1,
        status: 'succeeded',
        parameters: { family: 'svm', C: 1 },
        objective: 0.9
      },
      {
        trial: 2,
        status: 'succeeded',
        parameters: { family: 'rf', depth: 3 },
        objective: 0.8
      },
      {
        trial: 3,
        status: 'succeeded',
        parameters: { family: 'svm', C: 4 },
        objective: 0.7
      },
      {
        trial: 4,
        status: 'failed',
        parameters: { family: 'rf', depth: 5 },
        objective: null
      }
    ];
    expect(variedParameters(automl)).toEqual(['family', 'C']);
  });

  it('plots numbers on a linear axis and categories evenly spaced', () => {
    const numeric = parameterPlot(trials, 'C', 2, box)!;
    const xs = numeric.dots.map(d => d.x);
    expect(xs[0]).toBe(box.pad);
    expect(xs[2]).toBe(box.width - box.pad / 2);
    expect(xs[1] - xs[0]).toBeCloseTo((xs[2] - xs[0]) / 3);
    const cats = parameterPlot(trials, 'K', 2, box)!;
    expect(cats.categories).toEqual(['a', 'b']);
    expect(cats.dots[0].x).toBe(cats.dots[1].x); // trials 1 and 2 both chose "a"
    expect(cats.labels.xMin).toBe('a');
    expect(cats.categoryX).toEqual([cats.dots[0].x, cats.dots[2].x]); // trial 3 chose "b"
    expect(numeric.categoryX).toEqual([]);
  });
});

describe('tuning metadata', () => {
  function fakeModel(initial: Record<string, unknown>) {
    const meta: Record<string, unknown> = { ...initial };
    let writes = 0;
    return {
      meta,
      writes: () => writes,
      getMetadata: (key: string) => meta[key],
      setMetadata: (key: string, value: unknown) => {
        writes++;
        meta[key] = value;
      }
    };
  }

  it("writes katib_metadata keeping Kale's other settings, once", () => {
    const model = fakeModel({
      kubeflow_notebook: { experiment_name: 'e', katib_run: true }
    });
    expect(readKatib(model)).toBeUndefined();
    const katib = formToKatib(goodForm());
    expect(writeKatib(model, katib)).toBe(true);
    expect(writeKatib(model, JSON.parse(JSON.stringify(katib)))).toBe(false);
    expect(model.writes()).toBe(1);
    expect(model.meta.kubeflow_notebook).toEqual({
      experiment_name: 'e',
      katib_run: true,
      katib_metadata: katib
    });
    expect(formFromKatib(readKatib(model), PIPELINE)).toEqual(goodForm());
  });

  it("follows the pipeline's parameters", () => {
    const form = goodForm();
    const next = syncParameters(form, {
      parameters: { C: 1.0, SEED: 4 },
      metrics: []
    });
    expect(next.parameters.map(p => [p.name, p.tuned])).toEqual([
      ['C', true],
      ['DEPTH', true],
      ['FAMILY', true],
      ['SEED', false]
    ]);
    expect(
      syncParameters(next, { parameters: { C: 1.0, SEED: 4 }, metrics: [] })
    ).toBe(next);
  });
});

describe('tuning AutoML', () => {
  it("reads the model families of the notebook's kale_ext metadata", () => {
    const meta: Record<string, unknown> = {
      kale_ext: {
        version: 1,
        automl: { parameter: 'model_family', families: { svm: [], rf: [] } }
      }
    };
    const model = {
      getMetadata: (k: string) => meta[k],
      setMetadata: (k: string, v: unknown) => {
        meta[k] = v;
      }
    };
    expect(readAutoML(model)).toEqual({
      parameter: 'model_family',
      families: ['svm', 'rf']
    });
    meta.kale_ext = { version: 1, pipeline_mode: true };
    expect(readAutoML(model)).toBeNull();
    meta.kale_ext = { automl: { parameter: 'model_family', families: {} } };
    expect(readAutoML(model)).toBeNull();
  });
});
