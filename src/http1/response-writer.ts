/**
 * Writes an answer (a `ProxyResponse`) to an HTTP/1.x client: status line, headers and the body,
 * framed as the server chooses (RFC 9112 §6): Content-Length when the length is known (also for a
 * streamed body that declares one, which Bun.serve drops, oven-sh/bun#10507), chunked for an
 * HTTP/1.1 client otherwise, and until close for an HTTP/1.0 one. A body whose bytes are at hand
 * (a `LightResponse`'s `whole`) goes out with its head in one write, without a body stream.
 */
import { Buffer } from "node:buffer";
import { encodeChunk, LAST_CHUNK } from "./chunked.ts";
import { declaredLength } from "./fields.ts";
import { LightResponse, type ProxyResponse } from "../http/message.ts";
import { composeHead, headText, SCRATCH } from "./scratch.ts";
import { reasonOf } from "./status-text.ts";

/** The connection side the writer needs. */
export interface ResponseSink {
  /** False when bytes are left queued: wait for `drained()` before writing more. */
  write(bytes: Uint8Array): boolean;
  /** `write` of the first `length` bytes of a buffer the caller reuses at once (`TcpConn.writeBorrowed`). */
  writeBorrowed(bytes: Uint8Array, length: number): boolean;
  /** Resolves when the queue is empty again, or the client is gone. */
  drained(): Promise<void>;
  /**
   * Undefined when `bytes` more would go out now without a short write; otherwise resolves once
   * they would (or the client is gone). Optional: a sink without it is written and drained only.
   */
  room?(bytes: number): Promise<void> | undefined;
  /** True once the client is gone: the rest of a streamed body is not wanted. */
  readonly closed: boolean;
}

/**
 * What the connection does after an answer: carry the next request, close cleanly, or cut the
 * connection (a body that broke off must not look complete to the client).
 */
export type AnswerEnd = "keep" | "close" | "abort";

/** What the writer needs to know of the request being answered. */
export interface AnswerFacts {
  /** A HEAD request: headers only. */
  head: boolean;
  /** The client's HTTP minor version (0 or 1). */
  minor: number;
  /** Whether the connection stays open after this answer (the client's wish and the server's). */
  keepAlive: boolean;
}

/** Framing and connection headers the writer sets itself. */
const OWN = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);
/** Above this, head and body go as two writes instead of being copied into one. */
const COPY_BELOW = 64 * 1024;
/**
 * Room the client's send buffer must have before the next piece of a streamed body is read: one
 * read of a server connection with limited reads (~128 KB at most, `SLOW_RECEIVE_BUFFER` doubled).
 * A piece that does not fit leaves its rest in memory until the client takes it; with a slow
 * reader that was ~42 KB per connection (bench/pressure-slow-readers.ts), now it waits unread in
 * the server connection's kernel buffer.
 */
const READ_ROOM = 128 * 1024;

let dateSecond = -1;
let dateLine = "";

/** The Date header line, made once a second. */
function dateField(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** Status lines by status code, each made when its code first comes with that reason phrase. */
const statusLines: (string | undefined)[] = [];
const statusReasons: (string | undefined)[] = [];

/** `HTTP/1.1 <status> <reason>` and CRLF; the same string for the same code and reason (no new one per answer). */
function statusLineOf(status: number, reason: string): string {
  if (statusReasons[status] === reason) return statusLines[status]!;
  const line = `HTTP/1.1 ${status} ${reason}\r\n`;
  if (Number.isInteger(status) && status >= 100 && status <= 999) {
    statusReasons[status] = reason;
    statusLines[status] = line;
  }
  return line;
}

/**
 * The lines after Content-Length and the blank line, without a string made per answer:
 * `[chunked][connection]`, `connection` being 0 (no line), 1 (close) or 2 (keep-alive, to an
 * HTTP/1.0 client).
 */
const LAST_LINES = [
  ["\r\n", "connection: close\r\n\r\n", "connection: keep-alive\r\n\r\n"],
  ["transfer-encoding: chunked\r\n\r\n", "transfer-encoding: chunked\r\nconnection: close\r\n\r\n", "transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"],
] as const;

/** Writes `res`; returns (at once when nothing had to wait) what the connection does next. */
export function writeResponse(sink: ResponseSink, res: ProxyResponse, facts: AnswerFacts): AnswerEnd | Promise<AnswerEnd> {
  const status = res.status;
  const statusLine = statusLineOf(status, res.statusText || reasonOf(status));
  const headers = res.headers;
  // A received header block goes out as it came, minus the names in OWN; the lines this writer
  // sets follow it: Date when missing (`date`), framing (`lengthLine`, `last`), Connection (`last`).
  /** The answer's own Content-Length, when it is a valid one. */
  const lengthField = headers.get("content-length");
  const declared = lengthField === null ? undefined : declaredLength(lengthField);
  const date = headers.has("date") ? "" : dateField();
  const bodyless = status < 200 || status === 204 || status === 304;
  /** A body at hand (a `LightResponse`'s): its length; -1 for a stream (or none). */
  const wholeLength = res instanceof LightResponse ? res.wholeLength : -1;
  const stream = wholeLength < 0 ? res.body : null;
  let keepAlive = facts.keepAlive;
  let length: number | undefined;
  if (wholeLength >= 0) length = wholeLength;
  else if (stream === null || bodyless) length = 0;
  else length = declared;
  // The answer to HEAD has no body but tells the length of the one GET would get.
  const headLength = facts.head && declared !== undefined ? declared : length;
  // Without a length an HTTP/1.0 client learns the end from the close.
  const chunked = length === undefined && facts.minor === 1;
  if (length === undefined && !chunked) keepAlive = false;
  const lengthLine = bodyless || headLength === undefined ? -1 : headLength;
  const last = LAST_LINES[!bodyless && headLength === undefined && chunked ? 1 : 0][!keepAlive ? 1 : facts.minor === 0 ? 2 : 0];
  if (facts.head || bodyless || length === 0) {
    stream?.cancel().catch(() => {});
    writeHead(sink, statusLine, headers, date, lengthLine, last);
    return keepAlive ? "keep" : "close";
  }
  if (wholeLength >= 0) {
    const whole = res as LightResponse;
    const n = wholeLength < COPY_BELOW ? composeHead(statusLine, headers, OWN, date, lengthLine, last, wholeLength) : -1;
    if (n >= 0) sink.writeBorrowed(SCRATCH, n + whole.copyWhole(SCRATCH, n));
    else {
      writeHead(sink, statusLine, headers, date, lengthLine, last);
      sink.write(whole.whole!);
    }
    return keepAlive ? "keep" : "close";
  }
  writeHead(sink, statusLine, headers, date, lengthLine, last);
  return pipeBody(sink, stream!, length, chunked).then((ok) => (!ok ? "abort" : keepAlive ? "keep" : "close"));
}

/** Writes a head without a body (`last` ends with the blank line), through the scratch when it fits. */
function writeHead(sink: ResponseSink, statusLine: string, headers: ProxyResponse["headers"], date: string, lengthLine: number, last: string): void {
  const n = composeHead(statusLine, headers, OWN, date, lengthLine, last);
  if (n >= 0) sink.writeBorrowed(SCRATCH, n);
  else sink.write(Buffer.from(headText(statusLine, headers, OWN, date, lengthLine, last), "latin1"));
}

/** Sends a streamed body; false when it broke off or did not match its declared length. */
async function pipeBody(sink: ResponseSink, body: ReadableStream<Uint8Array>, length: number | undefined, chunked: boolean): Promise<boolean> {
  const reader = body.getReader();
  let sent = 0;
  try {
    for (;;) {
      // (Not for the last 128 KB of an answer: they are at most one read anyway, and a 100 KB answer
      // then costs no syscall more.)
      const room = sent > 0 && (length === undefined || length - sent > READ_ROOM) ? sink.room?.(READ_ROOM) : undefined;
      if (room !== undefined) await room;
      const { done, value } = await reader.read();
      if (done) break;
      if (value.byteLength === 0) continue;
      sent += value.byteLength;
      if (sink.closed || (length !== undefined && sent > length)) {
        reader.cancel().catch(() => {});
        return false;
      }
      const ready = chunked
        ? sink.write(encodeChunk(value))
        : sink.write(value);
      if (!ready) await sink.drained();
    }
  } catch {
    return false;
  } finally {
    reader.releaseLock();
  }
  if (chunked) sink.write(LAST_CHUNK);
  return length === undefined || sent === length;
}
