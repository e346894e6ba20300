/**
 * `GET /metrics` in the Prometheus text exposition format (0.0.4). Labels are put together here, at
 * scrape time, from the counters the request path keeps in preallocated arrays.
 */
import { LATENCY_BUCKETS_MS, type LatencyHistogram, STATUS_CLASSES } from "../observe/metrics.ts";
import type { TcpListenerStats } from "../listener/tcp.ts";
import type { UdpListenerStats } from "../listener/udp.ts";
import { configDigest } from "../config/digest.ts";
import { type ProcessMetrics, readProcessMetrics } from "../observe/process-metrics.ts";
import { labelValue } from "./format.ts";
import { POLICY_OUTCOMES } from "../observe/policy-metrics.ts";
import type { AdminView } from "./view.ts";

/** Content-Type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const LE = [...LATENCY_BUCKETS_MS.map((ms) => String(ms / 1000)), "+Inf"];

/** Collects metric families; each family's HELP and TYPE come once, before its samples. */
class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Record<string, string>, value: number): this {
    this.#lines.push(`${name}${renderLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  histogram(name: string, labels: Record<string, string>, h: LatencyHistogram): this {
    let cumulative = 0;
    for (let i = 0; i < LE.length; i++) {
      cumulative += h.counts[i]!;
      this.sample(`${name}_bucket`, { ...labels, le: LE[i]! }, cumulative);
    }
    this.sample(`${name}_sum`, labels, h.sumMs / 1000);
    this.sample(`${name}_count`, labels, h.count);
    return this;
  }

  text(): string {
    return this.#lines.join("\n") + "\n";
  }
}

/** The standard process families (this process's own, also with `workers`). */
function renderProcess(out: Exposition, p: ProcessMetrics): void {
  out.family("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds").sample("process_cpu_seconds_total", {}, p.cpuSeconds);
  out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes").sample("process_resident_memory_bytes", {}, p.residentBytes);
  if (p.openFds !== undefined) out.family("process_open_fds", "gauge", "Open file descriptors").sample("process_open_fds", {}, p.openFds);
  if (p.maxFds !== undefined) out.family("process_max_fds", "gauge", "Limit of open file descriptors").sample("process_max_fds", {}, p.maxFds);
  out.family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds").sample("process_start_time_seconds", {}, p.startTimeSeconds);
}

function renderLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** The whole `/metrics` page of `view`. */
export function renderMetrics(view: AdminView, info: { version: string; runtime: string }): string {
  const out = new Exposition();
  const { metrics } = view;
  out.family("tenbin_build_info", "gauge", "Version and runtime of this tenbin").sample("tenbin_build_info", info, 1);
  // The digest as a label: `count(count by (digest) (tenbin_config_info)) > 1` finds nodes that disagree.
  out.family("tenbin_config_info", "gauge", "Digest (sha256) of the config in force").sample("tenbin_config_info", { digest: configDigest(view.config) }, 1);
  renderProcess(out, readProcessMetrics());

  out.family("tenbin_listener_open_connections", "gauge", "Client connections open now (UDP: flows); listeners on the runtime's HTTP server do not tell");
  for (const l of view.listeners) if (l.openConnections !== undefined) out.sample("tenbin_listener_open_connections", { listener: l.name }, l.openConnections);

  const bound = new Set(view.listeners.map((l) => l.name));
  out.family("tenbin_listener_up", "gauge", "1 when the listener is bound");
  for (const l of view.config.listeners) out.sample("tenbin_listener_up", { listener: l.name }, bound.has(l.name) ? 1 : 0);

  out.family("tenbin_listener_requests_total", "counter", "Requests answered by an HTTP listener, by status class");
  for (const [listener, stats] of metrics.listeners) {
    STATUS_CLASSES.forEach((cls, i) => out.sample("tenbin_listener_requests_total", { listener, class: cls }, stats.byClass[i]!));
  }
  out.family("tenbin_listener_refusals_total", "counter", "Requests an HTTP listener refused itself (malformed, too large, too slow), by status and reason; also counted in tenbin_listener_requests_total");
  for (const [listener, refusals] of metrics.refusals) {
    for (const [key, count] of refusals) {
      const cut = key.indexOf(" ");
      out.sample("tenbin_listener_refusals_total", { listener, status: key.slice(0, cut), reason: key.slice(cut + 1) }, count);
    }
  }
  out.family("tenbin_route_requests_total", "counter", "Requests answered on a route, by status class");
  for (const [listener, route, stats] of metrics.routes()) {
    const config = view.config.listeners.find((l) => l.name === listener);
    const pool = config?.mode === "http" ? config.routes.find((r, i) => (r.name ?? `route${i}`) === route)?.pool ?? "" : "";
    STATUS_CLASSES.forEach((cls, i) => out.sample("tenbin_route_requests_total", { listener, route, pool, class: cls }, stats.byClass[i]!));
  }

  out.family("tenbin_pool_requests_total", "counter", "Requests routed to a pool, by the status class of the answer");
  for (const [pool, stats] of metrics.pools) {
    STATUS_CLASSES.forEach((cls, i) => out.sample("tenbin_pool_requests_total", { pool, class: cls }, stats.byClass[i]!));
  }
  out.family("tenbin_pool_response_seconds", "histogram", "Time from request to response headers, per pool (retries and queueing included)");
  for (const [pool, stats] of metrics.pools) out.histogram("tenbin_pool_response_seconds", { pool }, stats.latency);
  out.family("tenbin_pool_queue_length", "gauge", "Requests waiting for a free server");
  for (const pool of view.pools.values()) out.sample("tenbin_pool_queue_length", { pool: pool.name }, pool.queued);
  out.family("tenbin_pool_available_servers", "gauge", "Servers that can take new requests");
  for (const pool of view.pools.values()) out.sample("tenbin_pool_available_servers", { pool: pool.name }, pool.servers.filter((s) => s.isUsable()).length);

  renderServers(out, view);

  const reload = view.lastReload;
  out.family("tenbin_reloads_total", "counter", "Config reloads, by result")
    .sample("tenbin_reloads_total", { result: "success" }, metrics.reloads.succeeded)
    .sample("tenbin_reloads_total", { result: "failure" }, metrics.reloads.failed);
  if (reload) {
    out.family("tenbin_last_reload_success", "gauge", "1 when the latest reload succeeded").sample("tenbin_last_reload_success", {}, reload.ok ? 1 : 0);
    out.family("tenbin_last_reload_timestamp_seconds", "gauge", "When the latest reload finished")
      .sample("tenbin_last_reload_timestamp_seconds", {}, Date.parse(reload.at) / 1000);
  }

  renderL4(out, view);
  renderPolicies(out, view);
  out.family("tenbin_access_log_dropped_total", "counter", "Access log lines dropped because the writer fell behind")
    .sample("tenbin_access_log_dropped_total", {}, metrics.accessLogDropped);
  return out.text();
}

function renderPolicies(out: Exposition, view: AdminView): void {
  const entries = [...view.metrics.policies.entries()];
  out.family("tenbin_policy_outcomes_total", "counter", "What a route's edge policies did: redirect, respond, forbidden (403), unauthorized (401), rate_limited (429), compressed, redis_fallback (counted locally)");
  for (const [listener, route, policy, stats] of entries) {
    for (const outcome of POLICY_OUTCOMES) {
      if (outcome !== "compress_saved_bytes") out.sample("tenbin_policy_outcomes_total", { listener, route, policy, outcome }, stats.get(outcome));
    }
  }
  out.family("tenbin_policy_compression_saved_bytes_total", "counter", "Bytes compression kept off the wire (before minus after)");
  for (const [listener, route, policy, stats] of entries) {
    out.sample("tenbin_policy_compression_saved_bytes_total", { listener, route, policy }, stats.get("compress_saved_bytes"));
  }
}

function renderL4(out: Exposition, view: AdminView): void {
  const tcp: [string, TcpListenerStats][] = [];
  const udp: [string, UdpListenerStats][] = [];
  for (const [name, stats] of view.l4Stats) {
    if ("accepted" in stats) tcp.push([name, stats]);
    else udp.push([name, stats]);
  }
  const counter = (name: string, help: string, values: [string, number][]) => {
    out.family(name, "counter", help);
    for (const [listener, value] of values) out.sample(name, { listener }, value);
  };
  counter("tenbin_l4_connections_total", "Connections (TCP) or flows (UDP) an L4 listener accepted", [
    ...tcp.map(([l, s]): [string, number] => [l, s.accepted]),
    ...udp.map(([l, s]): [string, number] => [l, s.flowsCreated]),
  ]);
  counter("tenbin_l4_refused_total", "Connections closed at accept (max_conns, untrusted PROXY peer) or UDP flows refused (table full, no server)", [
    ...tcp.map(([l, s]): [string, number] => [l, s.refused]),
    ...udp.map(([l, s]): [string, number] => [l, s.flowsRefused]),
  ]);
  counter("tenbin_l4_idle_closed_total", "Connections or UDP flows ended by the idle timeout", [
    ...tcp.map(([l, s]): [string, number] => [l, s.idleClosed]),
    ...udp.map(([l, s]): [string, number] => [l, s.flowsExpired]),
  ]);
  counter("tenbin_l4_bad_proxy_header_total", "TCP connections closed for a missing or malformed PROXY header", tcp.map(([l, s]) => [l, s.badProxyHeader]));
  counter("tenbin_l4_bad_tls_hello_total", "TCP connections (sni/alpn routes) closed for no TLS, a truncated or oversized ClientHello, or none in time", tcp.map(([l, s]) => [l, s.badHello]));
  const certificates = view.certificates ?? [];
  out.family("tenbin_certificate_expiry_timestamp_seconds", "gauge", "When each served certificate expires (Unix time); ACME hosts without a certificate yet have no sample");
  for (const c of certificates) if (c.notAfter !== undefined) out.sample("tenbin_certificate_expiry_timestamp_seconds", { listener: c.listener, host: c.host, source: c.source }, Math.floor(c.notAfter / 1000));
  out.family("tenbin_acme_order_failures_total", "counter", "Failed ACME orders (and renewals) per host since start");
  for (const c of certificates) if (c.source === "acme") out.sample("tenbin_acme_order_failures_total", { listener: c.listener, host: c.host }, c.orderFailures);
  counter("tenbin_l4_no_server_total", "TCP connections closed because no server could be connected to", tcp.map(([l, s]) => [l, s.noServer]));
  out.family("tenbin_l4_bytes_total", "counter", "Bytes relayed by a TCP listener (in: client to server, out: server to client)");
  for (const [listener, s] of tcp) {
    out.sample("tenbin_l4_bytes_total", { listener, direction: "in" }, s.bytesFromClients);
    out.sample("tenbin_l4_bytes_total", { listener, direction: "out" }, s.bytesToClients);
  }
  out.family("tenbin_l4_datagrams_total", "counter", "Datagrams relayed by a UDP listener, by leg");
  for (const [listener, s] of udp) {
    out.sample("tenbin_l4_datagrams_total", { listener, direction: "from_client" }, s.fromClients);
    out.sample("tenbin_l4_datagrams_total", { listener, direction: "to_server" }, s.toServers);
    out.sample("tenbin_l4_datagrams_total", { listener, direction: "from_server" }, s.fromServers);
    out.sample("tenbin_l4_datagrams_total", { listener, direction: "to_client" }, s.toClients);
  }
  counter("tenbin_l4_dropped_total", "Datagrams a UDP listener dropped (socket backpressure, beyond a new flow's early buffer, refused flows)", udp.map(([l, s]) => [l, s.dropped]));
}

function renderServers(out: Exposition, view: AdminView): void {
  const pools = [...view.pools.values()];
  const each = (fn: (labels: Record<string, string>, s: (typeof pools)[number]["servers"][number], pool: (typeof pools)[number]) => void) => {
    for (const pool of pools) for (const s of pool.servers) fn({ pool: pool.name, server: s.name }, s, pool);
  };
  /** A family with one sample a server. */
  const simple = (name: string, type: "counter" | "gauge", help: string, value: (s: (typeof pools)[number]["servers"][number]) => number) => {
    out.family(name, type, help);
    each((l, s) => out.sample(name, l, value(s)));
  };
  simple("tenbin_server_up", "gauge", "1 when the server takes new requests (healthy, not ejected, draining or disabled)", (s) => (s.isUsable() ? 1 : 0));
  simple("tenbin_server_healthy", "gauge", "Active health verdict (1 up, 0 down)", (s) => (s.healthy ? 1 : 0));
  simple("tenbin_server_weight", "gauge", "Weight in force (admin override or config)", (s) => s.weight);
  simple("tenbin_server_in_flight", "gauge", "Requests or L4 connections in flight", (s) => s.inFlight);
  simple("tenbin_server_requests_total", "counter", "Attempts sent to the server (each retry counts)", (s) => s.requests);
  out.family("tenbin_server_responses_total", "counter", "Responses from the server, by status class");
  each((l, s) => {
    const counts = [s.responses1xx, s.responses2xx, s.responses3xx, s.responses4xx, s.responses5xx];
    STATUS_CLASSES.forEach((cls, i) => out.sample("tenbin_server_responses_total", { ...l, class: cls }, counts[i]!));
  });
  simple("tenbin_server_failures_total", "counter", "Attempts without a response (connect error, timeout, reset)", (s) => s.failures);
  out.family("tenbin_server_response_seconds", "histogram", "Time to the server's response headers");
  each((l, s) => out.histogram("tenbin_server_response_seconds", l, s.latency));
  out.family("tenbin_server_ewma_response_seconds", "gauge", "EWMA of the time to response headers (least_time's input)");
  each((l, s) => {
    if (s.ewmaMs >= 0) out.sample("tenbin_server_ewma_response_seconds", l, s.ewmaMs / 1000);
  });
  out.family("tenbin_server_probes_total", "counter", "Active health probes since the pool was built, by result");
  each((l, s, pool) => {
    const stats = pool.active?.stats(s);
    if (!stats) return;
    out.sample("tenbin_server_probes_total", { ...l, result: "pass" }, stats.probes - stats.failures);
    out.sample("tenbin_server_probes_total", { ...l, result: "fail" }, stats.failures);
  });
  out.family("tenbin_server_last_probe_success", "gauge", "1 when the latest probe passed");
  each((l, s, pool) => {
    const stats = pool.active?.stats(s);
    if (stats && stats.lastProbeAt >= 0) out.sample("tenbin_server_last_probe_success", l, stats.consecutiveFailures === 0 ? 1 : 0);
  });
}
