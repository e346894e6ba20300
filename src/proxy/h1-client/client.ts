/**
 * tenbin's own HTTP/1.1 client for `http://` and `https://` backends, behind the `UpstreamFetch` signature so the
 * forwarder cannot tell it from fetch. Why not Bun's fetch: its idle pool holds 64 sockets in all
 * (#42608), so past 64 requests in flight every answer closes a socket and the next request dials
 * again (bench/: half the req/s at 200 client connections), and it cannot honour a backend's
 * `Keep-Alive: timeout`. Here every origin keeps its own stack of idle connections.
 *
 * Reuse rules (what HAProxy's `http-reuse safe` protects against, done our way):
 * - The most recently used idle connection goes first (LIFO), so the rest can age out.
 * - A connection idles no longer than the server's `Keep-Alive: timeout` minus a second, or
 *   `idleMs` (a 250 ms sweep closes it); a server that closes first is noticed by the close event
 *   and dropped.
 * - An answer streamed from the socket that moves neither way for `UpstreamInit.bodyIdleMs` is cut
 *   by the same sweep.
 * - A request that must not be sent twice (POST, PATCH...) takes an idle connection only when it
 *   was used in the last `safeReuseMs`; older ones may be closing on the server side right now.
 * - A reused connection that fails before any byte of the answer arrived is "stale": an idempotent
 *   request with a replayable body is sent once more on a new connection.
 * - An https:// origin is keyed by its TLS settings too (CA, server name, verification), so two
 *   servers at one address with different settings never share a connection.
 * Anything else (ws://, a URL with userinfo) goes to the runtime's fetch.
 */
import type { FetchInit, ProxyResponse, RuntimeFetch, UpstreamInit, UpstreamTls } from "../../runtime/types.ts";
import { copyHeaders, isHeaderMap, webHeaders } from "../../http/message.ts";
import { joinLines, type SplitLines } from "../../http1/scratch.ts";
import type { TcpClientTls, TcpConn, TcpConnectOptions } from "../../runtime/socket-types.ts";
import { FORWARDING_REPLACES } from "../headers.ts";
import { clientTls } from "../../tls/upstream.ts";
import { isIdempotent } from "../outcome.ts";
import type { AbortListener } from "../../util/abort.ts";
import { type ConnectionOwner, type ExchangeCallbacks, UpstreamConnection } from "./connection.ts";
import { writeRequest } from "./request-writer.ts";
import { turnNow } from "../../util/clock.ts";

/** `UpstreamFetch` with its answer's type: a Web `Response` unless `init.light` is set. */
export interface H1Fetch {
  (url: string, init: UpstreamInit & { light?: false | undefined }, tls?: UpstreamTls, connectTimeoutMs?: number): Promise<Response>;
  (url: string, init: UpstreamInit, tls?: UpstreamTls, connectTimeoutMs?: number): Promise<ProxyResponse>;
}

/** No connection within `timeouts.connect`: nothing was sent, so another server may be tried. */
export class ConnectTimeoutError extends Error {
  readonly code = "ECONNECTTIMEOUT";
  constructor(ms: number) {
    super(`connect timeout after ${ms}ms`);
  }
}

/** How often streamed bodies are checked for stalls (`UpstreamInit.bodyIdleMs`) and idle connections for expiry. */
const SWEEP_MS = 250;

/** How the client behaves; every field has a default (except the two functions). */
export interface H1ClientOptions {
  connectTcp(options: TcpConnectOptions): Promise<TcpConn>;
  /** Used for URLs this client does not speak. */
  fallback: RuntimeFetch;
  /**
   * Answers up to this size (head and body) with a known length are read whole and handed over as
   * bytes (sent with Content-Length); longer ones stream. Default 1 MB.
   */
  bufferLimit?: number;
  /** Idle connections kept per origin. */
  maxIdlePerOrigin?: number;
  /** Longest idle time of a pooled connection. */
  idleMs?: number;
  /** Idle connections younger than this may carry non-idempotent requests. */
  safeReuseMs?: number;
}

interface Origin {
  hostname: string;
  port: number;
  hostHeader: string;
  /** Set for https:// origins. */
  tls: TcpClientTls | undefined;
  idle: UpstreamConnection[];
}

/** Per TLS settings object (one per server and config build), the part of its origins' keys. */
const tlsKeys = new WeakMap<UpstreamTls, string>();
/** CA texts seen, numbered, so an origin key does not carry a whole PEM file. */
const caNumbers = new Map<string, number>();

function tlsKeyOf(tls: UpstreamTls | undefined): string {
  if (tls === undefined) return "";
  let key = tlsKeys.get(tls);
  if (key === undefined) {
    let ca = 0;
    if (tls.ca !== undefined) {
      ca = caNumbers.get(tls.ca) ?? caNumbers.size + 1;
      caNumbers.set(tls.ca, ca);
    }
    key = ` ${tls.serverName ?? ""} ${tls.rejectUnauthorized === false ? "insecure" : "verify"} ${ca}`;
    tlsKeys.set(tls, key);
  }
  return key;
}

/** An `UpstreamFetch` with keep-alive pools of its own; `close()` drops idle connections. */
export class H1Client implements ConnectionOwner {
  readonly #options: Required<H1ClientOptions>;
  readonly #origins = new Map<string, Origin>();
  readonly #originOf = new WeakMap<UpstreamConnection, Origin>();
  /** Connections streaming a body with an idle limit. */
  readonly #streaming = new Set<UpstreamConnection>();
  /** Runs while a body streams or a connection idles: see `#sweepOnce`. */
  #sweep: ReturnType<typeof setInterval> | undefined;

  constructor(options: H1ClientOptions) {
    this.#options = { bufferLimit: 1024 * 1024, maxIdlePerOrigin: 256, idleMs: 60_000, safeReuseMs: 2_000, ...options };
  }

  /** The client as an `UpstreamFetch`: a Web `Response`, or a `LightResponse` when `init.light` asks for one. */
  readonly fetch: H1Fetch = ((url: string, init: UpstreamInit, tls?: UpstreamTls, connectTimeoutMs?: number): Promise<ProxyResponse> => {
    const known = init.origin;
    if (known !== undefined && init.target?.charCodeAt(0) === 47 /* "/" */) {
      const secure = known.startsWith("https://");
      if (secure || known.startsWith("http://")) {
        const key = secure ? known + tlsKeyOf(tls) : known;
        const origin = this.#origins.get(key) ?? this.#addOrigin(known, key, tls);
        if (origin !== undefined) return this.#send(origin, init.target, init, connectTimeoutMs, false);
      }
    }
    const from = url.startsWith("http://") ? 7 : url.startsWith("https://") ? 8 : 0;
    if (from === 0) return this.#fallback(url, init, tls);
    // The authority ends at the first "/" or "?" (`http://h:1?q` asks for `/?q`).
    let cut = url.indexOf("/", from);
    const query = url.indexOf("?", from);
    if (query >= 0 && (cut < 0 || query < cut)) cut = query;
    const base = cut < 0 ? url : url.slice(0, cut);
    const key = from === 8 ? base + tlsKeyOf(tls) : base;
    const origin = this.#origins.get(key) ?? this.#addOrigin(base, key, tls);
    if (origin === undefined) return this.#fallback(url, init, tls);
    const path = cut < 0 ? "/" : cut === query ? `/${url.slice(cut)}` : url.slice(cut);
    return this.#send(origin, path, init, connectTimeoutMs, false);
  }) as H1Fetch;

  /** The runtime's fetch, given a real signal for a caller's `abort`. */
  #fallback(url: string, init: UpstreamInit, tls: UpstreamTls | undefined): Promise<Response> {
    const { abort, forwarding, headers, ...rest } = init;
    const webInit = headers === undefined || headers instanceof Headers || !isHeaderMap(headers);
    // The caller's own object where nothing needs changing (a Request-like init passes as is).
    if (abort === undefined && forwarding === undefined && webInit) return this.#options.fallback(url, init as FetchInit, tls);
    const fetchInit: FetchInit = rest;
    if (abort && !rest.signal) fetchInit.signal = abort.signal;
    if (forwarding !== undefined) fetchInit.headers = withForwarding(headers, forwarding);
    else if (headers !== undefined) fetchInit.headers = isHeaderMap(headers) ? webHeaders(headers) : headers;
    return this.#options.fallback(url, fetchInit, tls);
  }

  /** Closes every idle connection (shutdown; tests). */
  close(): void {
    for (const origin of this.#origins.values()) {
      for (const conn of origin.idle.splice(0)) conn.closeIdle();
    }
    if (this.#streaming.size === 0) this.#stopSweep();
  }

  reusable(conn: UpstreamConnection): void {
    const origin = this.#originOf.get(conn);
    if (!origin || origin.idle.length >= this.#options.maxIdlePerOrigin) return conn.closeIdle();
    const now = turnNow();
    conn.idleSince = now;
    conn.idleUntil = now + Math.min(this.#options.idleMs, conn.serverIdleMs);
    origin.idle.push(conn);
    this.#startSweep();
  }

  streaming(conn: UpstreamConnection, on: boolean): void {
    if (!on) {
      this.#streaming.delete(conn);
      return;
    }
    this.#streaming.add(conn);
    this.#startSweep();
  }

  #startSweep(): void {
    if (this.#sweep !== undefined) return;
    this.#sweep = setInterval(() => this.#sweepOnce(), SWEEP_MS);
    // Housekeeping must not keep a process alive (Deno's timers are numbers, without unref).
    (this.#sweep as { unref?: () => void }).unref?.();
  }

  /**
   * One coarse timer instead of a timer reset per chunk or per idle connection: cuts stalled
   * bodies, and closes idle connections past their time (a backend without an idle timeout of its
   * own would otherwise keep them until a request found them expired). Stops when neither is left.
   */
  #sweepOnce(): void {
    const now = turnNow();
    for (const conn of this.#streaming) conn.cutIfStalled(now);
    let idle = 0;
    for (const origin of this.#origins.values()) {
      // In the order they went idle, so the expired ones are at the front.
      while (origin.idle.length > 0 && now >= origin.idle[0]!.idleUntil) origin.idle.shift()!.closeIdle();
      idle += origin.idle.length;
    }
    if (idle === 0 && this.#streaming.size === 0) this.#stopSweep();
  }

  #stopSweep(): void {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }

  gone(conn: UpstreamConnection): void {
    const idle = this.#originOf.get(conn)?.idle;
    if (!idle) return;
    const at = idle.lastIndexOf(conn);
    if (at >= 0) idle.splice(at, 1);
  }

  #addOrigin(base: string, key: string, upstreamTls: UpstreamTls | undefined): Origin | undefined {
    let parsed: URL;
    try {
      parsed = new URL(base);
    } catch {
      return undefined;
    }
    if (parsed.username || parsed.password) return undefined;
    const hostname = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
    const https = parsed.protocol === "https:";
    const tls = https ? clientTls(hostname, upstreamTls) : undefined;
    const origin: Origin = { hostname, port: Number(parsed.port || (https ? 443 : 80)), hostHeader: parsed.host, tls, idle: [] };
    this.#origins.set(key, origin);
    return origin;
  }

  /** An idle connection fit for this request, or undefined. */
  #takeIdle(origin: Origin, idempotent: boolean): UpstreamConnection | undefined {
    const now = turnNow();
    const idle = origin.idle;
    while (idle.length > 0) {
      const conn = idle[idle.length - 1]!;
      if (conn.closed || now >= conn.idleUntil) {
        idle.pop();
        conn.closeIdle();
        continue;
      }
      if (!idempotent && now - conn.idleSince > this.#options.safeReuseMs) return undefined;
      idle.pop();
      return conn;
    }
    return undefined;
  }

  async #dial(origin: Origin, init: UpstreamInit, timeoutMs: number | undefined): Promise<UpstreamConnection> {
    const conn = new UpstreamConnection(this, this.#options.bufferLimit);
    this.#originOf.set(conn, origin);
    const dialing = this.#options.connectTcp({ hostname: origin.hostname, port: origin.port, events: conn, tls: origin.tls });
    if (!init.signal && !init.abort && timeoutMs === undefined) {
      conn.conn = await dialing;
      return conn;
    }
    // An abort (response timeout, client gone) or the connect timeout does not wait for a connect
    // that hangs; a connection that comes up later is closed.
    let unlisten: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const given = new Promise<never>((_, reject) => {
      if (timeoutMs !== undefined) timer = setTimeout(() => reject(new ConnectTimeoutError(timeoutMs)), timeoutMs);
      unlisten = listenAbort(init, reject);
    });
    try {
      conn.conn = await Promise.race([dialing, given]);
      return conn;
    } catch (error) {
      dialing.then((tcp) => tcp.destroy(), () => {});
      throw error;
    } finally {
      clearTimeout(timer);
      unlisten?.();
    }
  }

  /**
   * Sends the request on an idle connection, or on a new one. Not an async function: on the common
   * path (an idle connection) the exchange's own promise is the answer, one promise and one
   * microtask fewer per request.
   */
  #send(origin: Origin, path: string, init: UpstreamInit, connectTimeoutMs: number | undefined, retried: boolean): Promise<ProxyResponse> {
    const aborted = abortedBy(init);
    if (aborted) return Promise.reject(aborted.reason);
    const idle = retried ? undefined : this.#takeIdle(origin, isIdempotent(init.method ?? "GET"));
    if (idle !== undefined) return this.#exchange(idle, origin, path, init, connectTimeoutMs, retried);
    return this.#dial(origin, init, connectTimeoutMs).then((conn) => this.#exchange(conn, origin, path, init, connectTimeoutMs, retried));
  }

  /** One request and its answer on `conn`; a stale connection's failure sends it again once (see the file comment). */
  #exchange(conn: UpstreamConnection, origin: Origin, path: string, init: UpstreamInit, connectTimeoutMs: number | undefined, retried: boolean): Promise<ProxyResponse> {
    const { promise, resolve, reject } = Promise.withResolvers<ProxyResponse>();
    new PendingExchange(this, conn, origin, path, init, connectTimeoutMs, retried, resolve, reject).start();
    return promise;
  }

  /** Sends a request again on a new connection, after its reused one failed before any answer (`PendingExchange`). */
  sendAgain(origin: Origin, path: string, init: UpstreamInit, connectTimeoutMs: number | undefined): Promise<ProxyResponse> {
    return this.#send(origin, path, init, connectTimeoutMs, true);
  }
}

/**
 * One request on a connection: the connection's callbacks and the abort's listener in one object,
 * so a request costs one allocation here instead of six closures and their scopes (the garbage per
 * request is what grows the cost with the number of requests in flight, see bench/results.md).
 */
class PendingExchange implements ExchangeCallbacks, AbortListener {
  readonly #client: H1Client;
  readonly #conn: UpstreamConnection;
  readonly #origin: Origin;
  readonly #path: string;
  readonly #init: UpstreamInit;
  readonly #connectTimeoutMs: number | undefined;
  readonly #retried: boolean;
  readonly #resolve: (response: ProxyResponse | Promise<ProxyResponse>) => void;
  readonly #reject: (error: unknown) => void;
  #id = 0;
  /** The listener on `init.signal` (a caller without a LightAbort: the sorry server's fetch). */
  #signalListener: (() => void) | undefined;

  constructor(
    client: H1Client,
    conn: UpstreamConnection,
    origin: Origin,
    path: string,
    init: UpstreamInit,
    connectTimeoutMs: number | undefined,
    retried: boolean,
    resolve: (response: ProxyResponse | Promise<ProxyResponse>) => void,
    reject: (error: unknown) => void,
  ) {
    this.#client = client;
    this.#conn = conn;
    this.#origin = origin;
    this.#path = path;
    this.#init = init;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#retried = retried;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  start(): void {
    const init = this.#init;
    const conn = this.#conn;
    const method = init.method ?? "GET";
    const id = (this.#id = conn.begin(this, method === "HEAD", init.bodyIdleMs, init.light === true));
    if (init.abort) init.abort.onAbort = this;
    else if (init.signal) {
      const signal = init.signal;
      this.#signalListener = () => conn.fail(id, signal.reason);
      signal.addEventListener("abort", this.#signalListener, { once: true });
    }
    try {
      writeRequest(conn, id, method, this.#path, init.headers, init.body ?? null, this.#origin.hostHeader, init.forwarding)?.catch((error: unknown) => conn.fail(id, error));
    } catch (error) {
      conn.fail(id, error);
    }
  }

  resolve(response: ProxyResponse): void {
    this.#settled();
    this.#resolve(response);
  }

  reject(error: unknown, stale: boolean): void {
    this.#settled();
    const init = this.#init;
    const body = init.body ?? null;
    const replayable = body === null || body instanceof ArrayBuffer || ArrayBuffer.isView(body) || typeof body === "string";
    if (stale && isIdempotent(init.method ?? "GET") && replayable && !this.#retried && !abortedBy(init)) {
      this.#resolve(this.#client.sendAgain(this.#origin, this.#path, init, this.#connectTimeoutMs));
    } else this.#reject(error);
  }

  abortedBy(reason: unknown): void {
    this.#conn.fail(this.#id, reason);
  }

  /** A streamed answer still needs the abort (the body may stall); it goes with the attempt. */
  #settled(): void {
    if (!this.#conn.responseDone) return;
    const abort = this.#init.abort;
    if (abort !== undefined) {
      if (abort.onAbort === this) abort.onAbort = undefined;
    } else if (this.#signalListener !== undefined) this.#init.signal?.removeEventListener("abort", this.#signalListener);
  }
}

/** A copy of `headers` with a forwarding block applied, for a client that takes only headers. */
function withForwarding(init: UpstreamInit["headers"], forwarding: SplitLines): Headers {
  // A copy in every case: the forwarding lines are applied to it.
  const headers = init !== undefined && isHeaderMap(init) ? copyHeaders(init) : new Headers(init);
  for (const name of FORWARDING_REPLACES) headers.delete(name);
  for (const line of joinLines(forwarding).split("\r\n")) {
    const colon = line.indexOf(": ");
    if (colon > 0) headers.set(line.slice(0, colon), line.slice(colon + 2));
  }
  return headers;
}

/** The abort of `init` when it has already happened. */
function abortedBy(init: UpstreamInit): { reason: unknown } | undefined {
  const source = init.abort ?? init.signal;
  return source?.aborted ? source : undefined;
}

/** Calls `fn` once when `init` is aborted; returns how to stop listening. */
function listenAbort(init: UpstreamInit, fn: (reason: unknown) => void): (() => void) | undefined {
  const abort = init.abort;
  if (abort) {
    const listener: AbortListener = { abortedBy: fn };
    abort.onAbort = listener;
    return () => {
      if (abort.onAbort === listener) abort.onAbort = undefined;
    };
  }
  const signal = init.signal;
  if (!signal) return undefined;
  const listener = () => fn(signal.reason);
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}
