/**
 * `tenbin ready` as keepalived's track_script runs it: a real process asking a real tenbin, whose
 * exit code is the answer (0 ready, 1 not ready or no answer, 2 usage).
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { closedPort, startHttpBackend } from "../helpers/health-backends.ts";
import { BUN, ROOT, startTenbin, writeConfig } from "../helpers/tenbin.ts";

const backend = startHttpBackend(() => new Response("ok"));
afterAll(() => backend.stop());

async function ready(args: string[], timeoutMs = 10_000): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "ready", ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

test("exit 0 while ready, 1 with --pools when a pool has no server, 1 when stopped or frozen", async () => {
  const dead = closedPort();
  const t = await startTenbin(`
admin: { listen: 127.0.0.1:0 }
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ match: { path: /x/ }, pool: gone }, { pool: web }] }]
pools:
  web: { servers: [{ url: "${backend.url}" }] }
  gone: { health: { tcp: {}, interval: 100ms, fall: 1, jitter: 0 }, servers: [{ url: "http://127.0.0.1:${dead}" }] }
`);
  try {
    await t.waitFor(/admin listening on http:\/\/127\.0\.0\.1:\d+/);
    const admin = /admin listening on http:\/\/(127\.0\.0\.1:\d+)/.exec(t.output())![1]!;
    expect(await ready(["--admin", admin])).toEqual({ code: 0, out: "ready\n", err: "" });
    await t.waitFor(/gone/);
    let pools = await ready(["--admin", admin, "--pools"]);
    for (let i = 0; i < 20 && pools.code === 0; i++) pools = await ready(["--admin", admin, "--pools"]);
    expect(pools).toEqual({ code: 1, out: 'not ready: no available server in pool "gone"\n', err: "" });

    // Frozen (SIGSTOP): the kernel still accepts the connection, nobody answers; the timeout decides.
    t.proc.kill("SIGSTOP");
    const began = performance.now();
    const frozen = await ready(["--admin", admin, "--timeout", "300ms"]);
    t.proc.kill("SIGCONT");
    expect(frozen.code).toBe(1);
    expect(frozen.out).toBe(`not ready: no answer from http://${admin}/healthz within 300ms\n`);
    expect(performance.now() - began).toBeLessThan(3000);

    await t.stop();
    const stopped = await ready(["--admin", admin]);
    expect(stopped.code).toBe(1);
    expect(stopped.out).toStartWith(`not ready: cannot reach http://${admin}/healthz`);
  } finally {
    t.proc.kill("SIGCONT");
    await t.stop("SIGKILL");
  }
}, 30_000);

test("reads admin.listen from the config; usage mistakes exit 2", async () => {
  const port = closedPort();
  const file = writeConfig(`
admin: { listen: 0.0.0.0:${port}, token: s3cret }
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: web }] }]
pools: { web: { servers: [{ url: "${backend.url}" }] } }
`);
  const fromConfig = await ready(["-c", file, "--timeout", "500ms"]);
  expect(fromConfig.code).toBe(1);
  expect(fromConfig.out).toStartWith(`not ready: cannot reach http://127.0.0.1:${port}/healthz`);
  expect((await ready(["--admin", "nope"])).code).toBe(2);
  expect((await ready(["--timeout", "soon"])).code).toBe(2);
  expect((await ready(["extra"])).code).toBe(2);
  const disabled = writeConfig(`
admin: { enabled: false }
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: web }] }]
pools: { web: { servers: [{ url: "${backend.url}" }] } }
`);
  const off = await ready(["-c", disabled]);
  expect(off.code).toBe(2);
  expect(off.err).toContain("admin.enabled is false");
}, 30_000);
