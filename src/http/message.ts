/**
 * The shapes of a request and its headers as the proxy path reads them. A Web `Request` and
 * `Headers` fit them, so the runtime's HTTP server hands its own objects over; tenbin's own
 * HTTP/1.1 server (`listener/h1-server/`) hands over lighter ones, because on Bun building a `Request`
 * and its `Headers` costs more per request than the rest of the front end together (bench/).
 */
import type { Buffer } from "node:buffer";
import type { HeaderList } from "../http1/header-list.ts";

/**
 * The header operations the proxy path uses; names are case-insensitive. Web `Headers` fit, and so
 * does the own server's `HeaderList` (http1/header-list.ts).
 */
export interface HeaderMap {
  get(name: string): string | null;
  has(name: string): boolean;
  set(name: string, value: string): void;
  append(name: string, value: string): void;
  delete(name: string): void;
  forEach(fn: (value: string, name: string) => void): void;
}

/**
 * A client request as the proxy path reads it: a Web `Request` fits, and so does the lighter one of
 * tenbin's own HTTP/1.1 server (listener/h1-server/).
 */
export interface ProxyRequest {
  readonly method: string;
  /** Absolute: scheme, authority, then the path and query as the client sent them. */
  readonly url: string;
  /** The path and query of `url`, where the server has them at hand (tenbin's own); else they are read from `url`. */
  readonly pathAndQuery?: string;
  readonly headers: HeaderMap;
  readonly body: ReadableStream<Uint8Array> | null;
  /** Aborted when the client goes away before its answer is sent. */
  readonly signal: AbortSignal;
  arrayBuffer(): Promise<ArrayBuffer>;
  /**
   * Set by a server that writes answers itself (tenbin's own): the upstream client may then answer
   * with a `LightResponse` (http1/header-list.ts) instead of a Web `Response`.
   */
  readonly takesLight?: boolean;
}

/** An answer as the proxy path reads and edits it: a Web `Response`, or a lighter one for a server that takes it. */
export interface ProxyResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: HeaderMap;
  readonly body: ReadableStream<Uint8Array> | null;
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
  #whole: Uint8Array | undefined;
  /** A whole body kept as a range of the read it came in (`ranged`), until someone wants it as bytes. */
  #source: Buffer | undefined;
  #start = 0;
  #length = -1;
  #body: ReadableStream<Uint8Array> | null;

  constructor(status: number, statusText: string, headers: HeaderList, body: Uint8Array | ReadableStream<Uint8Array> | null) {
    this.status = status;
    this.statusText = statusText;
    this.headers = headers;
    if (body instanceof Uint8Array) {
      this.#whole = body;
      this.#length = body.byteLength;
    }
    this.#body = body instanceof Uint8Array ? null : body;
  }

  /**
   * An answer whose whole body is `length` bytes of `source` from `start`: the writer copies them
   * from there (`copyWhole`), with no view of the read made (~0.3 µs a view, see `BodyEvents.bodyRange`).
   */
  static ranged(status: number, statusText: string, headers: HeaderList, source: Buffer, start: number, length: number): LightResponse {
    const response = new LightResponse(status, statusText, headers, null);
    response.#source = source;
    response.#start = start;
    response.#length = length;
    return response;
  }

  /** The whole body when it is at hand (then `body` is made from it on demand). */
  get whole(): Uint8Array | undefined {
    if (this.#whole === undefined && this.#source !== undefined) this.#whole = this.#source.subarray(this.#start, this.#start + this.#length);
    return this.#whole;
  }

  /** The length of the whole body when it is at hand, else -1. */
  get wholeLength(): number {
    return this.#length;
  }

  /** Copies the whole body (it must be at hand) into `dst` from `at`; returns its length. */
  copyWhole(dst: Buffer, at: number): number {
    if (this.#whole === undefined && this.#source !== undefined) return this.#source.copy(dst, at, this.#start, this.#start + this.#length);
    dst.set(this.#whole!, at);
    return this.#length;
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
