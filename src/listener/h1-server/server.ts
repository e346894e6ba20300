/**
 * tenbin's own HTTP/1.1 server (`engine: tenbin` on a listener): the runtime's TCP listener and a
 * parser of our own instead of the runtime's HTTP server, and requests handed over as light
 * `ProxyRequest`s instead of Web `Request`s. On Bun 1.4.5 Bun.serve costs about half again
 * HAProxy's CPU per proxied request before any proxy work; a bare front end on Bun.listen costs
 * about the same as HAProxy (bench/front-proxy.ts), so this is where the L7 gap was.
 * HTTP/1.0 and 1.1 only (no HTTP/2); WebSocket upgrades become byte tunnels (proxy/upgrade-tunnel.ts).
 */
import type { ClientInfo, HttpServer, ServeTls, TcpListener, TcpListenOptions } from "../../runtime/types.ts";
import { ClientConnection, type ConnectionHost, type ConnectionLimits, type ProxyHandler } from "./connection.ts";
import { MAX_REQUEST_HEAD, type RequestHead } from "../../http1/request-head.ts";
import type { ConnectionBudget } from "../connection-budget.ts";

export type { ProxyHandler } from "./connection.ts";

/** How often the time limits of connections are checked. */
const SWEEP_MS = 1000;
/** How often while the server stops, so connections close soon after they have been quiet for `STOP_QUIET_MS`. */
const STOP_SWEEP_MS = 50;

/** What `serveH1` needs. */
export interface H1ServeOptions {
  listenTcp(options: TcpListenOptions): Promise<TcpListener>;
  hostname: string;
  /** 0 picks a free port; read it back from `HttpServer.port`. */
  port: number;
  reusePort?: boolean | undefined;
  /** Terminate TLS (requests then have https:// URLs). */
  tls?: ServeTls | undefined;
  handler: ProxyHandler;
  /** A keep-alive connection with no request for this long is closed; a request body that stalls this long is cut. */
  idleTimeoutMs: number;
  /** A request head must arrive whole within this long of its first byte (408). Default 10 s, at most the idle timeout. */
  headerTimeoutMs?: number | undefined;
  /** Longest request head (431 beyond). Default 16 KiB. */
  maxHeadBytes?: number | undefined;
  /**
   * `accept_proxy`: every connection starts with a PROXY protocol header (v1 or v2), accepted only
   * from peers `trusted` says yes to; requests then carry the client it names. `refused` hears of
   * each connection closed for an untrusted peer or a bad header.
   */
  proxyHeader?: {
    trusted(address: string): boolean;
    refused(address: string, reason: string): void;
  } | undefined;
  /**
   * The budget a new connection is counted in (read at each accept, so a reload can change it);
   * at its limit the connection is answered 503 and closed. Undefined: no limit.
   */
  connections?: (() => ConnectionBudget | undefined) | undefined;
  /** Hears of each request this server refuses itself (400, 408, 431, 501, 505...), to log and count it. */
  refused?: ((refusal: RequestRefusal) => void) | undefined;
}

/** A request the server refused itself; `method`, `target` and `host` when its head was read whole. */
export interface RequestRefusal {
  client: ClientInfo;
  status: number;
  reason: string;
  method?: string | undefined;
  target?: string | undefined;
  host?: string | undefined;
}

class H1Server implements HttpServer, ConnectionHost {
  readonly hostname: string;
  readonly port: number;
  readonly reusePort: boolean;
  readonly scheme: string;
  readonly maxHeadBytes: number;
  readonly proxyHeader: boolean;
  readonly #proxy: H1ServeOptions["proxyHeader"];
  readonly #refused: H1ServeOptions["refused"];
  readonly #budget: H1ServeOptions["connections"];
  readonly handler: ProxyHandler;
  #accepting = true;
  readonly #listener: TcpListener;
  readonly #limits: ConnectionLimits;
  readonly #connections = new Set<ClientConnection>();
  #sweep: ReturnType<typeof setInterval> | undefined;
  #allClosed: (() => void) | undefined;

  constructor(listener: TcpListener, options: H1ServeOptions, limits: ConnectionLimits) {
    this.#listener = listener;
    this.hostname = listener.hostname;
    this.port = listener.port;
    this.reusePort = options.reusePort === true;
    this.scheme = options.tls ? "https" : "http";
    this.maxHeadBytes = options.maxHeadBytes ?? MAX_REQUEST_HEAD;
    this.#proxy = options.proxyHeader;
    this.proxyHeader = options.proxyHeader !== undefined;
    this.#refused = options.refused;
    this.#budget = options.connections;
    this.handler = options.handler;
    this.#limits = limits;
  }

  /** Client connections open now. */
  get openConnections(): number {
    return this.#connections.size;
  }

  accept(connection: ClientConnection): void {
    if (!this.#accepting) {
      connection.conn.destroy();
      return;
    }
    const address = connection.conn.remoteAddress;
    if (this.#proxy && !this.#proxy.trusted(address)) {
      this.#proxy.refused(address, "not in trusted_proxies, so its PROXY header cannot be believed");
      connection.conn.destroy();
      return;
    }
    this.#connections.add(connection);
    if (this.#sweep === undefined) this.#sweepEvery(SWEEP_MS);
    const budget = this.#budget?.();
    if (budget === undefined) return;
    if (budget.take()) connection.budget = budget;
    else {
      // At the limit: answered and closed now, not left in the kernel's queue for a busy accept loop.
      this.refusedRequest(connection.client, 503, "connection limit reached", undefined);
      connection.refuseBusy();
    }
  }

  /** Client connections open now. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  refusedProxyHeader(address: string, reason: string): void {
    this.#proxy?.refused(address, reason);
  }

  refusedRequest(client: ClientInfo, status: number, reason: string, head: RequestHead | undefined): void {
    this.#refused?.({ client, status, reason, method: head?.method, target: head?.target, host: head?.fields.get("host") ?? undefined });
  }

  closed(connection: ClientConnection): void {
    this.#connections.delete(connection);
    connection.budget?.release();
    connection.budget = undefined;
    if (this.#connections.size > 0) return;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    this.#allClosed?.();
  }

  /** (Re)starts the sweep of connection time limits, every `ms`. */
  #sweepEvery(ms: number): void {
    clearInterval(this.#sweep);
    this.#sweep = setInterval(() => this.#checkTimers(), ms);
    (this.#sweep as { unref?: () => void }).unref?.();
  }

  #checkTimers(): void {
    const now = performance.now();
    for (const connection of this.#connections) connection.checkTimers(now, this.#limits);
  }

  stop(force = false): Promise<void> {
    if (this.#accepting) {
      this.#accepting = false;
      this.#listener.stop();
    }
    if (this.#connections.size === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => {
      const previous = this.#allClosed;
      this.#allClosed = () => {
        previous?.();
        resolve();
      };
    });
    for (const connection of [...this.#connections]) connection.shutdown(force);
    if (this.#connections.size > 0) this.#sweepEvery(STOP_SWEEP_MS);
    return done;
  }
}

/** Binds the listener and serves requests with `options.handler`. */
export async function serveH1(options: H1ServeOptions): Promise<HttpServer> {
  const limits: ConnectionLimits = {
    idleMs: options.idleTimeoutMs,
    headerMs: options.headerTimeoutMs ?? Math.min(10_000, options.idleTimeoutMs),
    lingerMs: 2000,
  };
  let server: H1Server | undefined;
  const listener = await options.listenTcp({
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort,
    tls: options.tls,
    accept(conn) {
      const connection = new ClientConnection(conn, server!);
      server!.accept(connection);
      return connection;
    },
  });
  server = new H1Server(listener, options, limits);
  return server;
}
