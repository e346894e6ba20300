import { describe, expect, test } from "bun:test";
import type { ReadinessJson } from "../../src/admin/readiness.ts";
import type { StatusJson } from "../../src/admin/status.ts";
import { makeAdmin, TWO_POOLS } from "./admin-support.ts";

const WITH_TOKEN = `${TWO_POOLS}\nadmin: { listen: 0.0.0.0:9090, token: s3cret }\n`;

describe("GET /healthz", () => {
  test("answers 200 when every listener is bound, 503 when one is not, in JSON", async () => {
    const { request, view } = makeAdmin(TWO_POOLS);
    const ok = await request("/healthz");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toContain("application/json");
    expect(await ok.json()).toEqual({ ready: true, reason: "", accepting: true, listeners: [{ name: "web", bound: true }] });
    view.listeners = [];
    const res = await request("/healthz");
    expect(res.status).toBe(503);
    const body = (await res.json()) as ReadinessJson;
    expect(body.ready).toBe(false);
    expect(body.reason).toBe('not every listener is bound: "web"');
    expect(body.listeners).toEqual([{ name: "web", bound: false }]);
  });

  test("with ?pools=1 (or /readyz) also needs an available server in every pool", async () => {
    const { request, server } = makeAdmin(TWO_POOLS);
    expect((await request("/healthz?pools=1")).status).toBe(200);
    expect((await request("/readyz")).status).toBe(200);
    server("api").healthy = false;
    expect((await request("/healthz")).status).toBe(200);
    expect((await request("/healthz?pools=0")).status).toBe(200);
    for (const path of ["/healthz?pools=1", "/healthz?pools=true", "/healthz?pools", "/readyz"]) {
      const res = await request(path);
      expect(res.status).toBe(503);
      const body = (await res.json()) as ReadinessJson;
      expect(body.reason).toBe('no available server in pool "api"');
      expect(body.pools).toEqual([{ name: "web", available: 2, servers: 2 }, { name: "api", available: 0, servers: 1 }]);
    }
  });

  test("a drained or disabled last server makes the pool unavailable", async () => {
    const { request, server } = makeAdmin(TWO_POOLS);
    server("api").disabled = true;
    expect((await request("/readyz")).status).toBe(503);
  });

  test("fails once shutdown began, so a standby takes over", async () => {
    const { request, view } = makeAdmin(TWO_POOLS);
    view.accepting = false;
    const res = await request("/healthz");
    expect(res.status).toBe(503);
    expect(((await res.json()) as ReadinessJson).reason).toBe("stopping");
  });

  test("needs no token even when one is set", async () => {
    const { request } = makeAdmin(WITH_TOKEN);
    expect((await request("/healthz")).status).toBe(200);
    expect((await request("/readyz")).status).toBe(200);
  });
});

describe("config digest", () => {
  test("/api/status and /metrics carry the sha256 of the config in force", async () => {
    const { request } = makeAdmin(TWO_POOLS);
    const status = (await (await request("/api/status")).json()) as StatusJson;
    expect(status.config_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const metrics = await (await request("/metrics")).text();
    expect(metrics).toContain(`tenbin_config_info{digest="${status.config_digest}"} 1`);
  });

  test("two nodes with the same config agree; a different one shows", async () => {
    const a = (await (await makeAdmin(TWO_POOLS).request("/api/status")).json()) as StatusJson;
    const b = (await (await makeAdmin(`# node b\n${TWO_POOLS}`).request("/api/status")).json()) as StatusJson;
    const c = (await (await makeAdmin(TWO_POOLS.replace("weight: 3", "weight: 4")).request("/api/status")).json()) as StatusJson;
    expect(b.config_digest).toBe(a.config_digest);
    expect(c.config_digest).not.toBe(a.config_digest);
  });
});

describe("token", () => {
  test("every other endpoint answers 401 without the right bearer token", async () => {
    const { request } = makeAdmin(WITH_TOKEN);
    for (const [method, path] of [["GET", "/api/status"], ["GET", "/metrics"], ["GET", "/"], ["POST", "/api/reload"], ["POST", "/api/pools/web/servers/web-2/drain"]] as const) {
      expect((await request(path, { method })).status).toBe(401);
      expect((await request(path, { method, headers: { authorization: "Bearer s3cre" } })).status).toBe(401);
      expect((await request(path, { method, headers: { authorization: "Bearer s3cret-" } })).status).toBe(401);
    }
    expect((await request("/api/status", { headers: { authorization: "Bearer s3cret" } })).status).toBe(200);
  });

  test("the dashboard asks a browser for Basic auth and accepts the token as its password", async () => {
    const { request } = makeAdmin(WITH_TOKEN);
    const challenge = await request("/");
    expect(challenge.headers.get("www-authenticate")).toStartWith("Basic ");
    expect((await request("/api/status")).headers.get("www-authenticate")).toStartWith("Bearer ");
    const basic = `Basic ${btoa("anyone:s3cret")}`;
    expect((await request("/", { headers: { authorization: basic } })).status).toBe(200);
    expect((await request("/", { headers: { authorization: `Basic ${btoa("anyone:nope")}` } })).status).toBe(401);
    expect((await request("/", { headers: { authorization: "Basic !!not-base64" } })).status).toBe(401);
  });

  test("with a token, any Host may reach the admin", async () => {
    const { app } = makeAdmin(WITH_TOKEN);
    const res = await app.request("http://lb.example.com:9090/api/status", { headers: { authorization: "Bearer s3cret" } });
    expect(res.status).toBe(200);
  });
});

describe("browser attacks on a token-less loopback admin", () => {
  test("a non-loopback Host (DNS rebinding) is refused", async () => {
    const { app } = makeAdmin(TWO_POOLS);
    expect((await app.request("http://evil.example:9090/api/status")).status).toBe(403);
    expect((await app.request("http://localhost:9090/api/status")).status).toBe(200);
    expect((await app.request("http://[::1]:9090/api/status")).status).toBe(200);
  });

  test("a POST from another origin is refused, one from the dashboard's origin is not", async () => {
    const { request, server } = makeAdmin(TWO_POOLS);
    const foreign = await request("/api/pools/web/servers/web-2/drain", { method: "POST", headers: { origin: "http://evil.example" } });
    expect(foreign.status).toBe(403);
    expect(server("web", 1).draining).toBe(false);
    const opaque = await request("/api/pools/web/servers/web-2/drain", { method: "POST", headers: { origin: "null" } });
    expect(opaque.status).toBe(403);
    const own = await request("/api/pools/web/servers/web-2/drain", { method: "POST", headers: { origin: "http://127.0.0.1:9090" } });
    expect(own.status).toBe(200);
    expect(server("web", 1).draining).toBe(true);
  });
});

describe("GET /api/status", () => {
  test("lists listeners, routes, pools and servers with state and counters", async () => {
    const { request, server, view } = makeAdmin(TWO_POOLS);
    server("web", 0).healthy = false;
    server("web", 1).requests = 7;
    server("web", 1).countStatus(200);
    server("web", 1).countStatus(503);
    server("web", 1).latency.observe(12);
    view.metrics.forListener("web", [{ name: "api", pool: "api" }, { name: "route1", pool: "web" }], new Set(["web", "api"])).routes[0]!.record(200, 3);
    const status = (await (await request("/api/status")).json()) as StatusJson;
    expect(status.version).toBe("test");
    expect(status.uptime_s).toBe(61);
    expect(status.reload?.ok).toBe(true);
    expect(status.listeners[0]!.bound).toEqual({ hostname: "127.0.0.1", port: 10_000 });
    expect(status.listeners[0]!.routes.map((r) => [r.name, r.pool, r.requests.total])).toEqual([["api", "api", 1], ["route1", "web", 0]]);
    const web = status.pools.find((p) => p.name === "web")!;
    expect(web.healthy).toBe(1);
    expect(web.servers.map((s) => [s.name, s.status, s.weight])).toEqual([["10.0.0.1:8080", "down", 1], ["web-2", "up", 3]]);
    const second = web.servers[1]!;
    expect(second.requests).toBe(7);
    expect(second.responses).toEqual({ total: 2, "1xx": 0, "2xx": 1, "3xx": 0, "4xx": 0, "5xx": 1 });
    expect(second.latency).toEqual({ count: 1, sum_ms: 12 });
    expect(second.overrides).toEqual({ drain: null, disabled: false, weight: null });
  });
});

describe("run-time server changes", () => {
  test("drain, disable and enable change the server's state", async () => {
    const { request, server } = makeAdmin(TWO_POOLS);
    const s = server("web", 1);
    const drained = await request("/api/pools/web/servers/web-2/drain", { method: "POST" });
    expect(drained.status).toBe(200);
    expect(((await drained.json()) as { status: string }).status).toBe("draining");
    expect(s.isAvailable()).toBe(false);
    await request("/api/pools/web/servers/web-2/enable", { method: "POST" });
    expect(s.status()).toBe("up");
    await request("/api/pools/web/servers/web-2/disable", { method: "POST" });
    expect(s.status()).toBe("disabled");
    await request("/api/pools/web/servers/web-2/enable", { method: "POST" });
    expect(s.status()).toBe("up");
    expect(s.isAvailable()).toBe(true);
  });

  test("a server is also found by host:port, URL-encoded or not", async () => {
    const { request, server } = makeAdmin(TWO_POOLS);
    expect((await request("/api/pools/web/servers/10.0.0.1%3A8080/drain", { method: "POST" })).status).toBe(200);
    expect(server("web", 0).draining).toBe(true);
    expect((await request("/api/pools/web/servers/10.0.0.2:8080/disable", { method: "POST" })).status).toBe(200);
    expect(server("web", 1).disabled).toBe(true);
  });

  test("unknown pool, server or action is 404 with what exists", async () => {
    const { request } = makeAdmin(TWO_POOLS);
    const pool = await request("/api/pools/nope/servers/web-2/drain", { method: "POST" });
    expect(pool.status).toBe(404);
    expect(((await pool.json()) as { error: string }).error).toBe('unknown pool "nope"; expected one of web, api');
    const server = await request("/api/pools/web/servers/web-9/drain", { method: "POST" });
    expect(server.status).toBe(404);
    expect(((await server.json()) as { error: string }).error).toContain("expected one of 10.0.0.1:8080, web-2");
    expect((await request("/api/pools/web/servers/web-2/explode", { method: "POST" })).status).toBe(404);
    expect((await request("/api/pools/nope/servers/web-2/weight", { method: "PUT", body: "{\"weight\":2}" })).status).toBe(404);
  });

  test("PUT weight takes JSON or a bare number; anything else is 400", async () => {
    const { request, server } = makeAdmin(TWO_POOLS);
    const put = (body: string) => request("/api/pools/web/servers/web-2/weight", { method: "PUT", body });
    const res = await put('{"weight": 5}');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { weight: number; config_weight: number })).toMatchObject({ weight: 5, config_weight: 3 });
    expect(server("web", 1).weight).toBe(5);
    expect((await put("0")).status).toBe(200);
    expect(server("web", 1).weight).toBe(0);
    for (const bad of ["-1", "1001", "1.5", "abc", '{"weight":"x"}', "", '{"w":1}']) {
      const refused = await put(bad);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toContain("expected an integer from 0 to 1000");
    }
    expect(server("web", 1).weight).toBe(0);
  });
});

describe("POST /api/reload", () => {
  test("answers the new config's errors with line and column and 422", async () => {
    const failed = { ok: false, trigger: "api", at: "", durationMs: 1, message: "reload failed", errors: [{ file: "t.yaml", line: 4, column: 7, path: "pools", message: "bad" }] };
    const { request } = makeAdmin(TWO_POOLS, { reload: () => Promise.resolve(failed) });
    const res = await request("/api/reload", { method: "POST" });
    expect(res.status).toBe(422);
    expect(((await res.json()) as typeof failed).errors[0]).toMatchObject({ line: 4, column: 7 });
  });

  test("answers 200 when the reload worked", async () => {
    const { request } = makeAdmin(TWO_POOLS);
    expect((await request("/api/reload", { method: "POST" })).status).toBe(200);
  });
});

describe("GET /", () => {
  test("serves the self-contained dashboard: no external scripts, styles or fonts", async () => {
    const { request } = makeAdmin(TWO_POOLS);
    const res = await request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain("<script>");
    expect(html).toContain("api/status");
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
  });

  test("unknown paths are a JSON 404", async () => {
    const { request } = makeAdmin(TWO_POOLS);
    const res = await request("/nope");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe("no admin endpoint GET /nope");
  });
});
