/**
 * Kale's cell-tagging language on the frontend: read a cell's own tags into what the step editor shows, and write the
 * editor's choice back as tags. Pure functions, no JupyterLab imports; the server's kale_ext/notebook/tags.py is the
 * parser that decides what the pipeline is, this module only has to round-trip what the user edits. Which step a
 * cell belongs to (untagged cells, skip cells) is never derived here: the analysis answers it (IAnalysis.cells).
 * tests/fixtures/tag_vectors.json holds the vectors both parsers are checked against.
 *
 * Writing replaces only the structural tags (step:/block:, prev:, imports, functions, pipeline-parameters,
 * pipeline-metrics, skip) and keeps every other tag (image:, limit:, label:, annotation:, secret:, cache:, report:,
 * user tags) untouched and in its original order.
 */

/** What a cell is for. 'none': untagged, a code cell that joins the step above it. */
export type CellKind =
  | 'none'
  | 'step'
  | 'imports'
  | 'functions'
  | 'pipeline-parameters'
  | 'pipeline-metrics'
  | 'skip';

/** The kinds offered by the step editor, with their labels. */
export const CELL_KINDS: ReadonlyArray<{ kind: CellKind; label: string }> = [
  { kind: 'none', label: 'Continue step above' },
  { kind: 'step', label: 'Step' },
  { kind: 'imports', label: 'Imports' },
  { kind: 'functions', label: 'Functions' },
  { kind: 'pipeline-parameters', label: 'Pipeline parameters' },
  { kind: 'pipeline-metrics', label: 'Pipeline metrics' },
  { kind: 'skip', label: 'Skip' }
];

const SPECIAL: ReadonlySet<string> = new Set([
  'imports',
  'functions',
  'pipeline-parameters',
  'pipeline-metrics',
  'skip'
]);

/** The step-name rule of kale_ext/notebook/tags.py (and Kale). */
export const STEP_NAME_RE = /^[_a-zA-Z][-_a-zA-Z0-9]*$/;

/** The meaning of one cell's tags, as the step editor shows it. */
export interface ICellTags {
  kind: CellKind;
  /** The step name when kind is 'step'. */
  name: string | null;
  /** prev:NAME dependencies, in tag order, without duplicates. */
  prev: string[];
}

/** True for tags this module owns (rewritten on edit); everything else is preserved. */
export function isStructuralTag(tag: string): boolean {
  const t = tag.trim();
  if (SPECIAL.has(t)) {
    return true;
  }
  return /^(step|block|prev):/.test(t);
}

/** Read a cell's tags. The first kind tag wins, as in the server's parser; block: is read as step:. */
export function parseTags(
  tags: readonly unknown[] | undefined | null
): ICellTags {
  const out: ICellTags = { kind: 'none', name: null, prev: [] };
  for (const raw of tags ?? []) {
    if (typeof raw !== 'string') {
      continue;
    }
    const tag = raw.trim();
    if (SPECIAL.has(tag)) {
      if (out.kind === 'none') {
        out.kind = tag as CellKind;
      }
      continue;
    }
    const colon = tag.indexOf(':');
    if (colon < 0) {
      continue;
    }
    const head = tag.slice(0, colon);
    const rest = tag.slice(colon + 1);
    if ((head === 'step' || head === 'block') && STEP_NAME_RE.test(rest)) {
      if (out.kind === 'none') {
        out.kind = 'step';
        out.name = rest;
      }
    } else if (
      head === 'prev' &&
      STEP_NAME_RE.test(rest) &&
      !out.prev.includes(rest)
    ) {
      out.prev.push(rest);
    }
  }
  return out;
}

/**
 * The tags for `next`, keeping every non-structural tag of `original` in place. The structural tags come first
 * (kind, then prev: in order), as Kale writes them. prev: is only written for a step, because the server rejects
 * prev: on any other kind of cell. Empty tags (Kale's extension may leave one behind) are dropped. Throws on an invalid
 * step name: callers validate first (see validateStepName).
 */
export function writeTags(
  original: readonly unknown[] | undefined | null,
  next: ICellTags
): string[] {
  const kept = (original ?? []).filter(
    (t): t is string =>
      typeof t === 'string' && t.trim() !== '' && !isStructuralTag(t)
  );
  const head: string[] = [];
  if (next.kind === 'step') {
    const error = validateStepName(next.name ?? '');
    if (error) {
      throw new Error(error);
    }
    head.push(`step:${next.name}`);
    for (const p of uniq(next.prev)) {
      if (STEP_NAME_RE.test(p) && p !== next.name) {
        head.push(`prev:${p}`);
      }
    }
  } else if (next.kind !== 'none') {
    head.push(next.kind);
  }
  return [...head, ...kept];
}

/** null when `name` can be a step name, else a message that says what is wrong and how to fix it. */
export function validateStepName(name: string): string | null {
  if (name.length === 0) {
    return 'A step needs a name.';
  }
  if (!STEP_NAME_RE.test(name)) {
    return (
      `"${name}" is not a valid step name: start with a letter or "_", then use only letters, ` +
      'digits, "_" and "-".'
    );
  }
  return null;
}

/** Turn free text into a valid step name ("Load data" -> "load_data"), or '' if nothing usable is left. */
export function suggestStepName(text: string): string {
  let s = text
    .trim()
    .toLowerCase()
    .replace(/[^-_a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (s && !/^[_a-z]/.test(s)) {
    s = `_${s}`;
  }
  return s;
}

/** Step names declared by tags across the notebook, in order of first appearance. */
export function stepNamesFromTags(
  cellsTags: ReadonlyArray<readonly unknown[] | undefined | null>
): string[] {
  const names: string[] = [];
  for (const tags of cellsTags) {
    const parsed = parseTags(tags);
    if (parsed.kind === 'step' && parsed.name && !names.includes(parsed.name)) {
      names.push(parsed.name);
    }
  }
  return names;
}

function uniq(items: readonly string[]): string[] {
  return items.filter((item, i) => items.indexOf(item) === i);
}

/**
 * The tags of one cell after renaming step `from` to `to`, or null when the cell does not name `from`: its own
 * step:/block: tag (the alias the user chose is kept) and every prev: naming it. A prev: that would make the cell
 * depend on itself (renaming onto the cell's own step) is dropped, as writeTags does.
 */
export function renameStepInTags(
  tags: readonly unknown[] | null | undefined,
  from: string,
  to: string
): string[] | null {
  const strings = (tags ?? []).filter(
    (t): t is string => typeof t === 'string'
  );
  const renamed = strings.map(raw => {
    const t = raw.trim();
    const colon = t.indexOf(':');
    const head = t.slice(0, colon);
    const names = head === 'step' || head === 'block' || head === 'prev';
    return colon > 0 && names && t.slice(colon + 1) === from
      ? `${head}:${to}`
      : raw;
  });
  if (renamed.every((t, i) => t === strings[i])) {
    return null;
  }
  const own = parseTags(renamed);
  return renamed.filter(
    (t, i, all) =>
      all.indexOf(t) === i && !(own.kind === 'step' && t === `prev:${own.name}`)
  );
}
