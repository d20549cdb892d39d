/**
 * The Tuning view's plots as SVG: the objective of each trial with the best-so-far step line, and one small scatter of
 * the objective against each tuned parameter; the best trial is highlighted in all of them. Geometry comes from
 * src/model/tuning-plots.ts; a dot opens its trial's run.
 */
import React from 'react';

import {
  IAxisLabels,
  IDot,
  IPlotBox,
  ITrialPoint,
  objectivePlot,
  parameterPlot
} from '../model/tuning-plots';

const MAIN: IPlotBox = { width: 280, height: 130, pad: 34 };
const SMALL: IPlotBox = { width: 135, height: 95, pad: 34 };

export function TuningPlots(props: {
  trials: ITrialPoint[];
  objectiveType: string;
  metric: string;
  parameters: string[];
  bestTrial: number | null;
  onOpenTrial: (trial: number) => void;
}): JSX.Element | null {
  const main = objectivePlot(
    props.trials,
    props.objectiveType,
    props.bestTrial,
    MAIN
  );
  if (!main) {
    return null;
  }
  return (
    <div className="jp-Kale-tuningPlots" data-testid="kale-tuning-plots">
      <svg
        className="jp-Kale-plot"
        data-testid="kale-tuning-objective-plot"
        viewBox={`0 0 ${MAIN.width} ${MAIN.height}`}
        width={MAIN.width}
        height={MAIN.height}
        role="img"
        aria-label={`${props.metric} per trial, with the best so far`}
      >
        <Axes box={MAIN} labels={main.labels} x="trial" y={props.metric} />
        <polyline className="jp-Kale-plotBest" points={main.line} />
        <Dots dots={main.dots} onOpen={props.onOpenTrial} />
      </svg>
      <div className="jp-Kale-plotGrid">
        {props.parameters.map(name => {
          const plot = parameterPlot(
            props.trials,
            name,
            props.bestTrial,
            SMALL
          );
          if (!plot) {
            return null;
          }
          return (
            <svg
              key={name}
              className="jp-Kale-plot"
              data-testid="kale-tuning-param-plot"
              data-name={name}
              viewBox={`0 0 ${SMALL.width} ${SMALL.height}`}
              width={SMALL.width}
              height={SMALL.height}
              role="img"
              aria-label={`${props.metric} against ${name}`}
            >
              <Axes
                box={SMALL}
                labels={plot.labels}
                x={name}
                y=""
                categories={plot.categories.map((c, i) => ({
                  label: c,
                  x: plot.categoryX[i]
                }))}
              />
              <Dots dots={plot.dots} onOpen={props.onOpenTrial} />
            </svg>
          );
        })}
      </div>
    </div>
  );
}

function Axes(props: {
  box: IPlotBox;
  labels: IAxisLabels;
  x: string;
  y: string;
  /** Categories of a categorical axis, each labelled where it sits (instead of the two ends). */
  categories?: Array<{ label: string; x: number }>;
}): JSX.Element {
  const { box, labels } = props;
  const categories = props.categories ?? [];
  const bottom = box.height - box.pad;
  const right = box.width - box.pad / 2;
  return (
    <g className="jp-Kale-plotAxes">
      <line x1={box.pad} y1={bottom} x2={right} y2={bottom} />
      <line x1={box.pad} y1={box.pad / 2} x2={box.pad} y2={bottom} />
      {categories.length > 0 ? (
        categories.map(c => (
          <text key={c.label} x={c.x} y={bottom + 11} textAnchor="middle">
            {c.label}
          </text>
        ))
      ) : (
        <>
          <text x={box.pad} y={bottom + 11} textAnchor="start">
            {labels.xMin}
          </text>
          <text x={right} y={bottom + 11} textAnchor="end">
            {labels.xMax}
          </text>
        </>
      )}
      <text x={(box.pad + right) / 2} y={box.height - 2} textAnchor="middle">
        {props.x}
      </text>
      <text x={box.pad - 3} y={bottom} textAnchor="end">
        {labels.yMin}
      </text>
      <text x={box.pad - 3} y={box.pad / 2 + 8} textAnchor="end">
        {labels.yMax}
      </text>
      {props.y && (
        <text x={2} y={8} textAnchor="start">
          {props.y}
        </text>
      )}
    </g>
  );
}

function Dots(props: {
  dots: IDot[];
  onOpen: (trial: number) => void;
}): JSX.Element {
  return (
    <g>
      {props.dots.map(d => (
        <circle
          key={d.trial}
          className={'jp-Kale-plotDot' + (d.best ? ' jp-mod-best' : '')}
          cx={d.x}
          cy={d.y}
          r={d.best ? 4.5 : 3}
          data-trial={d.trial}
          onClick={() => props.onOpen(d.trial)}
        >
          <title>
            trial {d.trial}: {d.value}
          </title>
        </circle>
      ))}
    </g>
  );
}
