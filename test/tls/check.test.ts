import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, formatConfigIssue, type ConfigIssue } from "../../src/config/config-error.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { testCerts, type TestCerts } from "../helpers/certs.ts";
import { BUN, ROOT, writeConfig } from "../helpers/tenbin.ts";

let certs: TestCerts;
beforeAll(async () => {
  certs = await testCerts();
  writeFileSync(join(certs.dir, "not-pem.txt"), "hello, I am not a certificate\n");
});

/** A config whose first listener has the given `tls` lines (indented under `tls:`). */
function withTls(...tlsLines: string[]): string {
  return [
    "admin: { enabled: false }",            // 1
    "listeners:",                           // 2
    "  - name: web",                        // 3
    "    listen: 127.0.0.1:0",              // 4
    "    routes: [{ pool: app }]",          // 5
    "    tls:",                             // 6
    ...tlsLines.map((l) => `      ${l}`),   // 7...
    "pools:",
    "  app: { servers: [{ url: http://127.0.0.1:1 }] }",
  ].join("\n");
}

function load(text: string): { errors: string[]; warnings: string[] } {
  const warnings: ConfigIssue[] = [];
  try {
    loadConfigText(text, "tenbin.yaml", {}, { onWarning: (w) => warnings.push(w) });
    return { errors: [], warnings: warnings.map(formatConfigIssue) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { errors: error.errors.map(formatConfigIssue), warnings: warnings.map(formatConfigIssue) };
  }
}

describe("listener certificates", () => {
  test("a valid pair loads without a word", () => {
    expect(load(withTls("certificates:", `  - { cert: ${certs.a.cert}, key: ${certs.a.key} }`))).toEqual({ errors: [], warnings: [] });
  });

  test("a missing file names the file and its line", () => {
    const missing = join(certs.dir, "nope.crt");
    const { errors } = load(withTls("certificates:", `  - cert: ${missing}`, `    key: ${certs.a.key}`));
    expect(errors).toEqual([
      `tenbin.yaml:8:17 listeners[0].tls.certificates[0].cert: cannot read certificate file "${missing}": no such file or directory (ENOENT)`,
    ]);
  });

  test("a file that is not PEM is refused, for the certificate and for the key", () => {
    const junk = join(certs.dir, "not-pem.txt");
    const { errors } = load(withTls("certificates:", `  - cert: ${junk}`, `    key: ${junk}`));
    expect(errors).toEqual([
      `tenbin.yaml:8:17 listeners[0].tls.certificates[0].cert: "${junk}" is not a PEM certificate; expected a file with "-----BEGIN CERTIFICATE-----"`,
      `tenbin.yaml:9:16 listeners[0].tls.certificates[0].key: "${junk}" is not a PEM private key; expected a file with "-----BEGIN PRIVATE KEY-----" (or RSA/EC PRIVATE KEY)`,
    ]);
  });

  test("a key that belongs to another certificate is an error at the key's line", () => {
    const { errors } = load(withTls("certificates:", `  - { cert: ${certs.a.cert}, key: ${certs.a.cert} }`, `  - cert: ${certs.b.cert}`, `    key: ${certs.a.key}`));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain(`tenbin.yaml:8:`);
    expect(errors[0]).toContain(`"${certs.a.cert}" is not a PEM private key`);
    expect(errors[1]).toBe(
      `tenbin.yaml:10:16 listeners[0].tls.certificates[1].key: private key "${certs.a.key}" does not match the certificate "${certs.b.cert}"; give the key the certificate was issued for`,
    );
  });

  test("an expired certificate is a warning with its date, not an error", () => {
    const { errors, warnings } = load(withTls("certificates:", `  - cert: ${certs.expired.cert}`, `    key: ${certs.expired.key}`));
    expect(errors).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^tenbin\.yaml:8:17 listeners\[0\]\.tls\.certificates\[0\]\.cert: certificate ".*expired\.crt" \(CN=expired\.test\) expired on \d{4}-\d\d-\d\dT.*; clients will reject it$/);
  });

  test("hosts: a malformed name is an error at its own position", () => {
    const text = withTls("certificates:", `  - { cert: ${certs.a.cert}, key: ${certs.a.key}, hosts: ["a.test", "bad host"] }`);
    const column = text.split("\n")[7]!.indexOf('"bad host"') + 1;
    expect(load(text).errors).toEqual([
      `tenbin.yaml:8:${column} listeners[0].tls.certificates[0].hosts[1]: bad host "bad host"; expected a host name such as api.example.com or a wildcard such as *.example.com`,
    ]);
  });

  test("hosts: a name the certificate does not cover is a warning naming the certificate's names", () => {
    const { errors, warnings } = load(withTls("certificates:", `  - { cert: ${certs.a.cert}, key: ${certs.a.key}, hosts: [x.a.test, c.test] }`));
    expect(errors).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`hosts[1]: host "c.test" is not among the names of certificate "${certs.a.cert}" (a.test, *.a.test); clients will reject it`);
  });

  test("min_version accepts 1.3 written as a number", () => {
    const config = loadConfigText(withTls("min_version: 1.3", "certificates:", `  - { cert: ${certs.a.cert}, key: ${certs.a.key} }`), "t.yaml", {});
    const listener = config.listeners[0]!;
    expect(listener.mode === "http" && listener.tls?.min_version).toBe("1.3");
  });
});

describe("listener options that contradict each other", () => {
  const base = (extra: string[]) => [
    "admin: { enabled: false }",
    "listeners:",
    "  - name: web",
    "    listen: 127.0.0.1:0",
    ...extra,
    "pools:",
    "  app: { servers: [{ url: http://127.0.0.1:1 }] }",
  ].join("\n");

  test("hsts without tls, and a listener with neither routes nor redirect_https", () => {
    expect(load(base(["    routes: [{ pool: app }]", "    hsts: true"])).errors).toEqual([
      "tenbin.yaml:6:11 listeners[0].hsts: hsts needs tls on the same listener (browsers ignore it over plain http); move it to the https listener",
    ]);
    expect(load(base([])).errors).toEqual(["tenbin.yaml:3:5 listeners[0]: an http listener needs at least one route (or redirect_https: true)"]);
  });

  test("redirect_https alone is a complete listener, but not on a tls listener", () => {
    expect(load(base(["    redirect_https: true"])).errors).toEqual([]);
    const text = base(["    redirect_https: true", "    tls:", "      certificates:", `        - { cert: ${certs.a.cert}, key: ${certs.a.key} }`]);
    expect(load(text).errors).toEqual([
      "tenbin.yaml:5:21 listeners[0].redirect_https: redirect_https on a tls listener would send clients back to itself; put it on the plain http listener",
    ]);
  });
});

describe("backend TLS settings", () => {
  const pool = (tls: string) => [
    "admin: { enabled: false }",
    "listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }]",
    "pools:",
    "  app:",
    "    servers: [{ url: https://127.0.0.1:1 }]",
    `    tls: ${tls}`,
  ].join("\n");

  test("an unreadable or non-PEM ca_file is an error", () => {
    const missing = join(certs.dir, "missing-ca.crt");
    expect(load(pool(`{ ca_file: ${missing} }`)).errors).toEqual([
      `tenbin.yaml:6:21 pools.app.tls.ca_file: cannot read CA file "${missing}": no such file or directory (ENOENT)`,
    ]);
    expect(load(pool(`{ ca_file: ${certs.a.key} }`)).errors[0]).toContain(`"${certs.a.key}" is not a PEM certificate`);
  });

  test("insecure_skip_verify is accepted with a warning", () => {
    const { errors, warnings } = load(pool("{ insecure_skip_verify: true }"));
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      "tenbin.yaml:6:34 pools.app.tls.insecure_skip_verify: insecure_skip_verify: server certificates are not verified; anyone on the path can read and change the traffic",
    ]);
  });
});

test("tenbin check prints warnings and passes; a missing file fails it with file:line:column", async () => {
  const good = writeConfig(withTls("certificates:", `  - cert: ${certs.expired.cert}`, `    key: ${certs.expired.key}`));
  const ok = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "check", good], { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([ok.exited, new Response(ok.stdout).text(), new Response(ok.stderr).text()]);
  expect(code).toBe(0);
  expect(out).toContain(": ok (1 listeners, 1 pools)");
  expect(err).toMatch(/tenbin\.yaml:8:17 listeners\[0\]\.tls\.certificates\[0\]\.cert: warning: certificate ".*expired\.crt" \(CN=expired\.test\) expired on /);

  const bad = writeConfig(withTls("certificates:", `  - cert: /nonexistent/site.crt`, `    key: ${certs.a.key}`));
  const failed = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "check", bad], { stdout: "pipe", stderr: "pipe" });
  const [code2, err2] = await Promise.all([failed.exited, new Response(failed.stderr).text()]);
  expect(code2).toBe(1);
  expect(err2).toContain('tenbin.yaml:8:17 listeners[0].tls.certificates[0].cert: cannot read certificate file "/nonexistent/site.crt": no such file or directory (ENOENT)');
});
