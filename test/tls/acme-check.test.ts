/**
 * `tenbin check` of `tls.acme` and of certificates about to expire, and the ACME storage's lock and
 * atomic writes (two tenbins may share the directory).
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ConfigError, formatConfigIssue, type ConfigIssue } from "../../src/config/config-error.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { AcmeStorage, LOCK_STALE_MS } from "../../src/tls/acme/storage.ts";
import { run } from "../helpers/certs.ts";

function load(text: string): { errors: string[]; warnings: string[] } {
  const warnings: ConfigIssue[] = [];
  try {
    const config = loadConfigText(text, "tenbin.yaml", {}, { onWarning: (w) => warnings.push(w) });
    void config;
    return { errors: [], warnings: warnings.map(formatConfigIssue) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { errors: error.errors.map(formatConfigIssue), warnings: warnings.map(formatConfigIssue) };
  }
}

const storage = mkdtempSync(join(tmpdir(), "tenbin-acme-check-"));

function config(tls: string, plain = true, routes = "[{ match: { host: www.example.com }, pool: app }]"): string {
  return [
    "admin: { enabled: false }",
    "listeners:",
    ...(plain ? ["  - { name: web, listen: 127.0.0.1:0, redirect_https: true }"] : []),
    "  - name: secure",
    "    listen: 127.0.0.1:0",
    `    routes: ${routes}`,
    `    tls: ${tls}`,
    "pools:",
    "  app: { servers: [{ url: http://127.0.0.1:1 }] }",
  ].join("\n");
}

describe("tenbin check of tls.acme", () => {
  test("a valid section loads, with its defaults", () => {
    const text = config(`{ acme: { email: ops@example.com, storage: ${storage} } }`);
    expect(load(text)).toEqual({ errors: [], warnings: [] });
    const listener = loadConfigText(text, "tenbin.yaml", {}).listeners[1]!;
    expect(listener.mode === "http" && listener.tls?.acme).toEqual({
      email: "ops@example.com", directory: "https://acme-v02.api.letsencrypt.org/directory", storage, retry_after: 60_000,
    });
    const staging = loadConfigText(config(`{ acme: { directory: letsencrypt-staging, storage: ${storage} } }`), "tenbin.yaml", {}).listeners[1]!;
    expect(staging.mode === "http" && staging.tls?.acme?.directory).toBe("https://acme-staging-v02.api.letsencrypt.org/directory");
  });

  test("what cannot work is named at its key", () => {
    expect(load(config("{ min_version: 1.3 }")).errors).toEqual([
      "tenbin.yaml:7:10 listeners[1].tls: tls needs certificates (cert and key files) or acme (certificates from Let's Encrypt or another ACME CA)",
    ]);
    expect(load(config(`{ acme: { storage: ${storage} } }`, false)).errors).toEqual([
      "tenbin.yaml:6:18 listeners[0].tls.acme: acme answers the CA's HTTP-01 challenge on a plain http listener, and there is none; add one on port 80 (redirect_https: true is fine, challenges are answered first)",
    ]);
    expect(load(config(`{ acme: { storage: ${storage} } }`, true, `[{ match: { host: "*.example.com" }, pool: app }]`)).errors).toEqual([
      "tenbin.yaml:7:18 listeners[1].tls.acme: acme has no host names to get certificates for: the listener's routes name no exact host (match.host); list them in acme.domains",
    ]);
    // The columns move with the temporary directory's name: lines only.
    const lineOnly = (errors: string[]) => errors.map((e) => e.replace(/^(tenbin\.yaml:\d+):\d+/, "$1"));
    expect(lineOnly(load(config(`{ acme: { storage: ${storage}, domains: ["*.example.com", "10.0.0.1"], directory: "ftp://x", ca_file: /nonexistent/ca.pem } }`)).errors)).toEqual([
      'tenbin.yaml:7 listeners[1].tls.acme.domains[0]: wildcard "*.example.com" needs the DNS-01 challenge, which tenbin does not answer; list each host name',
      'tenbin.yaml:7 listeners[1].tls.acme.domains[1]: bad host name "10.0.0.1"; expected a public DNS name such as www.example.com',
      'tenbin.yaml:7 listeners[1].tls.acme.directory: bad directory "ftp://x"; expected an https:// URL, letsencrypt or letsencrypt-staging',
      'tenbin.yaml:7 listeners[1].tls.acme.ca_file: cannot read CA file "/nonexistent/ca.pem": no such file or directory (ENOENT)',
    ]);
    // (Permissions cannot be tested as root, who may write anywhere; a file in the way can.)
    const file = join(storage, "a-file");
    writeFileSync(file, "");
    expect(lineOnly(load(config(`{ acme: { storage: ${file}/acme } }`)).errors)).toEqual([
      `tenbin.yaml:7 listeners[1].tls.acme.storage: ${JSON.stringify(file)}, where storage directory ${JSON.stringify(`${file}/acme`)} would be created, is a file, not a directory; choose another storage path`,
    ]);
  });

  test("a certificate expiring within 14 days is a warning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tenbin-expiring-"));
    const made = await run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "5", "-subj", "/CN=soon.test", "-addext", "subjectAltName=DNS:soon.test"]);
    expect(made.code).toBe(0);
    const { errors, warnings } = load(config(`{ certificates: [{ cert: ${join(dir, "c.pem")}, key: ${join(dir, "k.pem")} }] }`));
    expect(errors).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/listeners\[1\]\.tls\.certificates\[0\]\.cert: certificate ".*c\.pem" \(CN=soon\.test\) expires in 4 days \(.*\); renew it$/);
  });
});

describe("ACME storage", () => {
  test("one holder of the lock at a time; a dead holder's or an old lock is taken over", () => {
    const dir = mkdtempSync(join(tmpdir(), "tenbin-acme-lock-"));
    const a = new AcmeStorage(dir);
    const b = new AcmeStorage(dir);
    a.prepare();
    expect(a.tryLock()).toBe(true);
    expect(b.tryLock()).toBe(false);
    a.unlock();
    expect(b.tryLock()).toBe(true);
    b.unlock();
    // Left by a process of this host that is gone.
    const lock = join(dir, "order.lock");
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
    expect(a.tryLock()).toBe(true);
    a.unlock();
    // Another host's fresh lock is respected; the same lock untouched for LOCK_STALE_MS is not.
    writeFileSync(lock, JSON.stringify({ pid: 1, host: "other-host" }));
    expect(a.tryLock()).toBe(false);
    const old = new Date(Date.now() - LOCK_STALE_MS - 1000);
    utimesSync(lock, old, old);
    expect(a.tryLock()).toBe(true);
    a.unlock();
  });

  test("certificates are one 0600 file written by rename; only whole files are read", () => {
    const dir = mkdtempSync(join(tmpdir(), "tenbin-acme-store-"));
    const s = new AcmeStorage(dir);
    s.prepare();
    expect(statSync(join(dir, "certificates")).mode & 0o777).toBe(0o700);
    const chain = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const key = "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n";
    const ca = "https://ca.example/dir";
    s.writeCertificate(ca, "www.example.com", chain, key);
    const file = s.certificateFile(ca, "www.example.com");
    expect(readdirSync(dirname(file))).toEqual(["www.example.com.pem"]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
    expect(s.readCertificate(ca, "www.example.com")).toEqual({ file, chain, key });
    // Another CA's certificate is another file: moving from staging to production orders anew.
    expect(s.readCertificate("https://other.example/dir", "www.example.com")).toBeUndefined();
    // A file cut before its key (as a crash mid-write without rename would leave it) is not served.
    writeFileSync(s.certificateFile(ca, "cut.example.com"), chain);
    expect(s.readCertificate(ca, "cut.example.com")).toBeUndefined();
    // Challenge tokens are checked before they name a file.
    s.writeChallenge("../escape", "x");
    expect(s.readChallenge("../escape")).toBeUndefined();
    s.writeChallenge("tok_en-1", "answer");
    expect(s.readChallenge("tok_en-1")).toBe("answer");
  });
});

describe("certificates in the admin plane", () => {
  test("a listener's certificate files are listed with their expiry, and exported to /metrics", async () => {
    const { testCerts } = await import("../helpers/certs.ts");
    const { startL4Tenbin } = await import("../helpers/l4-tenbin.ts");
    const { renderMetrics } = await import("../../src/admin/prometheus.ts");
    const certs = await testCerts();
    const t = await startL4Tenbin(`
admin: { enabled: false }
listeners:
  - name: secure
    listen: 127.0.0.1:0
    tls: { certificates: [{ cert: ${certs.a.cert}, key: ${certs.a.key} }, { cert: ${certs.b.cert}, key: ${certs.b.key}, hosts: [b.test] }] }
    routes: [{ pool: app }]
pools:
  app: { servers: [{ url: http://127.0.0.1:1 }] }
`);
    try {
      const list = t.tenbin.certificates;
      expect(list.map((c) => [c.listener, c.host, c.source])).toEqual([["secure", "a.test", "file"], ["secure", "b.test", "file"]]);
      const notAfter = list[0]!.notAfter!;
      expect(notAfter).toBeGreaterThan(Date.now() + 20 * 86_400_000);
      expect(renderMetrics(t.tenbin, { version: "t", runtime: "bun" })).toContain(`tenbin_certificate_expiry_timestamp_seconds{listener="secure",host="a.test",source="file"} ${Math.floor(notAfter / 1000)}`);
    } finally {
      await t.stop();
    }
  });
});

describe("watchExpiry", () => {
  test("logs served certificate files within 14 days of expiry, on each look", async () => {
    const { watchExpiry } = await import("../../src/tls/expiry-watch.ts");
    const { memoryLogger } = await import("../../src/observe/log.ts");
    const logger = memoryLogger();
    const now = Date.parse("2026-01-01T00:00:00Z");
    const day = 86_400_000;
    const stop = watchExpiry(() => [
      { listener: "web", host: "soon.test", source: "file", notAfter: now + 3 * day + 1000, orderFailures: 0 },
      { listener: "web", host: "later.test", source: "file", notAfter: now + 30 * day, orderFailures: 0 },
      { listener: "web", host: "acme.test", source: "acme", notAfter: now + 2 * day, orderFailures: 0 },
    ], logger, 20, () => now);
    await Bun.sleep(70);
    stop();
    const lines = logger.lines.filter((l) => l.includes("expires"));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(new Set(lines.map((l) => l.replace(/^\S+ /, "")))).toEqual(new Set(["warn  listener web: certificate of soon.test expires in 3 days (2026-01-04T00:00:01.000Z); renew it"]));
  });
});
