/**
 * Small loopback backends for the health tests: an HTTP server whose behaviour a test switches at run
 * time, a TCP server with a scripted reply, and a port nobody listens on. All on port 0.
 */
import { readFileSync } from "node:fs";
import type { ServerConfig } from "../../src/config/schema.ts";
import { ServerState } from "../../src/pool/server-state.ts";
import { systemClock, type Clock } from "../../src/util/clock.ts";

/** What the HTTP backend saw of one request. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: Headers;
}

/** An HTTP backend on 127.0.0.1 with a replaceable handler and request counters. */
export interface HttpBackend {
  readonly port: number;
  readonly url: string;
  /** Requests received. */
  readonly requests: number;
  /** Requests being handled now. */
  readonly inFlight: number;
  /** Most requests handled at once. */
  readonly maxInFlight: number;
  readonly last: SeenRequest | undefined;
  handle(handler: (req: Request) => Response | Promise<Response>): void;
  stop(): Promise<void>;
}

/** Starts an HTTP backend answering 200 "ok" until told otherwise, on `port` (0: any free port). */
export function startHttpBackend(handler: (req: Request) => Response | Promise<Response> = () => new Response("ok"), port = 0): HttpBackend {
  let current = handler;
  let requests = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let last: SeenRequest | undefined;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    idleTimeout: 0,
    async fetch(req) {
      requests++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      last = { method: req.method, path: new URL(req.url).pathname, headers: req.headers };
      try {
        return await current(req);
      } finally {
        inFlight--;
      }
    },
  });
  return {
    port: server.port!,
    url: `http://127.0.0.1:${server.port!}`,
    get requests() {
      return requests;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get last() {
      return last;
    },
    handle(next) {
      current = next;
    },
    stop: () => server.stop(true),
  };
}

/** A handler that never answers (until its request is aborted). */
export function hang(req: Request): Promise<Response> {
  return new Promise((resolve) => {
    req.signal.addEventListener("abort", () => resolve(new Response("late", { status: 504 })), { once: true });
  });
}

/** A TCP backend that answers each chunk it receives with `reply(chunk)` (nothing when undefined). */
export function startTcpBackend(reply: (chunk: string) => string | undefined): { port: number; connections: number; stop(): void } {
  let connections = 0;
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() {
        connections++;
      },
      data(socket, data) {
        const out = reply(Buffer.from(data).toString("utf8"));
        if (out !== undefined) socket.write(out);
      },
    },
  });
  return {
    port: listener.port,
    get connections() {
      return connections;
    },
    stop: () => listener.stop(true),
  };
}

/**
 * Where `closedPort` looks: the 12,000 ports below the kernel's ephemeral range, which a listener
 * on port 0 never gets. A port taken from that range (bound for a moment with port 0, then closed)
 * went to the next listener a test opened often enough to flake: a "refusing" server in a pool was
 * then tenbin's own PROXY-protocol listener, answering 400 (engine-runtime, request bodies).
 */
const EPHEMERAL_START = (() => {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
})();
const CLOSED_FROM = Math.max(1024, EPHEMERAL_START - 12_000);
/** The next port to try; test processes running side by side start apart. */
let nextClosed = CLOSED_FROM + ((process.pid * 97) % (EPHEMERAL_START - CLOSED_FROM));

/** A loopback port with no listener now, and none to come from a listener on port 0. */
export function closedPort(): number {
  for (let tries = 0; tries < 1000; tries++) {
    const port = nextClosed;
    nextClosed = nextClosed + 1 >= EPHEMERAL_START ? CLOSED_FROM : nextClosed + 1;
    try {
      // Bound for a moment: the bind fails where something listens (a peer such as redis).
      Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
      return port;
    } catch {
      // In use: the next one.
    }
  }
  throw new Error(`no free port in ${CLOSED_FROM}-${EPHEMERAL_START - 1} after 1,000 tries`);
}

/** A `ServerState` for a URL, with schema defaults for everything else. */
export function serverFor(url: string, clock: Clock = systemClock, name?: string): ServerState {
  const config: ServerConfig = { url, weight: 1, max_conns: 0, backup: false, drain: false };
  if (name !== undefined) config.name = name;
  return new ServerState(config, clock);
}

/** Resolves when `predicate` holds, checking every 5 ms; rejects after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
