/**
 * The request handler of one HTTP listener: route the request, check its size, hand it to the
 * forwarder. The route table and pools come from a `Snapshot` read once per request, so a reload
 * swaps them without touching requests already in flight.
 */
import type { ListenerConfig } from "../config/schema.ts";
import type { Pool } from "../pool/pool.ts";
import { errorResponse } from "../proxy/errors.ts";
import { pathAndQueryOf } from "../http/message.ts";
import type { Exchange, Forwarder } from "../proxy/forward.ts";
import type { CompiledRoute, RouteTable } from "../router/route-table.ts";
import type { ListenerObserver } from "../observe/listener-observer.ts";
import type { ClientInfo, ProxyRequest, ProxyResponse, WebSocketUpgrader } from "../runtime/types.ts";
import { CidrSet, unmapIpv4 } from "../util/cidr.ts";
import { isWebSocketUpgrade, type WebSocketProxy } from "../proxy/websocket.ts";
import type { UpgradeTunnels } from "../proxy/upgrade-tunnel.ts";
import type { RoutePolicy } from "../policy/route-policy.ts";
import { handleWithPolicy, type PolicyExchange } from "./http-policy.ts";
import { RequestPaths } from "../router/request-path.ts";
import { runtimeRefusal } from "./runtime-refusals.ts";
import { hstsHeaderOf, httpsRedirectOf, httpsRedirectResponse, withHsts, type HttpsRedirect } from "../tls/redirect.ts";
import { turnNow } from "../util/clock.ts";

/** Where a plain http listener finds the answers to the ACME CA's HTTP-01 challenges. */
export interface AcmeChallenges {
  /** False while no listener uses ACME: the path is then not even looked at. */
  readonly active: boolean;
  challengeAnswer(token: string): string | undefined;
}

const ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

/** What a listener needs from the config in force. */
export interface ListenerSnapshot {
  config: ListenerConfig;
  routes: RouteTable;
  pools: ReadonlyMap<string, Pool>;
  /** Counts responses and writes the access log; prepared with the config. */
  observer?: ListenerObserver | undefined;
  /** Each route's compiled policies, by route index; undefined when no route has any. */
  policies?: readonly (RoutePolicy | undefined)[] | undefined;
}

/**
 * A listener's request handler: it takes a Web `Request` (the runtime's HTTP server) as well as the
 * own server's lighter `ProxyRequest`. The upgrader comes only with the runtime's server.
 */
export type ListenerHandler = (req: ProxyRequest, client: ClientInfo, upgrader?: WebSocketUpgrader) => ProxyResponse | Promise<ProxyResponse>;

/**
 * Builds the handler; `current()` returns the snapshot of the config in force. `websockets` proxies
 * upgrade requests of the runtime's server, `tunnels` those of tenbin's own (without the one that
 * fits they are forwarded as plain requests).
 */
export function createHttpHandler(current: () => ListenerSnapshot, forwarder: Forwarder, proto: "http" | "https", websockets?: WebSocketProxy, tunnels?: UpgradeTunnels, acme?: AcmeChallenges): ListenerHandler {
  let trustedFor: ListenerConfig | undefined;
  let trusted = new CidrSet([]);
  let redirect: HttpsRedirect | undefined;
  let hsts: string | undefined;
  let paths: RequestPaths | undefined;
  return (req: ProxyRequest, client: ClientInfo, upgrader?: WebSocketUpgrader): ProxyResponse | Promise<ProxyResponse> => {
    const snapshot = current();
    if (trustedFor !== snapshot.config) {
      trusted = new CidrSet(snapshot.config.trusted_proxies);
      redirect = httpsRedirectOf(snapshot.config);
      hsts = hstsHeaderOf(snapshot.config);
      paths = new RequestPaths(snapshot.config.paths);
      trustedFor = snapshot.config;
    }
    const started = turnNow();
    const requestId = crypto.randomUUID();
    const sent = req.pathAndQuery ?? pathAndQueryOf(req.url);
    // ACME HTTP-01 before routing and before redirect_https: the CA asks over plain http.
    if (acme?.active && sent.startsWith(ACME_CHALLENGE_PREFIX)) {
      const answer = acme.challengeAnswer(sent.slice(ACME_CHALLENGE_PREFIX.length));
      if (answer !== undefined) return new Response(answer, { headers: { "content-type": "application/octet-stream", "cache-control": "no-store" } });
    }
    const q = sent.indexOf("?");
    const received = q < 0 ? sent : sent.slice(0, q);
    let pathAndQuery = sent;
    // Routes match the normalized path, so that no spelling of a path passes its route by.
    const path = paths!.normalize(received);
    if (path !== received && path !== undefined && paths!.forwardNormalized) pathAndQuery = q < 0 ? path : path + sent.slice(q);
    // tenbin's own server refused these before the handler; the runtime's lets them through.
    const refused = req.takesLight === true ? 0 : runtimeRefusal(req);
    // No Host (HTTP/1.0 may omit it) or two of them (the runtime's server joins them as "a, b"):
    // which site is meant is unknown, so routing by host could pick any; refused (RFC 9112 §3.2).
    // An HTTP/2 request has no Host but an :authority, which the runtime's server puts in the URL.
    let host = req.headers.get("host");
    if (host === null && req.takesLight !== true) host = new URL(req.url).host || null;
    const badHost = host === null || host.includes(",");
    const route = redirect || path === undefined || refused !== 0 || badHost ? undefined : snapshot.routes.catchAll ?? snapshot.routes.match({
      method: req.method,
      host,
      path: paths!.forRouting(path),
      query: q < 0 ? "" : sent.slice(q + 1),
      headers: req.headers,
    });
    const clientIp = unmapIpv4(client.address);
    const ex: PolicyExchange = {
      req,
      clientIp,
      pathAndQuery,
      proto,
      trusted: trusted.size > 0 && trusted.has(clientIp),
      requestId,
      maxBody: snapshot.config.max_body,
      // Set by the forwarder; present from the start so the object keeps one shape.
      server: undefined,
      attempts: 0,
      policy: undefined,
    };
    const policy = route !== undefined && snapshot.policies !== undefined ? snapshot.policies[route.index] : undefined;
    let response = refused !== 0
      ? refusal(refused, requestId)
      : badHost
      ? errorResponse(400, requestId)
      : redirect
      ? httpsRedirectResponse(req, pathAndQuery, redirect)
      : policy ? handleWithPolicy(policy, ex, trusted, (fwd) => forwardTo(snapshot, route!, fwd, forwarder, websockets, upgrader, tunnels))
      : route ? forwardTo(snapshot, route, ex, forwarder, websockets, upgrader, tunnels) : errorResponse(path === undefined ? 400 : 404, requestId);
    if (hsts) response = withHsts(response, hsts);
    const observer = snapshot.observer;
    return observer ? observer.observe(response, ex, route, started) : response;
  };
}

function refusal(status: number, requestId: string): Response {
  const response = errorResponse(status, requestId);
  // After a doubtful framing or a CONNECT, the connection's next bytes are not trusted.
  response.headers.set("connection", "close");
  return response;
}

function forwardTo(snapshot: ListenerSnapshot, route: CompiledRoute, ex: Exchange, forwarder: Forwarder, websockets: WebSocketProxy | undefined, upgrader: WebSocketUpgrader | undefined, tunnels: UpgradeTunnels | undefined): ProxyResponse | Promise<ProxyResponse> {
  const pool = snapshot.pools.get(route.pool);
  if (!pool) return errorResponse(503, ex.requestId);
  if (isWebSocketUpgrade(ex.req)) {
    if (websockets && upgrader) return websockets.proxy(ex, pool, upgrader);
    // tenbin's own server splices the client's connection to the server's after its 101.
    if (tunnels && ex.req.takesLight) return tunnels.proxy(ex, pool);
  }
  const length = ex.req.headers.get("content-length");
  if (length !== null && Number(length) > snapshot.config.max_body) return errorResponse(413, ex.requestId);
  return forwarder.forward(ex, pool);
}
