/** Run-view helpers: progress and durations. Pure. */
import { IRunStep } from '../api/types';

const DONE: ReadonlySet<string> = new Set([
  'succeeded',
  'cached',
  'failed',
  'cancelled',
  'skipped'
]);

/** Steps that reached a final state, of all steps. */
export function runProgress(steps: readonly Pick<IRunStep, 'status'>[]): {
  done: number;
  total: number;
} {
  return {
    done: steps.filter(s => DONE.has(s.status)).length,
    total: steps.length
  };
}

/** "0.4 s", "12 s", "3 min 05 s"; '' for unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '';
  }
  if (seconds < 10) {
    return `${seconds.toFixed(1)} s`;
  }
  if (seconds < 60) {
    return `${Math.round(seconds)} s`;
  }
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return `${m} min ${String(s).padStart(2, '0')} s`;
}
