/**
 * The compiled route table of one HTTP listener, built once per config (and again on reload).
 *
 * First match wins, in file order. To avoid testing every route, routes are sorted into host
 * buckets at compile time: one per exact host, one per wildcard suffix, and one for any other host.
 * Each bucket is the ordered list of every route that can take a request for that host — its own
 * routes, the wildcard routes that cover it, and the routes without a host condition — so a match
 * is: normalize the host, one Map lookup (or a short walk over its wildcard suffixes), then test the
 * bucket's routes in order. A bucket repeats the host-less routes, so memory grows with
 * (hosts × host-less routes); both are small in practice.
 */
import type { RouteConfig } from "../config/schema.ts";
import { findLongestSuffix, normalizeRequestHost } from "./host.ts";
import { RequestScratch } from "./matchers.ts";
import type { RequestPaths } from "./request-path.ts";
import { type CompiledRoute, type RequestFacts, RouteEntry } from "./route-entry.ts";

export type { CompiledRoute, RequestFacts } from "./route-entry.ts";

/** A listener's routes, ready to match requests. */
export interface RouteTable {
  /** Every route in file order. */
  readonly routes: readonly CompiledRoute[];
  /**
   * The route every request takes, when the first route has no conditions (a listener with one
   * pool): the listener then skips gathering request facts for `match`.
   */
  readonly catchAll: CompiledRoute | undefined;
  /** The first route (in file order) whose conditions the request meets, or undefined (→ 404). */
  match(req: RequestFacts): CompiledRoute | undefined;
}

/**
 * Compiles a listener's routes. Throws an error naming the route when a host or regex is unusable
 * (the schema does not check regular expressions). `paths`: the listener's path normalization,
 * applied to the routes' own paths as to requests' (without it, paths are compared as written).
 */
export function compileRoutes(routes: readonly RouteConfig[], paths?: RequestPaths): RouteTable {
  return new BucketedRouteTable(routes.map((config, index) => new RouteEntry(config, index, paths)));
}

class BucketedRouteTable implements RouteTable {
  readonly routes: readonly CompiledRoute[];
  readonly catchAll: CompiledRoute | undefined;
  readonly #exact: ReadonlyMap<string, readonly RouteEntry[]>;
  /** Keyed by suffix with its leading dot: `*.example.com` → `.example.com`. */
  readonly #wildcard: ReadonlyMap<string, readonly RouteEntry[]>;
  /** Routes without a host condition: the bucket of a missing or unknown host. */
  readonly #anyHost: readonly RouteEntry[];
  readonly #scratch = new RequestScratch();

  constructor(entries: readonly RouteEntry[]) {
    this.routes = entries.map((entry) => entry.route);
    this.catchAll = entries[0]?.unconditional ? entries[0].route : undefined;
    const anyHost: RouteEntry[] = [];
    const exactOwn = new Map<string, RouteEntry[]>();
    const wildcardOwn = new Map<string, RouteEntry[]>();
    for (const entry of entries) {
      if (entry.hosts.length === 0) anyHost.push(entry);
      for (const pattern of entry.hosts) {
        if (pattern.kind === "exact") addTo(exactOwn, pattern.host, entry);
        else if (pattern.kind === "wildcard") addTo(wildcardOwn, pattern.suffix, entry);
      }
    }

    // A request for host h can be taken by the routes naming h, by every wildcard whose suffix h
    // ends with (one label at least before it), and by the host-less routes.
    const exact = new Map<string, readonly RouteEntry[]>();
    for (const [host, own] of exactOwn) {
      const covering = [...wildcardOwn].filter(([suffix]) => host.length > suffix.length && host.endsWith(suffix));
      exact.set(host, mergeInFileOrder([own, ...covering.map(([, list]) => list), anyHost]));
    }
    // The longest wildcard suffix of a host stands for all shorter ones it ends with.
    const wildcard = new Map<string, readonly RouteEntry[]>();
    for (const suffix of wildcardOwn.keys()) {
      const covering = [...wildcardOwn].filter(([other]) => suffix.endsWith(other));
      wildcard.set(suffix, mergeInFileOrder([...covering.map(([, list]) => list), anyHost]));
    }
    this.#exact = exact;
    this.#wildcard = wildcard;
    this.#anyHost = anyHost;
  }

  match(req: RequestFacts): CompiledRoute | undefined {
    const candidates = this.#bucket(normalizeRequestHost(req.host));
    const scratch = this.#scratch;
    scratch.reset();
    for (let i = 0; i < candidates.length; i++) {
      const entry = candidates[i]!;
      if (entry.accepts(req, scratch)) return entry.route;
    }
    return undefined;
  }

  #bucket(host: string): readonly RouteEntry[] {
    if (host === "") return this.#anyHost;
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    if (this.#wildcard.size === 0) return this.#anyHost;
    return findLongestSuffix(host, this.#wildcard) ?? this.#anyHost;
  }
}

function addTo(map: Map<string, RouteEntry[]>, key: string, entry: RouteEntry): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [entry]);
  // A route listing the same host twice belongs in its bucket once.
  else if (list.at(-1) !== entry) list.push(entry);
}

function mergeInFileOrder(lists: readonly (readonly RouteEntry[])[]): readonly RouteEntry[] {
  const unique = new Set<RouteEntry>();
  for (const list of lists) for (const entry of list) unique.add(entry);
  return [...unique].sort((a, b) => a.route.index - b.route.index);
}
