/**
 * Writes one request on an upstream connection: the head, then the body framed by Content-Length
 * (known bytes, or a stream whose length the client declared) or chunked (a stream of unknown
 * length). Framing headers from the caller are replaced, never trusted: the bytes decide.
 */
import { Buffer } from "node:buffer";
import type { UpstreamConnection } from "./connection.ts";
import { FORWARDING_REPLACES } from "../headers.ts";
import { isHeaderMap } from "../../http/message.ts";
import { CHUNK_END, chunkSizeLine, encodeChunk, LAST_CHUNK } from "../../http1/chunked.ts";
import { requestStart } from "../../http1/request-lines.ts";
import { composeRequestHead, headText, joinLines, SCRATCH, type SplitLines } from "../../http1/scratch.ts";
import type { HeaderMap, UpstreamInit } from "../../runtime/types.ts";

/** Framing and connection headers the writer sets itself. */
const OWN = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "host"]);
/** `OWN` and what a forwarding block replaces. */
const OWN_AND_FORWARDING = new Set([...OWN, ...FORWARDING_REPLACES]);
/** Methods whose bodyless requests still carry `Content-Length: 0` (as fetch sends them). */
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
/** Chunks below this are copied into one write with their framing; larger ones go as three. */
const COPY_BELOW = 16 * 1024;
/**
 * Room the server connection's send buffer must have before the next piece of a streamed body is
 * read: one read of a client connection (Bun reads up to 512 KB). A piece that does not fit leaves
 * its rest in memory until the server takes it; a server that stopped draining then held it.
 */
const READ_ROOM = 512 * 1024;

/**
 * Sends the request of exchange `id`. Without a body, or with one in bytes, it is written at once
 * and nothing is returned unless the socket must drain first (no promise per request on the common
 * path); a stream body returns the promise of its sending. Throws or rejects when the body fails
 * (the caller fails the exchange).
 */
export function writeRequest(
  conn: UpstreamConnection,
  id: number,
  method: string,
  path: string,
  headersInit: UpstreamInit["headers"],
  body: BodyInit | null,
  defaultHost: string,
  forwarding?: SplitLines,
): Promise<void> | undefined {
  const headers = headersInit !== undefined && isHeaderMap(headersInit) ? headersInit : new Headers(headersInit);
  const skip = forwarding === undefined ? OWN : OWN_AND_FORWARDING;
  if (body === null || body === undefined) {
    return markSent(conn, writeComposed(conn, method, path, headers, defaultHost, skip, forwarding, BODY_METHODS.has(method) ? 0 : -1, undefined));
  }
  const bytes = bytesOf(body);
  if (bytes) return markSent(conn, writeComposed(conn, method, path, headers, defaultHost, skip, forwarding, bytes.byteLength, bytes));
  if (!(body instanceof ReadableStream)) throw new TypeError("Unsupported request body type");
  const head = headText(requestStart(method, path, headers, defaultHost), headers, skip, forwarding === undefined ? "" : joinLines(forwarding), -1, "");
  return writeStreamBody(conn, id, head, headers.get("content-length"), body as ReadableStream<Uint8Array>);
}

/**
 * Writes the head (request line, Host, the fields of `headers` minus `skip`, `forwarding` and a
 * `content-length` line when `length` is 0 or more, see `composeRequestHead`) and `body` in one
 * write: through the scratch when they fit, else copied together.
 */
function writeComposed(
  conn: UpstreamConnection,
  method: string,
  path: string,
  headers: HeaderMap,
  defaultHost: string,
  skip: ReadonlySet<string>,
  forwarding: SplitLines | undefined,
  length: number,
  body: Uint8Array | undefined,
): Promise<void> | undefined {
  const bodyBytes = body?.byteLength ?? 0;
  const n = composeRequestHead(method, path, headers.get("host") ?? defaultHost, headers, skip, forwarding, length, bodyBytes);
  if (n >= 0) {
    if (body !== undefined && bodyBytes > 0) SCRATCH.set(body, n);
    return conn.writeBorrowed(SCRATCH, n + bodyBytes);
  }
  const mid = forwarding === undefined ? "" : joinLines(forwarding);
  const headBytes = Buffer.from(headText(requestStart(method, path, headers, defaultHost), headers, skip, mid, length, "\r\n"), "latin1");
  return conn.write(body === undefined || body.byteLength === 0 ? headBytes : Buffer.concat([headBytes, body]));
}

/** Marks the request sent once `written` (a write's drain, if it had to wait) is done. */
function markSent(conn: UpstreamConnection, written: Promise<void> | undefined): Promise<void> | undefined {
  if (written === undefined) {
    conn.requestSent();
    return undefined;
  }
  return written.then(() => conn.requestSent());
}

/** Sends `head` and then a stream body, framed by its declared length or chunked. */
async function writeStreamBody(conn: UpstreamConnection, id: number, head: string, declared: string | null, body: ReadableStream<Uint8Array>): Promise<void> {
  const length = declared !== null && /^\d{1,15}$/.test(declared) ? Number(declared) : undefined;
  head += length === undefined ? "transfer-encoding: chunked\r\n\r\n" : `content-length: ${length}\r\n\r\n`;
  await conn.write(Buffer.from(head, "latin1"));
  const reader = body.getReader();
  let sent = 0;
  try {
    for (;;) {
      const room = sent > 0 ? conn.room(READ_ROOM) : undefined;
      if (room !== undefined) await room;
      if (!conn.isCurrent(id)) return;
      const { done, value } = await reader.read();
      if (!conn.isCurrent(id)) return; // answered early, aborted or failed: the rest is unwanted
      if (done) break;
      if (value.byteLength === 0) continue;
      sent += value.byteLength;
      if (length !== undefined) {
        if (sent > length) throw new Error("request body longer than its Content-Length");
        await conn.write(value);
      } else if (value.byteLength < COPY_BELOW) {
        await conn.write(encodeChunk(value));
      } else {
        conn.write(chunkSizeLine(value.byteLength));
        conn.write(value);
        await conn.write(CHUNK_END);
      }
    }
    if (length !== undefined && sent !== length) throw new Error("request body shorter than its Content-Length");
    if (length === undefined) await conn.write(LAST_CHUNK);
    conn.requestSent();
  } finally {
    if (!conn.isCurrent(id)) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function bytesOf(body: BodyInit): Uint8Array | undefined {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}
