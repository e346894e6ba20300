/**
 * TCP and UDP on Bun (`Bun.listen`, `Bun.connect`, `Bun.udpSocket`) behind the neutral types of
 * `socket-types.ts`. Facts this file is built on, checked on Bun 1.4.5 (test/l4/sockets.test.ts):
 * - `socket.write()` returns the bytes the kernel took, maybe fewer; the rest is ours to resend on
 *   `drain`. We queue it and answer `false`, so the caller pauses its source.
 * - `socket.shutdown()` sends FIN and keeps reading; `socket.end()` closes both directions even with
 *   `allowHalfOpen`. A peer's FIN fires `end` only while we have not shut down ourselves; after our
 *   own shutdown its FIN fires `close`.
 * - `pause()`/`resume()` stop and restart reading; no `data` arrives while paused.
 * - Every socket already has TCP_NODELAY (seen with strace on connect and accept).
 */
import { bunListenTls } from "./bun-tls.ts";
import { hasSendRoom, loadSockopt, setReceiveBuffer } from "./bun-sockopt.ts";

await loadSockopt();
import { nodeSockets } from "./node-sockets.ts";
import { SLOW_RECEIVE_BUFFER, type TcpClientTls, type TcpConn, type TcpConnectOptions, type TcpEvents, type TcpListener, type TcpListenOptions, type UdpSocket, type UdpSocketOptions } from "./socket-types.ts";

/** A rest of a write left queued is copied out of its read when it is at most this (see `#write`). */
const COPY_REST_BELOW = 64 * 1024;
/** `room()` looks again after this many ms, doubling up to `ROOM_POLL_MAX_MS` (no event says it). */
const ROOM_POLL_MIN_MS = 1;
const ROOM_POLL_MAX_MS = 1024;

/** Connections with bytes queued or waiting for room in their send buffer (see `blockedConnections`). */
let blockedCount = 0;

/** Per-socket state Bun keeps in `socket.data`. */
interface SocketState {
  conn: BunTcpConn | undefined;
  events: TcpEvents | undefined;
  error: Error | undefined;
}

type BunSocket = Bun.Socket<SocketState>;

class BunTcpConn implements TcpConn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly #socket: BunSocket;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #wantDrain = false;
  #shutdownAsked = false;
  #endAsked = false;
  #closed = false;
  #readsLimited = false;
  readonly #slowReceiveBuffer: number;
  /** A `room()` waiting for the kernel's send buffer, and its next look. */
  #roomWake: (() => void) | undefined;
  #roomTimer: ReturnType<typeof setTimeout> | undefined;
  /** Counted in `blockedCount`. */
  #blocked = false;

  constructor(socket: BunSocket, slowReceiveBuffer = SLOW_RECEIVE_BUFFER) {
    this.#socket = socket;
    this.#slowReceiveBuffer = slowReceiveBuffer;
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.localAddress = socket.localAddress;
    this.localPort = socket.localPort;
    // Bun sets TCP_NODELAY on every connect and accept already; calling setNoDelay(true) again made
    // the 50 × 5 MB test 6× slower (7.2 s against 1.1 s), so it is left alone.
  }

  get pending(): number {
    return this.#queued;
  }

  write(data: Uint8Array): boolean {
    return this.#write(data, data.length, false);
  }

  writeBorrowed(bytes: Uint8Array, length: number): boolean {
    return this.#write(bytes, length, true);
  }

  /** Sends the first `length` bytes of `data` or queues what the kernel did not take; `borrowed`: queue a copy. */
  #write(data: Uint8Array, length: number, borrowed: boolean): boolean {
    if (this.#closed || this.#shutdownAsked || this.#endAsked) return true;
    let n = 0;
    if (this.#queued === 0) {
      n = this.#socket.write(data, 0, length);
      if (n === length || n < 0) return true; // n < 0: closing; `close` follows
    }
    const rest = n === 0 && length === data.length ? data : data.subarray(n, length);
    // A copy for borrowed bytes (a Buffer's own `slice` would be a view of the caller's buffer), and
    // for a rest that is a small part of the memory it is a view of: a slow reader then keeps only
    // the bytes it has yet to take, not the whole read they came in (reads of 60–80 KB of which
    // 30–50 KB were left, on average, in bench/pressure-slow-readers.ts). Copies are at most 64 KB, or half
    // of what they free.
    const whole = rest.buffer.byteLength;
    this.#queue.push(borrowed || (rest.byteLength < whole && (rest.byteLength <= COPY_REST_BELOW || rest.byteLength * 2 <= whole)) ? new Uint8Array(rest) : rest);
    this.#queued += length - n;
    this.#wantDrain = true;
    this.#countBlocked();
    return false;
  }

  shutdownWrite(): void {
    if (this.#closed || this.#shutdownAsked || this.#endAsked) return;
    this.#shutdownAsked = true;
    if (this.#queued === 0) this.#socket.shutdown();
  }

  end(): void {
    if (this.#closed || this.#endAsked) return;
    this.#endAsked = true;
    if (this.#queued === 0) this.#socket.end();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#queued = 0;
    this.#wakeRoom();
    this.#countBlocked();
    this.#socket.terminate();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  limitReads(): boolean {
    if (this.#closed || this.#readsLimited) return false;
    this.#readsLimited = true;
    return setReceiveBuffer((this.#socket as unknown as { fd: number }).fd, this.#slowReceiveBuffer);
  }

  room(bytes: number): Promise<void> | undefined {
    if (this.#closed || this.#queued > 0 || this.#roomWake !== undefined || this.#hasRoom(bytes)) return undefined;
    return new Promise((resolve) => {
      this.#roomWake = resolve;
      this.#countBlocked();
      // Linux signals a socket writable again only after a write did not fit, so this looks from
      // time to time: soon (a fast peer drains 4 MB in milliseconds), then up to once a second.
      const look = (ms: number) => {
        this.#roomTimer = setTimeout(() => {
          if (this.#closed || this.#hasRoom(bytes)) this.#wakeRoom();
          else look(Math.min(ms * 2, ROOM_POLL_MAX_MS));
        }, ms);
      };
      look(ROOM_POLL_MIN_MS);
    });
  }

  #hasRoom(bytes: number): boolean {
    return hasSendRoom((this.#socket as unknown as { fd: number }).fd, bytes);
  }

  #wakeRoom(): void {
    clearTimeout(this.#roomTimer);
    this.#roomTimer = undefined;
    const wake = this.#roomWake;
    this.#roomWake = undefined;
    this.#countBlocked();
    wake?.();
  }

  /** Keeps `blockedCount` in step with this connection's queue and room wait. */
  #countBlocked(): void {
    const blocked = !this.#closed && (this.#queued > 0 || this.#roomWake !== undefined);
    if (blocked !== this.#blocked) {
      this.#blocked = blocked;
      blockedCount += blocked ? 1 : -1;
    }
  }

  /** Bun's `drain`: the kernel takes bytes again. */
  onDrain(events: TcpEvents | undefined): void {
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const n = this.#socket.write(head);
      if (n < 0) return;
      this.#queued -= n;
      if (n < head.length) {
        this.#queue[0] = head.subarray(n);
        return;
      }
      this.#queue.shift();
    }
    this.#countBlocked();
    if (this.#endAsked) this.#socket.end();
    else if (this.#shutdownAsked) this.#socket.shutdown();
    if (this.#wantDrain) {
      this.#wantDrain = false;
      events?.drain();
    }
  }

  onClose(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queued = 0;
    this.#wakeRoom();
    this.#countBlocked();
  }
}

/** The handlers Bun calls, shared by every socket; per-socket state lives in `socket.data`. */
const handlers: Bun.SocketHandler<SocketState, "buffer"> = {
  // Buffers, not plain Uint8Arrays: the HTTP parsers work on Buffers, and wrapping a Uint8Array that
  // Bun made reads its `.buffer`, which JSC must then materialise (~1 µs a chunk, bench/ 2026-11-26).
  binaryType: "buffer",
  data(socket, data) {
    socket.data.events?.data(data);
  },
  drain(socket) {
    socket.data.conn?.onDrain(socket.data.events);
  },
  end(socket) {
    socket.data.events?.end();
  },
  error(socket, error) {
    socket.data.error ??= error;
  },
  close(socket, error) {
    const state = socket.data;
    state.conn?.onClose();
    const events = state.events;
    state.events = undefined; // close fires once
    events?.close(error ?? state.error);
  },
};

/** How long a TLS client has to finish its handshake on a Bun.listen listener (node:tls allows 120 s; HAProxy's `timeout client` is usually 10 s or less). */
const TLS_HANDSHAKE_TIMEOUT_S = 10;

async function listenTcp(options: TcpListenOptions): Promise<TcpListener> {
  // Bun.listen takes one certificate only ("TLSOptions must be an object" for an array, 1.4.5), so
  // a TLS listener with several goes through node:tls, whose SNICallback serves every certificate.
  // One certificate is served by Bun's own TLS: node:tls cost ~30 % of the req/s on HTTPS (bench/).
  const tls = options.tls && bunListenTls(options.tls);
  if (options.tls && !tls) return await nodeSockets.listenTcp(options);
  // `reusePort` works on Bun.listen (checked on 1.4.5) though bun-types lists it for connect only.
  const listenOptions: Bun.TCPSocketListenOptions<SocketState> & { reusePort: boolean } = {
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort ?? false,
    allowHalfOpen: true,
    ...(tls ? { tls } : {}),
    socket: {
      ...handlers,
      open(socket) {
        const conn = new BunTcpConn(socket);
        socket.data = { conn, events: undefined, error: undefined };
        // A TLS connection opens before its handshake; it is handed over once the handshake is done,
        // as node:tls hands over a secure one (a client that speaks no TLS must not reach a pool).
        if (tls) socket.timeout(TLS_HANDSHAKE_TIMEOUT_S);
        else socket.data.events = options.accept(conn);
      },
      handshake(socket, success) {
        // `success` is false when the handshake failed (no client certificates are asked for).
        if (!success) return socket.terminate();
        socket.timeout(0);
        socket.data.events = options.accept(socket.data.conn!);
      },
      timeout(socket) {
        if (socket.data.events === undefined) socket.terminate();
      },
    } as Bun.SocketHandler<SocketState>,
  };
  const listener = Bun.listen<SocketState>(listenOptions);
  return {
    hostname: listener.hostname,
    port: listener.port,
    stop: () => listener.stop(false),
  };
}

/** A failed TLS handshake as the error the dial rejects with (a verification failure names its code). */
function handshakeError(reason: (Error & { code?: string }) | undefined): Error {
  if (reason === undefined) return Object.assign(new Error("connection closed during the TLS handshake"), { code: "ECONNRESET" });
  const code = reason.code ?? "ERR_TLS_HANDSHAKE";
  return Object.assign(new Error(`TLS handshake failed: ${code}: ${reason.message}`), { code });
}

/** Bun.connect's `tls` for `tls`: keys left out rather than set to undefined. */
function bunClientTls(tls: TcpClientTls): Bun.TLSOptions {
  // Verification is decided in `handshake` (from its verification error), in one place.
  const options: Bun.TLSOptions = { rejectUnauthorized: false };
  if (tls.serverName !== undefined) options.serverName = tls.serverName;
  if (tls.ca !== undefined) options.ca = tls.ca;
  return options;
}

async function connectTcp(options: TcpConnectOptions): Promise<TcpConn> {
  const state: SocketState = { conn: undefined, events: options.events, error: undefined };
  const tls = options.tls;
  // A connection made with a set receive buffer keeps it when its reads are limited (never grows).
  const slowReceiveBuffer = options.receiveBuffer ?? SLOW_RECEIVE_BUFFER;
  // Bun.connect resolves before the TLS handshake; the connection is handed over after it.
  let handshook: ((error?: Error) => void) | undefined;
  const handshake = tls && new Promise<void>((resolve, reject) => (handshook = (error) => (error ? reject(error) : resolve())));
  const settle = (error?: Error) => {
    const done = handshook;
    handshook = undefined;
    done?.(error);
  };
  const socket = await Bun.connect<SocketState>({
    hostname: options.hostname,
    port: options.port,
    allowHalfOpen: true,
    data: state,
    ...(tls ? { tls: bunClientTls(tls) } : {}),
    socket: {
      ...handlers,
      open(s) {
        s.data.conn = new BunTcpConn(s, slowReceiveBuffer);
      },
      // Without this handler the rejected promise would also be reported as unhandled.
      connectError() {},
      // Bun 1.4.5: with rejectUnauthorized false, `success` is true even when the certificate
      // failed verification; `error` says it did (and why). The connection is closed here.
      handshake(s, success, error) {
        if (!tls!.rejectUnauthorized || (success && !error)) return settle();
        // Settled first: terminate() fires `close` at once, which would settle with less.
        settle(handshakeError(error ?? undefined));
        s.data.events = undefined; // the caller never had this connection: no close event for it
        s.terminate();
      },
      close(s, error) {
        settle(handshakeError(error ?? s.data.error));
        handlers.close!(s, error);
      },
    } as Bun.SocketHandler<SocketState>,
  });
  // Bun reads up to 512 KB per readable event: the kernel's buffer bounds what one read brings in.
  if (options.receiveBuffer !== undefined) setReceiveBuffer((socket as unknown as { fd: number }).fd, options.receiveBuffer);
  if (handshake) await handshake;
  return socket.data.conn ?? new BunTcpConn(socket, slowReceiveBuffer);
}

async function udpSocket(options: UdpSocketOptions): Promise<UdpSocket> {
  const socket = await Bun.udpSocket({
    hostname: options.hostname,
    port: options.port,
    binaryType: "uint8array",
    socket: {
      data(_s, data, port, address) {
        options.message(data, address, port);
      },
    },
  });
  return {
    hostname: socket.hostname,
    port: socket.port,
    send: (data, port, address) => {
      try {
        return socket.send(data, port, address);
      } catch {
        return false; // e.g. the socket closed meanwhile
      }
    },
    close: () => socket.close(),
  };
}

/** See `Runtime.blockedConnections`. */
export function blockedConnections(): number {
  return blockedCount;
}

/** Bun's TCP and UDP for the `Runtime`. */
export const bunSockets = { listenTcp, connectTcp, udpSocket };
