/**
 * Plane geometry of the drawn DAG: points and boxes, the curve an edge is drawn as (SVG path), points sampled along
 * that same curve (where labels may go) and box intersection. Pure; no React, no DOM, no dagre.
 */

export interface IPoint {
  x: number;
  y: number;
}

/** An axis-aligned box by its top-left corner. */
export interface IBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Whether two boxes share any area once each is grown by `margin` on every side (touching is not overlapping). */
export function intersects(a: IBox, b: IBox, margin = 0): boolean {
  return (
    a.x - margin < b.x + b.width + margin &&
    b.x - margin < a.x + a.width + margin &&
    a.y - margin < b.y + b.height + margin &&
    b.y - margin < a.y + a.height + margin
  );
}

/** The box of the given size centred on a point. */
export function boxAround(centre: IPoint, width: number, height: number): IBox {
  return {
    x: centre.x - width / 2,
    y: centre.y - height / 2,
    width,
    height
  };
}

/** The point halfway along a polyline, by length. */
export function midpoint(points: readonly IPoint[]): IPoint {
  const lengths = points
    .slice(1)
    .map((p, i) => Math.hypot(p.x - points[i].x, p.y - points[i].y));
  let rest = lengths.reduce((a, b) => a + b, 0) / 2;
  for (let i = 0; i < lengths.length; i++) {
    if (rest <= lengths[i] && lengths[i] > 0) {
      const t = rest / lengths[i];
      return {
        x: points[i].x + t * (points[i + 1].x - points[i].x),
        y: points[i].y + t * (points[i + 1].y - points[i].y)
      };
    }
    rest -= lengths[i];
  }
  return { ...points[points.length - 1] };
}

/** One piece of a drawn edge: a straight line (no control point) or a quadratic curve. */
interface ISegment {
  from: IPoint;
  control: IPoint | null;
  to: IPoint;
}

/**
 * The pieces an edge through `points` is drawn as: a straight line for two points, else a polyline smoothed with
 * quadratic curves at the bends (each bend is the control point of a curve ending halfway to the next bend).
 */
function segments(points: readonly IPoint[]): ISegment[] {
  if (points.length < 2) {
    return [];
  }
  if (points.length === 2) {
    return [{ from: points[0], control: null, to: points[1] }];
  }
  const out: ISegment[] = [];
  let from = points[0];
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const next = points[i + 1];
    const to =
      i === points.length - 2
        ? next
        : { x: (p.x + next.x) / 2, y: (p.y + next.y) / 2 };
    out.push({ from, control: p, to });
    from = to;
  }
  return out;
}

/** An SVG path through the points (a polyline smoothed with quadratic curves at the bends). */
export function edgePath(points: readonly IPoint[]): string {
  if (points.length === 0) {
    return '';
  }
  let d = `M${r(points[0].x)},${r(points[0].y)}`;
  for (const s of segments(points)) {
    d += s.control
      ? ` Q${r(s.control.x)},${r(s.control.y)} ${r(s.to.x)},${r(s.to.y)}`
      : ` L${r(s.to.x)},${r(s.to.y)}`;
  }
  return d;
}

function at(s: ISegment, t: number): IPoint {
  if (!s.control) {
    return {
      x: s.from.x + t * (s.to.x - s.from.x),
      y: s.from.y + t * (s.to.y - s.from.y)
    };
  }
  const u = 1 - t;
  return {
    x: u * u * s.from.x + 2 * u * t * s.control.x + t * t * s.to.x,
    y: u * u * s.from.y + 2 * u * t * s.control.y + t * t * s.to.y
  };
}

/**
 * Points on the drawn curve of an edge (the one edgePath draws), about `step` apart, ordered from the middle of
 * the curve (by length) outwards, alternating sides: the preferred places for the edge's label come first.
 */
export function samplesFromMiddle(
  points: readonly IPoint[],
  step: number
): IPoint[] {
  const along: IPoint[] = points.length ? [{ ...points[0] }] : [];
  const lengths: number[] = [0];
  for (const s of segments(points)) {
    // The control polygon's length bounds the curve's: enough pieces for pieces at most `step` long.
    const bound = s.control
      ? dist(s.from, s.control) + dist(s.control, s.to)
      : dist(s.from, s.to);
    const pieces = Math.max(1, Math.ceil(bound / step));
    for (let k = 1; k <= pieces; k++) {
      const p = at(s, k / pieces);
      lengths.push(
        lengths[lengths.length - 1] + dist(along[along.length - 1], p)
      );
      along.push(p);
    }
  }
  if (along.length === 0) {
    return [];
  }
  const half = lengths[lengths.length - 1] / 2;
  let mid = 0;
  while (mid < lengths.length - 1 && lengths[mid] < half) {
    mid++;
  }
  const ordered = [along[mid]];
  for (let k = 1; mid - k >= 0 || mid + k < along.length; k++) {
    if (mid + k < along.length) {
      ordered.push(along[mid + k]);
    }
    if (mid - k >= 0) {
      ordered.push(along[mid - k]);
    }
  }
  return ordered;
}

function dist(a: IPoint, b: IPoint): number {
  return Math.hypot(b.x - a.x, b.y - a.y);
}

function r(v: number): number {
  return Math.round(v * 10) / 10;
}
