/**
 * The pieces of `workers: N` that need no process: worker count, the worker's config, counter
 * merging in the primary, and health records from the primary to a worker.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfigFile, loadConfigText } from "../../src/config/load.ts";
import type { HealthConfig } from "../../src/config/schema.ts";
import { MetricsRegistry } from "../../src/observe/metrics.ts";
import type { Pool } from "../../src/pool/pool.ts";
import type { ServerState } from "../../src/pool/server-state.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { CounterMerger, takeSnapshot, type CounterSource } from "../../src/workers/counters.ts";
import { HealthDiff, RemoteHealth } from "../../src/workers/health-sync.ts";
import { configForWorkers, resolveWorkerCount } from "../../src/workers/worker-config.ts";
import { serverFor } from "../helpers/health-backends.ts";
import { ROOT } from "../helpers/tenbin.ts";

/** A pool as far as the workers code reads one: name, servers, wake. */
function fakePool(name: string, servers: ServerState[]): Pool & { wakes: number } {
  const pool = { name, servers, wakes: 0, wake: () => void pool.wakes++ };
  return pool as unknown as Pool & { wakes: number };
}

function source(pools: Pool[], l4: Record<string, object> = {}): CounterSource & { metrics: MetricsRegistry } {
  return { metrics: new MetricsRegistry(), pools: new Map(pools.map((p) => [p.name, p])), l4Stats: new Map(Object.entries(l4)) };
}

const HEALTH = { initial: "down" } as HealthConfig;

describe("worker count and config", () => {
  test("auto is one process per core, capped at 64; a number is taken as is", () => {
    expect(resolveWorkerCount("auto", () => 8)).toBe(8);
    expect(resolveWorkerCount("auto", () => 200)).toBe(64);
    expect(resolveWorkerCount(3, () => 8)).toBe(3);
    expect(loadConfigText("listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: p }] }]\npools: { p: { servers: [{ url: http://127.0.0.1:1 }] } }\n", "t.yaml", {}).workers).toBe(1);
  });

  test("a worker's config: port 0 pinned to the primary's, no UDP, no admin, no watch", () => {
    const config = loadConfigText(`workers: 4
watch: true
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: p }] }
  - { name: fixed, listen: 127.0.0.1:8123, routes: [{ pool: p }] }
  - { name: db, listen: 127.0.0.1:0, mode: tcp, pool: t }
  - { name: dns, listen: 127.0.0.1:0, mode: udp, pool: u }
pools:
  p: { servers: [{ url: http://127.0.0.1:1 }] }
  t: { servers: [{ url: tcp://127.0.0.1:2 }] }
  u: { servers: [{ url: udp://127.0.0.1:3 }] }
`, "t.yaml", {});
    const worker = configForWorkers(config, [{ name: "web", port: 4001 }, { name: "fixed", port: 8123 }, { name: "db", port: 4002 }, { name: "dns", port: 4003 }]);
    expect(worker.listeners.map((l) => `${l.name} ${l.listen.port}`)).toEqual(["web 4001", "fixed 8123", "db 4002"]);
    expect(worker.admin.enabled).toBe(false);
    expect(worker.watch).toBe(false);
    expect(config.listeners[0]!.listen.port).toBe(0); // the primary's config is left alone
    expect(config.admin.enabled).toBe(true);
  });

  test("a config crosses the IPC channel (structured clone) unchanged", async () => {
    const config = await loadConfigFile(join(ROOT, "config/examples/full.yaml"), { ...process.env, TENBIN_ADMIN_TOKEN: "t", TENBIN_COOKIE_KEY: "k".repeat(32) });
    expect(structuredClone(config)).toEqual(config);
    expect(readFileSync(join(ROOT, "config/examples/workers.yaml"), "utf8")).toContain("workers: auto");
  });
});

describe("counter totals", () => {
  test("the primary adds what grew since each worker's previous snapshot", () => {
    const workerServer = serverFor("http://127.0.0.1:9001");
    const worker = source([fakePool("app", [workerServer])], { db: { accepted: 0, bytesFromClients: 0 } });
    const primaryServer = serverFor("http://127.0.0.1:9001");
    const primary = source([fakePool("app", [primaryServer])], { db: { accepted: 5, bytesFromClients: 50 } });
    primary.metrics.listener("web").record(200, 3); // the primary's own request
    primary.metrics.route("web", "route0");
    const merger = new CounterMerger();

    worker.metrics.listener("web").record(200, 2);
    worker.metrics.listener("web").record(503, 700);
    worker.metrics.route("web", "route0").record(200, 2);
    worker.metrics.route("web", "gone").record(200, 2); // the primary has no such route: skipped
    workerServer.requests = 2;
    workerServer.responses2xx = 1;
    workerServer.latency.observe(2);
    (worker.l4Stats.get("db") as { accepted: number }).accepted = 3;
    merger.merge(1, takeSnapshot(worker), primary);
    expect(primary.metrics.listener("web").total).toBe(3);
    expect([...primary.metrics.listener("web").byClass]).toEqual([0, 2, 0, 0, 1]);
    expect(primary.metrics.listener("web").latency.count).toBe(3);
    expect(primary.metrics.findRoute("web", "route0")!.total).toBe(1);
    expect(primary.metrics.findRoute("web", "gone")).toBeUndefined();
    expect(primaryServer.requests).toBe(2);
    expect(primaryServer.latency.sumMs).toBe(2);
    expect(primary.l4Stats.get("db")).toEqual({ accepted: 8, bytesFromClients: 50 });
    expect([merger.addedRequests, merger.addedConnections]).toEqual([2, 3]);

    // The same snapshot again adds nothing; one more request adds one.
    merger.merge(1, takeSnapshot(worker), primary);
    expect(primary.metrics.listener("web").total).toBe(3);
    worker.metrics.listener("web").record(200, 1);
    merger.merge(1, takeSnapshot(worker), primary);
    expect(primary.metrics.listener("web").total).toBe(4);
    expect(primaryServer.requests).toBe(2);
  });

  test("a counter object the worker replaced counts in full, and a restarted worker from zero", () => {
    const worker = source([]);
    const primary = source([]);
    primary.metrics.route("web", "r");
    const merger = new CounterMerger();
    for (let i = 0; i < 5; i++) worker.metrics.route("web", "r").record(200, 1);
    merger.merge(1, takeSnapshot(worker), primary);
    expect(primary.metrics.findRoute("web", "r")!.total).toBe(5);
    // A reload pruned the route and made it anew: 2 requests on the new object, fewer than before.
    worker.metrics.prune({ listeners: new Set(), routes: new Set(), pools: new Set() });
    worker.metrics.route("web", "r").record(200, 1);
    worker.metrics.route("web", "r").record(200, 1);
    merger.merge(1, takeSnapshot(worker), primary);
    expect(primary.metrics.findRoute("web", "r")!.total).toBe(7);
    // Worker 1 died; its successor reports fresh objects from zero.
    merger.forget(1);
    const successor = source([]);
    successor.metrics.route("web", "r").record(200, 1);
    merger.merge(1, takeSnapshot(successor), primary);
    expect(primary.metrics.findRoute("web", "r")!.total).toBe(8);
    // Access log drops add up too.
    successor.metrics.accessLogDropped = 4;
    merger.merge(1, takeSnapshot(successor), primary);
    expect(primary.metrics.accessLogDropped).toBe(4);
  });
});

describe("health from the primary", () => {
  test("the primary sends what changed, once; a worker applies it and wakes the pool", () => {
    const a = serverFor("http://127.0.0.1:9001");
    const b = serverFor("http://127.0.0.1:9002");
    const primaryPools = new Map([["app", fakePool("app", [a, b])]]);
    const diff = new HealthDiff();
    expect(diff.changes(primaryPools).map((h) => h.key)).toEqual([a.key, b.key]); // all new
    expect(diff.changes(primaryPools)).toEqual([]);
    b.healthy = false;
    a.drainOverride = true;
    a.weightOverride = 7;
    const changes = diff.changes(primaryPools);
    expect(changes).toEqual([
      { pool: "app", key: a.key, healthy: true, drain: true, disabled: false, weight: 7 },
      { pool: "app", key: b.key, healthy: false, drain: null, disabled: false, weight: null },
    ]);
    expect(diff.current().length).toBe(2);

    const clock = new FakeClock(1000);
    const wa = serverFor("http://127.0.0.1:9001", clock);
    const wb = serverFor("http://127.0.0.1:9002", clock);
    const workerPool = fakePool("app", [wa, wb]);
    const remote = new RemoteHealth(clock);
    remote.apply(changes, new Map([["app", workerPool]]));
    expect([wa.draining, wa.weight, wb.healthy, wb.isUsable()]).toEqual([true, 7, false, false]);
    expect(workerPool.wakes).toBe(1);
    // Back up: slow start ramps from now.
    clock.advance(500);
    remote.apply([{ ...changes[1]!, healthy: true }], new Map([["app", workerPool]]));
    expect([wb.healthy, wb.upSince]).toEqual([true, 1500]);
  });

  test("a server built later takes the primary's last word, else the pool's initial state", () => {
    const clock = new FakeClock();
    const remote = new RemoteHealth(clock);
    const known = serverFor("http://127.0.0.1:9001", clock);
    remote.apply([{ pool: "app", key: known.key, healthy: true, drain: null, disabled: true, weight: null }], undefined);
    remote.seed("app", known, HEALTH);
    expect([known.healthy, known.disabled]).toEqual([true, true]);
    const fresh = serverFor("http://127.0.0.1:9002", clock);
    remote.seed("app", fresh, HEALTH);
    expect(fresh.healthy).toBe(false); // initial: down, as the primary's probes begin
  });
});
