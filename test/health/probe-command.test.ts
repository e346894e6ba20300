import { afterAll, describe, expect, test } from "bun:test";
import { configSchema } from "../../src/config/schema.ts";
import { runProbeCommand } from "../../src/cli/probe.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { closedPort, startHttpBackend, startTcpBackend, type HttpBackend } from "../helpers/health-backends.ts";

const up = startHttpBackend();
const broken = startHttpBackend(() => new Response("no", { status: 503 }));
const tcp = startTcpBackend(() => undefined);
afterAll(async () => {
  await up.stop();
  await broken.stop();
  tcp.stop();
});

function config(pools: Record<string, unknown>) {
  return configSchema.parse({ listeners: [{ name: "web", listen: "127.0.0.1:0", routes: [{ pool: Object.keys(pools)[0] }] }], pools });
}

async function run(pools: Record<string, unknown>, all: boolean, waitMs = 0, retryEveryMs?: number) {
  let out = "";
  const opts = { all, waitMs, fetch: bunRuntime.fetchUpstream, write: (s: string) => void (out += s) };
  const code = await runProbeCommand(config(pools), retryEveryMs === undefined ? opts : { ...opts, retryEveryMs });
  return { code, out };
}

describe("runProbeCommand", () => {
  const mixed = () => ({
    api: { servers: [{ url: up.url, name: "api-1" }, { url: broken.url }], health: { http: { path: "/healthz" } } },
    db: { servers: [{ url: `tcp://127.0.0.1:${tcp.port}` }] },
    dns: { servers: [{ url: "udp://127.0.0.1:53" }] },
  });

  test("exit 0 when every pool has a healthy server, with a table of every server", async () => {
    const { code, out } = await run(mixed(), false);
    expect(code).toBe(0);
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^POOL\s+SERVER\s+STATE\s+LATENCY\s+REASON$/);
    expect(lines[1]).toMatch(new RegExp(`^api\\s+api-1 \\(127\\.0\\.0\\.1:${up.port}\\)\\s+up\\s+\\d+ms$`));
    expect(lines[2]).toMatch(new RegExp(`^api\\s+127\\.0\\.0\\.1:${broken.port}\\s+down\\s+\\d+ms\\s+status 503 not in 200-399$`));
    expect(lines[3]).toMatch(new RegExp(`^db\\s+127\\.0\\.0\\.1:${tcp.port}\\s+up\\s+\\d+ms$`));
    expect(lines[4]).toMatch(/^dns\s+127\.0\.0\.1:53\s+skipped\s+-\s+not probed: udp server$/);
    expect(lines[5]).toBe("3 of 4 servers healthy: every pool has a healthy server");
  });

  test("--all: exit 1 when any server is unhealthy", async () => {
    const { code, out } = await run(mixed(), true);
    expect(code).toBe(1);
    expect(out).toEndWith('3 of 4 servers healthy: not every server of "api" is healthy\n');
    const healthyOnly = await run({ api: { servers: [{ url: up.url }] } }, true);
    expect(healthyOnly.code).toBe(0);
  });

  test("exit 1 when a pool has no healthy server; pools without health get GET / expecting 200-399", async () => {
    const port = closedPort();
    const { code, out } = await run({ api: { servers: [{ url: up.url }] }, web: { servers: [{ url: broken.url }, { url: `http://127.0.0.1:${port}` }] } }, false);
    expect(code).toBe(1);
    expect(out).toContain(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(out).toEndWith('1 of 3 servers healthy: no healthy server in "web"\n');
    expect(up.last?.path).toBe("/");
  });

  test("waitMs probes again (every 500 ms) until a late backend answers", async () => {
    const port = closedPort();
    let late: HttpBackend | undefined;
    const timer = setTimeout(() => {
      late = startHttpBackend(undefined, port);
    }, 300);
    try {
      const started = performance.now();
      const { code, out } = await run({ api: { servers: [{ url: `http://127.0.0.1:${port}` }] } }, true, 5_000);
      expect(code).toBe(0);
      expect(performance.now() - started).toBeGreaterThanOrEqual(450);
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(out).toContain(" up ");
      expect(out.match(/POOL/g)).toHaveLength(1);
    } finally {
      clearTimeout(timer);
      await late?.stop();
    }
  });

  test("waitMs gives up when the time is up and prints the last round", async () => {
    const requestsBefore = broken.requests;
    const started = performance.now();
    const { code, out } = await run({ api: { servers: [{ url: broken.url }] } }, false, 300, 50);
    const elapsed = performance.now() - started;
    expect(code).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
    expect(broken.requests - requestsBefore).toBeGreaterThanOrEqual(3);
    expect(out.match(/POOL/g)).toHaveLength(1);
  });
});
