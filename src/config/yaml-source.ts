/**
 * Maps key paths of the parsed config back to the YAML nodes they came from, so an error found on
 * the plain data (by zod or by the semantic checks) can still name a line and column.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from "yaml";
import { formatKeyPath, type ConfigIssue, type KeySegment } from "./config-error.ts";

/**
 * What an issue points at: the value at the path, or the key naming it (unknown keys). A missing
 * key is reported on the path of the map that should hold it.
 */
export type IssueTarget = "value" | "key";

/** A problem found on the data, before it has a position. */
export interface PathIssue {
  path: readonly KeySegment[];
  message: string;
  target?: IssueTarget;
}

/** A parsed YAML document together with its file name and line table. */
export class YamlSource {
  readonly file: string;
  readonly #doc: Document;
  readonly #lines: LineCounter;

  constructor(file: string, doc: Document, lines: LineCounter) {
    this.file = file;
    this.#doc = doc;
    this.#lines = lines;
  }

  /** 1-based line and column of a character offset. */
  position(offset: number): { line: number; column: number } {
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col };
  }

  /** A `ConfigIssue` at a character offset. */
  issueAtOffset(offset: number, path: readonly KeySegment[], message: string): ConfigIssue {
    return { file: this.file, ...this.position(offset), path: formatKeyPath(path), message };
  }

  /** A `ConfigIssue` at the node the path leads to (or the deepest node that exists on the way). */
  issueAt(issue: PathIssue): ConfigIssue {
    return this.issueAtOffset(this.offsetOf(issue.path, issue.target ?? "value"), issue.path, issue.message);
  }

  /** Character offset of the node at `path`, of its key when `target` is "key". */
  offsetOf(path: readonly KeySegment[], target: IssueTarget): number {
    let node: unknown = this.#doc.contents;
    let pair: Pair | undefined;
    for (const segment of path) {
      node = this.#resolve(node);
      const next = child(node, segment);
      if (!next) return startOf(node);
      pair = next.pair;
      node = next.node;
    }
    const keyNode = pair?.key;
    // An empty value (`pool:` with nothing after it) has no useful position of its own: use its key.
    const emptyValue = isScalar(node) && node.range !== undefined && node.range !== null && node.range[0] === node.range[1];
    if (keyNode && (target === "key" || node === null || node === undefined || emptyValue)) return startOf(keyNode);
    return startOf(node);
  }

  /** Key path and text of the map key written at `offset` (for YAML errors about keys). */
  keyAt(offset: number): { path: KeySegment[]; key: string } | undefined {
    const search = (node: unknown, path: KeySegment[], depth: number): { path: KeySegment[]; key: string } | undefined => {
      if (depth > 200) return undefined;
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = keyText(pair.key);
          if (startOf(pair.key) === offset) return { path: [...path, key], key };
          const found = search(pair.value, [...path, key], depth + 1);
          if (found) return found;
        }
      } else if (isSeq(node)) {
        for (const [index, item] of node.items.entries()) {
          const found = search(item, [...path, index], depth + 1);
          if (found) return found;
        }
      }
      return undefined;
    };
    return search(this.#doc.contents, [], 0);
  }

  #resolve(node: unknown): unknown {
    // `*name` stands for the node anchored `&name`; errors inside it point at the anchored node.
    return isAlias(node) ? node.resolve(this.#doc) : node;
  }
}

function child(node: unknown, segment: KeySegment): { node: unknown; pair?: Pair } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => keyText(p.key) === String(segment));
    return pair ? { node: pair.value, pair } : undefined;
  }
  if (isSeq(node) && typeof segment === "number") {
    return segment < node.items.length ? { node: node.items[segment] } : undefined;
  }
  return undefined;
}

/** The text a map key stands for, as `toJS` would make it an object key. */
export function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function startOf(node: unknown): number {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : 0;
}
