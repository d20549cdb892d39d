import { debounce } from '../model/debounce';

describe('debounce', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs once, delay ms after the last call', () => {
    const fn = jest.fn();
    const d = debounce(fn, 100);
    d();
    jest.advanceTimersByTime(60);
    d();
    jest.advanceTimersByTime(60);
    expect(fn).not.toHaveBeenCalled();
    expect(d.pending).toBe(true);
    jest.advanceTimersByTime(40);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(d.pending).toBe(false);
  });

  it('flush runs a pending call at once, and only once', () => {
    const fn = jest.fn();
    const d = debounce(fn, 100);
    d();
    d.flush();
    expect(fn).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(500);
    expect(fn).toHaveBeenCalledTimes(1);
    d.flush();
    expect(fn).toHaveBeenCalledTimes(1);
    d.flush(true);
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('cancel drops a pending call; setDelay changes later delays', () => {
    const fn = jest.fn();
    const d = debounce(fn, 100);
    d();
    d.cancel();
    jest.advanceTimersByTime(500);
    expect(fn).not.toHaveBeenCalled();
    d.setDelay(10);
    d();
    jest.advanceTimersByTime(10);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
