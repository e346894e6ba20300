/** `Runtime` on Bun: Bun.serve accepts, fetch forwards with Bun's proxy-relevant options. */
import { sendNotify } from "./sd-notify.ts";
import { bunDatagramLibc } from "./sd-notify-bun.ts";
import type { ClientInfo, HttpServeOptions, HttpServer, Runtime, SignalName, UpstreamTls } from "./types.ts";
import { QuietStop } from "./quiet-stop.ts";
import { readFileSync, writeSync } from "node:fs";
import { blockedConnections, bunSockets } from "./bun-sockets.ts";
import { bunConnectWebSocket, bunUpgrader, bunWebSocketHandlers } from "./bun-websocket.ts";
import { bunTls } from "./bun-tls.ts";
import { bunParentChannel, spawnBunWorker } from "./bun-workers.ts";
import type { WebSocketUpgrader } from "./websocket-types.ts";

/** The client of a request whose address Bun cannot tell (a closed socket). */
const NO_CLIENT: ClientInfo = { address: "", port: 0 };

async function serveHttp(options: HttpServeOptions): Promise<HttpServer> {
  const { handler } = options;
  let upgrader: WebSocketUpgrader | undefined;
  const quietStop = new QuietStop();
  const server = Bun.serve({
    ...(options.tls ? { tls: bunTls(options.tls) } : {}),
    ...(options.http2 ? { http2: true } : {}),
    websocket: bunWebSocketHandlers,
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort ?? false,
    idleTimeout: Math.min(255, Math.max(0, options.idleTimeoutSec ?? 60)),
    maxRequestBodySize: options.maxRequestBodySize ?? 128 * 1024 * 1024,
    development: false,
    fetch(req, srv) {
      // requestIP costs a getpeername() system call per request (Bun 1.4.5); no cheaper way exists.
      // Its result has the shape of ClientInfo, so it is handed on without a copy.
      upgrader ??= bunUpgrader(srv);
      return quietStop.answer(handler(req, srv.requestIP(req) ?? NO_CLIENT, upgrader));
    },
    error() {
      return new Response("Internal error\n", { status: 500, headers: { "content-type": "text/plain" } });
    },
  });
  return {
    hostname: server.hostname ?? options.hostname,
    port: server.port ?? options.port,
    reusePort: options.reusePort ?? false,
    async stop(force = false) {
      await quietStop.settle(force);
      await server.stop(force);
    },
  };
}

/*
 * Bun.serve (1.4.5) corks only the synchronous part of a handler. An answer given after an await
 * (every proxied one) is assembled in uWS's 16 KB cork buffer when it fits; a longer one leaves as
 * one send() per fragment: status, each header name, ": ", value and CRLF, then the body (strace:
 * 15 sends for a 100 KB body and 5 headers; oven-sh/bun#41341). Those tiny segments made a proxied
 * 100 KB answer cost 3× the CPU of the same body as a stream, which leaves head and first chunk in
 * one sendmsg. A stream loses the Content-Length (#10507), which answers above 1 MB already did.
 * The margin leaves room for the Date and Content-Length lines Bun writes itself.
 */
const LATE_RESPONSE_BYTES = 16 * 1024 - 256;

/*
 * Bun's fetch keeps at most 64 idle keep-alive sockets (a constant, #42608) and runs at most
 * BUN_CONFIG_MAX_HTTP_REQUESTS (default 256) requests at once. Past 64 requests in flight, sockets
 * coming back to a full idle pool are closed and the next requests connect anew: at 200 client
 * connections ~40 % of requests opened a backend connection. BUN_CONFIG_MAX_HTTP_REQUESTS=64 stops
 * that (+70 % req/s at 200 connections, bench/) but queues the 65th long poll behind the others, so
 * it is the operator's choice, not ours. Bun reads it at process start only (checked on 1.4.5:
 * setting process.env before the first fetch changes nothing). That is why http:// backends go
 * through tenbin's own client (src/proxy/h1-client/); fetch is left to https:// ones.
 */
function fetchUpstream(url: string, init: RequestInit, tls?: UpstreamTls): Promise<Response> {
  const options: RequestInit & { decompress: boolean; tls?: Record<string, unknown> } = {
    ...init,
    redirect: "manual",
    decompress: false,
  };
  if (tls) {
    const t: Record<string, unknown> = {};
    if (tls.ca !== undefined) t.ca = tls.ca;
    if (tls.serverName !== undefined) t.serverName = tls.serverName;
    if (tls.rejectUnauthorized !== undefined) t.rejectUnauthorized = tls.rejectUnauthorized;
    options.tls = t;
  }
  return fetch(url, options as RequestInit);
}

let stderrStream = false;
const encoder = new TextEncoder();

/**
 * Standard error without process.stderr, whose first use loads Node's stream machinery (~10 ms of a
 * start, bench/startup.ts). When a write fails (a full non-blocking pipe, a closed reader) the rest
 * of that line and every later one go through process.stderr as before, so lines keep their order.
 */
function writeStderr(text: string): void {
  if (stderrStream) {
    process.stderr.write(text);
    return;
  }
  const bytes = encoder.encode(text);
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(2, bytes, done);
  } catch {
    stderrStream = true;
    process.stderr.write(bytes.subarray(done));
  }
}

export const bunRuntime: Runtime = {
  lateResponseBytes: LATE_RESPONSE_BYTES,
  name: "bun",
  version: Bun.version,
  serveHttp,
  ...bunSockets,
  fetchUpstream,
  connectWebSocket: bunConnectWebSocket,
  spawnWorker: spawnBunWorker,
  parentChannel: bunParentChannel,
  onSignal(signal: SignalName, handler: () => void) {
    process.on(signal, handler);
    return () => process.off(signal, handler);
  },
  readTextFile: (path) => Bun.file(path).text(),
  readTextFileSync: (path) => readFileSync(path, "utf8"),
  parseYaml: (text) => Bun.YAML.parse(text),
  verifyPassword: (password, hash) => Bun.password.verify(password, hash),
  hashPassword: (password, algorithm) => Bun.password.hash(password, algorithm === "bcrypt" ? { algorithm: "bcrypt", cost: 10 } : { algorithm: "argon2id" }),
  // A full collection lets the allocator give freed pages back (measured: after 200 slow readers
  // left, RSS stayed 24 % above idle without it, 8 % with it). `Bun.shrink()` then returns what the
  // heap keeps for itself: 10,000 idle clients settled at 74.2 MB instead of 79.2, and RSS after a
  // burst of reloads at +9 % of the start instead of +21 % (the collection alone).
  releaseMemory: () => {
    Bun.gc(true);
    Bun.shrink();
  },
  blockedConnections,
  notifySystemd: (state) => sendNotify(process.env.NOTIFY_SOCKET, state, bunDatagramLibc),
  env: (name) => process.env[name],
  envAll: () => process.env,
  args: () => process.argv.slice(2),
  exit: (code) => process.exit(code),
  stdout: (text) => void process.stdout.write(text),
  stderr: writeStderr,
};
