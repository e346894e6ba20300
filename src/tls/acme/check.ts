/**
 * `tenbin check` of a listener's `tls.acme`: certificate files or ACME (one source), host names
 * HTTP-01 can prove (no wildcards, no IP addresses), a plain http listener to answer on, a directory
 * URL, a readable CA file and a storage directory that can be created.
 */
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { KeySegment } from "../../config/config-error.ts";
import type { AnyListenerConfig } from "../../config/schema.ts";
import { osReason, type ReadText } from "../certificates.ts";
import { acmeDomains } from "./hosts.ts";

type Report = (path: KeySegment[], message: string) => void;
type TlsListener = Exclude<AnyListenerConfig, { mode: "udp" }>;

const HOST = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)+$/;

/** Errors of one listener's `tls` source (files or acme). */
export function checkAcme(listener: TlsListener, at: (...rest: KeySegment[]) => KeySegment[], read: ReadText, error: Report, listeners?: readonly AnyListenerConfig[]): void {
  const tls = listener.tls!;
  const acme = tls.acme;
  if (!acme) {
    if (!tls.certificates) error(at("tls"), "tls needs certificates (cert and key files) or acme (certificates from Let's Encrypt or another ACME CA)");
    return;
  }
  if (tls.certificates) error(at("tls", "acme"), "tls has both certificates and acme; use one: certificate files, or acme");
  const domains = acmeDomains(listener);
  if (domains.length === 0) {
    const why = listener.mode === "http" ? "the listener's routes name no exact host (match.host)" : "a tcp listener has no routes with hosts";
    error(at("tls", "acme"), `acme has no host names to get certificates for: ${why}; list them in acme.domains`);
  }
  (acme.domains ?? []).forEach((domain, d) => {
    const text = domain.toLowerCase();
    if (text.startsWith("*.")) error(at("tls", "acme", "domains", d), `wildcard ${JSON.stringify(domain)} needs the DNS-01 challenge, which tenbin does not answer; list each host name`);
    else if (!HOST.test(text) || /^[\d.]+$/.test(text)) error(at("tls", "acme", "domains", d), `bad host name ${JSON.stringify(domain)}; expected a public DNS name such as www.example.com`);
  });
  let url: URL | undefined;
  try {
    url = new URL(acme.directory);
  } catch {
    // Reported below.
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    error(at("tls", "acme", "directory"), `bad directory ${JSON.stringify(acme.directory)}; expected an https:// URL, letsencrypt or letsencrypt-staging`);
  }
  if (acme.ca_file !== undefined) {
    try {
      if (!read(acme.ca_file).includes("-----BEGIN CERTIFICATE-----")) error(at("tls", "acme", "ca_file"), `${JSON.stringify(acme.ca_file)} is not a PEM certificate`);
    } catch (e) {
      error(at("tls", "acme", "ca_file"), `cannot read CA file ${JSON.stringify(acme.ca_file)}: ${osReason(e)}`);
    }
  }
  const problem = storageProblem(acme.storage);
  if (problem) error(at("tls", "acme", "storage"), problem);
  if (listeners && !listeners.some((l) => l.mode === "http" && !l.tls)) {
    error(at("tls", "acme"), "acme answers the CA's HTTP-01 challenge on a plain http listener, and there is none; add one on port 80 (redirect_https: true is fine, challenges are answered first)");
  }
}

/** Why the storage directory cannot be used, or undefined: it exists writable, or its nearest existing parent is. */
function storageProblem(dir: string): string | undefined {
  let probe = dir;
  while (!existsSync(probe)) {
    const parent = dirname(probe);
    if (parent === probe) break;
    probe = parent;
  }
  const what = probe === dir ? `storage directory ${JSON.stringify(dir)}` : `${JSON.stringify(probe)}, where storage directory ${JSON.stringify(dir)} would be created,`;
  if (existsSync(probe) && !statSync(probe).isDirectory()) return `${what} is a file, not a directory; choose another storage path`;
  try {
    accessSync(probe, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (e) {
    return `${what} is not writable: ${osReason(e)}; create it for the user tenbin runs as (mkdir -p ${dir} && chown USER ${dir} && chmod 700 ${dir})`;
  }
}
