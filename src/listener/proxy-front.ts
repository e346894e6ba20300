/**
 * `accept_proxy: true` on an HTTP listener. The runtime's HTTP server cannot read bytes before the
 * request line, so a TCP front takes the public address: it reads each connection's PROXY header
 * (from a trusted peer only), then pipes the rest to the HTTP server bound on a loopback port. The
 * front's connection to it has a local port of its own; the handler maps that port back to the
 * client the header named. TLS passes through the front untouched and ends at the HTTP server.
 */
import { poolSchema, type TcpListenerConfig } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import { Pool } from "../pool/pool.ts";
import { ServerState } from "../pool/server-state.ts";
import type { ClientInfo, HttpServeOptions, HttpServer, Runtime } from "../runtime/types.ts";
import type { Clock } from "../util/clock.ts";
import { CidrSet, unmapIpv4 } from "../util/cidr.ts";
import type { H1ServeOptions } from "./h1-server/server.ts";
import { TcpProxy } from "./tcp.ts";

/** What the front needs besides the HTTP server's own options. */
export interface ProxyFrontOptions {
  name: string;
  trustedProxies: readonly string[];
  /** Idle timeout of the piped connections (the HTTP server keeps its own). */
  idleTimeoutMs: number;
  runtime: Pick<Runtime, "serveHttp" | "listenTcp" | "connectTcp">;
  logger: Logger;
  clock: Clock;
}

/** Serves HTTP at `options.hostname:port` for clients announced by PROXY headers. */
export async function serveHttpBehindProxyHeader(options: HttpServeOptions, front: ProxyFrontOptions): Promise<HttpServer> {
  const clients = new Map<number, ClientInfo>();
  const { handler } = options;
  const inner = await front.runtime.serveHttp({
    ...options,
    hostname: "127.0.0.1",
    port: 0,
    reusePort: false,
    handler: (req, peer, upgrader) => handler(req, clients.get(peer.port) ?? peer, upgrader),
  });
  // One pool of one server (the inner HTTP server) lets the front reuse the TCP listener as is.
  const poolConfig = poolSchema.parse({ servers: [{ url: `tcp://127.0.0.1:${inner.port}` }], retries: 0 });
  const server = new ServerState(poolConfig.servers[0]!, front.clock);
  const pool = new Pool(`${front.name}:proxy-front`, poolConfig, {
    clock: front.clock,
    random: Math.random,
    logger: front.logger,
    fetch: () => Promise.reject(new Error("the PROXY front does not fetch")),
    servers: [server],
    fallbackCookieKey: "proxy-front",
  });
  const config: TcpListenerConfig = {
    name: front.name,
    listen: { host: options.hostname, port: options.port },
    mode: "tcp",
    pool: pool.name,
    idle_timeout: front.idleTimeoutMs,
    sni_timeout: 5_000,
    max_hello: 16 * 1024,
    max_conns: 0,
    accept_proxy: true,
    trusted_proxies: [...front.trustedProxies],
  };
  let tcp: TcpProxy;
  try {
    tcp = await TcpProxy.bind({
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort,
      current: () => ({ config, pool }),
      runtime: front.runtime,
      logger: front.logger,
      clock: front.clock,
      onBackendOpen: (client, backend) => {
        clients.set(backend.localPort, { address: client.address, port: client.port });
        return () => clients.delete(backend.localPort);
      },
    });
  } catch (error) {
    await inner.stop(true);
    throw error;
  }
  return {
    hostname: tcp.hostname,
    port: tcp.port,
    reusePort: options.reusePort === true,
    async stop(force = false) {
      await Promise.all([tcp.stop(force), inner.stop(force)]);
    },
  };
}

/**
 * `accept_proxy` on a listener with tenbin's own HTTP server, which reads the PROXY header itself:
 * who may send one, and the log line for a connection refused.
 */
export function proxyHeaderTrust(name: string, trustedProxies: readonly string[], logger: Logger): NonNullable<H1ServeOptions["proxyHeader"]> {
  const trusted = new CidrSet(trustedProxies);
  return {
    trusted: (address) => trusted.has(unmapIpv4(address)),
    refused: (address, reason) => logger.warn(`listener ${name}: closed connection from ${address}: ${reason}`),
  };
}
