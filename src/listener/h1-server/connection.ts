/**
 * One client connection of tenbin's own HTTP/1.1 server: reads request heads and bodies, runs the
 * handler one request at a time (pipelined requests wait their turn in the buffer), writes each
 * answer, and keeps the connection, closes it, or cuts it. Time limits are checked by the server's
 * sweep (`checkTimers`), not by a timer per connection.
 */
import { Buffer } from "node:buffer";
import { type ProxyRequest, type ProxyResponse } from "../../http/message.ts";
import { type ClientInfo, STOP_QUIET_MS, type TcpConn, type TcpEvents } from "../../runtime/types.ts";
import { BadRequestError, type RequestHead, withoutDotSegments } from "../../http1/request-head.ts";
import { type RequestEvents, RequestReader } from "../../http1/request-reader.ts";
import { ProxyHeaderReader } from "./proxy-header.ts";
import { H1Request, RequestBody } from "./request.ts";
import { type AnswerEnd, type ResponseSink, writeResponse } from "../../http1/response-writer.ts";
import { reasonOf } from "../../http1/status-text.ts";
import { TunnelResponse } from "../../proxy/tunnel-response.ts";
import type { ConnectionBudget } from "../connection-budget.ts";
import { turnNow } from "../../util/clock.ts";

/** A request handler of the own server (the listener's, see listener/http.ts). */
export type ProxyHandler = (req: ProxyRequest, client: ClientInfo) => ProxyResponse | Promise<ProxyResponse>;

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly handler: ProxyHandler;
  /** `http` or `https`: the scheme of request URLs. */
  readonly scheme: string;
  readonly maxHeadBytes: number;
  /** Set when every connection starts with a PROXY protocol header (`accept_proxy`). */
  readonly proxyHeader: boolean;
  /** A connection closed for a missing or malformed PROXY header. */
  refusedProxyHeader(address: string, reason: string): void;
  /** A request refused by this server itself (`head` when it was read whole). */
  refusedRequest(client: ClientInfo, status: number, reason: string, head: RequestHead | undefined): void;
  closed(conn: ClientConnection): void;
}

/** The time limits, in ms. */
export interface ConnectionLimits {
  idleMs: number;
  headerMs: number;
  /** How long a closing connection keeps reading (and dropping) what the client still sends. */
  lingerMs: number;
}

const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n");
const BUSY_TEXT = "service unavailable: too many connections\n";
const BUSY = Buffer.from(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${BUSY_TEXT.length}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${BUSY_TEXT}`, "latin1");
/** Pipelined bytes buffered while a request is answered, before the connection stops reading. */
const PIPELINE_HIGH_WATER = 64 * 1024;

/** Tunnel: after a 101, bytes pass between the client and the server untouched (upgrade-tunnel.ts). */
const enum Phase { Head, Body, Answer, Linger, Tunnel, Closed }

/** See the file comment. */
export class ClientConnection implements TcpEvents, ResponseSink, RequestEvents {
  readonly conn: TcpConn;
  readonly #host: ConnectionHost;
  /** The client: the peer, or the one its PROXY header names. */
  #client: ClientInfo;
  /** Reads the PROXY header that opens the connection; undefined once it was read (or none is expected). */
  #proxy: ProxyHeaderReader | undefined;
  #phase = Phase.Head;
  /** Made at the first bytes: an idle keep-alive connection that never sends any stays small. */
  #reader: RequestReader | undefined;
  /** When the phase's clock started (turnNow()): idle, head, body or linger. */
  #since: number;
  #request: H1Request | undefined;
  #body: RequestBody | undefined;
  #head: RequestHead | undefined;
  #continueSent = false;
  /**
   * When the head time limit started: at accept for the first request (a connection that sends
   * nothing is answered 408, as HAProxy's `timeout http-request`), else at the first byte of a
   * later head (between keep-alive requests the idle limit applies).
   */
  #headSince: number | undefined;
  /** An answer is being written (a late refusal must not write into it). */
  #answering = false;
  /** The client sent FIN. */
  #clientEnded = false;
  #paused = false;
  #drain: (() => void) | undefined;
  /** Close after the current answer (server stopping, client half-closed). */
  #closeAfter = false;
  /** In the tunnel phase: where the connection's events go now. */
  #tunnel: TcpEvents | undefined;
  /** The connection budget this connection is counted in (its server releases it at the close). */
  budget: ConnectionBudget | undefined;

  constructor(conn: TcpConn, host: ConnectionHost) {
    this.conn = conn;
    this.#host = host;
    this.#client = { address: conn.remoteAddress, port: conn.remotePort };
    this.#since = turnNow();
    this.#headSince = this.#since;
    if (host.proxyHeader) this.#proxy = new ProxyHeaderReader();
  }

  /** True between requests (nothing read of the next one, nothing being answered). */
  get idle(): boolean {
    return this.#phase === Phase.Head && (this.#reader === undefined || this.#reader.keptBytes === 0);
  }

  get closed(): boolean {
    return this.#phase === Phase.Closed;
  }

  /** The client (the peer, or the one its PROXY header named). */
  get client(): ClientInfo {
    return this.#client;
  }

  /**
   * The server is at its connection limit: a 503 before any request, and the descriptor freed at
   * once (no linger: lingering refused connections would hold the very descriptors the limit saves).
   * `end` after the write: a destroy would reset the connection and lose the answer.
   */
  refuseBusy(): void {
    this.#proxy = undefined;
    this.conn.write(BUSY);
    this.#close();
    this.conn.end();
  }

  data(chunk: Uint8Array): void {
    if (this.#tunnel !== undefined) return this.#tunnel.data(chunk);
    let buf = chunk instanceof Buffer ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#phase === Phase.Linger || this.#phase === Phase.Closed) return;
    if (this.#proxy !== undefined) {
      const read = this.#proxy.read(buf);
      if (read === undefined) return;
      if ("refused" in read) return this.#refuseProxy(read.refused);
      this.#proxy = undefined;
      if (read.client) this.#client = read.client;
      buf = read.rest;
    }
    if (this.#phase === Phase.Body && !this.#paused) this.#since = turnNow();
    const reader = (this.#reader ??= new RequestReader(this, this.#host.maxHeadBytes));
    try {
      reader.push(buf);
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
      this.#refuse(error);
      return;
    }
    this.#afterRead(reader);
  }

  /** After bytes were read: start the head clock, or stop reading while pipelined bytes pile up. */
  #afterRead(reader: RequestReader): void {
    // (Also called from inside a read, when an answer went out at once: the read's own call after
    // it then corrects what it saw half-way.)
    if (this.#phase === Phase.Head) this.#headSince = reader.inHead ? (this.#headSince ?? turnNow()) : undefined;
    // The next pipelined requests wait in the reader until this answer is out.
    else if (this.#phase === Phase.Answer && reader.keptBytes > PIPELINE_HIGH_WATER) this.pauseReading();
  }

  /** A connection without a proper PROXY header (or none in time) is closed without an answer. */
  #refuseProxy(reason: string): void {
    this.#proxy = undefined;
    this.#host.refusedProxyHeader(this.conn.remoteAddress, reason);
    this.#close();
    this.conn.destroy();
  }

  // RequestEvents (the reader's: methods, not closures, so an idle connection allocates none)

  /** A request head was read. */
  requestHead(head: RequestHead, hasBody: boolean): void {
    this.#headSince = undefined;
    this.#start(head, hasBody);
  }

  /** Bytes of the current request's body. */
  requestBody(chunk: Uint8Array): void {
    this.#body?.push(chunk);
  }

  /** The current request's body ended. */
  requestEnd(): void {
    this.#bodyEnded();
  }

  /** Hands a parsed request to the handler and answers it when it settles. */
  #start(head: RequestHead, hasBody: boolean): void {
    this.#head = head;
    this.#continueSent = false;
    const fields = head.fields;
    const body = hasBody ? new RequestBody(this) : undefined;
    this.#body = body;
    const target = withoutDotSegments(head.target);
    let host = fields.get("host") ?? this.#localAuthority();
    // Absolute form: the target's authority is the host, whatever Host says (RFC 9112 §3.2.2).
    if (head.authority !== undefined && head.authority !== host) fields.set("host", (host = head.authority));
    const request = new H1Request(head.method, this.#host.scheme, host, target, fields, body);
    this.#request = request;
    this.#phase = hasBody ? Phase.Body : Phase.Answer;
    // Only the body's idle limit reads the clock from here; no limit runs while the answer is
    // awaited, and every phase after it (head, linger) restarts the clock.
    if (hasBody) this.#since = turnNow();
    let answer: ProxyResponse | Promise<ProxyResponse>;
    try {
      answer = this.#host.handler(request, this.#client);
    } catch (error) {
      answer = internalError(error);
    }
    if (!(answer instanceof Promise)) this.#answer(answer);
    else answer.then((res) => this.#answer(res), (error: unknown) => this.#answer(internalError(error)));
  }

  /** The address the client reached, for a request without Host (HTTP/1.0). */
  #localAuthority(): string {
    const { localAddress, localPort } = this.conn;
    return localAddress.includes(":") ? `[${localAddress}]:${localPort}` : `${localAddress}:${localPort}`;
  }

  #bodyEnded(): void {
    this.#body?.end();
    if (this.#phase === Phase.Body) this.#phase = Phase.Answer;
  }

  #answer(res: ProxyResponse): void {
    const head = this.#head!;
    if (this.#phase === Phase.Closed || this.#phase === Phase.Linger) {
      if (res instanceof TunnelResponse) res.abandon();
      res.body?.cancel().catch(() => {});
      return;
    }
    if (res instanceof TunnelResponse) return this.#splice(res);
    this.#answering = true;
    // A body not read to its end leaves the connection out of step with the client: close it.
    // A stopping server has set #closeAfter on every connection it did not close (shutdown()).
    const keepAlive = head.keepAlive && !this.#closeAfter && (this.#body === undefined || this.#body.complete);
    const end = writeResponse(this, res, { head: head.method === "HEAD", minor: head.minor, keepAlive });
    if (typeof end === "string") this.#finish(end);
    else end.then((e) => this.#finish(e), () => this.#finish("abort"));
  }

  /**
   * The server switched protocols: write its 101 (no framing: nothing of HTTP follows) and from now
   * on hand every byte and event of this connection to the tunnel, the bytes that came after the
   * request head first. Time limits no longer apply; the tunnel keeps its own idle timer.
   */
  #splice(res: TunnelResponse): void {
    let head = `HTTP/1.1 101 ${res.statusText || reasonOf(101)}\r\n`;
    res.headers.forEach((value, name) => (head += `${name}: ${value}\r\n`));
    this.conn.write(Buffer.from(`${head}\r\n`, "latin1"));
    this.#phase = Phase.Tunnel;
    this.#request = undefined;
    this.#head = undefined;
    const tunnel = (this.#tunnel = res.attach(this.conn));
    const early = this.#reader?.take();
    if (this.#paused) this.resumeReading(); // before the early bytes, which may pause it again
    if (early !== undefined) tunnel.data(early);
    if (this.#clientEnded) tunnel.end();
  }

  /** The answer is out: go on with the next request, or close. */
  #finish(end: AnswerEnd): void {
    if (this.#phase === Phase.Closed) return;
    this.#answering = false;
    this.#request = undefined;
    this.#body = undefined;
    this.#head = undefined;
    if (end === "abort") {
      this.#close();
      this.conn.destroy();
      return;
    }
    if (end === "close") {
      this.#linger();
      return;
    }
    this.#phase = Phase.Head;
    this.#since = turnNow();
    if (this.#paused) this.resumeReading();
    const reader = this.#reader;
    if (reader === undefined) return;
    try {
      reader.next();
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
      this.#refuse(error);
      return;
    }
    // The next request may have been answered at once, or refused.
    if ((this.#phase as Phase) !== Phase.Closed && (this.#phase as Phase) !== Phase.Linger) this.#afterRead(reader);
  }

  /** Refuses a malformed request with its status and closes the connection. */
  #refuse(error: BadRequestError): void {
    if (this.#answering) {
      // A broken body under an answer already on its way: nothing sane can follow it.
      this.#close();
      this.conn.destroy();
      return;
    }
    const status = error.status;
    this.#host.refusedRequest(this.#client, status, error.message, this.#head);
    const text = `${reasonOf(status).toLowerCase() || "bad request"}: ${error.message}\n`;
    this.conn.write(Buffer.from(`HTTP/1.1 ${status} ${reasonOf(status)}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`, "latin1"));
    this.#body?.fail(error);
    this.#request?.clientGone();
    this.#linger();
  }

  /**
   * Closes cleanly: FIN after the answer, then read and drop what the client still sends for a
   * while. Closing with unread bytes would make the kernel send a reset, which can destroy the
   * answer before the client reads it.
   */
  #linger(): void {
    this.#phase = Phase.Linger;
    this.#reader?.take();
    this.#since = turnNow();
    if (this.#paused) this.resumeReading();
    if (this.#clientEnded) this.conn.end();
    else this.conn.shutdownWrite();
  }

  /** Called by the server's sweep: enforces the idle, head, body and linger limits. */
  checkTimers(now: number, limits: ConnectionLimits): void {
    const waited = now - this.#since;
    switch (this.#phase) {
      case Phase.Head:
        if (this.#proxy !== undefined) {
          if (now - this.#since > limits.headerMs) this.#refuseProxy("no PROXY header in time");
        } else if ((this.#reader === undefined || this.#reader.keptBytes === 0) && (this.#closeAfter ? waited > STOP_QUIET_MS : this.#headSince === undefined && waited > limits.idleMs)) {
          this.#linger();
        } else if (this.#headSince !== undefined && now - this.#headSince > limits.headerMs) {
          this.#refuse(new BadRequestError(408, "request head not received in time"));
        }
        break;
      case Phase.Body:
        if (!this.#paused && waited > limits.idleMs) {
          this.#body?.fail(new DOMException("request body idle timeout", "TimeoutError"));
          this.#close();
          this.conn.destroy();
        }
        break;
      case Phase.Linger:
        if (waited > limits.lingerMs) this.conn.destroy();
        break;
    }
  }

  /**
   * The server stops: a connection quiet for `STOP_QUIET_MS` closes now, any other after its next
   * answer (or once it has been quiet that long, see `checkTimers`), a tunnel only when forced.
   */
  shutdown(force: boolean): void {
    if (force) {
      this.#tunnel?.close(new Error("server stopping"));
      this.#close();
      this.conn.destroy();
    } else if (this.idle && turnNow() - this.#since >= STOP_QUIET_MS) this.#linger();
    else this.#closeAfter = true;
  }

  // ResponseSink

  write(bytes: Uint8Array): boolean {
    return this.conn.write(bytes);
  }

  writeBorrowed(bytes: Uint8Array, length: number): boolean {
    return this.conn.writeBorrowed(bytes, length);
  }

  room(bytes: number): Promise<void> | undefined {
    return this.#phase === Phase.Closed ? undefined : this.conn.room(bytes);
  }

  drained(): Promise<void> {
    if (this.#phase === Phase.Closed || this.conn.pending === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#drain = resolve));
  }

  // BodySource

  pauseReading(slow = true): void {
    if (this.#paused) return;
    this.#paused = true;
    this.conn.pause();
    // The body's reader (the server it goes to) is slower than the client: read the client in small
    // pieces from now on, so what waits here is bounded by more than the high-water mark alone.
    if (slow) this.conn.limitReads();
  }

  slowReader(): void {
    this.conn.limitReads();
  }

  resumeReading(): void {
    if (!this.#paused) return;
    this.#paused = false;
    // The body's idle clock starts again: the wait was the server's, not the client's.
    if (this.#phase === Phase.Body) this.#since = turnNow();
    this.conn.resume();
  }

  bodyWanted(): void {
    if (this.#head?.expectContinue && !this.#continueSent) {
      this.#continueSent = true;
      this.conn.write(CONTINUE);
    }
  }

  // TcpEvents

  drain(): void {
    if (this.#tunnel !== undefined) return this.#tunnel.drain();
    const wake = this.#drain;
    this.#drain = undefined;
    wake?.();
  }

  end(): void {
    // The client will send nothing more: answer what it asked, then close.
    this.#clientEnded = true;
    if (this.#tunnel !== undefined) return this.#tunnel.end();
    if (this.#phase === Phase.Head) {
      if (!this.idle) this.#refuse(new BadRequestError(400, "connection closed inside a request head"));
      else this.#linger();
    } else if (this.#phase === Phase.Linger) this.conn.end();
    else {
      // A client that closes its side while it waits has given up, as Bun.serve and nginx take it
      // (HAProxy's `abortonclose`): the upstream request is cancelled, and nothing more is read.
      this.#body?.fail(new Error("client closed before sending the whole body"));
      this.#request?.clientGone();
      this.#closeAfter = true;
    }
  }

  close(error?: Error): void {
    this.#tunnel?.close(error);
    this.#close();
  }

  #close(): void {
    if (this.#phase === Phase.Closed) return;
    this.#phase = Phase.Closed;
    this.#reader?.take();
    this.#body?.fail(new Error("client connection closed"));
    this.#request?.clientGone();
    this.drain();
    this.#host.closed(this);
  }
}

/** The answer when the handler throws (as Bun.serve's error handler answers in runtime/bun.ts). */
function internalError(_error: unknown): Response {
  return new Response("internal server error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
}
