/**
 * The byte tunnel behind a WebSocket (or any) upgrade on tenbin's own HTTP/1.1 server, as HAProxy
 * does it: once the server answered 101, the client's connection and the server's are spliced and
 * bytes pass both ways untouched (frames, close codes, subprotocols are the two ends' business).
 *
 * `UpstreamLink` is the server connection's event sink from the dial on: it keeps what arrives
 * until someone reads it (the handshake, pulling with `next`) or takes the events over (the
 * tunnel, with `handOver`). `TunnelResponse` is the 101 the listener writes; `attach` splices.
 */
import { Buffer } from "node:buffer";
import type { HeaderList } from "../http1/header-list.ts";
import type { ProxyResponse } from "../http/message.ts";
import type { TcpConn, TcpEvents } from "../runtime/types.ts";
import { relayChunk } from "./relay-chunk.ts";

/** Server bytes kept before the tunnel is attached, above which the server connection is paused. */
const LINK_HIGH_WATER = 64 * 1024;

/** What `UpstreamLink.next` can give instead of bytes. */
export type LinkStop = "end" | "timeout" | "gone";

/** The server connection's events, buffered until handed over; see the file comment. */
export class UpstreamLink implements TcpEvents {
  /** Set once the connection is up (to pause it when too much waits unread). */
  conn: TcpConn | undefined;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #paused = false;
  #ended = false;
  #closed = false;
  #error: Error | undefined;
  #target: TcpEvents | undefined;
  #wake: (() => void) | undefined;

  data(chunk: Uint8Array): void {
    if (this.#target) return this.#target.data(chunk);
    this.#chunks.push(chunk instanceof Buffer ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.#bytes += chunk.byteLength;
    if (this.#bytes > LINK_HIGH_WATER && !this.#paused && this.conn) {
      this.#paused = true;
      this.conn.pause();
    }
    this.#wakeReader();
  }

  drain(): void {
    this.#target?.drain();
  }

  end(): void {
    if (this.#target) return this.#target.end();
    this.#ended = true;
    this.#wakeReader();
  }

  close(error?: Error): void {
    if (this.#target) return this.#target.close(error);
    this.#closed = true;
    this.#error = error;
    this.#wakeReader();
  }

  /** Puts bytes read past a head back in front, for the next reader. */
  unshift(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#chunks.unshift(bytes);
    this.#bytes += bytes.length;
  }

  /**
   * The next bytes from the server; `end` once it sent FIN or closed, `timeout` after `timeoutMs`
   * without bytes, `gone` when `signal` aborts (the client left).
   */
  async next(timeoutMs: number, signal: AbortSignal): Promise<Buffer | LinkStop> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        this.#bytes -= chunk.length;
        if (this.#paused && this.#bytes <= LINK_HIGH_WATER / 2) {
          this.#paused = false;
          this.conn?.resume();
        }
        return chunk;
      }
      if (this.#ended || this.#closed) return "end";
      if (signal.aborted) return "gone";
      // Woken by the next event (data, end or close), so the next turn returns.
      const stop = await new Promise<LinkStop | undefined>((resolve) => {
        const timer = setTimeout(() => finish("timeout"), Math.max(0, timeoutMs));
        const onAbort = () => finish("gone");
        const finish = (why: LinkStop | undefined) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          this.#wake = undefined;
          resolve(why);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        this.#wake = () => finish(undefined);
      });
      if (stop !== undefined) return stop;
    }
  }

  /** From now on every event goes to `target`; what waited goes first, in order. */
  handOver(target: TcpEvents): void {
    this.#target = target;
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#bytes = 0;
    if (this.#paused) {
      this.#paused = false;
      this.conn?.resume(); // before the flush, which may pause it again for a slow client
    }
    for (const chunk of chunks) target.data(chunk);
    if (this.#ended) target.end();
    if (this.#closed) target.close(this.#error);
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** What a tunnel is made of. */
export interface TunnelInit {
  statusText: string;
  /** The server's 101 headers (Upgrade, Connection, Sec-WebSocket-Accept, ...), sticky cookie added. */
  headers: HeaderList;
  upstream: TcpConn;
  link: UpstreamLink;
  /** No byte either way for this long closes both sides (the pool's `timeouts.idle`). */
  idleMs: number;
  /** Aborts when the client leaves before the tunnel is attached. */
  signal: AbortSignal;
  /** Runs once, when the tunnel ends (or is abandoned): gives the server back to its pool. */
  onEnd(): void;
}

const IGNORED: TcpEvents = { data() {}, drain() {}, end() {}, close() {} };

/**
 * A server's 101 Switching Protocols as an answer for tenbin's own HTTP/1.1 server, which writes
 * the head and then calls `attach` with the client's connection. Until then the server's bytes
 * wait in the link; a client that leaves first abandons the tunnel (the server is let go).
 */
export class TunnelResponse implements ProxyResponse {
  readonly status = 101;
  readonly statusText: string;
  readonly headers: HeaderList;
  readonly body = null;
  readonly #upstream: TcpConn;
  readonly #link: UpstreamLink;
  readonly #idleMs: number;
  readonly #signal: AbortSignal;
  readonly #onEnd: () => void;
  #client: TcpConn | undefined;
  #closed = false;
  #clientEnded = false;
  #upstreamEnded = false;
  #lastActive = performance.now();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(init: TunnelInit) {
    this.statusText = init.statusText;
    this.headers = init.headers;
    this.#upstream = init.upstream;
    this.#link = init.link;
    this.#idleMs = init.idleMs;
    this.#signal = init.signal;
    this.#onEnd = init.onEnd;
    if (init.signal.aborted) this.abandon();
    else init.signal.addEventListener("abort", this.abandon, { once: true });
  }

  /** True once both sides are closed (or the tunnel was abandoned). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Splices `client` (whose 101 head is written) to the server; returns the events the client's
   * connection must hand on from now. A tunnel already abandoned closes the client.
   */
  attach(client: TcpConn): TcpEvents {
    this.#signal.removeEventListener("abort", this.abandon);
    if (this.#closed) {
      client.destroy();
      return IGNORED;
    }
    this.#client = client;
    this.#arm(this.#idleMs);
    this.#link.handOver(this.#upstreamEvents);
    return this.#clientEvents;
  }

  /** The client will never be attached (it left): close the server's connection. */
  readonly abandon = (): void => this.#close(true);

  readonly #clientEvents: TcpEvents = {
    data: (chunk) => {
      if (this.#closed) return;
      this.#lastActive = performance.now();
      // A server that reads slowly makes the client wait: stop reading it until the server has
      // room (or drained, after a short write; from then on it is read in small pieces).
      relayChunk(chunk, this.#client!, this.#upstream, () => this.#closed);
    },
    drain: () => {
      if (this.#closed) return;
      this.#lastActive = performance.now();
      this.#upstream.resume();
    },
    end: () => {
      if (this.#closed) return;
      this.#clientEnded = true;
      this.#upstream.shutdownWrite();
      if (this.#upstreamEnded) this.#close(false);
    },
    close: (error) => this.#close(error !== undefined),
  };

  readonly #upstreamEvents: TcpEvents = {
    data: (chunk) => {
      if (this.#closed) return;
      this.#lastActive = performance.now();
      relayChunk(chunk, this.#upstream, this.#client!, () => this.#closed); // a slow client, as above
    },
    drain: () => {
      if (this.#closed) return;
      this.#lastActive = performance.now();
      this.#client?.resume();
    },
    end: () => {
      if (this.#closed) return;
      this.#upstreamEnded = true;
      this.#client?.shutdownWrite();
      if (this.#clientEnded) this.#close(false);
    },
    close: (error) => this.#close(error !== undefined),
  };

  /** Ends both connections (flushing what is queued) or, when `hard`, cuts them. */
  #close(hard: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#signal.removeEventListener("abort", this.abandon);
    const client = this.#client;
    const upstream = this.#upstream;
    if (hard) {
      client?.destroy();
      upstream.destroy();
    } else {
      client?.end();
      upstream.end();
      // end() waits for the queue to drain; a peer that never reads must not hold the socket forever.
      if ((client?.pending ?? 0) > 0 || upstream.pending > 0) {
        setTimeout(() => {
          client?.destroy();
          upstream.destroy();
        }, this.#idleMs);
      }
    }
    this.#onEnd();
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#onTimer, ms);
  }

  /** One coarse timer per tunnel: re-armed for the rest of the idle time while bytes flow. */
  readonly #onTimer = (): void => {
    if (this.#closed) return;
    const quiet = performance.now() - this.#lastActive;
    if (quiet < this.#idleMs) return this.#arm(this.#idleMs - quiet);
    this.#close(true);
  };
}
