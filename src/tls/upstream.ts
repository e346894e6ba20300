/**
 * TLS towards https:// servers: the pool's `tls` section merged with each server's, CA files read
 * once per build. Verification stays on unless `insecure_skip_verify: true` is written.
 */
import { readFileSync } from "node:fs";
import type { PoolConfig, UpstreamTlsConfig } from "../config/schema.ts";
import type { ServerState } from "../pool/server-state.ts";
import type { TcpClientTls } from "../runtime/socket-types.ts";
import type { RuntimeFetch, UpstreamTls } from "../runtime/types.ts";
import type { ReadText } from "./certificates.ts";

/** The TLS settings of each https:// server of a pool (http:// servers have none). */
export function upstreamTlsMap(pool: PoolConfig, servers: readonly ServerState[], read: ReadText = (p) => readFileSync(p, "utf8")): Map<ServerState, UpstreamTls> {
  const map = new Map<ServerState, UpstreamTls>();
  const cas = new Map<string, string>();
  const caText = (path: string) => {
    let text = cas.get(path);
    if (text === undefined) {
      text = read(path);
      cas.set(path, text);
    }
    return text;
  };
  for (const server of servers) {
    if (server.protocol !== "https") continue;
    const merged: UpstreamTlsConfig = { ...pool.tls, ...server.config.tls };
    if (merged.ca_file === undefined && merged.server_name === undefined && merged.insecure_skip_verify === undefined) continue;
    const tls: UpstreamTls = {};
    if (merged.insecure_skip_verify) {
      tls.rejectUnauthorized = false;
    } else {
      tls.rejectUnauthorized = true;
      if (merged.ca_file !== undefined) tls.ca = caText(merged.ca_file);
    }
    if (merged.server_name !== undefined) tls.serverName = merged.server_name;
    map.set(server, tls);
  }
  return map;
}

/**
 * The TLS of a connection tenbin dials itself to `hostname` (its own HTTP/1.1 client, WebSocket
 * tunnels), as the runtime's fetch does it: verification on unless `insecure_skip_verify`, the CA
 * file's CAs instead of the system's, SNI and the name checked from `server_name`, else from the
 * URL's host (no SNI for an IP address, whose certificate must name the IP).
 */
export function clientTls(hostname: string, tls: UpstreamTls | undefined): TcpClientTls {
  const serverName = tls?.serverName ?? (isIpAddress(hostname) ? undefined : hostname);
  return { serverName, ca: tls?.ca, rejectUnauthorized: tls?.rejectUnauthorized !== false };
}

function isIpAddress(hostname: string): boolean {
  return hostname.includes(":") || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Wraps `fetch` so a request to a server's origin (or its health-check origin) carries that server's
 * TLS settings; used for health probes, which know URLs rather than servers.
 */
export function fetchWithServerTls(fetch: RuntimeFetch, byOrigin: ReadonlyMap<string, UpstreamTls>): RuntimeFetch {
  if (byOrigin.size === 0) return fetch;
  return (url, init, tls) => {
    if (tls !== undefined) return fetch(url, init, tls);
    const slash = url.indexOf("/", url.indexOf("://") + 3);
    const origin = slash < 0 ? url : url.slice(0, slash);
    return fetch(url, init, byOrigin.get(origin));
  };
}
