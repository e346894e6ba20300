/**
 * The request handler of one HTTP listener: route the request, check its size, hand it to the
 * forwarder. The route table and pools come from a `Snapshot` read once per request, so a reload
 * swaps them without touching requests already in flight.
 */
import type { ListenerConfig } from "../config/schema.ts";
import type { Pool } from "../pool/pool.ts";
import { errorResponse } from "../proxy/errors.ts";
import type { Forwarder } from "../proxy/forward.ts";
import type { RouteTable } from "../router/route-table.ts";
import type { ClientInfo, HttpHandler } from "../runtime/types.ts";
import { CidrSet } from "../util/cidr.ts";

/** What a listener needs from the config in force. */
export interface ListenerSnapshot {
  config: ListenerConfig;
  routes: RouteTable;
  pools: ReadonlyMap<string, Pool>;
}

/** Builds the handler; `current()` returns the snapshot of the config in force. */
export function createHttpHandler(current: () => ListenerSnapshot, forwarder: Forwarder, proto: "http" | "https"): HttpHandler {
  let trustedFor: ListenerConfig | undefined;
  let trusted = new CidrSet([]);
  return (req: Request, client: ClientInfo): Response | Promise<Response> => {
    const snapshot = current();
    if (trustedFor !== snapshot.config) {
      trusted = new CidrSet(snapshot.config.trusted_proxies);
      trustedFor = snapshot.config;
    }
    const requestId = crypto.randomUUID();
    // req.url is absolute; slicing it keeps the path and query exactly as the client sent them.
    const url = req.url;
    const pathStart = url.indexOf("/", url.indexOf("://") + 3);
    const pathAndQuery = pathStart < 0 ? "/" : url.slice(pathStart);
    const q = pathAndQuery.indexOf("?");
    const route = snapshot.routes.match({
      method: req.method,
      host: req.headers.get("host"),
      path: q < 0 ? pathAndQuery : pathAndQuery.slice(0, q),
      query: q < 0 ? "" : pathAndQuery.slice(q + 1),
      headers: req.headers,
    });
    if (!route) return errorResponse(404, requestId);
    const pool = snapshot.pools.get(route.pool);
    if (!pool) return errorResponse(503, requestId);
    const length = req.headers.get("content-length");
    if (length !== null && Number(length) > snapshot.config.max_body) return errorResponse(413, requestId);
    return forwarder.forward({
      req,
      clientIp: client.address,
      pathAndQuery,
      proto,
      trusted: trusted.size > 0 && trusted.has(client.address),
      requestId,
    }, pool);
  };
}
