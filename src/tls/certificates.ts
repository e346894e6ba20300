/**
 * Reading and checking one certificate/key pair of a TLS listener: PEM framing, that the key belongs
 * to the certificate, validity dates, and the host names it serves (its SANs, or an explicit list).
 * The same code serves `tenbin check` (every problem, as values) and the listener (which needs the
 * PEM text), so what `check` accepts is exactly what a listener can load.
 */
import type { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { lazyBuiltin } from "../util/lazy-builtin.ts";
import { expiryWarning } from "./cert-status.ts";

const nodeCrypto = lazyBuiltin("node:crypto");

/** One `tls.certificates` entry as written in the config. */
export interface CertificateFiles {
  cert: string;
  key: string;
  hosts?: string | string[] | undefined;
}

/** A certificate ready to serve. */
export interface LoadedCertificate {
  certPath: string;
  keyPath: string;
  /** PEM text of the certificate (with its chain, as in the file). */
  cert: string;
  /** PEM text of the private key. */
  key: string;
  /** Lower-cased host names (exact or `*.wildcard`) it is served for; may be empty. */
  hosts: string[];
  /** DNS names (and CN when there are none) written in the certificate. */
  names: string[];
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

/** Which entry field a problem is about, so the config check can point at its line. */
export type CertificateField = "cert" | "key" | "hosts";

/** One problem with a certificate entry; warnings do not stop tenbin. */
export interface CertificateProblem {
  field: CertificateField;
  /** Index in `hosts` when the problem is about one host. */
  index?: number;
  severity: "error" | "warning";
  message: string;
}

/** Reads a file as text; throws with the OS reason (tests replace it). */
export type ReadText = (path: string) => string;

const readText: ReadText = (path) => readFileSync(path, "utf8");

const CERT_LABEL = /-----BEGIN CERTIFICATE-----/;
const KEY_LABEL = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----/;
const HOST_PATTERN = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/**
 * Reads and checks one entry. `loaded` is set when the pair can be served (there may still be
 * warnings); every problem found is listed.
 */
export function inspectCertificate(files: CertificateFiles, now = Date.now(), read: ReadText = readText): { loaded: LoadedCertificate | undefined; problems: CertificateProblem[] } {
  const problems: CertificateProblem[] = [];
  const error = (field: CertificateField, message: string) => problems.push({ field, severity: "error", message });
  const certText = readOrReport(files.cert, "certificate", read, (m) => error("cert", m));
  const keyText = readOrReport(files.key, "private key", read, (m) => error("key", m));

  let x509: X509Certificate | undefined;
  if (certText !== undefined) {
    if (!CERT_LABEL.test(certText)) {
      error("cert", `${q(files.cert)} is not a PEM certificate; expected a file with "-----BEGIN CERTIFICATE-----"`);
    } else {
      try {
        x509 = new (nodeCrypto().X509Certificate)(certText);
      } catch (e) {
        error("cert", `cannot parse the certificate in ${q(files.cert)}: ${reason(e)}`);
      }
    }
  }
  let keyOk = false;
  if (keyText !== undefined) {
    const label = KEY_LABEL.exec(keyText)?.[1];
    if (label === undefined) {
      error("key", `${q(files.key)} is not a PEM private key; expected a file with "-----BEGIN PRIVATE KEY-----" (or RSA/EC PRIVATE KEY)`);
    } else if (label === "ENCRYPTED PRIVATE KEY" || /Proc-Type: 4,ENCRYPTED/.test(keyText)) {
      error("key", `private key ${q(files.key)} is encrypted; tenbin needs an unencrypted key (openssl pkey -in ${files.key} -out plain.key)`);
    } else {
      try {
        const key = nodeCrypto().createPrivateKey(keyText);
        keyOk = true;
        if (x509 && !x509.checkPrivateKey(key)) {
          keyOk = false;
          error("key", `private key ${q(files.key)} does not match the certificate ${q(files.cert)}; give the key the certificate was issued for`);
        }
      } catch (e) {
        error("key", `cannot parse the private key in ${q(files.key)}: ${reason(e)}`);
      }
    }
  }
  if (!x509) return { loaded: undefined, problems };

  const names = certificateNames(x509);
  const notBefore = new Date(x509.validFrom);
  const notAfter = new Date(x509.validTo);
  const subject = x509.subject.replace(/\n/g, ", ");
  if (notAfter.getTime() < now) {
    problems.push({ field: "cert", severity: "warning", message: `certificate ${q(files.cert)} (${subject}) expired on ${notAfter.toISOString()}; clients will reject it` });
  } else if (notBefore.getTime() > now) {
    problems.push({ field: "cert", severity: "warning", message: `certificate ${q(files.cert)} (${subject}) is not valid before ${notBefore.toISOString()}; clients will reject it until then` });
  } else {
    const soon = expiryWarning(`certificate ${q(files.cert)} (${subject})`, notAfter, now);
    if (soon) problems.push({ field: "cert", severity: "warning", message: soon });
  }

  let hosts = names;
  if (files.hosts !== undefined) {
    const list = Array.isArray(files.hosts) ? files.hosts : [files.hosts];
    hosts = [];
    list.forEach((host, index) => {
      const h = host.toLowerCase();
      const at = Array.isArray(files.hosts) ? { index } : {};
      if (!HOST_PATTERN.test(h)) {
        problems.push({ field: "hosts", ...at, severity: "error", message: `bad host ${q(host)}; expected a host name such as api.example.com or a wildcard such as *.example.com` });
        return;
      }
      hosts.push(h);
      if (!names.some((name) => coversHost(name, h))) {
        const list = names.length > 0 ? names.join(", ") : "none";
        problems.push({ field: "hosts", ...at, severity: "warning", message: `host ${q(host)} is not among the names of certificate ${q(files.cert)} (${list}); clients will reject it` });
      }
    });
  }
  if (certText === undefined || keyText === undefined || !keyOk) return { loaded: undefined, problems };
  return {
    loaded: { certPath: files.cert, keyPath: files.key, cert: certText, key: keyText, hosts, names, subject, notBefore, notAfter },
    problems,
  };
}

/**
 * Loads an entry for serving; throws an Error naming the file when it cannot be served
 * (warnings are returned, for the log).
 */
export function loadCertificate(files: CertificateFiles, now = Date.now(), read: ReadText = readText): { certificate: LoadedCertificate; warnings: string[] } {
  const { loaded, problems } = inspectCertificate(files, now, read);
  const first = problems.find((p) => p.severity === "error");
  if (!loaded || first) throw new Error(first?.message ?? `cannot load certificate ${q(files.cert)}`);
  return { certificate: loaded, warnings: problems.map((p) => p.message) };
}

/** DNS names of the certificate's SANs, lower-cased; its CN when it has none (old certificates). */
export function certificateNames(x509: X509Certificate): string[] {
  const names: string[] = [];
  for (const entry of splitSan(x509.subjectAltName ?? "")) {
    if (entry.startsWith("DNS:")) names.push(entry.slice(4).toLowerCase());
  }
  if (names.length > 0) return names;
  const cn = /(?:^|\n|, )CN=([^\n,]+)/.exec(x509.subject)?.[1]?.trim().toLowerCase();
  return cn && HOST_PATTERN.test(cn) ? [cn] : [];
}

/** Whether certificate name `name` (maybe `*.x`) covers `host` (maybe `*.x` too). */
export function coversHost(name: string, host: string): boolean {
  if (name === host) return true;
  if (!name.startsWith("*.")) return false;
  const suffix = name.slice(1); // ".example.com"
  // A wildcard covers exactly one label: a.example.com, not a.b.example.com.
  return host.endsWith(suffix) && !host.slice(0, -suffix.length).includes(".") && host.length > suffix.length;
}

function splitSan(san: string): string[] {
  // `DNS:a, DNS:b` — names cannot contain ", " (quoted forms only appear for odd IP/URI values).
  return san.split(/,\s*/).map((s) => s.trim()).filter((s) => s !== "");
}

function readOrReport(path: string, what: string, read: ReadText, report: (message: string) => void): string | undefined {
  try {
    return read(path);
  } catch (e) {
    report(`cannot read ${what} file ${q(path)}: ${osReason(e)}`);
    return undefined;
  }
}

/** "ENOENT: no such file or directory, open 'x'" → "no such file or directory (ENOENT)". */
export function osReason(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  let text = String(message ?? error);
  if (typeof code === "string") text = text.replace(new RegExp(`^${code}:\\s*`), "");
  text = text.replace(/,\s*(open|read|stat)\b.*$/, "");
  return typeof code === "string" ? `${text} (${code})` : text;
}

function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!.replace(/^error:[0-9A-Fa-f]+:/, "");
}

function q(value: string): string {
  return JSON.stringify(value);
}
