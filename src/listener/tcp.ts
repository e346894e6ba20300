/**
 * A `mode: tcp` listener: accepts connections, refuses what `max_conns` and `accept_proxy` forbid,
 * and hands each one to a `TcpSession` bound to the pool of the config in force at accept. A reload
 * swaps the snapshot; connections already open keep the pool they started with.
 */
import type { ConnectionBudget } from "./connection-budget.ts";
import type { TcpListenerConfig } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import type { Pool } from "../pool/pool.ts";
import type { Runtime, ServeTls, TcpConn, TcpEvents } from "../runtime/types.ts";
import { CidrSet } from "../util/cidr.ts";
import { type Clock, directClock } from "../util/clock.ts";
import type { TcpRoutes } from "./tcp-routes.ts";
import { type SessionContext, TcpSession, type TcpListenerStats } from "./tcp-session.ts";

export type { TcpListenerStats } from "./tcp-session.ts";

/** The listener's config and pool in force. */
export interface TcpSnapshot {
  config: TcpListenerConfig;
  pool: Pool | undefined;
  /** The listener's `routes`, compiled against this generation's pools. */
  routes?: TcpRoutes | undefined;
}

/** What a TCP listener is built from. */
export interface TcpProxyOptions {
  /** Address to bind (the snapshot's config may change on reload; the address does not). */
  hostname: string;
  port: number;
  reusePort?: boolean | undefined;
  /** Terminate TLS with these certificates; the pool then gets the decrypted bytes. */
  tls?: ServeTls | undefined;
  /** The snapshot of the config in force; undefined while none is. */
  current: () => TcpSnapshot | undefined;
  runtime: Pick<Runtime, "listenTcp" | "connectTcp">;
  logger: Logger;
  clock?: Clock;
  /** See `SessionContext.onBackendOpen` (the PROXY front of HTTP listeners uses it). */
  onBackendOpen?: SessionContext["onBackendOpen"];
  /**
   * The budget derived from the fd limit, for a listener without `max_conns` (read at each accept):
   * beyond it a connection is closed at accept, so the runtime never spins on EMFILE.
   */
  budget?: (() => ConnectionBudget | undefined) | undefined;
}

const IGNORE: TcpEvents = { data() {}, drain() {}, end() {}, close() {} };

/** A bound TCP listener and its open sessions. */
export class TcpProxy {
  readonly stats: TcpListenerStats = {
    accepted: 0,
    refused: 0,
    badProxyHeader: 0,
    badHello: 0,
    noServer: 0,
    idleClosed: 0,
    bytesFromClients: 0,
    bytesToClients: 0,
  };
  readonly #options: TcpProxyOptions;
  readonly #sessions = new Set<TcpSession>();
  #listener: { hostname: string; port: number; stop(): void } | undefined;
  #trustedFor: TcpListenerConfig | undefined;
  #trusted = new CidrSet([]);
  #idle: (() => void) | undefined;

  private constructor(options: TcpProxyOptions) {
    this.#options = options;
  }

  /** Binds the listener. */
  static async bind(options: TcpProxyOptions): Promise<TcpProxy> {
    const proxy = new TcpProxy(options);
    proxy.#listener = await options.runtime.listenTcp({
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort,
      tls: options.tls,
      accept: (conn) => proxy.#accept(conn),
    });
    return proxy;
  }

  get hostname(): string {
    return this.#listener?.hostname ?? this.#options.hostname;
  }

  get port(): number {
    return this.#listener?.port ?? this.#options.port;
  }

  /** Open client connections. */
  get active(): number {
    return this.#sessions.size;
  }

  /**
   * Stops accepting. Resolves when every open connection has ended; with `force`, resets them
   * first. (A graceful stop lets a long-lived connection run until its idle timeout.)
   */
  async stop(force = false): Promise<void> {
    this.#listener?.stop();
    if (force) for (const session of [...this.#sessions]) session.destroy();
    if (this.#sessions.size === 0) return;
    await new Promise<void>((resolve) => (this.#idle = resolve));
  }

  #accept(conn: TcpConn): TcpEvents {
    const snapshot = this.#options.current();
    const { logger } = this.#options;
    if (!snapshot?.pool && !snapshot?.routes) {
      conn.destroy();
      return IGNORE;
    }
    const { config, pool, routes } = snapshot;
    this.stats.accepted++;
    if (config.max_conns > 0 && this.#sessions.size >= config.max_conns) {
      this.stats.refused++;
      logger.debug(`listener ${config.name}: max_conns ${config.max_conns} reached; closed connection from ${conn.remoteAddress}`);
      conn.destroy();
      return IGNORE;
    }
    const budget = config.max_conns > 0 ? undefined : this.#options.budget?.();
    if (budget !== undefined && !budget.take()) {
      this.stats.refused++;
      conn.destroy();
      return IGNORE;
    }
    if (config.accept_proxy && !this.#isTrusted(config, conn.remoteAddress)) {
      budget?.release();
      this.stats.refused++;
      logger.warn(`listener ${config.name}: closed connection from ${conn.remoteAddress}: not in trusted_proxies, so its PROXY header cannot be believed`);
      conn.destroy();
      return IGNORE;
    }
    const context: SessionContext = {
      config,
      pool,
      routes,
      connect: this.#options.runtime.connectTcp,
      logger,
      clock: this.#options.clock ?? directClock,
      stats: this.stats,
      onBackendOpen: this.#options.onBackendOpen,
      onClose: (s) => {
        budget?.release();
        this.#sessions.delete(s);
        if (this.#sessions.size === 0) this.#idle?.();
      },
    };
    const session = new TcpSession(context, conn);
    this.#sessions.add(session);
    session.start();
    return session.clientEvents;
  }

  #isTrusted(config: TcpListenerConfig, address: string): boolean {
    if (this.#trustedFor !== config) {
      this.#trusted = new CidrSet(config.trusted_proxies);
      this.#trustedFor = config;
    }
    return this.#trusted.has(address);
  }
}
