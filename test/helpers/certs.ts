/**
 * Throwaway certificates for the TLS tests, made with the `openssl` command at test time: a CA,
 * certificates it signs for a.test and b.test (with their wildcards and 127.0.0.1), a second
 * certificate for a.test (for reload tests), a backend certificate that names only
 * backend.internal, an expired one, and a second CA that signed none of them.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Paths of one certificate and its key. */
export interface CertPair {
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  /** The CA that signed every pair below. */
  ca: string;
  /** A CA that signed none of them. */
  otherCa: string;
  a: CertPair;
  /** Another certificate for a.test (subject "a.test second"). */
  a2: CertPair;
  b: CertPair;
  /** Names only backend.internal (no IP): reachable by IP only with a server_name override. */
  backend: CertPair;
  /** Expired yesterday. */
  expired: CertPair;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const proc = Bun.spawn(["openssl", ...args], { cwd, stdout: "ignore", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), 10_000);
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${err}`);
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function keyAndCsr(dir: string, name: string, cn: string): Promise<void> {
  await openssl(["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`], dir);
}

async function sign(dir: string, name: string, ca: string, san: string, days: number): Promise<CertPair> {
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
  // Each signature gets its own serial file: the signatures run in parallel.
  await openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAserial", `${name}.srl`, "-CAcreateserial", "-out", `${name}.crt`, "-days", String(days), "-extfile", `${name}.ext`], dir);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

async function makeCa(dir: string, name: string, cn: string): Promise<string> {
  await openssl(["req", "-x509", ...EC, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "60", "-subj", `/CN=${cn}`], dir);
  return join(dir, `${name}.crt`);
}

async function make(): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), "tenbin-certs-"));
  const [ca, otherCa] = await Promise.all([
    makeCa(dir, "ca", "tenbin test CA"),
    makeCa(dir, "other-ca", "tenbin other CA"),
    keyAndCsr(dir, "a", "a.test"),
    keyAndCsr(dir, "a2", "a.test second"),
    keyAndCsr(dir, "b", "b.test"),
    keyAndCsr(dir, "backend", "backend.internal"),
    keyAndCsr(dir, "expired", "expired.test"),
  ]);
  const [a, a2, b, backend, expired] = await Promise.all([
    sign(dir, "a", "ca", "DNS:a.test,DNS:*.a.test,IP:127.0.0.1", 30),
    sign(dir, "a2", "ca", "DNS:a.test,DNS:*.a.test,IP:127.0.0.1", 30),
    sign(dir, "b", "ca", "DNS:b.test,DNS:*.b.test,IP:127.0.0.1", 30),
    sign(dir, "backend", "ca", "DNS:backend.internal", 30),
    // openssl 3.0 has no -not_after; a negative day count ends validity before it starts: expired.
    sign(dir, "expired", "ca", "DNS:expired.test", -1),
  ]);
  return { dir, ca: ca!, otherCa: otherCa!, a, a2, b, backend, expired };
}

let shared: Promise<TestCerts> | undefined;

/** The certificates, made once per test process in a temp directory (tests must not change them). */
export function testCerts(): Promise<TestCerts> {
  shared ??= make();
  return shared;
}


/** Runs a command with a time bound; async, so a server in this process keeps answering. */
export async function run(cmd: string[], stdin = ""): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn(cmd, { stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), 10_000);
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(timer);
  return { code, out, err };
}

/** The subject CN of the certificate a TLS server presents for `serverName` (undefined: no SNI). */
export async function presentedCn(port: number, serverName: string | undefined): Promise<string> {
  const args = ["openssl", "s_client", "-connect", `127.0.0.1:${port}`, ...(serverName === undefined ? ["-noservername"] : ["-servername", serverName])];
  const { out, err } = await run(args, "Q\n");
  const match = /subject=.*?CN\s*=\s*([^\n,]+)/.exec(out);
  if (!match) throw new Error(`no certificate from ${args.join(" ")}:\n${out}\n${err}`);
  return match[1]!.trim();
}

/** Runs curl (`-sS`, 5 s at most) and returns its exit code and output. */
export function curl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return run(["curl", "-sS", "--max-time", "5", ...args]);
}
