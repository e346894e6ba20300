/**
 * /metrics carries the standard process families and open connections per listener; /api/status
 * counts uptime from the process's start, not from the first admin request (the admin app is built
 * on that request).
 */
import { expect, test } from "bun:test";
import { connect } from "node:net";
import { createAdminApp } from "../../src/admin/app.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";
import { makeAdmin, TWO_POOLS } from "./admin-support.ts";

test("uptime counts from the process's start when no start time is given", async () => {
  const { view } = makeAdmin(TWO_POOLS);
  const later = Date.now() + 120_000;
  const app = createAdminApp({ view, reload: () => Promise.reject(new Error("no")), version: "t", runtime: "bun", now: () => later });
  const status = (await (await app.request("http://127.0.0.1/api/status")).json()) as { uptime_s: number };
  expect(status.uptime_s).toBeGreaterThanOrEqual(120 + Math.floor((Date.now() - performance.timeOrigin) / 1000));
});

test("process metrics and open connections per listener", async () => {
  using backend = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
  const t = await startTenbinInProcess(`admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, listen: 127.0.0.1:0, engine: tenbin, routes: [{ pool: app }] }
  - { name: raw, listen: 127.0.0.1:0, mode: tcp, pool: tcp }
pools:
  app: { servers: [{ url: "http://127.0.0.1:${backend.port}" }] }
  tcp: { servers: [{ url: "tcp://127.0.0.1:${backend.port}" }] }
`);
  const sockets = [0, 1, 2].map(() => connect(t.port("web"), "127.0.0.1"));
  const raw = connect(t.port("raw"), "127.0.0.1");
  try {
    await Promise.all([...sockets, raw].map((s) => new Promise((resolve) => s.once("connect", resolve))));
    const admin = t.tenbin.adminAddress!;
    let text = "";
    // The server sees the connections a moment after connect() resolves (bounded: 100 × 20 ms).
    for (let i = 0; i < 100; i++) {
      text = await (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text();
      if (text.includes('tenbin_listener_open_connections{listener="web"} 3') && text.includes('tenbin_listener_open_connections{listener="raw"} 1')) break;
      await Bun.sleep(20);
    }
    expect(text).toContain('tenbin_listener_open_connections{listener="web"} 3\n');
    expect(text).toContain('tenbin_listener_open_connections{listener="raw"} 1\n');
    const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1]);
    expect(value("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(value("process_resident_memory_bytes")).toBeGreaterThan(10_000_000);
    expect(value("process_open_fds")).toBeGreaterThanOrEqual(4);
    expect(value("process_max_fds")).toBeGreaterThan(value("process_open_fds"));
    expect(Math.abs(value("process_start_time_seconds") - performance.timeOrigin / 1000)).toBeLessThan(1);
    expect(text).toContain("# TYPE process_cpu_seconds_total counter\n");
  } finally {
    for (const s of [...sockets, raw]) s.destroy();
    await t.stop();
  }
});
