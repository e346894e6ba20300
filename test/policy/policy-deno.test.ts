/**
 * The policies on Deno, both engines in one process (two listeners with the same routes): headers
 * both ways (Deno's request and fetch-response headers are immutable, so edits go to copies), path,
 * redirect, direct answer, allow list, rate limit, compression. basic_auth checks bcrypt hashes
 * with the bcryptjs package (Deno has no hash check built in); an argon2 hash is refused at start.
 */
import { afterAll, expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { haveRedis, redisCli, startRedis } from "../helpers/l4-redis.ts";
import { startTenbin } from "../helpers/tenbin.ts";

const BIG = JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ i, text: "compress me" })));
const backend = startHttpBackend((req) => {
  const url = new URL(req.url);
  if (url.pathname === "/big") return new Response(BIG, { headers: { "content-type": "application/json" } });
  return Response.json({ path: url.pathname + url.search, tag: req.headers.get("x-tag"), secret: req.headers.get("x-secret") }, { headers: { server: "backend" } });
});
afterAll(() => backend.stop());

const routes = `
    routes:
      - match: { path: /api/ }
        strip_prefix: /api
        request_headers: { set: { X-Tag: "{client_ip} {scheme}" }, remove: [X-Secret] }
        response_headers: { set: { X-Frame-Options: DENY }, remove: [Server] }
        pool: app
      - { match: { host: www.example.com }, redirect: { to: "https://example.com{path}", status: 301 } }
      - { match: { path: /robots.txt }, respond: { body: "User-agent: *" } }
      - { match: { path: /office }, allow: [10.0.0.0/8], pool: app }
      - { match: { path: /login }, rate_limit: { rate: 1, per: 1h, burst: 1 }, pool: app }
      - { compress: { min_size: 100 }, pool: app }`;

test("every policy on Deno, on engine tenbin and engine runtime", async () => {
  const t = await startTenbin(`
admin: { enabled: false }
listeners:
  - name: own
    listen: 127.0.0.1:0
    engine: tenbin${routes}
  - name: runtime
    listen: 127.0.0.1:0
    engine: runtime${routes}
pools:
  app: { servers: [{ url: "${backend.url}" }] }
`, { how: "deno", listeners: 2, timeoutMs: 20_000 });
  try {
    for (const listener of ["own", "runtime"]) {
      const api = await fetch(t.url("/api/items?x=1", listener), { headers: { "x-secret": "s" } });
      expect(await api.json(), listener).toEqual({ path: "/items?x=1", tag: "127.0.0.1 http", secret: null });
      expect(api.headers.get("x-frame-options")).toBe("DENY");
      expect(api.headers.get("server")).toBeNull();
      const www = await fetch(t.url("/a?b=1", listener), { headers: { host: "www.example.com" }, redirect: "manual" });
      expect(www.status).toBe(301);
      expect(www.headers.get("location")).toBe("https://example.com/a?b=1");
      expect(await (await fetch(t.url("/robots.txt", listener))).text()).toBe("User-agent: *");
      expect((await fetch(t.url("/office", listener))).status).toBe(403);
      // An inline limit is its route's own: each listener's burst of one, then 429.
      // RateLimit fields only on the 429 (`headers: refused`, the default).
      const passed = await fetch(t.url("/login", listener));
      expect(passed.status).toBe(200);
      expect(passed.headers.get("ratelimit")).toBeNull();
      await passed.arrayBuffer();
      const limited = await fetch(t.url("/login", listener));
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).not.toBeNull();
      expect(limited.headers.get("ratelimit")).toMatch(/^"route";r=0;t=\d+$/);
      const zipped = await fetch(t.url("/big", listener), { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
      expect(zipped.headers.get("content-encoding")).toBe("gzip");
      expect(gunzipSync(new Uint8Array(await zipped.arrayBuffer())).toString()).toBe(BIG);
    }
  } finally {
    expect(await t.stop()).toBe(0);
  }
}, 40_000);

test("basic_auth on Deno checks bcrypt hashes ($2b$ from Bun, $2y$ from htpasswd) in plain JavaScript", async () => {
  const hash = await Bun.password.hash("s3cret", { algorithm: "bcrypt", cost: 4 });
  const htpasswd = hash.replace(/^\$2b\$/, "$2y$");
  const t = await startTenbin(`
admin: { enabled: false }
listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
      - { match: { path: /y/ }, basic_auth: { users: { bob: "${htpasswd}" } }, pool: app }
      - { basic_auth: { realm: staging, users: { alice: "${hash}" } }, pool: app }
pools:
  app: { servers: [{ url: "${backend.url}" }] }
`, { how: "deno", timeoutMs: 20_000 });
  try {
    const basic = (user: string, password: string) => ({ headers: { authorization: `Basic ${btoa(`${user}:${password}`)}` } });
    const none = await fetch(t.url("/a"));
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain('realm="staging"');
    expect((await fetch(t.url("/a"), basic("alice", "wrong"))).status).toBe(401);
    const ok = await fetch(t.url("/a"), basic("alice", "s3cret"));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { path: string }).path).toBe("/a");
    expect((await fetch(t.url("/y/b"), basic("bob", "s3cret"))).status).toBe(200);
    expect((await fetch(t.url("/y/b"), basic("bob", "nope"))).status).toBe(401);
  } finally {
    expect(await t.stop()).toBe(0);
  }
}, 40_000);

test("an argon2 hash on Deno is refused at start, naming the user and the fix", async () => {
  const argon2 = await Bun.password.hash("s3cret", { algorithm: "argon2id" });
  const t = startTenbin(`
admin: { enabled: false }
listeners:
  - name: web
    listen: 127.0.0.1:0
    routes: [{ basic_auth: { users: { carol: "${argon2}" } }, pool: app }]
pools:
  app: { servers: [{ url: "${backend.url}" }] }
`, { how: "deno", timeoutMs: 20_000 });
  await expect(t).rejects.toThrow(/basic_auth user "carol" has an argon2 hash, which this runtime cannot check .*give the user a bcrypt hash/);
}, 40_000);

test.skipIf(!haveRedis())("a Redis-backed rate limit on Deno (RESP over node:net)", async () => {
  const redis = await startRedis();
  const t = await startTenbin(`
admin: { enabled: false }
listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
      - { rate_limit: { rate: 1, per: 1h, burst: 2, redis: { url: "redis://127.0.0.1:${redis.port}", timeout: 1s } }, pool: app }
pools:
  app: { servers: [{ url: "${backend.url}" }] }
`, { how: "deno", timeoutMs: 20_000 });
  try {
    const got: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(t.url("/"));
      await res.arrayBuffer();
      got.push(res.status);
    }
    expect(got).toEqual([200, 200, 429]);
    expect(await redisCli(redis.port, ["--scan", "--pattern", "tenbin:rl:*"])).toContain("tenbin:rl:web/route0:127.0.0.1");
  } finally {
    expect(await t.stop()).toBe(0);
    await redis.stop();
  }
}, 40_000);
