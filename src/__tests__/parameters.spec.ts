import { parametersToSend, parseParameterValue } from '../model/parameters';
import { formatDuration, runProgress } from '../model/runs';

describe('parameters', () => {
  it('parses values to the type of the default', () => {
    expect(parseParameterValue('0.5', 0.3)).toEqual({ ok: true, value: 0.5 });
    expect(parseParameterValue('x', 3).ok).toBe(false);
    expect(parseParameterValue('', 3).ok).toBe(false);
    expect(parseParameterValue('TRUE', false)).toEqual({
      ok: true,
      value: true
    });
    expect(parseParameterValue('yes', false).ok).toBe(false);
    expect(parseParameterValue(' a b ', 'x')).toEqual({
      ok: true,
      value: ' a b '
    });
    expect(parseParameterValue('[1, 2]', [0])).toEqual({
      ok: true,
      value: [1, 2]
    });
    expect(parseParameterValue('[1,', [0]).ok).toBe(false);
  });

  it('sends only the values that differ from the defaults', () => {
    expect(
      parametersToSend(
        { SEED: 7, C: 0.5, NAME: 'a' },
        { SEED: '7', C: '1', NAME: 'b', OTHER: '1' }
      )
    ).toEqual({ ok: true, values: { C: 1, NAME: 'b' } });
    expect(parametersToSend({ SEED: 7 }, { SEED: 'seven' })).toEqual({
      ok: false,
      error: 'SEED: expected a number, got "seven"'
    });
  });
});

describe('runs', () => {
  it('counts finished steps', () => {
    expect(
      runProgress([
        { status: 'succeeded' },
        { status: 'cached' },
        { status: 'running' },
        { status: 'queued' },
        { status: 'failed' },
        { status: 'skipped' }
      ])
    ).toEqual({ done: 4, total: 6 });
  });

  it('formats durations', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(0.42)).toBe('0.4 s');
    expect(formatDuration(12.4)).toBe('12 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
  });
});
