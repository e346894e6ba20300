/**
 * A real TCP protocol through tenbin: two redis-server instances behind a `mode: tcp` listener,
 * driven by redis-cli and redis-benchmark.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { haveRedis, redisCli, type RedisServer, startRedis } from "../helpers/l4-redis.ts";
import { startL4Tenbin } from "../helpers/l4-tenbin.ts";

// CI installs redis (.ci/run); elsewhere the suite says it was skipped rather than pass silently.
const run = haveRedis() ? describe : describe.skip;

run("redis behind a tcp listener", () => {
  let redis: RedisServer[] = [];
  let t: Awaited<ReturnType<typeof startL4Tenbin>>;

  beforeAll(async () => {
    redis = await Promise.all([startRedis(), startRedis()]);
    await redisCli(redis[0]!.port, ["set", "who", "first"]);
    await redisCli(redis[1]!.port, ["set", "who", "second"]);
    t = await startL4Tenbin(`
admin: { enabled: false }
listeners:
  - { name: redis, listen: 127.0.0.1:0, mode: tcp, pool: redis }
pools:
  redis:
    health: { tcp: { send: "PING\\r\\n", expect: "+PONG" }, interval: 1s }
    servers: [{ url: "tcp://127.0.0.1:${redis[0]!.port}" }, { url: "tcp://127.0.0.1:${redis[1]!.port}" }]
`);
  });

  afterAll(async () => {
    await t?.stop();
    await Promise.all(redis.map((r) => r.stop()));
  });

  test("each redis-cli connection is balanced round robin across the two instances", async () => {
    const port = t.port("redis");
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await redisCli(port, ["get", "who"]));
    expect(answers).toEqual(["first", "second", "first", "second"]);
  });

  test("a session of 500 commands and a 1 MB value pass intact", async () => {
    const port = t.port("redis");
    const big = "x".repeat(1024 * 1024);
    // One redis-cli session (one connection, so one instance): commands come from stdin.
    const lines = (await redisCli(port, [], `SET big ${big}\nSTRLEN big\n${Array.from({ length: 500 }, (_, i) => `INCR counter${i % 5}`).join("\n")}\n`)).split("\n");
    expect(lines[0]).toBe("OK");
    expect(lines[1]).toBe(String(big.length));
    expect(lines).toHaveLength(502);
    expect(lines.slice(2).every((l) => /^\d+$/.test(l))).toBe(true);
  });

  test("redis-benchmark runs through tenbin without errors, across both instances", async () => {
    const port = t.port("redis");
    const connections = async () => Promise.all(redis.map(async (r) => Number(/total_connections_received:(\d+)/.exec(await redisCli(r.port, ["info", "stats"]))![1])));
    const connectionsBefore = await connections();
    const bench = Bun.spawn(["redis-benchmark", "-h", "127.0.0.1", "-p", String(port), "-t", "set,get", "-n", "10000", "-c", "20", "-q"], {
      stdout: "pipe",
      stderr: "pipe",
      timeout: 30_000,
    });
    const out = await new Response(bench.stdout).text();
    await bench.exited;
    console.log(`redis-benchmark through tenbin: ${out.replace(/\r/g, "\n").split("\n").filter((l) => /requests per second/.test(l)).join("; ")}`);
    expect(bench.exitCode).toBe(0);
    const rates = [...out.matchAll(/(SET|GET): ([\d.]+) requests per second/g)].map((m) => Number(m[2]));
    expect(rates).toHaveLength(2);
    for (const rate of rates) expect(rate).toBeGreaterThan(1000);
    const connectionsAfter = await connections();
    // 20 clients per test, split by round robin (the info calls add one each).
    for (let i = 0; i < 2; i++) expect(connectionsAfter[i]! - connectionsBefore[i]!).toBeGreaterThanOrEqual(10);
  });
});
