/**
 * Composition root: from a validated Config build pools, route tables and listeners, start them, and
 * swap to a new Config on reload. Server run-time state is kept in a registry keyed by pool and
 * address, so a reload keeps health, counters and EWMA of servers that stay.
 */
import { readFile } from "node:fs/promises";
import type { AnyListenerConfig, Config, HealthConfig, ListenerConfig, PoolConfig, ServerConfig } from "./config/schema.ts";
import { formatAddress } from "./admin/format.ts";
import { AdminPlane } from "./admin/plane.ts";
import type { ReloadResult } from "./admin/reloader.ts";
import type { WorkerStatusJson } from "./admin/status.ts";
import { createHttpHandler, type ListenerSnapshot } from "./listener/http.ts";
import { UpgradeTunnels } from "./proxy/upgrade-tunnel.ts";
import { TcpRoutes } from "./listener/tcp-routes.ts";
import { bindError } from "./listener/bind-error.ts";
import { bindL4Listener, type L4Snapshot, type L4Stats, l4StatsOf } from "./listener/l4.ts";
import { proxyHeaderTrust, serveHttpBehindProxyHeader } from "./listener/proxy-front.ts";
import { type RequestRefusal, serveH1 } from "./listener/h1-server/server.ts";
import { AccessLogs } from "./observe/access-log.ts";
import { buildListenerObserver } from "./observe/listener-observer.ts";
import type { Logger } from "./observe/log.ts";
import { MetricsRegistry } from "./observe/metrics.ts";
import { Pool } from "./pool/pool.ts";
import { ServerState } from "./pool/server-state.ts";
import type { SorryPage } from "./proxy/errors.ts";
import { Forwarder } from "./proxy/forward.ts";
import { H1Client } from "./proxy/h1-client/client.ts";
import { WebSocketProxy } from "./proxy/websocket.ts";
import { CertificateWatches, tlsBindKey } from "./tls/cert-watches.ts";
import { loadListenerTls, type ListenerTls } from "./tls/listener-tls.ts";
import { AcmeManager } from "./tls/acme/manager.ts";
import type { CertificateStatus } from "./tls/cert-status.ts";
import { watchExpiry } from "./tls/expiry-watch.ts";
import { upstreamTlsMap } from "./tls/upstream.ts";
import { RequestPaths } from "./router/request-path.ts";
import { compileRoutes } from "./router/route-table.ts";
import { compileListenerPolicies } from "./policy/compile.ts";
import { PolicyStores, type RemoteStoreFactory } from "./policy/stores.ts";
import type { RateLimitConfig } from "./config/policy-schema.ts";
import type { BucketStore } from "./policy/token-bucket.ts";
import type { HttpHandler, HttpServeOptions, HttpServer, Runtime } from "./runtime/types.ts";
import { type Clock, type Random, systemClock } from "./util/clock.ts";
import { unmapIpv4 } from "./util/cidr.ts";
import { ConnectionBudget, connectionLimitFor, fdReserve } from "./listener/connection-budget.ts";
import { LoadFollower } from "./listener/load-follower.ts";
import { openFileLimit } from "./runtime/fd-limit.ts";

/** What the composition root needs from outside. */
export interface TenbinDeps {
  runtime: Runtime;
  logger: Logger;
  clock?: Clock;
  random?: Random;
  /** Reads and validates the config source again; reloads (SIGHUP, API, file watch) need it. */
  loadConfig?: () => Promise<Config>;
  /** Names the config source in reload messages (the file path). */
  configSource?: string;
  /** Bind every HTTP and TCP listener with reusePort, so worker processes share its port (`workers`). */
  reusePort?: boolean;
  /**
   * Set in a worker process, whose primary runs the probes: none run here, and each server of a pool
   * with a `health` section takes its state from this as its pool is built (src/workers/).
   */
  remoteHealth?: (pool: string, server: ServerState, health: HealthConfig) => void;
  /** Set in a worker process: its rate limits ask the primary, which owns the buckets (src/workers/rate-sync.ts). */
  remoteBuckets?: RemoteStoreFactory;
  /** Set in a worker process: its listeners join ports the primary holds (no check that they are free). */
  joinsPorts?: boolean;
}

/** One config's worth of built parts; requests read the one in force when they arrive. */
interface Generation {
  config: Config;
  pools: Map<string, Pool>;
  listeners: Map<string, ListenerSnapshot>;
  /** TCP and UDP listeners' config and pool. */
  l4: Map<string, L4Snapshot>;
}

interface RunningListener {
  /** An HttpServer, or a TcpProxy / UdpProxy. */
  server: Pick<HttpServer, "hostname" | "port" | "stop">;
  /** Mode and address (and for HTTP what it serves: certificates, protocols): a change binds anew. */
  listen: string;
  /** Bound with reusePort (TLS listeners, workers), so a successor can bind beside it. */
  reusePort?: boolean;
  /** The certificates it was bound with. */
  tls?: ListenerTls | undefined;
  /** The bound address as a URL (BoundListener.url). */
  url: string;
}

/** Open client connections of a bound listener (UDP: flows), where its server keeps the count. */
function openConnectionsOf(server: object): number | undefined {
  const s = server as { openConnections?: unknown; active?: unknown; flows?: unknown };
  const count = s.openConnections ?? s.active ?? s.flows;
  return typeof count === "number" ? count : undefined;
}

/** A bound listener, for logs, the ready file and tests. */
export interface BoundListener {
  name: string;
  hostname: string;
  port: number;
  /** `http://127.0.0.1:8080`, `https://…`, `tcp://…`, `tls://…` or `udp://…` with the bound port. */
  url: string;
  /** Client connections open now (UDP: flows); undefined where the server does not tell. */
  openConnections: number | undefined;
}

/**
 * The exit code of a stop that cut requests in flight (`shutdown_timeout` reached, or a second
 * SIGTERM/SIGINT): not 0, so a supervisor (systemd, a CI job) sees that work was lost; not 1 (a
 * config or start error), not 2 (usage).
 */
export const EXIT_REQUESTS_CUT = 3;

export class Tenbin {
  readonly #deps: TenbinDeps & Required<Pick<TenbinDeps, "clock" | "random">>;
  /** Counters of listeners, routes, pools and reloads (servers count on their ServerState). */
  readonly metrics = new MetricsRegistry();
  /** Rate limit buckets, kept across reloads. */
  readonly #policyStores: PolicyStores;
  readonly #accessLogs: AccessLogs;
  readonly #admin: AdminPlane;
  #accepting = true;
  readonly #forwarder: Forwarder;
  /** The keep-alive client for http:// backends (https:// ones go through the runtime's fetch). */
  readonly #upstream: H1Client;
  readonly #registry = new Map<string, ServerState>();
  readonly #running = new Map<string, RunningListener>();
  readonly #cookieKey = crypto.randomUUID();
  readonly #websockets: WebSocketProxy;
  readonly #certWatches = new CertificateWatches((name) => void this.#reloadCertificates(name));
  readonly #acme: AcmeManager;
  /** Stops the twice-daily look at certificate files near their expiry. */
  readonly #stopExpiryWatch: () => void;
  readonly #reloadListeners = new Set<(config: Config) => void>();
  #workerStatus: (() => readonly WorkerStatusJson[]) | undefined;
  #generation: Generation | undefined;
  /** The generation a reload is binding listeners for, until it is swapped in. */
  #pending: Generation | undefined;
  /** The connection budget of each own-engine HTTP listener by name (`auto` ones share one). */
  readonly #budgets = new Map<string, ConnectionBudget>();
  #sharedBudget: ConnectionBudget | undefined;
  readonly #fdLimit = openFileLimit();
  /** `server_receive_buffer` of the config in force (undefined: auto). */
  #receiveBuffer: number | undefined;
  /** The runtime's connectTcp with the config's receive buffer: every connection to a server goes through it. */
  readonly #connectTcp: Runtime["connectTcp"] = (options) => this.#deps.runtime.connectTcp({ ...options, receiveBuffer: this.#receiveBuffer });
  /** Collects garbage after the number of open connections moved a lot (memory follows the load down). */
  readonly #follower: LoadFollower | undefined;
  /** Set while `stop()` waits for in-flight requests: ends the wait at once. */
  #hurry: ((reason: string) => void) | undefined;

  private constructor(deps: TenbinDeps) {
    this.#deps = { clock: systemClock, random: Math.random, ...deps };
    this.#policyStores = new PolicyStores(deps.logger, deps.remoteBuckets);
    const { lateResponseBytes } = deps.runtime;
    this.#upstream = new H1Client({ connectTcp: this.#connectTcp, fallback: deps.runtime.fetchUpstream, ...(lateResponseBytes ? { bufferLimit: lateResponseBytes } : {}) });
    this.#forwarder = new Forwarder(this.#upstream.fetch, deps.logger);
    const release = deps.runtime.releaseMemory;
    this.#follower = release ? new LoadFollower(() => this.#openConnections(), release, undefined, deps.runtime.blockedConnections) : undefined;
    this.#websockets = new WebSocketProxy(deps.runtime.connectWebSocket, deps.logger);
    this.#acme = new AcmeManager({ logger: deps.logger, random: this.#deps.random, onChange: (name) => void this.#reloadCertificates(name) });
    this.#stopExpiryWatch = watchExpiry(() => this.certificates, deps.logger);
    this.#accessLogs = new AccessLogs({ onDrop: () => this.metrics.accessLogDropped++, onError: (m) => deps.logger.error(m) });
    this.#admin = new AdminPlane({
      view: this,
      runtime: deps.runtime,
      logger: deps.logger,
      load: deps.loadConfig,
      source: deps.configSource,
      apply: (config) => this.reload(config),
    });
  }

  /** False once `stop()` began (the admin /healthz then fails). */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** The latest reload's result; undefined when started without `loadConfig`. */
  get lastReload(): ReloadResult | undefined {
    return this.#admin.lastReload;
  }

  /** Processes of `workers` (with their counts), when more than one serves; for the admin plane. */
  get workers(): readonly WorkerStatusJson[] | undefined {
    return this.#workerStatus?.();
  }

  /** Where `workers` reads per-process status from (the worker supervisor sets it). */
  setWorkerStatus(source: (() => readonly WorkerStatusJson[]) | undefined): void {
    this.#workerStatus = source;
  }

  /** Calls `listener` after each reload that switched config (not the first start); returns an unsubscribe. */
  onReload(listener: (config: Config) => void): () => void {
    this.#reloadListeners.add(listener);
    return () => this.#reloadListeners.delete(listener);
  }

  /** Where the admin listener is bound, if it runs. */
  get adminAddress(): { hostname: string; port: number } | undefined {
    return this.#admin.address;
  }

  /**
   * Reads the config source again and switches to it if it is valid; an invalid one leaves the
   * running config alone. The one reload path of SIGHUP, the file watch and `POST /api/reload`.
   */
  reloadFromSource(trigger: string): Promise<ReloadResult> {
    return this.#admin.reload(trigger);
  }

  /** Reopens access log files (SIGUSR1, after logrotate moved them). */
  reopenLogs(): void {
    this.#accessLogs.reopenAll();
  }

  /** Builds everything from `config` and binds the listeners. */
  static async start(config: Config, deps: TenbinDeps): Promise<Tenbin> {
    const tenbin = new Tenbin(deps);
    await tenbin.reload(config);
    tenbin.#follower?.start();
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
    return [...this.#running].map(([name, r]) => ({ name, hostname: r.server.hostname, port: r.server.port, url: r.url, openConnections: openConnectionsOf(r.server) }));
  }

  /** Counters of the TCP and UDP listeners by name: connections, bytes, flows, drops. */
  get l4Stats(): Map<string, L4Stats> {
    const out = new Map<string, L4Stats>();
    for (const [name, r] of this.#running) {
      const stats = l4StatsOf(r.server);
      if (stats) out.set(name, stats);
    }
    return out;
  }

  /**
   * Switches to `config`: builds new pools and routes, starts listeners that are new or moved,
   * swaps, then stops what the old config had alone. Requests in flight finish on the old parts.
   */
  async reload(config: Config): Promise<void> {
    const previous = this.#generation;
    const next = await this.#build(config, previous);
    this.#sizeBudgets(config);
    this.#receiveBuffer = config.server_receive_buffer === "auto" ? undefined : config.server_receive_buffer;
    this.#pending = next;
    if (!this.#deps.remoteHealth) for (const pool of next.pools.values()) pool.start();
    try {
      await this.#acme.sync(config.listeners);
      for (const listener of config.listeners) {
        const address = `${listener.mode} ${listener.listen.host}:${listener.listen.port}`;
        const tls = this.#loadTls(listener);
        const listen = listener.mode !== "udp" ? `${address} ${tlsBindKey(listener, tls)}` : address;
        const running = this.#running.get(listener.name);
        if (running && running.listen === listen) continue;
        // Same address, new certificates or protocols: the new socket takes the same (maybe picked) port.
        const samePort = running?.listen.startsWith(`${address} `) ? running.server.port : undefined;
        const shareable = listener.mode === "http" && (tls !== undefined || this.#deps.reusePort === true);
        if (running && samePort !== undefined && !(running.reusePort && shareable)) {
          this.#running.delete(listener.name); // the two cannot share the port: free it first
          void running.server.stop();
        }
        // A socket shared with reusePort would bind beside another tenbin's: a new address is
        // first bound alone, so a taken port is refused as for any listener (worker processes
        // join the ports their primary holds).
        const sharesPort = shareable || (listener.mode === "tcp" && this.#deps.reusePort === true);
        let server: Awaited<ReturnType<typeof bindL4Listener>> | HttpServer;
        try {
          if (samePort === undefined && sharesPort && listener.listen.port !== 0 && !this.#deps.joinsPorts) await this.#ensureFree(listener.listen);
          server = listener.mode === "http"
            ? await this.#bind(listener, tls, samePort)
            : await bindL4Listener(listener, () => this.#generation?.l4.get(listener.name) ?? next.l4.get(listener.name), this.#l4Deps(), { tls: tls?.serve, port: samePort });
        } catch (error) {
          throw bindError(listener.name, listener.listen.host, samePort ?? listener.listen.port, error);
        }
        const old = this.#running.get(listener.name);
        const scheme = tls ? (listener.mode === "http" ? "https" : "tls") : listener.mode;
        const url = `${scheme}://${formatAddress({ host: server.hostname, port: server.port })}`;
        this.#running.set(listener.name, { server, listen, reusePort: (server as Partial<HttpServer>).reusePort === true, tls, url });
        if (old) void old.server.stop();
        this.#deps.logger.info(`listener ${listener.name} listening on ${url}`, { listener: listener.name, url });
      }
      await this.#admin.apply(config, previous === undefined);
      this.#acme.startOrders();
    } catch (error) {
      this.#pending = undefined;
      for (const pool of next.pools.values()) pool.stop();
      throw error;
    }
    this.#generation = next;
    this.#pending = undefined;
    const names = new Set(config.listeners.map((l) => l.name));
    for (const [name, running] of this.#running) {
      if (names.has(name)) continue;
      this.#running.delete(name);
      void running.server.stop();
    }
    if (previous) for (const pool of previous.pools.values()) pool.stop();
    this.#forgetRemovedServers(next);
    this.#certWatches.sync(config.listeners);
    const http = config.listeners.flatMap((l) => (l.mode === "http" ? [l] : []));
    this.#accessLogs.retain(new Set(http.flatMap((l) => (l.access_log ? [l.access_log.path] : []))));
    this.metrics.prune({
      listeners: names,
      routes: new Set(http.flatMap((l) => l.routes.map((r, i) => MetricsRegistry.routeKey(l.name, r.name ?? `route${i}`)))),
      pools: new Set(Object.keys(config.pools)),
    });
    this.#policyStores.retainUsed();
    if (previous) for (const listener of this.#reloadListeners) listener(config);
    if (previous) this.#follower?.reloaded();
  }

  /** The bucket store of rate limit `id` (the primary answers its workers' questions from it). */
  policyBuckets(id: string, config: RateLimitConfig): BucketStore {
    return this.#policyStores.buckets(id, config);
  }

  /**
   * Stops accepting, waits for in-flight requests up to `timeoutMs` (or until `hurry()`), then cuts
   * the rest. Resolves true when every request finished, false when some were cut.
   */
  async stop(timeoutMs = this.#generation?.config.shutdown_timeout ?? 30_000): Promise<boolean> {
    this.#accepting = false;
    this.#follower?.stop();
    this.#certWatches.stopAll();
    this.#acme.stop();
    this.#stopExpiryWatch();
    this.#websockets.closeAll();
    for (const pool of this.#generation?.pools.values() ?? []) pool.stop();
    const servers = [...this.#running.values()].map((r) => r.server);
    this.#running.clear();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceful = Promise.all(servers.map((s) => s.stop(false))).then(() => true);
    let why = `shutdown timeout of ${timeoutMs}ms reached`;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      this.#hurry = (reason) => ((why = reason), resolve(false));
    });
    const finished = await Promise.race([graceful, deadline]);
    clearTimeout(timer);
    this.#hurry = undefined;
    if (!finished) {
      this.#deps.logger.warn(`${why}; closing remaining connections`);
      await Promise.all(servers.map((s) => s.stop(true)));
    }
    this.#upstream.close();
    await this.#admin.stop();
    await this.#accessLogs.closeAll();
    return finished;
  }

  /** During `stop()`: cut what is still in flight now instead of at the shutdown timeout (a second signal). */
  hurry(reason: string): void {
    this.#hurry?.(reason);
  }

  /** Client connections open on the HTTP listeners that count them. */
  #openConnections(): number {
    let n = 0;
    for (const { server } of this.#running.values()) n += (server as Partial<HttpServer>).connectionCount ?? 0;
    return n;
  }

  /** What an L4 listener needs: the deps, with connections to servers made through `#connectTcp`. */
  #l4Deps(): TenbinDeps & { clock: Clock; runtime: Runtime; connectionBudget: () => ConnectionBudget | undefined } {
    const { runtime } = this.#deps;
    const l4Runtime = { ...runtime, connectTcp: this.#connectTcp };
    return { ...this.#deps, clock: this.#deps.clock, runtime: l4Runtime, connectionBudget: () => this.#sharedBudget };
  }

  /**
   * Sizes the connection budgets for `config` (before its listeners bind): a number for listeners
   * that set `max_conns`, one budget derived from the fd limit shared by the `auto` ones. Logged
   * once when the derived limit is set or changes: the numbers an operator needs at the fd limit.
   */
  #sizeBudgets(config: Config): void {
    const { logger } = this.#deps;
    const http = config.listeners.flatMap((l) => (l.mode === "http" && l.engine === "tenbin" ? [l] : []));
    const live = new Set(http.map((l) => l.name));
    for (const name of this.#budgets.keys()) if (!live.has(name)) this.#budgets.delete(name);
    const fdLimit = this.#fdLimit;
    const tcpUnlimited = config.listeners.some((l) => l.mode === "tcp" && l.max_conns === 0);
    if (fdLimit !== undefined && (tcpUnlimited || http.some((l) => l.max_conns === "auto"))) {
      const reserve = fdReserve({
        listeners: config.listeners.length + 1,
        servers: Object.values(config.pools).reduce((n, p) => n + p.servers.length, 0),
        accessLogs: new Set(http.flatMap((l) => (l.access_log ? [l.access_log.path] : []))).size,
      });
      const limit = connectionLimitFor(fdLimit, reserve);
      if (this.#sharedBudget?.limit !== limit) {
        logger.info(`fd limit ${fdLimit}: HTTP listeners with max_conns auto (and TCP listeners without max_conns) take at most ${limit} client connections together (${reserve} descriptors kept for server, check and log sockets)`);
      }
      this.#sharedBudget ??= new ConnectionBudget(limit, (b) =>
        logger.warn(`${b.open} client connections, at the limit of ${b.limit} derived from the fd limit ${fdLimit}; new connections are refused (HTTP: 503) until some close (set max_conns, or raise the fd limit: ulimit -n, LimitNOFILE=)`));
      this.#sharedBudget.limit = limit;
    }
    for (const listener of http) {
      const { name, max_conns } = listener;
      if (max_conns === "auto") {
        if (this.#sharedBudget) this.#budgets.set(name, this.#sharedBudget);
        else this.#budgets.delete(name);
        continue;
      }
      const own = this.#budgets.get(name);
      if (own !== undefined && own !== this.#sharedBudget) own.limit = max_conns;
      else {
        this.#budgets.set(name, new ConnectionBudget(max_conns, (b) =>
          logger.warn(`listener ${name}: ${b.open} client connections, at its max_conns of ${b.limit}; new connections are answered 503 until some close`)));
      }
    }
  }

  /** Binds `address` without reusePort and lets it go: throws when another socket holds it. */
  async #ensureFree(address: { host: string; port: number }): Promise<void> {
    // A port this process holds (a listener given its picked port in a reload) is ours to share.
    for (const running of this.#running.values()) if (running.server.port === address.port) return;
    const probe = await this.#deps.runtime.listenTcp({
      hostname: address.host,
      port: address.port,
      reusePort: false,
      accept: (conn) => {
        conn.destroy();
        return { data() {}, drain() {}, end() {}, close() {} };
      },
    });
    probe.stop();
  }

  async #bind(listener: ListenerConfig, tls: ListenerTls | undefined, port = listener.listen.port): Promise<HttpServer> {
    const name = listener.name;
    // A listener new in a reload takes requests before the swap: it reads the generation being built.
    // tenbin's own server tunnels WebSocket upgrades itself (the runtime's has its upgrader).
    const tunnels = listener.engine === "tenbin" ? new UpgradeTunnels(this.#connectTcp, this.#deps.logger) : undefined;
    const handler = createHttpHandler(() => (this.#generation?.listeners.get(name) ?? this.#pending?.listeners.get(name))!, this.#forwarder, tls ? "https" : "http", this.#websockets, tunnels, tls ? undefined : this.#acme);
    const options: HttpServeOptions = {
      hostname: listener.listen.host,
      port,
      // The runtime's server hands over Web `Request`s, which never take light answers, so every
      // answer to them is a Web `Response`.
      handler: handler as unknown as HttpHandler,
      tls: tls?.serve,
      http2: listener.http2,
      // A TLS listener is replaced by a new socket on the same port when its certificates change.
      reusePort: tls !== undefined || this.#deps.reusePort === true,
      idleTimeoutSec: Math.ceil(listener.idle_timeout / 1000),
      // tenbin enforces max_body itself (listener: declared lengths, forward: chunked bodies) so the
      // 413 carries a request id and reaches the access log; the runtime's own refusal would answer
      // first with neither, so its limit is set out of the way.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    };
    if (listener.engine === "tenbin") {
      const proxyHeader = listener.accept_proxy ? proxyHeaderTrust(name, listener.trusted_proxies, this.#deps.logger) : undefined;
      // Refusals of the server itself reach the access log and counters of the config in force.
      const refused = (r: RequestRefusal) =>
        (this.#generation?.listeners.get(name) ?? this.#pending?.listeners.get(name))?.observer?.refused({ clientIp: unmapIpv4(r.client.address), status: r.status, reason: r.reason, method: r.method, path: r.target, host: r.host });
      const connections = () => this.#budgets.get(name);
      return await serveH1({ ...options, handler, listenTcp: this.#deps.runtime.listenTcp, idleTimeoutMs: listener.idle_timeout, proxyHeader, refused, connections });
    }
    if (!listener.accept_proxy) return await this.#deps.runtime.serveHttp(options);
    const { runtime, logger, clock } = this.#deps;
    return await serveHttpBehindProxyHeader(options, { name, trustedProxies: listener.trusted_proxies, idleTimeoutMs: listener.idle_timeout, runtime, logger, clock });
  }

  /**
   * A TLS listener's files changed: bind a listener with the new certificates beside the old one
   * (same port, reusePort), then retire the old one gracefully. Files that cannot be loaded (a key
   * written before its certificate) leave the old certificates in use. Where the runtime could not
   * share the port (Deno without --unstable-net), the old socket is closed first: a short gap.
   */
  async #reloadCertificates(name: string): Promise<void> {
    const listener = this.#generation?.config.listeners.find((l) => l.name === name);
    const running = this.#running.get(name);
    if (!listener || listener.mode === "udp" || !listener.tls || !running) return;
    const { logger } = this.#deps;
    let tls: ListenerTls;
    try {
      tls = this.#loadTls(listener)!;
    } catch (error) {
      logger.error(`listener ${name}: certificate files changed but cannot be used; still serving the previous ones: ${(error as Error).message}`);
      return;
    }
    const listen = `${listener.mode} ${listener.listen.host}:${listener.listen.port} ${tlsBindKey(listener, tls)}`;
    if (running.listen === listen) return;
    for (const warning of tls.warnings) logger.warn(`listener ${name}: ${warning}`);
    if (!running.reusePort) void running.server.stop();
    const server = listener.mode === "http"
      ? await this.#bind(listener, tls, running.server.port)
      : await bindL4Listener(listener, () => this.#generation?.l4.get(name), this.#l4Deps(), { tls: tls.serve, port: running.server.port });
    if (this.#running.get(name) !== running) {
      void server.stop(); // a reload replaced the listener meanwhile
      return;
    }
    this.#running.set(name, { server, listen, reusePort: (server as Partial<HttpServer>).reusePort === true, tls, url: running.url });
    if (running.reusePort) void running.server.stop();
    logger.info(`listener ${name}: certificates reloaded; new handshakes on ${listener.mode === "http" ? "https" : "tls"}://${server.hostname}:${server.port} use them`);
  }

  /** A listener's TLS material: its certificate files and what ACME holds for it. */
  #loadTls(listener: AnyListenerConfig): ListenerTls | undefined {
    if (listener.mode === "udp" || !listener.tls) return undefined;
    return loadListenerTls(listener.tls, Date.now(), undefined, listener.tls.acme ? this.#acme.certificatesFor(listener.name) : []);
  }

  /** Every certificate served now (files and ACME) and ACME hosts still waiting for theirs. */
  get certificates(): CertificateStatus[] {
    const out: CertificateStatus[] = [];
    for (const [listener, running] of this.#running) {
      for (const c of running.tls?.fromFiles ?? []) out.push({ listener, host: c.hosts[0] ?? c.names[0] ?? c.subject, source: "file", notAfter: c.notAfter.getTime(), orderFailures: 0 });
    }
    return [...out, ...this.#acme.status()];
  }

  async #build(config: Config, previous: Generation | undefined): Promise<Generation> {
    const pools = new Map<string, Pool>();
    for (const [name, poolConfig] of Object.entries(config.pools)) {
      pools.set(name, await this.#buildPool(name, poolConfig, previous));
    }
    const listeners = new Map<string, ListenerSnapshot>();
    const l4 = new Map<string, L4Snapshot>();
    for (const listener of config.listeners) {
      if (listener.mode !== "http") {
        const pool = listener.pool !== undefined ? pools.get(listener.pool) : undefined;
        const routes = listener.mode === "tcp" && listener.routes ? new TcpRoutes(listener.routes, pools, pool) : undefined;
        l4.set(listener.name, { config: listener, pool, routes });
        continue;
      }
      const observer = buildListenerObserver(listener, this.metrics, this.#accessLogs, new Set(pools.keys()));
      const policies = compileListenerPolicies(config, listener, {
        metrics: this.metrics.policies,
        verifyPassword: this.#deps.runtime.verifyPassword,
        passwordHashSupported: this.#deps.runtime.passwordHashSupported,
        buckets: (id, limit) => this.#policyStores.buckets(id, limit),
      });
      listeners.set(listener.name, { config: listener, routes: compileRoutes(listener.routes, new RequestPaths(listener.paths)), pools, observer, policies });
    }
    return { config, pools, listeners, l4 };
  }

  async #buildPool(name: string, config: PoolConfig, previous: Generation | undefined): Promise<Pool> {
    const { clock, random, logger, runtime } = this.#deps;
    const kept = new Set<ServerState>();
    const servers = config.servers.map((serverConfig) => {
      const key = `${name}\u0000${new ServerState(serverConfig, clock).key}`;
      let state = this.#registry.get(key);
      if (state) {
        const wasOut = state.disabled || state.draining || state.weight === 0;
        if (!sameServerConfig(state.config, serverConfig)) {
          // The config changed this server: run-time overrides give way to the file.
          state.weightOverride = undefined;
          state.drainOverride = undefined;
          state.disabled = false;
        }
        state.config = serverConfig;
        // Back in service through the new config (drain off, a weight again): ramp under slow_start.
        if (wasOut && !state.disabled && !state.draining && state.weight > 0) state.upSince = clock.now();
        if (previous?.pools.get(name)?.config.health) kept.add(state);
      } else {
        state = new ServerState(serverConfig, clock);
        this.#registry.set(key, state);
      }
      if (!config.health) state.healthy = true;
      else this.#deps.remoteHealth?.(name, state, config.health);
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
      keepHealth: memberOf(kept),
      sorryPage,
      sorryServer,
      fallbackCookieKey: this.#cookieKey,
      upstreamTls: upstreamTlsMap(config, sorryServer ? [...servers, sorryServer] : servers),
      previousPassive: previous?.pools.get(name)?.passive,
    });
  }

  #forgetRemovedServers(generation: Generation): void {
    const live = new Set<ServerState>();
    for (const pool of generation.pools.values()) for (const s of pool.servers) live.add(s);
    for (const [key, state] of this.#registry) if (!live.has(state)) this.#registry.delete(key);
  }
}

/**
 * `(s) => set.has(s)`, made outside `#buildPool`: a closure made there would share its scope with
 * the callbacks that read `previous`, and keep every earlier generation reachable through it (JSC
 * keeps one environment per scope for all its closures): 12 KB per reload, never given back.
 */
function memberOf<T>(set: ReadonlySet<T>): (item: T) => boolean {
  return (item) => set.has(item);
}

function sameServerConfig(a: ServerConfig, b: ServerConfig): boolean {
  return a.url === b.url && a.weight === b.weight && a.max_conns === b.max_conns && a.backup === b.backup && a.drain === b.drain && a.name === b.name;
}
