import {
  assignStepColors,
  HUE_COUNT,
  preferredSlot,
  slotColor,
  stepColor
} from '../model/colors';

describe('step colors', () => {
  it('is a pure function of the name', () => {
    expect(stepColor('train')).toBe(stepColor('train'));
    expect(stepColor('train')).toMatch(/^hsl\(\d+, 62%, 52%\)$/);
  });

  it('gives every step of a pipeline its own color, up to the palette size', () => {
    const names = Array.from({ length: HUE_COUNT }, (_, i) => `step_${i}`);
    const colors = assignStepColors(names);
    expect(new Set(colors.values()).size).toBe(HUE_COUNT);
  });

  it('keeps a step color when other steps are added or removed', () => {
    const before = assignStepColors(['load', 'train']);
    const after = assignStepColors(['load', 'train', 'evaluate', 'report']);
    expect(after.get('load')).toBe(before.get('load'));
    expect(after.get('train')).toBe(before.get('train'));
    // A lone step gets its preferred color.
    expect(assignStepColors(['evaluate']).get('evaluate')).toBe(
      stepColor('evaluate')
    );
  });

  it('moves a colliding name to the next free slot', () => {
    const names: string[] = [];
    for (let i = 0; names.length < 2; i++) {
      const n = `n${i}`;
      if (preferredSlot(n) === 3) {
        names.push(n);
      }
    }
    const colors = assignStepColors(names);
    expect(colors.get(names[0])).toBe(slotColor(3));
    expect(colors.get(names[1])).toBe(slotColor(4));
  });

  it('spreads consecutive slots far apart on the hue circle', () => {
    const hue = (slot: number) =>
      Number(/hsl\((\d+)/.exec(slotColor(slot))![1]);
    for (let s = 0; s < HUE_COUNT - 1; s++) {
      const d = Math.abs(hue(s + 1) - hue(s));
      expect(Math.min(d, 360 - d)).toBeGreaterThan(40);
    }
  });
});
