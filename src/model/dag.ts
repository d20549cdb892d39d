/**
 * The pipeline DAG as drawn: edges built from the analysis (data edges labelled with the variables that flow, plus
 * order-only edges from prev: tags) and a layered layout computed by dagre. Pure; no React, no DOM.
 */
import dagre from '@dagrejs/dagre';

import { IStep } from '../api/types';
import { boxAround, IBox, IPoint } from './dag-geometry';
import {
  estimateTextWidth,
  fitLabel,
  LABEL_HEIGHT,
  MeasureText,
  placeLabels
} from './dag-labels';

export { edgePath, midpoint } from './dag-geometry';
export type { IBox, IPoint } from './dag-geometry';
export { edgeLabel } from './dag-labels';

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
  /** The label as drawn (shortened to LABEL_MAX_WIDTH; the full list is `variables`); '' for an order-only edge. */
  label: string;
  /** The centre of the label, or null when it is not drawn. */
  labelPos: IPoint | null;
  /** The label's box (overlaps no other label's and no node's), or null when it is not drawn. */
  labelBox: IBox | null;
}

export interface IDagLayout {
  nodes: ILaidOutNode[];
  edges: ILaidOutEdge[];
  width: number;
  height: number;
}

export interface ILayoutOptions {
  /** The width of a label's text in the label font; estimated when not given. */
  measure?: MeasureText;
  /** The widest a label may be (LABEL_MAX_WIDTH when not given); longer lists are shortened. */
  maxLabelWidth?: number;
}

export const NODE_HEIGHT = 30;
const CHAR_WIDTH = 7;
const NODE_PADDING = 28;
const MARGIN = 8;

/**
 * Lay out the DAG top to bottom with dagre (node widths follow the name's length), then place the edge labels so
 * that none overlaps another or a node (model/dag-labels.ts), growing the gaps between ranks where they need room.
 */
export function layoutDag(
  names: readonly string[],
  edges: readonly IDagEdge[],
  options: ILayoutOptions = {}
): IDagLayout {
  const measure = options.measure ?? estimateTextWidth;
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({
    rankdir: 'TB',
    nodesep: 16,
    ranksep: 30 + LABEL_HEIGHT,
    edgesep: 8,
    marginx: MARGIN,
    marginy: MARGIN
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const name of names) {
    g.setNode(name, {
      width: Math.max(64, name.length * CHAR_WIDTH + NODE_PADDING),
      height: NODE_HEIGHT
    });
  }
  // Edge labels are not given to dagre: labelled edges make it double every rank (twice the graph to order), which
  // doubles the layout time of a 100-step pipeline. placeLabels finds them room afterwards.
  for (const e of edges) {
    g.setEdge(e.from, e.to, {});
  }
  dagre.layout(g);
  const nodes: ILaidOutNode[] = names.map(name => {
    const n = g.node(name);
    return { name, x: n.x, y: n.y, width: n.width, height: n.height };
  });
  const routed = edges.map(e => {
    const d = g.edge(e.from, e.to) as any;
    const points: IPoint[] = (d?.points ?? []).map((p: IPoint) => ({
      x: p.x,
      y: p.y
    }));
    const label = e.variables.length
      ? fitLabel(e.variables, measure, options.maxLabelWidth)
      : '';
    return { ...e, points, label };
  });
  const placement = placeLabels(
    nodes.map(n => boxAround(n, n.width, n.height)),
    routed.map(e => ({
      points: e.points,
      width: e.label ? Math.ceil(measure(e.label)) + 2 : 0
    }))
  );
  for (const n of nodes) {
    n.y = placement.mapY(n.y);
  }
  const laidEdges: ILaidOutEdge[] = routed.map((e, i) => {
    const box = placement.boxes[i];
    return {
      ...e,
      points: e.points.map(p => ({ x: p.x, y: placement.mapY(p.y) })),
      labelBox: box,
      labelPos: box
        ? { x: box.x + box.width / 2, y: box.y + box.height / 2 }
        : null
    };
  });
  return fitDrawing(nodes, laidEdges);
}

/**
 * The drawing's size, everything shifted so that nothing is drawn at negative coordinates (a label beside an outer
 * edge may stick out past the nodes), with dagre's margin kept around it all.
 */
function fitDrawing(nodes: ILaidOutNode[], edges: ILaidOutEdge[]): IDagLayout {
  const boxes: IBox[] = nodes.map(n => boxAround(n, n.width, n.height));
  for (const e of edges) {
    e.points.forEach(p => boxes.push({ ...p, width: 0, height: 0 }));
    if (e.labelBox) {
      boxes.push(e.labelBox);
    }
  }
  if (boxes.length === 0) {
    return { nodes, edges, width: 1, height: 1 };
  }
  const minX = Math.min(...boxes.map(b => b.x)) - MARGIN;
  const minY = Math.min(...boxes.map(b => b.y)) - MARGIN;
  const maxX = Math.max(...boxes.map(b => b.x + b.width)) + MARGIN;
  const maxY = Math.max(...boxes.map(b => b.y + b.height)) + MARGIN;
  const dx = Math.max(0, -minX);
  const dy = Math.max(0, -minY);
  const move = (p: IPoint) => {
    p.x += dx;
    p.y += dy;
  };
  nodes.forEach(move);
  for (const e of edges) {
    e.points.forEach(move);
    [e.labelPos, e.labelBox].forEach(p => p && move(p));
  }
  return {
    nodes,
    edges,
    width: Math.max(maxX + dx, 1),
    height: Math.max(maxY + dy, 1)
  };
}
