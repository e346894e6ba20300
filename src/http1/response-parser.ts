/**
 * An incremental HTTP/1.1 response parser for the upstream client: bytes in, a head and body bytes
 * out, with the body framing of RFC 9112 §6.3 (no body, Content-Length, chunked, or until close).
 * It is strict where a lenient parser would let a backend smuggle a second response onto a pooled
 * connection: conflicting lengths, folded headers and bad chunk sizes are errors, never guesses.
 */
import { Buffer } from "node:buffer";
import { BodyDecoder, type Framing } from "./body-decoder.ts";
import { type FieldError, keepsAlive, lengthDigits, scanFields } from "./fields.ts";
import { joinBytes } from "./join-bytes.ts";
import { HeaderList } from "./header-list.ts";

/** The longest response head accepted (status line and headers); HAProxy's default buffer is 16 KiB. */
export const MAX_HEAD = 64 * 1024;
const CRLFCRLF = Buffer.from("\r\n\r\n");
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
/** Nearly every answer's status line, and what `STATUS_LINE` reads from it. */
const USUAL_STATUS_LINE = "HTTP/1.1 200 OK\r\n";
const USUAL_STATUS: readonly (string | undefined)[] = ["HTTP/1.1 200 OK", "1", "200", "OK"];

export type { Framing };

/** A parsed status line and header block. */
export interface ResponseHead {
  status: number;
  statusText: string;
  /** The header fields in arrival order, Transfer-Encoding removed (the body is passed on decoded). */
  headers: HeaderList;
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
  /** Optional: see `BodyEvents.bodyRange` (not for a body framed by the close). */
  bodyRange?(bytes: Buffer, start: number, end: number): void;
  /** The body ended (for `close` framing: when `finish()` is called). */
  end(): void;
}

/** Parses one response at a time; `reset(noBody)` before each request's answer. */
export class ResponseParser {
  readonly #events: ParserEvents;
  readonly #body: BodyDecoder;
  /** Whether the head of the current response is still being read. */
  #inHead = false;
  #pending: Buffer | undefined;
  /** Bytes of the pending head already searched for its blank line (none was there). */
  #searched = 0;
  #noBody = false;
  /** Bytes searched for the ends of heads: a measure of work for tests. */
  scanned = 0;

  constructor(events: ParserEvents) {
    this.#events = events;
    this.#body = new BodyDecoder(events, (message) => new BadResponseError(message), "answer");
  }

  /** Expects a new response; `noBody` for the answer to HEAD. */
  reset(noBody: boolean): void {
    this.#inHead = true;
    this.#pending = undefined;
    this.#searched = 0;
    this.#noBody = noBody;
  }

  /** True once the current response's body has ended. */
  get done(): boolean {
    return !this.#inHead && this.#body.done;
  }

  /** True while nothing of the current response has arrived. */
  get untouched(): boolean {
    return this.#inHead && this.#pending === undefined;
  }

  /** Feeds bytes. Throws `BadResponseError`; bytes past the end of the response are an error too. */
  push(chunk: Uint8Array): void {
    let buf = chunk instanceof Buffer ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#pending) {
      // Kept bytes grow in place and the head search resumes where it stopped: a head sent one
      // byte per read costs O(n), not O(n²).
      buf = joinBytes(this.#pending, buf);
      this.#pending = undefined;
    }
    let at = 0;
    while (at < buf.length) {
      if (this.#inHead) {
        const from = at + (this.#searched > 3 ? this.#searched - 3 : 0);
        const end = buf.indexOf(CRLFCRLF, from);
        this.scanned += (end < 0 ? buf.length : end + 4) - from;
        this.#searched = end < 0 ? buf.length - at : 0;
        if (end < 0) {
          if (buf.length - at > MAX_HEAD) throw new BadResponseError(`head over ${MAX_HEAD / 1024} KiB`);
          this.#pending = buf.subarray(at);
          return;
        }
        if (end - at > MAX_HEAD) throw new BadResponseError(`head over ${MAX_HEAD / 1024} KiB`);
        const head = parseHead(buf.toString("latin1", at, end + 2), this.#noBody);
        if (head === undefined) {
          at = end + 4;
          continue; // 1xx: the final response follows
        }
        head.headers.readFrom(buf, at);
        at = end + 4;
        this.#inHead = false;
        this.#events.head(head);
        this.#body.start(head.framing);
        continue;
      }
      if (this.#body.done) throw new BadResponseError("data after the end of the response");
      const stop = this.#body.decode(buf, at);
      if (stop < buf.length && !this.#body.done) {
        this.#pending = buf.subarray(stop);
        return;
      }
      at = stop;
    }
  }

  /** The server closed the connection: ends a body framed by close, or fails an unfinished one. */
  finish(): void {
    if (!this.#inHead && this.#body.close()) return;
    throw new BadResponseError(this.untouched ? "connection closed before any answer" : "connection closed before the response ended");
  }
}

/** A refused header line of an answer, quoting it (the log and the 502's reason name the server's bytes). */
export const badResponseLine: FieldError = (message, quoted) => new BadResponseError(quoted === undefined ? message : `${message} "${quoted}"`);

const TRANSFER_ENCODING: ReadonlySet<string> = new Set(["transfer-encoding"]);
/** A lone `Connection: keep-alive` in the form `keepsAlive` reads. */
const KEEP_ALIVE_LIST = "keep-alive,";
const TRANSFER_ENCODING_AND_LENGTH: ReadonlySet<string> = new Set(["transfer-encoding", "content-length"]);

/**
 * Parses a head: the status line and header lines, each ended by CRLF, the blank line excluded (a
 * missing last CRLF is added). Undefined for a 1xx interim response, which the caller skips. A 101
 * is refused unless `switching` (the answer to an upgrade request): then it is a head with the same
 * field rules, no body and no keep-alive; what the upgrade itself needs is the caller's to check.
 */
export function parseHead(text: string, noBody: boolean, switching = false): ResponseHead | undefined {
  if (!text.endsWith("\r\n")) text += "\r\n";
  // The usual status line without a regular expression, its match array and three substrings.
  const usual = text.startsWith(USUAL_STATUS_LINE);
  const lineEnd = usual ? USUAL_STATUS_LINE.length - 2 : text.indexOf("\r\n");
  const m = usual ? USUAL_STATUS : STATUS_LINE.exec(text.slice(0, lineEnd));
  if (!m) throw new BadResponseError(`invalid status line "${text.slice(0, Math.min(lineEnd, 60))}"`);
  const minor = m[1]!;
  const status = Number(m[2]);
  // Above 599 `new Response` throws a RangeError, which would leave the exchange hanging.
  if (status < 100 || status > 599) throw new BadResponseError(`invalid status ${status}`);
  if (status < 200 && (status !== 101 || !switching)) {
    if (status === 101) throw new BadResponseError("unexpected 101 Switching Protocols");
    return undefined;
  }
  // A bare CR or LF in a value (a second header smuggled in) is refused there: `new Headers` would throw on it.
  const scanned = scanFields(text, lineEnd + 2, badResponseLine, "answer");
  const marks = scanned.marks;
  let length: string | undefined;
  let transferEncoding: string | undefined;
  let connection = "";
  let idleTimeoutMs: number | undefined;
  for (const { name, value } of marks) {
    if (name === "content-length") {
      // Compared as sent: "05" in one line and "5" in another are a conflict.
      const one = lengthDigits(value);
      if (one === undefined) throw new BadResponseError(`invalid Content-Length "${value.slice(0, 40)}"`);
      if (length !== undefined && length !== one) throw new BadResponseError("conflicting Content-Length headers");
      length = one;
    } else if (name === "transfer-encoding") {
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
    } else if (name === "connection") {
      // The usual lone "keep-alive" as the one string keepsAlive compares it with: no joined string per answer.
      connection = connection === "" && value === "keep-alive" ? KEEP_ALIVE_LIST : `${connection}${value.toLowerCase()},`;
    } else if (name === "keep-alive") {
      const t = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(value);
      if (t) idleTimeoutMs = Number(t[1]) * 1000;
    }
  }
  // The body is passed on decoded and framed again, so `chunked` must be the one coding: a coding
  // that does not end in chunked would be read until close and reach the client without its label
  // (gzip bytes it cannot know about), one before chunked would be dropped the same way. HAProxy
  // answers 502 to the first; tenbin to both (RFC 9112 §6.3 ¶4 lets a proxy refuse them).
  if (transferEncoding !== undefined && !/^chunked$/i.test(transferEncoding)) {
    throw new BadResponseError(`transfer coding not supported "${transferEncoding.slice(0, 40)}"`);
  }
  const headers = HeaderList.scanned(text, lineEnd + 2, scanned);
  const keepAlive = keepsAlive(minor === "1", connection);
  let framing: Framing;
  // After a 101 the connection carries another protocol: no HTTP body, no next answer.
  if (noBody || status === 204 || status === 304 || status === 101) framing = { kind: "none" };
  else if (transferEncoding !== undefined) {
    // RFC 9112 §6.1: with Transfer-Encoding, Content-Length is ignored (and must not be passed on).
    framing = { kind: "chunked" };
  } else if (length !== undefined) framing = { kind: "length", length: Number(length) };
  else framing = { kind: "close" };
  // The body is passed on decoded; whoever writes it to the client frames it again.
  if (transferEncoding !== undefined) headers.deleteAll(length === undefined ? TRANSFER_ENCODING : TRANSFER_ENCODING_AND_LENGTH);
  return {
    status,
    statusText: m[3] ?? "",
    headers,
    framing,
    // Both lengths in one answer (RFC 9112 §6.3 ¶3): chunked wins, as HAProxy reads it, but the
    // connection is not trusted with another request.
    keepAlive: keepAlive && status !== 101 && framing.kind !== "close" && (transferEncoding === undefined || length === undefined),
    idleTimeoutMs,
    bytes: text.length + 2,
  };
}
