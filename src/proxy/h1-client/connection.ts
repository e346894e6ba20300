/**
 * One keep-alive connection to a backend and the exchange it carries (one at a time, no
 * pipelining). A response up to `bufferLimit` bytes (head and body) with a known end is read whole
 * and handed over as bytes, so the runtime's HTTP server sends it with a Content-Length and no
 * stream machinery; a longer or open-ended one becomes a ReadableStream that pauses the socket
 * while the client is slow.
 */
import { Buffer } from "node:buffer";
import type { TcpConn, TcpEvents } from "../../runtime/socket-types.ts";
import { BadResponseError, type ResponseHead, ResponseParser } from "../../http1/response-parser.ts";
import { LightResponse } from "../../http/message.ts";
import type { ProxyResponse } from "../../runtime/types.ts";

/**
 * Answers read whole for a `LightResponse` (head and body); longer ones stream. The own server
 * writes either kind itself, so the runtime's `bufferLimit` (about how Bun.serve sends late
 * answers) does not apply. Streaming a 100 KB answer cost less than reading it whole into one
 * buffer: 1.41× against 1.53× HAProxy's CPU per request, paired (bench/ab.ts --path /100k,
 * 2026-11-26), the garbage of a 100 KB buffer per request included.
 */
const LIGHT_BUFFER_LIMIT = 64 * 1024;
/**
 * Bytes queued in a response stream before the socket is paused: none, so the server is read only
 * when the client's side asks for more (pull). With a slow reader the answer then holds at most the
 * one read being written, not that read and the next (Bun reads up to 512 KB at a time).
 */
const STREAM_HIGH_WATER = 0;
/**
 * An answer with more than this left to read is read with a limited receive buffer
 * (`TcpConn.limitReads`): what a slow reader holds is the read in hand when it falls behind, and
 * with the kernel's autotuning that read was Bun's full 512 KB (bench/pressure-slow-readers.ts:
 * 412 KB on average when the first write to a client at 1 KB/s did not go through whole). Shorter
 * answers keep autotuning: they are over before a read could be that large.
 */
const LIMIT_READS_ABOVE = 128 * 1024;

/** What a connection reports to the client that owns it. */
export interface ConnectionOwner {
  /** The exchange is over and the connection can carry another one. */
  reusable(conn: UpstreamConnection): void;
  /** The connection is gone (closed by either side or broken); drop it from any idle list. */
  gone(conn: UpstreamConnection): void;
  /**
   * The connection streams a body with a `bodyIdleMs` (`true`) or no longer does (`false`); the owner
   * calls `cutIfStalled` on streaming connections from time to time.
   */
  streaming(conn: UpstreamConnection, on: boolean): void;
}

/** The caller's side of one request on a connection. */
export interface ExchangeCallbacks {
  resolve(response: ProxyResponse): void;
  /** `stale` when a reused connection failed before any byte of the answer arrived. */
  reject(error: unknown, stale: boolean): void;
}

/** A pooled HTTP/1.1 connection to one origin. */
export class UpstreamConnection implements TcpEvents {
  conn: TcpConn | undefined;
  /** Requests this connection has carried (so > 0 means a reused connection). */
  uses = 0;
  /** When it went idle (performance.now()), and until when it may be reused. */
  idleSince = 0;
  idleUntil = Number.POSITIVE_INFINITY;
  /** How long the server keeps it idle (its `Keep-Alive: timeout`, less a second for the race). */
  serverIdleMs = Number.POSITIVE_INFINITY;
  closed = false;
  readonly #owner: ConnectionOwner;
  readonly #bufferLimit: number;
  /** The limit of the current exchange: `bufferLimit`, or `LIGHT_BUFFER_LIMIT` for a light answer. */
  #limit: number;
  readonly #parser: ResponseParser;
  #cb: ExchangeCallbacks | undefined;
  #head: ResponseHead | undefined;
  #chunks: Uint8Array[] = [];
  #size = 0;
  /** The whole body of a Content-Length answer that came in several reads, filled in place. */
  #whole: Uint8Array | undefined;
  /** The read that holds the whole body of a Content-Length answer that came in one (from `#rangeStart`, `#size` bytes). */
  #range: Buffer | undefined;
  #rangeStart = 0;
  #stream: ReadableStreamDefaultController<Uint8Array> | undefined;
  #settled = false;
  #requestDone = false;
  #responseDone = false;
  #drainWaiter: (() => void) | undefined;
  #exchange = 0;
  /** See `UpstreamInit.bodyIdleMs`; checked by the owner while a body streams. */
  #bodyIdleMs: number | undefined;
  /** When bytes of a streamed body last moved either way (performance.now()). */
  #lastProgress = 0;
  /** The caller takes a `LightResponse` (see `UpstreamInit.light`). */
  #light = false;
  /** Whether the owner checks this connection's streamed body for stalls. */
  #watched = false;

  constructor(owner: ConnectionOwner, bufferLimit: number) {
    this.#owner = owner;
    this.#bufferLimit = bufferLimit;
    this.#limit = bufferLimit;
    this.#parser = new ResponseParser({
      head: (head) => this.#onHead(head),
      body: (chunk) => this.#onBody(chunk),
      bodyRange: (bytes, start, end) => this.#onBodyRange(bytes, start, end),
      end: () => this.#onEnd(),
    });
  }

  /** True while an exchange is running on it. */
  get busy(): boolean {
    return this.#cb !== undefined;
  }

  /**
   * Starts an exchange: the caller then writes the request with `write` and calls `requestSent`.
   * Returns the exchange's number, which `fail` and `isCurrent` take.
   */
  begin(cb: ExchangeCallbacks, noBody: boolean, bodyIdleMs?: number, light = false): number {
    this.#cb = cb;
    this.#light = light;
    this.#limit = light ? LIGHT_BUFFER_LIMIT : this.#bufferLimit;
    this.#bodyIdleMs = bodyIdleMs;
    this.#head = undefined;
    // A new list only when the last exchange left chunks (nobody else holds an empty one).
    if (this.#chunks.length > 0) this.#chunks = [];
    this.#size = 0;
    this.#whole = undefined;
    this.#range = undefined;
    this.#stream = undefined;
    this.#settled = false;
    this.#requestDone = false;
    this.#responseDone = false;
    this.#parser.reset(noBody);
    this.uses++;
    return ++this.#exchange;
  }

  /** True while exchange `id` is still running here (a late abort must not hit the next one). */
  isCurrent(id: number): boolean {
    return this.#exchange === id && this.#cb !== undefined && !this.closed;
  }

  /** Writes request bytes; resolves at once, or when the socket drained. */
  /** `TcpConn.room` of the connection: undefined when `bytes` more would go out now. */
  room(bytes: number): Promise<void> | undefined {
    return this.closed ? undefined : this.conn?.room(bytes);
  }

  write(bytes: Uint8Array): Promise<void> | undefined {
    if (this.closed || !this.conn) return undefined;
    return this.#drained(this.conn.write(bytes));
  }

  /** `write` of the first `length` bytes of a buffer the caller reuses at once (`TcpConn.writeBorrowed`). */
  writeBorrowed(bytes: Uint8Array, length: number): Promise<void> | undefined {
    if (this.closed || !this.conn) return undefined;
    return this.#drained(this.conn.writeBorrowed(bytes, length));
  }

  /** Nothing when a write was taken whole, else the promise of the socket's next drain. */
  #drained(taken: boolean): Promise<void> | undefined {
    return taken ? undefined : new Promise((resolve) => (this.#drainWaiter = resolve));
  }

  /** The whole request is on the wire. */
  requestSent(): void {
    this.#requestDone = true;
    this.#maybeDone();
  }

  /** True once the answer (head and body) has been received. */
  get responseDone(): boolean {
    return this.#responseDone;
  }

  /** Ends exchange `id` with an error (abort, timeout, a failed request body) and closes. */
  fail(id: number, error: unknown): void {
    if (this.isCurrent(id)) this.#failWith(error, false);
  }

  /** Cuts the connection (a failed or abandoned exchange): a reset. */
  destroy(): void {
    this.#close(false);
  }

  /**
   * Closes an idle connection with a FIN, not a reset (idle expiry, a full pool, shutdown), so the
   * backend sees an orderly close and logs no "connection reset by peer".
   */
  closeIdle(): void {
    this.#close(true);
  }

  #close(orderly: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.#stopWatch();
    if (orderly) this.conn?.end();
    else this.conn?.destroy();
    // A request writer waiting for `drain` would wait forever on a dead socket (an early answer
    // closes it mid-upload): wake it, it sees the exchange is over and cancels the request body.
    const drain = this.#drainWaiter;
    this.#drainWaiter = undefined;
    drain?.();
    this.#owner.gone(this);
  }

  // ---- TcpEvents ----

  data(chunk: Uint8Array): void {
    if (!this.#cb) return this.destroy(); // bytes while idle: the server is confused; never reuse
    try {
      this.#parser.push(chunk);
    } catch (error) {
      return this.#failWith(error, false);
    }
    // Still reading an open-ended body after this read: stream it from here on.
    const kind = this.#head?.framing.kind;
    if ((kind === "chunked" || kind === "close") && !this.#responseDone && !this.#stream && !this.#settled) this.#startStream();
  }

  drain(): void {
    const waiter = this.#drainWaiter;
    this.#drainWaiter = undefined;
    waiter?.();
  }

  end(): void {
    this.#closedByPeer(undefined);
  }

  close(error?: Error): void {
    this.#closedByPeer(error);
  }

  // ---- parser events ----

  #onHead(head: ResponseHead): void {
    this.#head = head;
    if (head.idleTimeoutMs !== undefined) this.serverIdleMs = Math.max(0, head.idleTimeoutMs - 1000);
    const framing = head.framing;
    if (framing.kind === "length" && framing.length + head.bytes > this.#limit) this.#startStream();
  }

  /**
   * Body bytes as a range of a read: the whole body of a Content-Length answer in one read is kept
   * as that range (the writer copies it from the read, no view made); anything else goes on as a view.
   */
  #onBodyRange(bytes: Buffer, start: number, end: number): void {
    const framing = this.#head!.framing;
    if (this.#stream === undefined && this.#size === 0 && this.#chunks.length === 0 && framing.kind === "length" && end - start === framing.length) {
      this.#range = bytes;
      this.#rangeStart = start;
      this.#size = end - start;
      return;
    }
    this.#onBody(bytes.subarray(start, end));
  }

  #onBody(chunk: Uint8Array): void {
    if (this.#stream) {
      this.#lastProgress = performance.now();
      this.#stream.enqueue(chunk);
      if ((this.#stream.desiredSize ?? 1) <= 0) this.conn?.pause();
      return;
    }
    const framing = this.#head!.framing;
    if (framing.kind === "length" && chunk.byteLength < framing.length) {
      // One buffer of the announced size, filled as reads arrive: no list to join at the end, which
      // halved the garbage per 100 KB answer (the reads themselves are fresh buffers from Bun).
      this.#whole ??= Buffer.allocUnsafe(framing.length);
      this.#whole.set(chunk, this.#size);
      this.#size += chunk.byteLength;
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.byteLength;
    if (this.#size > this.#limit) this.#startStream();
  }

  #onEnd(): void {
    this.#responseDone = true;
    if (this.#stream) {
      // The last read may have filled the stream and paused the socket; a closed stream pulls no
      // more, so without this the connection would go back to the pool deaf to the next answer.
      this.conn?.resume();
      this.#stopWatch();
      try {
        this.#stream.close();
      } catch {
        // the client cancelled meanwhile
      }
    } else if (!this.#settled && this.#range !== undefined) {
      const range = this.#range;
      this.#range = undefined;
      const head = this.#head!;
      if (this.#light) {
        this.#settled = true;
        this.#cb?.resolve(LightResponse.ranged(head.status, head.statusText, head.headers, range, this.#rangeStart, this.#size));
      } else this.#settle(range.subarray(this.#rangeStart, this.#rangeStart + this.#size));
    } else if (!this.#settled) {
      const body = this.#whole ?? (this.#size === 0 && this.#chunks.length === 0 ? (this.#bodyless() ? null : new Uint8Array(0)) : this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size));
      if (this.#chunks.length > 0) this.#chunks = [];
      this.#settle(body);
    }
    this.#maybeDone();
  }

  #bodyless(): boolean {
    const status = this.#head?.status ?? 0;
    return status === 204 || status === 304 || this.#head?.framing.kind === "none";
  }

  #settle(body: Uint8Array | ReadableStream<Uint8Array> | null): void {
    const head = this.#head!;
    this.#settled = true;
    if (this.#light) {
      this.#cb?.resolve(new LightResponse(head.status, head.statusText, head.headers, body));
      return;
    }
    this.#cb?.resolve(new Response(body as BodyInit | null, { status: head.status, statusText: head.statusText, headers: head.headers.pairs() }));
  }

  #startStream(): void {
    const framing = this.#head!.framing;
    if (framing.kind !== "length" || framing.length - this.#size > LIMIT_READS_ABOVE) this.conn?.limitReads();
    const queued = this.#chunks;
    this.#chunks = [];
    this.#size = 0;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#stream = controller;
          for (const chunk of queued) controller.enqueue(chunk);
        },
        pull: () => {
          this.#lastProgress = performance.now();
          this.conn?.resume();
        },
        cancel: () => {
          // The client went away mid-body: the rest of this answer is unwanted, and the socket
          // cannot carry another request before it, so it closes.
          if (!this.#responseDone) this.#failWith(new DOMException("client went away", "AbortError"), false);
        },
      },
      { highWaterMark: STREAM_HIGH_WATER, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    this.#settle(stream);
    if (this.#bodyIdleMs !== undefined) {
      this.#lastProgress = performance.now();
      this.#watched = true;
      this.#owner.streaming(this, true);
    }
  }

  /** Cuts the streamed body (and closes) when nothing moved for longer than its `bodyIdleMs` at `now`. */
  cutIfStalled(now: number): void {
    if (this.#watched && now - this.#lastProgress > (this.#bodyIdleMs ?? Infinity)) this.#failWith(new DOMException("idle timeout", "TimeoutError"), false);
  }

  #stopWatch(): void {
    if (!this.#watched) return;
    this.#watched = false;
    this.#owner.streaming(this, false);
  }

  #maybeDone(): void {
    if (!this.#responseDone || !this.#cb) return;
    if (!this.#requestDone) {
      // An early answer (say 413 while the body was still coming): the request cannot be finished
      // on this connection any more, so it is not reused.
      this.#cb = undefined;
      return this.destroy();
    }
    this.#cb = undefined;
    if (this.#head?.keepAlive && !this.closed) this.#owner.reusable(this);
    else this.destroy();
  }

  #closedByPeer(error: Error | undefined): void {
    if (this.#cb && !this.#responseDone) {
      try {
        this.#parser.finish(); // ends a body framed by the close itself
      } catch (parseError) {
        const stale = this.uses > 1 && this.#parser.untouched;
        this.#failWith(error ?? parseError, stale);
        return;
      }
    }
    this.destroy();
  }

  #failWith(error: unknown, stale: boolean): void {
    const cb = this.#cb;
    this.#cb = undefined;
    this.#stopWatch();
    this.destroy();
    if (!cb) return;
    if (this.#stream) {
      try {
        this.#stream.error(error);
      } catch {
        // already closed or cancelled
      }
    } else if (!this.#settled) {
      this.#settled = true;
      cb.reject(error instanceof BadResponseError || error instanceof Error || error instanceof DOMException ? error : new Error(String(error)), stale);
    }
  }
}
