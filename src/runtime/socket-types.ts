/**
 * Runtime-neutral TCP and UDP sockets for the L4 listeners. The contract is Node's stream one, made
 * explicit: `write` always takes the bytes but answers `false` once the caller must wait for `drain`,
 * so a pipe that pauses its source on `false` holds at most one chunk per direction in user space.
 * (Bun's own `socket.write` takes only what the kernel accepts; `bun-sockets.ts` keeps the rest.)
 */
import type { ServeTls } from "./types.ts";

/** Handlers of one TCP connection. Each fires at most once, except `data` and `drain`. */
export interface TcpEvents {
  /** Bytes from the peer. The array is the handler's to keep. */
  data(chunk: Uint8Array): void;
  /** Every byte queued by `write` is in the kernel now (fires only after `write` returned false). */
  drain(): void;
  /** The peer sent FIN: it will send nothing more, but may still read (half-close). */
  end(): void;
  /** The connection is gone; `error` when it did not end cleanly (reset, broken pipe). */
  close(error?: Error): void;
}

/** One TCP connection, accepted or dialed. */
export interface TcpConn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Bytes written but not yet taken by the kernel. */
  readonly pending: number;
  /**
   * Sends `data` (the connection may keep a reference until it is sent). Returns false when bytes
   * are left queued: stop writing until `drain`. Writes after `end`/`destroy` are dropped.
   */
  write(data: Uint8Array): boolean;
  /**
   * Sends the first `length` bytes of `bytes`, which the caller writes over as soon as this returns
   * (a scratch buffer, see http1/scratch.ts): whatever is not sent at once is copied. Returns as
   * `write` does.
   */
  writeBorrowed(bytes: Uint8Array, length: number): boolean;
  /** Sends FIN once the queue is empty; the connection still reads (half-close). */
  shutdownWrite(): void;
  /** Closes both directions once the queue is empty. */
  end(): void;
  /** Closes at once and drops the queue (a reset where the runtime can). */
  destroy(): void;
  /** Stops reading from the peer; the kernel buffers fill and TCP slows the sender down. */
  pause(): void;
  resume(): void;
  /**
   * The other side cannot keep up (or a long transfer begins): from now on each read brings at most
   * about twice `SLOW_RECEIVE_BUFFER` (or the connection's own `receiveBuffer`), by setting the kernel
   * receive buffer (SO_RCVBUF) once, which ends the kernel's autotuning for this connection. Bun reads up to 512 KB per readable event
   * otherwise, and a read already made stays in memory until the slow side takes it. Returns false
   * where it cannot be set (Deno, node:net sockets) or was set already.
   */
  limitReads(): boolean;
  /**
   * Undefined when the kernel would take `bytes` more now without a short write (or this cannot
   * tell: Deno, node:net sockets, not Linux, bytes queued already); otherwise a promise that
   * resolves once it would, or the connection closed. Read the other side only then: what a short
   * write leaves (the rest of a read, up to ~128 KB) waits in memory until a slow peer takes it.
   */
  room(bytes: number): Promise<void> | undefined;
}

/** A TCP listener's options. */
export interface TcpListenOptions {
  /**
   * Terminate TLS with these certificates (SNI picks one; the first is the default): `accept` then
   * sees the decrypted stream, after the handshake.
   */
  tls?: ServeTls | undefined;
  hostname: string;
  /** 0 picks a free port; read it back from `TcpListener.port`. */
  port: number;
  /** Share the port with another listener (a replacement bound before the old one stops). */
  reusePort?: boolean | undefined;
  /** Called once per accepted connection, before any byte arrives; returns its handlers. */
  accept(conn: TcpConn): TcpEvents;
}

/** A bound TCP listener. */
export interface TcpListener {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting; connections already accepted are left to their owners. */
  stop(): void;
}

/** TLS on a dialed connection (https:// servers on tenbin's own HTTP/1.1 client and tunnels). */
export interface TcpClientTls {
  /** The SNI name, also the name the certificate must carry; none for an IP (checked against the IP). */
  serverName?: string | undefined;
  /** PEM text of the CAs to trust instead of the system's. */
  ca?: string | undefined;
  /** False only with `insecure_skip_verify: true`. */
  rejectUnauthorized: boolean;
}

/** Where and how to dial. */
export interface TcpConnectOptions {
  hostname: string;
  port: number;
  events: TcpEvents;
  /** Speak TLS: the connection is handed over once the handshake (and the verification) succeeded. */
  tls?: TcpClientTls | undefined;
  /**
   * SO_RCVBUF in bytes (`server_receive_buffer`): bounds how much one read brings into memory while
   * the other side is slow. Undefined: the kernel's autotuning. Ignored where it cannot be set (Deno).
   */
  receiveBuffer?: number | undefined;
}

/**
 * SO_RCVBUF once a connection is read for a slow side (`TcpConn.limitReads`). The kernel doubles it;
 * one read then brings ~60 KB on average, ~128 KB at most (Bun's own limit is 512 KB). Not smaller:
 * a sender does not send while the window is smaller than one of its segments and the data it
 * has is not, so a window that cannot hold a 64 KB loopback segment (a server on the same host)
 * stalls it on zero-window probes, a few segments a second: at 16 KiB a 100 MB download through
 * tenbin crawled at ~0.2 MB/s, at 32 KiB a WebSocket tunnel stalled (test/e2e/engine-tenbin-websocket.test.ts).
 */
export const SLOW_RECEIVE_BUFFER = 64 * 1024;

/** A bound UDP socket. */
export interface UdpSocket {
  readonly hostname: string;
  readonly port: number;
  /**
   * Sends one datagram to `address` (an IP, not a name). Returns false when the socket cannot take
   * it now; the datagram is then dropped, never queued (UDP may lose packets; memory stays bounded).
   */
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}

/** A UDP socket's options. */
export interface UdpSocketOptions {
  hostname: string;
  /** 0 binds an ephemeral port. */
  port: number;
  /** One datagram received from `address`:`port`. */
  message(data: Uint8Array, address: string, port: number): void;
}
