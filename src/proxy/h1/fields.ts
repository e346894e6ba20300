/**
 * Header lines as the HTTP/1.1 head parsers (the client's answers, the own server's requests, the
 * upgrade tunnel's 101) read them: split, validated, names lower-cased. A server sends the same few
 * names again and again, mostly capitalised, so names seen before come from a bounded cache.
 */

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A bare CR or LF (a second header smuggled in) or NUL in a field value. */
const INVALID_VALUE = /[\0\r\n]/;
/** Distinct names remembered; a flood of made-up names only stops being cached. */
const MAX_KNOWN = 1024;
const known = new Map<string, string>();

/** Whether `text` is an HTTP token (a method, a field name). */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

/** The lower-cased form of `raw`, or undefined when `raw` is not a valid field name (a token). */
export function fieldName(raw: string): string | undefined {
  const cached = known.get(raw);
  if (cached !== undefined) return cached;
  if (!TOKEN.test(raw)) return undefined;
  const name = raw.toLowerCase();
  if (known.size < MAX_KNOWN) known.set(raw, name);
  return name;
}

/**
 * Makes the parser's error for a refused line: `message`, and the start of the offending text when
 * there is one worth quoting (a parser that answers clients may leave it out).
 */
export type FieldError = (message: string, quoted: string | undefined) => Error;

/** Splits one header line into its lower-cased name and trimmed value; throws `fail`'s error. */
export function splitField(line: string, fail: FieldError): [string, string] {
  const colon = line.indexOf(":");
  if (colon <= 0) throw line.startsWith(" ") || line.startsWith("\t") ? fail("folded header line", undefined) : fail("invalid header line", line.slice(0, 60));
  const name = fieldName(line.slice(0, colon));
  if (name === undefined) throw fail("invalid header name", line.slice(0, Math.min(colon, 60)));
  const value = line.slice(colon + 1).trim();
  if (INVALID_VALUE.test(value)) throw fail(`invalid value of header "${name}"`, undefined);
  return [name, value];
}

/**
 * Whether a message lets the connection carry another one: HTTP/1.1 unless it says `close`, HTTP/1.0
 * only when it says `keep-alive` (and not `close`). `connection` is every Connection value
 * lower-cased, each followed by a comma.
 */
export function keepsAlive(http11: boolean, connection: string): boolean {
  const closes = /(?:^|,)\s*close\s*,/.test(connection);
  return http11 ? !closes : /(?:^|,)\s*keep-alive\s*,/.test(connection) && !closes;
}
