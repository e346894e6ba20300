/**
 * The header list of an HTTP/1.1 message as the codec hands it over: a received block kept as text
 * with the lines of the names the proxy acts on found, split into pairs only when someone needs to.
 */
import type { Buffer } from "node:buffer";
import type { HeaderMap } from "../http/message.ts";
import { type FieldMark, fieldName, INDEXED_FIELDS, type ScannedFields, shapeBit, sliceOws } from "./fields.ts";

/**
 * Header fields in arrival order as [name, value] pairs, names lower-cased (the parsers' output,
 * taken over as is). `get` joins repeated fields with ", " as `Headers` does; `forEach` gives each
 * field as it came.
 *
 * A list made by `scanned` holds a received header block as text instead, with the lines of the
 * names in `INDEXED_FIELDS` found. Reading those names, dropping any name and appending fields keep it
 * text, and `lines()` passes it on as it came minus the dropped lines; anything else splits it into
 * pairs first (once). So a proxied message whose fields nobody edits costs no string per field.
 */
export class HeaderList implements HeaderMap {
  /** The fields as pairs; undefined while they are still the received text. */
  #fields: [string, string][] | undefined;
  /** The received text, while it has not been split; its fields are the lines from `#from` on. */
  #text = "";
  #from = 0;
  /** The lines of indexed names in `#text`, and the dropped lines of other names, in order. */
  #marks: FieldMark[] = [];
  /** The shapes of the names in `#text` (`ScannedFields.shapes`). */
  #shapes = 0;
  /** Fields appended to the text. */
  #added: [string, string][] | undefined;
  /** `#added` as header lines, kept while fields are only appended (undefined once one is dropped). */
  #addedLines: string | undefined;
  /** Whether an appended name is indexed: if not, reading an indexed name skips `#added`. */
  #addedIndexed = false;
  /** The bytes `#text` was read from (`#text[i]` is `#source[#sourceAt + i]`), while it is text. */
  #source: Buffer | undefined;
  #sourceAt = 0;

  /** `fields` is taken over, not copied: names must already be lower case. */
  constructor(fields: [string, string][] = []) {
    this.#fields = fields;
  }

  /**
   * The fields of `text` from `from` on: valid lines each ended by CRLF, as `scanFields` found them
   * (its marks are taken over).
   */
  static scanned(text: string, from: number, scanned: ScannedFields): HeaderList {
    // Given a shared empty list, not the default (a new array per received head, dropped at once).
    const list = new HeaderList(NO_PAIRS);
    list.#fields = undefined;
    list.#text = text;
    list.#from = from;
    list.#marks = scanned.marks;
    list.#shapes = scanned.shapes;
    return list;
  }

  /**
   * Tells the list that its received text is `bytes` from `at` on, read as Latin-1 (one byte a
   * character), so `writeLines` can copy those bytes instead of making strings. The bytes must not
   * change while the list lives (the codec's reads are fresh buffers, and joined reads are appended to,
   * never overwritten).
   */
  readFrom(bytes: Buffer, at: number): void {
    if (this.#fields !== undefined) return;
    this.#source = bytes;
    this.#sourceAt = at;
  }

  get(name: string): string | null {
    // Callers pass lower-case constants nearly always (~10 reads per proxied request): an indexed
    // name as given needs no lower-casing.
    const indexed = INDEXED_FIELDS.has(name);
    const key = indexed ? name : name.toLowerCase();
    if (this.#fields !== undefined || !(indexed || INDEXED_FIELDS.has(key))) return joinValues(this.pairs(), key, null);
    let found: string | null = null;
    const marks = this.#marks;
    for (let i = 0; i < marks.length; i++) {
      const mark = marks[i]!;
      if (mark.name === key && !mark.dropped) found = found === null ? mark.value : `${found}, ${mark.value}`;
    }
    // The writer reads Content-Length and Date of every answer: fields a policy or the sticky cookie
    // appended are not looked through for them.
    return this.#added === undefined || !this.#addedIndexed ? found : joinValues(this.#added, key, found);
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  set(name: string, value: string): void {
    this.delete(name);
    this.append(name, value);
  }

  append(name: string, value: string): void {
    const field: [string, string] = [name.toLowerCase(), value];
    if (this.#fields !== undefined) return void this.#fields.push(field);
    if (INDEXED_FIELDS.has(field[0])) this.#addedIndexed = true;
    if (this.#added === undefined) {
      this.#added = [field];
      this.#addedLines = `${field[0]}: ${value}\r\n`;
    } else {
      this.#added.push(field);
      if (this.#addedLines !== undefined) this.#addedLines += `${field[0]}: ${value}\r\n`;
    }
  }

  /**
   * Appends the fields of `block` (made once by `fieldBlock`, for fields a policy adds to every
   * answer): on received text they go out as the block's lines, with no string made per answer.
   */
  appendBlock(block: FieldBlock): void {
    if (this.#fields !== undefined) {
      for (const field of block.fields) this.#fields.push([field[0], field[1]]);
      return;
    }
    // The block's pairs themselves are shared (nothing here writes into a pair).
    const fields = block.fields as [string, string][];
    if (block.indexed) this.#addedIndexed = true;
    if (this.#added === undefined) {
      // A copy of the array: the block's own is shared by every answer.
      this.#added = fields.slice();
      this.#addedLines = block.lines;
      return;
    }
    for (const field of fields) this.#added.push(field);
    if (this.#addedLines !== undefined) this.#addedLines += block.lines;
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    // A name that is not indexed (`set` of a new field such as HSTS, a policy removing Server):
    // its lines, if the received text has any, are dropped as indexed ones are, so the text need
    // not be split and keeps the names in their own case.
    if (this.#fields === undefined && !INDEXED_FIELDS.has(key)) {
      if ((this.#shapes & shapeBit(key.length, key.charCodeAt(0))) !== 0) this.#walkDropping([key]);
      this.#dropAdded((field) => field === key);
      return;
    }
    this.#remove((field) => field === key, INDEXED_FIELDS.has(key));
  }

  /**
   * Marks the received lines named by one of `keys` (lower case) dropped, in one walk over the
   * lines: an indexed line's mark is dropped, any other line becomes a dropped mark in its place
   * among the others (once, however often it is deleted). Names are compared in any case without
   * slicing: lower-casing the block to search it cost ~0.5 µs per answer.
   */
  #dropLines(names: NameShapes): void {
    // Only the names whose shape the block has can be in it (a policy setting HSTS on an answer
    // without it walks nothing).
    if ((this.#shapes & names.any) === 0) return;
    let present: string[] | undefined;
    for (let i = 0; i < names.keys.length; i++) if ((this.#shapes & names.bits[i]!) !== 0) (present ??= []).push(names.keys[i]!);
    if (present !== undefined) this.#walkDropping(present);
  }

  #walkDropping(keys: readonly string[]): void {
    const text = this.#text;
    const marks = this.#marks;
    let i = 0;
    for (let start = this.#from; start < text.length; ) {
      const eol = text.indexOf("\r\n", start);
      if (eol < 0) break; // never in a validated block; no endless loop if it were
      const end = eol + 2;
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k]!;
        if (text.charCodeAt(start + key.length) !== 58 /* : */ || !isNamedAt(text, start, key)) continue;
        while (i < marks.length && marks[i]!.start < start) i++;
        const mark = marks[i];
        if (mark?.start === start) mark.dropped = true;
        else marks.splice(i, 0, { name: key, value: "", start, end, dropped: true });
        break;
      }
      start = end;
    }
  }

  /** Drops the appended fields whose names `drops`. */
  #dropAdded(drops: (name: string) => boolean): void {
    const added = this.#added;
    if (added !== undefined && added.some((field) => drops(field[0]))) {
      this.#added = added.filter((field) => !drops(field[0]));
      this.#addedLines = undefined;
    }
  }

  forEach(fn: (value: string, name: string) => void): void {
    for (const field of this.pairs()) fn(field[1], field[0]);
  }

  /**
   * Removes every field whose (lower-case) name is in `names`, in one pass: received text stays
   * text, names that are not indexed found by one walk over its lines.
   */
  deleteAll(names: ReadonlySet<string>): void {
    if (this.#fields !== undefined) return this.#remove((name) => names.has(name), false);
    const unindexed = unindexedOf(names);
    if (unindexed.keys.length > 0) this.#dropLines(unindexed);
    const marks = this.#marks;
    for (let i = 0; i < marks.length; i++) if (names.has(marks[i]!.name)) marks[i]!.dropped = true;
    if (this.#added !== undefined) this.#dropAdded((name) => names.has(name));
  }

  /** Removes the fields whose names `drops`; `indexed` when every such name is in `INDEXED_FIELDS` (the text can stay). */
  #remove(drops: (name: string) => boolean, indexed: boolean): void {
    if (this.#fields === undefined && indexed) {
      for (const mark of this.#marks) if (drops(mark.name)) mark.dropped = true;
      this.#dropAdded(drops);
      return;
    }
    const fields = this.pairs();
    let to = 0;
    for (const field of fields) if (!drops(field[0])) fields[to++] = field;
    fields.length = to;
  }

  /** The fields as [name, value] pairs (the list's own array: edits show in it). */
  pairs(): [string, string][] {
    return this.#fields ?? this.#split();
  }

  /**
   * Every field whose name is not in `skip` as header lines, each ended by CRLF. Received text goes
   * out as it came (names in their own case); otherwise names are lower case.
   */
  lines(skip: ReadonlySet<string>): string {
    if (this.#fields !== undefined || !indexesAll(skip)) return fieldLines(this, skip);
    let out = "";
    const text = this.#text;
    let at = this.#from;
    for (const mark of this.#marks) {
      if (!mark.dropped && !skip.has(mark.name)) continue;
      if (mark.start > at) out += text.slice(at, mark.start);
      at = mark.end;
    }
    out += text.slice(at);
    const added = this.#added;
    if (added === undefined) return out;
    const lines = this.#addedLines;
    return lines !== undefined && !added.some((field) => skip.has(field[0])) ? out + lines : out + pairLines(added, skip);
  }

  /**
   * Writes what `lines(skip)` returns into `dst` from `at` (Latin-1) and returns where it ended, or
   * -1 when that might pass `end` (a received block is checked whole, skipped lines included). Received lines go as a copy of the bytes they were read from: the
   * slices, their join and the join's flattening cost ~1 µs per proxied request as strings
   * (bench/inproc-ab.ts, Bun 1.4.5).
   */
  writeLines(dst: Buffer, at: number, skip: ReadonlySet<string>, end: number): number {
    const source = this.#source;
    if (source === undefined || this.#fields !== undefined || !indexesAll(skip)) return writeLatin1(dst, at, this.lines(skip), end);
    const text = this.#text;
    const added = this.#added;
    const addedText = added === undefined ? "" : this.#addedLines !== undefined && !added.some((field) => skip.has(field[0])) ? this.#addedLines : pairLines(added, skip);
    // At most the whole received block and the appended lines.
    if (at + text.length - this.#from + addedText.length > end) return -1;
    const base = this.#sourceAt;
    let from = this.#from;
    for (const mark of this.#marks) {
      if (!mark.dropped && !skip.has(mark.name)) continue;
      if (mark.start > from) at += source.copy(dst, at, base + from, base + mark.start);
      from = mark.end;
    }
    if (text.length > from) at += source.copy(dst, at, base + from, base + text.length);
    return addedText.length === 0 ? at : at + dst.write(addedText, at, "latin1");
  }

  /** Splits the received text into pairs, minus dropped lines, plus appended fields. */
  #split(): [string, string][] {
    const text = this.#text;
    const fields: [string, string][] = [];
    let mark = 0;
    for (let at = this.#from; at < text.length; ) {
      const end = text.indexOf("\r\n", at);
      const next = this.#marks[mark];
      if (next !== undefined && next.start === at) {
        mark++;
        if (!next.dropped) fields.push([next.name, next.value]);
      } else {
        const colon = text.indexOf(":", at);
        fields.push([fieldName(text.slice(at, colon))!, sliceOws(text, colon + 1, end)]);
      }
      at = end + 2;
    }
    if (this.#added !== undefined) fields.push(...this.#added);
    this.#fields = fields;
    this.#text = "";
    this.#marks = [];
    this.#added = undefined;
    this.#addedLines = undefined;
    this.#addedIndexed = false;
    this.#source = undefined;
    return fields;
  }
}

/**
 * Whether the line of `text` at `start` begins with `key` (lower case) in any case. A name of the
 * valid block is an ASCII token, so only A-Z differ from their lower case.
 */
function isNamedAt(text: string, start: number, key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    const c = text.charCodeAt(start + i);
    const k = key.charCodeAt(i);
    if (c !== k && !(k >= 97 && k <= 122 && c === k - 32)) return false;
  }
  return true;
}

/** Fields to append as one (`HeaderList.appendBlock`): lower-case pairs and their header lines. */
export interface FieldBlock {
  readonly fields: readonly (readonly [string, string])[];
  readonly lines: string;
  /** Whether one of its names is indexed. */
  readonly indexed: boolean;
}

/**
 * A block of `fields` (names lower-cased), made once. Not frozen: reading frozen arrays cost 3-4x
 * more on Bun 1.4.5 (they leave the fast indexing mode); `readonly` types keep writers off instead.
 */
export function fieldBlock(fields: readonly (readonly [string, string])[]): FieldBlock {
  const lower = fields.map(([name, value]): readonly [string, string] => [name.toLowerCase(), value]);
  return { fields: lower, lines: pairLines(lower, new Set()), indexed: lower.some(([name]) => INDEXED_FIELDS.has(name)) };
}

/** What `HeaderList.scanned` constructs with; replaced before anyone sees it, never written. */
const NO_PAIRS: [string, string][] = [];

/** `found` joined with the value of every pair named `key`, ", " between (as `Headers.get` joins them). */
function joinValues(pairs: readonly [string, string][], key: string, found: string | null): string | null {
  for (const [name, value] of pairs) if (name === key) found = found === null ? value : `${found}, ${value}`;
  return found;
}

/** Every pair whose name is not in `skip`, as `name: value` lines each ended by CRLF. */
function pairLines(pairs: readonly (readonly [string, string])[], skip: ReadonlySet<string>): string {
  let out = "";
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i]!;
    if (!skip.has(name)) out += `${name}: ${value}\r\n`;
  }
  return out;
}

/** Every field of `headers` whose name is not in `skip`, as `name: value` lines each ended by CRLF. */
function fieldLines(headers: HeaderMap, skip: ReadonlySet<string>): string {
  let out = "";
  headers.forEach((value, name) => {
    if (!skip.has(name)) out += `${name}: ${value}\r\n`;
  });
  return out;
}

/**
 * The header lines of `headers` minus the names in `skip`, each ended by CRLF, for a writer of
 * HTTP/1.1 heads: a received block as it came (`HeaderList.lines`), any other set name by name.
 */
export function headerLines(headers: HeaderMap, skip: ReadonlySet<string>): string {
  return headers instanceof HeaderList ? headers.lines(skip) : fieldLines(headers, skip);
}

/**
 * Writes `headerLines(headers, skip)` into `dst` from `at` (Latin-1); returns where it ended, or -1
 * when that would pass `end` (nothing useful is written then).
 */
export function writeHeaderLines(dst: Buffer, at: number, headers: HeaderMap, skip: ReadonlySet<string>, end: number): number {
  return headers instanceof HeaderList ? headers.writeLines(dst, at, skip, end) : writeLatin1(dst, at, fieldLines(headers, skip), end);
}

/** Writes `text` into `dst` from `at` (Latin-1); returns where it ended, or -1 when that would pass `end`. */
function writeLatin1(dst: Buffer, at: number, text: string, end: number): number {
  return at + text.length > end ? -1 : at + dst.write(text, at, "latin1");
}

/** Appends the fields of `block`: as one on a `HeaderList`, one by one elsewhere. */
export function appendBlock(headers: HeaderMap, block: FieldBlock): void {
  if (headers instanceof HeaderList) headers.appendBlock(block);
  else for (const [name, value] of block.fields) headers.append(name, value);
}

/** Deletes every field whose (lower-case) name is in `names`: in one pass on a `HeaderList`, name by name elsewhere. */
export function deleteFields(headers: HeaderMap, names: ReadonlySet<string>): void {
  if (headers instanceof HeaderList) headers.deleteAll(names);
  else for (const name of names) headers.delete(name);
}

const fullyIndexed = new WeakMap<ReadonlySet<string>, boolean>();

/** Whether every name of `names` is indexed in scanned text (remembered per set: callers pass constants). */
function indexesAll(names: ReadonlySet<string>): boolean {
  let known = fullyIndexed.get(names);
  if (known === undefined) {
    known = [...names].every((name) => INDEXED_FIELDS.has(name));
    fullyIndexed.set(names, known);
  }
  return known;
}

/** Names (lower case) with their shape bits, and all of them OR-ed. */
interface NameShapes {
  keys: readonly string[];
  bits: readonly number[];
  any: number;
}

function nameShapes(keys: readonly string[]): NameShapes {
  const bits = keys.map((key) => shapeBit(key.length, key.charCodeAt(0)));
  return { keys, bits, any: bits.reduce((all, bit) => all | bit, 0) };
}

const unindexedNames = new WeakMap<ReadonlySet<string>, NameShapes>();

/** The names of `names` that are not indexed in scanned text, with their shapes (remembered per set: callers pass constants). */
function unindexedOf(names: ReadonlySet<string>): NameShapes {
  let found = unindexedNames.get(names);
  if (found === undefined) {
    found = nameShapes([...names].filter((name) => !INDEXED_FIELDS.has(name)));
    unindexedNames.set(names, found);
  }
  return found;
}
