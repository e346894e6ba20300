import { afterAll, describe, expect, test } from "bun:test";
import { healthSchema } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { ActiveHealth } from "../../src/pool/health/active.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { closedPort, hang, serverFor, startHttpBackend } from "../helpers/health-backends.ts";

const backend = startHttpBackend();
afterAll(() => backend.stop());

/** Probes the backend once with a health section written as in YAML. */
function probe(health: Record<string, unknown>, url = backend.url) {
  const server = serverFor(url, undefined, "api-1");
  const checker = new ActiveHealth({ poolName: "api", servers: [server], config: healthSchema.parse(health), fetch: bunRuntime.fetchUpstream, logger: memoryLogger() });
  return checker.probeOnce(server);
}

describe("HTTP probe", () => {
  test("passes on an expected status and sends method, path, host and headers", async () => {
    backend.handle(() => new Response("ok"));
    const r = await probe({ http: { method: "head", path: "/healthz", host: "api.internal", headers: { "X-Probe": "1" } } });
    expect(r).toMatchObject({ ok: true, reason: "" });
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(backend.last?.method).toBe("HEAD");
    expect(backend.last?.path).toBe("/healthz");
    expect(backend.last?.headers.get("host")).toBe("api.internal");
    expect(backend.last?.headers.get("x-probe")).toBe("1");
    // Each probe opens its own connection, so a dead pooled socket never fails it.
    expect(backend.last?.headers.get("connection")).toBe("close");
  });

  test("the default Host is the server's host:port and the default probe is GET /", async () => {
    backend.handle(() => new Response("ok"));
    expect((await probe({})).ok).toBe(true);
    expect(backend.last?.method).toBe("GET");
    expect(backend.last?.path).toBe("/");
    expect(backend.last?.headers.get("host")).toBe(`127.0.0.1:${backend.port}`);
  });

  test("a status outside expect_status fails with the list in the reason", async () => {
    backend.handle(() => new Response("boom", { status: 500 }));
    expect(await probe({ http: {} })).toMatchObject({ ok: false, reason: "status 500 not in 200-399" });
    backend.handle(() => new Response("", { status: 302, headers: { location: "/elsewhere" } }));
    expect(await probe({ http: {} })).toMatchObject({ ok: true });
    expect(await probe({ http: { expect_status: [200, "2xx"] } })).toMatchObject({ ok: false, reason: "status 302 not in 200, 2xx" });
  });

  test("expect_body as substring and as regex", async () => {
    backend.handle(() => new Response('{"status":"degraded"}'));
    expect(await probe({ http: { expect_body: "ok" } })).toMatchObject({ ok: false, reason: 'body did not contain "ok"' });
    expect(await probe({ http: { expect_body: "degraded" } })).toMatchObject({ ok: true });
    expect(await probe({ http: { expect_body: { regex: '"status":"(ok|up)"' } } })).toMatchObject({ ok: false, reason: 'body did not match /"status":"(ok|up)"/' });
    backend.handle(() => new Response('{"status":"up"}'));
    expect(await probe({ http: { expect_body: { regex: '"status":"(ok|up)"' } } })).toMatchObject({ ok: true });
  });

  test("only the first 64 KB of the body are searched", async () => {
    backend.handle(() => new Response("x".repeat(70 * 1024) + "MARKER"));
    expect(await probe({ http: { expect_body: "MARKER" } })).toMatchObject({ ok: false, reason: 'body did not contain "MARKER"' });
    backend.handle(() => new Response("x".repeat(60 * 1024) + "MARKER"));
    expect(await probe({ http: { expect_body: "MARKER" } })).toMatchObject({ ok: true });
  });

  test("a backend that never answers fails with a timeout, counted from the probe's start", async () => {
    backend.handle(hang);
    const started = performance.now();
    const r = await probe({ http: {}, timeout: "150ms" });
    expect(r).toMatchObject({ ok: false, reason: "timeout after 150ms" });
    expect(r.latencyMs).toBeGreaterThanOrEqual(140);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("a closed port fails with connect ECONNREFUSED host:port", async () => {
    const port = closedPort();
    expect(await probe({ http: {} }, `http://127.0.0.1:${port}`)).toMatchObject({ ok: false, reason: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  test("health.port probes another port than the server's", async () => {
    backend.handle(() => new Response("ok"));
    const r = await probe({ http: {}, port: backend.port }, `http://127.0.0.1:${closedPort()}`);
    expect(r.ok).toBe(true);
  });

  test("an invalid expect_body regex is refused when the checker is built", () => {
    expect(() => probe({ http: { expect_body: { regex: "(" } } })).toThrow('bad expect_body regex "("');
  });
});
