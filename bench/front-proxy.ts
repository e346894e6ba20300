/**
 * A measuring stick, not a proxy to use: the cost of an HTTP/1.1 front end on Bun.listen that
 * parses each request head, sends it with an X-Forwarded-For line on a pooled keep-alive connection
 * (Bun.connect), reads the answer's head for its Content-Length and passes the bytes through. No
 * Request, Headers or Response objects. It handles what wrk sends (bodyless requests, one at a time
 * per connection) and answers framed by Content-Length, nothing else.
 *
 *   bun bench/ab.ts haproxy=peer:haproxy front=script:bench/front-proxy.ts lean=script:bench/lean-proxy.ts
 *
 * ab.ts runs it as `bun bench/front-proxy.ts CONFIG` and it reads the listener port and the server
 * addresses from that generated tenbin config. On 2026-11-26 (4 rounds, 50 connections, 1 KB) it
 * cost 1.06× HAProxy's CPU per request, Bun.serve over tenbin's client (lean-proxy.ts) 1.48× and
 * tenbin 1.89×: the room an HTTP/1.1 server of tenbin's own would give.
 */
import { readFileSync } from "node:fs";

const text = readFileSync(process.argv[2] ?? "", "utf8");
const port = Number(/listen: 127\.0\.0\.1:(\d+)/.exec(text)?.[1]);
const origins = [...text.matchAll(/url: http:\/\/([^: ]+):(\d+)/g)].map((m) => ({ host: m[1] as string, port: Number(m[2]) }));
if (!port || origins.length === 0) throw new Error("Usage: bun bench/front-proxy.ts TENBIN_CONFIG (as written by bench/ab.ts)");

type ClientSocket = Bun.Socket<ClientState>;
type UpstreamSocket = Bun.Socket<UpstreamState>;
interface ClientState {
  head: Buffer | undefined;
}
interface UpstreamState {
  origin: number;
  client: ClientSocket | undefined;
  head: Buffer | undefined;
  /** Body bytes still to pass on after the head. */
  remaining: number;
}

const idle: UpstreamSocket[][] = origins.map(() => []);
const latin1 = new TextDecoder("latin1");
let next = 0;

function release(up: UpstreamSocket): void {
  up.data.client = undefined;
  idle[up.data.origin]!.push(up);
}

function fromUpstream(up: UpstreamSocket, chunk: Buffer): void {
  const state = up.data;
  const client = state.client;
  if (!client) return;
  if (state.remaining > 0) {
    client.write(chunk);
    state.remaining -= chunk.length;
    if (state.remaining <= 0) release(up);
    return;
  }
  const bytes = state.head ? Buffer.concat([state.head, chunk]) : chunk;
  const end = bytes.indexOf("\r\n\r\n");
  if (end < 0) {
    state.head = Buffer.from(bytes);
    return;
  }
  state.head = undefined;
  const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(latin1.decode(bytes.subarray(0, end)))?.[1] ?? 0);
  client.write(bytes);
  state.remaining = end + 4 + length - bytes.length;
  if (state.remaining <= 0) release(up);
}

function send(client: ClientSocket, request: Buffer): void {
  const origin = next++ % origins.length;
  const up = idle[origin]!.pop();
  if (up) {
    up.data.client = client;
    up.write(request);
    return;
  }
  const { host, port } = origins[origin]!;
  void Bun.connect<UpstreamState>({
    hostname: host,
    port,
    data: { origin, client, head: undefined, remaining: 0 },
    socket: {
      open: (socket) => void socket.write(request),
      data: fromUpstream,
      close(socket) {
        const list = idle[socket.data.origin]!;
        const at = list.indexOf(socket);
        if (at >= 0) list.splice(at, 1);
        socket.data.client?.end();
      },
      error() {},
    },
  });
}

Bun.listen<ClientState>({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(socket) {
      socket.data = { head: undefined };
    },
    data(socket, chunk) {
      const bytes = socket.data.head ? Buffer.concat([socket.data.head, chunk]) : chunk;
      const end = bytes.indexOf("\r\n\r\n");
      if (end < 0) {
        socket.data.head = Buffer.from(bytes);
        return;
      }
      socket.data.head = undefined;
      // Split into lines as a real front end must (to route and rewrite), then write them back.
      const lines = latin1.decode(bytes.subarray(0, end)).split("\r\n");
      const request = `${lines.join("\r\n")}\r\nx-forwarded-for: ${socket.remoteAddress}\r\n\r\n`;
      send(socket, Buffer.from(request, "latin1"));
    },
    close() {},
    error() {},
  },
});
