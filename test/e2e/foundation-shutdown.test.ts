/**
 * Graceful shutdown of a tenbin process: on SIGTERM it stops accepting, lets the request in flight
 * finish, and exits 0; `shutdown_timeout` bounds how long it waits (requests cut: exit 3), and a
 * second SIGTERM or SIGINT cuts at once.
 */
import { afterAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { startHttpBackend, waitUntil } from "../helpers/health-backends.ts";
import { startTenbin } from "../helpers/tenbin.ts";

const backend = startHttpBackend(async (req) => {
  const ms = Number(new URL(req.url).searchParams.get("ms") ?? 0);
  await new Promise((r) => setTimeout(r, ms));
  return new Response(`slept ${ms}`);
});
afterAll(() => backend.stop());

const config = (shutdownTimeout: string) => `
shutdown_timeout: ${shutdownTimeout}
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${backend.url}" }], timeouts: { response: 10s } }
`;

/** Whether a new TCP connection to `port` is refused (true) or accepted (false), within 1 s. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const timer = setTimeout(() => (socket.destroy(), resolve(false)), 1000);
    socket.on("connect", () => (clearTimeout(timer), socket.destroy(), resolve(false)));
    socket.on("error", (e: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(e.code === "ECONNREFUSED")));
  });
}

test("SIGTERM: the request in flight completes with 200, new connections are refused, exit 0", async () => {
  const t = await startTenbin(config("30s"));
  const port = t.port();
  const inFlight = fetch(t.url("/?ms=1000"));
  await waitUntil(() => backend.inFlight === 1, 3000, "the slow request to reach the backend");
  const started = performance.now();
  t.proc.kill("SIGTERM");
  await t.waitFor(/SIGTERM: stopping/, 3000);
  // The listening socket closes at once; poll briefly (bounded) for the signal to take effect.
  let isRefused = false;
  for (let i = 0; i < 20 && !isRefused; i++) {
    isRefused = await refused(port);
    if (!isRefused) await new Promise((r) => setTimeout(r, 25));
  }
  expect(isRefused).toBe(true);
  const res = await inFlight;
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("slept 1000");
  // Already exiting: wait for the code (a second SIGTERM would now mean "stop at once").
  expect(await Promise.race([t.proc.exited, new Promise((r) => setTimeout(() => r("still running"), 3000))])).toBe(0);
  expect(performance.now() - started).toBeLessThan(3000);
}, 15_000);

test("shutdown_timeout cuts a request that takes longer, and the process exits 3 (requests cut)", async () => {
  const t = await startTenbin(config("300ms"));
  const inFlight = fetch(t.url("/?ms=4000")).then(
    async (res) => ({ status: res.status, body: await res.text().catch(() => "(cut)") }),
    () => ({ status: 0, body: "(connection closed)" }),
  );
  await waitUntil(() => backend.inFlight >= 1, 3000, "the long request to reach the backend");
  const started = performance.now();
  t.proc.kill("SIGTERM");
  const code = await t.proc.exited;
  const elapsed = performance.now() - started;
  expect(code).toBe(3);
  expect(elapsed).toBeGreaterThanOrEqual(250);
  expect(elapsed).toBeLessThan(2500);
  expect(t.output()).toContain("shutdown timeout of 300ms reached");
  const outcome = await inFlight;
  expect(outcome.body).not.toBe("slept 4000");
}, 15_000);

test("a second SIGTERM stops at once, cutting what is in flight (exit 3)", async () => {
  // A backend of its own: the one above may still hold the request the previous test cut.
  const own = startHttpBackend(() => new Promise<Response>((r) => setTimeout(() => r(new Response("slept 8000")), 8000)));
  const t = await startTenbin(config("30s").replace(backend.url, own.url));
  const inFlight = fetch(t.url("/")).then((res) => res.text(), () => "(connection closed)");
  await waitUntil(() => own.inFlight >= 1, 3000, "the long request to reach the backend");
  const started = performance.now();
  t.proc.kill("SIGTERM");
  await t.waitFor(/SIGTERM: stopping/, 3000);
  t.proc.kill("SIGINT");
  const code = await Promise.race([t.proc.exited, new Promise((r) => setTimeout(() => r("still running"), 4000))]);
  expect(code).toBe(3);
  expect(performance.now() - started).toBeLessThan(4000);
  expect(t.output()).toContain("second signal (SIGINT)");
  expect(await inFlight).not.toBe("slept 8000");
  await t.stop("SIGKILL");
  own.stop();
}, 15_000);
