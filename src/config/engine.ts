/**
 * `engine: auto` (the default) made concrete: tenbin's own HTTP/1.1 server, which costs less CPU per
 * request (docs/internals.md, "The HTTP server: `engine`"), unless the listener needs what only the runtime's
 * server does: HTTP/2, or WebSocket upgrades to an https:// server (the own server tunnels upgrades
 * to http:// servers only). After this runs every HTTP listener's engine is `runtime` or `tenbin`.
 */
import type { Config } from "./schema.ts";

/** Replaces each HTTP listener's `engine: auto` with the engine it gets; returns `config`. */
export function resolveEngines(config: Config): Config {
  for (const listener of config.listeners) {
    if (listener.mode !== "http" || listener.engine !== "auto") continue;
    const pools = listener.routes.map((route) => config.pools[route.pool]);
    const tlsUpstream = pools.some((pool) => pool !== undefined && (pool.servers.some((s) => isHttps(s.url)) || isHttps(pool.sorry?.server)));
    listener.engine = listener.http2 || tlsUpstream ? "runtime" : "tenbin";
  }
  return config;
}

function isHttps(url: string | undefined): boolean {
  return url !== undefined && /^https:/i.test(url);
}
