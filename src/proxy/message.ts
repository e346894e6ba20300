/**
 * The shapes of a request and its headers as the proxy path reads them. A Web `Request` and
 * `Headers` fit them, so the runtime's HTTP server hands its own objects over; tenbin's own
 * HTTP/1.1 server (`listener/h1/`) hands over lighter ones, because on Bun building a `Request`
 * and its `Headers` costs more per request than the rest of the front end together (bench/).
 */
import type { HeaderMap, ProxyResponse } from "../runtime/types.ts";
import { type FieldMark, fieldName, INDEXED_FIELDS } from "./h1/fields.ts";

export type { HeaderMap, ProxyRequest, ProxyResponse } from "../runtime/types.ts";

/**
 * Header fields in arrival order as [name, value] pairs, names lower-cased (the parsers' output,
 * taken over as is). `get` joins repeated fields with ", " as `Headers` does; `forEach` gives each
 * field as it came.
 *
 * A list made by `scanned` holds a received header block as text instead, with the lines of the
 * names in `INDEXED_FIELDS` found. Reading those names, dropping them and appending fields keep it
 * text, and `lines()` passes it on as it came minus the dropped lines; anything else splits it into
 * pairs first (once). So a proxied message whose fields nobody edits costs no string per field.
 */
export class HeaderList implements HeaderMap {
  /** The fields as pairs; undefined while they are still the received text. */
  #fields: [string, string][] | undefined;
  /** The received text, while it has not been split; its fields are the lines from `#from` on. */
  #text = "";
  #from = 0;
  /** The lines of indexed names in `#text`, in order. */
  #marks: FieldMark[] = [];
  /** Fields appended to the text. */
  #added: [string, string][] | undefined;

  /** `fields` is taken over, not copied: names must already be lower case. */
  constructor(fields: [string, string][] = []) {
    this.#fields = fields;
  }

  /**
   * The fields of `text` from `from` on: valid lines each ended by CRLF, whose indexed lines are
   * `marks` (as `scanFields` found them; taken over).
   */
  static scanned(text: string, from: number, marks: FieldMark[]): HeaderList {
    const list = new HeaderList();
    list.#fields = undefined;
    list.#text = text;
    list.#from = from;
    list.#marks = marks;
    return list;
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    if (this.#fields !== undefined || !INDEXED_FIELDS.has(key)) return joinValues(this.pairs(), key, null);
    let found: string | null = null;
    for (const mark of this.#marks) {
      if (mark.name === key && !mark.dropped) found = found === null ? mark.value : `${found}, ${mark.value}`;
    }
    return this.#added === undefined ? found : joinValues(this.#added, key, found);
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
    if (this.#fields === undefined) (this.#added ??= []).push(field);
    else this.#fields.push(field);
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    // A name the received text does not hold (`set` of a new field, such as HSTS): the text need
    // not be split, so it keeps the names in their own case.
    if (this.#fields === undefined && !INDEXED_FIELDS.has(key) && !this.#textHolds(key)) {
      if (this.#added !== undefined) this.#added = this.#added.filter(([field]) => field !== key);
      return;
    }
    this.#remove((field) => field === key, INDEXED_FIELDS.has(key));
  }

  /** Whether the received text has a line named `key` (lower case). */
  #textHolds(key: string): boolean {
    return `\r\n${this.#text.slice(this.#from)}`.toLowerCase().includes(`\r\n${key}:`);
  }

  forEach(fn: (value: string, name: string) => void): void {
    for (const field of this.pairs()) fn(field[1], field[0]);
  }

  /** Removes every field whose (lower-case) name is in `names`, in one pass. */
  deleteAll(names: ReadonlySet<string>): void {
    this.#remove((name) => names.has(name), indexesAll(names));
  }

  /** Removes the fields whose names `drops`; `indexed` when every such name is in `INDEXED_FIELDS` (the text can stay). */
  #remove(drops: (name: string) => boolean, indexed: boolean): void {
    if (this.#fields === undefined && indexed) {
      for (const mark of this.#marks) if (drops(mark.name)) mark.dropped = true;
      if (this.#added !== undefined) this.#added = this.#added.filter(([name]) => !drops(name));
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
    return this.#added === undefined ? out : out + fieldLines(new HeaderList(this.#added), skip);
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
        fields.push([fieldName(text.slice(at, colon))!, text.slice(colon + 1, end).trim()]);
      }
      at = end + 2;
    }
    if (this.#added !== undefined) fields.push(...this.#added);
    this.#fields = fields;
    this.#text = "";
    this.#marks = [];
    this.#added = undefined;
    return fields;
  }
}

/** `found` joined with the value of every pair named `key`, ", " between (as `Headers.get` joins them). */
function joinValues(pairs: readonly [string, string][], key: string, found: string | null): string | null {
  for (const [name, value] of pairs) if (name === key) found = found === null ? value : `${found}, ${value}`;
  return found;
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

/** The path and query of an absolute URL exactly as the client sent them (slicing, not parsing, keeps every byte). */
export function pathAndQueryOf(url: string): string {
  const pathStart = url.indexOf("/", url.indexOf("://") + 3);
  return pathStart < 0 ? "/" : url.slice(pathStart);
}

/**
 * An upstream answer without Web objects, for a server that writes answers itself (tenbin's own;
 * see `ProxyRequest.takesLight`). On Bun a `Response` and its `Headers` cost about 14 % of the CPU
 * of a bare proxied request (bench/, 2026-11-26). A body at hand is `whole`; a stream made from it
 * only when someone reads `body`.
 */
export class LightResponse implements ProxyResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: HeaderList;
  /** The whole body when it is at hand (then `body` is made from it on demand). */
  readonly whole: Uint8Array | undefined;
  #body: ReadableStream<Uint8Array> | null;

  constructor(status: number, statusText: string, headers: HeaderList, body: Uint8Array | ReadableStream<Uint8Array> | null) {
    this.status = status;
    this.statusText = statusText;
    this.headers = headers;
    this.whole = body instanceof Uint8Array ? body : undefined;
    this.#body = body instanceof Uint8Array ? null : body;
  }

  get body(): ReadableStream<Uint8Array> | null {
    const whole = this.whole;
    if (this.#body === null && whole !== undefined) {
      this.#body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(whole);
          controller.close();
        },
      });
    }
    return this.#body;
  }

  /** The same answer with another body (a watched stream in place of the client's). */
  withBody(body: ReadableStream<Uint8Array> | null): LightResponse {
    return new LightResponse(this.status, this.statusText, this.headers, body);
  }
}

/** True for a header set with `forEach` and `get` (Web `Headers` or a `HeaderList`), not a plain record or pair list. */
export function isHeaderMap(headers: object): headers is HeaderMap {
  return typeof (headers as Partial<HeaderMap>).forEach === "function" && typeof (headers as Partial<HeaderMap>).get === "function";
}

/** A Web `Headers` copy of `headers`. */
export function copyHeaders(headers: HeaderMap): Headers {
  if (headers instanceof Headers) return new Headers(headers);
  const copy = new Headers();
  headers.forEach((value, name) => copy.append(name, value));
  return copy;
}

/** `headers` as Web `Headers` (for a consumer that needs the Web type, such as fetch): itself when it is one, else a copy. */
export function webHeaders(headers: HeaderMap): Headers {
  return headers instanceof Headers ? headers : copyHeaders(headers);
}
