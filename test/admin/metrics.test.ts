import { describe, expect, test } from "bun:test";
import { labelValue } from "../../src/admin/format.ts";
import { LATENCY_BUCKETS_MS, LatencyHistogram, MetricsRegistry, RequestStats } from "../../src/observe/metrics.ts";
import { makeAdmin, TWO_POOLS } from "./admin-support.ts";

describe("LatencyHistogram", () => {
  test("puts each observation in the first bucket whose bound it does not exceed", () => {
    const h = new LatencyHistogram();
    h.observe(0.2);
    h.observe(1); // on the bound: le="0.001"
    h.observe(1.01);
    h.observe(99_999); // past every bound: +Inf
    expect(h.counts.length).toBe(LATENCY_BUCKETS_MS.length + 1);
    expect(h.counts[0]).toBe(2);
    expect(h.counts[1]).toBe(1);
    expect(h.counts[LATENCY_BUCKETS_MS.length]).toBe(1);
    expect(h.count).toBe(4);
    expect(h.sumMs).toBeCloseTo(100_001.21, 5);
  });
});

describe("RequestStats", () => {
  test("counts by status class", () => {
    const s = new RequestStats();
    for (const status of [101, 200, 204, 301, 404, 499, 500, 599]) s.record(status, 1);
    expect([...s.byClass]).toEqual([1, 2, 1, 2, 2]);
    expect(s.total).toBe(8);
  });
});

describe("MetricsRegistry", () => {
  test("hands out the same counters for the same names, so a reload keeps them", () => {
    const m = new MetricsRegistry();
    const a = m.forListener("web", [{ name: "r0", pool: "app" }, { name: "r1", pool: "gone" }], new Set(["app"]));
    const b = m.forListener("web", [{ name: "r0", pool: "app" }], new Set(["app"]));
    expect(b.listener).toBe(a.listener);
    expect(b.routes[0]).toBe(a.routes[0]!);
    expect(b.routePools[0]).toBe(m.pool("app"));
    expect(a.routePools[1]).toBeUndefined();
  });

  test("prune forgets what the new config no longer has", () => {
    const m = new MetricsRegistry();
    m.forListener("web", [{ name: "r0", pool: "app" }], new Set(["app"]));
    m.forListener("old", [{ name: "r0", pool: "old" }], new Set(["old"]));
    m.prune({ listeners: new Set(["web"]), routes: new Set([MetricsRegistry.routeKey("web", "r0")]), pools: new Set(["app"]) });
    expect([...m.listeners.keys()]).toEqual(["web"]);
    expect([...m.routes()].map(([l, r]) => `${l}/${r}`)).toEqual(["web/r0"]);
    expect([...m.pools.keys()]).toEqual(["app"]);
  });
});

describe("GET /metrics", () => {
  test("renders counters, gauges and cumulative histograms in the text format", async () => {
    const { request, server, view } = makeAdmin(TWO_POOLS);
    const stats = view.metrics.forListener("web", [{ name: "api", pool: "api" }, { name: "route1", pool: "web" }], new Set(["web", "api"]));
    stats.listener.record(200, 3);
    stats.listener.record(502, 30);
    stats.routes[1]!.record(200, 3);
    stats.routePools[1]!.record(200, 3);
    const s = server("web", 1);
    s.requests = 2;
    s.countStatus(200);
    s.latency.observe(4);
    s.latency.observe(400);
    server("web", 0).healthy = false;
    view.metrics.reloads.succeeded = 3;
    view.metrics.reloads.failed = 1;
    view.l4Stats.set("db", { accepted: 5, refused: 1, badProxyHeader: 2, badHello: 0, noServer: 0, idleClosed: 0, bytesFromClients: 100, bytesToClients: 7 });
    view.l4Stats.set("dns", { flowsCreated: 4, flowsExpired: 1, flowsRefused: 3, fromClients: 9, toServers: 8, fromServers: 6, toClients: 6, dropped: 1 });

    const res = await request("/metrics");
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    const lines = text.trimEnd().split("\n");
    const value = (series: string) => {
      const line = lines.find((l) => l.startsWith(`${series} `));
      if (line === undefined) throw new Error(`no series ${series} in:\n${text}`);
      return Number(line.slice(series.length + 1));
    };
    expect(value('tenbin_listener_requests_total{listener="web",class="2xx"}')).toBe(1);
    expect(value('tenbin_listener_requests_total{listener="web",class="5xx"}')).toBe(1);
    expect(value('tenbin_route_requests_total{listener="web",route="route1",pool="web",class="2xx"}')).toBe(1);
    expect(value('tenbin_pool_requests_total{pool="web",class="2xx"}')).toBe(1);
    expect(value('tenbin_server_up{pool="web",server="10.0.0.1:8080"}')).toBe(0);
    expect(value('tenbin_server_up{pool="web",server="web-2"}')).toBe(1);
    expect(value('tenbin_server_weight{pool="web",server="web-2"}')).toBe(3);
    expect(value('tenbin_server_requests_total{pool="web",server="web-2"}')).toBe(2);
    expect(value('tenbin_server_responses_total{pool="web",server="web-2",class="2xx"}')).toBe(1);
    expect(value('tenbin_server_response_seconds_bucket{pool="web",server="web-2",le="0.005"}')).toBe(1);
    expect(value('tenbin_server_response_seconds_bucket{pool="web",server="web-2",le="0.5"}')).toBe(2);
    expect(value('tenbin_server_response_seconds_bucket{pool="web",server="web-2",le="+Inf"}')).toBe(2);
    expect(value('tenbin_server_response_seconds_count{pool="web",server="web-2"}')).toBe(2);
    expect(value('tenbin_server_response_seconds_sum{pool="web",server="web-2"}')).toBeCloseTo(0.404, 6);
    expect(value('tenbin_pool_queue_length{pool="web"}')).toBe(0);
    expect(value('tenbin_reloads_total{result="success"}')).toBe(3);
    expect(value('tenbin_reloads_total{result="failure"}')).toBe(1);
    expect(value("tenbin_last_reload_success")).toBe(1);
    expect(value('tenbin_l4_connections_total{listener="db"}')).toBe(5);
    expect(value('tenbin_l4_refused_total{listener="db"}')).toBe(1);
    expect(value('tenbin_l4_bad_proxy_header_total{listener="db"}')).toBe(2);
    expect(value('tenbin_l4_bytes_total{listener="db",direction="in"}')).toBe(100);
    expect(value('tenbin_l4_bytes_total{listener="db",direction="out"}')).toBe(7);
    expect(value('tenbin_l4_connections_total{listener="dns"}')).toBe(4);
    expect(value('tenbin_l4_refused_total{listener="dns"}')).toBe(3);
    expect(value('tenbin_l4_datagrams_total{listener="dns",direction="to_server"}')).toBe(8);
    expect(value('tenbin_l4_dropped_total{listener="dns"}')).toBe(1);

    // Every sample's family was declared before it, once.
    const declared = new Set<string>();
    for (const line of lines) {
      if (line.startsWith("# TYPE ")) {
        const name = line.split(" ")[2]!;
        expect(declared.has(name)).toBe(false);
        declared.add(name);
      } else if (!line.startsWith("#")) {
        const name = line.split(/[{ ]/)[0]!.replace(/_(bucket|sum|count)$/, "");
        expect(declared.has(name) || declared.has(line.split(/[{ ]/)[0]!)).toBe(true);
      }
    }
  });

  test("escapes label values", () => {
    expect(labelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});
