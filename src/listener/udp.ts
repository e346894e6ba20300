/**
 * A `mode: udp` listener. Datagrams from one client address:port form a flow, bound to one server
 * when its first datagram arrives (balancing per new flow) until no datagram went either way for
 * `idle_timeout`. Each flow has its own upstream socket, so a server's replies are matched to their
 * client and sent back from the listener's own socket (the address the client wrote to).
 *
 * Bounds: the flow table holds at most `max_conns` flows; a flow waiting for its upstream socket
 * keeps at most `EARLY_DATAGRAMS`; a send the runtime refuses is dropped and counted, never queued.
 */
import { attemptStarted, failed } from "../pool/outcome.ts";
import type { UdpListenerConfig } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import type { Pool } from "../pool/pool.ts";
import type { ServerState } from "../pool/server-state.ts";
import type { StickyFacts } from "../pool/stickiness.ts";
import type { Runtime, UdpSocket } from "../runtime/types.ts";
import { type Clock, directClock } from "../util/clock.ts";
import { lazyBuiltin } from "../util/lazy-builtin.ts";

const nodeNet = lazyBuiltin("node:net");
const nodeDns = lazyBuiltin("node:dns/promises");

/** Datagrams kept per flow while its upstream socket is being opened. */
export const EARLY_DATAGRAMS = 16;

/** The listener's config and pool in force. */
export interface UdpSnapshot {
  config: UdpListenerConfig;
  pool: Pool | undefined;
}

/** Counters of one UDP listener. */
export interface UdpListenerStats {
  flowsCreated: number;
  flowsExpired: number;
  /** New flows refused: the table was full or no server was available. */
  flowsRefused: number;
  fromClients: number;
  toServers: number;
  fromServers: number;
  toClients: number;
  /** Datagrams dropped: refused by a socket (backpressure), or beyond a new flow's early buffer. */
  dropped: number;
}

/** What a UDP listener is built from. */
export interface UdpProxyOptions {
  hostname: string;
  port: number;
  current: () => UdpSnapshot | undefined;
  runtime: Pick<Runtime, "udpSocket">;
  logger: Logger;
  clock?: Clock;
}

interface Flow {
  address: string;
  port: number;
  pool: Pool;
  server: ServerState;
  /** Resolved IP of the server (sockets send to IPs only). */
  serverIp: string | undefined;
  upstream: UdpSocket | undefined;
  early: Uint8Array[] | undefined;
  lastActive: number;
  closed: boolean;
}

/** Never wait in the pool's queue: a datagram that finds every server full is dropped. */
const NO_WAIT = AbortSignal.abort();
const NO_HEADERS = new Headers();

/** A bound UDP listener and its flow table. */
export class UdpProxy {
  readonly stats: UdpListenerStats = { flowsCreated: 0, flowsExpired: 0, flowsRefused: 0, fromClients: 0, toServers: 0, fromServers: 0, toClients: 0, dropped: 0 };
  readonly #options: UdpProxyOptions;
  readonly #clock: Clock;
  readonly #flows = new Map<string, Flow>();
  #socket: UdpSocket | undefined;
  #sweeper: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  private constructor(options: UdpProxyOptions) {
    this.#options = options;
    this.#clock = options.clock ?? directClock;
  }

  /** Binds the listener's socket and starts expiring idle flows. */
  static async bind(options: UdpProxyOptions): Promise<UdpProxy> {
    const proxy = new UdpProxy(options);
    proxy.#socket = await options.runtime.udpSocket({
      hostname: options.hostname,
      port: options.port,
      message: (data, address, port) => proxy.#fromClient(data, address, port),
    });
    proxy.#scheduleSweep();
    return proxy;
  }

  get hostname(): string {
    return this.#socket?.hostname ?? this.#options.hostname;
  }

  get port(): number {
    return this.#socket?.port ?? this.#options.port;
  }

  /** Flows in the table. */
  get flows(): number {
    return this.#flows.size;
  }

  // A quarter of the idle timeout (50 ms to 1 s) between sweeps: a flow lives at most 1.25× its timeout.
  #scheduleSweep(): void {
    if (this.#stopped) return;
    const idle = this.#options.current()?.config.idle_timeout ?? 1000;
    this.#sweeper = setTimeout(() => {
      this.sweep();
      this.#scheduleSweep();
    }, Math.min(1000, Math.max(50, idle / 4)));
  }

  /** Forgets flows idle for `idle_timeout` (runs on a timer; exposed for tests with a fake clock). */
  sweep(): void {
    const idle = this.#options.current()?.config.idle_timeout;
    if (idle === undefined) return;
    const now = this.#clock.now();
    for (const [key, flow] of this.#flows) {
      if (now - flow.lastActive >= idle) {
        this.stats.flowsExpired++;
        this.#forget(key, flow);
      }
    }
  }

  /** Closes the socket and every flow (UDP has nothing in flight worth waiting for). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#sweeper);
    this.#socket?.close();
    for (const [key, flow] of this.#flows) this.#forget(key, flow);
  }

  #fromClient(data: Uint8Array, address: string, port: number): void {
    this.stats.fromClients++;
    const key = `${address} ${port}`;
    const flow = this.#flows.get(key) ?? this.#newFlow(key, address, port);
    if (!flow) return;
    flow.lastActive = this.#clock.now();
    if (flow.upstream && flow.serverIp !== undefined) {
      if (flow.upstream.send(data, flow.server.port, flow.serverIp)) this.stats.toServers++;
      else this.stats.dropped++;
    } else if (flow.early && flow.early.length < EARLY_DATAGRAMS) {
      flow.early.push(data.slice()); // the runtime may reuse its receive buffer
    } else {
      this.stats.dropped++;
    }
  }

  #newFlow(key: string, address: string, port: number): Flow | undefined {
    const snapshot = this.#options.current();
    if (!snapshot?.pool || this.#flows.size >= snapshot.config.max_conns) {
      this.stats.flowsRefused++;
      this.stats.dropped++;
      return undefined;
    }
    const { pool } = snapshot;
    const facts: StickyFacts = { clientIp: address, cookieHeader: null, headers: NO_HEADERS, pathAndQuery: "" };
    const pinned = pool.sticky.enabled ? pool.sticky.pinned(facts) : undefined;
    const hashKey = pool.config.balance === "hash" ? address : undefined;
    const got = pool.acquire({ clientIp: address, hashKey, pinned }, NO_WAIT);
    if (typeof got !== "object" || got instanceof Promise) {
      this.stats.flowsRefused++;
      this.stats.dropped++;
      return undefined;
    }
    if (pool.sticky.enabled) pool.sticky.bind(facts, got, pinned);
    attemptStarted(got);
    const flow: Flow = { address, port, pool, server: got, serverIp: undefined, upstream: undefined, early: [], lastActive: this.#clock.now(), closed: false };
    this.#flows.set(key, flow);
    this.stats.flowsCreated++;
    void this.#openUpstream(key, flow);
    return flow;
  }

  async #openUpstream(key: string, flow: Flow): Promise<void> {
    const { server } = flow;
    try {
      const ip = nodeNet().isIP(server.host) ? server.host : (await nodeDns().lookup(server.host)).address;
      const upstream = await this.#options.runtime.udpSocket({
        hostname: nodeNet().isIP(ip) === 6 ? "::" : "0.0.0.0",
        port: 0,
        message: (data, address, port) => this.#fromServer(flow, data, address, port),
      });
      if (flow.closed) return upstream.close();
      flow.serverIp = ip;
      flow.upstream = upstream;
      for (const datagram of flow.early ?? []) {
        if (upstream.send(datagram, server.port, ip)) this.stats.toServers++;
        else this.stats.dropped++;
      }
      flow.early = undefined;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      failed(undefined, server, reason);
      this.#options.logger.warn(`${flow.pool.name}/${server.name}: udp flow from ${flow.address} failed: ${reason}`);
      this.stats.dropped += flow.early?.length ?? 0;
      this.#forget(key, flow);
    }
  }

  #fromServer(flow: Flow, data: Uint8Array, address: string, port: number): void {
    // Only the server's own replies go back; anything else reaching this port is not the client's.
    if (flow.closed || port !== flow.server.port || !sameIp(address, flow.serverIp)) return;
    flow.lastActive = this.#clock.now();
    this.stats.fromServers++;
    if (this.#socket?.send(data, flow.port, flow.address)) this.stats.toClients++;
    else this.stats.dropped++;
  }

  #forget(key: string, flow: Flow): void {
    if (flow.closed) return;
    flow.closed = true;
    this.#flows.delete(key);
    flow.upstream?.close();
    flow.early = undefined;
    flow.pool.release(flow.server);
  }
}

function sameIp(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  const strip = (ip: string) => ip.toLowerCase().replace(/^::ffff:/, "");
  return a === b || strip(a) === strip(b);
}
