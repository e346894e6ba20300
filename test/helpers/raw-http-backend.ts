/**
 * A raw TCP "HTTP backend" for client tests: it parses the requests it receives just enough to
 * record them (head text byte for byte, de-chunked body) and lets the test answer with any bytes,
 * valid or not. Every connection is recorded, so tests can count reuse.
 */
import { Buffer } from "node:buffer";
import { createServer, type Socket } from "node:net";

/** One request as it arrived on the wire. */
export interface RawRequest {
  /** The head as sent, without the final blank line. */
  readonly head: string;
  readonly method: string;
  readonly target: string;
  /** Header lines as sent (name as sent, value trimmed). */
  readonly headers: [string, string][];
  /** The body, de-chunked when it came chunked. */
  readonly body: Buffer;
  /** The body bytes as framed on the wire. */
  readonly rawBody: Buffer;
  readonly conn: RawConn;
  /** First value of a header (case-insensitive). */
  header(name: string): string | undefined;
}

/** One accepted connection. */
export interface RawConn {
  readonly id: number;
  readonly socket: Socket;
  readonly requests: RawRequest[];
  /** Set when the connection is gone (either side closed it). */
  closed: boolean;
  /** Writes latin1 text or bytes. */
  send(data: string | Uint8Array): void;
}

/** What the test does with a request: answer, hold, close... */
export type RawHandler = (req: RawRequest, conn: RawConn) => void;

/** A running raw backend. */
export interface RawBackend {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly conns: RawConn[];
  readonly requests: RawRequest[];
  /** Called with a head before its body is read; return true to stop reading this connection. */
  onHead: ((req: Omit<RawRequest, "body" | "rawBody">, conn: RawConn) => boolean) | undefined;
  handler: RawHandler;
  stop(): Promise<void>;
}

/** A `Content-Length` framed 200 (or other) response, as bytes to send. */
export function answer(body = "ok", status = "200 OK", extra = ""): string {
  return `HTTP/1.1 ${status}\r\ncontent-length: ${Buffer.byteLength(body, "latin1")}\r\n${extra}\r\n${body}`;
}

/** Polls `pred` until it holds; throws after `ms` (every wait in these tests is bounded). */
export async function waitUntil(pred: () => boolean, what: string, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Starts a backend on 127.0.0.1, port 0. */
export async function startRawBackend(handler: RawHandler): Promise<RawBackend> {
  const conns: RawConn[] = [];
  const requests: RawRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const conn: RawConn = {
      id: conns.length,
      socket,
      requests: [],
      closed: false,
      send: (data) => void socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data),
    };
    conns.push(conn);
    let buf = Buffer.alloc(0);
    let held = false;
    socket.on("data", (chunk: Buffer) => {
      if (held) return;
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const parsed = parseOne(buf, conn, backend);
        if (parsed === "hold") {
          held = true;
          socket.pause();
          return;
        }
        if (!parsed) return;
        buf = buf.subarray(parsed.used);
        conn.requests.push(parsed.req);
        requests.push(parsed.req);
        backend.handler(parsed.req, conn);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      conn.closed = true;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const backend: RawBackend = {
    port,
    origin: `http://127.0.0.1:${port}`,
    conns,
    requests,
    onHead: undefined,
    handler,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return backend;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

function parseOne(buf: Buffer, conn: RawConn, backend: RawBackend): { req: RawRequest; used: number } | "hold" | undefined {
  const end = buf.indexOf(CRLFCRLF);
  if (end < 0) return undefined;
  const head = buf.toString("latin1", 0, end);
  const lines = head.split("\r\n");
  const [method = "", target = ""] = lines[0]!.split(" ");
  const headers = lines.slice(1).map((l): [string, string] => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]);
  const header = (name: string) => headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
  const partial = { head, method, target, headers, conn, header };
  if (backend.onHead?.(partial, conn)) return "hold";
  let at = end + 4;
  const start = at;
  let body: Buffer;
  if (header("transfer-encoding")?.toLowerCase() === "chunked") {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", at);
      if (lineEnd < 0) return undefined;
      const size = Number.parseInt(buf.toString("latin1", at, lineEnd), 16);
      if (buf.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
      if (size === 0) break;
    }
    body = Buffer.concat(parts);
  } else {
    const length = Number(header("content-length") ?? 0);
    if (buf.length < at + length) return undefined;
    body = buf.subarray(at, at + length);
    at += length;
  }
  return { req: { ...partial, body: Buffer.from(body), rawBody: Buffer.from(buf.subarray(start, at)) }, used: at };
}
