/**
 * The cap on HTTP probes in flight (probe-limiter.ts), against real sockets: probes beyond it wait
 * instead of taking fetch slots from requests, waiting is not counted against the probe timeout, and
 * stop() frees every slot. bench/health-load.ts shows why it exists.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { healthSchema } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { ActiveHealth } from "../../src/pool/health/active.ts";
import { ProbeLimiter } from "../../src/pool/health/probe-limiter.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import type { RuntimeFetch } from "../../src/runtime/types.ts";
import { hang, serverFor, startHttpBackend, waitUntil } from "../helpers/health-backends.ts";

const backend = startHttpBackend(async (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/hang") return await hang(req);
  await new Promise((r) => setTimeout(r, 25));
  return new Response("ok");
});
afterAll(() => backend.stop());
const checkers: ActiveHealth[] = [];
afterEach(() => {
  for (const c of checkers.splice(0)) c.stop();
});

/** Fetches the checker has started and not yet seen settle: the runtime's slots it holds. */
const fetches = { now: 0, max: 0 };
const countingFetch: RuntimeFetch = async (url, init, tls) => {
  fetches.max = Math.max(fetches.max, ++fetches.now);
  try {
    return await bunRuntime.fetchUpstream(url, init, tls);
  } finally {
    fetches.now--;
  }
};

function checker(count: number, limiter: ProbeLimiter, health: Record<string, unknown>) {
  const servers = Array.from({ length: count }, (_, i) => serverFor(backend.url, undefined, `s-${i}`));
  const active = new ActiveHealth({
    poolName: "api",
    servers,
    config: healthSchema.parse({ jitter: 0, ...health }),
    fetch: countingFetch,
    logger: memoryLogger(),
    limiter,
  });
  checkers.push(active);
  return { active, servers };
}

test("hanging probes hold at most `max` fetches; the rest wait, and stop() releases every slot", async () => {
  const limiter = new ProbeLimiter(2);
  const { active } = checker(6, limiter, { http: { path: "/hang" }, interval: "50ms", timeout: "300ms" });
  const seenBefore = backend.requests;
  active.start();
  await waitUntil(() => limiter.busy === 2 && limiter.waiting === 4, 2000, "two probes in flight, four waiting");
  await waitUntil(() => backend.requests - seenBefore >= 4, 2000, "the first probes to time out and the next to start");
  expect(fetches.max).toBe(2);
  active.stop();
  expect(limiter.waiting).toBe(0);
  await waitUntil(() => limiter.busy === 0, 1000, "aborted probes to give their slots back");
});

test("time spent waiting for a slot does not count against the probe timeout", async () => {
  // One slot, 24 servers, 25 ms answers, 250 ms timeout: the last probes wait ~2× the timeout for
  // their turn, while each has ten times its own duration to spare once it runs.
  const limiter = new ProbeLimiter(1);
  const { active, servers } = checker(24, limiter, { http: { path: "/slow" }, interval: "5s", timeout: "250ms", initial: "down", rise: 1 });
  const started = performance.now();
  active.start();
  await waitUntil(() => servers.every((s) => s.healthy), 5000, "every server to pass its first probe");
  expect(performance.now() - started).toBeGreaterThan(500);
  for (const s of servers) expect(active.stats(s)).toMatchObject({ probes: 1, failures: 0 });
});
