/**
 * `${NAME}` and `${NAME:-default}` in config values, filled in from the environment after the YAML
 * is parsed (so a variable can never inject YAML structure) and before validation. `$${` writes a
 * literal `${`. Map keys are left as written.
 */
import { isMap, isScalar, isSeq, Scalar, type Document, type ScalarTag } from "yaml";
import type { KeySegment } from "./config-error.ts";
import { expandVariables, restoreReferences } from "./env-expand.ts";
import { keyText } from "./yaml-source.ts";

// The string-level half lives in env-expand.ts, which the start-up fast path (fast-load.ts) uses
// without loading the `yaml` package; its names stay importable from here.
export { type Expansion, expandVariables, protectReferences, restoreReferences } from "./env-expand.ts";

/** An expansion problem at a scalar's first character. */
export interface EnvIssue {
  offset: number;
  path: KeySegment[];
  message: string;
}

/**
 * Restores protected references in every scalar of the document and expands variables in every
 * value scalar, in place. A plain scalar that held a reference is re-read as YAML 1.2 core would
 * read it, so `weight: ${W:-3}` becomes the number 3 (an empty result stays an empty string).
 */
export function expandDocumentEnv(doc: Document, env: Readonly<Record<string, string | undefined>>): EnvIssue[] {
  const issues: EnvIssue[] = [];
  const tags = doc.schema.tags.filter((tag): tag is ScalarTag => !tag.collection && tag.test !== undefined);

  const visitValue = (node: unknown, path: KeySegment[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key) && typeof pair.key.value === "string") pair.key.value = restoreReferences(pair.key.value);
        visitValue(pair.value, [...path, keyText(pair.key)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visitValue(item, [...path, index]));
    } else if (isScalar(node) && typeof node.value === "string") {
      const result = expandVariables(restoreReferences(node.value), env);
      for (const message of result.errors) issues.push({ offset: node.range?.[0] ?? 0, path, message });
      node.value = result.expanded && node.type === Scalar.PLAIN ? resolvePlain(result.value, tags) : result.value;
    }
    // Aliases are skipped: the anchored node they stand for is expanded where it is written.
  };

  visitValue(doc.contents, []);
  return issues;
}

/** Reads an expanded plain scalar as YAML's core schema would (null, bool, int, float, string). */
function resolvePlain(text: string, tags: readonly ScalarTag[]): unknown {
  if (text === "") return "";
  for (const tag of tags) {
    if (!tag.test!.test(text)) continue;
    let failed = false;
    const value = tag.resolve(text, () => (failed = true), {});
    if (!failed) return value instanceof Scalar ? value.value : value;
  }
  return text;
}
