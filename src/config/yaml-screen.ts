/**
 * Screens YAML text for the start-up fast path (fast-load.ts): a runtime's native parser may read
 * it only when the text keeps to a plain subset of YAML that it and the `yaml` package read alike.
 * The screen counts the mapping keys as written; the caller compares that with the keys the native
 * parser produced, which catches what a plain object cannot show: duplicate keys (the `yaml` path
 * rejects them, a native parser keeps the last).
 *
 * Outside the subset (anchors, aliases, tags, merge keys, directives, complex keys, multi-line
 * quoted scalars, unusual first characters...) it answers undefined: the config then goes the
 * `yaml` way, which reports every problem with file:line:column. Being unsure is always allowed;
 * a wrong count is not.
 */

// Control characters, NEL and the Unicode line separators, a BOM, a CR not before an LF: both
// parsers have rules for them that this screen does not model.
const UNSUPPORTED_TEXT = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\x85\u2028\u2029\uFEFF\uFFFE\uFFFF]|\r(?!\n)/;

// Signed hex or octal (`-0x1F`) and hex or octal past 2^53: the two parsers read them differently.
const NUMBER_FORMS = /[-+]0[xXoO]|0[xXoO][0-9a-fA-F_]{13}/;

// What a plain scalar may start with here. YAML indicators (`!&*%@\`|>'",[]{}#?:-`) are not in it;
// `-`, `?` and `:` can start a plain scalar but are left to the `yaml` path.
const PLAIN_START = /[A-Za-z0-9_.\/$~+=()^\\;\u00A0-\uFFFD]/;

const BLOCK_SCALAR_HEADER = /^[-+0-9]*[ \t]*(#.*)?$/;

const isBlank = (c: string | undefined) => c === undefined || c === " " || c === "\t";

/**
 * The number of mapping keys written in `text` (every `key:` of block and flow mappings), or
 * undefined when the text is outside the subset the fast path trusts.
 */
export function countMappingKeys(text: string): number | undefined {
  if (UNSUPPORTED_TEXT.test(text) || NUMBER_FORMS.test(text)) return undefined;
  let keys = 0;
  /** Open flow collections, innermost last; a `{` entry must have a key (`{a, b}` has keys without `:`). */
  const flows: { map: boolean; content: boolean; key: boolean }[] = [];
  const endEntry = (): boolean => {
    const top = flows[flows.length - 1]!;
    const ok = !top.map || !top.content || top.key;
    top.content = top.key = false;
    return ok;
  };
  /** Inside a block scalar (`|`, `>`) whose owner node starts at this column; -1 when not. */
  let blockParent = -1;
  /** The next character that is not a space starts a node. */
  let nodeStart = true;
  /** Right after a closing quote or bracket: only `:` (after a quote), `,`, `]`, `}` or a comment may follow. */
  let after: "quote" | "close" | undefined;
  /**
   * Column of the node owning the outermost open flow collection: its further lines must be indented
   * deeper (the `yaml` package insists, Bun's parser does not always).
   */
  let flowOwner = -1;
  for (const rawLine of text.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    let indent = 0;
    while (line[indent] === " ") indent++;
    if (blockParent >= 0) {
      if (indent === line.length || indent > blockParent) continue;
      blockParent = -1;
    }
    /** Column of the node that owns a value started on this line (a key, or a `-` entry). */
    let owner = -1;
    /** Column where the current scalar began. */
    let tokenStart = -1;
    if (flows.length > 0 && indent <= flowOwner && line.trim() !== "") return undefined;
    if (flows.length === 0) {
      if (line[indent] === "\t" && line.trim() !== "") return undefined;
      if (line.startsWith("%") || line.startsWith("...")) return undefined;
      if (line.startsWith("---")) {
        if (line.slice(3).trim() !== "") return undefined;
        continue;
      }
      nodeStart = true;
      after = undefined;
    }
    for (let i = indent; i < line.length; i++) {
      const c = line[i]!;
      if (c === " " || c === "\t") continue;
      if (c === "#" && (i === 0 || isBlank(line[i - 1]))) break;
      const next = line[i + 1];
      if (after !== undefined) {
        if (c === ":" && after === "quote" && isBlank(next)) {
          keys++;
          if (flows.length > 0) flows[flows.length - 1]!.key = true;
          owner = tokenStart;
          nodeStart = true;
        } else if (flows.length > 0 && c === ",") {
          if (!endEntry()) return undefined;
          nodeStart = true;
        } else if (flows.length > 0 && (c === "]" || c === "}")) {
          if (!endEntry()) return undefined;
          flows.pop();
          after = "close";
          continue;
        } else {
          return undefined;
        }
        after = undefined;
        continue;
      }
      if (nodeStart) {
        if (flows.length > 0 && c !== "]" && c !== "}") flows[flows.length - 1]!.content = true;
        if (c === '"' || c === "'") {
          const end = closingQuote(line, i);
          // A quoted scalar that goes on to the next line has folding rules left to the `yaml` path.
          if (end < 0) return undefined;
          tokenStart = i;
          i = end;
          nodeStart = false;
          after = "quote";
        } else if (c === "[" || c === "{") {
          if (flows.length === 0) flowOwner = owner >= 0 ? owner : indent;
          flows.push({ map: c === "{", content: false, key: false });
        } else if ((c === "]" || c === "}") && flows.length > 0) {
          if (!endEntry()) return undefined;
          flows.pop();
          nodeStart = false;
          after = "close";
        } else if (c === "-" && isBlank(next) && flows.length === 0) {
          owner = i;
        } else if ((c === "|" || c === ">") && flows.length === 0) {
          if (owner < 0 || !BLOCK_SCALAR_HEADER.test(line.slice(i + 1))) return undefined;
          blockParent = owner;
          break;
        } else if (PLAIN_START.test(c) || (c === "-" && !isBlank(next))) {
          tokenStart = i;
          nodeStart = false;
        } else {
          return undefined;
        }
        continue;
      }
      // Inside a plain scalar.
      if (c === ":" && isBlank(next)) {
        keys++;
        if (flows.length > 0) flows[flows.length - 1]!.key = true;
        owner = tokenStart;
        nodeStart = true;
      } else if (flows.length > 0) {
        if (c === "," || c === "]" || c === "}") {
          if (!endEntry()) return undefined;
          if (c === ",") nodeStart = true;
          else {
            flows.pop();
            after = "close";
          }
        } else if (c === "[" || c === "{" || (c === ":" && (next === "," || next === "]" || next === "}"))) {
          return undefined;
        }
      }
    }
  }
  return flows.length === 0 ? keys : undefined;
}

/** Index of the quote that closes the scalar opened at `start`, or -1 when it is not on this line. */
function closingQuote(line: string, start: number): number {
  const quote = line[start];
  for (let i = start + 1; i < line.length; i++) {
    const c = line[i];
    if (quote === '"' && c === "\\") i++;
    else if (c === quote) {
      if (quote === "'" && line[i + 1] === "'") i++;
      else return i;
    }
  }
  return -1;
}

/** The number of keys of every mapping in parsed data (arrays and objects, recursively). */
export function countParsedKeys(data: unknown, depth = 0): number | undefined {
  if (depth > 64) return undefined;
  if (Array.isArray(data)) {
    let total = 0;
    for (const item of data) {
      const n = countParsedKeys(item, depth + 1);
      if (n === undefined) return undefined;
      total += n;
    }
    return total;
  }
  if (data === null || typeof data !== "object") return 0;
  if (Object.getPrototypeOf(data) !== Object.prototype && Object.getPrototypeOf(data) !== null) return undefined;
  let total = 0;
  for (const value of Object.values(data)) {
    const n = countParsedKeys(value, depth + 1);
    if (n === undefined) return undefined;
    total += n + 1;
  }
  return total;
}
