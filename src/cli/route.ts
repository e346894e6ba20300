/**
 * `tenbin route -c FILE METHOD URL [-H 'Name: value']...`: which listener, route and pool a request
 * would take, and which server the pool would pick next — without sending anything. The answer is
 * data (`RouteAnswer`), printed as lines or JSON; `--expect-pool`/`--expect-status` turn it into a
 * CI gate. Paths are normalized and policies explained as the listener does (listener/http.ts).
 */
import type { AnyListenerConfig, Config, RouteConfig } from "../config/schema.ts";
import { Pool } from "../pool/pool.ts";
import { ServerState } from "../pool/server-state.ts";
import { RequestPaths } from "../router/request-path.ts";
import { compileRoutes } from "../router/route-table.ts";
import { compileRoutePolicy } from "../policy/compile.ts";
import { PolicyMetrics } from "../observe/policy-metrics.ts";
import { LocalBuckets } from "../policy/token-bucket.ts";
import { bucketLimitOf } from "../policy/rate-limit.ts";
import { memoryLogger } from "../observe/log.ts";
import type { RuntimeFetch } from "../runtime/types.ts";
import { systemClock } from "../util/clock.ts";
import { UsageError } from "./args.ts";

/** What `tenbin route` found; `status` is the answer tenbin gives itself (404, 503, a policy's), null when proxied. */
export interface RouteAnswer {
  /** Set when the request cannot be placed: no listener, no route, a tcp/udp listener. */
  error?: string;
  listener?: { name: string; address: string; mode: string };
  /** The path as the routes see it, when normalizing changed it (`paths:` of the listener). */
  path?: { normalized: string; forwarded: "normalized" | "as_received" };
  route?: { name: string; index: number };
  /** What the route's policies would do, one line per step; `answered`: they answer, no pool is asked. */
  policies?: { lines: string[]; answered: boolean };
  pool?: string;
  balance?: string;
  hashKey?: string | null;
  /** What the persistence cookie said: the server it names, or why it was not followed. */
  cookie?: string;
  server?: { name: string; url: string } | null;
  status: number | null;
}

/** Inputs of `explainRoute` besides the config. */
export interface RouteQuestion {
  method: string;
  url: string;
  headers: readonly string[];
  /** The listener by name (for configs with several); else the URL's port picks it. */
  listener?: string | undefined;
  clientIp?: string;
}

/** Which listener, route, pool and server `q` would take. */
export function explainRoute(config: Config, q: RouteQuestion): RouteAnswer {
  let url: URL;
  try {
    url = new URL(q.url);
  } catch {
    throw new UsageError(`bad URL "${q.url}"; expected an absolute URL such as http://localhost:8080/api`, "route");
  }
  const headers = new Headers();
  for (const line of q.headers) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new UsageError(`bad header "${line}"; expected "Name: value"`, "route");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  if (!headers.has("host")) headers.set("host", url.host);
  const facts = { method: q.method.toUpperCase(), host: headers.get("host"), path: url.pathname, query: url.search.slice(1), headers };
  const listener = pickListener(config, url, q.listener, facts);
  if (typeof listener === "string") return { error: listener, status: null };
  const where = { name: listener.name, address: `${listener.listen.host}:${listener.listen.port}`, mode: listener.mode };
  if (listener.mode !== "http") {
    return { error: `listener "${listener.name}" is a ${listener.mode} listener${listener.pool === undefined ? "" : ` of pool "${listener.pool}"`}; it has no routes`, listener: where, ...(listener.pool === undefined ? {} : { pool: listener.pool }), status: null };
  }
  const paths = new RequestPaths(listener.paths);
  const path = paths.normalize(url.pathname);
  if (path === undefined) return { error: `path ${url.pathname} is refused (the client gets 400)`, listener: where, status: 400 };
  const normalized = path === url.pathname ? undefined : { normalized: path, forwarded: paths.forwardNormalized ? "normalized" as const : "as_received" as const };
  const route = compileRoutes(listener.routes, paths).match({ ...facts, path: paths.forRouting(path) });
  if (!route) return { error: "no route matches (the client gets 404)", listener: where, ...(normalized ? { path: normalized } : {}), status: 404 };
  const answer: RouteAnswer = { listener: where, ...(normalized ? { path: normalized } : {}), route: { name: route.name, index: route.index + 1 }, status: null };
  const clientIp = q.clientIp ?? "127.0.0.1";
  // The policies see the path the listener forwards: the normalized one unless `as_received`.
  const forwardedPath = path !== url.pathname && paths.forwardNormalized ? path : url.pathname;
  const policies = explainPolicies(config, listener.name, listener.routes[route.index]!, route.index, url, forwardedPath + url.search, headers, clientIp);
  if (policies) answer.policies = { lines: policies.lines, answered: policies.status !== undefined };
  if (policies?.status !== undefined) {
    answer.status = policies.status;
    return answer;
  }
  answer.pool = route.pool;
  const poolConfig = config.pools[route.pool];
  if (!poolConfig) return answer;
  const noFetch: RuntimeFetch = () => Promise.reject(new Error("tenbin route sends nothing"));
  const servers = poolConfig.servers.map((s) => new ServerState(s, systemClock));
  const pool = new Pool(route.pool, { ...poolConfig, health: undefined }, {
    clock: systemClock, random: Math.random, logger: memoryLogger(), fetch: noFetch, servers, fallbackCookieKey: "route",
  });
  const sticky = { clientIp, cookieHeader: headers.get("cookie"), headers, pathAndQuery: url.pathname + url.search };
  const hashKey = poolConfig.balance === "hash" ? pool.sticky.hashKey(sticky) : undefined;
  // The persistence cookie decides before the balancer, as in the proxy.
  const pinned = pool.sticky.enabled ? pool.sticky.pinned(sticky) : undefined;
  const picked = pool.acquire({ clientIp, hashKey, pinned });
  const server = typeof picked === "string" || picked instanceof Promise ? undefined : picked;
  answer.balance = poolConfig.balance === "hash" ? `hash on ${poolConfig.hash_on}` : poolConfig.balance;
  if (poolConfig.balance === "hash") answer.hashKey = hashKey ?? null;
  const cookie = cookieNote(poolConfig.sticky?.cookie, headers.get("cookie"), pinned?.name);
  if (cookie) answer.cookie = cookie;
  answer.server = server ? { name: server.name, url: server.origin } : null;
  if (!server) answer.status = 503;
  return answer;
}

type Facts = Parameters<ReturnType<typeof compileRoutes>["match"]>[0];

/**
 * `--listener NAME`; else the listener on the URL's port; else, when the URL names no port (or no
 * listener has it), the first http listener with a route for the request, then the only listener.
 */
function pickListener(config: Config, url: URL, byName: string | undefined, facts: Facts): AnyListenerConfig | string {
  if (byName !== undefined) {
    return config.listeners.find((l) => l.name === byName)
      ?? `no listener named "${byName}"; listeners: ${config.listeners.map((l) => `"${l.name}"`).join(", ")}`;
  }
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const onPort = config.listeners.find((l) => l.listen.port === port);
  if (onPort) return onPort;
  const routed = config.listeners.find((l) => {
    if (l.mode !== "http") return false;
    const paths = new RequestPaths(l.paths);
    const path = paths.normalize(url.pathname);
    return path !== undefined && compileRoutes(l.routes, paths).match({ ...facts, path: paths.forRouting(path) }) !== undefined;
  });
  if (routed) return routed;
  if (config.listeners.length === 1) return config.listeners[0]!;
  return `no listener on port ${port} and none with a route for the request; name one with --listener`;
}

/** What the route's policies would do (nothing is checked or counted), or undefined without any. */
function explainPolicies(config: Config, listener: string, route: RouteConfig, index: number, url: URL, pathAndQuery: string, headers: Headers, clientIp: string): { lines: string[]; status: number | undefined } | undefined {
  const policy = compileRoutePolicy(config, listener, route, index, {
    metrics: new PolicyMetrics(),
    verifyPassword: () => Promise.resolve(false),
    buckets: (_id, limit) => new LocalBuckets(bucketLimitOf(limit)),
  });
  if (!policy) return undefined;
  const req = new Request(url, { headers });
  const explained = policy.explain({ req, clientIp, pathAndQuery, proto: url.protocol === "https:" ? "https" : "http", requestId: "(request id)" });
  const lines = [`policies: ${policy.sets.join(", ")}`, ...explained.lines];
  if (explained.status === undefined && explained.pathAndQuery !== pathAndQuery) lines.push(`path to the server: ${explained.pathAndQuery}`);
  else if (explained.status !== undefined) lines.push(`answer: ${explained.status}`);
  return { lines, status: explained.status };
}

function cookieNote(cookie: unknown, header: string | null, pinned: string | undefined): string | undefined {
  if (cookie === undefined) return undefined;
  const name = typeof cookie === "string" ? cookie : (cookie as { name?: string }).name ?? "tenbin_srv";
  const keyed = typeof cookie === "object" && cookie !== null && (cookie as { key?: string }).key !== undefined;
  const sent = header !== null && header.split(";").some((part) => part.trim().startsWith(`${name}=`));
  if (!sent) return `no ${name} cookie: the balancer picks`;
  if (pinned) return `${name} names ${pinned}`;
  return keyed
    ? `${name} is not valid for this pool (forged, expired, or its server is unusable): the balancer picks`
    : `${name} cannot be checked: the pool's cookie has no key (a running tenbin signs with a random one)`;
}

/** The answer as `key: value` lines. */
export function formatRouteAnswer(a: RouteAnswer): string {
  const lines: string[] = [];
  if (a.listener) lines.push(`listener: ${a.listener.name} (${a.listener.address})`);
  if (a.path) lines.push(`path: ${a.path.normalized} (normalized; the server receives ${a.path.forwarded === "normalized" ? "this" : "the path as sent"})`);
  if (a.route) lines.push(`route: ${a.route.name} (#${a.route.index})`);
  if (a.policies) lines.push(...a.policies.lines);
  if (a.pool) lines.push(`pool: ${a.pool}`);
  if (a.balance) lines.push(`balance: ${a.balance}${a.hashKey !== undefined ? ` (key ${JSON.stringify(a.hashKey)})` : ""}`);
  if (a.cookie) lines.push(`cookie: ${a.cookie}`);
  if (a.server !== undefined) lines.push(`server: ${a.server ? `${a.server.name} (${a.server.url})` : "none available (the client gets 503)"}`);
  if (a.error) lines.push(`error: ${a.error}`);
  return `${lines.join("\n")}\n`;
}

/** Why the answer fails the `--expect-*` flags (empty when it passes). */
export function routeMismatches(a: RouteAnswer, expect: { pool?: string | undefined; status?: number | undefined }): string[] {
  const out: string[] = [];
  if (expect.pool !== undefined && a.pool !== expect.pool) out.push(`expected pool "${expect.pool}", got ${a.pool ? `"${a.pool}"` : "none"}`);
  if (expect.status !== undefined && a.status !== expect.status) out.push(`expected status ${expect.status}, got ${a.status ?? "a proxied answer"}`);
  return out;
}
