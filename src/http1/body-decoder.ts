/**
 * The body half of an HTTP/1.1 message (RFC 9112 §6–7): bytes in, decoded body bytes out, until
 * the framing says the body ended. Shared by the upstream client's response parser and the own
 * server's request reader. Strict: a bad chunk size or a chunk without its CRLF is an error, never
 * a guess, so nothing can be smuggled in after a body.
 */
import { Buffer } from "node:buffer";

/** How a body ends. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/** Where decoded bytes go. */
export interface BodyEvents {
  body(chunk: Uint8Array): void;
  end(): void;
}

const enum State { Length, ChunkSize, ChunkData, ChunkDataEnd, Trailers, UntilClose, Done }

const CRLF = Buffer.from("\r\n");
const MAX_CHUNK_LINE = 4096;
/** Trailer section limit (trailers are read and dropped). */
const MAX_TRAILERS = 64 * 1024;

/** Decodes one body at a time; `start` before each. */
export class BodyDecoder {
  readonly #events: BodyEvents;
  readonly #fail: (message: string) => Error;
  #state = State.Done;
  #remaining = 0;

  /** `fail` makes the error thrown for bad framing (the caller's error type). */
  constructor(events: BodyEvents, fail: (message: string) => Error) {
    this.#events = events;
    this.#fail = fail;
  }

  /** True once the body has ended (and before the first `start`). */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** True while the body runs until the connection closes. */
  get untilClose(): boolean {
    return this.#state === State.UntilClose;
  }

  /** Begins a body; one that is empty by its framing ends here (`end` fires). */
  start(framing: Framing): void {
    if (framing.kind === "chunked") this.#state = State.ChunkSize;
    else if (framing.kind === "close") this.#state = State.UntilClose;
    else if (framing.kind === "length" && framing.length > 0) {
      this.#remaining = framing.length;
      this.#state = State.Length;
    } else this.#finish();
  }

  /** The connection closed: ends a body framed by close; false when the body was cut short. */
  close(): boolean {
    if (this.#state === State.UntilClose) this.#finish();
    return this.#state === State.Done;
  }

  /**
   * Decodes from `buf` at `at` and returns where it stopped: at the body's end (bytes after it
   * belong to what follows), or earlier than `buf.length` when a chunk line or CRLF is cut in two
   * (keep the rest and call again with more bytes).
   */
  decode(buf: Buffer, at: number): number {
    while (at < buf.length) {
      switch (this.#state) {
        case State.Length:
          at = this.#take(buf, at);
          if (this.#remaining === 0) this.#finish();
          break;
        case State.UntilClose:
          this.#events.body(buf.subarray(at));
          return buf.length;
        case State.ChunkSize: {
          const end = buf.indexOf(CRLF, at);
          if (end < 0) {
            if (buf.length - at > MAX_CHUNK_LINE) throw this.#fail("chunk size line too long");
            return at;
          }
          const size = buf.toString("latin1", at, end).split(";", 1)[0]!.trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw this.#fail(`invalid chunk size "${size.slice(0, 20)}"`);
          at = end + 2;
          this.#remaining = Number.parseInt(size, 16);
          this.#state = this.#remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData:
          at = this.#take(buf, at);
          if (this.#remaining === 0) this.#state = State.ChunkDataEnd;
          break;
        case State.ChunkDataEnd:
          if (buf.length - at < 2) return at;
          if (buf[at] !== 13 || buf[at + 1] !== 10) throw this.#fail("chunk not followed by CRLF");
          at += 2;
          this.#state = State.ChunkSize;
          break;
        case State.Trailers: {
          // Trailers are read and dropped (the runtime's HTTP server cannot send them): an empty line ends them.
          const end = buf.indexOf(CRLF, at);
          if (end < 0) {
            if (buf.length - at > MAX_TRAILERS) throw this.#fail("trailers too long");
            return at;
          }
          const empty = end === at;
          at = end + 2;
          if (empty) this.#finish();
          break;
        }
        case State.Done:
          return at;
      }
    }
    return at;
  }

  /** Passes on up to `#remaining` body bytes from `at`; returns where they ended. */
  #take(buf: Buffer, at: number): number {
    const n = Math.min(this.#remaining, buf.length - at);
    this.#remaining -= n;
    this.#events.body(buf.subarray(at, at + n));
    return at + n;
  }

  #finish(): void {
    this.#state = State.Done;
    this.#events.end();
  }
}
