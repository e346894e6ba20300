/**
 * One client connection of a TCP listener: read the PROXY header when the listener expects one, ask
 * the pool for a server, connect (retrying another server when a connect fails: nothing was sent
 * yet, the client's first bytes wait in a bounded buffer), then pipe bytes both ways.
 *
 * The pipe honours backpressure in both directions: when a write answers false the other side stops
 * reading until `drain`, so memory stays at about one chunk per direction however fast the sender.
 * A FIN passes through as a FIN (half-close); a reset or error on one side resets the other.
 */
import { asJudged, runAttempts } from "../proxy/attempt-loop.ts";
import { connected } from "../pool/outcome.ts";
import type { TcpListenerConfig } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import type { Pool } from "../pool/pool.ts";
import type { ServerState } from "../pool/server-state.ts";
import type { StickyFacts } from "../pool/stickiness.ts";
import { encodeProxyHeader, type Endpoint, MAX_HEADER_LENGTH, parseProxyHeader } from "../proxy/proxy-protocol.ts";
import { relayChunk } from "../proxy/relay-chunk.ts";
import type { TcpConn, TcpConnectOptions, TcpEvents } from "../runtime/types.ts";
import type { Clock } from "../util/clock.ts";
import { readClientHello, type ClientHelloFacts } from "../tls/client-hello.ts";
import { dialServer } from "./tcp-dial.ts";
import type { TcpRoutes } from "./tcp-routes.ts";

/** Client bytes kept while the server connection is being made; then the client is paused. */
export const EARLY_LIMIT = 64 * 1024;
/** Longest wait for the PROXY header of a connection on an `accept_proxy` listener. */
export const PROXY_HEADER_TIMEOUT_MS = 5_000;

/** Counters of one TCP listener, for logs, tests and the admin plane. */
export interface TcpListenerStats {
  accepted: number;
  /** Closed at accept: `max_conns` reached or an untrusted peer on an `accept_proxy` listener. */
  refused: number;
  /** Closed for a missing or malformed PROXY header. */
  badProxyHeader: number;
  /** Closed for a missing, malformed or oversized TLS ClientHello (sni/alpn routes). */
  badHello: number;
  /** No server could be connected to. */
  noServer: number;
  /** Closed by the idle timeout. */
  idleClosed: number;
  bytesFromClients: number;
  bytesToClients: number;
}

/** What a session needs from its listener. */
export interface SessionContext {
  config: TcpListenerConfig;
  /** The listener's pool; with `routes`, the one that takes connections no route matches. */
  pool: Pool | undefined;
  /** The listener's `routes`, which pick the pool per connection. */
  routes?: TcpRoutes | undefined;
  connect: (options: TcpConnectOptions) => Promise<TcpConn>;
  logger: Logger;
  clock: Clock;
  stats: TcpListenerStats;
  onClose(session: TcpSession): void;
  /** Called when the server connection is up, before any byte goes to it; returns a cleanup for the close. */
  onBackendOpen?: ((client: Endpoint, backend: TcpConn) => () => void) | undefined;
}

type Phase = "header" | "hello" | "connecting" | "open" | "closed";

const NO_HEADERS = new Headers();

export class TcpSession {
  readonly #ctx: SessionContext;
  readonly #client: TcpConn;
  #phase: Phase;
  #backend: TcpConn | undefined;
  #server: ServerState | undefined;
  /** The pool of this connection: the listener's, or the one its route picked. */
  #pool: Pool | undefined;
  /** Token of the current connect attempt: events of abandoned attempts are ignored. */
  #attempt = 0;
  #early: Uint8Array[] = [];
  #earlyBytes = 0;
  #clientEnded = false;
  #backendEnded = false;
  #source: Endpoint;
  #destination: Endpoint;
  #lastActive: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #cleanup: (() => void) | undefined;
  readonly #abort = new AbortController();

  constructor(ctx: SessionContext, client: TcpConn) {
    this.#ctx = ctx;
    this.#client = client;
    this.#source = { address: client.remoteAddress, port: client.remotePort };
    this.#destination = { address: client.localAddress, port: client.localPort };
    this.#lastActive = ctx.clock.now();
    this.#pool = ctx.pool;
    this.#phase = ctx.config.accept_proxy ? "header" : ctx.routes?.needsHello ? "hello" : "connecting";
  }

  /** Starts the timers and, without `accept_proxy`, the connect (call once, after registering). */
  start(): void {
    const { config } = this.#ctx;
    if (this.#phase === "header") this.#arm(Math.min(PROXY_HEADER_TIMEOUT_MS, config.idle_timeout));
    else if (this.#phase === "hello") this.#arm(Math.min(config.sni_timeout, config.idle_timeout));
    else this.#begin(undefined);
  }

  /** Handlers of the client connection. */
  readonly clientEvents: TcpEvents = {
    data: (chunk) => {
      this.#lastActive = this.#ctx.clock.now();
      this.#ctx.stats.bytesFromClients += chunk.length;
      if (this.#phase === "open") {
        // A slow server: stop reading the client (and read it in small pieces once a write was short).
        relayChunk(chunk, this.#client, this.#backend!, () => this.#phase === "closed");
        return;
      }
      if (this.#phase === "closed") return;
      this.#early.push(chunk);
      this.#earlyBytes += chunk.length;
      if (this.#phase === "header") this.#readHeader();
      else if (this.#phase === "hello") this.#readHello();
      else if (this.#earlyBytes >= EARLY_LIMIT) this.#client.pause();
    },
    drain: () => {
      // A slow reader that is still reading is not idle, though no new bytes arrive while paused.
      this.#lastActive = this.#ctx.clock.now();
      this.#backend?.resume();
    },
    end: () => {
      this.#clientEnded = true;
      if (this.#phase === "open") {
        this.#backend!.shutdownWrite();
        this.#finishIfBothEnded();
      } else if (this.#phase === "header") {
        this.#refuseHeader("the client closed before sending a whole PROXY header");
      } else if (this.#phase === "hello") {
        this.#refuseHello("the client closed before sending a whole TLS ClientHello");
      }
    },
    close: (error) => {
      if (this.#phase === "closed") return;
      // A clean close after our FIN is the client finishing; the server gets its queue, then FIN.
      this.#close(error !== undefined);
    },
  };

  /** Closes the session at once (listener stop with force). */
  destroy(): void {
    this.#close(true);
  }

  #backendEvents(token: number): TcpEvents {
    return {
      data: (chunk) => {
        if (token !== this.#attempt || this.#phase === "closed") return;
        this.#lastActive = this.#ctx.clock.now();
        this.#ctx.stats.bytesToClients += chunk.length;
        const backend = this.#backend;
        if (backend === undefined) this.#client.write(chunk);
        else relayChunk(chunk, backend, this.#client, () => this.#phase === "closed" || token !== this.#attempt); // a slow client, as above
      },
      drain: () => {
        if (token !== this.#attempt) return;
        this.#lastActive = this.#ctx.clock.now();
        this.#client.resume();
      },
      end: () => {
        if (token !== this.#attempt || this.#phase === "closed") return;
        this.#backendEnded = true;
        this.#client.shutdownWrite();
        this.#finishIfBothEnded();
      },
      close: (error) => {
        if (token !== this.#attempt || this.#phase === "closed") return;
        if (error && this.#server) this.#ctx.logger.debug(`${this.#pool?.name}/${this.#server.name}: connection closed: ${error.message}`);
        this.#close(error !== undefined);
      },
    };
  }

  #readHeader(): void {
    const data = this.#early.length === 1 ? this.#early[0]! : concat(this.#early, this.#earlyBytes);
    const parsed = parseProxyHeader(data);
    if (parsed.status === "incomplete") {
      this.#early = [data];
      if (this.#earlyBytes > MAX_HEADER_LENGTH) this.#refuseHeader("PROXY header too long");
      return;
    }
    if (parsed.status === "invalid") return this.#refuseHeader(parsed.reason);
    const { header } = parsed;
    if (header.command === "proxy" && header.source && header.destination) {
      this.#source = header.source;
      this.#destination = header.destination;
    }
    const rest = data.subarray(parsed.length);
    this.#early = rest.length > 0 ? [rest] : [];
    this.#earlyBytes = rest.length;
    if (this.#ctx.routes?.needsHello) {
      this.#phase = "hello";
      this.#arm(Math.min(this.#ctx.config.sni_timeout, this.#ctx.config.idle_timeout));
      if (this.#earlyBytes > 0) this.#readHello();
      return;
    }
    this.#begin(undefined);
  }

  /** Peeks at the ClientHello in the bytes so far; they stay queued and go to the server unchanged. */
  #readHello(): void {
    const data = this.#early.length === 1 ? this.#early[0]! : concat(this.#early, this.#earlyBytes);
    this.#early = [data];
    const { max_hello } = this.#ctx.config;
    const result = readClientHello(data, max_hello);
    if (result.status === "invalid") return this.#refuseHello(result.reason);
    if (result.status === "complete") return this.#begin(result.hello);
    if (this.#earlyBytes > max_hello) this.#refuseHello(`ClientHello larger than max_hello (${max_hello} bytes)`);
  }

  #refuseHello(reason: string): void {
    this.#ctx.stats.badHello++;
    this.#ctx.logger.warn(`listener ${this.#ctx.config.name}: closed connection from ${this.#source.address}: ${reason}`);
    this.#close(true);
  }

  /** Picks the pool (by route, when the listener has routes) and connects. */
  #begin(hello: ClientHelloFacts | undefined): void {
    const { routes, config, logger } = this.#ctx;
    if (routes) {
      const choice = routes.pick(this.#source.address, hello);
      this.#pool = choice?.pool;
      if (!this.#pool) {
        this.#ctx.stats.noServer++;
        const name = hello?.serverName !== undefined ? ` (server name ${JSON.stringify(hello.serverName)})` : "";
        logger.warn(`listener ${config.name}: closed connection from ${this.#source.address}${name}: no route matches and the listener has no pool`);
        return this.#close(true);
      }
    }
    this.#phase = "connecting";
    this.#arm(config.idle_timeout);
    if (this.#earlyBytes >= EARLY_LIMIT) this.#client.pause();
    void this.#connect();
  }

  #refuseHeader(reason: string): void {
    this.#ctx.stats.badProxyHeader++;
    this.#ctx.logger.warn(`listener ${this.#ctx.config.name}: closed connection from ${this.#client.remoteAddress}: ${reason}`);
    this.#close(true);
  }

  async #connect(): Promise<void> {
    const { logger } = this.#ctx;
    const pool = this.#pool!;
    const clientIp = this.#source.address;
    const facts: StickyFacts = { clientIp, cookieHeader: null, headers: NO_HEADERS, pathAndQuery: "" };
    const pinned = pool.sticky.enabled ? pool.sticky.pinned(facts) : undefined;
    const hashKey = pool.config.balance === "hash" ? clientIp : undefined;
    const result = await runAttempts<TcpConn | undefined>({
      pool,
      clientIp,
      hashKey,
      pinned,
      waitOn: this.#abort.signal,
      attempt: async (got) => {
        if (this.#isClosed()) {
          pool.release(got);
          return { kind: "done", value: undefined };
        }
        const started = this.#ctx.clock.now();
        const token = ++this.#attempt;
        const dial = await dialServer({
          pool, server: got, connect: this.#ctx.connect, events: this.#backendEvents(token), logger,
          listener: this.#ctx.config.name, wanted: () => !this.#isClosed(),
        });
        const backend = dial.conn;
        if (!backend) this.#attempt++; // a late connect of this attempt is closed; its events must not count
        // Awaited: the client may have gone meanwhile (a failed dial gave the server back already).
        if (this.#isClosed()) {
          if (backend) {
            backend.destroy();
            pool.release(got);
          }
          return { kind: "done", value: undefined };
        }
        // tenbin's own fd shortage: another server would fail the same way, so no retry.
        if (!dial.conn) return { kind: "failed", failure: dial.local ? "local" : "connect", reason: dial.reason, retry: !dial.local };
        this.#open(got, dial.conn, this.#ctx.clock.now() - started, facts, pinned);
        return { kind: "done", value: dial.conn };
      },
      judge: asJudged,
      gone: () => this.#isClosed(),
    });
    if (result.kind === "done" || this.#isClosed()) return;
    const reason = result.kind === "failed" ? result.last.reason : result.kind === "no_server" ? `no server available (${result.why.replace("_", " ")})` : "no server available";
    this.#ctx.stats.noServer++;
    logger.warn(`listener ${this.#ctx.config.name}: closed connection from ${clientIp}: ${reason}`, { pool: pool.name });
    this.#close(true);
  }

  #open(server: ServerState, backend: TcpConn, connectMs: number, facts: StickyFacts, pinned: ServerState | undefined): void {
    const pool = this.#pool!;
    this.#server = server;
    this.#backend = backend;
    this.#phase = "open";
    connected(pool, server, connectMs); // least_time on TCP: connect time
    if (pool.sticky.enabled) pool.sticky.bind(facts, server, pinned);
    this.#cleanup = this.#ctx.onBackendOpen?.(this.#source, backend);
    if (pool.config.send_proxy) backend.write(encodeProxyHeader(pool.config.send_proxy === "v1" ? 1 : 2, this.#source, this.#destination));
    let ok = true;
    for (const chunk of this.#early) ok = backend.write(chunk);
    this.#early = [];
    this.#earlyBytes = 0;
    if (ok) this.#client.resume();
    else this.#client.pause();
    if (this.#clientEnded) backend.shutdownWrite();
  }

  #isClosed(): boolean {
    return this.#phase === "closed";
  }

  #finishIfBothEnded(): void {
    if (this.#clientEnded && this.#backendEnded) this.#close(false);
  }

  /** Ends both connections (flushing queues) or, when `hard`, resets them; releases the server. */
  #close(hard: boolean): void {
    if (this.#phase === "closed") return;
    this.#phase = "closed";
    clearTimeout(this.#timer);
    this.#abort.abort();
    if (hard) {
      this.#client.destroy();
      this.#backend?.destroy();
    } else {
      this.#client.end();
      this.#backend?.end();
      // end() waits for the queue to drain; a peer that never reads must not hold the socket forever.
      const client = this.#client;
      const backend = this.#backend;
      if (client.pending > 0 || (backend?.pending ?? 0) > 0) {
        setTimeout(() => {
          client.destroy();
          backend?.destroy();
        }, this.#ctx.config.idle_timeout);
      }
    }
    this.#early = [];
    this.#cleanup?.();
    if (this.#server) this.#pool?.release(this.#server);
    this.#server = undefined;
    this.#ctx.onClose(this);
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#onTimer, ms);
  }

  readonly #onTimer = (): void => {
    if (this.#phase === "closed") return;
    if (this.#phase === "header") return this.#refuseHeader("no PROXY header in time");
    if (this.#phase === "hello") return this.#refuseHello(`no whole TLS ClientHello within ${this.#ctx.config.sni_timeout}ms`);
    const idle = this.#ctx.config.idle_timeout;
    const quiet = this.#ctx.clock.now() - this.#lastActive;
    if (quiet < idle) return this.#arm(idle - quiet);
    this.#ctx.stats.idleClosed++;
    this.#ctx.logger.debug(`listener ${this.#ctx.config.name}: closed idle connection from ${this.#source.address}`);
    this.#close(true);
  };
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
