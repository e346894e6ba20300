/**
 * Header field names as the HTTP/1.1 parsers (client and server) keep them: validated and
 * lower-cased. A server sends the same few names again and again, mostly capitalised; lower-casing
 * each afresh cost about a third of parsing a response head on Bun 1.4.5 (bench/, 2026-11-26), so
 * names seen before come from a bounded cache.
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Distinct names remembered; a flood of made-up names only stops being cached. */
const MAX_KNOWN = 1024;
const known = new Map<string, string>();

/** The lower-cased form of `raw`, or undefined when `raw` is not a valid field name (a token). */
export function fieldName(raw: string): string | undefined {
  const cached = known.get(raw);
  if (cached !== undefined) return cached;
  if (!TOKEN.test(raw)) return undefined;
  const name = raw.toLowerCase();
  if (known.size < MAX_KNOWN) known.set(raw, name);
  return name;
}
