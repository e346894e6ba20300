/**
 * The cross-section checks of a config that failed the schema. A schema error must not hide the
 * other mistakes of the same file (an unknown `balance` value hiding an unknown pool reference), so
 * the values the schema refused are taken out, where that is safe, until the rest parses; the
 * semantic checks then run on it, and their issues under a removed value are dropped.
 */
import type { z } from "zod";
import type { KeySegment } from "./config-error.ts";
import { configSchema } from "./schema.ts";
import { checkSemantics } from "./semantic.ts";
import type { PathIssue } from "./yaml-source.ts";

/** Rounds of removal before giving up (each round removes every value the schema refused). */
const MAX_ROUNDS = 4;

/**
 * Semantic issues of `data` besides the schema's `issues`; empty when the data cannot be repaired
 * safely: a refused list item (removing it would renumber the rest), a refused map key, a refused
 * root, or a value the schema requires.
 */
export function semanticIssuesDespite(data: unknown, issues: readonly z.core.$ZodIssue[]): PathIssue[] {
  let copy: unknown;
  try {
    copy = structuredClone(data);
  } catch {
    return [];
  }
  const removed: KeySegment[][] = [];
  let pending = issues;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    for (const issue of pending) {
      // A refused map key (a bad pool name) cannot go: the names other sections refer to would change.
      if (issue.code === "invalid_key") return [];
      const paths = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
      for (const path of paths as KeySegment[][]) {
        if (!removable(path, removed)) return [];
        if (!removeAt(copy, path)) return [];
        removed.push(path);
      }
    }
    const parsed = configSchema.safeParse(copy);
    if (parsed.success) {
      return checkSemantics(parsed.data).filter((issue) => !removed.some((r) => startsWith(issue.path, r) || startsWith(r, issue.path)));
    }
    pending = parsed.error.issues;
  }
  return [];
}

function removable(path: readonly KeySegment[], removed: readonly KeySegment[][]): boolean {
  const last = path[path.length - 1];
  // Refused again after its removal: the value is required.
  return typeof last === "string" && !removed.some((r) => startsWith(path, r));
}

function removeAt(root: unknown, path: readonly KeySegment[]): boolean {
  let node = root;
  for (const segment of path.slice(0, -1)) {
    if (node === null || typeof node !== "object") return false;
    node = (node as Record<KeySegment, unknown>)[segment];
  }
  if (node === null || typeof node !== "object" || Array.isArray(node)) return false;
  delete (node as Record<string, unknown>)[path[path.length - 1] as string];
  return true;
}

function startsWith(path: readonly KeySegment[], prefix: readonly KeySegment[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);
}
