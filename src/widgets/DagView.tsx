/**
 * The pipeline DAG as SVG: a node per step in the step's color, edges labelled with the variables that flow (dashed
 * when order-only; labels never overlap, their full list is the edge's tooltip). With step states (a run's view),
 * nodes show their status. Layout by dagre and model/dag-labels.ts, label widths measured in the real font. The same
 * view fills the sidebar or, full size, a main-area tab (DagPanel).
 */
import React, { useLayoutEffect, useMemo, useRef, useState } from 'react';

import { StepStatus } from '../api/types';
import { stepColor } from '../model/colors';
import { edgePath, IDagEdge, layoutDag } from '../model/dag';
import { labelMeasure } from './text-measure';

export interface IDagViewProps {
  names: readonly string[];
  edges: readonly IDagEdge[];
  /** Step states of a run; when given, nodes show them. */
  statuses?: Readonly<Record<string, StepStatus | undefined>>;
  selected?: string | null;
  onSelect?: (step: string) => void;
  /** performance.now() when the data arrived; the render time since then is written to data-render-ms. */
  since?: number;
  label: string;
  testId?: string;
  /** The color of a step (the notebook's assignment); defaults to the standalone color. */
  colorOf?: (name: string) => string;
  /** Given, the toolbar offers to open the graph full size (in the main area). */
  onOpenFull?: () => void;
  /** Fill the parent (the full-size view): Fit then fits the width and the height, and may enlarge. */
  full?: boolean;
}

/** The smallest scale "Fit" goes to; below it labels are unreadable, so the graph scrolls instead. */
const MIN_FIT = 0.55;
/** The scales "Fit" keeps to in the full-size view: labels stay readable (scroll past that), a small graph grows. */
const MIN_FULL_FIT = 0.8;
const MAX_FULL_FIT = 1.5;
/** The widest label in the full-size view, which has the room for longer ones than the sidebar. */
const FULL_LABEL_WIDTH = 220;

const STATUS_MARK: Record<StepStatus, string> = {
  queued: '○',
  running: '◔',
  cached: '⟲',
  succeeded: '✓',
  failed: '✕',
  cancelled: '⊘',
  skipped: '–'
};

export function DagView(props: IDagViewProps): JSX.Element {
  const { names, edges, statuses, selected, onSelect } = props;
  const started = performance.now();
  // Re-layout only when the graph's structure changes: most re-analyses (code edits) keep it.
  const structure = useMemo(
    () => JSON.stringify([names, edges.map(e => [e.from, e.to, e.variables])]),
    [names, edges]
  );
  const layout = useMemo(
    () =>
      layoutDag(names, edges, {
        measure: labelMeasure(),
        maxLabelWidth: props.full ? FULL_LABEL_WIDTH : undefined
      }),
    [structure, props.full]
  );
  const layoutMs = performance.now() - started;
  const svgRef = useRef<SVGSVGElement>(null);
  const measured = useRef<number | undefined>(undefined);
  useLayoutEffect(() => {
    // Timing of the first commit after new data (the benchmark reads these attributes): layout alone, DOM commit,
    // and the next frame (painted).
    const svg = svgRef.current;
    const since = props.since;
    if (!svg || since === undefined || measured.current === since) {
      return;
    }
    measured.current = since;
    svg.dataset.layoutMs = layoutMs.toFixed(1);
    svg.dataset.renderMs = (performance.now() - since).toFixed(1);
    requestAnimationFrame(() =>
      setTimeout(() => {
        svg.dataset.paintMs = (performance.now() - since).toFixed(1);
      }, 0)
    );
  });
  // Zoom: fit the sidebar's width by default (never above 100%, never below MIN_FIT: past that, scroll), or a
  // fixed factor chosen with the zoom buttons.
  const containerRef = useRef<HTMLDivElement>(null);
  const [zoom, setZoom] = useState<number | 'fit'>('fit');
  const [available, setAvailable] = useState({ width: 0, height: 0 });
  const empty = names.length === 0;
  useLayoutEffect(() => {
    const el = containerRef.current;
    if (!el || typeof ResizeObserver === 'undefined') {
      return;
    }
    const measure = () =>
      setAvailable({ width: el.clientWidth - 2, height: el.clientHeight - 2 });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [empty]);
  const fit = fitScale(layout, available, !!props.full);
  const scale = zoom === 'fit' ? fit : zoom;
  const zoomBy = (factor: number) =>
    setZoom(Math.max(0.2, Math.min(3, Math.round(scale * factor * 100) / 100)));

  if (empty) {
    return (
      <p className="jp-Kale-empty" data-testid={props.testId}>
        No steps yet. Turn on Pipeline mode and tag a cell as a step.
      </p>
    );
  }
  const markerId = `jp-Kale-arrow-${props.testId ?? 'dag'}`;
  return (
    <div className={`jp-Kale-dagFrame${props.full ? ' jp-mod-full' : ''}`}>
      <div
        className="jp-Kale-dagToolbar"
        role="toolbar"
        aria-label="Graph view"
      >
        <button
          className="jp-Kale-iconButton"
          aria-label="Zoom out"
          title="Zoom out"
          onClick={() => zoomBy(1 / 1.25)}
        >
          −
        </button>
        <span className="jp-Kale-zoomLevel" aria-live="polite">
          {Math.round(scale * 100)}%
        </span>
        <button
          className="jp-Kale-iconButton"
          aria-label="Zoom in"
          title="Zoom in"
          onClick={() => zoomBy(1.25)}
        >
          +
        </button>
        <button
          className="jp-Kale-iconButton"
          aria-pressed={zoom === 'fit'}
          title={
            props.full
              ? 'Fit the graph to the panel'
              : "Fit the graph to the panel's width"
          }
          onClick={() => setZoom('fit')}
        >
          Fit
        </button>
        {props.onOpenFull && (
          <button
            className="jp-Kale-iconButton"
            aria-label="Open the graph full size"
            title="Open the graph full size in the main area"
            data-testid="kale-dag-open-full"
            onClick={props.onOpenFull}
          >
            ⤢
          </button>
        )}
      </div>
      <div className="jp-Kale-dag" ref={containerRef}>
        <svg
          ref={svgRef}
          role="group"
          aria-label={props.label}
          data-testid={props.testId}
          data-steps={names.length}
          data-scale={scale.toFixed(2)}
          width={layout.width * scale}
          height={layout.height * scale}
          viewBox={`0 0 ${layout.width} ${layout.height}`}
        >
          <defs>
            <marker
              id={markerId}
              viewBox="0 0 10 10"
              refX="9"
              refY="5"
              markerWidth="7"
              markerHeight="7"
              orient="auto-start-reverse"
            >
              <path d="M0,0 L10,5 L0,10 z" className="jp-Kale-dagArrow" />
            </marker>
          </defs>
          {layout.edges.map((e, i) => (
            <g
              key={`${e.from}->${e.to}`}
              className="jp-Kale-dagEdge"
              data-edge={`${e.from}->${e.to}`}
            >
              <title>
                {e.variables.length
                  ? `${e.from} → ${e.to}: ${e.variables.join(', ')}`
                  : `${e.from} → ${e.to} (order only)`}
              </title>
              <path
                d={edgePath(e.points)}
                className={e.variables.length ? '' : 'jp-mod-orderOnly'}
                markerEnd={`url(#${markerId})`}
              />
              {e.labelPos && (
                <text
                  id={`${markerId}-label-${i}`}
                  x={e.labelPos.x}
                  y={e.labelPos.y}
                  className="jp-Kale-dagEdgeLabel"
                  textAnchor="middle"
                  dominantBaseline="central"
                >
                  {e.label}
                </text>
              )}
            </g>
          ))}
          {/* The labels again, above every edge: a line drawn after a label must not cross it. The originals stay
              in their edge's group (its tooltip, its text); this layer lets the pointer through to them. */}
          <g className="jp-Kale-dagLabelLayer" aria-hidden="true">
            {layout.edges.map((e, i) =>
              e.labelPos ? (
                <use
                  key={`${e.from}->${e.to}`}
                  href={`#${markerId}-label-${i}`}
                />
              ) : null
            )}
          </g>
          {layout.nodes.map(n => {
            const status = statuses?.[n.name];
            const classes = ['jp-Kale-dagNode'];
            if (status) {
              classes.push(`jp-mod-${status}`);
            }
            if (selected === n.name) {
              classes.push('jp-mod-selected');
            }
            const color = (props.colorOf ?? stepColor)(n.name);
            return (
              <g
                key={n.name}
                className={classes.join(' ')}
                data-step={n.name}
                data-status={status}
                transform={`translate(${n.x - n.width / 2},${n.y - n.height / 2})`}
                tabIndex={onSelect ? 0 : undefined}
                role={onSelect ? 'button' : undefined}
                aria-label={status ? `${n.name}: ${status}` : n.name}
                onClick={onSelect ? () => onSelect(n.name) : undefined}
                onKeyDown={
                  onSelect
                    ? ev => {
                        if (ev.key === 'Enter' || ev.key === ' ') {
                          ev.preventDefault();
                          onSelect(n.name);
                        }
                      }
                    : undefined
                }
              >
                <rect
                  width={n.width}
                  height={n.height}
                  rx={6}
                  style={{ stroke: color }}
                />
                <rect
                  width={6}
                  height={n.height}
                  rx={3}
                  className="jp-Kale-dagNodeStripe"
                  style={{ fill: color }}
                />
                <text
                  x={n.width / 2 + 3}
                  y={n.height / 2}
                  textAnchor="middle"
                  dominantBaseline="central"
                >
                  {status ? `${STATUS_MARK[status]} ${n.name}` : n.name}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
}

/**
 * The scale "Fit" shows the graph at: the panel's width (never above 100%, never below MIN_FIT); full size, the whole
 * graph in the panel (between MIN_FULL_FIT and MAX_FULL_FIT). Past the lower bound the graph scrolls.
 */
function fitScale(
  layout: { width: number; height: number },
  available: { width: number; height: number },
  full: boolean
): number {
  if (available.width <= 0) {
    return 1;
  }
  let fit = Math.min(full ? MAX_FULL_FIT : 1, available.width / layout.width);
  if (full && available.height > 0) {
    fit = Math.min(fit, available.height / layout.height);
  }
  return Math.max(full ? MIN_FULL_FIT : MIN_FIT, fit);
}
