/**
 * Binds a `mode: tcp` or `mode: udp` listener for the composition root, which keeps one
 * `L4Snapshot` per listener and config generation and passes a getter for the one in force.
 */
import type { ConnectionBudget } from "./connection-budget.ts";
import type { TcpListenerConfig, UdpListenerConfig } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import type { Pool } from "../pool/pool.ts";
import type { Runtime, ServeTls } from "../runtime/types.ts";
import type { Clock } from "../util/clock.ts";
import { TcpProxy } from "./tcp.ts";
import type { TcpRoutes } from "./tcp-routes.ts";
import { UdpProxy } from "./udp.ts";

/** An L4 listener's config and pool in one config generation. */
export interface L4Snapshot {
  config: TcpListenerConfig | UdpListenerConfig;
  pool: Pool | undefined;
  /** A tcp listener's `routes` (TLS passthrough by SNI), compiled. */
  routes?: TcpRoutes | undefined;
}

/** A bound L4 listener as the composition root handles it. */
export type L4Listener = TcpProxy | UdpProxy;

/** Counters of an L4 listener (`TcpListenerStats` or `UdpListenerStats`). */
export type L4Stats = L4Listener["stats"];

/** The counters of `server` when it is an L4 listener. */
export function l4StatsOf(server: object): L4Stats | undefined {
  return server instanceof TcpProxy || server instanceof UdpProxy ? server.stats : undefined;
}

/** What binding needs besides the listener's config. */
export interface L4Deps {
  runtime: Pick<Runtime, "listenTcp" | "connectTcp" | "udpSocket">;
  logger: Logger;
  clock: Clock;
  /** Bind TCP listeners with reusePort, so worker processes share the port (`workers`). */
  reusePort?: boolean | undefined;
  /** The connection budget derived from the fd limit, for TCP listeners without `max_conns`. */
  connectionBudget?: (() => ConnectionBudget | undefined) | undefined;
}

/** Per-bind settings that are not in the listener's config. */
export interface L4BindOptions {
  /** Port to bind instead of the configured one (a rebind keeps a port 0 listener's port). */
  port?: number | undefined;
  /** A tcp listener's loaded certificates (`loadListenerTls` of its `tls` section). */
  tls?: ServeTls | undefined;
}

/** Binds `listener`; `current()` answers the snapshot in force (undefined before the first swap). */
export async function bindL4Listener(listener: TcpListenerConfig | UdpListenerConfig, current: () => L4Snapshot | undefined, deps: L4Deps, bind: L4BindOptions = {}): Promise<L4Listener> {
  const base = { hostname: listener.listen.host, port: bind.port ?? listener.listen.port, runtime: deps.runtime, logger: deps.logger, clock: deps.clock };
  if (listener.mode === "tcp") {
    return await TcpProxy.bind({
      ...base,
      budget: deps.connectionBudget,
      reusePort: deps.reusePort,
      tls: bind.tls,
      current: () => {
        const s = current();
        return s?.config.mode === "tcp" ? { config: s.config, pool: s.pool, routes: s.routes } : undefined;
      },
    });
  }
  return await UdpProxy.bind({
    ...base,
    current: () => {
      const s = current();
      return s?.config.mode === "udp" ? { config: s.config, pool: s.pool } : undefined;
    },
  });
}
