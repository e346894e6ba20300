/**
 * The edge policies end to end, as one case list each engine runs (Hono's common.case pattern):
 * `runPolicyCases(engine)` starts a backend and tenbin with that engine, then checks every policy
 * with real clients (fetch and curl).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { brotliDecompressSync, createGunzip, gunzipSync } from "node:zlib";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const BIG = JSON.stringify({ items: Array.from({ length: 400 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["a", "b", "c"] })) });

let streamGate: (() => void) | undefined;

/** A backend that says what it received, and serves the bodies compression needs. */
export function startPolicyBackend() {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname.endsWith("/big")) return new Response(BIG, { headers: { "content-type": "application/json", etag: '"v1"', server: "backend" } });
      if (url.pathname.endsWith("/stream")) {
        // The second part waits until the client has decoded the first: proof that it streams.
        const gate = Promise.withResolvers<void>();
        streamGate = gate.resolve;
        return new Response(new ReadableStream({
          async start(c) {
            c.enqueue(new TextEncoder().encode(BIG.slice(0, 5000)));
            await gate.promise;
            c.enqueue(new TextEncoder().encode(BIG.slice(5000)));
            c.close();
          },
        }), { headers: { "content-type": "application/json" } });
      }
      if (url.pathname.endsWith("/events")) return new Response(BIG, { headers: { "content-type": "text/event-stream" } });
      if (url.pathname.endsWith("/notransform")) return new Response(BIG, { headers: { "content-type": "application/json", "cache-control": "no-transform" } });
      if (url.pathname.endsWith("/range")) return new Response(BIG.slice(0, 2000), { status: 206, headers: { "content-type": "application/json", "content-range": `bytes 0-1999/${BIG.length}` } });
      if (url.pathname.endsWith("/gzipped")) return new Response(BIG, { headers: { "content-type": "application/json", "content-encoding": "identity-test" } });
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => (headers[k] = v));
      return Response.json({ method: req.method, path: url.pathname + url.search, headers }, { headers: { server: "backend", "x-powered-by": "php" } });
    },
  });
}

async function curl(args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const proc = Bun.spawn(["curl", "-s", "-D", "-", "--max-time", "10", ...args], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const cut = out.indexOf("\r\n\r\n");
  const head = out.slice(0, cut);
  return { status: Number(/^HTTP\/\S+ (\d+)/.exec(head)?.[1] ?? 0), headers: head.toLowerCase(), body: out.slice(cut + 4) };
}

/** Runs every policy case against tenbin with `engine`. */
export function runPolicyCases(engine: "tenbin" | "runtime"): void {
  describe(`edge policies on engine: ${engine}`, () => {
    let backend: ReturnType<typeof startPolicyBackend>;
    let t: Awaited<ReturnType<typeof startTenbinInProcess>>;
    let hash: string;
    let logFile = "";

    beforeAll(async () => {
      backend = startPolicyBackend();
      logFile = join(mkdtempSync(join(tmpdir(), "tenbin-policy-")), "access.log");
      hash = await Bun.password.hash("s3cret", { algorithm: "bcrypt", cost: 4 });
      t = await startTenbinInProcess(`
admin: { listen: 127.0.0.1:0 }
policies:
  secure-headers:
    response_headers:
      set: { X-Frame-Options: DENY, X-Seen-Client: "{client_ip}" }
      remove: [Server, X-Powered-By]
  strip-api:
    strip_prefix: /api
    request_headers:
      set: { X-Scheme: "{scheme}", X-Item: "{re.id}", X-Host: "{host}" }
      add: { X-Tag: two }
      remove: [X-Secret]
listeners:
  - name: web
    listen: 127.0.0.1:0
    engine: ${engine}
    trusted_proxies: [127.0.0.1/32]
    access_log: { format: json, path: "${logFile}" }
    routes:
      - match: { path: { regex: "^/api/items/(?<id>\\\\d+)" } }
        policies: [secure-headers, strip-api]
        pool: app
      - { match: { path: /api/ }, policies: [strip-api], pool: app }
      - { match: { host: www.example.com }, redirect: { to: "https://example.com{path}", status: 301 } }
      - { match: { path: /old/ }, redirect: { to: "/new/{re.1}", keep_query: false }, pool: app }
      - { match: { path: { regex: "^/moved/(.*)$" } }, redirect: { to: "/new/{re.1}", status: 308 } }
      - { match: { path: /robots.txt }, respond: { body: "User-agent: *\\nDisallow: /\\n" } }
      - { match: { path: /maintenance }, respond: { status: 503, body: "<h1>back soon</h1>", content_type: text/html } }
      - { match: { path: /office }, allow: [10.0.0.0/8], pool: app }
      - { match: { path: /local }, allow: [127.0.0.0/8], deny: [127.0.0.9/32], pool: app }
      - { match: { path: /staging-fwd }, basic_auth: { users: { alice: "${"$"}{HASH}" }, forward_credentials: true }, pool: app }
      - { match: { path: /staging }, basic_auth: { realm: staging, users: { alice: "${"$"}{HASH}" } }, pool: app }
      - { match: { path: /login }, rate_limit: { rate: 1, per: 1m, burst: 2, headers: always }, pool: app }
      - { match: { path: /hdr-limit }, rate_limit: { rate: 1, per: 1m, burst: 1, key: "header:X-Api-Key" }, pool: app }
      - { match: { path: /z/ }, compress: { min_size: 100, encodings: [br, gzip] }, pool: app }
      - { match: { path: /v1/ }, rewrite: { regex: "^/v1/(.*)$", replace: "/legacy/$1" }, add_prefix: /app, pool: app }
      - pool: app
pools:
  app: { servers: [{ url: "http://127.0.0.1:${backend.port}" }] }
`, { ...process.env, HASH: hash });
    });

    afterAll(async () => {
      await t?.stop();
      backend?.stop(true);
    });

    const echo = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(t.url(path), init);
      return { res, body: (await res.json()) as { path: string; headers: Record<string, string> } };
    };

    test("a route without policies is untouched", async () => {
      const { res, body } = await echo("/plain?x=1");
      expect(body.path).toBe("/plain?x=1");
      expect(res.headers.get("server")).toBe("backend");
    });

    test("headers: set, add and remove both ways, with placeholders and regex groups", async () => {
      const { res, body } = await echo("/api/items/42?q=1", { headers: { "x-secret": "no", host: "shop.example.com:8080" } });
      expect(body.path).toBe("/items/42?q=1");
      expect(body.headers["x-scheme"]).toBe("http");
      expect(body.headers["x-item"]).toBe("42");
      expect(body.headers["x-host"]).toBe("shop.example.com");
      expect(body.headers["x-tag"]).toBe("two");
      expect(body.headers["x-secret"]).toBeUndefined();
      expect(body.headers.host).toBe("shop.example.com:8080");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-seen-client")).toBe("127.0.0.1");
      expect(res.headers.get("server")).toBeNull();
      expect(res.headers.get("x-powered-by")).toBeNull();
    });

    test("paths: strip a prefix (the bare prefix becomes /), regex rewrite then add a prefix", async () => {
      expect((await echo("/api/users")).body.path).toBe("/users");
      expect((await echo("/api/")).body.path).toBe("/");
      expect((await echo("/v1/a/b?k=v")).body.path).toBe("/app/legacy/a/b?k=v");
    });

    test("redirects: status, placeholders, the query kept or dropped (curl)", async () => {
      const www = await curl(["-H", "Host: www.example.com", t.url("/shop?id=3")]);
      expect(www.status).toBe(301);
      expect(www.headers).toContain("location: https://example.com/shop?id=3");
      const moved = await curl([t.url("/moved/x/y?z=1")]);
      expect(moved.status).toBe(308);
      expect(moved.headers).toContain("location: /new/x/y?z=1");
      const old = await fetch(t.url("/old/page?drop=1"), { redirect: "manual" });
      expect(old.status).toBe(302);
      expect(old.headers.get("location")).toBe("/new/");
    });

    test("direct answers without a pool", async () => {
      const robots = await curl([t.url("/robots.txt")]);
      expect(robots.status).toBe(200);
      expect(robots.body).toBe("User-agent: *\nDisallow: /\n");
      expect(robots.headers).toContain("content-type: text/plain; charset=utf-8");
      const down = await fetch(t.url("/maintenance"));
      expect(down.status).toBe(503);
      expect(down.headers.get("content-type")).toBe("text/html");
      expect(await down.text()).toBe("<h1>back soon</h1>");
    });

    test("access control: allow and deny lists give 403", async () => {
      expect((await fetch(t.url("/office"))).status).toBe(403);
      expect((await fetch(t.url("/local"))).status).toBe(200);
    });

    test("access control: the client behind a trusted proxy is the one checked", async () => {
      const from = t.url("/local");
      expect((await fetch(from, { headers: { "x-forwarded-for": "127.0.0.9" } })).status).toBe(403);
      expect((await fetch(from, { headers: { "x-forwarded-for": "127.0.0.5" } })).status).toBe(200);
    });

    test("basic auth: 401 with WWW-Authenticate, 200 with the password, credentials not forwarded", async () => {
      const none = await curl([t.url("/staging")]);
      expect(none.status).toBe(401);
      expect(none.headers).toContain('www-authenticate: basic realm="staging", charset="utf-8"');
      expect((await curl(["-u", "alice:wrong", t.url("/staging")])).status).toBe(401);
      expect((await curl(["-u", "bob:s3cret", t.url("/staging")])).status).toBe(401);
      for (let i = 0; i < 2; i++) {
        const ok = await curl(["-u", "alice:s3cret", t.url("/staging")]);
        expect(ok.status).toBe(200);
        expect(JSON.parse(ok.body).headers.authorization).toBeUndefined();
      }
      const fwd = await curl(["-u", "alice:s3cret", t.url("/staging-fwd")]);
      expect(JSON.parse(fwd.body).headers.authorization).toStartWith("Basic ");
    });

    test("rate limit: the burst passes, then 429 with Retry-After and RateLimit fields", async () => {
      // With `headers: always` passing answers carry the fields too (draft-ietf-httpapi-ratelimit-headers), tokens left in r.
      const first = await fetch(t.url("/login"));
      expect(first.status).toBe(200);
      expect(first.headers.get("ratelimit-policy")).toBe('"route";q=2;w=120');
      expect(first.headers.get("ratelimit")).toBe('"route";r=1;t=60');
      const second = await fetch(t.url("/login"));
      expect(second.status).toBe(200);
      expect(second.headers.get("ratelimit")).toBe('"route";r=0;t=120');
      const limited = await fetch(t.url("/login"));
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(limited.headers.get("ratelimit-policy")).toBe('"route";q=2;w=120');
      expect(limited.headers.get("ratelimit")).toMatch(/^"route";r=0;t=\d+$/);
    });

    test("rate limit: keyed by a header, each key its own bucket; by default only the 429 has RateLimit fields", async () => {
      const a = { headers: { "x-api-key": "a" } };
      const passed = await fetch(t.url("/hdr-limit"), a);
      expect(passed.status).toBe(200);
      expect(passed.headers.has("ratelimit")).toBe(false);
      expect(passed.headers.has("ratelimit-policy")).toBe(false);
      await passed.arrayBuffer();
      const refused = await fetch(t.url("/hdr-limit"), a);
      expect(refused.status).toBe(429);
      expect(refused.headers.get("ratelimit")).toMatch(/^"route";r=0;t=\d+$/);
      await refused.arrayBuffer();
      expect((await fetch(t.url("/hdr-limit"), { headers: { "x-api-key": "b" } })).status).toBe(200);
    });

    test("rate limit: a route without one sends no RateLimit fields", async () => {
      const plain = await fetch(t.url("/anything"));
      expect(plain.headers.has("ratelimit")).toBe(false);
      expect(plain.headers.has("ratelimit-policy")).toBe(false);
      await plain.arrayBuffer();
    });

    test("compression: gzip and brotli of JSON, Vary set, ETag weak, length dropped", async () => {
      const gz = await curl(["-H", "Accept-Encoding: gzip", "-o", "/dev/null", t.url("/z/big")]);
      expect(gz.headers).toContain("content-encoding: gzip");
      expect(gz.headers).toContain("vary: accept-encoding");
      expect(gz.headers).toContain('etag: w/"v1"');
      const res = await fetch(t.url("/z/big"), { headers: { "accept-encoding": "br, gzip" }, decompress: false } as RequestInit);
      expect(res.headers.get("content-encoding")).toBe("br");
      const raw = new Uint8Array(await res.arrayBuffer());
      expect(raw.byteLength).toBeLessThan(BIG.length / 3);
      expect(brotliDecompressSync(raw).toString()).toBe(BIG);
      const viaCurl = await curl(["--compressed", t.url("/z/big")]);
      expect(viaCurl.body).toBe(BIG);
    });

    test("compression: a streamed answer is compressed as it streams", async () => {
      const res = await fetch(t.url("/z/stream"), { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
      expect(res.headers.get("content-encoding")).toBe("gzip");
      expect(res.headers.get("content-length")).toBeNull();
      const reader = res.body!.getReader();
      const parts: Uint8Array[] = [];
      const unzip = createGunzip();
      let text = "";
      unzip.on("data", (chunk: Buffer) => (text += chunk.toString()));
      // Bounded: the first part must come out of the decoder before the server sends the rest.
      for (let i = 0; i < 100 && text.length < 5000; i++) {
        const { value, done } = await reader.read();
        if (done) break;
        parts.push(value);
        await new Promise<void>((resolve) => unzip.write(value, () => resolve()));
        await new Promise<void>((resolve) => unzip.flush(() => resolve()));
      }
      expect(text).toBe(BIG.slice(0, 5000));
      streamGate!();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parts.push(value);
      }
      expect(gunzipSync(Buffer.concat(parts)).toString()).toBe(BIG);
    });

    test("compression: never for ranges, no-transform, event streams, encoded answers or clients that do not ask", async () => {
      for (const path of ["/z/range", "/z/notransform", "/z/events", "/z/gzipped"]) {
        const res = await fetch(t.url(path), { headers: { "accept-encoding": "gzip, br" }, decompress: false } as RequestInit);
        expect(res.headers.get("content-encoding") ?? "", path).not.toMatch(/gzip|br/);
        await res.arrayBuffer();
      }
      const plain = await fetch(t.url("/z/big"), { headers: { "accept-encoding": "identity" }, decompress: false } as RequestInit);
      expect(plain.headers.get("content-encoding")).toBeNull();
      expect(await plain.text()).toBe(BIG);
    });

    test("metrics count each policy's outcomes per route", () => {
      const stats = [...t.tenbin.metrics.policies.entries()];
      const get = (route: string, outcome: Parameters<typeof stats[number][3]["get"]>[0]) =>
        stats.filter(([, r]) => r === route).reduce((n, [, , , s]) => n + s.get(outcome), 0);
      expect(get("route2", "redirect")).toBeGreaterThan(0);
      expect(get("route5", "respond")).toBeGreaterThan(0);
      expect(get("route7", "forbidden")).toBeGreaterThan(0);
      expect(get("route10", "unauthorized")).toBeGreaterThan(0);
      expect(get("route11", "rate_limited")).toBeGreaterThan(0);
      expect(get("route13", "compressed")).toBeGreaterThan(0);
      expect(get("route13", "compress_saved_bytes")).toBeGreaterThan(1000);
    });

    test("the access log names the policy that answered", async () => {
      // Lines are written asynchronously: wait (bounded) for the 429 of the login limit.
      let lines: { path: string; status: number; policy?: string }[] = [];
      for (let i = 0; i < 50 && !lines.some((l) => l.status === 429); i++) {
        await Bun.sleep(20);
        lines = readFileSync(logFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
      }
      expect(lines.find((l) => l.status === 429 && l.path === "/login")?.policy).toBe("route");
      expect(lines.find((l) => l.status === 301)?.policy).toBe("route");
      expect(lines.find((l) => l.path === "/plain?x=1")?.policy).toBeUndefined();
    });

    test("/metrics and /api/status show each route's policy outcomes", async () => {
      const admin = t.tenbin.adminAddress!;
      const metrics = await (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text();
      expect(metrics).toContain('tenbin_policy_outcomes_total{listener="web",route="route2",policy="route",outcome="redirect"} 1');
      expect(metrics).toMatch(/tenbin_policy_compression_saved_bytes_total\{listener="web",route="route13",policy="route"\} \d{4,}/);
      const status = (await (await fetch(`http://127.0.0.1:${admin.port}/api/status`)).json()) as { listeners: { routes: { name: string; policies?: Record<string, Record<string, number>> }[] }[] };
      const routes = status.listeners[0]!.routes;
      expect(routes.find((r) => r.name === "route11")!.policies!.route!.rate_limited).toBeGreaterThan(0);
      expect(routes.find((r) => r.name === "route15")!.policies).toBeUndefined();
    });
  });
}
