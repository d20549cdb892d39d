/**
 * The pipeline DAG as drawn: edges built from the analysis (data edges labelled with the variables that flow, plus
 * order-only edges from prev: tags) and a layered layout computed by dagre. Pure; no React, no DOM.
 */
import dagre from '@dagrejs/dagre';

import { IStep } from '../api/types';

export interface IDagEdge {
  from: string;
  to: string;
  /** The variables that flow along this edge, sorted; empty for an order-only edge. */
  variables: string[];
}

/**
 * One edge per (producer, consumer) pair: for each step s and input v, input_sources[v] -> s carrying v; plus each
 * depends_on entry that carries no data, as an order-only edge. Edges to or from unknown steps are dropped.
 */
export function buildEdges(steps: readonly IStep[]): IDagEdge[] {
  const known = new Set(steps.map(s => s.name));
  const edges = new Map<string, IDagEdge>();
  const key = (a: string, b: string) => `${a}\u0000${b}`;
  for (const step of steps) {
    for (const variable of step.inputs ?? []) {
      const source = step.input_sources?.[variable];
      if (!source || !known.has(source) || source === step.name) {
        continue;
      }
      const k = key(source, step.name);
      const edge = edges.get(k) ?? {
        from: source,
        to: step.name,
        variables: []
      };
      if (!edge.variables.includes(variable)) {
        edge.variables.push(variable);
      }
      edges.set(k, edge);
    }
    for (const dep of step.depends_on ?? []) {
      if (!known.has(dep) || dep === step.name) {
        continue;
      }
      const k = key(dep, step.name);
      if (!edges.has(k)) {
        edges.set(k, { from: dep, to: step.name, variables: [] });
      }
    }
  }
  const out = [...edges.values()];
  for (const e of out) {
    e.variables.sort();
  }
  return out;
}

/** The text of an edge label: the variables, shortened past `max` names ("a, b, c +2"). */
export function edgeLabel(variables: readonly string[], max = 3): string {
  if (variables.length <= max) {
    return variables.join(', ');
  }
  return `${variables.slice(0, max).join(', ')} +${variables.length - max}`;
}

export interface IPoint {
  x: number;
  y: number;
}

export interface ILaidOutNode {
  name: string;
  /** Centre. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ILaidOutEdge extends IDagEdge {
  points: IPoint[];
  label: string;
  labelPos: IPoint | null;
}

export interface IDagLayout {
  nodes: ILaidOutNode[];
  edges: ILaidOutEdge[];
  width: number;
  height: number;
}

export const NODE_HEIGHT = 30;
const CHAR_WIDTH = 7;
const NODE_PADDING = 28;
const LABEL_HEIGHT = 14;
/** The width of one character of an edge label (10px font), for the drawing's bounds. */
const LABEL_CHAR_WIDTH = 5.5;

/** Lay out the DAG top to bottom with dagre. Node widths follow the name's length. */
export function layoutDag(
  names: readonly string[],
  edges: readonly IDagEdge[]
): IDagLayout {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({
    rankdir: 'TB',
    nodesep: 16,
    ranksep: 30 + LABEL_HEIGHT,
    edgesep: 8,
    marginx: 8,
    marginy: 8
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const name of names) {
    g.setNode(name, {
      width: Math.max(64, name.length * CHAR_WIDTH + NODE_PADDING),
      height: NODE_HEIGHT
    });
  }
  // Edge labels are not given to dagre: labelled edges make it double every rank (twice the graph to order), which
  // doubles the layout time of a 100-step pipeline. Labels go at the middle of the routed edge instead, in the gap
  // between ranks (ranksep leaves room for one line of text).
  for (const e of edges) {
    g.setEdge(e.from, e.to, {});
  }
  dagre.layout(g);
  const nodes: ILaidOutNode[] = names.map(name => {
    const n = g.node(name);
    return { name, x: n.x, y: n.y, width: n.width, height: n.height };
  });
  const laidEdges: ILaidOutEdge[] = edges.map(e => {
    const d = g.edge(e.from, e.to) as any;
    const label = edgeLabel(e.variables);
    const points: IPoint[] = (d?.points ?? []).map((p: IPoint) => ({
      x: p.x,
      y: p.y
    }));
    return {
      ...e,
      points,
      label,
      labelPos: label && points.length >= 2 ? midpoint(points) : null
    };
  });
  // Grow the drawing to hold labels that stick out past the nodes (a label on an outer edge), shifting everything
  // so that nothing is drawn at negative coordinates.
  const graph = g.graph();
  let minX = 0;
  let maxX = graph.width ?? 0;
  for (const e of laidEdges) {
    if (e.labelPos) {
      const half = (e.label.length * LABEL_CHAR_WIDTH) / 2 + 2;
      minX = Math.min(minX, e.labelPos.x - half);
      maxX = Math.max(maxX, e.labelPos.x + half);
    }
  }
  const dx = -minX;
  if (dx > 0) {
    for (const n of nodes) {
      n.x += dx;
    }
    for (const e of laidEdges) {
      e.points.forEach(p => (p.x += dx));
      if (e.labelPos) {
        e.labelPos.x += dx;
      }
    }
  }
  return {
    nodes,
    edges: laidEdges,
    width: Math.max(maxX - minX, 1),
    height: Math.max(graph.height ?? 0, 1)
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

/** An SVG path through the points (a polyline smoothed with quadratic curves at the bends). */
export function edgePath(points: readonly IPoint[]): string {
  if (points.length === 0) {
    return '';
  }
  let d = `M${r(points[0].x)},${r(points[0].y)}`;
  if (points.length === 2) {
    return `${d} L${r(points[1].x)},${r(points[1].y)}`;
  }
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const next = points[i + 1];
    const mid =
      i === points.length - 2
        ? next
        : { x: (p.x + next.x) / 2, y: (p.y + next.y) / 2 };
    d += ` Q${r(p.x)},${r(p.y)} ${r(mid.x)},${r(mid.y)}`;
  }
  return d;
}

function r(v: number): number {
  return Math.round(v * 10) / 10;
}
