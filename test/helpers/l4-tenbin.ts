/**
 * tenbin in the test process for L4 tests, on Bun's runtime or on one whose sockets a test has
 * instrumented (to see how much a connection ever queued, or to make a connect hang), and small
 * TCP clients.
 */
import { loadConfigText } from "../../src/config/load.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import type { Runtime, TcpConn, TcpConnectOptions } from "../../src/runtime/types.ts";
import { Tenbin } from "../../src/start.ts";

/** tenbin in this process; `port(name)` reads a listener's bound port. */
export async function startL4Tenbin(yaml: string, runtime: Runtime = bunRuntime) {
  const config = loadConfigText(yaml, "test.yaml", {});
  const logger = memoryLogger();
  const tenbin = await Tenbin.start(config, { runtime, logger });
  return {
    tenbin,
    logger,
    port(name: string): number {
      const found = tenbin.listeners.find((l) => l.name === name);
      if (!found) throw new Error(`no listener ${name}`);
      return found.port;
    },
    reload: (text: string) => tenbin.reload(loadConfigText(text, "test.yaml", {})),
    stop: () => tenbin.stop(2000),
  };
}

/** What an instrumented runtime saw of every connection it made or accepted. */
export interface SocketWatch {
  /** Most bytes any connection held queued in user space after a write. */
  maxPending: number;
  /** `maxPending` of the connections accepted from clients only. */
  maxClientPending: number;
  /** Writes that answered false (backpressure reached the proxy). */
  refusedWrites: number;
  /** `room()` calls that answered a wait (backpressure reached the proxy before a write was short). */
  roomWaits: number;
  /** Connects attempted, by port. */
  connects: Map<number, number>;
  /**
   * Connections whose reads were limited (`TcpConn.limitReads`): `server:PORT` for one dialed to a
   * server's PORT, `client:PORT` for one accepted from a client's PORT.
   */
  limitedReads: string[];
}

/**
 * Bun's runtime with every TCP connection watched; `hang` lists server ports whose connect never
 * completes (a black-holed server, for connect timeouts).
 */
export function watchedRuntime(hang: readonly number[] = []): { runtime: Runtime; watch: SocketWatch } {
  const watch: SocketWatch = { maxPending: 0, maxClientPending: 0, refusedWrites: 0, roomWaits: 0, connects: new Map(), limitedReads: [] };
  const wrap = (conn: TcpConn, side: "server" | "client"): TcpConn => {
    const write = conn.write.bind(conn);
    return {
      remoteAddress: conn.remoteAddress,
      remotePort: conn.remotePort,
      localAddress: conn.localAddress,
      localPort: conn.localPort,
      get pending() {
        return conn.pending;
      },
      write(data: Uint8Array) {
        const ok = write(data);
        if (!ok) watch.refusedWrites++;
        watch.maxPending = Math.max(watch.maxPending, conn.pending);
        if (side === "client") watch.maxClientPending = Math.max(watch.maxClientPending, conn.pending);
        return ok;
      },
      writeBorrowed(bytes: Uint8Array, length: number) {
        return this.write(new Uint8Array(bytes.subarray(0, length)));
      },
      shutdownWrite: () => conn.shutdownWrite(),
      end: () => conn.end(),
      destroy: () => conn.destroy(),
      pause: () => conn.pause(),
      resume: () => conn.resume(),
      limitReads: () => {
        const done = conn.limitReads();
        if (done) watch.limitedReads.push(`${side}:${conn.remotePort}`);
        return done;
      },
      room: (bytes: number) => {
        const wait = conn.room(bytes);
        if (wait !== undefined) watch.roomWaits++;
        return wait;
      },
    };
  };
  const runtime: Runtime = {
    ...bunRuntime,
    listenTcp: (options) => bunRuntime.listenTcp({ ...options, accept: (conn) => options.accept(wrap(conn, "client")) }),
    connectTcp: async (options: TcpConnectOptions) => {
      watch.connects.set(options.port, (watch.connects.get(options.port) ?? 0) + 1);
      if (hang.includes(options.port)) return await new Promise<TcpConn>(() => {});
      return wrap(await bunRuntime.connectTcp(options), "server");
    },
  };
  return { runtime, watch };
}

/** A TCP client that collects what it receives as text. */
export interface TextClient {
  readonly socket: Bun.Socket<undefined>;
  /** The client's own port (read at connect: a closed socket forgets it). */
  readonly localPort: number;
  readonly text: string;
  readonly closed: boolean;
  /** Resolves when the received text satisfies `predicate` (bounded). */
  until(predicate: (text: string, closed: boolean) => boolean, timeoutMs?: number): Promise<string>;
}

/** Connects a `TextClient` to 127.0.0.1:`port`, optionally sending `first` at once. */
export async function textClient(port: number, first?: string | Uint8Array): Promise<TextClient> {
  let text = "";
  let closed = false;
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    allowHalfOpen: true,
    socket: {
      data: (_s, d) => void (text += Buffer.from(d).toString("latin1")),
      end: (s) => void s.end(),
      close: () => void (closed = true),
    },
  });
  if (first !== undefined) socket.write(first);
  return {
    socket,
    localPort: socket.localPort,
    get text() {
      return text;
    },
    get closed() {
      return closed;
    },
    async until(predicate, timeoutMs = 3000) {
      const deadline = performance.now() + timeoutMs;
      while (!predicate(text, closed)) {
        if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms; got ${JSON.stringify(text)}, closed=${closed}`);
        await Bun.sleep(2);
      }
      return text;
    },
  };
}
