/**
 * Counters and histograms shared by the proxy (which counts) and the admin plane (which reads).
 * Everything the request path touches is allocated when a config is built: a request only bumps
 * numbers in typed arrays it already holds a reference to — no label strings, no map lookups by
 * label. Labels are put together only when `/metrics` is scraped.
 */

import { PolicyMetrics } from "./policy-metrics.ts";

/** Upper bounds (ms) of the response-time histogram buckets; a last `+Inf` bucket follows. */
export const LATENCY_BUCKETS_MS: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

/**
 * A fixed-bucket response-time histogram (Prometheus style, non-cumulative in memory). Float64
 * counts: they stay exact up to 2^53, where a Uint32 would wrap after four billion requests.
 */
export class LatencyHistogram {
  /** `counts[i]` = observations ≤ `LATENCY_BUCKETS_MS[i]` and above the previous bound; last = above all. */
  readonly counts = new Float64Array(LATENCY_BUCKETS_MS.length + 1);
  count = 0;
  sumMs = 0;

  /** Records one response time in milliseconds. */
  observe(ms: number): void {
    const bounds = LATENCY_BUCKETS_MS;
    let i = 0;
    while (i < bounds.length && ms > bounds[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sumMs += ms;
  }

  /** Adds another histogram's observations (to sum servers into a view). */
  add(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sumMs += other.sumMs;
  }
}

/** Status classes in the order `RequestStats.byClass` keeps them. */
export const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** Requests answered (by status class) and their response times, for a listener, route or pool. */
export class RequestStats {
  /** Index 0 → 1xx ... 4 → 5xx. */
  readonly byClass = new Float64Array(5);
  readonly latency = new LatencyHistogram();

  /** Counts one answered request. */
  record(status: number, ms: number): void {
    this.count(status);
    this.latency.observe(ms);
  }

  /** Counts one answer without a response time (a request the server refused before it was whole). */
  count(status: number): void {
    const c = status >= 500 ? 4 : status >= 400 ? 3 : status >= 300 ? 2 : status >= 200 ? 1 : 0;
    this.byClass[c]!++;
  }

  /** Requests of every class. */
  get total(): number {
    const b = this.byClass;
    return b[0]! + b[1]! + b[2]! + b[3]! + b[4]!;
  }
}

/** The counters of one HTTP listener, prepared for its route table (routes by `CompiledRoute.index`). */
export interface ListenerStats {
  readonly listener: RequestStats;
  /** Indexed by route index. */
  readonly routes: readonly RequestStats[];
  /** The pool of each route, indexed by route index. */
  readonly routePools: readonly (RequestStats | undefined)[];
  /** Requests the listener's server refused itself (malformed, too large, too slow), by `status reason`. */
  readonly refusals: Map<string, number>;
}

/** Outcome counts of config reloads. */
export interface ReloadCounts {
  succeeded: number;
  failed: number;
}

/**
 * Every counter tenbin keeps beyond `ServerState`'s and the L4 listeners' own (`TcpProxy.stats`,
 * `UdpProxy.stats`, which the admin plane reads through `Tenbin.l4Stats`), keyed by name so a reload keeps them: a reload
 * asks for the same names and gets the same objects. `prune` drops what the new config no longer has.
 */
export class MetricsRegistry {
  readonly #listeners = new Map<string, RequestStats>();
  readonly #routes = new Map<string, RequestStats>();
  readonly #pools = new Map<string, RequestStats>();
  readonly #refusals = new Map<string, Map<string, number>>();
  readonly reloads: ReloadCounts = { succeeded: 0, failed: 0 };
  /** Outcome counters of the routes' edge policies. */
  readonly policies = new PolicyMetrics();
  /** Access log lines dropped because the writer could not keep up. */
  accessLogDropped = 0;

  /** The counters of a listener. */
  listener(name: string): RequestStats {
    return getOrCreate(this.#listeners, name, () => new RequestStats());
  }

  /** The counters of a route of a listener. */
  route(listener: string, route: string): RequestStats {
    return getOrCreate(this.#routes, `${listener}\u0000${route}`, () => new RequestStats());
  }

  /** The counters of a pool (every request a route sent to it, whatever server answered). */
  pool(name: string): RequestStats {
    return getOrCreate(this.#pools, name, () => new RequestStats());
  }

  /** Builds the stats a listener's handler holds for its routes (`routes[i]` → pool `pools[i]`). */
  forListener(listener: string, routes: readonly { name: string; pool: string }[], knownPools: ReadonlySet<string>): ListenerStats {
    return {
      listener: this.listener(listener),
      routes: routes.map((r) => this.route(listener, r.name)),
      routePools: routes.map((r) => (knownPools.has(r.pool) ? this.pool(r.pool) : undefined)),
      refusals: getOrCreate(this.#refusals, listener, () => new Map<string, number>()),
    };
  }

  /** Refusals of each listener by `status reason` (see `ListenerStats.refusals`). */
  get refusals(): ReadonlyMap<string, ReadonlyMap<string, number>> {
    return this.#refusals;
  }

  /** Listener counters by name. */
  get listeners(): ReadonlyMap<string, RequestStats> {
    return this.#listeners;
  }

  /** The counters of a route, if it has any (does not create them). */
  findRoute(listener: string, route: string): RequestStats | undefined {
    return this.#routes.get(`${listener}\u0000${route}`);
  }

  /** Route counters as `[listener, route, stats]`. */
  *routes(): Iterable<[string, string, RequestStats]> {
    for (const [key, stats] of this.#routes) {
      const cut = key.indexOf("\u0000");
      yield [key.slice(0, cut), key.slice(cut + 1), stats];
    }
  }

  /** Pool counters by name. */
  get pools(): ReadonlyMap<string, RequestStats> {
    return this.#pools;
  }

  /** Forgets the counters of listeners, routes and pools the config in force no longer has. */
  prune(live: { listeners: ReadonlySet<string>; routes: ReadonlySet<string>; pools: ReadonlySet<string> }): void {
    for (const name of this.#listeners.keys()) if (!live.listeners.has(name)) this.#listeners.delete(name);
    for (const name of this.#refusals.keys()) if (!live.listeners.has(name)) this.#refusals.delete(name);
    for (const key of this.#routes.keys()) if (!live.routes.has(key)) this.#routes.delete(key);
    for (const name of this.#pools.keys()) if (!live.pools.has(name)) this.#pools.delete(name);
    this.policies.prune(live.routes);
  }

  /** The key `prune` expects for a route. */
  static routeKey(listener: string, route: string): string {
    return `${listener}\u0000${route}`;
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
