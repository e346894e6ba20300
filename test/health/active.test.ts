import { afterEach, describe, expect, test } from "bun:test";
import { healthSchema } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { ActiveHealth, type ActiveHealthOptions } from "../../src/pool/health/active.ts";
import type { ServerState } from "../../src/pool/server-state.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { closedPort, hang, serverFor, startHttpBackend, waitUntil, type HttpBackend } from "../helpers/health-backends.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function backend(): HttpBackend {
  const b = startHttpBackend();
  cleanups.push(() => b.stop());
  return b;
}

/** A started checker over `servers`, with fast probes unless `health` says otherwise. */
function checker(servers: ServerState[], health: Record<string, unknown>, extra: Partial<ActiveHealthOptions> = {}) {
  const logger = memoryLogger();
  const changes: string[] = [];
  /** Counters as they were when each change happened (later probes move the live ones). */
  const atChange: { probes: number; consecutivePasses: number; consecutiveFailures: number }[] = [];
  const active = new ActiveHealth({
    poolName: "api",
    servers,
    config: healthSchema.parse({ interval: "20ms", timeout: "200ms", jitter: 0, ...health }),
    fetch: bunRuntime.fetchUpstream,
    logger,
    onChange: (s, up, reason) => {
      changes.push(`${s.name} ${up ? "up" : "down"} ${reason}`);
      atChange.push({ ...active.stats(s)! });
    },
    ...extra,
  });
  cleanups.push(() => active.stop());
  return { active, logger, changes, atChange, lines: (word: string) => logger.lines.filter((l) => l.includes(word)) };
}

describe("ActiveHealth", () => {
  test("fall failures take a server down and rise passes bring it back, each logged once", async () => {
    const b = backend();
    const server = serverFor(b.url, undefined, "api-1");
    const { active, changes, atChange, lines } = checker([server], { http: { path: "/health" }, rise: 2, fall: 3 });
    active.start();
    await waitUntil(() => (active.stats(server)?.probes ?? 0) >= 2, 2000, "two passing probes");
    expect(server.healthy).toBe(true);
    expect(lines(" down:")).toEqual([]);

    b.handle(() => new Response("no", { status: 500 }));
    await waitUntil(() => !server.healthy, 2000, "the server to go down");
    expect(atChange[0]?.consecutiveFailures).toBe(3);
    expect(server.lastReason).toBe("status 500 not in 200-399");
    const failuresAtDown = active.stats(server)!.failures;
    await waitUntil(() => active.stats(server)!.failures >= failuresAtDown + 3, 2000, "more failing probes");
    expect(lines(" down:")).toHaveLength(1);
    expect(lines(" down:")[0]).toEndWith("warn  api-1 down: 3 consecutive probe failures, last: status 500 not in 200-399 pool=api server=http://127.0.0.1:" + b.port);

    b.handle(() => new Response("ok"));
    const before = performance.now();
    await waitUntil(() => server.healthy, 2000, "the server to come back");
    expect(atChange[1]?.consecutivePasses).toBe(2);
    expect(server.upSince).toBeGreaterThanOrEqual(before);
    await waitUntil(() => active.stats(server)!.consecutivePasses >= 5, 2000, "more passing probes");
    expect(lines(" up:")).toEqual([expect.stringContaining("info  api-1 up: 2 consecutive probes passed pool=api")]);
    expect(active.stats(server)!.transitions).toBe(2);
    expect(changes).toEqual(["api-1 down 3 consecutive probe failures, last: status 500 not in 200-399", "api-1 up 2 consecutive probes passed"]);
  });

  test("a refused connection is a failure with its reason in the log line", async () => {
    const port = closedPort();
    const server = serverFor(`http://127.0.0.1:${port}`, undefined, "api-2");
    const { active, lines } = checker([server], { fall: 2 });
    active.start();
    await waitUntil(() => !server.healthy, 2000, "the server to go down");
    expect(lines(" down:")).toEqual([expect.stringContaining(`api-2 down: 2 consecutive probe failures, last: connect ECONNREFUSED 127.0.0.1:${port} pool=api`)]);
  });

  test("a listener that throws is logged and does not end the probe chain", async () => {
    const server = serverFor(`http://127.0.0.1:${closedPort()}`, undefined, "api-5");
    const { active, lines } = checker([server], { fall: 1 }, { onChange: () => { throw new Error("listener broke"); } });
    active.start();
    await waitUntil(() => (active.stats(server)?.probes ?? 0) >= 3, 2000, "probes after the change");
    expect(server.healthy).toBe(false);
    expect(lines("listener broke")).toEqual([expect.stringContaining("error health change listener failed: listener broke pool=api")]);
  });

  test("initial: down keeps a server out until rise probes pass", async () => {
    const b = backend();
    const server = serverFor(b.url, undefined, "api-3");
    const { active, lines, atChange } = checker([server], { initial: "down", rise: 3, interval: "30ms" });
    active.start();
    expect(server.healthy).toBe(false);
    expect(server.isUsable()).toBe(false);
    expect(server.lastReason).toBe("initial state down, waiting for 3 passing probes");
    await waitUntil(() => server.healthy, 2000, "the server to come up");
    expect(atChange[0]?.probes).toBe(3);
    expect(lines(" up:")).toEqual([expect.stringContaining("api-3 up: 3 consecutive probes passed")]);
  });

  test("keepState servers keep their verdict at start", async () => {
    const b = backend();
    const kept = serverFor(b.url, undefined, "kept");
    const fresh = serverFor(b.url, undefined, "fresh");
    kept.healthy = false;
    fresh.healthy = false;
    const { active } = checker([kept, fresh], { interval: "10s" }, { keepState: (s) => s === kept });
    active.start();
    expect(kept.healthy).toBe(false);
    expect(fresh.healthy).toBe(true);
  });

  test("a hanging backend: each probe is cut by the timeout, one in flight per server, stop() aborts", async () => {
    const b = backend();
    b.handle(hang);
    const server = serverFor(b.url, undefined, "slow");
    const { active, lines } = checker([server], { timeout: "60ms", interval: "10ms", fall: 2 });
    active.start();
    await waitUntil(() => !server.healthy, 2000, "the server to go down");
    expect(lines(" down:")[0]).toContain("slow down: 2 consecutive probe failures, last: timeout after 60ms");
    await waitUntil(() => active.stats(server)!.probes >= 4, 2000, "more probes");
    expect(b.maxInFlight).toBe(1);

    active.stop();
    await waitUntil(() => b.inFlight === 0, 1000, "the aborted probe to leave the backend");
    const probes = active.stats(server)!.probes;
    const requests = b.requests;
    await new Promise((r) => setTimeout(r, 100));
    expect(active.stats(server)!.probes).toBe(probes);
    expect(b.requests).toBe(requests);
    expect(active.running).toBe(false);
  });

  test("rise passing probes end a passive ejection early and log it once", async () => {
    const b = backend();
    const clock = new FakeClock(1_000);
    const server = serverFor(b.url, clock, "api-4");
    const { active, lines, changes } = checker([server], { rise: 2 }, { clock });
    server.ejectedUntil = clock.now() + 60_000;
    active.start();
    await waitUntil(() => server.ejectedUntil === 0, 2000, "the ejection to end");
    expect(server.isUsable()).toBe(true);
    expect(server.upSince).toBe(1_000);
    expect(active.stats(server)!.readmissions).toBe(1);
    await waitUntil(() => active.stats(server)!.probes >= 5, 2000, "more probes");
    expect(lines("readmitted")).toEqual([expect.stringContaining("api-4 readmitted: 2 consecutive probes passed while ejected")]);
    expect(changes).toEqual(["api-4 up 2 consecutive probes passed while ejected"]);
  });

  test("256 servers are all probed, spread over the interval, with no probe piling up", async () => {
    const b = backend();
    const servers = Array.from({ length: 256 }, (_, i) => serverFor(b.url, undefined, `s${i}`));
    const { active } = checker(servers, { interval: "200ms", jitter: 0.2 });
    const started = performance.now();
    active.start();
    await waitUntil(() => servers.every((s) => (active.stats(s)?.probes ?? 0) >= 3), 5000, "three probes of every server");
    expect(performance.now() - started).toBeLessThan(2000);
    expect(servers.every((s) => active.stats(s)!.failures === 0)).toBe(true);
    // Spread: far fewer requests at once than servers.
    expect(b.maxInFlight).toBeLessThan(128);
  });
});
