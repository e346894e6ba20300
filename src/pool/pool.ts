/**
 * A pool: its servers, balancer, persistence, health checkers and the queue of requests waiting for
 * a free server. The single place that picks a server: `acquire()` hands one out (counting it in
 * flight), `release()` gives it back and wakes the oldest waiter that can now be served.
 */
import type { PoolConfig } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import type { RuntimeFetch, UpstreamTls } from "../runtime/types.ts";
import { fetchWithServerTls } from "../tls/upstream.ts";
import { probeTarget } from "./health/probe-target.ts";
import type { Clock, Random } from "../util/clock.ts";
import { balancers, createBalancer } from "./balance/registry.ts";
import type { Balancer, PickContext } from "./balance/balancer.ts";
import { ActiveHealth } from "./health/active.ts";
import { PassiveOutlier } from "./health/passive.ts";
import { Stickiness } from "./stickiness.ts";
import type { ServerState } from "./server-state.ts";
import type { SorryPage } from "../proxy/errors.ts";

/** Why no server was handed out. */
export type AcquireFailure = "unavailable" | "queue_full" | "queue_timeout" | "aborted";

/** What `acquire` needs to know of the request. */
export interface AcquireContext extends PickContext {
  /** A server persistence wants (cookie or source address); waits for it when it is full. */
  pinned?: ServerState | undefined;
}

interface Waiter {
  ctx: AcquireContext;
  resolve: (result: ServerState | AcquireFailure) => void;
  timer: ReturnType<typeof setTimeout>;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Everything a pool is built from besides its config. */
export interface PoolDeps {
  clock: Clock;
  random: Random;
  logger: Logger;
  fetch: RuntimeFetch;
  /** Servers with their run-time state, already taken from the registry (kept across reloads). */
  servers: ServerState[];
  /** Servers whose health state is carried over from the previous config. */
  keepHealth?: (server: ServerState) => boolean;
  sorryPage?: SorryPage | undefined;
  sorryServer?: ServerState | undefined;
  /** Key signing persistence cookies when the config gives none. */
  fallbackCookieKey: string;
  /** TLS settings of https:// servers (and the sorry server) that have any. */
  upstreamTls?: ReadonlyMap<ServerState, UpstreamTls> | undefined;
  /** This pool's outlier detector before a reload: servers that stay keep their ejection level. */
  previousPassive?: PassiveOutlier | undefined;
}

export class Pool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly servers: readonly ServerState[];
  readonly sticky: Stickiness;
  readonly passive: PassiveOutlier | undefined;
  readonly active: ActiveHealth | undefined;
  readonly sorryPage: SorryPage | undefined;
  readonly sorryServer: ServerState | undefined;
  readonly #balancer: Balancer;
  readonly #clock: Clock;
  readonly #tls: ReadonlyMap<ServerState, UpstreamTls>;
  readonly #queue: Waiter[] = [];

  constructor(name: string, config: PoolConfig, deps: PoolDeps) {
    this.name = name;
    this.config = config;
    this.servers = deps.servers;
    this.#clock = deps.clock;
    deps.servers.forEach((server, i) => {
      server.index = i;
      server.slowStartMs = config.slow_start;
    });
    const options = { clock: deps.clock, random: deps.random, ewmaDecayMs: config.ewma_decay };
    const fallback = config.balance === "hash" ? balancers[config.hash_fallback](options) : undefined;
    this.#balancer = createBalancer(config.balance, { ...options, fallback });
    this.sticky = new Stickiness(name, config, deps.servers, deps.clock, deps.fallbackCookieKey);
    this.sorryPage = deps.sorryPage;
    this.sorryServer = deps.sorryServer;
    this.#tls = deps.upstreamTls ?? new Map();
    // Probes know URLs, not servers: give each probe origin its server's TLS settings.
    const probeTls = new Map([...this.#tls].map(([server, tls]) => [probeTarget(server, config.health?.port).origin, tls]));
    this.passive = config.outlier
      ? new PassiveOutlier({ poolName: name, servers: deps.servers, config: config.outlier, logger: deps.logger, clock: deps.clock, previous: deps.previousPassive })
      : undefined;
    this.active = config.health
      ? new ActiveHealth({
        poolName: name,
        servers: deps.servers,
        config: config.health,
        fetch: fetchWithServerTls(deps.fetch, probeTls),
        logger: deps.logger,
        clock: deps.clock,
        random: deps.random,
        // Up: a waiter may take the server. Down: waiters left with no usable server fail now
        // (sorry path) instead of at their queue timeout.
        onChange: () => this.wake(),
        ...(deps.keepHealth ? { keepState: deps.keepHealth } : {}),
        mayReadmit: (server) => this.passive?.probesMayReadmit(server) ?? true,
      })
      : undefined;
  }

  /** TLS settings for requests to `server` (undefined: http://, or https:// with the defaults). */
  tlsFor(server: ServerState): UpstreamTls | undefined {
    return this.#tls.get(server);
  }

  /** Starts the pool's health probes. */
  start(): void {
    this.active?.start();
  }

  /**
   * Stops the pool's probes. Requests already waiting stay queued: they are still served by the
   * releases of this pool's requests in flight (a reload or a graceful shutdown must not turn them
   * into 503s), and `queue_timeout` or the client's abort still bounds their wait.
   */
  stop(): void {
    this.active?.stop();
  }

  /** Requests waiting for a server. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * A server for the request, counted in flight until `release`; or why there is none. Synchronous
   * when a server is free (the common case), a promise when the request has to wait in the queue.
   * `abort` (a signal, or something holding one such as the client's Request) ends the wait.
   */
  acquire(ctx: AcquireContext, abort?: AbortSignal | { readonly signal: AbortSignal }): ServerState | AcquireFailure | Promise<ServerState | AcquireFailure> {
    // Waiters came first: serve those that can go now, so a new request does not overtake them.
    // What is still free afterwards no waiter can use (each waits for a full or pinned server),
    // so the new request may take it instead of queueing behind, say, a client pinned elsewhere.
    if (this.#queue.length > 0) this.wake();
    const server = this.#pick(ctx);
    if (server) {
      server.inFlight++;
      return server;
    }
    if (!this.#anyUsable(ctx)) return "unavailable";
    if (this.#queue.length >= this.config.max_queue) return "queue_full";
    // Read only now: a Request's signal costs Bun work to create, and most requests never queue.
    const signal = abort === undefined || abort instanceof AbortSignal ? abort : abort.signal;
    if (signal?.aborted) return "aborted";
    return new Promise((resolve) => {
      const waiter: Waiter = {
        ctx,
        resolve,
        signal,
        onAbort: undefined,
        timer: setTimeout(() => this.#settle(waiter, "queue_timeout"), this.config.queue_timeout),
      };
      if (signal) {
        waiter.onAbort = () => this.#settle(waiter, "aborted");
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
    });
  }

  /** Gives a server back and serves waiting requests that can now go. */
  release(server: ServerState): void {
    server.inFlight--;
    if (this.#queue.length > 0) this.wake();
  }

  /** Hands free servers to waiters in arrival order (also called when a server comes up). */
  wake(): void {
    for (let i = 0; i < this.#queue.length;) {
      const waiter = this.#queue[i]!;
      const server = this.#pick(waiter.ctx);
      if (server) {
        server.inFlight++;
        this.#settle(waiter, server);
        continue; // #settle removed it; index i now holds the next one
      }
      if (!this.#anyUsable(waiter.ctx)) {
        this.#settle(waiter, "unavailable");
        continue;
      }
      i++;
    }
  }

  #pick(ctx: AcquireContext): ServerState | undefined {
    const pinned = ctx.pinned;
    if (pinned && pinned.isUsable() && !ctx.exclude?.has(pinned)) {
      return pinned.isFull() ? undefined : pinned;
    }
    return this.#balancer.pick(this.servers, ctx);
  }

  /** Whether some server could take the request once a slot frees (usable, maybe full). */
  #anyUsable(ctx: AcquireContext): boolean {
    const now = this.#clock.now();
    for (const server of this.servers) {
      if (server.isUsable(now) && !ctx.exclude?.has(server)) return true;
    }
    return false;
  }

  #settle(waiter: Waiter, result: ServerState | AcquireFailure): void {
    const at = this.#queue.indexOf(waiter);
    if (at < 0) return;
    this.#queue.splice(at, 1);
    clearTimeout(waiter.timer);
    if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
    waiter.resolve(result);
  }
}
