/**
 * Turns zod issues into messages a person can act on: `unknown key "balanse"; did you mean
 * "balance"?` rather than `Unrecognized key(s) in object`, and a failed union into the one branch
 * that explains it rather than a dump of every branch.
 */
import type { z } from "zod";
import type { KeySegment } from "./config-error.ts";
import { address, duration, size } from "./schema.ts";
import { allowedKeysAt, closest, valueKindAt } from "./schema-keys.ts";
import type { PathIssue } from "./yaml-source.ts";

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

// Messages made by `leafMessage` carry this mark, so a message the schema wrote itself (which zod
// prefers over the parse-time error map) can be told apart and kept as written.
const OURS = "\u0000";

/**
 * Error map for `safeParse(data, { error: leafMessage, reportInput: true })`: the message of a leaf
 * issue where no context is needed. Messages set in the schema take precedence over it.
 */
export function leafMessage(issue: RawIssue): string {
  return OURS + leafText(issue);
}

function leafText(issue: RawIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${typeName(issue.expected)}, got ${describeValue(issue.input)}`;
    case "too_small":
      return issue.origin === "array"
        ? `expected at least ${issue.minimum} ${issue.minimum === 1 ? "item" : "items"}, got ${countOf(issue.input)}`
        : `${describeValue(issue.input)} is too small; expected ${issue.inclusive === false ? "more than" : "at least"} ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array"
        ? `expected at most ${issue.maximum} items, got ${countOf(issue.input)}`
        : `${describeValue(issue.input)} is too large; expected ${issue.inclusive === false ? "less than" : "at most"} ${issue.maximum}`;
    case "invalid_format":
      return `bad value ${quote(issue.input)}; expected ${issue.pattern ? `a string matching ${issue.pattern}` : `a valid ${issue.format}`}`;
    case "not_multiple_of":
      return `${describeValue(issue.input)} is not a multiple of ${issue.divisor}`;
    default:
      return `bad value ${describeValue(issue.input)}`;
  }
}

/** Human messages, each with the key path and what it points at, for the issues of one parse. */
export function describeIssues(issues: readonly Issue[], root: z.ZodType): PathIssue[] {
  const described = issues.flatMap((issue) => describe(issue, [], root));
  // `pol: api` gives both "unknown key pol; did you mean pool?" and "missing pool": keep the first.
  const hinted = new Set(described.flatMap((d) => (d.hint ? [pathKey([...d.path.slice(0, -1), d.hint])] : [])));
  const missing = new Map<string, { path: readonly KeySegment[]; keys: string[] }>();
  const out: PathIssue[] = [];
  for (const { path, message, target, missing: key } of described) {
    if (key === undefined) {
      out.push(target ? { path, message, target } : { path, message });
    } else if (!hinted.has(pathKey([...path, key]))) {
      const group = missing.get(pathKey(path)) ?? { path, keys: [] };
      group.keys.push(key);
      missing.set(pathKey(path), group);
    }
  }
  for (const { path, keys } of missing.values()) {
    const list = keys.map(quote);
    const message = list.length === 1 ? `missing required key ${list[0]}` : `missing required keys ${list.slice(0, -1).join(", ")} and ${list.at(-1)}`;
    out.push({ path, message });
  }
  return out;
}

/** A described issue, with what the merging above needs to know. */
interface Described extends PathIssue {
  /** The required key this issue says is missing (its path is the map's). */
  missing?: string;
  /** The valid key an unknown key was taken for. */
  hint?: string;
}

function pathKey(path: readonly KeySegment[]): string {
  return JSON.stringify(path);
}

function describe(issue: Issue, base: readonly KeySegment[], root: z.ZodType): Described[] {
  const path = [...base, ...issue.path.map(toSegment)];
  const ours = issue.message.startsWith(OURS);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({ path: [...path, key], target: "key", ...unknownKey(key, allowedKeysAt(root, path, issue.input)) }));
    case "invalid_union":
      return describeUnion(issue, path, root);
    case "invalid_key":
      return issue.issues.map((inner) => ({
        path,
        target: "key",
        message: `bad ${path.at(-2) === "pools" ? "pool name" : "key"} ${quote(issue.input)}; ${stripOurs(inner.message)}`,
      }));
    case "invalid_type":
      // zod reports a missing key as the value `undefined`; point at the map that lacks it.
      if (issue.input === undefined && path.length > 0 && ours) {
        return [{ path: path.slice(0, -1), message: "", missing: String(path.at(-1)) }];
      }
      if (ours) {
        const wanted = wantedAt(root, path);
        if (wanted) return [{ path, message: `expected ${wanted}, got ${describeValue(issue.input)}` }];
      }
      break;
    case "invalid_value":
      if (ours) return [{ path, message: unknownValue(path, issue.input, issue.values) }];
      break;
  }
  if (ours) return [{ path, message: issue.message.slice(OURS.length) }];
  // The schema's own message; those starting with "expected" say what is right but not what is wrong.
  const message = issue.message.startsWith("expected") && issue.input !== undefined
    ? `bad ${nounOf(path)} ${quote(issue.input)}; ${issue.message}`
    : issue.message;
  return [{ path, message }];
}

function describeUnion(issue: Extract<Issue, { code: "invalid_union" }>, path: KeySegment[], root: z.ZodType): Described[] {
  const branches = issue.errors;
  // A discriminated union (listeners by `mode`) whose key names no branch: `unknown mode "udpx"`.
  if (issue.discriminator !== undefined && branches.length === 0 && "options" in issue && issue.options) {
    const key = issue.discriminator;
    const value = isRecord(issue.input) ? issue.input[key] : issue.input;
    const at = path.at(-1) === key ? path : [...path, key];
    return [{ path: at, message: unknownValue(at, value, issue.options.filter((o) => o !== undefined && o !== null)) }];
  }
  const candidates = branches.filter((branch) => !branch.some((i) => isTypeMismatch(i, issue.input)));
  if (candidates.length === 0) {
    // No branch took a value of this type: say which types would do.
    const wanted = wantedAt(root, path) ?? joinOr([...new Set(branches.flatMap((b) => b.filter((i) => i.path.length === 0).map(expectedOf)))]);
    return [{ path, message: `expected ${wanted}, got ${describeValue(issue.input)}` }];
  }
  if (candidates.length === 1) return candidates[0]!.flatMap((i) => describe(i, path, root));

  // Several object shapes took the value; judge its keys against all of them together.
  const allowed = allowedKeysAt(root, path);
  const given = isRecord(issue.input) ? Object.keys(issue.input) : [];
  const unknown = given.filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    return unknown.map((key) => ({ path: [...path, key], target: "key", ...unknownKey(key, allowed) }));
  }
  const onlyKeyProblems = candidates.every((branch) => branch.every((i) => i.path.length <= 1 && (i.code === "unrecognized_keys" || isMissing(i))));
  if (onlyKeyProblems && given.length > 1) {
    return [{ path, message: `keys ${given.map(quote).join(" and ")} cannot be combined; use one of ${allowed.join(", ")}` }];
  }
  if (onlyKeyProblems) return [{ path, message: `expected one of the keys ${allowed.join(", ")}` }];
  // Otherwise the branch that got furthest: fewest unknown or missing keys, then fewest problems.
  const score = (branch: readonly Issue[]) =>
    branch.filter((i) => i.code === "unrecognized_keys" || isMissing(i)).length * 100 + branch.length;
  const best = candidates.reduce((a, b) => (score(b) < score(a) ? b : a));
  return best.flatMap((i) => describe(i, path, root));
}

/** A branch issue saying the value is of another type altogether (a string where a map goes). */
function isTypeMismatch(issue: Issue, input: unknown): boolean {
  if (issue.path.length > 0) return false;
  if (issue.code === "invalid_type") return true;
  // A literal (`true`) is a type of its own; an enum of the input's type is a near miss, not a mismatch.
  return issue.code === "invalid_value" && (issue.values.length === 1 || issue.values.every((v) => typeof v !== typeof input));
}

function isMissing(issue: Issue): boolean {
  return issue.code === "invalid_type" && issue.input === undefined && issue.path.length === 1;
}

function expectedOf(issue: Issue): string {
  if (issue.code === "invalid_type") return typeName(issue.expected);
  if (issue.code === "invalid_value") return issue.values.map((v) => String(v)).join(" or ");
  return "another value";
}

// Values written as strings in a small language of their own: say which language on a type error.
const KINDS = { duration, size, address };
const KIND_TEXT: Record<keyof typeof KINDS, string> = {
  duration: "a duration such as 250ms, 2s, 1m or 1h",
  size: "a size such as 65536, 64KB or 10MB",
  address: "host:port such as 127.0.0.1:8080 or :8080",
};

function wantedAt(root: z.ZodType, path: readonly KeySegment[]): string | undefined {
  const kind = valueKindAt(root, path, KINDS);
  return kind ? KIND_TEXT[kind] : undefined;
}

// Keys of one listener mode written on a listener of another: say which mode they belong to.
const MODE_KEYS: Record<string, string> = {
  pool: "an http listener has routes: [{ pool: NAME }]; pool alone is for mode: tcp or mode: udp",
  routes: "routes are for http listeners and tcp listeners (routed by SNI); a udp listener names one pool",
};

function unknownKey(key: string, allowed: readonly string[]): { message: string; hint?: string } {
  const hint = closest(key, allowed);
  if (hint) return { message: `unknown key ${quote(key)}; did you mean ${quote(hint)}?`, hint };
  const mode = MODE_KEYS[key];
  if (mode && allowed.includes("listen")) return { message: `unknown key ${quote(key)}; ${mode}` };
  return { message: allowed.length > 0 ? `unknown key ${quote(key)}; expected one of ${allowed.join(", ")}` : `unknown key ${quote(key)}` };
}

// What an enum value is called in "unknown X": named after the key that holds it.
const VALUE_NOUNS: Record<string, string> = { balance: "algorithm", hash_fallback: "algorithm", mode: "mode", same_site: "same_site value", initial: "initial state" };

function unknownValue(path: readonly KeySegment[], input: unknown, values: readonly unknown[]): string {
  const noun = VALUE_NOUNS[String(path.at(-1))] ?? "value";
  const list = values.map(String);
  return `unknown ${noun} ${quote(input)}; expected ${list.length === 1 ? list[0] : `one of ${list.join(", ")}`}`;
}

function nounOf(path: readonly KeySegment[]): string {
  const last = path.at(-1);
  return last === "name" || last === "pool" ? "name" : "value";
}

function typeName(expected: string): string {
  switch (expected) {
    case "object": case "record": case "map": return "a map";
    case "array": case "tuple": return "a list";
    case "int": return "an integer";
    case "boolean": return "true or false";
    case "undefined": return "nothing";
    default: return `a ${expected}`;
  }
}

/** `string "abc"`, `number 3`, `a list`, `an empty value` — what YAML made of the text. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return `string ${quote(value)}`;
  return `${typeof value} ${String(value)}`;
}

function quote(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function joinOr(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "another value") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

function countOf(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

function stripOurs(message: string): string {
  return message.startsWith(OURS) ? message.slice(OURS.length) : message;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toSegment(key: PropertyKey): KeySegment {
  return typeof key === "number" ? key : String(key);
}
