/**
 * Run-time state a reload or an admin change must carry or restart, on a real in-process Tenbin
 * (listeners on loopback) and a FakeClock: slow start after a server comes back into service, and
 * the outlier ejection level of servers that stay.
 */
import { expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { Tenbin } from "../../src/start.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { makeAdmin } from "../admin/admin-support.ts";

const config = (pool: string) => `
admin: { enabled: false }
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }]
pools:
  app:
${pool}
`;

async function start(text: string, clock: FakeClock) {
  const tenbin = await Tenbin.start(loadConfigText(text, "test.yaml", {}), { runtime: bunRuntime, logger: memoryLogger(), clock });
  return {
    tenbin,
    servers: () => tenbin.pools.get("app")!.servers,
    reload: (next: string) => tenbin.reload(loadConfigText(next, "test.yaml", {})),
  };
}

test("a reload that turns drain off ramps the server up under slow_start", async () => {
  const clock = new FakeClock(1_000_000);
  const servers = (drain: boolean) => `    slow_start: 10s
    servers: [{ url: "http://127.0.0.1:9001", weight: 20, drain: ${drain} }, { url: "http://127.0.0.1:9002" }]`;
  const t = await start(config(servers(true)), clock);
  try {
    await t.reload(config(servers(false)));
    const s = t.servers()[0]!;
    expect(s.isUsable()).toBe(true);
    expect(s.effectiveWeight()).toBe(1); // 1/20 of 20 at the start of the ramp
    clock.advance(5_000);
    expect(s.effectiveWeight()).toBe(10);
    clock.advance(5_000);
    expect(s.effectiveWeight()).toBe(20);
    // A reload that changes nothing for a server in service does not restart its ramp.
    await t.reload(config(servers(false)));
    expect(t.servers()[0]!.effectiveWeight()).toBe(20);
  } finally {
    await t.tenbin.stop(1000);
  }
});

test("a reload keeps the outlier ejection level of servers that stay", async () => {
  const clock = new FakeClock(1_000_000);
  const pool = (retries: number) => `    retries: ${retries}
    outlier: { consecutive_failures: 1, eject_for: 10s, max_eject_for: 5m, max_ejected_percent: 100 }
    servers: [{ url: "http://127.0.0.1:9001" }, { url: "http://127.0.0.1:9002" }]`;
  const t = await start(config(pool(1)), clock);
  try {
    const first = t.tenbin.pools.get("app")!;
    first.passive!.onFailure(first.servers[0]!, "connect ECONNREFUSED");
    expect(first.servers[0]!.ejectedUntil).toBe(clock.now() + 10_000);
    clock.advance(10_000);

    await t.reload(config(pool(2)));
    const second = t.tenbin.pools.get("app")!;
    expect(second).not.toBe(first);
    const s = second.servers[0]!;
    expect(s).toBe(first.servers[0]!);
    second.passive!.onFailure(s, "connect ECONNREFUSED");
    // The second ejection in a row doubles, reload or not.
    expect(s.ejectedUntil).toBe(clock.now() + 20_000);
    expect(second.passive!.stats(s)).toMatchObject({ ejections: 2, level: 2 });
  } finally {
    await t.tenbin.stop(1000);
  }
});

test("admin enable, undrain and a weight after 0 ramp the server up under slow_start", async () => {
  const { request, server, clock } = makeAdmin(`
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: web }] }]
pools:
  web:
    slow_start: 10s
    servers: [{ url: "http://10.0.0.1:8080", name: a, weight: 20 }, { url: "http://10.0.0.2:8080", name: b }]
`);
  const s = server("web", 0);
  expect(s.effectiveWeight()).toBe(20);
  for (const [out, back] of [["drain", "enable"], ["disable", "enable"]] as const) {
    await request(`/api/pools/web/servers/a/${out}`, { method: "POST" });
    clock.advance(60_000);
    await request(`/api/pools/web/servers/a/${back}`, { method: "POST" });
    expect(s.effectiveWeight()).toBe(1);
    clock.advance(10_000);
    expect(s.effectiveWeight()).toBe(20);
  }
  // enable on a server already in service changes nothing.
  await request("/api/pools/web/servers/a/enable", { method: "POST" });
  expect(s.effectiveWeight()).toBe(20);

  await request("/api/pools/web/servers/a/weight", { method: "PUT", body: "0" });
  clock.advance(60_000);
  await request("/api/pools/web/servers/a/weight", { method: "PUT", body: "20" });
  expect(s.effectiveWeight()).toBe(1);
  // Changing a weight that was not 0 does not restart the ramp.
  clock.advance(10_000);
  await request("/api/pools/web/servers/a/weight", { method: "PUT", body: "10" });
  expect(s.effectiveWeight()).toBe(10);
});
