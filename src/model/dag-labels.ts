/**
 * Edge labels of the DAG: their text (shortened to a width, the full list goes in the edge's tooltip) and their
 * places, chosen so that no label overlaps another label or a node. Pure; no React, no DOM, no dagre: text widths
 * come from a measure function (the view measures with the real font, tests and defaults estimate).
 *
 * Placement is greedy and cheap (dagre's own label nodes would double the ranks it orders, and the layout time of a
 * 100-step pipeline with it): each label takes the first free place on its drawn edge, from the middle of the edge
 * outwards, then beside it. A label with no free place grows the gap between the two ranks its edge crosses (the
 * drawing stretches vertically there, nothing else moves relative to its rank) and placement starts over. A gap
 * grown by two label heights per label in it always has a free place for each, so this ends (growth steps double
 * every few rounds); past MAX_ROUNDS a label that still finds no place is left out (its edge keeps the tooltip)
 * rather than drawn over something.
 */
import {
  boxAround,
  IBox,
  intersects,
  IPoint,
  samplesFromMiddle
} from './dag-geometry';

/** Width in px of a label's text in the label font. */
export type MeasureText = (text: string) => number;

/** The label font (style/base.css, .jp-Kale-dagEdgeLabel). */
export const LABEL_FONT_SIZE = 10;
/** The height of a label's box: one line of the label font with its halo. */
export const LABEL_HEIGHT = 13;
/** The widest label: past it the text is shortened ("a, b +3", "a_very_lo… +1"). */
export const LABEL_MAX_WIDTH = 120;
/** Free space kept around every label. */
const LABEL_MARGIN = 2;
/** The distance between two places tried along an edge. */
const SAMPLE_STEP = 4;
/** How far a gap grows for each label that found no place in it. */
const GAP_GROWTH = 2 * (LABEL_HEIGHT + 2 * LABEL_MARGIN) + SAMPLE_STEP;
const MAX_ROUNDS = 40;
const ROUNDS_PER_DOUBLING = 8;

/** Character widths of a sans-serif font in em: an upper estimate where the real font cannot be measured. */
const NARROW = new Set("il.,:;'|!()[]{}tfjrI ");
const WIDE = new Set('mwMW');

export function estimateTextWidth(
  text: string,
  fontSize = LABEL_FONT_SIZE
): number {
  let em = 0;
  for (const ch of text) {
    if (NARROW.has(ch)) {
      em += 0.36;
    } else if (WIDE.has(ch)) {
      em += 0.98;
    } else if (ch >= 'A' && ch <= 'Z') {
      em += 0.74;
    } else {
      em += 0.64;
    }
  }
  return em * fontSize;
}

/** The text of an edge label: the variables, shortened past `max` names ("a, b, c +2"). */
export function edgeLabel(variables: readonly string[], max = 3): string {
  if (variables.length <= max) {
    return variables.join(', ');
  }
  return `${variables.slice(0, max).join(', ')} +${variables.length - max}`;
}

/**
 * The label of an edge, at most `maxWidth` wide: as many of the first `max` names as fit, "+N" for the names left
 * out, and a single name too wide on its own cut with an ellipsis.
 */
export function fitLabel(
  variables: readonly string[],
  measure: MeasureText,
  maxWidth = LABEL_MAX_WIDTH,
  max = 3
): string {
  for (let shown = Math.min(max, variables.length); shown >= 1; shown--) {
    const text = edgeLabel(variables, shown);
    if (measure(text) <= maxWidth) {
      return text;
    }
  }
  if (variables.length === 0) {
    return '';
  }
  const rest = variables.length > 1 ? ` +${variables.length - 1}` : '';
  const name = [...variables[0]];
  let lo = 0;
  let hi = name.length;
  while (lo < hi) {
    const n = Math.ceil((lo + hi) / 2);
    if (measure(`${name.slice(0, n).join('')}…${rest}`) <= maxWidth) {
      lo = n;
    } else {
      hi = n - 1;
    }
  }
  return `${name.slice(0, lo).join('')}…${rest}`;
}

export interface ILabelRequest {
  /** The points of the edge as laid out (drawn through with edgePath). */
  points: readonly IPoint[];
  /** The label's width; 0 for an edge without a label. */
  width: number;
}

export interface ILabelPlacement {
  /** Where every laid-out y coordinate goes once the gaps have grown (increasing). */
  mapY: (y: number) => number;
  /** Per request, the label's box in the mapped coordinates, or null (no label, or no place found). */
  boxes: (IBox | null)[];
}

/** Place the labels of `requests` among `nodes` (boxes): see the module's docstring. */
export function placeLabels(
  nodes: readonly IBox[],
  requests: readonly ILabelRequest[]
): ILabelPlacement {
  const cuts = gapCuts(nodes);
  const growth = cuts.map(() => 0);
  let mapY = (y: number) => y;
  let boxes: (IBox | null)[] = requests.map(() => null);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    mapY = shifter(cuts, growth);
    const mapped = nodes.map(n => ({
      ...n,
      y: mapY(n.y + n.height / 2) - n.height / 2
    }));
    const pass = placeOnce(mapped, requests, mapY);
    boxes = pass.boxes;
    if (pass.failed.length === 0) {
      break;
    }
    // One step per gap and round keeps the drawing compact (a label freed by the growth often frees others);
    // steps double every few rounds so that even a gap holding hundreds of labels gets its room within MAX_ROUNDS.
    const failing = new Set<number>();
    for (const i of pass.failed) {
      const gap = gapOf(requests[i].points, cuts);
      if (gap !== null) {
        failing.add(gap);
      }
    }
    if (failing.size === 0) {
      break;
    }
    const step = GAP_GROWTH * 2 ** Math.floor(round / ROUNDS_PER_DOUBLING);
    failing.forEach(gap => (growth[gap] += step));
  }
  return { mapY, boxes };
}

/** One greedy pass: every label, in order, at its first free place. */
function placeOnce(
  nodes: readonly IBox[],
  requests: readonly ILabelRequest[],
  mapY: (y: number) => number
): { boxes: (IBox | null)[]; failed: number[] } {
  const taken: IBox[] = [];
  const failed: number[] = [];
  const boxes = requests.map((req, i) => {
    if (req.width <= 0 || req.points.length < 2) {
      return null;
    }
    const points = req.points.map(p => ({ x: p.x, y: mapY(p.y) }));
    const free = (box: IBox) =>
      !nodes.some(n => intersects(box, n, LABEL_MARGIN)) &&
      !taken.some(t => intersects(box, t, LABEL_MARGIN));
    const box = firstFree(
      samplesFromMiddle(points, SAMPLE_STEP),
      req.width,
      free
    );
    if (box) {
      taken.push(box);
    } else {
      failed.push(i);
    }
    return box;
  });
  return { boxes, failed };
}

/** On the edge first (from the middle out), then beside it (right, left): a label off its edge is a last resort. */
function firstFree(
  samples: readonly IPoint[],
  width: number,
  free: (box: IBox) => boolean
): IBox | null {
  const aside = width / 2 + LABEL_MARGIN + 2;
  for (const dx of [0, aside, -aside]) {
    for (const p of samples) {
      const box = boxAround({ x: p.x + dx, y: p.y }, width, LABEL_HEIGHT);
      if (free(box)) {
        return box;
      }
    }
  }
  return null;
}

/** The y coordinates halfway between consecutive ranks of nodes (no node spans one), top to bottom. */
function gapCuts(nodes: readonly IBox[]): number[] {
  const bands: { top: number; bottom: number }[] = [];
  for (const n of [...nodes].sort((a, b) => a.y - b.y)) {
    const last = bands[bands.length - 1];
    if (last && n.y < last.bottom) {
      last.bottom = Math.max(last.bottom, n.y + n.height);
    } else {
      bands.push({ top: n.y, bottom: n.y + n.height });
    }
  }
  return bands.slice(1).map((b, i) => (bands[i].bottom + b.top) / 2);
}

/** y -> y plus the growth of every gap whose cut lies above y (the growth as it is now: later rounds change it). */
function shifter(
  cuts: readonly number[],
  growth: readonly number[]
): (y: number) => number {
  const grown = [...growth];
  return (y: number) => {
    let dy = 0;
    for (let g = 0; g < cuts.length && cuts[g] < y; g++) {
      dy += grown[g];
    }
    return y + dy;
  };
}

/** The gap an edge crosses nearest to its middle (in laid-out coordinates), or null when it crosses none. */
function gapOf(
  points: readonly IPoint[],
  cuts: readonly number[]
): number | null {
  const ys = points.map(p => p.y);
  const top = Math.min(...ys);
  const bottom = Math.max(...ys);
  const middle = (top + bottom) / 2;
  let best: number | null = null;
  cuts.forEach((cut, g) => {
    if (
      cut > top &&
      cut < bottom &&
      (best === null || Math.abs(cut - middle) < Math.abs(cuts[best] - middle))
    ) {
      best = g;
    }
  });
  return best;
}
