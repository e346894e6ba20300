/**
 * Reads client requests from the bytes of one connection, however they are split: heads (with the
 * size limit, 431), then bodies through `BodyDecoder`, one request at a time. Pure: bytes in,
 * events out; the server decides when the next request may be read (`next`), so pipelined bytes
 * wait here while a request is answered.
 *
 * A head cut between reads is neither copied nor searched again from its start: kept bytes grow
 * in place (`joinBytes`) and the search for the blank line resumes where it stopped, so a head sent
 * one byte per read costs O(n), not O(n²). `scanned` counts the bytes searched, for tests.
 */
import type { Buffer } from "node:buffer";
import { BodyDecoder } from "./body-decoder.ts";
import { joinBytes } from "./join-bytes.ts";
import { BadRequestError, parseRequestHead, type RequestHead } from "./request-head.ts";

/** What the reader reports (named so that a connection can take them as methods of its own). */
export interface RequestEvents {
  /** A request head. Body events follow when its framing has a body; then the reader holds until `next`. */
  requestHead(head: RequestHead, hasBody: boolean): void;
  requestBody(chunk: Uint8Array): void;
  /** The body of the current request ended. */
  requestEnd(): void;
}

const enum State { Head, Body, Held, Failed }

/** See the file comment. */
export class RequestReader {
  readonly #events: RequestEvents;
  readonly #maxHead: number;
  #state = State.Head;
  /** Bytes not read yet: a part of a head, of a chunk line, or what follows the current request. */
  #kept: Buffer | undefined;
  /** Bytes of the kept head already searched for its blank line (none was there). */
  #searched = 0;
  /** Made for the first request with a body: most keep-alive connections never carry one. */
  #decoder: BodyDecoder | undefined;
  /** Inside `push` (an event may call `next` at once: the loop then goes on by itself). */
  #busy = false;
  /** Bytes searched for the end of heads, all heads together: a measure of work for tests. */
  scanned = 0;

  /** `maxHead`: the longest head accepted, request line and fields (longer is a 431). */
  constructor(events: RequestEvents, maxHead: number) {
    this.#events = events;
    this.#maxHead = maxHead;
  }

  /** Bytes kept unread (of a head, a body or the next requests). */
  get keptBytes(): number {
    return this.#kept?.byteLength ?? 0;
  }

  /** True while a part of a head has arrived and not the rest. */
  get inHead(): boolean {
    return this.#state === State.Head && this.#kept !== undefined;
  }

  /** Feeds bytes. Throws `BadRequestError` (then the reader reads nothing more). */
  push(chunk: Buffer): void {
    if (this.#state === State.Failed) return;
    if (chunk.byteLength > 0) this.#kept = this.#kept === undefined ? chunk : joinBytes(this.#kept, chunk);
    if (this.#state !== State.Held) this.#read();
  }

  /** The current request was answered: read the next one from the kept bytes. */
  next(): void {
    if (this.#state !== State.Held) return;
    this.#state = State.Head;
    if (!this.#busy) this.#read();
  }

  /** Takes the kept bytes away (a tunnel gets them, or the connection closes). */
  take(): Buffer | undefined {
    const kept = this.#kept;
    this.#kept = undefined;
    this.#searched = 0;
    return kept;
  }

  #read(): void {
    this.#busy = true;
    try {
      this.#readKept();
    } catch (error) {
      this.#state = State.Failed;
      this.#kept = undefined;
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  #readKept(): void {
    let buf = this.#kept;
    if (buf === undefined) return;
    let at = 0;
    while (at < buf.length) {
      if (this.#state === State.Body) {
        const stop = this.#decoder!.decode(buf, at);
        if (stop < buf.length && !this.#decoder!.done) {
          at = stop;
          break;
        }
        at = stop;
        continue;
      }
      if (this.#state !== State.Head) break;
      // Empty lines before a request are ignored (RFC 9112 §2.2); one may be cut between reads.
      const lineStart = at;
      while (at + 1 < buf.length && buf[at] === 13 && buf[at + 1] === 10) at += 2;
      if (at !== lineStart) this.#searched = Math.max(0, this.#searched - (at - lineStart));
      const end = this.#headEnd(buf, at);
      const limit = this.#maxHead;
      if (end < 0 ? buf.length - at > limit : end - at > limit) throw new BadRequestError(431, "request head too large");
      if (end < 0) break;
      const head = parseRequestHead(buf.toString("latin1", at, end + 2));
      head.fields.readFrom(buf, at);
      at = end + 4;
      const framing = head.framing;
      const hasBody = framing.kind !== "none" && !(framing.kind === "length" && framing.length === 0);
      this.#state = hasBody ? State.Body : State.Held;
      this.#events.requestHead(head, hasBody);
      if (hasBody && this.#state === State.Body) {
        this.#decoder ??= new BodyDecoder(this, (message) => new BadRequestError(400, message));
        this.#decoder.start(framing);
      }
      // The event may have taken the kept bytes away (a tunnel) or failed the reader.
      if (this.#kept !== buf) return;
    }
    if (this.#kept !== buf) return;
    this.#kept = at < buf.length ? buf.subarray(at) : undefined;
  }

  /**
   * Where the blank line ending the head from `at` starts, or -1. The search resumes where the
   * last one stopped: the kept head is presented again from `at` with more bytes after it.
   */
  #headEnd(buf: Buffer, at: number): number {
    const from = at + (this.#searched > 3 ? this.#searched - 3 : 0);
    const end = buf.indexOf(CRLFCRLF, from);
    if (end < 0) {
      this.scanned += buf.length - from;
      this.#searched = buf.length - at;
      // A head with bare LF line ends never holds CRLFCRLF: refuse it now rather than wait for
      // the head timeout (only on this path: a whole head is checked by its parser).
      for (let lf = buf.indexOf(10, from); lf >= 0; lf = buf.indexOf(10, lf + 1)) {
        if (lf === at || buf[lf - 1] !== 13) throw new BadRequestError(400, "bare LF in the request head");
      }
    } else {
      this.scanned += end + 4 - from;
      this.#searched = 0;
    }
    return end;
  }

  // BodyEvents (the decoder's)

  /** @internal */
  body(chunk: Uint8Array): void {
    this.#events.requestBody(chunk);
  }

  /** @internal */
  end(): void {
    if (this.#state === State.Body) this.#state = State.Held;
    this.#events.requestEnd();
  }
}

const CRLFCRLF = new Uint8Array([13, 10, 13, 10]);
