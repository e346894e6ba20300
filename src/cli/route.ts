/**
 * `tenbin route -c FILE METHOD URL [-H 'Name: value']...`: which listener, route and pool a request
 * would take, and which server the pool would pick next — without sending anything.
 */
import type { Config } from "../config/schema.ts";
import { Pool } from "../pool/pool.ts";
import { ServerState } from "../pool/server-state.ts";
import { RequestPaths } from "../router/request-path.ts";
import { compileRoutes } from "../router/route-table.ts";
import { memoryLogger } from "../observe/log.ts";
import type { RuntimeFetch } from "../runtime/types.ts";
import { systemClock } from "../util/clock.ts";
import { UsageError } from "./args.ts";
import type { RouteConfig } from "../config/schema.ts";
import { compileRoutePolicy } from "../policy/compile.ts";
import { PolicyMetrics } from "../observe/policy-metrics.ts";
import { LocalBuckets } from "../policy/token-bucket.ts";
import { bucketLimitOf } from "../policy/rate-limit.ts";

/** What the route's policies would do: one line per step, the path sent, whether they answer. */
function explainPolicies(config: Config, listener: string, route: RouteConfig, index: number, url: URL, headers: Headers, clientIp: string): { lines: string[]; answers: boolean } {
  const policy = compileRoutePolicy(config, listener, route, index, {
    metrics: new PolicyMetrics(),
    // Nothing is checked or counted: `explain` only says what would happen.
    verifyPassword: () => Promise.resolve(false),
    buckets: (_id, limit) => new LocalBuckets(bucketLimitOf(limit)),
  });
  if (!policy) return { lines: [], answers: false };
  const req = new Request(url, { headers });
  const pathAndQuery = url.pathname + url.search;
  const explained = policy.explain({ req, clientIp, pathAndQuery, proto: url.protocol === "https:" ? "https" : "http", requestId: "(request id)" });
  const lines = [`policies: ${policy.sets.join(", ")}`, ...explained.lines];
  if (!explained.answers && explained.pathAndQuery !== pathAndQuery) lines.push(`path to the server: ${explained.pathAndQuery}`);
  return { lines, answers: explained.answers };
}

/** The answer of `tenbin route`, one line per fact. */
export function explainRoute(config: Config, method: string, rawUrl: string, headerLines: readonly string[], clientIp = "127.0.0.1"): string {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UsageError(`bad URL "${rawUrl}"; expected an absolute URL such as http://localhost:8080/api`);
  }
  const headers = new Headers();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new UsageError(`bad header "${line}"; expected "Name: value"`);
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  if (!headers.has("host")) headers.set("host", url.host);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  // The listener on the URL's port, else the only listener.
  const listener = config.listeners.find((l) => l.listen.port === port) ?? (config.listeners.length === 1 ? config.listeners[0] : undefined);
  if (!listener) return `no listener on port ${port}\n`;
  if (listener.mode !== "http") return `listener: ${listener.name} (${listener.listen.host}:${listener.listen.port}) is a ${listener.mode} listener of pool ${listener.pool}; it has no routes\n`;
  const lines = [`listener: ${listener.name} (${listener.listen.host}:${listener.listen.port})`];
  // The same normalization as the listener's (listener/http.ts), so this shows what the proxy does.
  const paths = new RequestPaths(listener.paths);
  const path = paths.normalize(url.pathname);
  if (path === undefined) return `${lines[0]}\npath: ${url.pathname} refused (the client gets 400)\n`;
  const facts = { method: method.toUpperCase(), host: headers.get("host"), path: paths.forRouting(path), query: url.search.slice(1), headers };
  const route = compileRoutes(listener.routes, paths).match(facts);
  if (path !== url.pathname) lines.push(`path: ${path} (normalized; the server receives ${paths.forwardNormalized ? "this" : "the path as sent"})`);
  if (!route) return `${lines.join("\n")}\nroute: none (the client gets 404)\n`;
  lines.push(`route: ${route.name} (#${route.index + 1})`);
  const policy = explainPolicies(config, listener.name, listener.routes[route.index]!, route.index, url, headers, clientIp);
  lines.push(...policy.lines);
  if (policy.answers) return lines.join("\n") + "\n";
  lines.push(`pool: ${route.pool}`);
  const poolConfig = config.pools[route.pool];
  if (poolConfig) {
    const noFetch: RuntimeFetch = () => Promise.reject(new Error("tenbin route sends nothing"));
    const servers = poolConfig.servers.map((s) => new ServerState(s, systemClock));
    const pool = new Pool(route.pool, { ...poolConfig, health: undefined }, {
      clock: systemClock, random: Math.random, logger: memoryLogger(), fetch: noFetch, servers, fallbackCookieKey: "route",
    });
    const sticky = { clientIp, cookieHeader: headers.get("cookie"), headers, pathAndQuery: url.pathname + url.search };
    const hashKey = poolConfig.balance === "hash" ? pool.sticky.hashKey(sticky) : undefined;
    const picked = pool.acquire({ clientIp, hashKey });
    const server = typeof picked === "string" || picked instanceof Promise ? undefined : picked;
    lines.push(`balance: ${poolConfig.balance}${poolConfig.balance === "hash" ? ` on ${poolConfig.hash_on} (key ${JSON.stringify(hashKey ?? null)})` : ""}`);
    lines.push(`server: ${server ? `${server.name} (${server.origin})` : "none available"}`);
  }
  return lines.join("\n") + "\n";
}
