/** The compiled policy steps, one by one, without sockets. */
import { describe, expect, test } from "bun:test";
import { forwardedClient } from "../../src/listener/http-policy.ts";
import { PolicyStats } from "../../src/observe/policy-metrics.ts";
import { basicAuthStep, parseBasic } from "../../src/policy/basic-auth.ts";
import { chooseEncoding, compressStream } from "../../src/policy/compress.ts";
import { createGzip, gunzipSync } from "node:zlib";
import { PolicyContext } from "../../src/policy/context.ts";
import { requestHeadersStep } from "../../src/policy/headers.ts";
import { addPrefixStep, rewriteStep, stripPrefixStep } from "../../src/policy/path.ts";
import { parse } from "../../src/policy/resp-client.ts";
import { compileTemplate } from "../../src/policy/template.ts";
import { LocalBuckets } from "../../src/policy/token-bucket.ts";
import { CidrSet } from "../../src/util/cidr.ts";
import { loadConfigText } from "../../src/config/load.ts";
import type { ListenerConfig } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { PolicyMetrics } from "../../src/observe/policy-metrics.ts";
import { compileListenerPolicies } from "../../src/policy/compile.ts";
import { PolicyStores } from "../../src/policy/stores.ts";

function ctxFor(pathAndQuery: string, headers: Record<string, string> = {}, regex?: RegExp): PolicyContext {
  const req = new Request(`http://example.com${pathAndQuery}`, { headers: { host: "shop.example.com:8443", ...headers } });
  return new PolicyContext({ req, clientIp: "192.0.2.7", pathAndQuery, proto: "https", requestId: "rid" }, regex);
}

describe("templates", () => {
  test("placeholders are read per request; literals and {{ }} stay", () => {
    const ctx = ctxFor("/items/42?x=1", { "x-user": "ann" }, /^\/items\/(?<id>\d+)/);
    const t = compileTemplate("{scheme}://{host}{path}?{query} {hostport} {client_ip} {request_id} {method} {uri} {re.1} {re.id} {header.X-User} {{lit}}");
    expect(t.constant).toBe(false);
    expect(t.render(ctx)).toBe("https://shop.example.com/items/42?x=1 shop.example.com:8443 192.0.2.7 rid GET /items/42?x=1 42 42 ann {lit}");
  });

  test("{host} is the client's Host even after a step set another", () => {
    const ctx = ctxFor("/");
    requestHeadersStep({ set: { Host: "backend.internal", "X-Orig-Host": "{host}", "X-Orig-Hostport": "{hostport}" }, add: {}, remove: [] }, "p", new PolicyStats()).run(ctx);
    expect(ctx.req.headers.get("host")).toBe("backend.internal");
    expect(ctx.req.headers.get("x-orig-host")).toBe("shop.example.com");
    expect(ctx.req.headers.get("x-orig-hostport")).toBe("shop.example.com:8443");
  });

  test("a template without placeholders is a constant", () => {
    const t = compileTemplate("DENY");
    expect(t.constant).toBe(true);
    expect(t.render(ctxFor("/"))).toBe("DENY");
  });

  test("a group that did not match is empty; an unknown placeholder throws", () => {
    expect(compileTemplate("[{re.2}]").render(ctxFor("/a", {}, /^\/(a)(b)?/))).toBe("[]");
    expect(() => compileTemplate("{nope}")).toThrow('unknown placeholder "{nope}"');
  });
});

describe("paths", () => {
  const stats = new PolicyStats();
  const run = (step: ReturnType<typeof stripPrefixStep>, pq: string) => {
    const ctx = ctxFor(pq);
    step.run(ctx);
    return ctx.pathAndQuery;
  };
  test("strip_prefix takes whole segments only and keeps the query", () => {
    const step = stripPrefixStep("/api", "p", stats);
    expect(run(step, "/api/users?a=1")).toBe("/users?a=1");
    expect(run(step, "/api")).toBe("/");
    expect(run(step, "/apix")).toBe("/apix");
    expect(run(stripPrefixStep("/api/", "p", stats), "/api/v1")).toBe("/v1");
  });
  test("add_prefix and rewrite with groups", () => {
    expect(run(addPrefixStep("/v2/", "p", stats), "/users")).toBe("/v2/users");
    expect(run(rewriteStep({ regex: "^/u/(?<name>[^/]+)$", replace: "/users/$<name>/profile" }, "p", stats), "/u/ann?x")).toBe("/users/ann/profile?x");
    expect(run(rewriteStep({ regex: "^/old", replace: "" }, "p", stats), "/old")).toBe("/");
  });
});

describe("token bucket", () => {
  test("a burst, then one token per period; a bounded table forgets a bucket not used lately", () => {
    let now = 0;
    const buckets = new LocalBuckets({ rate: 2, perMs: 1000, burst: 3, maxKeys: 2 }, () => now);
    expect([1, 2, 3, 4].map(() => buckets.take("a").allowed)).toEqual([true, true, true, false]);
    expect(buckets.take("a").waitMs).toBe(500);
    now = 500;
    expect(buckets.take("a")).toEqual({ allowed: true, remaining: 0, waitMs: 0 });
    buckets.take("b");
    // The table is full: "a" (used since it came in) gets a second chance, "b" (not used) goes.
    buckets.take("c");
    expect(buckets.size).toBe(2);
    expect(buckets.take("a").allowed).toBe(false); // kept: still empty
    expect(buckets.take("b")).toEqual({ allowed: true, remaining: 2, waitMs: 0 }); // forgotten: back full
    // "b" came back in the place of "c" (not used since it came in); "a" had its second chance
    // then and was not used since, so it goes for "d".
    buckets.take("d");
    expect(buckets.take("a").remaining).toBe(2);
  });
});

describe("compression negotiation", () => {
  test("the first offered encoding the client accepts with q > 0", () => {
    expect(chooseEncoding("gzip, deflate, br", ["br", "gzip"])).toBe("br");
    expect(chooseEncoding("gzip;q=1, br;q=0", ["br", "gzip"])).toBe("gzip");
    expect(chooseEncoding("*", ["zstd", "gzip"])).toBe("zstd");
    expect(chooseEncoding("identity", ["br", "gzip"])).toBeUndefined();
    expect(chooseEncoding(null, ["gzip"])).toBeUndefined();
  });
});

describe("basic auth", () => {
  test("parses credentials; a checked pair is remembered, so the hash is checked once", async () => {
    expect(parseBasic(`Basic ${btoa("ann:pa:ss")}`)).toEqual({ user: "ann", password: "pa:ss" });
    expect(parseBasic("Bearer x")).toBeUndefined();
    let checks = 0;
    const verify = async (password: string) => {
      checks++;
      return password === "right";
    };
    const step = basicAuthStep({ realm: "r", users: { ann: "$2b$04$x" }, forward_credentials: false, cache_for: 60_000 }, verify, "p", new PolicyStats());
    for (let i = 0; i < 3; i++) {
      const ctx = ctxFor("/", { authorization: `Basic ${btoa("ann:right")}` });
      expect(await step.run(ctx)).toBeUndefined();
      expect(ctx.req.headers.get("authorization")).toBeNull();
    }
    for (let i = 0; i < 3; i++) expect((await step.run(ctxFor("/", { authorization: `Basic ${btoa("ann:wrong")}` })))!.status).toBe(401);
    expect(checks).toBe(2);
    // An unknown user costs a check like a known one (its timing tells nothing), and is refused even
    // with a known user's password.
    expect((await step.run(ctxFor("/", { authorization: `Basic ${btoa("eve:right")}` })))!.status).toBe(401);
    expect(checks).toBe(3);
  });
});

describe("client address behind trusted proxies", () => {
  test("the right-most address that is not a trusted proxy", () => {
    const trusted = new CidrSet(["10.0.0.0/8"]);
    expect(forwardedClient("203.0.113.5, 10.0.0.2", "10.0.0.1", trusted)).toBe("203.0.113.5");
    expect(forwardedClient("6.6.6.6, 203.0.113.5", "10.0.0.1", trusted)).toBe("203.0.113.5");
    expect(forwardedClient(null, "10.0.0.1", trusted)).toBe("10.0.0.1");
  });
});

describe("RESP", () => {
  test("values split anywhere parse only once whole", () => {
    const text = Buffer.from("*3\r\n:1\r\n$2\r\nab\r\n$-1\r\n");
    for (let cut = 1; cut < text.length; cut++) expect(parse(text.subarray(0, cut), 0)).toBeUndefined();
    expect(parse(text, 0)).toEqual({ value: [1, "ab", null], end: text.length });
    expect(parse(Buffer.from("-ERR x\r\n"), 0)!.value).toBeInstanceOf(Error);
  });
});

describe("compiling", () => {
  const yamlOf = (routes: string) => loadConfigText(`
policies:
  h: { response_headers: { set: { X-A: "1" } } }
listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
${routes}
pools:
  app: { servers: [{ url: http://127.0.0.1:9 }] }
`, "t.yaml", {});
  const deps = () => ({ metrics: new PolicyMetrics(), buckets: () => new LocalBuckets({ rate: 1, perMs: 1000, burst: 1, maxKeys: 1 }) });

  test("a listener without policies has no policy list at all (its requests pay nothing)", () => {
    const config = yamlOf("      - { pool: app }");
    expect(compileListenerPolicies(config, config.listeners[0] as ListenerConfig, deps())).toBeUndefined();
  });

  test("named sets run in the order listed, then the route's own keys", () => {
    const config = yamlOf("      - { match: { path: /a }, pool: app }\n      - { policies: [h], strip_prefix: /x, compress: true, pool: app }");
    const compiled = compileListenerPolicies(config, config.listeners[0] as ListenerConfig, deps())!;
    expect(compiled[0]).toBeUndefined();
    expect(compiled[1]!.sets).toEqual(["h", "route"]);
    expect(compiled[1]!.request.map((s) => `${s.policy}:${s.kind}`)).toEqual(["route:strip_prefix"]);
    expect(compiled[1]!.response.map((s) => `${s.policy}:${s.kind}`)).toEqual(["h:response_headers", "route:compress"]);
  });

  test("a reload that keeps a limit keeps its buckets; one that drops it forgets them", () => {
    const stores = new PolicyStores(memoryLogger());
    const limit = { rate: 1, per: 1000, key: "client_ip", max_keys: 10, headers: "refused" as const };
    const first = stores.buckets("login", limit);
    stores.retainUsed();
    expect(stores.buckets("login", limit)).toBe(first);
    expect(stores.buckets("login", { ...limit, rate: 2 })).not.toBe(first);
    stores.retainUsed();
    stores.buckets("login", { ...limit, rate: 2 });
    stores.retainUsed();
    expect(stores.buckets("login", limit)).not.toBe(first);
  });
});

describe("compressStream", () => {
  test("a body that fails upstream fails the compressed one too", async () => {
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("x".repeat(2000)));
        c.error(new Error("server went away"));
      },
    });
    const out = compressStream(source, createGzip(), () => {});
    await expect(new Response(out).arrayBuffer()).rejects.toThrow("server went away");
  });

  test("whole and split bodies give the same text back, and the sizes are reported", async () => {
    const text = "tenbin ".repeat(5000);
    const parts = [text.slice(0, 7), text.slice(7, 20000), text.slice(20000)];
    let sizes: [number, number] = [0, 0];
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(new TextEncoder().encode(p));
        c.close();
      },
    });
    const out = new Uint8Array(await new Response(compressStream(source, createGzip(), (i, o) => (sizes = [i, o]))).arrayBuffer());
    expect(gunzipSync(out).toString()).toBe(text);
    expect(sizes).toEqual([text.length, out.byteLength]);
  });

  test("a body that keeps coming is compressed as one: no idle flush between its chunks", async () => {
    // zlib writes nothing until it holds ~16 KB of input. The stream used to hand each chunk over
    // and wait for the idle flush (IDLE_FLUSH_MS) before the next, which flushed after every chunk
    // (a 100 KB answer took ~33 ms). Counted, not timed.
    const chunks = Array.from({ length: 8 }, (_, i) => new TextEncoder().encode(`{"chunk":${i},"data":"${"abcdefgh".repeat(2000)}"}`));
    let at = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at < chunks.length) c.enqueue(chunks[at++]!);
        else c.close();
      },
    });
    const compressor = createGzip();
    let flushes = 0;
    const flush = compressor.flush.bind(compressor);
    compressor.flush = ((...args: Parameters<typeof flush>) => (flushes++, flush(...args))) as typeof compressor.flush;
    const out = new Uint8Array(await new Response(compressStream(source, compressor, () => {})).arrayBuffer());
    expect(gunzipSync(out).toString()).toBe(chunks.map((c) => new TextDecoder().decode(c)).join(""));
    // 0 unless the machine stalls more than IDLE_FLUSH_MS between two chunks; it was one per chunk.
    expect(flushes).toBeLessThan(3);
  });
});
