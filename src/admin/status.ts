/**
 * `GET /api/status`: the whole running state as JSON — listeners, routes, pools, servers (state,
 * weight, in flight, totals by status class, EWMA, last probe), last reload. The dashboard polls it.
 */
import { configDigest } from "../config/digest.ts";
import { daysLeft } from "../tls/cert-status.ts";
import { formatAddress } from "./format.ts";
import type { Pool } from "../pool/pool.ts";
import type { ServerState, ServerStatus } from "../pool/server-state.ts";
import type { L4Stats } from "../listener/l4.ts";
import type { MetricsRegistry, RequestStats } from "../observe/metrics.ts";
import { POLICY_OUTCOMES } from "../observe/policy-metrics.ts";
import type { ReloadResult } from "./reloader.ts";
import type { AdminView } from "./view.ts";

/** Requests by status class. */
export interface ClassCounts {
  total: number;
  "1xx": number;
  "2xx": number;
  "3xx": number;
  "4xx": number;
  "5xx": number;
}

/** One server in `/api/status`. */
export interface ServerStatusJson {
  name: string;
  url: string;
  status: ServerStatus;
  weight: number;
  config_weight: number;
  backup: boolean;
  in_flight: number;
  max_conns: number;
  /** Attempts sent (retries count again). */
  requests: number;
  responses: ClassCounts;
  /** Attempts that got no response (connect error, timeout, reset). */
  failures: number;
  /** EWMA of the time to first byte; null before the first response. */
  ewma_ms: number | null;
  /** Count and sum of response times, for rates between two polls. */
  latency: { count: number; sum_ms: number };
  last_reason: string;
  probe: { ok: boolean; latency_ms: number; age_ms: number; reason: string; probes: number; failures: number } | null;
  overrides: { drain: boolean | null; disabled: boolean; weight: number | null };
}

/** One pool in `/api/status`. */
export interface PoolStatusJson {
  name: string;
  balance: string;
  queued: number;
  in_flight: number;
  healthy: number;
  requests: ClassCounts;
  servers: ServerStatusJson[];
}

/** The whole `/api/status` document. */
export interface StatusJson {
  version: string;
  runtime: string;
  time: string;
  uptime_s: number;
  accepting: boolean;
  /** `sha256:<hex>` of the config in force (src/config/digest.ts): differs when two nodes' configs do. */
  config_digest: string;
  reload: ReloadResult | null;
  listeners: {
    name: string;
    listen: string;
    bound: { hostname: string; port: number } | null;
    mode: string;
    /** HTTP requests (zero for L4 listeners: see `l4`). */
    requests: ClassCounts;
    /**
     * Counters of a TCP or UDP listener, snake_case: TCP `accepted`, `refused`, `bad_proxy_header`, `bad_hello`,
     * `no_server`, `idle_closed`, `bytes_from_clients`, `bytes_to_clients`; UDP `flows_created`,
     * `flows_expired`, `flows_refused`, `from_clients`, `to_servers`, `from_servers`, `to_clients`,
     * `dropped` (datagrams). Null for HTTP listeners and for an L4 listener not bound.
     */
    l4: Record<string, number> | null;
    /** `policies`: each policy set's non-zero outcome counts (see `POLICY_OUTCOMES`), when the route has policies. */
    routes: { name: string; pool: string; requests: ClassCounts; policies?: Record<string, Record<string, number>> }[];
  }[];
  pools: PoolStatusJson[];
  /**
   * With `workers: N`: one entry per process. Request counters everywhere else in this document are
   * totals over all of them (gauges such as `in_flight` and `queued` are the primary's own).
   */
  workers?: readonly WorkerStatusJson[];
  /**
   * Certificates of the TLS listeners: `not_after` (ISO time, null while an ACME host has none
   * yet), `days_left`, `source` (file or acme) and failed ACME orders since start.
   */
  certificates: { listener: string; host: string; source: string; not_after: string | null; days_left: number | null; order_failures: number }[];
}

/** One process of `workers: N` in `/api/status`. */
export interface WorkerStatusJson {
  /** 0 = the primary (admin plane, probes, UDP listeners); 1..N-1 = workers. */
  id: number;
  /** null while a worker is being restarted. */
  pid: number | null;
  state: "starting" | "running" | "restarting" | "stopped";
  /** HTTP requests this process answered (as of its last report, sent each second). */
  requests: number;
  /** TCP connections this process accepted. */
  connections: number;
  /** Times this worker was restarted after it died. */
  restarts: number;
}

/** Builds the status document of `view` at `now`. */
export function buildStatus(view: AdminView, info: { version: string; runtime: string; now: number; startedAt: number }): StatusJson {
  const metrics = view.metrics;
  const bound = new Map(view.listeners.map((l) => [l.name, l]));
  return {
    version: info.version,
    runtime: info.runtime,
    time: new Date(info.now).toISOString(),
    uptime_s: Math.round((info.now - info.startedAt) / 1000),
    accepting: view.accepting,
    config_digest: configDigest(view.config),
    reload: view.lastReload ?? null,
    listeners: view.config.listeners.map((l) => {
      const b = bound.get(l.name);
      return {
        name: l.name,
        listen: formatAddress(l.listen),
        bound: b ? { hostname: b.hostname, port: b.port } : null,
        requests: classCounts(metrics.listeners.get(l.name)),
        l4: l.mode === "http" ? null : l4Counts(view.l4Stats.get(l.name)),
        mode: l.mode,
        routes: (l.mode === "http" ? l.routes : []).map((r, i) => {
          const name = r.name ?? `route${i}`;
          const policies = policyCounts(metrics, l.name, name);
          return { name, pool: r.pool ?? "", requests: classCounts(metrics.findRoute(l.name, name)), ...(policies ? { policies } : {}) };
        }),
      };
    }),
    pools: [...view.pools.values()].map((pool) => poolStatus(pool, metrics.pools.get(pool.name))),
    ...(view.workers ? { workers: view.workers } : {}),
    certificates: (view.certificates ?? []).map((c) => ({
      listener: c.listener,
      host: c.host,
      source: c.source,
      not_after: c.notAfter === undefined ? null : new Date(c.notAfter).toISOString(),
      days_left: c.notAfter === undefined ? null : daysLeft(c.notAfter, info.now),
      order_failures: c.orderFailures,
    })),
  };
}

function poolStatus(pool: Pool, stats: RequestStats | undefined): PoolStatusJson {
  let inFlight = 0;
  let healthy = 0;
  for (const s of pool.servers) {
    inFlight += s.inFlight;
    if (s.isUsable()) healthy++;
  }
  return {
    name: pool.name,
    balance: pool.config.balance,
    queued: pool.queued,
    in_flight: inFlight,
    healthy,
    requests: classCounts(stats),
    servers: pool.servers.map((s) => serverStatus(pool, s)),
  };
}

/** One server's status entry (also the answer of the runtime-change endpoints). */
export function serverStatus(pool: Pool, s: ServerState): ServerStatusJson {
  const probe = pool.active?.stats(s);
  return {
    name: s.name,
    url: s.config.url,
    status: s.status(),
    weight: s.weight,
    config_weight: s.config.weight,
    backup: s.backup,
    in_flight: s.inFlight,
    max_conns: s.maxConns,
    requests: s.requests,
    responses: {
      total: s.responses1xx + s.responses2xx + s.responses3xx + s.responses4xx + s.responses5xx,
      "1xx": s.responses1xx,
      "2xx": s.responses2xx,
      "3xx": s.responses3xx,
      "4xx": s.responses4xx,
      "5xx": s.responses5xx,
    },
    failures: s.failures,
    ewma_ms: s.ewmaMs < 0 ? null : round(s.ewmaMs),
    latency: { count: s.latency.count, sum_ms: round(s.latency.sumMs) },
    last_reason: s.lastReason,
    probe: probe && probe.lastProbeAt >= 0
      ? {
        ok: probe.consecutiveFailures === 0,
        latency_ms: round(probe.lastLatencyMs),
        age_ms: Math.round(s.clock.now() - probe.lastProbeAt),
        reason: probe.consecutiveFailures === 0 ? "" : probe.lastReason,
        probes: probe.probes,
        failures: probe.failures,
      }
      : null,
    overrides: { drain: s.drainOverride ?? null, disabled: s.disabled, weight: s.weightOverride ?? null },
  };
}

function classCounts(stats: RequestStats | undefined): ClassCounts {
  const b = stats?.byClass;
  return {
    total: stats?.total ?? 0,
    "1xx": b?.[0] ?? 0,
    "2xx": b?.[1] ?? 0,
    "3xx": b?.[2] ?? 0,
    "4xx": b?.[3] ?? 0,
    "5xx": b?.[4] ?? 0,
  };
}

// Every numeric field, so a counter added to a listener shows without a change here.
function l4Counts(stats: L4Stats | undefined): Record<string, number> | null {
  if (!stats) return null;
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(stats)) {
    if (typeof value === "number") out[name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  }
  return out;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** The outcome counts of a route's policy sets, or undefined when it has none. */
function policyCounts(metrics: MetricsRegistry, listener: string, route: string): Record<string, Record<string, number>> | undefined {
  let out: Record<string, Record<string, number>> | undefined;
  for (const [l, r, policy, stats] of metrics.policies.entries()) {
    if (l !== listener || r !== route) continue;
    const counts: Record<string, number> = {};
    for (const outcome of POLICY_OUTCOMES) if (stats.get(outcome) > 0) counts[outcome] = stats.get(outcome);
    (out ??= {})[policy] = counts;
  }
  return out;
}
