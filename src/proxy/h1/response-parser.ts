/**
 * An incremental HTTP/1.1 response parser for the upstream client: bytes in, a head and body bytes
 * out, with the body framing of RFC 9112 §6.3 (no body, Content-Length, chunked, or until close).
 * It is strict where a lenient parser would let a backend smuggle a second response onto a pooled
 * connection: conflicting lengths, folded headers and bad chunk sizes are errors, never guesses.
 */
import { Buffer } from "node:buffer";

/** The longest response head accepted (status line and headers); HAProxy's default buffer is 16 KiB. */
export const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 4096;
const CRLF = Buffer.from("\r\n");
const CRLFCRLF = Buffer.from("\r\n\r\n");
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
const INVALID_VALUE = /[\0\r\n]/;

/** How the body of a response ends. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/** A parsed status line and header block. */
export interface ResponseHead {
  status: number;
  statusText: string;
  /** Lower-cased names in arrival order, hop-by-hop framing headers (Transfer-Encoding) removed. */
  headers: [string, string][];
  framing: Framing;
  /** Whether the connection may carry another request after this response. */
  keepAlive: boolean;
  /** The server's `Keep-Alive: timeout=N`, in ms, when it sent one. */
  idleTimeoutMs: number | undefined;
  /** Bytes of the head on the wire, the blank line included. */
  bytes: number;
}

/** A response the parser refused; the connection it came on must be closed. */
export class BadResponseError extends Error {
  readonly code = "EBADRESPONSE";
  constructor(message: string) {
    super(`bad response from server: ${message}`);
  }
}

/** What the parser reports while bytes go in. */
export interface ParserEvents {
  /** A final (non-1xx) head; body events follow. */
  head(head: ResponseHead): void;
  body(chunk: Uint8Array): void;
  /** The body ended (for `close` framing: when `finish()` is called). */
  end(): void;
}

const enum State { Head, Length, ChunkSize, ChunkData, ChunkDataEnd, Trailers, UntilClose, Done }

/** Parses one response at a time; `reset(noBody)` before each request's answer. */
export class ResponseParser {
  readonly #events: ParserEvents;
  #state = State.Done;
  #pending: Buffer | undefined;
  #remaining = 0;
  #noBody = false;

  constructor(events: ParserEvents) {
    this.#events = events;
  }

  /** Expects a new response; `noBody` for the answer to HEAD. */
  reset(noBody: boolean): void {
    this.#state = State.Head;
    this.#pending = undefined;
    this.#noBody = noBody;
  }

  /** True once the current response's body has ended. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** True while nothing of the current response has arrived. */
  get untouched(): boolean {
    return this.#state === State.Head && this.#pending === undefined;
  }

  /** Feeds bytes. Throws `BadResponseError`; bytes past the end of the response are an error too. */
  push(chunk: Uint8Array): void {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#pending) {
      buf = Buffer.concat([this.#pending, buf]);
      this.#pending = undefined;
    }
    let at = 0;
    while (at < buf.length) {
      switch (this.#state) {
        case State.Head: {
          const end = buf.indexOf(CRLFCRLF, at);
          if (end < 0) {
            if (buf.length - at > MAX_HEAD) throw new BadResponseError(`head over ${MAX_HEAD / 1024} KiB`);
            this.#pending = buf.subarray(at);
            return;
          }
          if (end - at > MAX_HEAD) throw new BadResponseError(`head over ${MAX_HEAD / 1024} KiB`);
          const head = parseHead(buf.toString("latin1", at, end), this.#noBody);
          at = end + 4;
          if (head === undefined) continue; // 1xx: the final response follows
          this.#startBody(head.framing);
          this.#events.head(head);
          if (this.done) this.#events.end();
          break;
        }
        case State.Length:
          at = this.#takeBody(buf, at);
          if (this.#remaining === 0) this.#finish();
          break;
        case State.UntilClose:
          this.#events.body(buf.subarray(at));
          return;
        case State.ChunkSize: {
          const end = buf.indexOf(CRLF, at);
          if (end < 0) {
            if (buf.length - at > MAX_CHUNK_LINE) throw new BadResponseError("chunk size line too long");
            this.#pending = buf.subarray(at);
            return;
          }
          const line = buf.toString("latin1", at, end);
          at = end + 2;
          const size = line.split(";", 1)[0]!.trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw new BadResponseError(`invalid chunk size "${size.slice(0, 20)}"`);
          this.#remaining = Number.parseInt(size, 16);
          this.#state = this.#remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData:
          at = this.#takeBody(buf, at);
          if (this.#remaining === 0) this.#state = State.ChunkDataEnd;
          break;
        case State.ChunkDataEnd: {
          if (buf.length - at < 2) {
            this.#pending = buf.subarray(at);
            return;
          }
          if (buf[at] !== 13 || buf[at + 1] !== 10) throw new BadResponseError("chunk not followed by CRLF");
          at += 2;
          this.#state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          // Trailers are read and dropped (the runtime's HTTP server cannot send them): an empty line ends them.
          const end = buf.indexOf(CRLF, at);
          if (end < 0) {
            if (buf.length - at > MAX_HEAD) throw new BadResponseError("trailers too long");
            this.#pending = buf.subarray(at);
            return;
          }
          const empty = end === at;
          at = end + 2;
          if (empty) this.#finish();
          break;
        }
        case State.Done:
          throw new BadResponseError("data after the end of the response");
      }
    }
  }

  /** The server closed the connection: ends a body framed by close, or fails an unfinished one. */
  finish(): void {
    if (this.#state === State.UntilClose) return this.#finish();
    if (this.#state !== State.Done) throw new BadResponseError(this.untouched ? "connection closed before any answer" : "connection closed before the response ended");
  }

  /** Passes on up to `#remaining` body bytes from `at`; returns where they ended. */
  #takeBody(buf: Buffer, at: number): number {
    const n = Math.min(this.#remaining, buf.length - at);
    this.#remaining -= n;
    this.#events.body(buf.subarray(at, at + n));
    return at + n;
  }

  #startBody(framing: Framing): void {
    if (framing.kind === "none") this.#state = State.Done;
    else if (framing.kind === "chunked") this.#state = State.ChunkSize;
    else if (framing.kind === "close") this.#state = State.UntilClose;
    else if (framing.length === 0) this.#state = State.Done;
    else {
      this.#remaining = framing.length;
      this.#state = State.Length;
    }
  }

  #finish(): void {
    this.#state = State.Done;
    this.#events.end();
  }
}

/** Parses a head; undefined for a 1xx interim response, which the caller skips. */
export function parseHead(text: string, noBody: boolean): ResponseHead | undefined {
  const lines = text.split("\r\n");
  const m = STATUS_LINE.exec(lines[0]!);
  if (!m) throw new BadResponseError(`invalid status line "${lines[0]!.slice(0, 60)}"`);
  const minor = m[1]!;
  const status = Number(m[2]);
  // Above 599 `new Response` throws a RangeError, which would leave the exchange hanging.
  if (status < 100 || status > 599) throw new BadResponseError(`invalid status ${status}`);
  if (status < 200) {
    if (status === 101) throw new BadResponseError("unexpected 101 Switching Protocols");
    return undefined;
  }
  const headers: [string, string][] = [];
  let length: string | undefined;
  let chunked = false;
  let transferEncoding = false;
  let connection = "";
  let idleTimeoutMs: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new BadResponseError(line.startsWith(" ") || line.startsWith("\t") ? "folded header line" : `invalid header line "${line.slice(0, 60)}"`);
    const name = line.slice(0, colon).toLowerCase();
    if (!TOKEN.test(name)) throw new BadResponseError(`invalid header name "${name.slice(0, 60)}"`);
    const value = line.slice(colon + 1).trim();
    // A bare CR or LF (a second header smuggled in) or NUL: `new Headers` would throw on it.
    if (INVALID_VALUE.test(value)) throw new BadResponseError(`invalid value of header "${name}"`);
    if (name === "content-length") {
      if (!/^\d{1,15}$/.test(value) && !/^(\d{1,15})(\s*,\s*\1)+$/.test(value)) throw new BadResponseError(`invalid Content-Length "${value.slice(0, 40)}"`);
      const one = value.split(",", 1)[0]!.trim();
      if (length !== undefined && length !== one) throw new BadResponseError("conflicting Content-Length headers");
      length = one;
    } else if (name === "transfer-encoding") {
      transferEncoding = true;
      chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
      continue; // the body is passed on decoded; the runtime's HTTP server frames it again
    } else if (name === "connection") {
      connection += `${value.toLowerCase()},`;
    } else if (name === "keep-alive") {
      const t = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(value);
      if (t) idleTimeoutMs = Number(t[1]) * 1000;
    }
    headers.push([name, value]);
  }
  const closes = /(?:^|,)\s*close\s*,/.test(connection);
  const keepAlive = minor === "1" ? !closes : /(?:^|,)\s*keep-alive\s*,/.test(connection) && !closes;
  let framing: Framing;
  if (noBody || status === 204 || status === 304) framing = { kind: "none" };
  else if (transferEncoding) {
    // RFC 9112 §6.1: with Transfer-Encoding, Content-Length is ignored (and must not be passed on).
    if (length !== undefined) {
      for (let at = headers.length - 1; at >= 0; at--) if (headers[at]![0] === "content-length") headers.splice(at, 1);
    }
    framing = chunked ? { kind: "chunked" } : { kind: "close" };
  } else if (length !== undefined) framing = { kind: "length", length: Number(length) };
  else framing = { kind: "close" };
  return {
    status,
    statusText: m[3] ?? "",
    headers,
    framing,
    keepAlive: keepAlive && framing.kind !== "close",
    idleTimeoutMs,
    bytes: text.length + 4,
  };
}
