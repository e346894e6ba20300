/**
 * ACME end to end against pebble (Let's Encrypt's test CA) on loopback: pebble resolves every name
 * to 127.0.0.1 (pebble-challtestsrv as its DNS) and validates HTTP-01 on tenbin's plain listener.
 * The certificate openssl receives from tenbin's TLS listener proves what was issued and served.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderMetrics } from "../../src/admin/prometheus.ts";
import { AcmeStorage } from "../../src/tls/acme/storage.ts";
import { buildStatus } from "../../src/admin/status.ts";
import { run } from "../helpers/certs.ts";
import { freeTcpPort } from "../helpers/l4-backends.ts";
import { startL4Tenbin } from "../helpers/l4-tenbin.ts";
import { HAVE_PEBBLE, type Pebble, startPebble } from "../helpers/pebble.ts";
import { startTenbin } from "../helpers/tenbin.ts";

type Running = Awaited<ReturnType<typeof startL4Tenbin>>;
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of cleanup.splice(0).reverse()) await stop();
});

// `/slow` answers only when the test releases it: a request in flight across a certificate swap.
let release: () => void = () => undefined;
const backend = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: async (req) => {
    if (new URL(req.url).pathname === "/slow") await new Promise<void>((resolve) => (release = resolve));
    return new Response("app");
  },
});

function config(pebble: Pebble, httpPort: number, storage: string, moreListeners = ""): string {
  return `
admin: { enabled: false }
listeners:
  - name: web
    listen: 127.0.0.1:${httpPort}
    redirect_https: true
  - name: secure
    listen: 127.0.0.1:0
    tls:
      acme:
        directory: ${pebble.directory}
        ca_file: ${pebble.caFile}
        email: ops@tenbin.test
        storage: ${storage}
        retry_after: 1s
    routes:
      - { match: { host: a.tenbin.test }, pool: app }
      - { match: { host: "*.wild.test" }, pool: app }${moreListeners}
pools:
  app: { servers: [{ url: "http://127.0.0.1:${backend.port}" }] }
  raw: { servers: [{ url: "tcp://127.0.0.1:${backend.port}" }] }
`;
}

/** Subject, issuer and serial of the certificate tenbin's TLS listener sends for `name`. */
async function served(port: number, name: string): Promise<{ subject: string; issuer: string; serial: string; notAfter: string }> {
  const { out } = await run(["sh", "-c", `openssl s_client -connect 127.0.0.1:${port} -servername ${name} </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -serial -enddate`]);
  const field = (re: RegExp) => re.exec(out)?.[1]?.trim() ?? "";
  return { subject: field(/subject=(.*)/), issuer: field(/issuer=(.*)/), serial: field(/serial=(.*)/), notAfter: field(/notAfter=(.*)/) };
}

async function until<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (ok(value)) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(value)}`);
    await Bun.sleep(100);
  }
}

async function start(yaml: string): Promise<Running> {
  const t = await startL4Tenbin(yaml);
  cleanup.push(() => t.stop());
  return t;
}

async function pebbleFor(httpPort: number, validitySeconds?: number): Promise<Pebble> {
  const pebble = await startPebble({ httpPort, ...(validitySeconds ? { validitySeconds } : {}) });
  cleanup.push(() => pebble.stop());
  return pebble;
}

const orders = (t: Running) => t.logger.lines.filter((l) => l.includes("ordering the certificate") || l.includes("renewing the certificate")).length;

// .ci/run installs pebble: in CI a missing one is a failure, not a skip.
describe.skipIf(!HAVE_PEBBLE && !process.env.CI)("ACME with pebble", () => {
  test("first issuance over HTTP-01 (with redirect_https), then a restart serves it from storage without ordering", async () => {
    const httpPort = freeTcpPort();
    const pebble = await pebbleFor(httpPort);
    const storage = join(mkdtempSync(join(tmpdir(), "tenbin-acme-")), "store");
    const first = await start(config(pebble, httpPort, storage));
    const port = first.port("secure");
    const cert = await until("the issued certificate", () => served(port, "a.tenbin.test"), (c) => c.issuer.includes("Pebble"));
    expect(cert.subject).toContain("a.tenbin.test");
    // The redirect still answers everything else.
    const redirect = await fetch(`http://127.0.0.1:${httpPort}/x`, { redirect: "manual", headers: { host: "a.tenbin.test" } });
    expect(redirect.status).toBe(308);
    // Keys and certificates 0600, in 0700 directories; no temporary file left.
    const [ca] = readdirSync(join(storage, "certificates"));
    const files = readdirSync(join(storage, "certificates", ca!));
    expect(files).toEqual(["a.tenbin.test.pem"]);
    expect(statSync(join(storage, "certificates", ca!, files[0]!)).mode & 0o777).toBe(0o600);
    expect(statSync(join(storage, "accounts", readdirSync(join(storage, "accounts"))[0]!)).mode & 0o777).toBe(0o600);
    expect(statSync(storage).mode & 0o777).toBe(0o700);
    expect(orders(first)).toBe(1);
    await first.stop();
    cleanup.pop();

    const again = await start(config(pebble, httpPort, storage));
    // Served at once: the listener was bound with it.
    expect((await served(again.port("secure"), "a.tenbin.test")).serial).toBe(cert.serial);
    await Bun.sleep(300);
    expect(orders(again)).toBe(0);
    expect(again.logger.lines.join("\n")).toContain("acme: a.tenbin.test: certificate from storage");
  }, 40_000);

  test("a short-lived certificate is renewed at about two thirds of its life and swapped in without dropping a connection", async () => {
    const httpPort = freeTcpPort();
    const pebble = await pebbleFor(httpPort, 9);
    const storage = join(mkdtempSync(join(tmpdir(), "tenbin-acme-")), "store");
    const t = await start(config(pebble, httpPort, storage));
    const port = t.port("secure");
    const first = await until("the first certificate", () => served(port, "a.tenbin.test"), (c) => c.issuer.includes("Pebble"));
    // A request in flight on the first certificate's socket finishes after the swap.
    const { connect } = await import("node:tls");
    const socket = connect({ host: "127.0.0.1", port, servername: "a.tenbin.test", rejectUnauthorized: false });
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    let text = "";
    let closed = false;
    socket.on("data", (d: Buffer) => void (text += d.toString()));
    socket.on("close", () => void (closed = true));
    socket.on("error", () => undefined);
    socket.write("GET /slow HTTP/1.1\r\nhost: a.tenbin.test\r\nconnection: close\r\n\r\n");
    const renewed = await until("a renewed certificate", () => served(port, "a.tenbin.test"), (c) => c.issuer.includes("Pebble") && c.serial !== first.serial, 20_000);
    expect(renewed.subject).toContain("a.tenbin.test");
    expect(closed).toBe(false);
    release();
    const answer = await until("the slow answer", () => text, (t) => t.includes("app"), 5000);
    socket.destroy();
    expect(answer).toStartWith("HTTP/1.1 200");
    expect(t.logger.lines.some((l) => l.includes("renewing the certificate"))).toBe(true);
  }, 40_000);

  test("a failed challenge: one clear log line, the listener keeps serving what it has, the failure is counted", async () => {
    const httpPort = freeTcpPort();
    // Pebble validates on a port where nothing answers.
    const broken = await pebbleFor(freeTcpPort());
    const storage = join(mkdtempSync(join(tmpdir(), "tenbin-acme-")), "store");
    const t = await start(config(broken, httpPort, storage));
    const line = await until("the failure log line", () => t.logger.lines.find((l) => l.includes("order failed")), (l) => l !== undefined);
    expect(line).toContain("acme: a.tenbin.test: order failed:");
    expect(line).toContain("no certificate yet (clients get a self-signed placeholder); next try in 1s");
    // The listener is up and answers with the placeholder.
    expect((await served(t.port("secure"), "a.tenbin.test")).subject).toContain("tenbin-acme-pending.invalid");
    const status = t.tenbin.certificates.find((c) => c.host === "a.tenbin.test");
    expect(status?.orderFailures).toBeGreaterThanOrEqual(1);
    expect(status?.notAfter).toBeUndefined();
    await t.stop();
    cleanup.splice(cleanup.length - 1);

    // With a certificate in storage that is due for renewal, a failed renewal keeps it served:
    // issued through a listener on pebble's port, renewed by a tenbin whose plain listener is elsewhere.
    const validated = freeTcpPort();
    const good = await pebbleFor(validated, 8);
    const issuing = await start(config(good, validated, storage));
    await until("a certificate", () => served(issuing.port("secure"), "a.tenbin.test"), (c) => c.issuer.includes("Pebble"));
    await issuing.stop();
    cleanup.splice(cleanup.length - 1);
    // The stored one (a loaded machine may have renewed it once already), waited for until it is due.
    const store = new AcmeStorage(storage).readCertificate(good.directory, "a.tenbin.test")!;
    const x509 = new X509Certificate(store.chain);
    const old = { serial: x509.serialNumber };
    const from = new Date(x509.validFrom).getTime();
    const due = from + 0.72 * (new Date(x509.validTo).getTime() - from);
    await Bun.sleep(Math.max(0, due - Date.now()));
    const renewing = await start(config(good, httpPort, storage));
    expect((await served(renewing.port("secure"), "a.tenbin.test")).serial.toUpperCase()).toBe(old.serial.toUpperCase());
    const failed = await until("the renewal failure", () => renewing.logger.lines.find((l) => l.includes("order failed")), (l) => l !== undefined);
    expect(failed).toContain("still serving the certificate valid until");
    expect((await served(renewing.port("secure"), "a.tenbin.test")).serial.toUpperCase()).toBe(old.serial.toUpperCase());
  }, 40_000);

  test("a tcp listener gets its certificate too; metrics and status show its expiry", async () => {
    const httpPort = freeTcpPort();
    const pebble = await pebbleFor(httpPort);
    const storage = join(mkdtempSync(join(tmpdir(), "tenbin-acme-")), "store");
    const t = await start(config(pebble, httpPort, storage, `
  - name: tcp-secure
    listen: 127.0.0.1:0
    mode: tcp
    pool: raw
    tls: { acme: { directory: ${pebble.directory}, ca_file: ${pebble.caFile}, storage: ${storage}, domains: [t.tenbin.test] } }`));
    const cert = await until("the tcp listener's certificate", () => served(t.port("tcp-secure"), "t.tenbin.test"), (c) => c.issuer.includes("Pebble"));
    expect(cert.subject).toContain("t.tenbin.test");
    const metrics = renderMetrics(t.tenbin, { version: "test", runtime: "bun" });
    const expiry = Math.floor(new Date(cert.notAfter).getTime() / 1000);
    expect(metrics).toContain(`tenbin_certificate_expiry_timestamp_seconds{listener="tcp-secure",host="t.tenbin.test",source="acme"} ${expiry}`);
    expect(metrics).toContain(`tenbin_acme_order_failures_total{listener="tcp-secure",host="t.tenbin.test"} 0`);
    const status = buildStatus(t.tenbin, { version: "test", runtime: "bun", now: Date.now(), startedAt: Date.now() });
    expect(status.certificates.find((c) => c.host === "t.tenbin.test")).toMatchObject({ listener: "tcp-secure", source: "acme", order_failures: 0 });
    expect(status.certificates.find((c) => c.host === "t.tenbin.test")?.days_left).toBeGreaterThan(14);
  }, 40_000);

  for (const how of ["deno", "binary"] as const) {
    // Deno always; the compiled binary when TENBIN_TEST_BINARY is set after `bun build.ts` (a stale
    // dist/tenbin would test old code, and building here costs ~7 s of both cores).
    test.skipIf(how === "binary" && !process.env.TENBIN_TEST_BINARY)(`issuance on ${how === "deno" ? "Deno (acme-client and its axios on Deno's node:https)" : "the compiled binary (acme-client bundled)"}`, async () => {
      const httpPort = freeTcpPort();
      const pebble = await pebbleFor(httpPort);
      const storage = join(mkdtempSync(join(tmpdir(), "tenbin-acme-")), "store");
      const t = await startTenbin(config(pebble, httpPort, storage), { how, listeners: 2, timeoutMs: 20_000 });
      cleanup.push(async () => void (await t.stop()));
      await t.waitFor(/acme: a\.tenbin\.test: certificate obtained/, 20_000);
      const cert = await until("the issued certificate", () => served(t.port("secure"), "a.tenbin.test"), (c) => c.issuer.includes("Pebble"));
      expect(cert.subject).toContain("a.tenbin.test");
    }, 40_000);
  }

  test("two instances sharing storage: one orders, the other serves the same certificate", async () => {
    const httpA = freeTcpPort();
    const httpB = freeTcpPort();
    // Pebble reaches B only: when A orders, B answers from the challenge A published in the storage.
    // (Which one orders is up to the lock; an order started before B's listener was bound fails and
    // is retried, so orders are counted by their results.)
    const pebble = await pebbleFor(httpB);
    const storage = join(mkdtempSync(join(tmpdir(), "tenbin-acme-")), "store");
    const [a, b] = await Promise.all([start(config(pebble, httpA, storage)), start(config(pebble, httpB, storage))]);
    const fromA = await until("A's certificate", () => served(a.port("secure"), "a.tenbin.test"), (c) => c.issuer.includes("Pebble"));
    const fromB = await until("B's certificate", () => served(b.port("secure"), "a.tenbin.test"), (c) => c.issuer.includes("Pebble"));
    expect(fromB.serial).toBe(fromA.serial);
    const obtained = (t: Running) => t.logger.lines.filter((l) => l.includes("certificate obtained")).length;
    expect(obtained(a) + obtained(b)).toBe(1);
    const other = obtained(a) === 1 ? b : a;
    expect(other.logger.lines.some((l) => l.includes("from storage"))).toBe(true);
  }, 40_000);
});
