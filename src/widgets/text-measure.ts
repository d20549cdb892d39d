/**
 * Text widths in the DAG's label font, measured by the browser (a canvas 2D context) so that label boxes match what
 * is drawn. DOM only; no React. Falls back to the model's estimate where no canvas is available.
 */
import {
  estimateTextWidth,
  LABEL_FONT_SIZE,
  MeasureText
} from '../model/dag-labels';

let shared: MeasureText | null = null;

/** One measure for the session (layouts are memoized on it): the label font as style/base.css sets it. */
export function labelMeasure(): MeasureText {
  if (!shared) {
    shared = canvasMeasure() ?? estimateTextWidth;
  }
  return shared;
}

function canvasMeasure(): MeasureText | null {
  if (typeof document === 'undefined') {
    return null;
  }
  const context = document.createElement('canvas').getContext('2d');
  if (!context) {
    return null;
  }
  const family =
    getComputedStyle(document.body)
      .getPropertyValue('--jp-ui-font-family')
      .trim() || 'sans-serif';
  context.font = `${LABEL_FONT_SIZE}px ${family}`;
  const cache = new Map<string, number>();
  return (text: string) => {
    let width = cache.get(text);
    if (width === undefined) {
      width = context.measureText(text).width;
      cache.set(text, width);
    }
    return width;
  };
}
