/**
 * Composition root: from a validated Config build pools, route tables and listeners, start them, and
 * swap to a new Config on reload. Server run-time state is kept in a registry keyed by pool and
 * address, so a reload keeps health, counters and EWMA of servers that stay.
 */
import { readFile } from "node:fs/promises";
import type { Config, ListenerConfig, PoolConfig, ServerConfig } from "./config/schema.ts";
import { createHttpHandler, type ListenerSnapshot } from "./listener/http.ts";
import type { Logger } from "./observe/log.ts";
import { Pool } from "./pool/pool.ts";
import { ServerState } from "./pool/server-state.ts";
import type { SorryPage } from "./proxy/errors.ts";
import { Forwarder } from "./proxy/forward.ts";
import { compileRoutes } from "./router/route-table.ts";
import type { HttpServer, Runtime } from "./runtime/types.ts";
import { type Clock, type Random, systemClock } from "./util/clock.ts";

/** What the composition root needs from outside. */
export interface TenbinDeps {
  runtime: Runtime;
  logger: Logger;
  clock?: Clock;
  random?: Random;
}

/** One config's worth of built parts; requests read the one in force when they arrive. */
interface Generation {
  config: Config;
  pools: Map<string, Pool>;
  listeners: Map<string, ListenerSnapshot>;
}

interface RunningListener {
  server: HttpServer;
  listen: string;
}

/** A bound listener, for logs and tests. */
export interface BoundListener {
  name: string;
  hostname: string;
  port: number;
}

export class Tenbin {
  readonly #deps: Required<TenbinDeps>;
  readonly #forwarder: Forwarder;
  readonly #registry = new Map<string, ServerState>();
  readonly #running = new Map<string, RunningListener>();
  readonly #cookieKey = crypto.randomUUID();
  #generation: Generation | undefined;

  private constructor(deps: TenbinDeps) {
    this.#deps = { clock: systemClock, random: Math.random, ...deps };
    this.#forwarder = new Forwarder(deps.runtime.fetchUpstream, deps.logger);
  }

  /** Builds everything from `config` and binds the listeners. */
  static async start(config: Config, deps: TenbinDeps): Promise<Tenbin> {
    const tenbin = new Tenbin(deps);
    await tenbin.reload(config);
    return tenbin;
  }

  /** The config in force. */
  get config(): Config {
    return this.#generation!.config;
  }

  /** Pools of the config in force, by name. */
  get pools(): ReadonlyMap<string, Pool> {
    return this.#generation!.pools;
  }

  /** Bound listeners with their real ports (a config may ask for port 0). */
  get listeners(): BoundListener[] {
    return [...this.#running].map(([name, r]) => ({ name, hostname: r.server.hostname, port: r.server.port }));
  }

  /**
   * Switches to `config`: builds new pools and routes, starts listeners that are new or moved,
   * swaps, then stops what the old config had alone. Requests in flight finish on the old parts.
   */
  async reload(config: Config): Promise<void> {
    const previous = this.#generation;
    const next = await this.#build(config, previous);
    for (const pool of next.pools.values()) pool.start();
    const started: string[] = [];
    try {
      for (const listener of config.listeners) {
        const listen = `${listener.listen.host}:${listener.listen.port}`;
        const running = this.#running.get(listener.name);
        if (running && running.listen === listen) continue;
        const server = await this.#bind(listener);
        const old = this.#running.get(listener.name);
        this.#running.set(listener.name, { server, listen });
        started.push(listener.name);
        if (old) void old.server.stop();
        this.#deps.logger.info(`listener ${listener.name} listening on http://${server.hostname}:${server.port}`);
      }
    } catch (error) {
      for (const pool of next.pools.values()) pool.stop();
      throw error;
    }
    this.#generation = next;
    const names = new Set(config.listeners.map((l) => l.name));
    for (const [name, running] of this.#running) {
      if (names.has(name)) continue;
      this.#running.delete(name);
      void running.server.stop();
    }
    if (previous) for (const pool of previous.pools.values()) pool.stop();
    this.#forgetRemovedServers(next);
  }

  /** Stops accepting, waits for in-flight requests up to `timeoutMs`, then cuts the rest. */
  async stop(timeoutMs = this.#generation?.config.shutdown_timeout ?? 30_000): Promise<void> {
    for (const pool of this.#generation?.pools.values() ?? []) pool.stop();
    const servers = [...this.#running.values()].map((r) => r.server);
    this.#running.clear();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceful = Promise.all(servers.map((s) => s.stop(false))).then(() => true);
    const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const finished = await Promise.race([graceful, deadline]);
    clearTimeout(timer);
    if (!finished) {
      this.#deps.logger.warn(`shutdown timeout of ${timeoutMs}ms reached; closing remaining connections`);
      await Promise.all(servers.map((s) => s.stop(true)));
    }
  }

  async #bind(listener: ListenerConfig): Promise<HttpServer> {
    const name = listener.name;
    const handler = createHttpHandler(() => this.#generation!.listeners.get(name)!, this.#forwarder, "http");
    return await this.#deps.runtime.serveHttp({
      hostname: listener.listen.host,
      port: listener.listen.port,
      handler,
      idleTimeoutSec: Math.ceil(listener.idle_timeout / 1000),
      // The runtime's own limit is a backstop for chunked bodies; declared lengths get a 413 first.
      maxRequestBodySize: listener.max_body,
    });
  }

  async #build(config: Config, previous: Generation | undefined): Promise<Generation> {
    const pools = new Map<string, Pool>();
    for (const [name, poolConfig] of Object.entries(config.pools)) {
      pools.set(name, await this.#buildPool(name, poolConfig, previous));
    }
    const listeners = new Map<string, ListenerSnapshot>();
    for (const listener of config.listeners) {
      listeners.set(listener.name, { config: listener, routes: compileRoutes(listener.routes), pools });
    }
    return { config, pools, listeners };
  }

  async #buildPool(name: string, config: PoolConfig, previous: Generation | undefined): Promise<Pool> {
    const { clock, random, logger, runtime } = this.#deps;
    const kept = new Set<ServerState>();
    const servers = config.servers.map((serverConfig) => {
      const key = `${name}\u0000${new ServerState(serverConfig, clock).key}`;
      let state = this.#registry.get(key);
      if (state) {
        if (!sameServerConfig(state.config, serverConfig)) {
          // The config changed this server: run-time overrides give way to the file.
          state.weightOverride = undefined;
          state.drainOverride = undefined;
        }
        state.config = serverConfig;
        if (previous?.pools.get(name)?.config.health) kept.add(state);
      } else {
        state = new ServerState(serverConfig, clock);
        this.#registry.set(key, state);
      }
      if (!config.health) state.healthy = true;
      return state;
    });
    if (config.sticky?.cookie !== undefined && (typeof config.sticky.cookie === "string" || !config.sticky.cookie.key)) {
      logger.warn(`pool ${name}: sticky cookie without a key; a random key is used, so persistence ends when tenbin restarts`);
    }
    let sorryPage: SorryPage | undefined;
    if (config.sorry?.body_file) {
      sorryPage = { status: config.sorry.status, contentType: config.sorry.content_type, body: new Uint8Array(await readFile(config.sorry.body_file)) };
    } else if (config.sorry && !config.sorry.server) {
      sorryPage = { status: config.sorry.status, contentType: "text/plain; charset=utf-8", body: new TextEncoder().encode("Service unavailable\n") };
    }
    const sorryServer = config.sorry?.server
      ? new ServerState({ url: config.sorry.server, weight: 1, max_conns: 0, backup: false, drain: false }, clock)
      : undefined;
    return new Pool(name, config, {
      clock,
      random,
      logger,
      fetch: runtime.fetchUpstream,
      servers,
      keepHealth: (s) => kept.has(s),
      sorryPage,
      sorryServer,
      fallbackCookieKey: this.#cookieKey,
    });
  }

  #forgetRemovedServers(generation: Generation): void {
    const live = new Set<ServerState>();
    for (const pool of generation.pools.values()) for (const s of pool.servers) live.add(s);
    for (const [key, state] of this.#registry) if (!live.has(state)) this.#registry.delete(key);
  }
}

function sameServerConfig(a: ServerConfig, b: ServerConfig): boolean {
  return a.url === b.url && a.weight === b.weight && a.max_conns === b.max_conns && a.backup === b.backup && a.drain === b.drain && a.name === b.name;
}
