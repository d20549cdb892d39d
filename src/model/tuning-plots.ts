/**
 * Geometry of the Tuning view's plots, pure: the trials' objective values in trial order with the best-so-far line,
 * and the objective against each tuned parameter (numbers on a linear axis, categories evenly spaced). Coordinates are
 * SVG user units; the view only draws what these answer.
 */

export interface ITrialPoint {
  trial: number;
  status: string;
  parameters: Record<string, unknown>;
  objective: number | null;
}

export interface IPlotBox {
  width: number;
  height: number;
  /** Space left around the plot area for labels. */
  pad: number;
}

export interface IDot {
  x: number;
  y: number;
  trial: number;
  value: number;
  best: boolean;
}

export interface IAxisLabels {
  xMin: string;
  xMax: string;
  yMin: string;
  yMax: string;
}

/** Succeeded trials with an objective, in trial order. */
export function scored(
  trials: readonly ITrialPoint[]
): Array<ITrialPoint & { objective: number }> {
  return trials
    .filter(
      (t): t is ITrialPoint & { objective: number } =>
        t.status === 'succeeded' &&
        typeof t.objective === 'number' &&
        Number.isFinite(t.objective)
    )
    .sort((a, b) => a.trial - b.trial);
}

/** The running best objective after each scored trial (lowest for minimize, highest for maximize). */
export function bestSoFar(
  trials: readonly ITrialPoint[],
  type: string
): Array<{ trial: number; value: number }> {
  const out: Array<{ trial: number; value: number }> = [];
  let best: number | null = null;
  for (const t of scored(trials)) {
    if (
      best === null ||
      (type === 'maximize' ? t.objective > best : t.objective < best)
    ) {
      best = t.objective;
    }
    out.push({ trial: t.trial, value: best });
  }
  return out;
}

/** A linear map of [d0, d1] onto [r0, r1]; a domain of one value maps to the middle of the range. */
export function linear(
  d0: number,
  d1: number,
  r0: number,
  r1: number
): (v: number) => number {
  if (d1 === d0) {
    return () => (r0 + r1) / 2;
  }
  return v => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);
}

function extent(values: number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

/** "0.93", "5.999", "1.2e-4": four significant digits at most, short enough for an axis end. */
export function formatValue(v: number): string {
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6)) {
    return v.toExponential(1);
  }
  return String(Number(v.toPrecision(4)));
}

/** The objective per trial: a dot per scored trial, the best-so-far polyline, and the axes' end labels. */
export function objectivePlot(
  trials: readonly ITrialPoint[],
  type: string,
  bestTrial: number | null,
  box: IPlotBox
): { dots: IDot[]; line: string; labels: IAxisLabels } | null {
  const points = scored(trials);
  if (points.length === 0) {
    return null;
  }
  const [x0, x1] = extent(points.map(p => p.trial));
  const [y0, y1] = extent(points.map(p => p.objective));
  const x = linear(x0, x1, box.pad, box.width - box.pad / 2);
  const y = linear(y0, y1, box.height - box.pad, box.pad / 2);
  const dots = points.map(p => ({
    x: x(p.trial),
    y: y(p.objective),
    trial: p.trial,
    value: p.objective,
    best: p.trial === bestTrial
  }));
  const line = bestSoFar(points, type)
    .map((b, i, all) => {
      // A step line: the best holds until a trial improves on it.
      const here = `${x(b.trial).toFixed(1)},${y(b.value).toFixed(1)}`;
      const prev =
        i > 0
          ? `${x(b.trial).toFixed(1)},${y(all[i - 1].value).toFixed(1)} `
          : '';
      return prev + here;
    })
    .join(' ');
  return {
    dots,
    line,
    labels: {
      xMin: `#${x0}`,
      xMax: `#${x1}`,
      yMin: formatValue(y0),
      yMax: formatValue(y1)
    }
  };
}

/** The objective against one parameter: numeric values on a linear axis, other values as evenly spaced categories
 * (in the order first seen). */
export function parameterPlot(
  trials: readonly ITrialPoint[],
  name: string,
  bestTrial: number | null,
  box: IPlotBox
): {
  dots: IDot[];
  labels: IAxisLabels;
  categories: string[];
  /** Where each category sits on the x axis (empty for numbers). */
  categoryX: number[];
} | null {
  const points = scored(trials).filter(t => t.parameters[name] !== undefined);
  if (points.length === 0) {
    return null;
  }
  const raw = points.map(p => p.parameters[name]);
  const numeric = raw.every(v => typeof v === 'number' && Number.isFinite(v));
  const categories = numeric ? [] : [...new Set(raw.map(v => String(v)))];
  const xs = numeric
    ? (raw as number[])
    : raw.map(v => categories.indexOf(String(v)));
  const [x0, x1] = numeric ? extent(xs) : [-0.5, categories.length - 0.5];
  const [y0, y1] = extent(points.map(p => p.objective));
  const x = linear(x0, x1, box.pad, box.width - box.pad / 2);
  const y = linear(y0, y1, box.height - box.pad, box.pad / 2);
  return {
    dots: points.map((p, i) => ({
      x: x(xs[i]),
      y: y(p.objective),
      trial: p.trial,
      value: p.objective,
      best: p.trial === bestTrial
    })),
    categories,
    categoryX: categories.map((_, i) => x(i)),
    labels: {
      xMin: numeric ? formatValue(x0) : categories[0],
      xMax: numeric ? formatValue(x1) : categories[categories.length - 1],
      yMin: formatValue(y0),
      yMax: formatValue(y1)
    }
  };
}

/** The parameters worth a scatter: those the scored trials ran with at least two values of, in the order first seen
 * (under AutoML the family parameter and the hyperparameters of the families tried, not only the first family's). */
export function variedParameters(trials: readonly ITrialPoint[]): string[] {
  const values = new Map<string, Set<string>>();
  for (const t of scored(trials)) {
    for (const [name, value] of Object.entries(t.parameters)) {
      if (!values.has(name)) {
        values.set(name, new Set());
      }
      values.get(name)!.add(JSON.stringify(value));
    }
  }
  return [...values].filter(([, seen]) => seen.size > 1).map(([name]) => name);
}
