/**
 * The string level of `${NAME}` expansion (see env.ts for where it applies): hiding references from
 * the YAML parser and expanding them in one string. Free of the `yaml` package, so the start-up fast
 * path (fast-load.ts) can use it without loading that package.
 */

// `${X}` inside a flow collection (`{ token: ${X} }`) would end the plain scalar at `{`, `}` or `,`.
// Before parsing, the YAML-significant characters of each reference are swapped for private-use
// characters of the same length (positions stay right), and swapped back in every parsed scalar.
const SPECIAL = "{}[],#:";
const STAND_INS = "\uE000\uE001\uE002\uE003\uE004\uE005\uE006";
const REFERENCE = /\$?\$\{[^{}\n]*\}/g;
const STAND_IN = /[\uE000-\uE006]/g;
const HAS_STAND_IN = /[\uE000-\uE006]/;

/** Hides the YAML-significant characters of every `${...}` from the YAML parser (same length). */
export function protectReferences(text: string): string {
  // A file that already holds the stand-ins is parsed as is: swapping back would corrupt it.
  if (HAS_STAND_IN.test(text)) return text;
  return text.replace(REFERENCE, (ref) => ref.replace(/[{}[\],#:]/g, (c) => STAND_INS[SPECIAL.indexOf(c)]!));
}

/** Undoes `protectReferences` in one parsed string. */
export function restoreReferences(text: string): string {
  return text.replace(STAND_IN, (c) => SPECIAL[STAND_INS.indexOf(c)]!);
}

/** The result of expanding one string. */
export interface Expansion {
  value: string;
  /** Whether the string held a `${...}` reference (only then is a plain scalar re-resolved). */
  expanded: boolean;
  errors: string[];
}

const NAME_REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/**
 * Replaces `${NAME}` and `${NAME:-default}` (default used when NAME is unset or empty) and turns
 * `$${` into a literal `${`. An unset NAME without default is an error naming it.
 */
export function expandVariables(text: string, env: Readonly<Record<string, string | undefined>>): Expansion {
  const errors: string[] = [];
  let value = "";
  let expanded = false;
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) break;
    value += text.slice(i, dollar);
    if (text.startsWith("$${", dollar)) {
      value += "${";
      i = dollar + 3;
      continue;
    }
    if (!text.startsWith("${", dollar)) {
      value += "$";
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf("}", dollar + 2);
    if (close < 0) {
      errors.push(`unclosed "\${" in "${text}"; write \${NAME} or \${NAME:-default}, or $\${ for a literal "\${"`);
      return { value: text, expanded: true, errors };
    }
    const inner = text.slice(dollar + 2, close);
    const match = NAME_REFERENCE.exec(inner);
    i = close + 1;
    expanded = true;
    if (!match) {
      errors.push(`bad variable reference "\${${inner}}"; expected \${NAME} or \${NAME:-default} (write $\${ for a literal "\${")`);
      continue;
    }
    const name = match[1]!;
    const fallback = match[2];
    const set = env[name];
    if (set !== undefined && (set !== "" || fallback === undefined)) value += set;
    else if (fallback !== undefined) value += fallback;
    else errors.push(`environment variable "${name}" is not set; set it or give a default with \${${name}:-value}`);
  }
  value += text.slice(i);
  return { value, expanded, errors };
}
