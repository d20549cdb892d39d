/**
 * Models-panel helpers: the model server's request log lines, the traffic bar's segments, a model's totals, and the
 * curl command of a V1 predict request with a sample body built from the model's input tensors. Pure (no React, no
 * HTTP).
 */
import { IModelVersion, IServedModel, ITensorSpec } from '../api/types';

/** One line of the model server's requests.log: `TIME MODEL VERSION PROTOCOL METHOD PATH STATUS LATENCY_MS`. */
export interface IRequestLine {
  /** Unix seconds, or null when TIME is neither a number nor a date the browser parses. */
  time: number | null;
  timeText: string;
  model: string;
  version: string;
  protocol: string;
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  raw: string;
}

/** A request log line in its fields; null for a line that does not have the eight fields with numbers where due. */
export function parseRequestLine(line: string): IRequestLine | null {
  const fields = line.trim().split(/\s+/);
  if (fields.length !== 8) {
    return null;
  }
  const [timeText, model, version, protocol, method, path] = fields;
  const status = Number(fields[6]);
  const latencyMs = Number(fields[7]);
  if (!Number.isInteger(status) || !Number.isFinite(latencyMs)) {
    return null;
  }
  return {
    time: parseTime(timeText),
    timeText,
    model,
    version,
    protocol,
    method,
    path,
    status,
    latencyMs,
    raw: line
  };
}

function parseTime(text: string): number | null {
  if (/^\d+(\.\d+)?$/.test(text)) {
    return Number(text);
  }
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms / 1000;
}

/** The parsed lines of one model (the lines that do not parse are left out), newest last. */
export function requestLinesOf(
  lines: readonly string[],
  model: string
): IRequestLine[] {
  return lines
    .map(parseRequestLine)
    .filter((l): l is IRequestLine => l !== null && l.model === model);
}

/** A segment of the traffic bar: a version's share, and where it starts (percent of the bar's width). */
export interface ITrafficSegment {
  version: string;
  percent: number;
  offset: number;
}

/**
 * The traffic bar: versions in version order (numeric where they are numbers), versions without traffic left out,
 * negative shares as 0; a split that sums to more than 100 is scaled to fit the bar.
 */
export function trafficSegments(
  traffic: Readonly<Record<string, number>>
): ITrafficSegment[] {
  const entries = Object.entries(traffic)
    .map(([version, p]) => [version, Math.max(0, Number(p) || 0)] as const)
    .filter(([, p]) => p > 0)
    .sort(([a], [b]) => compareVersions(a, b));
  const total = entries.reduce((sum, [, p]) => sum + p, 0);
  const scale = total > 100 ? 100 / total : 1;
  let offset = 0;
  return entries.map(([version, p]) => {
    const segment = { version, percent: p * scale, offset };
    offset += segment.percent;
    return segment;
  });
}

export function compareVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) {
    return na - nb;
  }
  return a.localeCompare(b);
}

/** A model's figures over all its versions: requests, errors, rate summed; latencies of the busiest version. */
export function modelTotals(model: Pick<IServedModel, 'versions'>): {
  requests: number;
  errors: number;
  ratePerS: number;
  p50Ms: number | null;
  p99Ms: number | null;
} {
  let requests = 0;
  let errors = 0;
  let ratePerS = 0;
  let busiest: IModelVersion | null = null;
  for (const v of model.versions) {
    const n = v.metrics.requests ?? 0;
    requests += n;
    errors += v.metrics.errors ?? 0;
    ratePerS += v.metrics.rate_per_s ?? 0;
    if (n > 0 && (busiest === null || n > (busiest.metrics.requests ?? 0))) {
      busiest = v;
    }
  }
  return {
    requests,
    errors,
    ratePerS,
    p50Ms: busiest?.metrics.p50_ms ?? null,
    p99Ms: busiest?.metrics.p99_ms ?? null
  };
}

/** "0.42 ms", "3.1 ms", "120 ms", "1.25 s"; "–" before any request. */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) {
    return '–';
  }
  if (ms >= 1000) {
    return `${(ms / 1000).toFixed(2)} s`;
  }
  if (ms >= 100) {
    return `${Math.round(ms)} ms`;
  }
  return ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

/** "0 req/s", "0.5 req/s", "12 req/s", "1,234 req/s". */
export function formatRate(perSecond: number | null | undefined): string {
  const r = Number(perSecond) || 0;
  if (r === 0) {
    return '0 req/s';
  }
  const text =
    r < 10
      ? String(Math.round(r * 10) / 10)
      : Math.round(r).toLocaleString('en-US');
  return `${text} req/s`;
}

/** A sample value of a V2 datatype: 0 for numbers, false for BOOL, "" for BYTES. */
function sampleValue(datatype: string): number | boolean | string {
  if (datatype === 'BOOL') {
    return false;
  }
  return datatype === 'BYTES' ? '' : 0;
}

/** One instance (a row) of a tensor: the shape without its batch dimension, filled with sample values. */
function sampleInstance(shape: readonly number[], datatype: string): unknown {
  const [dim, ...rest] = shape;
  if (dim === undefined) {
    return sampleValue(datatype);
  }
  const n = dim > 0 ? dim : 1;
  return Array.from({ length: n }, () => sampleInstance(rest, datatype));
}

/**
 * A V1 predict body for a model with these input tensors: `{"instances": [row]}`, one row shaped as the first input
 * without its batch dimension; with a transformer and feature names, the row is a record of the named features (the
 * raw application input a `preprocess` function receives). Null when the inputs are unknown.
 */
export function samplePredictBody(
  inputs: readonly ITensorSpec[] | undefined,
  featureNames?: readonly string[] | null,
  transformer = false
): { instances: unknown[] } | null {
  if (transformer && featureNames && featureNames.length > 0) {
    const record: Record<string, number> = {};
    featureNames.forEach(n => (record[n] = 0));
    return { instances: [record] };
  }
  const first = inputs?.[0];
  if (!first) {
    return null;
  }
  return { instances: [sampleInstance(first.shape.slice(1), first.datatype)] };
}

/** The V1 predict URL of a model: `URL:predict` for a model URL (…/v1/models/NAME), else under a server URL. */
export function predictUrl(url: string, name: string): string {
  const base = url.replace(/\/+$/, '');
  if (/\/v1\/models\/[^/]+$/.test(base)) {
    return `${base}:predict`;
  }
  return `${base}/v1/models/${encodeURIComponent(name)}:predict`;
}

/** A string as one POSIX shell word (single quotes; a quote inside as '\'' ). */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** The curl command of a V1 predict request with a sample body; null when the model's inputs are unknown. */
export function curlCommand(
  model: Pick<IServedModel, 'name' | 'url'>,
  version:
    Pick<IModelVersion, 'inputs' | 'feature_names' | 'transformer'> | undefined
): string | null {
  const body = samplePredictBody(
    version?.inputs,
    version?.feature_names,
    version?.transformer ?? false
  );
  if (body === null) {
    return null;
  }
  return [
    'curl -s',
    '-H',
    shellQuote('Content-Type: application/json'),
    '-d',
    shellQuote(JSON.stringify(body)),
    shellQuote(predictUrl(model.url, model.name))
  ].join(' ');
}

/** The version that takes most of the traffic (the "current" one; the newest on a tie), if any. */
export function primaryVersion(
  model: Pick<IServedModel, 'versions'>
): IModelVersion | undefined {
  return [...model.versions].sort(
    (a, b) => b.traffic - a.traffic || compareVersions(b.version, a.version)
  )[0];
}

/** Whether a model is in a canary rollout (a new version beside the current one): promote and rollback apply. */
export function inCanary(model: Pick<IServedModel, 'versions'>): boolean {
  return model.versions.length > 1;
}

/** The default served name of a variable: lower case, `_` as `-`, other characters dropped (a DNS-1035 label). */
export function defaultModelName(variable: string): string {
  const name = variable
    .toLowerCase()
    .replace(/_/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return name || 'model';
}

/** A served model's name (kale_ext.api.models.MODEL_NAME_PATTERN). */
export const MODEL_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The form's checks before it posts: the name's form and the canary percent's range (blank: all traffic). */
export function checkServeInput(
  name: string,
  canary: string
): { ok: true; canary: number | null } | { ok: false; error: string } {
  if (!MODEL_NAME_RE.test(name)) {
    return {
      ok: false,
      error:
        'The name must be lower-case letters, digits and "-", starting and ending with a letter or digit (at most 63).'
    };
  }
  if (canary.trim() === '') {
    return { ok: true, canary: null };
  }
  const value = Number(canary);
  if (!Number.isInteger(value) || value < 0 || value > 100) {
    return {
      ok: false,
      error: 'The canary percent must be a whole number from 0 to 100.'
    };
  }
  return { ok: true, canary: value };
}
