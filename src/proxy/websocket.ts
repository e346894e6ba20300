/**
 * WebSocket upgrades: the same pool, balancing, persistence and health as any request pick the
 * server; tenbin opens the backend WebSocket first (offering the client's subprotocols), and only
 * when the backend accepted does it upgrade the client, with the subprotocol the backend chose. A
 * backend that refuses gets its status passed to the client; one that cannot be reached is retried
 * on another server like any request that was never sent.
 */
import type { Logger } from "../observe/log.ts";
import type { Pool } from "../pool/pool.ts";
import type { ServerState } from "../pool/server-state.ts";
import type { StickyFacts } from "../pool/stickiness.ts";
import type { ConnectWebSocket, ProxyRequest, UpstreamWebSocket, WebSocketUpgrader } from "../runtime/types.ts";
import { errorResponse, sorryResponse } from "./errors.ts";
import { asJudged, type AttemptResult, type LoopResult, runAttempts } from "./attempt-loop.ts";
import { answered, attemptStarted, failed } from "../pool/outcome.ts";
import type { Exchange } from "./forward.ts";
import { upstreamRequestHeaders, withHostFor } from "./headers.ts";
import { webHeaders } from "../http/message.ts";
import { WebSocketSession } from "./websocket-session.ts";

/** Headers of the client's handshake that belong to its hop; the backend handshake makes its own. */
const HANDSHAKE_HEADERS = ["sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-accept", "sec-websocket-protocol"];

/** Whether a request asks to become a WebSocket (RFC 6455 §4.1). */
export function isWebSocketUpgrade(req: ProxyRequest): boolean {
  const upgrade = req.headers.get("upgrade");
  return upgrade !== null && req.method === "GET" && /(^|,)\s*websocket\s*(,|$)/i.test(upgrade);
}

/**
 * What both upgrade paths (this one and upgrade-tunnel.ts) do first: the request's persistence
 * facts, the server they pin and the hash key, and the header set for the server (forwarding
 * headers added, hop-by-hop ones removed); `ex.requestId` becomes the one in force.
 */
export function startUpgrade(ex: Exchange, pool: Pool): { facts: StickyFacts; pinned: ServerState | undefined; hashKey: string | undefined; headers: Headers; requestId: string } {
  const { req } = ex;
  const facts: StickyFacts = { clientIp: ex.clientIp, cookieHeader: req.headers.get("cookie"), headers: req.headers, pathAndQuery: ex.pathAndQuery };
  const pinned = pool.sticky.enabled ? pool.sticky.pinned(facts) : undefined;
  const hashKey = pool.config.balance === "hash" ? pool.sticky.hashKey(facts) : undefined;
  const { headers, requestId } = upstreamRequestHeaders(req.headers, { clientIp: ex.clientIp, proto: ex.proto, trusted: ex.trusted, requestId: ex.requestId, hostOverride: undefined });
  ex.requestId = requestId;
  return { facts, pinned, hashKey, headers, requestId };
}

type Opened = { ok: true; upstream: UpstreamWebSocket } | { ok: false; reason: string; status: number | undefined; timeout: boolean };

/** Proxies WebSocket upgrades; one per process, shared by every listener. */
export class WebSocketProxy {
  readonly #connect: ConnectWebSocket;
  readonly #logger: Logger;
  readonly #sessions = new Set<WebSocketSession>();

  constructor(connect: ConnectWebSocket, logger: Logger) {
    this.#connect = connect;
    this.#logger = logger;
  }

  /** WebSockets open now. */
  get open(): number {
    return this.#sessions.size;
  }

  /** Closes every proxied WebSocket on both sides (1001 "going away" by default). */
  closeAll(code = 1001, reason = "tenbin is shutting down"): void {
    for (const session of this.#sessions) session.shutdown(code, reason);
  }

  /** Answers an upgrade request: the upgraded connection, the backend's refusal, or 400/499/502/503/504. */
  async proxy(ex: Exchange, pool: Pool, upgrader: WebSocketUpgrader): Promise<Response> {
    const { req } = ex;
    if (!req.headers.get("sec-websocket-key") || req.headers.get("sec-websocket-version") !== "13") {
      return errorResponse(400, ex.requestId);
    }
    const { facts, pinned, hashKey, headers, requestId } = startUpgrade(ex, pool);
    for (const name of HANDSHAKE_HEADERS) headers.delete(name);
    const protocols = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "");
    const result = await runAttempts<Response>({
      pool,
      clientIp: ex.clientIp,
      hashKey,
      pinned,
      waitOn: req.signal,
      attempt: (server, index) => {
        ex.server = server;
        ex.attempts = index + 1;
        return this.#attempt(ex, pool, server, headers, protocols, upgrader, facts, pinned);
      },
      judge: asJudged,
      gone: () => req.signal.aborted,
    });
    return upgradeAnswer(result, pool, req, requestId, this.#logger);
  }

  /** One server: open the backend WebSocket, then upgrade the client; reports the outcome to the pool. */
  async #attempt(ex: Exchange, pool: Pool, server: ServerState, headers: Headers, protocols: string[], upgrader: WebSocketUpgrader, facts: StickyFacts, pinned: ServerState | undefined): Promise<AttemptResult<Response>> {
    const { req, requestId } = ex;
    attemptStarted(server);
    const session = new WebSocketSession(() => {
      this.#sessions.delete(session);
      pool.release(server);
    });
    const started = performance.now();
    const opened = await this.#open(server, pool, ex, webHeaders(withHostFor(pool.config.host_header, server.origin, headers)), protocols, session);
    if (!opened.ok) {
      pool.release(server);
      if (opened.status !== undefined) {
        // The backend answered the handshake with a refusal: that is its answer to the client.
        answered(pool, server, opened.status, performance.now() - started);
        const status = opened.status >= 200 && opened.status <= 599 ? opened.status : 502;
        return {
          kind: "done",
          value: new Response(`WebSocket upgrade refused by the server (${opened.status})\n`, {
            status,
            headers: { "content-type": "text/plain; charset=utf-8", "x-request-id": requestId },
          }),
        };
      }
      if (req.signal.aborted) return { kind: "done", value: errorResponse(499, requestId) };
      failed(pool, server, opened.reason);
      this.#logger.warn(`${pool.name}/${server.name}: WebSocket ${opened.reason}`, { request_id: requestId });
      // Nothing reached the server's application: another server may take the upgrade.
      return { kind: "failed", failure: opened.timeout ? "timeout" : "connect", reason: opened.reason, retry: true };
    }
    // The 101 counts as every answer does: EWMA, latency histogram, status, passive health.
    answered(pool, server, 101, performance.now() - started);
    const upgradeHeaders = new Headers({ "x-request-id": requestId });
    const setCookie = pool.sticky.enabled ? pool.sticky.bind(facts, server, pinned) : undefined;
    if (setCookie) upgradeHeaders.append("set-cookie", setCookie);
    const protocol = opened.upstream.protocol;
    // Only the runtime's HTTP server gives an upgrader, and its requests are Web `Request`s.
    const response = upgrader.accept(req as Request, {
      protocol: protocol === "" ? undefined : protocol,
      headers: upgradeHeaders,
      events: session.clientEvents,
    });
    if (!response) {
      // The client's connection cannot be upgraded (HTTP/2, or the client went away).
      opened.upstream.close(1001, "client cannot be upgraded");
      session.upstreamEvents.close(1001, "");
      return { kind: "done", value: errorResponse(400, requestId) };
    }
    this.#sessions.add(session);
    return { kind: "done", value: response };
  }

  /** Opens the backend WebSocket; resolves when it is open, refused, failed or timed out. */
  #open(server: ServerState, pool: Pool, ex: Exchange, headers: Headers, protocols: string[], session: WebSocketSession): Promise<Opened> {
    return new Promise<Opened>((resolve) => {
      let settled = false;
      // Only a socket handed to the session reports to it (a late open after a timeout does not).
      let attached = false;
      const finish = (result: Opened) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ex.req.signal.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const url = server.origin.replace(/^http/, "ws") + ex.pathAndQuery;
      const upstream = this.#connect(url, {
        headers,
        protocols,
        tls: pool.tlsFor(server),
        events: {
          open: () => {
            if (settled) return upstream.close(1001, "");
            attached = true;
            session.attachUpstream(upstream);
            finish({ ok: true, upstream });
          },
          message: (data) => {
            if (attached) session.upstreamEvents.message(data);
          },
          close: (code, reason) => {
            if (attached) session.upstreamEvents.close(code, reason);
          },
          fail: (reason, status) => finish({ ok: false, reason: status === undefined ? `connect failed: ${reason}` : reason, status, timeout: false }),
        },
      });
      const timer = setTimeout(() => {
        upstream.terminate();
        finish({ ok: false, reason: `timeout: no WebSocket handshake within ${pool.config.timeouts.connect}ms`, status: undefined, timeout: true });
      }, pool.config.timeouts.connect);
      const onAbort = () => {
        upstream.terminate();
        finish({ ok: false, reason: "client went away", status: undefined, timeout: false });
      };
      ex.req.signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/**
 * What the client of an upgrade gets once the attempt loop ended, on both WebSocket paths (the
 * runtime's and the own server's tunnels): the answer, 499 for a client gone, the pool's sorry page
 * (or 503) when no server could be had, else 504 or 502 by the last failure.
 */
export function upgradeAnswer<T>(result: LoopResult<T>, pool: Pool, req: { readonly signal: AbortSignal }, requestId: string, logger: Logger): T | Response {
  switch (result.kind) {
    case "done":
      return result.value;
    case "aborted":
      return errorResponse(499, requestId);
    case "no_server":
      logger.warn(`${pool.name}: no server for WebSocket`, { reason: result.why, request_id: requestId });
      return pool.sorryPage ? sorryResponse(pool.sorryPage, requestId) : errorResponse(503, requestId);
  }
  if (req.signal.aborted) return errorResponse(499, requestId);
  return errorResponse(result.last.failure === "timeout" ? 504 : 502, requestId);
}
