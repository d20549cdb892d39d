import { IModelVersion } from '../api/types';
import {
  checkServeInput,
  curlCommand,
  defaultModelName,
  formatLatency,
  formatRate,
  inCanary,
  modelTotals,
  parseRequestLine,
  predictUrl,
  primaryVersion,
  requestLinesOf,
  samplePredictBody,
  shellQuote,
  trafficSegments
} from '../model/models';

function version(
  v: string,
  traffic: number,
  metrics: IModelVersion['metrics'] = {},
  extra: Partial<IModelVersion> = {}
): IModelVersion {
  return {
    version: v,
    traffic,
    kind: 'sklearn',
    run_id: 'r1',
    step: 'train',
    variable: 'model',
    hash: 'sha256:x',
    model_dir: '/m',
    created: 1,
    metrics,
    ...extra
  };
}

describe('request log lines', () => {
  it('parses the eight fields, with Unix or ISO times', () => {
    const line =
      '1764627000.250 wine 2 v1 POST /v1/models/wine:predict 200 1.75';
    expect(parseRequestLine(line)).toEqual({
      time: 1764627000.25,
      timeText: '1764627000.250',
      model: 'wine',
      version: '2',
      protocol: 'v1',
      method: 'POST',
      path: '/v1/models/wine:predict',
      status: 200,
      latencyMs: 1.75,
      raw: line
    });
    const iso = parseRequestLine(
      '2026-12-01T22:30:00Z wine 1 v2 POST /v2/models/wine/infer 422 0.5'
    );
    expect(iso?.time).toBe(Date.UTC(2026, 11, 1, 22, 30) / 1000);
    expect(iso?.status).toBe(422);
    expect(parseRequestLine('garbage wine 2 v1 GET / 200 1')?.time).toBeNull();
  });

  it('refuses lines without the fields or with text where numbers are due', () => {
    expect(parseRequestLine('')).toBeNull();
    expect(parseRequestLine('1 wine 1 v1 POST /p 200')).toBeNull();
    expect(parseRequestLine('1 wine 1 v1 POST /p ok 1.0')).toBeNull();
    expect(parseRequestLine('1 wine 1 v1 POST /p 200 fast')).toBeNull();
    expect(parseRequestLine('1 wine 1 v1 POST /p 200 1 extra')).toBeNull();
  });

  it('keeps the lines of one model', () => {
    const lines = [
      '1 wine 1 v1 POST /a 200 1',
      '2 iris 1 v1 POST /b 200 1',
      'broken',
      '3 wine 2 v2 POST /c 500 9'
    ];
    expect(requestLinesOf(lines, 'wine').map(l => l.path)).toEqual([
      '/a',
      '/c'
    ]);
  });
});

describe('traffic bar', () => {
  it('orders versions numerically and places each segment after the previous', () => {
    expect(trafficSegments({ '10': 10, '9': 90 })).toEqual([
      { version: '9', percent: 90, offset: 0 },
      { version: '10', percent: 10, offset: 90 }
    ]);
  });

  it('leaves out versions without traffic and scales an over-full split', () => {
    expect(trafficSegments({ '1': 100, '2': 0 })).toEqual([
      { version: '1', percent: 100, offset: 0 }
    ]);
    expect(trafficSegments({ '1': 150, '2': 50, '3': -5 })).toEqual([
      { version: '1', percent: 75, offset: 0 },
      { version: '2', percent: 25, offset: 75 }
    ]);
    expect(trafficSegments({})).toEqual([]);
  });
});

describe('totals and formatting', () => {
  it('sums counts and rates and takes the latencies of the busiest version', () => {
    const totals = modelTotals({
      versions: [
        version('1', 90, {
          requests: 900,
          errors: 3,
          rate_per_s: 9,
          p50_ms: 1.5,
          p99_ms: 4
        }),
        version('2', 10, {
          requests: 100,
          errors: 1,
          rate_per_s: 1,
          p50_ms: 2,
          p99_ms: 8
        })
      ]
    });
    expect(totals).toEqual({
      requests: 1000,
      errors: 4,
      ratePerS: 10,
      p50Ms: 1.5,
      p99Ms: 4
    });
    expect(modelTotals({ versions: [version('1', 100)] }).p50Ms).toBeNull();
  });

  it('formats latencies and rates', () => {
    expect(formatLatency(null)).toBe('–');
    expect(formatLatency(0.4234)).toBe('0.42 ms');
    expect(formatLatency(12.34)).toBe('12.3 ms');
    expect(formatLatency(250.4)).toBe('250 ms');
    expect(formatLatency(1250)).toBe('1.25 s');
    expect(formatRate(0)).toBe('0 req/s');
    expect(formatRate(0.54)).toBe('0.5 req/s');
    expect(formatRate(1234.4)).toBe('1,234 req/s');
  });

  it('knows the current version and whether a canary is in progress', () => {
    const canary = {
      versions: [version('1', 90), version('2', 10)],
      traffic: { '1': 90, '2': 10 }
    };
    expect(primaryVersion(canary)?.version).toBe('1');
    expect(inCanary(canary)).toBe(true);
    expect(inCanary({ versions: [version('2', 100)] })).toBe(false);
    expect(
      primaryVersion({ versions: [version('1', 50), version('2', 50)] })
        ?.version
    ).toBe('2');
  });
});

describe('curl command', () => {
  const inputs = [{ name: 'input-0', datatype: 'FP64', shape: [-1, 3] }];

  it('builds a V1 predict body shaped as the first input without its batch dimension', () => {
    expect(samplePredictBody(inputs)).toEqual({ instances: [[0, 0, 0]] });
    expect(
      samplePredictBody([{ name: 'x', datatype: 'BOOL', shape: [-1, 2, 2] }])
    ).toEqual({
      instances: [
        [
          [false, false],
          [false, false]
        ]
      ]
    });
    expect(
      samplePredictBody([{ name: 'x', datatype: 'BYTES', shape: [-1] }])
    ).toEqual({ instances: [''] });
    expect(
      samplePredictBody([{ name: 'x', datatype: 'INT64', shape: [-1, -1] }])
    ).toEqual({ instances: [[0]] });
    expect(samplePredictBody([])).toBeNull();
    expect(samplePredictBody(undefined)).toBeNull();
  });

  it('sends named features to a model with a transformer', () => {
    expect(samplePredictBody(inputs, ['alcohol', 'ash'], true)).toEqual({
      instances: [{ alcohol: 0, ash: 0 }]
    });
    expect(samplePredictBody(inputs, ['alcohol', 'ash'], false)).toEqual({
      instances: [[0, 0, 0]]
    });
  });

  it('posts to the model URL with :predict, or under a server URL', () => {
    expect(predictUrl('http://127.0.0.1:8080/v1/models/wine', 'wine')).toBe(
      'http://127.0.0.1:8080/v1/models/wine:predict'
    );
    expect(predictUrl('http://127.0.0.1:8080/', 'wine')).toBe(
      'http://127.0.0.1:8080/v1/models/wine:predict'
    );
  });

  it('quotes every argument for a POSIX shell', () => {
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    const cmd = curlCommand(
      { name: 'wine', url: 'http://127.0.0.1:8080/v1/models/wine' },
      { inputs, feature_names: ["o'clock"], transformer: true }
    );
    expect(cmd).toBe(
      "curl -s -H 'Content-Type: application/json' -d " +
        `'{"instances":[{"o'\\''clock":0}]}' ` +
        "'http://127.0.0.1:8080/v1/models/wine:predict'"
    );
    expect(
      curlCommand({ name: 'wine', url: 'http://h:1' }, { inputs: [] })
    ).toBeNull();
  });
});

describe('serve form', () => {
  it('suggests a name a model server accepts from the variable', () => {
    expect(defaultModelName('best_Model')).toBe('best-model');
    expect(defaultModelName('_lr_')).toBe('lr');
    expect(defaultModelName('ñ')).toBe('model');
    expect(defaultModelName('x'.repeat(80))).toHaveLength(63);
  });

  it('checks the name and the canary percent before posting', () => {
    expect(checkServeInput('wine', '')).toEqual({ ok: true, canary: null });
    expect(checkServeInput('wine', ' 10 ')).toEqual({ ok: true, canary: 10 });
    expect(checkServeInput('Wine', '').ok).toBe(false);
    expect(checkServeInput('wine-', '').ok).toBe(false);
    expect(checkServeInput('wine', '101').ok).toBe(false);
    expect(checkServeInput('wine', '2.5').ok).toBe(false);
    expect(checkServeInput('wine', 'ten').ok).toBe(false);
  });
});
