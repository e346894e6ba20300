/**
 * The certificate of the https scenarios, made with the `openssl` command at bench time (as
 * test/helpers/certs.ts does for the tests): self-signed ECDSA P-256 for localhost and 127.0.0.1,
 * valid two days. wrk does not verify it; the harness's readiness check accepts it explicitly.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findProgram } from "./peers.ts";
import type { TlsFiles } from "./types.ts";

/** Makes `bench.crt`, `bench.key` and `bench.pem` (both in one, for HAProxy) in `dir`. */
export async function makeBenchCert(dir: string, openssl = "openssl"): Promise<TlsFiles> {
  mkdirSync(dir, { recursive: true });
  const files: TlsFiles = { cert: join(dir, "bench.crt"), key: join(dir, "bench.key"), pem: join(dir, "bench.pem") };
  const args = [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", files.key, "-out", files.cert, "-days", "2",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ];
  const proc = Bun.spawn([openssl, ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), 10_000);
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`openssl could not make the bench certificate (exit ${code}): ${err.trim()}`);
  writeFileSync(files.pem, readFileSync(files.cert, "utf8") + readFileSync(files.key, "utf8"));
  return files;
}

/** The certificate made in `dir`, or why there is none (no openssl, or it failed). */
export async function benchCert(dir: string): Promise<TlsFiles | string> {
  const openssl = findProgram("openssl");
  if (openssl === undefined) return "openssl not installed (it makes the certificate)";
  try {
    return await makeBenchCert(dir, openssl);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
