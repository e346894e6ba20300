/**
 * TLS passthrough routed by the ClientHello: two TLS backends with different certificates behind one
 * `mode: tcp` listener with `routes`. The certificate a client receives (openssl s_client, curl
 * --resolve) proves which backend it reached: tenbin never terminates the TLS.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { curl, presentedCn, run, testCerts, type TestCerts } from "../helpers/certs.ts";
import type { TcpBackend } from "../helpers/l4-backends.ts";
import { startProxyReportServer } from "../helpers/l4-servers.ts";
import { startL4Tenbin, textClient } from "../helpers/l4-tenbin.ts";
import { startTenbin } from "../helpers/tenbin.ts";

type TlsBackend = ReturnType<typeof Bun.serve>;

let certs: TestCerts;
let a1: TlsBackend;
let a2: TlsBackend;
let b: TlsBackend;
let report: TcpBackend;
const big = randomBytes(20 * 1024 * 1024);

function tlsBackend(pair: { cert: string; key: string }, name: string): TlsBackend {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(pair.cert, "utf8"), key: readFileSync(pair.key, "utf8") },
    fetch: (req) => (new URL(req.url).pathname === "/big" ? new Response(big) : new Response(name)),
  });
}

beforeAll(async () => {
  certs = await testCerts();
  a1 = tlsBackend(certs.a, "a1");
  a2 = tlsBackend(certs.a, "a2");
  b = tlsBackend(certs.b, "b");
  report = startProxyReportServer();
});
afterAll(() => {
  for (const s of [a1, a2, b]) s.stop(true);
  report.kill();
});

const config = (extra = "", poolA = "") => `
admin: { enabled: false }
listeners:
  - name: edge
    listen: 127.0.0.1:0
    mode: tcp
    sni_timeout: 300ms
    routes:
      - { name: h2-only, match: { sni: h2.test, alpn: h2 }, pool: b }
      - { match: { sni: [a.test, "*.a.test"] }, pool: a }
      - { match: { sni: b.test, source: 10.0.0.0/8 }, pool: a }
      - { match: { sni: b.test, source: 127.0.0.1 }, pool: b }
      - { match: { sni: proxied.test }, pool: report }${extra}
pools:
  a: { servers: [{ url: "tcp://127.0.0.1:${a1.port}" }, { url: "tcp://127.0.0.1:${a2.port}" }]${poolA} }
  b: { servers: [{ url: "tcp://127.0.0.1:${b.port}" }] }
  report: { send_proxy: v1, servers: [{ url: "tcp://127.0.0.1:${report.port}" }] }
`;

async function curlBody(port: number, host: string, path = "/"): Promise<string> {
  const res = await curl(["--cacert", certs.ca, "--resolve", `${host}:${port}:127.0.0.1`, `https://${host}:${port}${path}`]);
  if (res.code !== 0) throw new Error(`curl ${host}: ${res.err}`);
  return res.out;
}

async function alpnCn(port: number, servername: string, alpn: string): Promise<string> {
  const { out } = await run(["openssl", "s_client", "-connect", `127.0.0.1:${port}`, "-servername", servername, "-alpn", alpn], "Q\n");
  return /subject=.*?CN\s*=\s*([^\n,]+)/.exec(out)?.[1]?.trim() ?? `no certificate: ${out}`;
}

/** Captures the ClientHello a node:tls client sends for `servername`. */
async function helloFor(servername: string): Promise<Uint8Array> {
  const { createServer } = await import("node:net");
  return await new Promise<Uint8Array>((resolve) => {
    const server = createServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        resolve(new Uint8Array(chunk));
        socket.destroy();
        server.close();
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const client = tlsConnect({ host: "127.0.0.1", port: (server.address() as { port: number }).port, servername, rejectUnauthorized: false });
      client.on("error", () => undefined);
    });
  });
}

/** Opens a connection, sends `bytes` (maybe nothing), and waits for tenbin to close it. */
async function closedAfter(port: number, bytes: Uint8Array | undefined, end = false): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      if (bytes) socket.write(bytes);
      if (end) socket.end();
    });
    const timer = setTimeout(() => reject(new Error("not closed within 3 s")), 3000);
    socket.on("data", () => undefined);
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return performance.now() - started;
}

describe("tcp routes by the ClientHello", () => {
  test("openssl and curl get the certificate of the backend their server name routes to", async () => {
    const t = await startL4Tenbin(config());
    try {
      const port = t.port("edge");
      expect(await presentedCn(port, "a.test")).toBe("a.test");
      expect(await presentedCn(port, "x.a.test")).toBe("a.test");
      expect(await presentedCn(port, "b.test")).toBe("b.test");
      expect(["a1", "a2"]).toContain(await curlBody(port, "www.a.test"));
      expect(await curlBody(port, "b.test")).toBe("b");
      // ALPN: h2.test routes to b only when the client offers h2.
      expect(await alpnCn(port, "h2.test", "h2,http/1.1")).toBe("b.test");
      expect(t.logger.lines.join("\n")).not.toContain("h2.test");
      await closedAfter(port, await helloFor("h2.test"));
      expect(t.logger.lines.join("\n")).toContain('closed connection from 127.0.0.1 (server name "h2.test"): no route matches and the listener has no pool');
    } finally {
      await t.stop();
    }
  });

  test("a name no route takes, or no name at all, goes to the listener's pool", async () => {
    const t = await startL4Tenbin(config().replace("mode: tcp", `mode: tcp\n    pool: b`));
    try {
      expect(await presentedCn(t.port("edge"), "other.test")).toBe("b.test");
      expect(await presentedCn(t.port("edge"), undefined)).toBe("b.test");
    } finally {
      await t.stop();
    }
  });

  test("20 MB through a passthrough route arrive unchanged (SHA-256)", async () => {
    const t = await startL4Tenbin(config());
    const dir = mkdtempSync(join(tmpdir(), "tenbin-sni-"));
    try {
      const port = t.port("edge");
      const file = join(dir, "big");
      const res = await run(["curl", "-sS", "--max-time", "30", "--cacert", certs.ca, "--resolve", `b.test:${port}:127.0.0.1`, "-o", file, `https://b.test:${port}/big`]);
      expect(res.err).toBe("");
      const got = createHash("sha256").update(readFileSync(file)).digest("hex");
      expect(got).toBe(createHash("sha256").update(big).digest("hex"));
    } finally {
      await t.stop();
    }
  }, 40_000);

  test("every byte the client sends reaches the server unchanged, after the PROXY header the pool asks for", async () => {
    const t = await startL4Tenbin(config());
    try {
      const hello = await helloFor("proxied.test");
      const after = new TextEncoder().encode("after the hello");
      // Sent in two writes, the hello cut in the middle.
      const client = await textClient(t.port("edge"), hello.subarray(0, 20));
      await Bun.sleep(20);
      client.socket.write(new Uint8Array([...hello.subarray(20), ...after]));
      const text = await client.until((_, closed) => closed);
      const expected = `v1 TCP4 127.0.0.1 ${client.localPort} 127.0.0.1 ${t.port("edge")} | ${Buffer.from([...hello, ...after]).toString()}`;
      expect(Buffer.from(text, "latin1").toString()).toBe(expected);
    } finally {
      await t.stop();
    }
  });

  test("behind a PROXY header, the routes see the address it names, and the hello after it", async () => {
    const t = await startL4Tenbin(config().replace("mode: tcp", "mode: tcp\n    accept_proxy: true\n    trusted_proxies: [127.0.0.1]")
      .replace("{ match: { sni: b.test, source: 10.0.0.0/8 }, pool: a }", "{ match: { sni: b.test, source: 10.0.0.0/8 }, pool: report }"));
    try {
      const hello = await helloFor("b.test");
      const header = new TextEncoder().encode("PROXY TCP4 10.1.2.3 192.0.2.1 5555 443\r\n");
      const client = await textClient(t.port("edge"), new Uint8Array([...header, ...hello.subarray(0, 10)]));
      await Bun.sleep(20);
      client.socket.write(hello.subarray(10));
      const text = await client.until((_, closed) => closed);
      expect(text.startsWith("v1 TCP4 10.1.2.3 5555 192.0.2.1 443 | ")).toBe(true);
    } finally {
      await t.stop();
    }
  });

  test("on Deno: routed by the server name, the certificate proves it", async () => {
    const t = await startTenbin(config(), { how: "deno", timeoutMs: 30_000 });
    try {
      expect(await presentedCn(t.port("edge"), "a.test")).toBe("a.test");
      expect(await presentedCn(t.port("edge"), "b.test")).toBe("b.test");
      expect(await curlBody(t.port("edge"), "b.test")).toBe("b");
    } finally {
      expect(await t.stop()).toBe(0);
    }
  }, 40_000);

  test("source persistence and hash on the source address hold on a passthrough route", async () => {
    for (const poolA of [", balance: round_robin, sticky: { source_ip: true }", ", balance: hash, hash_on: source_ip"]) {
      const t = await startL4Tenbin(config("", poolA));
      try {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) seen.add(await curlBody(t.port("edge"), "a.test"));
        expect(seen.size).toBe(1);
      } finally {
        await t.stop();
      }
    }
    // Without either, round robin alternates: the check above can fail.
    const t = await startL4Tenbin(config());
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(await curlBody(t.port("edge"), "a.test"));
      expect(seen.size).toBe(2);
    } finally {
      await t.stop();
    }
  });

  test("no TLS, a truncated, an oversized or a silent hello: closed, one log line each", async () => {
    const t = await startL4Tenbin(config("", "").replace("sni_timeout: 300ms", "sni_timeout: 300ms\n    max_hello: 200"));
    try {
      const port = t.port("edge");
      const hello = await helloFor("a.test");
      expect(hello.length).toBeGreaterThan(200);
      const http = await curl(["-sS", `http://a.test:${port}/`, "--resolve", `a.test:${port}:127.0.0.1`]);
      expect(http.code).not.toBe(0);
      // A record that promises 100 bytes of handshake, then the client's FIN after 10 of them.
      await closedAfter(port, new Uint8Array([22, 3, 1, 0, 100, 1, 0, 0, 96, 3, 3, 0, 0, 0, 0]), true);
      await closedAfter(port, hello);
      const waited = await closedAfter(port, undefined);
      expect(waited).toBeGreaterThanOrEqual(250);
      const lines = t.logger.lines.filter((l) => l.includes("closed connection"));
      expect(lines.length).toBe(4);
      expect(lines[0]).toContain('not a TLS ClientHello (starts with "GET / HT")');
      expect(lines[1]).toContain("the client closed before sending a whole TLS ClientHello");
      expect(lines[2]).toContain("ClientHello larger than max_hello (200 bytes)");
      expect(lines[3]).toContain("no whole TLS ClientHello within 300ms");
      expect(t.tenbin.l4Stats.get("edge")).toMatchObject({ badHello: 4 });
    } finally {
      await t.stop();
    }
  });
});
