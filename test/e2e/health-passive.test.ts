/**
 * Passive ejection end to end: a backend that answers 503 to every request while its health endpoint
 * says OK. Active probes cannot see it; the forward path can. Clients never see the 503s (retry_on).
 */
import { afterAll, expect, test } from "bun:test";
import { closedPort, startHttpBackend, waitUntil } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const EJECT_FOR = 1000;

/** Times (performance.now()) of the non-probe requests a backend received. */
const hits = { good: [] as number[], bad: [] as number[] };
const good = startHttpBackend((req) => {
  if (new URL(req.url).pathname !== "/healthz") hits.good.push(performance.now());
  return new Response("good");
});
const bad = startHttpBackend((req) => {
  if (new URL(req.url).pathname === "/healthz") return new Response("ok");
  hits.bad.push(performance.now());
  return new Response("overloaded", { status: 503 });
});
afterAll(async () => {
  await good.stop();
  await bad.stop();
});

test("a server answering 503 with a passing health check is ejected for eject_for, then doubled", async () => {
  const t = await startTenbinInProcess(`
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app:
    retry_on: [503]
    health: { http: { path: /healthz }, interval: 100ms, timeout: 100ms, rise: 2, fall: 2 }
    outlier: { consecutive_failures: 3, failure_statuses: [503], eject_for: ${EJECT_FOR}ms }
    servers:
      - { url: "${good.url}", name: good }
      - { url: "${bad.url}", name: bad }
`);
  const pool = t.tenbin.pools.get("app")!;
  const badServer = pool.servers.find((s) => s.name === "bad")!;
  const errors: string[] = [];
  let ejectedAt = -1;
  let running = true;
  const client = async () => {
    const hardEnd = performance.now() + 10_000;
    for (let i = 0; running && i < 50_000 && performance.now() < hardEnd; i++) {
      const res = await fetch(t.url("/work"));
      const body = await res.text();
      if (res.status !== 200 || body !== "good") errors.push(`${res.status} ${body}`);
    }
  };
  const clients = Promise.all([client(), client()]);
  try {
    await waitUntil(() => badServer.status() === "ejected", 3000, "bad to be ejected");
    ejectedAt = performance.now();
    expect(hits.bad.length).toBe(3);
    expect(pool.passive!.stats(badServer)).toMatchObject({ ejections: 1, lastEjectForMs: EJECT_FOR });
    // Ejected, not down: its probes keep passing, and they do not cut the ejection short.
    expect(badServer.healthy).toBe(true);
    await waitUntil(() => performance.now() > ejectedAt + EJECT_FOR - 100, 3000, "most of eject_for to pass");
    expect(badServer.status()).toBe("ejected");
    expect(hits.bad.length).toBe(3);
    expect(pool.active!.stats(badServer)!.readmissions).toBe(0);

    // After eject_for it is tried again, fails three more times, and goes out for twice as long.
    await waitUntil(() => pool.passive!.stats(badServer)!.ejections === 2, 3000, "the second ejection");
    const again = hits.bad.filter((at) => at > ejectedAt);
    expect(again.length).toBe(3);
    expect(again[0]! - ejectedAt).toBeGreaterThanOrEqual(EJECT_FOR - 100);
    expect(pool.passive!.stats(badServer)).toMatchObject({ lastEjectForMs: 2 * EJECT_FOR });
    running = false;
    await clients;

    const ejections = t.logger.lines.filter((l) => l.includes("bad ejected"));
    expect(ejections).toEqual([
      expect.stringContaining("warn  bad ejected for 1s: 3 consecutive failures, last: status 503"),
      expect.stringContaining("warn  bad ejected for 2s: 3 consecutive failures, last: status 503"),
    ]);
    expect(t.logger.lines.filter((l) => l.includes("readmitted"))).toEqual([]);
    expect(errors).toEqual([]);
    expect(hits.good.length).toBeGreaterThan(50);
  } finally {
    running = false;
    await clients;
    await t.stop();
  }
}, 15_000);

test("an ejection for refused connections is ended early by passing probes", async () => {
  // health.port sends every probe to the good backend: the probes pass while forwarding to the
  // dead port is refused, which is how a server that restarted looks to a stale ejection.
  const t = await startTenbinInProcess(`
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app:
    health: { http: { path: /healthz }, port: ${good.port}, interval: 100ms, timeout: 100ms, rise: 2 }
    outlier: { consecutive_failures: 3, eject_for: 30s }
    servers:
      - { url: "${good.url}", name: good }
      - { url: "http://127.0.0.1:${closedPort()}", name: dead }
`);
  const pool = t.tenbin.pools.get("app")!;
  const dead = pool.servers.find((s) => s.name === "dead")!;
  try {
    for (let i = 0; i < 20 && dead.status() !== "ejected"; i++) {
      const res = await fetch(t.url("/work"));
      expect([res.status, await res.text()]).toEqual([200, "good"]);
    }
    expect(dead.status()).toBe("ejected");
    await waitUntil(() => pool.active!.stats(dead)!.readmissions === 1, 2000, "probes to readmit dead");
    expect(dead.status()).toBe("up");
    expect(t.logger.lines.filter((l) => l.includes("dead readmitted"))).toEqual([
      expect.stringContaining("info  dead readmitted: 2 consecutive probes passed while ejected"),
    ]);
  } finally {
    await t.stop();
  }
});
