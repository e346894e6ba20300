/**
 * One request as tenbin's own HTTP/1.1 server hands it to the listener's handler: a `ProxyRequest`
 * without the cost of a Web `Request` (its `Headers`, its signal and body stream are made only when
 * read, and only the body and the signal ever are, on the rare paths).
 */
import type { HeaderList } from "../../http1/header-list.ts";
import { pathAndQueryOf, type ProxyRequest } from "../../http/message.ts";

/** Bytes of a request body queued before the connection stops reading, while nobody reads it yet. */
const BODY_HIGH_WATER = 64 * 1024;
/**
 * A reader that comes back for more this long after it took a chunk waited for its server (room or
 * drain: 1 ms at least), not for a few microtasks of its own: the server is slower than the client.
 */
const SLOW_READER_MS = 5;

/** What a request body needs from its connection. */
export interface BodySource {
  /**
   * Stop / restart reading from the client. `slow` (the default): the body's reader is slower than
   * the client, read it in small pieces from now on; false: only until the reader asks again.
   */
  pauseReading(slow?: boolean): void;
  resumeReading(): void;
  /** The body is about to be read: the place to send `100 Continue`. */
  bodyWanted(): void;
  /** The body's reader fell behind the client (a slower server): read the client in small pieces. */
  slowReader(): void;
}

/** A request body arriving from the socket, read once: as a stream or as a whole. */
export class RequestBody {
  readonly #source: BodySource;
  #queue: Uint8Array[] = [];
  #queued = 0;
  /** The reader asked for a chunk once: from then on a chunk nobody waits for pauses the client. */
  #started = false;
  /** When `next` paused the client after handing a chunk over, until the reader asks again. */
  #handedAt: number | undefined;
  #toldSlow = false;
  #ended = false;
  #error: unknown = undefined;
  #wake: (() => void) | undefined = undefined;
  #paused = false;

  constructor(source: BodySource) {
    this.#source = source;
  }

  /** True once every byte of the body arrived. */
  get complete(): boolean {
    return this.#ended;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#queue.push(chunk);
    this.#queued += chunk.byteLength;
    // Nobody reads the body yet (the request is being routed): up to 64 KB are taken, then the
    // client waits. Once the reader started, `next` pauses the client itself.
    if (this.#wake === undefined && !this.#paused && (this.#started || this.#queued > BODY_HIGH_WATER)) {
      this.#paused = true;
      this.#source.pauseReading();
    }
    this.#wakeReader();
  }

  end(): void {
    this.#ended = true;
    this.#wakeReader();
  }

  /** The client went away or sent a broken body. */
  fail(error: unknown): void {
    if (this.#ended || this.#error !== undefined) return; // the first cause is the one to report
    this.#error = error;
    this.#wakeReader();
  }

  /** The next chunk, or undefined at the end; rejects when the body failed. */
  async next(): Promise<Uint8Array | undefined> {
    this.#started = true;
    for (let turns = 0; ; turns++) {
      const chunk = this.#queue.shift();
      if (chunk !== undefined) {
        this.#queued -= chunk.byteLength;
        if (this.#queue.length === 0 && !this.#ended && !this.#paused) {
          // The reader passes this chunk on before it asks for more: the client waits meanwhile, in
          // its own kernel buffers, so a server that stops draining finds nothing more read here.
          // (Until the reader's next ask: a 64 KB high-water mark held the read in hand and 64 KB
          // more, ~127 KB per stalled upload in bench/pressure-slow-uploads.ts, up to 512 KB.)
          this.#paused = true;
          this.#handedAt = performance.now();
          this.#source.pauseReading(false);
        }
        return chunk;
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return undefined;
      if (this.#paused) {
        // The reader is back for more and nothing is queued: read the client again, in small
        // pieces once the reader has had to wait for its server (a stall then finds at most one
        // small read in hand: Bun reads up to 512 KB otherwise, and where the server connection's
        // send buffer is below its maximum a short write's rest stays here).
        if (!this.#toldSlow && this.#handedAt !== undefined && performance.now() - this.#handedAt > SLOW_READER_MS) {
          this.#toldSlow = true;
          this.#source.slowReader();
        }
        this.#handedAt = undefined;
        this.#paused = false;
        this.#source.resumeReading();
      }
      if (turns === 0) this.#source.bodyWanted();
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** A request of the own server; see the file comment. */
export class H1Request implements ProxyRequest {
  readonly method: string;
  readonly pathAndQuery: string;
  readonly headers: HeaderList;
  /** This server writes `LightResponse`s itself. */
  readonly takesLight = true;
  readonly #body: RequestBody | undefined;
  #stream: ReadableStream<Uint8Array> | undefined;
  #controller: AbortController | undefined;
  /** Set when the client left before the answer was sent (read by a signal made later). */
  #gone = false;

  readonly #scheme: string;
  readonly #host: string;
  readonly #target: string;
  #url: string | undefined;

  /** `target` as sent (dot segments resolved); `host` the request's authority. */
  constructor(method: string, scheme: string, host: string, target: string, headers: HeaderList, body: RequestBody | undefined) {
    this.method = method;
    this.#scheme = scheme;
    this.#host = host;
    this.#target = target;
    this.pathAndQuery = target[0] === "/" ? target : target === "*" ? "/*" : pathAndQueryOf(target);
    this.headers = headers;
    this.#body = body;
  }

  /** Absolute, made when first read: the proxy path reads `pathAndQuery` instead. */
  get url(): string {
    const target = this.#target;
    this.#url ??= target[0] === "/" ? `${this.#scheme}://${this.#host}${target}` : target === "*" ? `${this.#scheme}://${this.#host}/*` : target;
    return this.#url;
  }

  get body(): ReadableStream<Uint8Array> | null {
    const source = this.#body;
    if (source === undefined) return null;
    this.#stream ??= new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const chunk = await source.next();
          if (chunk === undefined) controller.close();
          else controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    return this.#stream;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#gone) this.#controller.abort(new DOMException("client went away", "AbortError"));
    }
    return this.#controller.signal;
  }

  /** The client went away before its answer was sent. */
  clientGone(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#controller?.abort(new DOMException("client went away", "AbortError"));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const source = this.#body;
    if (source === undefined) return new ArrayBuffer(0);
    // `body` is read to learn whether there is one (the forwarder does): an untouched stream is fine.
    if (this.#stream?.locked) throw new TypeError("Body already used");
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (let chunk = await source.next(); chunk !== undefined; chunk = await source.next()) {
      chunks.push(chunk);
      size += chunk.byteLength;
    }
    // Copied once, into a buffer of its own (Buffer.concat may use a shared pool, which would need
    // a second copy to hand out an ArrayBuffer).
    const whole = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      whole.set(chunk, at);
      at += chunk.byteLength;
    }
    return whole.buffer;
  }
}
