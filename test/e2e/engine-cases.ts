/**
 * The engine-parity suite (Hono's `common.case.test.ts` pattern): the end-to-end behaviours every
 * HTTP engine must share, run once per engine by `runEngineCases({ engine })` from
 * engine-tenbin.test.ts and engine-runtime.test.ts — tenbin in front of real backends, driven by
 * fetch, curl and raw sockets: routing, forwarding headers, bodies both ways, failures,
 * stickiness, health, keep-alive, upgrade requests to backends that do not upgrade, accept_proxy,
 * TLS, reload and graceful shutdown of a process, and the same on Deno. Where a runtime forces a
 * difference, the case asserts what that engine does and docs/engines.md lists it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { curl, testCerts, type TestCerts } from "../helpers/certs.ts";
import { closedPort, type HttpBackend, startHttpBackend, waitUntil } from "../helpers/health-backends.ts";
import { answer, type RawBackend, type RawConn, startRawBackend } from "../helpers/raw-http-backend.ts";
import { saveLikeEditor, startTenbin, startTenbinInProcess, writeConfig } from "../helpers/tenbin.ts";
import { CookieJar } from "./pools-support.ts";
import { nextMessages, openWs, startWsBackend } from "../websocket/ws-helpers.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MB3 = 3 * 1024 * 1024;
/** Deterministic answer bytes, made once: the backends slice them. */
const BLOB = Uint8Array.from({ length: MB3 }, (_, i) => (i * 31 + (i >> 10)) & 0xff);
const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** A backend answering its name; /size?n= (n bytes of BLOB), /upload (length and hash), ?ms= (delay first). */
function backend(name: string): HttpBackend {
  return startHttpBackend(async (req) => {
    const url = new URL(req.url);
    const ms = Number(url.searchParams.get("ms") ?? 0);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    if (url.pathname.endsWith("/size")) return new Response(BLOB.subarray(0, Number(url.searchParams.get("n"))));
    if (url.pathname.endsWith("/upload")) {
      const body = new Uint8Array(await req.arrayBuffer());
      return Response.json({ name, bytes: body.length, sha256: sha(body) });
    }
    if (req.body) await req.arrayBuffer();
    return new Response(name);
  });
}

/**
 * Sends `data` over a new connection (TLS-less) and resolves with everything received once the
 * server closes it or `done(reply)` holds; 3 s at most.
 */
function exchange(port: number, data: string | Uint8Array, done: (reply: string) => boolean = () => false): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    const finish = (closed: boolean) => (clearTimeout(timer), socket.destroy(), resolve({ reply, closed }));
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no close within 3s; got ${JSON.stringify(reply)}`))), 3000);
    socket.on("data", (d) => {
      reply += d.toString("latin1");
      if (done(reply)) finish(false);
    });
    socket.on("error", () => undefined); // a reset counts as a close
    socket.on("close", () => finish(true));
    socket.write(data);
  });
}

/** Whether `reply` holds one whole Content-Length framed response. */
function wholeAnswer(reply: string): boolean {
  const end = reply.indexOf("\r\n\r\n");
  const length = /\r\ncontent-length: (\d+)/i.exec(reply);
  return end >= 0 && length !== null && reply.length >= end + 4 + Number(length[1]);
}

/** The header block of a raw reply, lower-cased, for header checks. */
const headOf = (reply: string) => reply.slice(0, reply.indexOf("\r\n\r\n") + 2).toLowerCase();

/** The HTTP engines (`engine:` of a listener). */
export type HttpEngine = "tenbin" | "runtime";

/** What differs by engine is passed in; everything else is the same case for both. */
export interface EngineCaseOptions {
  engine: HttpEngine;
}

/** Registers the parity cases for `engine` (one shared tenbin, backends and certificates per file). */
export function runEngineCases({ engine }: EngineCaseOptions): void {
  const a = backend("a");
  const b = backend("b");
  const c = backend("c");
  let raw: RawBackend;
  /** The backend connection of an unfinished chunked answer. */
  let held: RawConn | undefined;
  let certs: TestCerts;
  const ws = startWsBackend("ws");
  let t: Awaited<ReturnType<typeof startTenbinInProcess>>;

  beforeAll(async () => {
    certs = await testCerts();
    raw = await startRawBackend((req, conn) => {
      const path = req.target.split("?")[0];
      if (path === "/raw/head") conn.send("HTTP/1.1 200 OK\r\ncontent-length: 1234\r\ncontent-type: text/plain\r\n\r\n");
      else if (path === "/raw/204") conn.send("HTTP/1.1 204 No Content\r\nx-empty: yes\r\n\r\n");
      else if (path === "/raw/chunked") {
        // The rest is sent by the test once the client has the first chunk: the length is unknown then.
        held = conn;
        conn.send("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
      } else if (path === "/raw/hop") conn.send(answer("ok", "200 OK", "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-End: kept\r\n"));
      else conn.send(answer("raw"));
    });
    const page = join(dirname(writeConfig("")), "sorry.html");
    writeFileSync(page, "<h1>Back soon</h1>\n");
    const own = `engine: ${engine}, listen: 127.0.0.1:0`;
    t = await startTenbinInProcess(`
  admin: { enabled: false }
  listeners:
    - name: web
      engine: ${engine}
      listen: 127.0.0.1:0
      routes:
        - { match: { host: api.example }, pool: api }
        - { match: { path: /app/ }, pool: app }
        - { match: { path: /raw/ }, pool: raw }
        - { match: { path: /retry/ }, pool: retry }
        - { match: { path: /down/ }, pool: down }
        - { match: { path: /sorry/ }, pool: sorry }
        - { match: { path: /slow/ }, pool: slow }
        - { match: { path: /sticky/ }, pool: sticky }
        - { match: { path: /ws/ }, pool: ws }
        - { match: { path: /checked/ }, pool: checked }
    - { name: trusted, ${own}, trusted_proxies: [127.0.0.1/32], routes: [{ pool: raw }] }
    - { name: small, ${own}, max_body: 64KiB, routes: [{ pool: app }] }
    - { name: proxied, ${own}, accept_proxy: true, trusted_proxies: [127.0.0.1], routes: [{ pool: raw }] }
    - { name: untrusted, ${own}, accept_proxy: true, trusted_proxies: [10.0.0.0/8], routes: [{ pool: raw }] }
    - { name: secure, ${own}, tls: { certificates: [{ cert: "${certs.a.cert}", key: "${certs.a.key}" }] }, routes: [{ pool: raw }] }
  pools:
    api: { servers: [{ url: "${c.url}" }] }
    app: { servers: [{ url: "${a.url}" }, { url: "${b.url}" }] }
    raw: { servers: [{ url: "${raw.origin}" }] }
    retry: { balance: first, servers: [{ url: "http://127.0.0.1:${closedPort()}" }, { url: "${b.url}" }] }
    down: { servers: [{ url: "http://127.0.0.1:${closedPort()}" }, { url: "http://127.0.0.1:${closedPort()}" }] }
    sorry:
      health: { http: { path: /healthz }, interval: 10s, initial: down }
      servers: [{ url: "http://127.0.0.1:${closedPort()}" }]
      sorry: { body_file: "${page}", status: 503 }
    slow: { servers: [{ url: "${a.url}" }], timeouts: { response: 200ms }, retries: 0 }
    sticky: { servers: [{ url: "${a.url}" }, { url: "${b.url}" }], sticky: { cookie: { name: srv, key: k1 } } }
    ws: { servers: [{ url: "${ws.url}" }] }
    checked:
      health: { tcp: {}, interval: 100ms, timeout: 500ms, rise: 1, fall: 1, jitter: 0 }
      servers: [{ url: "http://127.0.0.1:${closedPort()}" }, { url: "${a.url}" }]
  `);
  });

  afterAll(async () => {
    await t?.stop();
    await Promise.all([a.stop(), b.stop(), c.stop(), raw?.stop()]);
    ws.stop();
  });

  test("WebSocket: messages pass both ways through the upgrade", async () => {
    const socket = await openWs(`ws://127.0.0.1:${t.port()}/ws/chat`);
    const replies = nextMessages(socket, 3);
    socket.send("ping 1");
    socket.send("ping 2");
    expect(await replies).toEqual(["hello from ws", "ping 1", "ping 2"]);
    socket.close();
  });

  test("health: a server its probes find down takes no requests", async () => {
    const down = t.tenbin.pools.get("checked")!.servers[0]!;
    await waitUntil(() => !down.healthy, 3000, "the probe to mark the closed port down");
    const tries = down.requests;
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push(await (await fetch(t.url("/checked/x"))).text());
    expect(bodies).toEqual(["a", "a", "a", "a"]);
    // Not even tried (a retry on the other server would hide a try from the bodies).
    expect(down.requests).toBe(tries);
  });

  test("a chunked request with a trailer section", async () => {
    const framed = "POST /app/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n";
    const { reply } = await exchange(t.port(), framed);
    if (engine === "runtime") {
      // Runtime-forced (docs/engines.md): Bun.serve ends the body at `0\r\n` and reads the trailer
      // as the next request, which it refuses; the backend has had the request already.
      expect(reply).toContain("HTTP/1.1 400");
      return;
    }
    expect(reply).toStartWith("HTTP/1.1 200");
    expect(JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4))).toMatchObject({ bytes: 5, sha256: sha(new TextEncoder().encode("hello")) });
  });

  test("routing: host and path pick the pool; round robin alternates; no route is a 404 with a request id", async () => {
    expect(await (await fetch(t.url("/app/x"), { headers: { host: "api.example" } })).text()).toBe("c");
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push(await (await fetch(t.url("/app/x"))).text());
    expect([...bodies].sort()).toEqual(["a", "a", "b", "b"]);
    expect(bodies.join("")).not.toMatch(/aa|bb/);
    const missing = await fetch(t.url("/nowhere"));
    expect(missing.status).toBe(404);
    const id = missing.headers.get("x-request-id") ?? "";
    expect(id).toMatch(UUID);
    expect(await missing.text()).toContain(`request id: ${id}`);
  });

  describe("forwarding headers", () => {
    const spoofed = { host: "shop.example", "x-forwarded-for": "6.6.6.6", "x-request-id": "spoofed", forwarded: "for=6.6.6.6" };

    test("an untrusted client's claims are replaced; the client's Host is kept", async () => {
      expect((await fetch(t.url("/raw/h"), { headers: spoofed })).status).toBe(200);
      const req = raw.requests.at(-1)!;
      expect(req.header("host")).toBe("shop.example");
      expect(req.header("x-forwarded-for")).toBe("127.0.0.1");
      expect(req.header("x-forwarded-proto")).toBe("http");
      expect(req.header("x-forwarded-host")).toBe("shop.example");
      expect(req.header("forwarded")).toBe('for=127.0.0.1;proto=http;host="shop.example"');
      expect(req.header("x-request-id")).toMatch(UUID);
      expect(req.headers.filter(([n]) => n.toLowerCase() === "x-forwarded-for").length).toBe(1);
    });

    test("a trusted proxy's chain is extended and its request id kept", async () => {
      expect((await fetch(t.url("/", "trusted"), { headers: spoofed })).status).toBe(200);
      const req = raw.requests.at(-1)!;
      expect(req.header("x-forwarded-for")).toBe("6.6.6.6, 127.0.0.1");
      expect(req.header("x-request-id")).toBe("spoofed");
    });

    test("hop-by-hop headers are removed both ways", async () => {
      const { reply } = await exchange(t.port(), [
        "GET /raw/hop HTTP/1.1", "Host: hop.example", "Connection: close, X-Foo", "X-Foo: secret", "Keep-Alive: timeout=5",
        "TE: trailers", "Upgrade: h2c", "Proxy-Connection: keep-alive", "X-Bar: end-to-end", "", "",
      ].join("\r\n"));
      const req = raw.requests.at(-1)!;
      expect(req.target).toBe("/raw/hop");
      for (const name of ["x-foo", "keep-alive", "te", "upgrade", "proxy-connection"]) expect(req.header(name)).toBeUndefined();
      expect(req.header("connection") ?? "").not.toMatch(/close|x-foo/i);
      expect(req.header("x-bar")).toBe("end-to-end");
      expect(reply).toStartWith("HTTP/1.1 200");
      const head = headOf(reply);
      for (const name of ["x-secret", "keep-alive", "upgrade", "proxy-connection"]) expect(head).not.toContain(`\r\n${name}:`);
      expect(head).toContain("\r\nx-end: kept\r\n");
    });
  });

  describe("request bodies", () => {
    test("a POST to a pool whose first server refuses connections reaches the second", async () => {
      const res = await fetch(t.url("/retry/upload"), { method: "POST", body: "hello" });
      expect(await res.json()).toMatchObject({ name: "b", bytes: 5, sha256: sha(new TextEncoder().encode("hello")) });
      expect(t.logger.lines.some((l) => l.includes("retry: retrying on another server"))).toBe(true);
    });

    test("a 5 MB upload reaches the backend intact", async () => {
      const body = new Uint8Array(randomBytes(5 * 1024 * 1024));
      const res = await fetch(t.url("/app/upload"), { method: "POST", body });
      expect(await res.json()).toMatchObject({ bytes: body.length, sha256: sha(body) });
    });

    test("a chunked upload reaches the backend intact", async () => {
      const parts = [BLOB.subarray(0, 70_000), BLOB.subarray(70_000, 70_100), BLOB.subarray(70_100, 200_000)];
      const framed = Buffer.concat([
        Buffer.from("POST /app/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"),
        ...parts.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from("\r\n")]),
        Buffer.from("0\r\n\r\n"),
      ]);
      const { reply } = await exchange(t.port(), framed);
      expect(reply).toStartWith("HTTP/1.1 200");
      const json = JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4)) as { bytes: number; sha256: string };
      expect(json).toMatchObject({ bytes: 200_000, sha256: sha(BLOB.subarray(0, 200_000)) });
    });

    test("a declared Content-Length over max_body gets a 413 and the connection closes", async () => {
      const before = a.requests + b.requests;
      const { reply, closed } = await exchange(t.port("small"), `POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n${"x".repeat(100_000)}`);
      expect(reply).toStartWith("HTTP/1.1 413");
      expect(headOf(reply)).toContain("\r\nconnection: close\r\n");
      expect(closed).toBe(true);
      expect(a.requests + b.requests).toBe(before);
    });
  });

  describe("answers", () => {
    for (const n of [1024, 100 * 1024, MB3]) {
      test(`${n} bytes arrive intact with their Content-Length`, async () => {
        const res = await fetch(t.url(`/app/size?n=${n}`));
        // Runtime-forced (docs/engines.md): Bun.serve sends a streamed body chunked, dropping the length.
        expect(res.headers.get("content-length")).toBe(engine === "runtime" && n > 1024 ? null : String(n));
        expect(sha(new Uint8Array(await res.arrayBuffer()))).toBe(sha(BLOB.subarray(0, n)));
      });
    }

    test("a chunked answer of unknown length arrives chunked", async () => {
      let finished = false;
      const { reply } = await exchange(t.port(), "GET /raw/chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", (text) => {
        if (!finished && text.includes("hello")) {
          finished = true;
          held!.send("6\r\n world\r\n0\r\n\r\n");
        }
        return false;
      });
      expect(headOf(reply)).toContain("\r\ntransfer-encoding: chunked\r\n");
      expect(headOf(reply)).not.toContain("content-length");
      // De-chunked (tenbin may cut the chunks its own way), the body is whole and ends with the last chunk.
      const chunks = reply.slice(reply.indexOf("\r\n\r\n") + 4);
      expect(chunks).toEndWith("\r\n0\r\n\r\n");
      expect(chunks.replace(/(^|\r\n)[0-9a-f]+\r\n/g, "")).toBe("hello world\r\n");
    });

    test("HEAD keeps the backend's Content-Length and has no body; 204 has no body", async () => {
      const head = await exchange(t.port(), "HEAD /raw/head HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(head.reply).toStartWith("HTTP/1.1 200");
      expect(headOf(head.reply)).toContain("\r\ncontent-length: 1234\r\n");
      expect(head.reply).toEndWith("\r\n\r\n");
      const empty = await exchange(t.port(), "GET /raw/204 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(empty.reply).toStartWith("HTTP/1.1 204");
      expect(headOf(empty.reply)).toContain("\r\nx-empty: yes\r\n");
      expect(headOf(empty.reply)).not.toMatch(/content-length|transfer-encoding/);
      expect(empty.reply).toEndWith("\r\n\r\n");
    });
  });

  describe("failures", () => {
    test("every server down: 502, or the sorry page with 503", async () => {
      const res = await fetch(t.url("/down/x"));
      expect(res.status).toBe(502);
      expect(res.headers.get("x-request-id")).toMatch(UUID);
      await res.text();
      const sorry = await fetch(t.url("/sorry/x"));
      expect(sorry.status).toBe(503);
      expect(await sorry.text()).toBe("<h1>Back soon</h1>\n");
    });

    test("a backend that stalls beyond timeouts.response gives a 504", async () => {
      const res = await fetch(t.url("/slow/x?ms=1500"));
      expect(res.status).toBe(504);
      expect(await res.text()).toContain("Gateway timeout");
    });
  });

  test("sticky cookie: Set-Cookie is added and the cookie keeps the server", async () => {
    const jar = new CookieJar("srv");
    const first = await jar.fetch(t.url("/sticky/x"));
    expect(first.setCookie).toBeDefined();
    for (let i = 0; i < 4; i++) expect((await jar.fetch(t.url("/sticky/x"))).body).toBe(first.body);
    expect(jar.seen.length).toBe(1);
  });

  test("keep-alive: requests in a row (curl) and pipelined (raw socket) over one connection are all answered", async () => {
    const urls = ["/app/1", "/raw/2", "/app/size?n=100000"].map((p) => t.url(p));
    const r = await curl([...urls.flatMap((u) => ["-o", "/dev/null", u]), "-w", "%{http_code} %{num_connects} %{size_download}\n"]);
    expect(r.out).toBe("200 1 1\n200 0 3\n200 0 100000\n");
    const { reply, closed } = await exchange(t.port(), "GET /app/p1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /raw/p2 HTTP/1.1\r\nHost: x\r\n"
      + "Content-Length: 3\r\n\r\nabcGET /app/p3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (engine === "runtime") {
      // Runtime-forced (docs/engines.md): Bun.serve closes a connection with a request pipelined
      // behind a pending one, without answering it.
      expect(reply.match(/HTTP\/1\.1 200 OK\r\n/g)?.length ?? 0).toBeLessThan(3);
      return;
    }
    expect(reply.match(/HTTP\/1\.1 200 OK\r\n/g)?.length).toBe(3);
    expect(closed).toBe(true);
    expect(raw.requests.at(-1)!.body.toString()).toBe("abc");
  });

  const UPGRADE = ["Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"];

  /**
   * The answer to a WebSocket upgrade request on `port`. The backends here do not upgrade: tenbin's
   * own server passes their ordinary answer on as it is (the runtime's says the upgrade was refused),
   * so it also tells which engine serves a listener.
   */
  /**
   * How an upgrade the backend answers with a plain 200 `body` reaches the client: the own server
   * passes the answer on; the runtime engine (a WebSocket client towards the backend) can only say
   * that the upgrade was refused, with the status (docs/engines.md).
   */
  const passedOn = (body: string) =>
    engine === "tenbin" ? new RegExp(`^HTTP/1\\.1 200 OK\\r\\n[^]*\\r\\n\\r\\n${body}$`) : /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nWebSocket upgrade refused by the server \(200\)\n$/;

  async function upgradeAnswer(port: number, path = "/app/ws", prefix = ""): Promise<string> {
    const request = [`GET ${path} HTTP/1.1`, "Host: x", ...UPGRADE, "", ""].join("\r\n");
    return (await exchange(port, prefix + request, (text) => wholeAnswer(text) || text.endsWith("\r\n0\r\n\r\n"))).reply;
  }

  test("a WebSocket upgrade request to a backend that does not upgrade gets its answer, on every listener", async () => {
    expect(await upgradeAnswer(t.port())).toMatch(passedOn("[ab]"));
    expect(await upgradeAnswer(t.port("small"), "/")).toMatch(passedOn("[ab]"));
    expect(await upgradeAnswer(t.port("trusted"), "/")).toMatch(passedOn("raw"));
    expect(raw.requests.at(-1)!.header("upgrade")).toBe("websocket");
    expect(await upgradeAnswer(t.port("proxied"), "/", "PROXY TCP4 203.0.113.9 198.51.100.1 5555 443\r\n")).toMatch(passedOn("raw"));
    expect(raw.requests.at(-1)!.header("x-forwarded-for")).toBe("203.0.113.9");
  });

  describe("accept_proxy", () => {
    const request = "GET / HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n";

    test("a trusted peer's PROXY v1 header names the client the backend hears of", async () => {
      const { reply } = await exchange(t.port("proxied"), `PROXY TCP4 203.0.113.9 198.51.100.1 5555 443\r\n${request}`);
      expect(reply).toStartWith("HTTP/1.1 200");
      expect(raw.requests.at(-1)!.header("x-forwarded-for")).toBe("203.0.113.9");
    });

    test("an untrusted peer's connection is closed unanswered", async () => {
      const before = raw.requests.length;
      const { reply, closed } = await exchange(t.port("untrusted"), `PROXY TCP4 203.0.113.9 198.51.100.1 5555 443\r\n${request}`);
      expect({ reply, closed }).toEqual({ reply: "", closed: true });
      expect(raw.requests.length).toBe(before);
    });
  });

  test("TLS: https via fetch (test CA) and curl reaches the backend with X-Forwarded-Proto https", async () => {
    const port = t.port("secure");
    const res = await fetch(`https://127.0.0.1:${port}/tls`, { tls: { ca: readFileSync(certs.ca, "utf8") } } as RequestInit);
    expect(await res.text()).toBe("raw");
    expect(raw.requests.at(-1)!.header("x-forwarded-proto")).toBe("https");
    const r = await curl(["--cacert", certs.ca, "--resolve", `a.test:${port}:127.0.0.1`, `https://a.test:${port}/curl`]);
    expect({ out: r.out, err: r.err }).toEqual({ out: "raw", err: "" });
    expect(raw.requests.at(-1)!.header("forwarded")).toBe(`for=127.0.0.1;proto=https;host="a.test:${port}"`);
    const ws = await curl(["--cacert", certs.ca, "--resolve", `a.test:${port}:127.0.0.1`, ...UPGRADE.flatMap((h) => ["-H", h]), "-o", "/dev/null", "-w", "%{http_code}", `https://a.test:${port}/ws`]);
    expect(ws.out).toBe("200"); // the upgrade reaches the backend behind TLS too, which answers as usual
  });

  describe("a tenbin process", () => {
    const config = (pool: HttpBackend) => `
  admin: { listen: 127.0.0.1:0 }
  listeners:
    - { name: web, engine: ${engine}, listen: 127.0.0.1:0, routes: [{ pool: app }] }
  pools:
    app: { servers: [{ url: "${pool.url}" }], timeouts: { response: 10s } }
  `;

    test("reload (admin API, then SIGHUP) keeps serving; SIGTERM lets a slow request finish", async () => {
      const file = writeConfig(config(a));
      const p = await startTenbin(file);
      try {
        await p.waitFor(/admin listening on http:\/\/127\.0\.0\.1:\d+/);
        const admin = Number(/admin listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(p.output())![1]);
        expect(await (await fetch(p.url("/x"))).text()).toBe("a");
        expect(await upgradeAnswer(p.port())).toMatch(passedOn("a"));
        saveLikeEditor(file, config(b));
        expect((await fetch(`http://127.0.0.1:${admin}/api/reload`, { method: "POST" })).status).toBe(200);
        expect(await (await fetch(p.url("/x"))).text()).toBe("b");
        saveLikeEditor(file, config(c));
        p.proc.kill("SIGHUP");
        await p.waitFor(/reloaded [^\n]*trigger=SIGHUP/, 5000);
        expect(await (await fetch(p.url("/x"))).text()).toBe("c");

        const inFlight = fetch(p.url("/slow?ms=800"));
        await waitUntil(() => c.inFlight === 1, 3000, "the slow request to reach the backend");
        p.proc.kill("SIGTERM");
        const res = await inFlight;
        expect(res.status).toBe(200);
        expect(await res.text()).toBe("c");
        // Already stopping: wait for the exit (a second SIGTERM would mean "stop at once").
        expect(await Promise.race([p.proc.exited, Bun.sleep(5000).then(() => "still running")])).toBe(0);
      } finally {
        await p.stop("SIGKILL");
      }
    }, 15_000);

    test("the same engine runs on Deno", async () => {
      const p = await startTenbin(config(a).replace("admin: { listen: 127.0.0.1:0 }", "admin: { enabled: false }"), { how: "deno", timeoutMs: 20_000 });
      try {
        const res = await fetch(p.url("/deno/size?n=100000"));
        expect(res.headers.get("content-length")).toBe("100000");
        expect(sha(new Uint8Array(await res.arrayBuffer()))).toBe(sha(BLOB.subarray(0, 100_000)));
        expect(a.last?.path).toBe("/deno/size");
        expect(a.last?.headers.get("x-forwarded-for")).toBe("127.0.0.1");
        expect(await upgradeAnswer(p.port())).toMatch(passedOn("a"));
      } finally {
        expect(await p.stop()).toBe(0);
      }
    }, 25_000);
  });
}
