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

/** Lay out the DAG top to bottom with dagre. Node widths follow the name's length. */
export function layoutDag(
  names: readonly string[],
  edges: readonly IDagEdge[]
): IDagLayout {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({
    rankdir: 'TB',
    nodesep: 16,
    ranksep: 34,
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
  for (const e of edges) {
    const label = edgeLabel(e.variables);
    g.setEdge(e.from, e.to, {
      label,
      width: label ? label.length * 6 : 0,
      height: label ? LABEL_HEIGHT : 0,
      labelpos: 'c'
    });
  }
  dagre.layout(g);
  const nodes: ILaidOutNode[] = names.map(name => {
    const n = g.node(name);
    return { name, x: n.x, y: n.y, width: n.width, height: n.height };
  });
  const laidEdges: ILaidOutEdge[] = edges.map(e => {
    const d = g.edge(e.from, e.to) as any;
    const label = edgeLabel(e.variables);
    return {
      ...e,
      points: (d?.points ?? []).map((p: IPoint) => ({ x: p.x, y: p.y })),
      label,
      labelPos:
        label && d && typeof d.x === 'number' ? { x: d.x, y: d.y } : null
    };
  });
  const graph = g.graph();
  return {
    nodes,
    edges: laidEdges,
    width: Math.max(graph.width ?? 0, 1),
    height: Math.max(graph.height ?? 0, 1)
  };
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
