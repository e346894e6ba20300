/**
 * Loopback TCP and UDP peers for the L4 tests, written straight on Bun's sockets (not on tenbin's
 * runtime adapter, so the adapter is tested against something it did not build): an echo server
 * that honours backpressure and half-close, a streaming client that hashes both directions, UDP
 * echo servers, and free ports for programs that need a port number up front.
 */
import { createHash, type Hash } from "node:crypto";

/** A TCP server on 127.0.0.1 with counters. */
export interface TcpBackend {
  readonly port: number;
  readonly connections: number;
  readonly active: number;
  /** Closes the listener and resets every open connection (a crash, as far as clients can tell). */
  kill(): void;
}

interface EchoState {
  queue: Uint8Array[];
  ended: boolean;
}

/**
 * An echo server: every byte comes back, in order, with backpressure (it stops reading while its
 * own writes are queued). After the client's FIN it sends what is left, then its own FIN.
 */
export function startEchoServer(port = 0): TcpBackend {
  let connections = 0;
  const open = new Set<Bun.Socket<EchoState>>();
  const flush = (s: Bun.Socket<EchoState>) => {
    const q = s.data.queue;
    while (q.length > 0) {
      const head = q[0]!;
      const n = s.write(head);
      if (n < 0) return;
      if (n < head.length) {
        q[0] = head.subarray(n);
        return;
      }
      q.shift();
    }
    s.resume();
    if (s.data.ended) s.shutdown();
  };
  const listener = Bun.listen<EchoState>({
    hostname: "127.0.0.1",
    port,
    allowHalfOpen: true,
    socket: {
      open(s) {
        connections++;
        open.add(s);
        s.data = { queue: [], ended: false };
      },
      data(s, data) {
        if (s.data.queue.length > 0) {
          s.data.queue.push(data);
          return;
        }
        const n = s.write(data);
        if (n >= 0 && n < data.length) {
          s.data.queue.push(data.subarray(n));
          s.pause();
        }
      },
      drain: flush,
      end(s) {
        s.data.ended = true;
        if (s.data.queue.length === 0) s.shutdown();
      },
      close(s) {
        open.delete(s);
      },
    },
  });
  return {
    port: listener.port,
    get connections() {
      return connections;
    },
    get active() {
      return open.size;
    },
    kill() {
      listener.stop(true);
      for (const s of open) s.terminate();
    },
  };
}

/** What a streaming client saw. */
export interface StreamResult {
  sentHash: string;
  receivedHash: string;
  sent: number;
  received: number;
  /** Why the connection closed: undefined when both sides ended cleanly. */
  error: string | undefined;
  ms: number;
}

/** Options of `streamThrough`. */
export interface StreamOptions {
  port: number;
  /** Bytes to send; the stream is `source` rotated by `offset`, repeated as needed. */
  bytes: number;
  source: Uint8Array;
  offset: number;
  random: () => number;
  /** Largest chunk written at once. */
  maxChunk?: number;
  /** Shut the write side down after the last byte (half-close) — the default. */
  halfClose?: boolean;
  /** Gives up (and reports an error) after this long. */
  timeoutMs?: number;
  /** Called once with the socket, e.g. to pause reading for a slow-reader test. */
  onOpen?: (socket: Bun.Socket<undefined>) => void;
}

/**
 * Connects, sends `bytes` in random-sized chunks honouring `write`'s return value, reads until the
 * peer's FIN, and hashes both directions.
 */
export async function streamThrough(options: StreamOptions): Promise<StreamResult> {
  const { bytes, source, offset, random } = options;
  const maxChunk = options.maxChunk ?? 64 * 1024;
  const sentHash: Hash = createHash("sha256");
  const receivedHash: Hash = createHash("sha256");
  let sent = 0;
  let received = 0;
  const started = performance.now();
  return await new Promise<StreamResult>((resolve) => {
    let done = false;
    let pendingChunk: Uint8Array | undefined;
    const finish = (error: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ sentHash: sentHash.digest("hex"), receivedHash: receivedHash.digest("hex"), sent, received, error, ms: performance.now() - started });
    };
    const timer = setTimeout(() => {
      finish(`timed out after ${options.timeoutMs ?? 30_000}ms (sent ${sent}, received ${received})`);
      socket?.terminate();
    }, options.timeoutMs ?? 30_000);
    const nextChunk = (): Uint8Array => {
      const size = Math.min(bytes - sent, 1 + Math.floor(random() * maxChunk));
      const at = (offset + sent) % source.length;
      const chunk = source.subarray(at, Math.min(source.length, at + size));
      return chunk;
    };
    const pump = (s: Bun.Socket<undefined>) => {
      while (sent < bytes) {
        const chunk = pendingChunk ?? nextChunk();
        const n = s.write(chunk);
        if (n < 0) return;
        if (n > 0) {
          sentHash.update(chunk.subarray(0, n));
          sent += n;
        }
        if (n < chunk.length) {
          pendingChunk = chunk.subarray(n);
          return;
        }
        pendingChunk = undefined;
      }
      if (options.halfClose !== false) s.shutdown();
    };
    let socket: Bun.Socket<undefined> | undefined;
    void Bun.connect({
      hostname: "127.0.0.1",
      port: options.port,
      allowHalfOpen: true,
      socket: {
        open(s) {
          socket = s;
          options.onOpen?.(s);
          pump(s);
        },
        data(_s, data) {
          receivedHash.update(data);
          received += data.length;
        },
        drain: pump,
        end(s) {
          s.end();
          finish(undefined);
        },
        close(_s, error) {
          finish(sent < bytes || error ? `closed: ${error?.message ?? "by peer"}` : undefined);
        },
        connectError(_s, error) {
          finish(`connect: ${error.message}`);
        },
      },
    }).catch(() => undefined);
  });
}

/** The SHA-256 of `bytes` bytes of `source` rotated by `offset` (what `streamThrough` sends). */
export function expectedHash(source: Uint8Array, offset: number, bytes: number): string {
  const hash = createHash("sha256");
  let done = 0;
  while (done < bytes) {
    const at = (offset + done) % source.length;
    const chunk = source.subarray(at, Math.min(source.length, at + bytes - done));
    hash.update(chunk);
    done += chunk.length;
  }
  return hash.digest("hex");
}

/** A UDP server that answers each datagram with `${tag}:${datagram}` and remembers its clients. */
export interface UdpEcho {
  readonly port: number;
  readonly tag: string;
  /** `address:port` of every datagram's sender, in arrival order. */
  readonly senders: string[];
  close(): void;
}

/** Starts a UDP echo server on 127.0.0.1. */
export async function startUdpEcho(tag: string): Promise<UdpEcho> {
  const senders: string[] = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s, data, port, address) {
        senders.push(`${address}:${port}`);
        s.send(`${tag}:${Buffer.from(data).toString()}`, port, address);
      },
    },
  });
  return { port: socket.port, tag, senders, close: () => socket.close() };
}

/** A UDP client on its own port that collects replies. */
export interface UdpClient {
  readonly port: number;
  readonly replies: string[];
  /** `address:port` each reply came from. */
  readonly from: string[];
  send(text: string, port: number): void;
  /** Resolves with the n-th reply (1-based), bounded by `timeoutMs`. */
  reply(n: number, timeoutMs?: number): Promise<string>;
  close(): void;
}

/** Starts a UDP client on 127.0.0.1. */
export async function udpClient(): Promise<UdpClient> {
  const replies: string[] = [];
  const from: string[] = [];
  const socket = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(_s, data, port, address) {
        replies.push(Buffer.from(data).toString());
        from.push(`${address}:${port}`);
      },
    },
  });
  return {
    port: socket.port,
    replies,
    from,
    send: (text, port) => void socket.send(text, port, "127.0.0.1"),
    async reply(n, timeoutMs = 2000) {
      const deadline = performance.now() + timeoutMs;
      while (replies.length < n) {
        if (performance.now() > deadline) throw new Error(`no reply #${n} within ${timeoutMs}ms (got ${JSON.stringify(replies)})`);
        await Bun.sleep(2);
      }
      return replies[n - 1]!;
    },
    close: () => socket.close(),
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for programs that must be told a port). */
export function freeTcpPort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}
