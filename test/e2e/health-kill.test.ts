/**
 * A backend process dies under load and comes back on the same port: active probes take it out within
 * `fall × interval + timeout`, retries hide the window from clients, and after `rise` passing probes
 * it takes traffic again, ramped by slow start.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnBackend, type BackendChild } from "../helpers/backend-child.ts";
import { waitUntil } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const INTERVAL = 200;
const TIMEOUT = 200;
const RISE = 2;
const FALL = 2;
const JITTER = 0.1;
const SLOW_START = 1000;
const CLIENTS = 4;

const children: BackendChild[] = [];
afterAll(async () => {
  for (const child of children) await child.kill();
});

interface Sample {
  at: number;
  body: string;
}

/** GET clients in parallel until `stop()` (or a hard bound); every failure is kept, none thrown. */
function requestLoop(url: string) {
  const samples: Sample[] = [];
  const errors: string[] = [];
  let running = true;
  const hardEnd = performance.now() + 15_000;
  const client = async () => {
    for (let i = 0; running && i < 100_000 && performance.now() < hardEnd; i++) {
      try {
        const res = await fetch(url);
        const body = await res.text();
        if (res.status !== 200) errors.push(`status ${res.status}: ${body.slice(0, 80)}`);
        else samples.push({ at: performance.now(), body });
      } catch (err) {
        errors.push(String(err));
      }
    }
  };
  const done = Promise.all(Array.from({ length: CLIENTS }, client));
  return {
    samples,
    errors,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Share of `name` among samples in [from, to). */
function share(samples: readonly Sample[], name: string, from: number, to: number): { share: number; n: number } {
  const inWindow = samples.filter((s) => s.at >= from && s.at < to);
  const hits = inWindow.filter((s) => s.body === name).length;
  return { share: inWindow.length === 0 ? 0 : hits / inWindow.length, n: inWindow.length };
}

/** Date.now() of the first log line matching `pattern` (the logger writes ISO times). */
function loggedAt(lines: readonly string[], pattern: RegExp): number {
  const line = lines.find((l) => pattern.test(l));
  if (!line) throw new Error(`no log line matches ${pattern}:\n${lines.join("\n")}`);
  return Date.parse(line.slice(0, line.indexOf(" ")));
}

test("a killed backend is taken out by probes with no client error, and ramps back in after rise", async () => {
  const a = await spawnBackend("a");
  let b = await spawnBackend("b");
  children.push(a, b);
  const t = await startTenbinInProcess(`
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app:
    slow_start: ${SLOW_START}ms
    health: { http: { path: /healthz }, interval: ${INTERVAL}ms, timeout: ${TIMEOUT}ms, rise: ${RISE}, fall: ${FALL}, jitter: ${JITTER} }
    servers:
      - { url: "${a.url}", name: a }
      - { url: "${b.url}", name: b }
`);
  const pool = t.tenbin.pools.get("app")!;
  const serverB = pool.servers.find((s) => s.name === "b")!;
  const loop = requestLoop(t.url("/work"));
  try {
    await waitUntil(() => loop.samples.some((s) => s.body === "b") && loop.samples.some((s) => s.body === "a"), 3000, "both backends to serve");
    expect(serverB.status()).toBe("up");

    // Outage: the process vanishes with requests in flight.
    const killedAt = Date.now();
    await b.kill();
    await waitUntil(() => serverB.status() === "down", 3000, "b to be marked down");
    const downAt = loggedAt(t.logger.lines, /\bb down: /);
    // fall × interval + timeout, loosened by the jitter and a scheduling allowance.
    expect(downAt - killedAt).toBeLessThanOrEqual(FALL * INTERVAL * (1 + JITTER) + TIMEOUT + 250);
    const downLines = t.logger.lines.filter((l) => /\bb down: /.test(l));
    expect(downLines).toEqual([expect.stringMatching(new RegExp(`warn  b down: ${FALL} consecutive probe failures, last: connect ECONNREFUSED 127\\.0\\.0\\.1:${b.port}`))]);
    const attemptsAtDown = serverB.requests;
    expect(pool.active!.stats(serverB)).toMatchObject({ transitions: 1, consecutiveFailures: FALL });

    // Down and dead: tenbin sends it nothing, not even a first attempt that a retry would cover.
    await Bun.sleep(300);
    expect(serverB.requests).toBe(attemptsAtDown);
    expect(serverB.status()).toBe("down");

    b = await spawnBackend("b", b.port);
    children.push(b);
    const restartedAt = performance.now();
    await waitUntil(() => serverB.status() === "up", 3000, "b to come back up");
    const upAt = performance.now();
    const upWall = loggedAt(t.logger.lines, /\bb up: /);
    expect(t.logger.lines.filter((l) => /\bb up: /.test(l))).toEqual([expect.stringContaining(`info  b up: ${RISE} consecutive probes passed`)]);
    expect(upAt - restartedAt).toBeLessThanOrEqual(RISE * INTERVAL * (1 + JITTER) + 400);

    // Ramp: slow start begins at ~5% of b's weight and reaches its full share after SLOW_START ms.
    await waitUntil(() => performance.now() > upAt + SLOW_START + 600, 5000, "the ramp to finish");
    await loop.stop();

    // The new process saw `rise` probes before its first client request, and no client request before "up".
    const firstWork = b.seen.findIndex((r) => r.path === "/work");
    expect(firstWork).toBeGreaterThanOrEqual(RISE);
    expect(b.seen.slice(0, firstWork).every((r) => r.path === "/healthz")).toBe(true);
    expect(b.seen[firstWork]!.at).toBeGreaterThanOrEqual(upWall);

    const early = share(loop.samples, "b", upAt, upAt + 250);
    const late = share(loop.samples, "b", upAt + SLOW_START + 100, upAt + SLOW_START + 600);
    expect(early.n).toBeGreaterThan(20);
    expect(late.n).toBeGreaterThan(20);
    // Weight ≤ 0.3 of a's in the first quarter of the ramp: share ≤ 0.23; at full weight: 0.5.
    expect(early.share).toBeLessThan(0.3);
    expect(late.share).toBeGreaterThan(0.38);
    expect(late.share).toBeLessThan(0.62);
    expect(loop.errors).toEqual([]);
    expect(pool.active!.stats(serverB)).toMatchObject({ transitions: 2, consecutiveFailures: 0 });
  } finally {
    await loop.stop();
    await t.stop();
  }
}, 20_000);
