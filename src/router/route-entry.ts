/**
 * One configured route, compiled: its host patterns (used by the table to place it in host buckets)
 * and the matchers of everything else, which `accepts` tests in order of cost.
 */
import type { RouteConfig, StringMatchConfig } from "../config/schema.ts";
import type { HeaderMap } from "../runtime/types.ts";
import { type HostPattern, parseHostPattern } from "./host.ts";
import { PathMatcher, type RequestScratch, StringMatcher } from "./matchers.ts";
import type { RequestPaths } from "./request-path.ts";

/** What the router needs of a request; the HTTP listener builds it without parsing the URL. */
export interface RequestFacts {
  method: string;
  /** The raw Host header (any case, may carry a port, `[::1]:8080` for IPv6), or null. */
  host: string | null;
  /** The path without the query, normalized for routing (router/request-path.ts `forRouting`). */
  path: string;
  /** The raw query without `?`; `""` when there is none. */
  query: string;
  headers: HeaderMap;
}

/** The route a request takes. */
export interface CompiledRoute {
  /** Position in the listener's `routes` (file order). */
  readonly index: number;
  /** The configured name, or `route<index>`. */
  readonly name: string;
  /** The pool, or "" for a route that only answers (redirect, respond). */
  readonly pool: string;
}

const NO_MATCHERS: readonly StringMatcher[] = [];

/** A route with its conditions compiled; host conditions are checked by the table's buckets. */
export class RouteEntry {
  readonly route: CompiledRoute;
  /** Host conditions; empty when the route takes any host. */
  readonly hosts: readonly HostPattern[];
  readonly #methods: readonly string[] | undefined;
  readonly #path: PathMatcher | undefined;
  readonly #headers: readonly StringMatcher[];
  readonly #query: readonly StringMatcher[];
  readonly #cookies: readonly StringMatcher[];

  constructor(config: RouteConfig, index: number, paths?: RequestPaths) {
    const name = config.name ?? `route${index}`;
    this.route = Object.freeze({ index, name, pool: config.pool ?? "" });
    const match = config.match ?? {};
    try {
      this.hosts = compileHosts(match.host);
      this.#methods = match.method === undefined ? undefined : toArray(match.method).map((m) => m.trim().toUpperCase());
      this.#path = match.path === undefined ? undefined : new PathMatcher(match.path, paths);
      this.#headers = compileMatchers(match.headers, (headerName) => headerName.toLowerCase());
      this.#query = compileMatchers(match.query, (paramName) => paramName);
      this.#cookies = compileMatchers(match.cookie, (cookieName) => cookieName);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`route "${name}" (routes[${index}]): ${reason}`);
    }
  }

  /** Whether the route has no condition at all, so it takes every request. */
  get unconditional(): boolean {
    return this.hosts.length === 0 && this.#methods === undefined && this.#path === undefined &&
      this.#headers.length === 0 && this.#query.length === 0 && this.#cookies.length === 0;
  }

  /** Whether the request meets every non-host condition (cheapest first). */
  accepts(facts: RequestFacts, scratch: RequestScratch): boolean {
    if (this.#methods !== undefined && !this.#methods.includes(scratch.method(facts.method))) return false;
    if (this.#path !== undefined && !this.#path.test(facts.path)) return false;
    for (const matcher of this.#headers) {
      if (!matcher.test(facts.headers.get(matcher.name))) return false;
    }
    for (const matcher of this.#query) {
      if (!matcher.test(scratch.queryParam(facts.query, matcher.name))) return false;
    }
    for (const matcher of this.#cookies) {
      if (!matcher.test(scratch.cookie(facts.headers, matcher.name))) return false;
    }
    return true;
  }
}

function toArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

// `*` among the hosts makes the route take any host, so it behaves like a route without a host.
function compileHosts(hosts: string | string[] | undefined): readonly HostPattern[] {
  if (hosts === undefined) return [];
  const patterns: HostPattern[] = [];
  for (const text of toArray(hosts)) {
    const pattern = parseHostPattern(text);
    if (typeof pattern === "string") throw new Error(pattern);
    if (pattern.kind === "any") return [];
    patterns.push(pattern);
  }
  return patterns;
}

function compileMatchers(
  conditions: Record<string, StringMatchConfig> | undefined,
  normalizeName: (name: string) => string,
): readonly StringMatcher[] {
  if (conditions === undefined) return NO_MATCHERS;
  return Object.entries(conditions).map(([name, config]) => new StringMatcher(normalizeName(name), config));
}
