/**
 * A rate limit holds for the instance as a whole with `workers: 2` (the primary owns the buckets),
 * and across two instances that share a real redis-server; with Redis gone, requests are counted
 * locally and still served.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { haveRedis, redisCli, startRedis, type RedisServer } from "../helpers/l4-redis.ts";
import { startTenbin, startTenbinInProcess, type TenbinProcess } from "../helpers/tenbin.ts";

function startBackend() {
  return Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
}

/** `n` requests, each on its own connection (so the kernel spreads them over the processes). */
async function statuses(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, { headers: { connection: "close" }, keepalive: false });
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

const count = (list: number[], status: number) => list.filter((s) => s === status).length;

describe("workers: 2", () => {
  let backend: ReturnType<typeof startBackend>;
  let t: TenbinProcess;

  beforeAll(async () => {
    backend = startBackend();
    t = await startTenbin(`workers: 2
shutdown_timeout: 2s
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: web
    listen: 127.0.0.1:0
    access_log: { format: json }
    routes:
      - { rate_limit: { rate: 1, per: 1h, burst: 10 }, pool: app }
pools:
  app: { servers: [{ url: "http://127.0.0.1:${backend.port}" }] }
`);
    await t.waitFor(/worker 1 ready/);
  });

  afterAll(async () => {
    await t?.stop();
    backend?.stop(true);
  });

  test("the limit is one limit for both processes, and both served", async () => {
    const got = await statuses(t.url("/"), 30);
    expect(count(got, 200)).toBe(10);
    expect(count(got, 429)).toBe(20);
    // New connections land on both processes; with a bucket table per process each would let 10
    // through (20 in all: checked by turning the worker's questions to the primary off).
    expect(t.output()).not.toContain("counts on its own");
  });

  test("the primary's /metrics adds up both processes' policy outcomes", async () => {
    const admin = Number(/admin listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(t.output())?.[1]);
    expect(admin).toBeGreaterThan(0);
    // Workers report every second: poll (bounded) until the count of 429s is the whole.
    let text = "";
    for (let i = 0; i < 50 && !/outcome="rate_limited"\} 20\b/.test(text); i++) {
      await Bun.sleep(100);
      text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    }
    expect(text).toContain('tenbin_policy_outcomes_total{listener="web",route="route0",policy="route",outcome="rate_limited"} 20');
  });
});

describe.skipIf(!haveRedis())("two instances sharing a real redis-server", () => {
  let redis: RedisServer;
  let backend: ReturnType<typeof startBackend>;
  let a: Awaited<ReturnType<typeof startTenbinInProcess>>;
  let b: Awaited<ReturnType<typeof startTenbinInProcess>>;

  beforeAll(async () => {
    redis = await startRedis();
    backend = startBackend();
    const yaml = `admin: { enabled: false }
listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
      - match: { path: /login }
        rate_limit: { rate: 1, per: 1h, burst: 6, redis: { url: "redis://127.0.0.1:${redis.port}", timeout: 500ms } }
        pool: app
pools:
  app: { servers: [{ url: "http://127.0.0.1:${backend.port}" }] }
`;
    a = await startTenbinInProcess(yaml);
    b = await startTenbinInProcess(yaml);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    backend?.stop(true);
    await redis?.stop();
  });

  test("the burst is shared: six in all pass, then both answer 429", async () => {
    const got: number[] = [];
    for (let i = 0; i < 6; i++) got.push(...(await statuses(a.url("/login"), 1)), ...(await statuses(b.url("/login"), 1)));
    expect(count(got, 200)).toBe(6);
    expect(count(got, 429)).toBe(6);
    expect(await redisCli(redis.port, ["--scan", "--pattern", "tenbin:rl:*"])).toContain("tenbin:rl:web/route0:127.0.0.1");
  });

  test("with Redis down, requests are counted locally, logged and counted, never failed", async () => {
    await redis.stop();
    const got = await statuses(a.url("/login"), 8);
    // Local counting starts from a full bucket of 6.
    expect(count(got, 200)).toBe(6);
    expect(count(got, 429)).toBe(2);
    expect(a.logger.lines.some((l) => /counting locally/.test(l))).toBe(true);
    const fallbacks = [...a.tenbin.metrics.policies.entries()].reduce((n, [, , , s]) => n + s.get("redis_fallback"), 0);
    expect(fallbacks).toBe(8);
  });
});
