/**
 * Pipeline parameter values as typed in the panel: parsed to the type of the notebook's default (number, boolean,
 * string, or JSON for lists and dicts), so the runner receives typed values. Pure.
 */

export type ParsedValue =
  { ok: true; value: unknown } | { ok: false; error: string };

export function parseParameterValue(text: string, def: unknown): ParsedValue {
  const t = text.trim();
  if (typeof def === 'number') {
    const n = Number(t);
    if (t === '' || !Number.isFinite(n)) {
      return { ok: false, error: `expected a number, got "${text}"` };
    }
    return { ok: true, value: n };
  }
  if (typeof def === 'boolean') {
    if (/^(true|false)$/i.test(t)) {
      return { ok: true, value: t.toLowerCase() === 'true' };
    }
    return { ok: false, error: `expected true or false, got "${text}"` };
  }
  if (typeof def === 'string') {
    return { ok: true, value: text };
  }
  try {
    return { ok: true, value: JSON.parse(t) };
  } catch {
    return { ok: false, error: `expected a JSON value, got "${text}"` };
  }
}

/**
 * The parameters to send: only those whose typed value differs from the default. Returns the first error instead when
 * a value cannot be parsed.
 */
export function parametersToSend(
  defaults: Record<string, unknown>,
  texts: Record<string, string>
):
  { ok: true; values: Record<string, unknown> } | { ok: false; error: string } {
  const values: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(texts)) {
    if (!(name in defaults)) {
      continue;
    }
    const parsed = parseParameterValue(text, defaults[name]);
    if (!parsed.ok) {
      return { ok: false, error: `${name}: ${parsed.error}` };
    }
    if (JSON.stringify(parsed.value) !== JSON.stringify(defaults[name])) {
      values[name] = parsed.value;
    }
  }
  return { ok: true, values };
}
