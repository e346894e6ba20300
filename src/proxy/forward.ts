/**
 * Forwards one exchange to a pool (Caddy's proxy loop): ask the pool for a server, forward, report
 * the outcome, and retry on another server when that is safe. Bodies stream both ways.
 */
import type { HeaderMap, ProxyRequest, ProxyResponse, UpstreamFetch, UpstreamInit } from "../runtime/types.ts";
import { LightResponse, webHeaders } from "../http/message.ts";
import type { SplitLines } from "../http1/scratch.ts";
import { LightAbort } from "../util/abort.ts";
import type { Logger } from "../observe/log.ts";
import type { Pool } from "../pool/pool.ts";
import type { ServerState } from "../pool/server-state.ts";
import type { StickyFacts } from "../pool/stickiness.ts";
import { errorResponse, sorryResponse } from "./errors.ts";
import { downstreamResponseHeaders, forwardingBlock, onlyStandardConnection, rewriteRequestHeaders, stripHopByHop, upstreamRequestHeaders, withHostFor } from "./headers.ts";
import { type Attempt, classifyFailure, isIdempotent } from "./outcome.ts";
import { type AttemptPlan, type AttemptResult, type LoopResult, runAttemptsThen } from "./attempt-loop.ts";
import { answered, attemptStarted, failed } from "../pool/outcome.ts";
import { watchBody } from "./body-watch.ts";
import { limitBody } from "./body-limit.ts";
import { abortWhenClientLeaves, AttemptWatch, type WatchedAttempt } from "./attempt-watch.ts";
import { turnNow } from "../util/clock.ts";

/** Bodies up to this size are read before forwarding, so a retry can send them again. */
const REPLAYABLE_BODY = 64 * 1024;
/** Responses at most this long are released at their headers; longer ones when their body ends. */
const SMALL_RESPONSE = 1024 * 1024;

/** One client request as the listener hands it over. */
export interface Exchange {
  req: ProxyRequest;
  clientIp: string;
  /** Raw path and query as on the wire. */
  pathAndQuery: string;
  proto: "http" | "https";
  trusted: boolean;
  requestId: string;
  /** The server of the last attempt, for the access log (set here). */
  server?: ServerState | undefined;
  /** Servers tried so far (set here; retries = attempts - 1). */
  attempts?: number;
  /** The listener's `max_body`: a body without Content-Length is cut (→ 413) past it. */
  maxBody?: number | undefined;
  /** Set when the client sent more than `maxBody` (set here). */
  bodyTooLarge?: boolean;
}

/** Forwards exchanges; one per process, shared by every listener. */
export class Forwarder {
  readonly #fetch: UpstreamFetch;
  readonly #logger: Logger;
  readonly #lastFailureLog = new WeakMap<ServerState, number>();
  readonly #watch = new AttemptWatch();
  /** Whether headers can be edited in place; false once the runtime refused (Deno's are immutable). */
  #inPlace = true;

  constructor(fetch: UpstreamFetch, logger: Logger) {
    this.#fetch = fetch;
    this.#logger = logger;
  }

  /**
   * The response for the client: the server's, or one tenbin makes (502/503/504, sorry page). Not
   * an async function: the attempt loop hands its result to `#conclude` in the step that judged
   * the answer, one promise level fewer per request (see `runAttemptsThen`).
   */
  forward(ex: Exchange, pool: Pool): Promise<ProxyResponse> {
    try {
      return this.#forward(ex, pool);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #forward(ex: Exchange, pool: Pool): Promise<ProxyResponse> {
    const { req } = ex;
    const sticky = pool.sticky.enabled;
    // Gathered only for pools that persist or hash (read before the headers are rewritten below).
    const facts: StickyFacts | undefined = sticky || pool.config.balance === "hash"
      ? { clientIp: ex.clientIp, cookieHeader: req.headers.get("cookie"), headers: req.headers, pathAndQuery: ex.pathAndQuery }
      : undefined;
    const pinned = sticky ? pool.sticky.pinned(facts!) : undefined;
    const hashKey = facts !== undefined && pool.config.balance === "hash" ? pool.sticky.hashKey(facts) : undefined;
    const forwardFacts = { clientIp: ex.clientIp, proto: ex.proto, trusted: ex.trusted, requestId: ex.requestId, hostOverride: undefined };
    // The request's own header set is rewritten and sent (one copy fewer per request) where the
    // runtime lets us: Deno's request headers are immutable, so there they are copied.
    let headers = req.headers;
    let requestId: string | undefined;
    // The common case (an untrusted client, the client's Host, no Connection tokens to strip)
    // leaves the header set alone: the upstream client writes it minus the replaced names, plus
    // these lines.
    let forwarding: SplitLines | undefined;
    if (!ex.trusted && pool.config.host_header === "client" && onlyStandardConnection(headers.get("connection"))) {
      forwarding = forwardingBlock(headers, forwardFacts);
      requestId = ex.requestId;
    } else if (this.#inPlace) {
      try {
        requestId = rewriteRequestHeaders(headers, forwardFacts);
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
        this.#inPlace = false;
      }
    }
    if (requestId === undefined) ({ headers, requestId } = upstreamRequestHeaders(req.headers, forwardFacts));
    ex.requestId = requestId; // a trusted client's X-Request-Id wins; logs should show that one
    let body: BodyInit | null = req.body;
    if (req.body !== null) {
      const declared = req.headers.get("content-length");
      const length = Number(declared ?? NaN);
      if (length <= REPLAYABLE_BODY) {
        return req.arrayBuffer().then((bytes) => runAttemptsThen(new ForwardPlan(this, this.#logger, ex, pool, facts, pinned, hashKey, headers, forwarding, bytes, requestId), this.#conclude));
      }
      if (declared === null && ex.maxBody !== undefined) body = limitBody(req.body, ex.maxBody, () => (ex.bodyTooLarge = true));
    }
    return runAttemptsThen(new ForwardPlan(this, this.#logger, ex, pool, facts, pinned, hashKey, headers, forwarding, body, requestId), this.#conclude);
  }

  /** What the client gets once the attempt loop of `plan` ended with `result`. */
  readonly #conclude = (result: LoopResult<ProxyResponse>, plan: ForwardPlan): ProxyResponse | Promise<ProxyResponse> => {
    const { ex, pool, headers, forwarding, requestId, body } = plan;
    switch (result.kind) {
      case "done":
        return result.value;
      case "aborted":
        return errorResponse(499, requestId);
      case "no_server":
        this.#logger.warn(`${pool.name}: no server for request`, { reason: result.why, request_id: requestId });
        return this.#sorry(ex, pool, headers, forwarding, requestId, body);
    }
    const last = result.last;
    if (ex.bodyTooLarge) return errorResponse(413, requestId);
    if (last.fallback !== undefined) return last.fallback;
    // Every try was refused before anything was sent: no server could take it, as when all are down.
    if (last.failure === "connect" && (pool.sorryPage || pool.sorryServer)) return this.#sorry(ex, pool, headers, forwarding, requestId, body);
    return errorResponse(last.failure === "timeout" ? 504 : last.failure === "local" ? 503 : 502, requestId);
  };

  /**
   * Starts one attempt (a `ForwardPlan`'s) on `server`: its `answer` is the server's answer, to be
   * read by `settled`, or a rejection, by `failedAttempt`. Not async: the attempt loop's own
   * reaction on that promise reads it, one promise level fewer per request than an async attempt.
   */
  start(ex: Exchange, pool: Pool, server: ServerState, requestId: string, baseHeaders: HeaderMap, forwarding: SplitLines | undefined, body: BodyInit | null): AttemptRun {
    const { timeouts } = pool.config;
    // Not an AbortController: the upstream client listens to this one for free (util/abort.ts).
    const controller = new LightAbort();
    // The response timeout and the client going away, without a timer or listener of our own.
    const watched = this.#watch.start(controller, ex.req, timeouts.response);
    const headers = withHostFor(pool.config.host_header, server.origin, baseHeaders);
    const started = turnNow();
    attemptStarted(server);
    let answer: Promise<ProxyResponse>;
    try {
      // bodyIdleMs: an answer the upstream client streams although it is short (over the runtime's
      // one-write size) is cut there when it stalls; a long one is watched in `settled` as well.
      const target = ex.pathAndQuery;
      const init: UpstreamInit & { duplex?: string } = { method: ex.req.method, headers, body, abort: controller, forwarding, bodyIdleMs: timeouts.idle, light: ex.req.takesLight, origin: server.origin, target };
      if (body !== null && !(body instanceof ArrayBuffer)) init.duplex = "half";
      answer = this.#fetch(server.origin + target, init, pool.tlsFor(server), timeouts.connect);
    } catch (error) {
      answer = Promise.reject(error);
    }
    return new AttemptRun(ex, pool, server, requestId, controller, watched, started, answer);
  }

  /** The attempt `run` got `upstream`: reported to the pool, and made the client's answer. Throws as `failedAttempt` expects. */
  settled(run: AttemptRun, upstream: ProxyResponse): Attempt {
    const { ex, pool, server, controller } = run;
    const { timeouts } = pool.config;
    this.#watch.finish(run.watched);
    answered(pool, server, upstream.status, turnNow() - run.started);
    const length = Number(upstream.headers.get("content-length") ?? NaN);
    if (length <= SMALL_RESPONSE && this.#inPlace) {
      // The fetch Response itself goes to the client with its headers edited in place: no copy of
      // headers or Response, and (as nobody touches `.body`) the runtime pipes the body natively.
      // Measured with bench/: about 6 % less CPU per 1 KB request than copying both.
      try {
        stripHopByHop(upstream.headers);
        run.release();
        return { response: upstream, failure: undefined, reason: "" };
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
        this.#inPlace = false;
      }
    }
    let responseBody: ReadableStream<Uint8Array> | null = upstream instanceof LightResponse && upstream.wholeLength >= 0 ? null : upstream.body;
    if (responseBody !== null && !(length <= SMALL_RESPONSE)) {
      // A long body: a client that leaves while it streams should stop the download.
      if (!run.watched.listening) abortWhenClientLeaves(controller, ex.req);
      responseBody = watchBody(responseBody, timeouts.idle, controller, () => run.release());
    } else {
      run.release();
    }
    if (upstream instanceof LightResponse) {
      stripHopByHop(upstream.headers);
      return { response: responseBody === null ? upstream : upstream.withBody(responseBody), failure: undefined, reason: "" };
    }
    const response = new Response(responseBody, {
      status: upstream.status,
      statusText: upstream.statusText,
      headers: downstreamResponseHeaders(webHeaders(upstream.headers)),
    });
    return { response, failure: undefined, reason: "" };
  }

  /** The attempt `run` failed with `error` (the fetch, or `settled`): classified, reported and logged. */
  failedAttempt(run: AttemptRun, error: unknown): Attempt {
    const { ex, pool, server } = run;
    this.#watch.finish(run.watched);
    run.release();
    // A body cut at max_body fails the fetch too; the server is not to blame for that.
    const { failure, reason } = ex.bodyTooLarge
      ? { failure: "client" as const, reason: "request body over max_body" }
      : classifyFailure(error, run.controller);
    if (failure !== "client" && failure !== "local") {
      failed(pool, server, reason);
      // During an outage every request fails the same way: one line per server and second is enough.
      const now = performance.now();
      if (now - (this.#lastFailureLog.get(server) ?? -Infinity) >= 1000) {
        this.#lastFailureLog.set(server, now);
        this.#logger.warn(`${pool.name}/${server.name}: ${reason}`, { request_id: run.requestId, failures: server.failures });
      }
    }
    return { response: undefined, failure, reason };
  }

  async #sorry(ex: Exchange, pool: Pool, headers: HeaderMap, forwarding: SplitLines | undefined, requestId: string, body: BodyInit | null): Promise<Response> {
    if (pool.sorryServer) {
      const server = pool.sorryServer;
      try {
        // `body` is the buffered copy when the request body was small (the stream is used up then).
        const init: UpstreamInit & { duplex?: string } = {
          method: ex.req.method,
          headers,
          forwarding,
          body,
          signal: AbortSignal.any([ex.req.signal, AbortSignal.timeout(pool.config.timeouts.response)]),
        };
        if (body !== null && !(body instanceof ArrayBuffer)) init.duplex = "half";
        const upstream = await this.#fetch(server.origin + ex.pathAndQuery, init, pool.tlsFor(server), pool.config.timeouts.connect);
        return new Response(upstream.body, { status: upstream.status, headers: downstreamResponseHeaders(webHeaders(upstream.headers)) });
      } catch (error) {
        this.#logger.warn(`${pool.name}: sorry server failed: ${classifyFailure(error, undefined).reason}`, { request_id: requestId });
      }
    }
    if (pool.sorryPage) return sorryResponse(pool.sorryPage, requestId);
    return errorResponse(503, requestId);
  }
}

/**
 * One request's attempt plan (see attempt-loop.ts): its state in one object with methods, rather
 * than four closures and a plan object per request (garbage per request is what grows the cost with
 * the number of requests in flight, see bench/results.md).
 */
class ForwardPlan implements AttemptPlan<ProxyResponse, ProxyResponse> {
  readonly pool: Pool;
  readonly clientIp: string;
  readonly hashKey: string | undefined;
  readonly pinned: ServerState | undefined;
  /** `req` rather than `req.signal`: the pool reads the signal only if the request must queue. */
  readonly waitOn: ProxyRequest;
  /** What `Forwarder.#conclude` reads too. */
  readonly ex: Exchange;
  readonly headers: HeaderMap;
  readonly forwarding: SplitLines | undefined;
  readonly body: BodyInit | null;
  readonly requestId: string;
  readonly #forwarder: Forwarder;
  readonly #logger: Logger;
  readonly #facts: StickyFacts | undefined;
  readonly #idempotent: boolean;
  readonly #replayable: boolean;
  /** The attempt under way (attempts of one request follow one another). */
  #run: AttemptRun | undefined;

  constructor(forwarder: Forwarder, logger: Logger, ex: Exchange, pool: Pool, facts: StickyFacts | undefined, pinned: ServerState | undefined, hashKey: string | undefined, headers: HeaderMap, forwarding: SplitLines | undefined, body: BodyInit | null, requestId: string) {
    this.pool = pool;
    this.clientIp = ex.clientIp;
    this.hashKey = hashKey;
    this.pinned = pinned;
    this.waitOn = ex.req;
    this.#forwarder = forwarder;
    this.#logger = logger;
    this.ex = ex;
    this.#facts = facts;
    this.headers = headers;
    this.forwarding = forwarding;
    this.body = body;
    this.requestId = requestId;
    this.#idempotent = isIdempotent(ex.req.method);
    this.#replayable = body === null || body instanceof ArrayBuffer;
  }

  /** The server's answer, read by `judge`, or a rejection, by `judgeFailure` (hot path: no promise of our own). */
  attempt(server: ServerState, index: number): Promise<ProxyResponse> {
    const ex = this.ex;
    ex.server = server;
    ex.attempts = index + 1;
    const run = this.#forwarder.start(ex, this.pool, server, this.requestId, this.headers, this.forwarding, this.body);
    this.#run = run;
    return run.answer;
  }

  judge(upstream: ProxyResponse, server: ServerState): AttemptResult<ProxyResponse> {
    const run = this.#run!;
    let tried: Attempt;
    try {
      tried = this.#forwarder.settled(run, upstream);
    } catch (error) {
      tried = this.#forwarder.failedAttempt(run, error);
    }
    return this.#judged(tried, server);
  }

  judgeFailure(error: unknown, server: ServerState): AttemptResult<ProxyResponse> {
    return this.#judged(this.#forwarder.failedAttempt(this.#run!, error), server);
  }

  #judged(tried: Attempt, server: ServerState): AttemptResult<ProxyResponse> {
    const pool = this.pool;
    const response = tried.response;
    if (response !== undefined) {
      if (!(pool.config.retry_on.includes(response.status) && this.#idempotent && this.#replayable)) {
        const setCookie = pool.sticky.enabled ? pool.sticky.bind(this.#facts!, server, this.pinned) : undefined;
        if (setCookie) response.headers.append("set-cookie", setCookie);
        return { kind: "done", value: response };
      }
      this.#logger.debug(`${pool.name}: retrying on another server`, { server: server.name, reason: `status ${response.status}`, request_id: this.requestId });
      return { kind: "failed", failure: "sent", reason: `status ${response.status}`, retry: true, fallback: response };
    }
    const failure = tried.failure!;
    const replayable = this.#replayable;
    // Out of file descriptors (`local`): another server would fail the same way.
    const retry = failure === "local" ? false : failure === "connect" ? replayable : failure !== "client" && this.#idempotent && replayable;
    if (retry && !this.waitOn.signal.aborted) this.#logger.debug(`${pool.name}: retrying on another server`, { server: server.name, reason: tried.reason, request_id: this.requestId });
    return { kind: "failed", failure, reason: tried.reason, retry };
  }

  superseded(previous: ProxyResponse): Promise<void> | undefined {
    return previous.body?.cancel();
  }

  gone(): boolean {
    return this.waitOn.signal.aborted;
  }
}

/** One attempt's state, made by `Forwarder.start` and read by `settled` or `failedAttempt` (one object, no closures). */
class AttemptRun {
  readonly ex: Exchange;
  readonly pool: Pool;
  readonly server: ServerState;
  readonly requestId: string;
  readonly controller: LightAbort;
  /** The response deadline and the client's leaving, watched. */
  readonly watched: WatchedAttempt;
  /** When the request went out (`turnNow`), for the server's response time. */
  readonly started: number;
  /** The server's answer. */
  readonly answer: Promise<ProxyResponse>;
  #released = false;

  constructor(ex: Exchange, pool: Pool, server: ServerState, requestId: string, controller: LightAbort, watched: WatchedAttempt, started: number, answer: Promise<ProxyResponse>) {
    this.ex = ex;
    this.pool = pool;
    this.server = server;
    this.requestId = requestId;
    this.controller = controller;
    this.watched = watched;
    this.started = started;
    this.answer = answer;
  }

  /** Gives the server's slot back to the pool, once. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.pool.release(this.server);
  }
}
