/**
 * Whole-config checks of TCP and UDP listeners and the pools they use: the pool exists, its servers
 * speak the listener's transport (tcp:// or udp://, with a port), and it asks for nothing only HTTP
 * can do (cookies, hashing on a header) — or, for `send_proxy`, nothing only TCP can do.
 */
import type { KeySegment } from "./config-error.ts";
import type { AnyListenerConfig, Config } from "./schema.ts";
import { CidrSet } from "../util/cidr.ts";

type Report = (path: KeySegment[], message: string) => void;
type Mode = AnyListenerConfig["mode"];

/** Which kinds of listener use each pool, and the first listener of each kind (for messages). */
export function poolUses(config: Config): Map<string, Map<Mode, string>> {
  const uses = new Map<string, Map<Mode, string>>();
  const add = (pool: string, mode: Mode, listener: string) => {
    const byMode = uses.get(pool) ?? new Map<Mode, string>();
    if (!byMode.has(mode)) byMode.set(mode, listener);
    uses.set(pool, byMode);
  };
  for (const l of config.listeners) {
    if (l.mode === "http") for (const r of l.routes) r.pool !== undefined && add(r.pool, "http", l.name);
    else for (const pool of l4PoolNames(l)) add(pool, l.mode, l.name);
  }
  return uses;
}

/** A TCP or UDP listener's own fields. */
export function checkL4Listener(listener: Exclude<AnyListenerConfig, { mode: "http" }>, at: (...rest: KeySegment[]) => KeySegment[], config: Config, report: Report): void {
  const pools = Object.keys(config.pools);
  const known = (pool: string, path: KeySegment[]) => {
    if (pools.includes(pool)) return;
    const right = pools.length > 0 ? `expected one of the pools ${pools.join(", ")}` : "no pools are defined";
    report(path, `unknown pool ${q(pool)}; ${right}`);
  };
  if (listener.pool !== undefined) known(listener.pool, at("pool"));
  if (listener.mode === "udp") return;
  if (listener.pool === undefined && listener.routes === undefined) report(at("pool"), `a tcp listener needs a pool, or routes (for TLS passthrough by SNI)`);
  listener.routes?.forEach((route, r) => {
    known(route.pool, at("routes", r, "pool"));
    const match = route.match;
    if (listener.pool !== undefined && (!match || Object.keys(match).length === 0)) {
      report(at("routes", r), `route ${r} takes every connection, and so does pool ${q(listener.pool)}; remove one of them`);
    }
    for (const [key, values] of [["sni", match?.sni], ["source", match?.source]] as const) {
      toList(values).forEach((value, v) => {
        const problem = key === "sni" ? sniProblem(value) : cidrProblem(value);
        if (problem) report(at("routes", r, "match", key, ...(Array.isArray(values) ? [v] : [])), problem);
      });
    }
    if (listener.tls && (match?.sni !== undefined || match?.alpn !== undefined)) {
      report(at("routes", r, "match"), `sni and alpn routes pass TLS through unopened, but this listener terminates TLS (tls is set); remove tls, or route by source only`);
    }
  });
}

/** The pools a tcp or udp listener sends connections to: its `pool` and its routes' pools. */
export function l4PoolNames(listener: Exclude<AnyListenerConfig, { mode: "http" }>): string[] {
  const names = listener.pool !== undefined ? [listener.pool] : [];
  if (listener.mode === "tcp") for (const r of listener.routes ?? []) names.push(r.pool);
  return names;
}

function toList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

const SNI_PATTERN = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

function sniProblem(value: string): string | undefined {
  if (SNI_PATTERN.test(value.toLowerCase())) return undefined;
  return `bad server name ${q(value)}; expected a host name such as api.example.com or *.example.com`;
}

function cidrProblem(value: string): string | undefined {
  try {
    new CidrSet([value]);
    return undefined;
  } catch {
    return `bad address ${q(value)}; expected an IP address or CIDR such as 10.0.0.0/8 or ::1/128`;
  }
}

/** `accept_proxy` (tcp and http listeners) believes only listed peers, so it needs a list. */
export function checkAcceptProxy(listener: { accept_proxy: boolean; trusted_proxies: readonly string[] }, at: (...rest: KeySegment[]) => KeySegment[], report: Report): void {
  if (listener.accept_proxy && listener.trusted_proxies.length === 0) {
    report(at("accept_proxy"), `accept_proxy needs trusted_proxies: list the addresses of the balancers that send PROXY headers`);
  }
}

/** Pools used by TCP or UDP listeners. */
export function checkL4Pools(config: Config, report: Report): void {
  for (const [name, byMode] of poolUses(config)) {
    const pool = config.pools[name];
    if (!pool) continue; // reported at the listener
    const at: KeySegment[] = ["pools", name];
    const l4 = byMode.has("tcp") ? "tcp" : byMode.has("udp") ? "udp" : undefined;
    if (pool.send_proxy !== undefined && (byMode.has("http") || byMode.has("udp"))) {
      const mode = byMode.has("http") ? "http" : "udp";
      report([...at, "send_proxy"], `send_proxy works on tcp listeners only, and pool ${q(name)} serves ${mode} listener ${q(byMode.get(mode)!)}; remove it or use a separate pool`);
    }
    if (!l4) continue;
    const listener = byMode.get(l4)!;
    pool.servers.forEach((server, s) => checkServerUrl(server.url, l4, name, listener, [...at, "servers", s, "url"], report));
    if (pool.sticky?.cookie !== undefined) {
      report([...at, "sticky", "cookie"], `a cookie cannot pin ${l4} connections (pool ${q(name)} serves ${l4} listener ${q(listener)}); use sticky.source_ip`);
    }
    if (pool.balance === "hash" && pool.hash_on !== "source_ip") {
      report([...at, "hash_on"], `${l4} connections can only be hashed on source_ip, not ${q(pool.hash_on)} (pool ${q(name)} serves ${l4} listener ${q(listener)})`);
    }
    // TCP feeds least_time with connect times; UDP has no round trip to time.
    if (pool.balance === "least_time" && l4 === "udp") {
      report([...at, "balance"], `least_time cannot balance udp flows (pool ${q(name)} serves udp listener ${q(listener)}); use least_conn or round_robin`);
    }
  }
}

function checkServerUrl(text: string, mode: "tcp" | "udp", pool: string, listener: string, path: KeySegment[], report: Report): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return; // checkPool reports a bad url
  }
  if (url.protocol !== `${mode}:`) {
    report(path, `server url ${q(text)} is not ${mode}://; pool ${q(pool)} serves ${mode} listener ${q(listener)}, whose servers are ${mode}://host:port`);
  } else if (url.port === "") {
    report(path, `server url ${q(text)} has no port; write ${mode}://host:port`);
  } else if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "") {
    report(path, `server url ${q(text)} has a path; write ${mode}://host:port`);
  }
}

function q(value: string): string {
  return JSON.stringify(value);
}
