/**
 * The stable color of a step, used everywhere a step appears (cell border, DAG node, run view). Derived from the step
 * name only, so a step keeps its color when other steps are added, removed or reordered. Pure; no DOM.
 *
 * The hue comes from a hash of the name; saturation and lightness are fixed at values that read on both JupyterLab's
 * light and dark themes (the only colors in this extension not taken from JupyterLab's CSS variables, because the
 * themes define no categorical palette).
 */

/** The number of distinct hues; 360 / 18 = 20 degrees apart, far enough to tell neighbours apart. */
export const HUE_COUNT = 18;

/** 32-bit FNV-1a hash of a string. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The hue (degrees) of a step. */
export function stepHue(name: string): number {
  return (fnv1a(name) % HUE_COUNT) * (360 / HUE_COUNT);
}

/** The CSS color of a step. */
export function stepColor(name: string): string {
  return `hsl(${stepHue(name)}, 60%, 50%)`;
}
