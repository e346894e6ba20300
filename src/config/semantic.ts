/**
 * Checks that need the whole config at once — references between sections, duplicates, regular
 * expressions — run after the schema passed. Each problem names the key path of the offending value
 * so the loader can give it a line and column.
 */
import type { KeySegment } from "./config-error.ts";
import { checkFiles } from "./semantic-files.ts";
import { checkPolicies } from "./semantic-policy.ts";
import { checkAcceptProxy, checkL4Listener, checkL4Pools } from "./semantic-l4.ts";
import type { Config, ListenerConfig, PoolConfig, RouteMatchConfig } from "./schema.ts";
import type { Address } from "./units.ts";
import type { PathIssue } from "./yaml-source.ts";
import { checkTls } from "../tls/check.ts";
import { lazyBuiltin } from "../util/lazy-builtin.ts";

const nodeNet = lazyBuiltin("node:net");

/** Longest client keep-alive idle time the runtime accepts (its HTTP server caps the idle timeout at 255 s). */
export const MAX_IDLE_TIMEOUT_MS = 255_000;

/**
 * Every cross-section problem of a config that already passed the schema. Problems that do not stop
 * the config (an expired certificate) go to `warnings` when given.
 */
export function checkSemantics(config: Config, warnings?: PathIssue[]): PathIssue[] {
  const issues: PathIssue[] = [];
  const report = (path: KeySegment[], message: string) => issues.push({ path, message });
  checkListeners(config, report);
  checkAdmin(config, report);
  const weak = weakTokenWarning(config);
  if (weak) warnings?.push(weak);
  const httpPools = new Set(config.listeners.flatMap((l) => (l.mode === "http" ? l.routes.map((r) => r.pool) : [])));
  for (const [name, pool] of Object.entries(config.pools)) {
    checkPool(["pools", name], pool, httpPools.has(name), report);
  }
  checkL4Pools(config, report);
  checkFiles(config, report);
  checkPolicies(config, report);
  const tls = checkTls(config);
  issues.push(...tls.errors);
  warnings?.push(...tls.warnings);
  return issues;
}

type Report = (path: KeySegment[], message: string) => void;

function checkListeners(config: Config, report: Report): void {
  const pools = Object.keys(config.pools);
  config.listeners.forEach((listener, i) => {
    const at = (...rest: KeySegment[]): KeySegment[] => ["listeners", i, ...rest];
    const first = config.listeners.findIndex((other) => other.name === listener.name);
    if (first < i) report(at("name"), `listener name ${q(listener.name)} is already used by listeners[${first}]; give each listener its own name`);
    // UDP ports are their own namespace: a udp listener may share a port with a tcp or http one.
    const udp = listener.mode === "udp";
    const clash = config.listeners.findIndex((other, j) => j < i && (other.mode === "udp") === udp && overlaps(other.listen, listener.listen));
    if (clash >= 0) {
      const other = config.listeners[clash]!;
      report(at("listen"), `address ${q(showAddress(listener.listen))} overlaps ${q(showAddress(other.listen))} of listeners[${clash}] (${other.name}); use another port or host`);
    }
    if (listener.mode !== "udp") checkAcceptProxy(listener, at, report);
    if (listener.mode !== "http") return checkL4Listener(listener, at, config, report);
    listener.trusted_proxies.forEach((cidr, p) => {
      if (!isCidr(cidr)) report(at("trusted_proxies", p), `bad address ${q(cidr)}; expected an IP address or CIDR such as 10.0.0.0/8 or ::1/128`);
    });
    if (listener.engine === "tenbin" && listener.http2) {
      report(at("http2"), `http2 needs engine: runtime; tenbin's own server speaks HTTP/1.0 and 1.1 only. Remove http2 or set engine: runtime`);
    }
    if (listener.idle_timeout > MAX_IDLE_TIMEOUT_MS) {
      report(at("idle_timeout"), `idle timeout of ${listener.idle_timeout / 1000}s is too long; expected at most 255s`);
    }
    checkRoutes(listener, pools, at, report);
  });
}

// Placeholders from examples and tutorials; anyone who can reach the admin port may try them.
const PLACEHOLDER_TOKENS = new Set(["change-me", "changeme", "change_me", "secret", "password", "admin", "token", "test", "example"]);
const MIN_TOKEN_LENGTH = 16;

/** A warning for an admin token that is a well-known placeholder or too short to resist guessing. */
function weakTokenWarning(config: Config): PathIssue | undefined {
  const token = config.admin.token;
  if (!config.admin.enabled || token === undefined) return undefined;
  if (PLACEHOLDER_TOKENS.has(token.toLowerCase())) {
    return { path: ["admin", "token"], message: `admin.token is the well-known placeholder ${q(token)}; set a random one (openssl rand -hex 24), e.g. through \${TENBIN_ADMIN_TOKEN}` };
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    return { path: ["admin", "token"], message: `admin.token is ${token.length} characters long; use at least ${MIN_TOKEN_LENGTH} random ones (openssl rand -hex 24)` };
  }
  return undefined;
}

function checkAdmin(config: Config, report: Report): void {
  const { admin } = config;
  if (!admin.enabled) return;
  if (admin.token === undefined && !isLoopback(admin.listen.host)) {
    report(["admin", "listen"], `admin address ${q(showAddress(admin.listen))} is not loopback and admin.token is not set; add a token (anyone who reaches the port could drain servers) or listen on 127.0.0.1`);
  }
  const clash = config.listeners.findIndex((listener) => overlaps(listener.listen, admin.listen));
  if (clash >= 0) {
    report(["admin", "listen"], `admin address ${q(showAddress(admin.listen))} overlaps ${q(showAddress(config.listeners[clash]!.listen))} of listeners[${clash}]; use another port`);
  }
  // A pool that reaches the admin listener would hand its API (drain, disable, reload) to the
  // clients of a public listener.
  if (admin.listen.port === 0) return;
  for (const [name, pool] of Object.entries(config.pools)) {
    pool.servers.forEach((server, i) => {
      const target = serverAddress(server.url);
      if (target !== undefined && target.port === admin.listen.port && sameHost(target.host, admin.listen.host)) {
        report(["pools", name, "servers", i, "url"], `server ${q(server.url)} is tenbin's own admin listener (${q(showAddress(admin.listen))}); a pool must not expose the admin API, remove the server or move admin.listen`);
      }
    });
  }
}

/** Host and port of a server URL (default ports filled in); undefined when it cannot be read. */
function serverAddress(url: string): Address | undefined {
  try {
    const u = new URL(url);
    const port = u.port !== "" ? Number(u.port) : u.protocol === "https:" ? 443 : u.protocol === "http:" ? 80 : NaN;
    return Number.isNaN(port) ? undefined : { host: u.hostname.replace(/^\[|\]$/g, ""), port };
  } catch {
    return undefined;
  }
}

/** Whether a server host reaches a listener bound to `bound` (a wildcard bind is reached by any local name). */
function sameHost(host: string, bound: string): boolean {
  const b = bound.replace(/^\[|\]$/g, "").toLowerCase();
  const h = host.toLowerCase();
  if (h === b) return true;
  if (b === "0.0.0.0" || b === "::") return isLoopback(h) || h === "0.0.0.0" || h === "::";
  return isLoopback(h) && isLoopback(b);
}

function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || h === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function checkRoutes(listener: ListenerConfig, pools: readonly string[], at: (...rest: KeySegment[]) => KeySegment[], report: Report): void {
  const catchAll = listener.routes.findIndex((route) => isEmptyMatch(route.match));
  listener.routes.forEach((route, r) => {
    if (route.pool !== undefined && !pools.includes(route.pool)) {
      const right = pools.length > 0 ? `expected one of the pools ${pools.join(", ")}` : "no pools are defined";
      report(at("routes", r, "pool"), `unknown pool ${q(route.pool)}; ${right}`);
    }
    if (route.name !== undefined) {
      const first = listener.routes.findIndex((other) => other.name === route.name);
      if (first < r) report(at("routes", r, "name"), `route name ${q(route.name)} is already used by routes[${first}]; give each route its own name`);
    }
    if (catchAll >= 0 && r > catchAll) {
      report(at("routes", r), `route is never reached: routes[${catchAll}] has no match and takes every request; move the default route last`);
    }
    if (route.match) checkMatch(route.match, (...rest) => at("routes", r, "match", ...rest), report);
  });
}

function checkMatch(match: RouteMatchConfig, at: (...rest: KeySegment[]) => KeySegment[], report: Report): void {
  const hosts = match.host === undefined ? [] : Array.isArray(match.host) ? match.host : [match.host];
  hosts.forEach((host, h) => {
    const where = Array.isArray(match.host) ? at("host", h) : at("host");
    if (!/^(\*\.)?[^*\s/]+$/.test(host)) report(where, `bad host ${q(host)}; expected an exact host such as api.example.com or a wildcard such as *.example.com`);
  });
  const path = match.path;
  if (typeof path === "string" || (path && "prefix" in path) || (path && "exact" in path)) {
    const text = typeof path === "string" ? path : "prefix" in path ? path.prefix : path.exact;
    const where = typeof path === "string" ? at("path") : at("path", "prefix" in path ? "prefix" : "exact");
    if (!text.startsWith("/")) report(where, `path ${q(text)} does not start with "/" and would never match; write ${q(`/${text}`)}`);
  } else if (path) {
    checkRegex(path.regex, at("path", "regex"), report);
  }
  for (const section of ["headers", "query", "cookie"] as const) {
    for (const [name, value] of Object.entries(match[section] ?? {})) {
      if (typeof value === "object" && "regex" in value) checkRegex(value.regex, at(section, name, "regex"), report);
    }
  }
}

function checkPool(at: KeySegment[], pool: PoolConfig, servesHttp: boolean, report: Report): void {
  const names = new Map<string, number>();
  const urls = new Map<string, number>();
  pool.servers.forEach((server, s) => {
    const where = [...at, "servers", s];
    const url = parseUrl(server.url);
    if (!url) {
      report([...where, "url"], `bad url ${q(server.url)}; expected http://host:port or https://host:port`);
      return;
    }
    if (servesHttp && url.protocol !== "http:" && url.protocol !== "https:") {
      report([...where, "url"], `server url ${q(server.url)} is not http:// or https://; pools of http listeners need http(s) servers (tcp:// and udp:// servers are for tcp and udp listeners)`);
    } else if (!servesHttp && !["http:", "https:", "tcp:", "udp:"].includes(url.protocol)) {
      report([...where, "url"], `unsupported scheme in url ${q(server.url)}; expected http://, https://, tcp:// or udp://`);
    }
    // The request's own path goes to the server: a path here would be silently dropped.
    const http = url.protocol === "http:" || url.protocol === "https:";
    if (http && ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "")) {
      report([...where, "url"], `server url ${q(server.url)} has a path or query, which tenbin would not send (a request goes with its own path); write ${url.protocol}//${hostPort(url)}`);
    }
    const key = `${url.protocol}//${hostPort(url)}${url.pathname === "/" ? "" : url.pathname}`;
    const firstUrl = urls.get(key);
    if (firstUrl !== undefined) report([...where, "url"], `server url ${q(server.url)} is already used by servers[${firstUrl}]; list each server once`);
    else urls.set(key, s);
    // The name defaults to host:port, and runtime state is keyed by it: two servers may not share one.
    const name = server.name ?? hostPort(url);
    const firstName = names.get(name);
    if (firstName !== undefined && firstUrl === undefined) {
      const why = server.name === undefined ? " (the default name is host:port; give one a name)" : "; give each server its own name";
      report([...where, server.name === undefined ? "url" : "name"], `server name ${q(name)} is already used by servers[${firstName}]${why}`);
    } else if (firstName === undefined) {
      names.set(name, s);
    }
  });
  const cookie = pool.sticky?.cookie;
  if (typeof cookie === "object" && cookie.key === "") {
    report([...at, "sticky", "cookie", "key"], `empty cookie signing key; give a long random string, or leave key out for a random key at each start`);
  }
  const body = pool.health?.http?.expect_body;
  if (typeof body === "object") checkRegex(body.regex, [...at, "health", "http", "expect_body", "regex"], report);
  if (pool.sorry?.server !== undefined) {
    const sorry = parseUrl(pool.sorry.server);
    if (!sorry || (sorry.protocol !== "http:" && sorry.protocol !== "https:")) {
      report([...at, "sorry", "server"], `bad sorry server url ${q(pool.sorry.server)}; expected http://host:port or https://host:port`);
    }
  }
}

function checkRegex(source: string, path: KeySegment[], report: Report): void {
  try {
    new RegExp(source);
  } catch (error) {
    // "Invalid regular expression: /(/: Unterminated group" → "unterminated group"
    const reason = String((error as Error).message).split(": ").at(-1) ?? "";
    report(path, `bad regex ${q(source)}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}; expected a JavaScript regular expression`);
  }
}

function isEmptyMatch(match: RouteMatchConfig | undefined): boolean {
  return match === undefined || Object.values(match).every((v) => v === undefined);
}

const WILDCARDS = new Set(["0.0.0.0", "::", "*"]);

/** Two listen addresses collide on the same port when the hosts are equal or either is a wildcard. */
function overlaps(a: Address, b: Address): boolean {
  if (a.port !== b.port || a.port === 0) return false; // port 0: each gets its own free port
  const [x, y] = [a.host.toLowerCase(), b.host.toLowerCase()];
  return x === y || WILDCARDS.has(x) || WILDCARDS.has(y);
}

function showAddress(address: Address): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

// The schema's pattern lets through strings like "abc" (hex digits); this is the real check.
function isCidr(text: string): boolean {
  const [ip = "", bits, ...rest] = text.split("/");
  const family = nodeNet().isIP(ip);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

function parseUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.hostname === "" ? undefined : url;
  } catch {
    return undefined;
  }
}

const DEFAULT_PORTS: Record<string, string> = { "http:": "80", "https:": "443" };

function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || DEFAULT_PORTS[url.protocol] || ""}`;
}

function q(value: string): string {
  return JSON.stringify(value);
}
