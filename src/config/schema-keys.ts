/**
 * Which keys the schema allows at a key path — the list an "unknown key" error suggests from. Reads
 * zod's schema definitions (`_zod.def`), the same data `z.toJSONSchema` reads.
 */
import type { z } from "zod";
import type { KeySegment } from "./config-error.ts";

// The few fields of zod definitions this walk reads; every zod schema has `_zod.def.type`.
interface SchemaDef {
  type: string;
  shape?: Record<string, unknown>;
  element?: unknown;
  valueType?: unknown;
  innerType?: unknown;
  in?: unknown;
  out?: unknown;
  options?: readonly unknown[];
  getter?: () => unknown;
}

function defOf(schema: unknown): SchemaDef | undefined {
  return (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
}

/** Strips wrappers (optional, default, pipe, ...) and spreads unions into their options. */
function expand(schema: unknown, out: unknown[], depth = 0): unknown[] {
  const def = defOf(schema);
  if (!def || depth > 20) return out;
  if (def.innerType !== undefined) return expand(def.innerType, out, depth + 1);
  if (def.type === "pipe") {
    // Keep the pipe too: `valueKindAt` recognises durations, sizes and addresses by their transform.
    out.push(schema);
    return expand(def.in, out, depth + 1);
  }
  if (def.type === "lazy" && def.getter) return expand(def.getter(), out, depth + 1);
  if (def.type === "union" && def.options) {
    for (const option of def.options) expand(option, out, depth + 1);
    return out;
  }
  out.push(schema);
  return out;
}

/** The schemas a value at `path` may be checked against (several where a union allows several). */
export function schemasAt(root: z.ZodType, path: readonly KeySegment[]): unknown[] {
  let current = expand(root, []);
  for (const segment of path) {
    const next: unknown[] = [];
    for (const schema of current) {
      const def = defOf(schema)!;
      if (def.type === "object" && typeof segment === "string" && def.shape && segment in def.shape) {
        expand(def.shape[segment], next);
      } else if (def.type === "array" && typeof segment === "number") {
        expand(def.element, next);
      } else if (def.type === "record" && typeof segment === "string") {
        expand(def.valueType, next);
      }
    }
    current = next;
  }
  return current;
}

/** The kind of a value parsed from a string by one of `kinds` (matched by transform), if any. */
export function valueKindAt<K extends string>(root: z.ZodType, path: readonly KeySegment[], kinds: Readonly<Record<K, z.ZodType>>): K | undefined {
  const here = schemasAt(root, path).map((schema) => defOf(schema)).filter((def) => def?.type === "pipe");
  for (const [kind, schema] of Object.entries(kinds) as [K, z.ZodType][]) {
    const out = defOf(schema)?.out;
    if (out !== undefined && here.some((def) => def?.out === out)) return kind;
  }
  return undefined;
}

/**
 * Keys the objects at `path` allow, in schema order, without repeats. With the `input` object, the
 * branches of a union whose literal keys (such as a listener's `mode`) it contradicts are left out.
 */
export function allowedKeysAt(root: z.ZodType, path: readonly KeySegment[], input?: unknown): string[] {
  const keys = new Set<string>();
  for (const schema of schemasAt(root, path)) {
    const def = defOf(schema)!;
    if (def.type !== "object" || !def.shape || !fitsLiterals(def.shape, input)) continue;
    for (const key of Object.keys(def.shape)) keys.add(key);
  }
  return [...keys];
}

/** Whether `input` agrees with every literal-valued key of `shape` (a missing key agrees with a default). */
function fitsLiterals(shape: Record<string, unknown>, input: unknown): boolean {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return true;
  for (const [key, schema] of Object.entries(shape)) {
    let def = defOf(schema);
    let hasDefault = false;
    while (def?.innerType !== undefined) {
      hasDefault ||= def.type === "default" || def.type === "optional";
      def = defOf(def.innerType);
    }
    const values = (def as { values?: unknown[] } | undefined)?.values;
    if (def?.type !== "literal" || !values) continue;
    const given = (input as Record<string, unknown>)[key];
    if (given === undefined ? !hasDefault : !values.includes(given)) return false;
  }
  return true;
}

/** Edit distance with transpositions (optimal string alignment), for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/** The candidate closest to `word` when it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  // Two edits is the usual typo budget; short words get less, or "foo" would suggest "host".
  const budget = Math.min(2, Math.floor(word.length / 3));
  return bestDistance <= Math.max(1, budget) ? best : undefined;
}
