/**
 * A trailing-edge debouncer with flush and cancel. Used to re-analyze the notebook shortly after the last edit: typing
 * waits for a pause (the analysisDelay setting), discrete edits such as a tag change call flush() to analyze at once.
 */

export interface IDebounced {
  /** (Re)start the timer: `fn` runs `delay` ms after the last call. */
  (): void;
  /** Run `fn` now if a call is pending (or always, with force), and clear the timer. */
  flush(force?: boolean): void;
  /** Drop a pending call. */
  cancel(): void;
  /** Whether a call is pending. */
  readonly pending: boolean;
  /** Change the delay for future calls. */
  setDelay(ms: number): void;
}

export function debounce(fn: () => void, delay: number): IDebounced {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let ms = delay;
  const clear = () => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  };
  const debounced = (() => {
    clear();
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  }) as IDebounced;
  debounced.flush = (force = false) => {
    const wasPending = timer !== null;
    clear();
    if (wasPending || force) {
      fn();
    }
  };
  debounced.cancel = clear;
  Object.defineProperty(debounced, 'pending', { get: () => timer !== null });
  debounced.setDelay = (value: number) => {
    ms = Math.max(0, value);
  };
  return debounced;
}
