/**
 * What an HTTP listener does once it has a response: count it (listener, route and pool counters,
 * all prepared when the config was built) and, when the listener has one, write an access log line.
 * Runs when the response headers are ready; the body keeps streaming untouched.
 */
import type { ServerState } from "../pool/server-state.ts";
import type { ProxyRequest, ProxyResponse } from "../runtime/types.ts";
import { type AccessLogFormat, type AccessLogs, type AccessLogWriter, BADREQ, formatAccessEntry } from "./access-log.ts";
import type { ListenerStats, MetricsRegistry } from "./metrics.ts";
import { turnNow } from "../util/clock.ts";

/** What the observer reads of one exchange (the proxy's `Exchange` fits). */
export interface ObservedExchange {
  readonly req: ProxyRequest;
  readonly clientIp: string;
  readonly pathAndQuery: string;
  readonly requestId: string;
  /** The server that answered last (set by the forwarder). */
  readonly server?: ServerState | undefined;
  /** Servers tried (set by the forwarder). */
  readonly attempts?: number | undefined;
  /** The policy that answered instead of the pool (set by the route's policies). */
  readonly policy?: string | undefined;
}

/** A request the listener's server refused itself; `method`, `path` and `host` when its head was read. */
export interface Refusal {
  clientIp: string;
  status: number;
  reason: string;
  method?: string | undefined;
  path?: string | undefined;
  host?: string | undefined;
}

/** The route an exchange took, as far as the observer cares. */
export interface ObservedRoute {
  readonly index: number;
  readonly name: string;
  readonly pool: string;
}

/** One listener's access log: where and how. */
export interface ListenerAccessLog {
  writer: AccessLogWriter;
  format: AccessLogFormat;
}

/** Counts and logs the exchanges of one listener under one config. */
export class ListenerObserver {
  readonly #name: string;
  readonly #stats: ListenerStats;
  readonly #log: ListenerAccessLog | undefined;

  constructor(listener: string, stats: ListenerStats, log?: ListenerAccessLog) {
    this.#name = listener;
    this.#stats = stats;
    this.#log = log;
  }

  /**
   * Records `response` once it is there and hands it on unchanged. `started` is
   * `performance.now()` when the request arrived.
   */
  observe<R extends ProxyResponse>(response: R | Promise<R>, ex: ObservedExchange, route: ObservedRoute | undefined, started: number): R | Promise<R> {
    if (!(response instanceof Promise)) {
      this.#record(response, ex, route, started);
      return response;
    }
    return response.then((res) => {
      this.#record(res, ex, route, started);
      return res;
    });
  }

  /**
   * The listener's server refused a request itself (400, 408, 431, 501, 505...): counted with the
   * listener's answers and by reason, and logged as HAProxy logs it (`<BADREQ>` with the reason).
   */
  refused(refusal: Refusal): void {
    const stats = this.#stats;
    stats.listener.count(refusal.status);
    const key = `${refusal.status} ${refusal.reason}`;
    stats.refusals.set(key, (stats.refusals.get(key) ?? 0) + 1);
    const log = this.#log;
    if (log === undefined) return;
    log.writer.write(formatAccessEntry(log.format, {
      time: Date.now(),
      client: refusal.clientIp,
      method: refusal.method ?? BADREQ,
      host: refusal.host ?? "",
      path: refusal.path ?? "",
      status: refusal.status,
      bytes: -1,
      durationMs: 0,
      listener: this.#name,
      route: "",
      pool: "",
      server: "",
      requestId: "",
      retries: 0,
      referer: "",
      userAgent: "",
      reason: refusal.reason,
    }));
  }

  #record(res: ProxyResponse, ex: ObservedExchange, route: ObservedRoute | undefined, started: number): void {
    const ms = turnNow() - started;
    const status = res.status;
    const stats = this.#stats;
    stats.listener.record(status, ms);
    if (route !== undefined) {
      stats.routes[route.index]?.record(status, ms);
      stats.routePools[route.index]?.record(status, ms);
    }
    const log = this.#log;
    if (log === undefined) return;
    const headers = ex.req.headers;
    const length = res.headers.get("content-length");
    log.writer.write(formatAccessEntry(log.format, {
      time: Date.now() - ms,
      client: ex.clientIp,
      method: ex.req.method,
      host: headers.get("host") ?? "",
      path: ex.pathAndQuery,
      status,
      bytes: length === null ? (res.body === null ? 0 : -1) : Number(length),
      durationMs: ms,
      listener: this.#name,
      route: route?.name ?? "",
      pool: route?.pool ?? "",
      server: ex.server?.name ?? "",
      requestId: ex.requestId,
      retries: Math.max(0, (ex.attempts ?? 0) - 1),
      policy: ex.policy,
      referer: headers.get("referer") ?? "",
      userAgent: headers.get("user-agent") ?? "",
    }));
  }
}

/** The parts of an HTTP listener's config the observer is built from. */
export interface ObservedListenerConfig {
  name: string;
  routes: readonly { name?: string | undefined; pool?: string | undefined }[];
  access_log?: { format: AccessLogFormat; path: string } | undefined;
}

/** Builds the observer of a listener under a new config: its counters and its access log writer. */
export function buildListenerObserver(
  listener: ObservedListenerConfig,
  metrics: MetricsRegistry,
  accessLogs: AccessLogs,
  pools: ReadonlySet<string>,
): ListenerObserver {
  const routes = listener.routes.map((r, i) => ({ name: r.name ?? `route${i}`, pool: r.pool ?? "" }));
  const log = listener.access_log ? { writer: accessLogs.writer(listener.access_log.path), format: listener.access_log.format } : undefined;
  return new ListenerObserver(listener.name, metrics.forListener(listener.name, routes, pools), log);
}
