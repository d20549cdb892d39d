/**
 * The stable color of a step, used everywhere a step appears (cell border, DAG node, run view). Pure; no DOM.
 *
 * A step's preferred color slot comes from a hash of its name, so it keeps its color when other steps are added,
 * removed or reordered. Within one notebook, a name whose slot is already taken by an earlier step moves to the next
 * free slot, so the steps of a pipeline (up to HUE_COUNT of them) never share a color. Slots are spread around the hue
 * circle by the golden angle, so neighbouring slots differ strongly.
 *
 * Saturation and lightness are fixed at values that read on both JupyterLab's light and dark themes: these are the only
 * colors of this extension not taken from JupyterLab's CSS variables, because the themes define no categorical palette.
 */

/** The number of color slots. */
export const HUE_COUNT = 16;

const GOLDEN_ANGLE = 137.508;

/** 32-bit FNV-1a hash of a string, finished with murmur3's avalanche so short, similar names spread well. */
export function hashName(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** The preferred slot of a step name. */
export function preferredSlot(name: string): number {
  return hashName(name) % HUE_COUNT;
}

/** The CSS color of a slot. */
export function slotColor(slot: number): string {
  const hue = Math.round((slot * GOLDEN_ANGLE) % 360);
  return `hsl(${hue}, 62%, 52%)`;
}

/** The color of a step on its own (no notebook context): its preferred slot. */
export function stepColor(name: string): string {
  return slotColor(preferredSlot(name));
}

/**
 * The colors of a notebook's steps, given in notebook order: each takes its preferred slot, or the next free one when
 * an earlier step has it. Past HUE_COUNT steps, colors repeat (preferred slots again).
 */
export function assignStepColors(
  names: readonly string[]
): Map<string, string> {
  const used = new Set<number>();
  const out = new Map<string, string>();
  for (const name of names) {
    if (out.has(name)) {
      continue;
    }
    let slot = preferredSlot(name);
    if (used.size < HUE_COUNT) {
      while (used.has(slot)) {
        slot = (slot + 1) % HUE_COUNT;
      }
      used.add(slot);
    }
    out.set(name, slotColor(slot));
  }
  return out;
}

/** A lookup over assigned colors with the standalone color as fallback. */
export function colorLookup(
  colors: ReadonlyMap<string, string>
): (name: string) => string {
  return name => colors.get(name) ?? stepColor(name);
}
