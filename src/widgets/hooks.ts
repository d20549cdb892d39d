/** React hooks over Lumino signals and polling. */
import { ISignal } from '@lumino/signaling';
import { useEffect, useRef, useState } from 'react';

/** Re-render whenever one of the signals fires. */
export function useSignals(
  signals: ReadonlyArray<ISignal<any, any> | null | undefined>
): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const bump = () => setTick(t => t + 1);
    const live = signals.filter((s): s is ISignal<any, any> => !!s);
    live.forEach(s => s.connect(bump));
    return () => live.forEach(s => s.disconnect(bump));
  }, signals);
  return tick;
}

/**
 * Call `fn` now and then every `ms` after the previous call settles (never overlapping); stop when ms is null or on
 * unmount. The latest `fn` is always used.
 */
export function usePoll(
  fn: () => Promise<unknown> | unknown,
  ms: number | null,
  deps: unknown[]
): void {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    if (ms === null) {
      return;
    }
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const tick = async () => {
      try {
        await fnRef.current();
      } catch (error) {
        console.warn('kale_ext: poll failed', error);
      }
      if (!stopped) {
        timer = setTimeout(tick, ms);
      }
    };
    void tick();
    return () => {
      stopped = true;
      if (timer !== null) {
        clearTimeout(timer);
      }
    };
  }, [ms, ...deps]);
}
