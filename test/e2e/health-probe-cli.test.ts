/**
 * `tenbin probe -c FILE` as CI runs it: a real process whose exit code and table are the answer.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { closedPort, startHttpBackend, type HttpBackend } from "../helpers/health-backends.ts";
import { BUN, ROOT, writeConfig } from "../helpers/tenbin.ts";

const up = startHttpBackend((req) => (new URL(req.url).pathname === "/healthz" ? new Response("ok") : new Response("no", { status: 404 })));
const started: HttpBackend[] = [up];
afterAll(async () => {
  for (const backend of started) await backend.stop();
});

/** Runs `tenbin probe` from source with `args`; bounded by `timeoutMs`. */
async function probe(args: string[], timeoutMs = 10_000): Promise<{ code: number; out: string; err: string; ms: number }> {
  const began = performance.now();
  const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "probe", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, out, err, ms: performance.now() - began };
}

const listener = "listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: api }] }]";

test("exit 0 when each pool has a healthy server; --all wants every server; a table of every probe", async () => {
  const dead = closedPort();
  const file = writeConfig(`
${listener}
pools:
  api:
    health: { http: { path: /healthz }, timeout: 500ms }
    servers: [{ url: "${up.url}", name: api-1 }, { url: "http://127.0.0.1:${dead}", name: api-2 }]
`);
  const some = await probe(["-c", file]);
  expect(some.code).toBe(0);
  const lines = some.out.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^POOL\s+SERVER\s+STATE\s+LATENCY\s+REASON$/);
  expect(lines[1]).toMatch(new RegExp(`^api\\s+api-1 \\(127\\.0\\.0\\.1:${up.port}\\)\\s+up\\s+\\d+ms$`));
  expect(lines[2]).toMatch(new RegExp(`^api\\s+api-2 \\(127\\.0\\.0\\.1:${dead}\\)\\s+down\\s+\\d+ms\\s+connect ECONNREFUSED 127\\.0\\.0\\.1:${dead}$`));
  expect(lines[3]).toBe(`1 of 2 servers healthy: every pool has a healthy server`);

  const all = await probe(["-c", file, "--all"]);
  expect(all.code).toBe(1);
  expect(all.out).toContain(`1 of 2 servers healthy: not every server of "api" is healthy`);
});

test("exit 1 when a pool has no healthy server", async () => {
  const file = writeConfig(`
${listener}
pools:
  api: { servers: [{ url: "${up.url}" }] }
  web: { health: { http: { path: /healthz } }, servers: [{ url: "http://127.0.0.1:${closedPort()}" }] }
`);
  const { code, out } = await probe(["-c", file]);
  expect(code).toBe(1);
  // The pool without a health section is probed with GET /, which 404s on this backend.
  expect(out).toMatch(/^api\s+127\.0\.0\.1:\d+\s+down\s+\d+ms\s+status 404 not in 200-399$/m);
  expect(out).toContain(`0 of 2 servers healthy: no healthy server in "api", "web"`);
});

test("--wait polls until a backend that starts late is up", async () => {
  const port = closedPort();
  const file = writeConfig(`
${listener}
pools:
  api: { health: { http: { path: /healthz } }, servers: [{ url: "http://127.0.0.1:${port}" }] }
`);
  const late = setTimeout(() => started.push(startHttpBackend(() => new Response("ok"), port)), 500);
  try {
    const { code, out, ms } = await probe(["-c", file, "--wait", "3s"]);
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^api\\s+127\\.0\\.0\\.1:${port}\\s+up\\s+\\d+ms$`, "m"));
    expect(ms).toBeGreaterThanOrEqual(500);
    expect(ms).toBeLessThan(3000);
  } finally {
    clearTimeout(late);
  }
});

test("--wait gives up with exit 1 when the time is over; a bad --wait is a usage error", async () => {
  const file = writeConfig(`
${listener}
pools:
  api: { servers: [{ url: "http://127.0.0.1:${closedPort()}" }] }
`);
  const timedOut = await probe(["-c", file, "--wait", "700ms"]);
  expect(timedOut.code).toBe(1);
  expect(timedOut.ms).toBeGreaterThanOrEqual(700);
  expect(timedOut.out).toContain(`no healthy server in "api"`);

  const bad = await probe(["-c", file, "--wait", "soon"]);
  expect(bad.code).toBe(2);
  expect(bad.err).toContain(`bad duration "soon" for --wait`);
  expect(bad.out).toBe("");
});
