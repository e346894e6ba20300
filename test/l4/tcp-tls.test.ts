/**
 * `tls` on a `mode: tcp` listener: the handshake is tenbin's (certificate picked by SNI, the first
 * one without it), and the pool's plain TCP server sees the decrypted bytes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type TLSSocket } from "node:tls";
import { ConfigError, formatConfigIssue } from "../../src/config/config-error.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { type CertPair, presentedCn, run, testCerts, type TestCerts } from "../helpers/certs.ts";
import { startEchoServer, type TcpBackend } from "../helpers/l4-backends.ts";
import { startL4Tenbin } from "../helpers/l4-tenbin.ts";
import { startTenbin } from "../helpers/tenbin.ts";

let certs: TestCerts;
let echo: TcpBackend;
beforeAll(async () => {
  certs = await testCerts();
  echo = startEchoServer();
});
afterAll(() => echo.kill());

function config(certificates: string, extra = ""): string {
  return `
admin: { enabled: false }
listeners:
  - name: secure
    listen: 127.0.0.1:0
    mode: tcp
    pool: echo
    tls:
      watch_interval: 100ms
      certificates: ${certificates}${extra}
pools:
  echo: { servers: [{ url: "tcp://127.0.0.1:${echo.port}" }] }
`;
}

const pair = (p: CertPair) => `{ cert: ${p.cert}, key: ${p.key} }`;

/** What a TLS client verified against the test CA sees, and the sha256 of the bytes echoed back. */
async function echoThroughTls(port: number, servername: string | undefined, payload: Uint8Array): Promise<{ cn: string; authorized: boolean; echoed: string }> {
  const socket: TLSSocket = connect({ host: "127.0.0.1", port, ca: readFileSync(certs.ca), ...(servername ? { servername } : {}), checkServerIdentity: () => undefined });
  const timer = setTimeout(() => socket.destroy(new Error("no echo within 10 s")), 10_000);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    const cn = String(socket.getPeerCertificate().subject.CN);
    const hash = createHash("sha256");
    let got = 0;
    const done = new Promise<void>((resolve, reject) => {
      socket.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        got += chunk.length;
        if (got >= payload.length) resolve();
      });
      socket.once("error", reject);
      socket.once("close", () => (got >= payload.length ? resolve() : reject(new Error(`closed after ${got} of ${payload.length} bytes`))));
    });
    socket.write(payload);
    await done;
    return { cn, authorized: socket.authorized, echoed: hash.digest("hex") };
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("a tcp listener with tls", () => {
  test("picks the certificate by SNI, defaults to the first, and passes plain bytes to the pool", async () => {
    const t = await startL4Tenbin(config(`[${pair(certs.a)}, ${pair(certs.b)}]`));
    try {
      const port = t.port("secure");
      const payload = randomBytes(2 * 1024 * 1024);
      for (const [sni, cn] of [["a.test", "a.test"], ["b.test", "b.test"], ["x.b.test", "b.test"], [undefined, "a.test"], ["unknown.test", "a.test"]] as const) {
        const got = await echoThroughTls(port, sni, payload);
        expect({ sni, cn: got.cn, authorized: got.authorized, echoed: got.echoed }).toEqual({ sni, cn, authorized: true, echoed: sha(payload) });
      }
      // openssl verifies the chain against the CA file and the name it asked for (echo is above).
      for (const name of ["a.test", "b.test"]) {
        const s = await run(["openssl", "s_client", "-connect", `127.0.0.1:${port}`, "-servername", name, "-verify_hostname", name, "-CAfile", certs.ca, "-verify_return_error"], "Q\n");
        expect({ name, code: s.code, verified: s.out.includes("Verify return code: 0 (ok)"), cn: /subject=.*?CN\s*=\s*([^\n,]+)/.exec(s.out)?.[1] }).toEqual({ name, code: 0, verified: true, cn: name });
      }
      expect(await presentedCn(port, undefined)).toBe("a.test");
      // The backend saw one plain connection per client: the TLS ended at tenbin.
      expect(echo.connections).toBeGreaterThanOrEqual(7);
    } finally {
      await t.stop();
    }
  }, 20_000);

  test("a client that does not speak TLS never reaches the pool", async () => {
    const t = await startL4Tenbin(config(`[${pair(certs.a)}]`));
    try {
      const before = echo.connections;
      const { out } = await run(["curl", "-sS", "--max-time", "5", `http://127.0.0.1:${t.port("secure")}/`]);
      expect(out).toBe("");
      expect(echo.connections).toBe(before);
    } finally {
      await t.stop();
    }
  });

  test("changed certificate files serve new handshakes on the same port", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tenbin-tcp-live-"));
    const install = (from: CertPair) => {
      copyFileSync(from.key, join(dir, "live.key.new"));
      copyFileSync(from.cert, join(dir, "live.crt.new"));
      renameSync(join(dir, "live.key.new"), join(dir, "live.key"));
      renameSync(join(dir, "live.crt.new"), join(dir, "live.crt"));
    };
    install(certs.a);
    const t = await startL4Tenbin(config(`[{ cert: ${join(dir, "live.crt")}, key: ${join(dir, "live.key")} }]`));
    try {
      const port = t.port("secure");
      expect(await presentedCn(port, "a.test")).toBe("a.test");
      install(certs.a2);
      let cn = "";
      for (let i = 0; i < 40 && cn !== "a.test second"; i++) {
        await Bun.sleep(100); // the file watch polls every 100 ms: there is no event to wait for
        cn = await presentedCn(port, "a.test");
      }
      expect(cn).toBe("a.test second");
      expect(t.port("secure")).toBe(port);
      const payload = randomBytes(1000);
      expect((await echoThroughTls(port, "a.test", payload)).echoed).toBe(sha(payload));
    } finally {
      await t.stop();
    }
  });
});

test("the same listener works under Deno (node:tls)", async () => {
  const t = await startTenbin(config(`[${pair(certs.a)}, ${pair(certs.b)}]`), { how: "deno", listeners: 1, timeoutMs: 30_000 });
  try {
    const payload = randomBytes(256 * 1024);
    for (const [sni, cn] of [["b.test", "b.test"], [undefined, "a.test"]] as const) {
      const got = await echoThroughTls(t.port("secure"), sni, payload);
      expect({ sni, cn: got.cn, authorized: got.authorized, echoed: got.echoed }).toEqual({ sni, cn, authorized: true, echoed: sha(payload) });
    }
  } finally {
    await t.stop();
  }
}, 40_000);

describe("config checks of a tcp listener's tls", () => {
  function errors(text: string): string[] {
    try {
      loadConfigText(text, "tenbin.yaml", {});
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.errors.map(formatConfigIssue);
    }
  }

  test("certificate problems are reported at the tcp listener's key", () => {
    const found = errors(config(`[{ cert: ${certs.a.cert}, key: ${certs.b.key} }]`));
    expect(found.length).toBe(1);
    expect(found[0]).toMatch(/listeners\[0\]\.tls\.certificates\[0\]\.key: private key .* does not match the certificate/);
  });

  test("accept_proxy and tls together are refused", () => {
    const found = errors(config(`[${pair(certs.a)}]`, "\n    accept_proxy: true\n    trusted_proxies: [127.0.0.1/32]"));
    expect(found.join("\n")).toContain("accept_proxy cannot be combined with tls");
  });

  test("a valid tls section loads", () => {
    expect(errors(config(`[${pair(certs.a)}, ${pair(certs.b)}]`))).toEqual([]);
  });
});
