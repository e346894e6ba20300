/**
 * The shapes of a request and its headers as the proxy path reads them. A Web `Request` and
 * `Headers` fit them, so the runtime's HTTP server hands its own objects over; tenbin's own
 * HTTP/1.1 server (`listener/h1/`) hands over lighter ones, because on Bun building a `Request`
 * and its `Headers` costs more per request than the rest of the front end together (bench/).
 */
import type { HeaderMap, ProxyResponse } from "../runtime/types.ts";

export type { HeaderMap, ProxyRequest, ProxyResponse } from "../runtime/types.ts";

/**
 * Header fields in arrival order as [name, value] pairs, names lower-cased (the parsers' output,
 * taken over as is). `get` joins repeated fields with ", " as `Headers` does; `forEach` gives each
 * field as it came.
 */
export class HeaderList implements HeaderMap {
  readonly #fields: [string, string][];

  /** `fields` is taken over, not copied: names must already be lower case. */
  constructor(fields: [string, string][] = []) {
    this.#fields = fields;
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    let found: string | null = null;
    for (const field of this.#fields) {
      if (field[0] === key) found = found === null ? field[1] : `${found}, ${field[1]}`;
    }
    return found;
  }

  has(name: string): boolean {
    const key = name.toLowerCase();
    for (const field of this.#fields) if (field[0] === key) return true;
    return false;
  }

  set(name: string, value: string): void {
    this.delete(name);
    this.#fields.push([name.toLowerCase(), value]);
  }

  append(name: string, value: string): void {
    this.#fields.push([name.toLowerCase(), value]);
  }

  delete(name: string): void {
    const key = name.toLowerCase();
    const fields = this.#fields;
    let to = 0;
    for (const field of fields) if (field[0] !== key) fields[to++] = field;
    fields.length = to;
  }

  forEach(fn: (value: string, name: string) => void): void {
    for (const field of this.#fields) fn(field[1], field[0]);
  }

  /** Removes every field whose (lower-case) name is in `names`, in one pass. */
  deleteAll(names: ReadonlySet<string>): void {
    const fields = this.#fields;
    let to = 0;
    for (const field of fields) if (!names.has(field[0])) fields[to++] = field;
    fields.length = to;
  }
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
