/**
 * The host names of the listeners' ACME sections, and a stored certificate turned into what a
 * listener serves.
 */
import type { AcmeConfig } from "../../config/schema-acme.ts";
import type { AnyListenerConfig } from "../../config/schema.ts";
import { certificateNames, type LoadedCertificate } from "../certificates.ts";
import { lazyBuiltin } from "../../util/lazy-builtin.ts";

const nodeCrypto = lazyBuiltin("node:crypto");

/** The host names a listener's ACME section covers: `domains`, or the exact hosts of its routes. */
export function acmeDomains(listener: AnyListenerConfig): string[] {
  if (listener.mode === "udp" || !listener.tls?.acme) return [];
  if (listener.tls.acme.domains) return listener.tls.acme.domains.map((d) => d.toLowerCase());
  if (listener.mode !== "http") return [];
  const hosts = listener.routes.flatMap((r) => (r.match?.host === undefined ? [] : Array.isArray(r.match.host) ? r.match.host : [r.match.host]));
  return [...new Set(hosts.map((h) => h.toLowerCase().replace(/:\d+$/, "")).filter((h) => h !== "*" && !h.includes("*")))];
}

/** One certificate per CA and host name: the key of a host in the manager. */
export function hostKey(host: { name: string; config: AcmeConfig }): string {
  return `${host.config.storage}\u0000${host.config.directory}\u0000${host.name}`;
}

/** A stored chain and key as a listener serves them; throws when the key does not fit. */
export function toLoaded(file: string, chain: string, key: string, host: string): LoadedCertificate {
  const crypto = nodeCrypto();
  const x509 = new crypto.X509Certificate(chain);
  if (!x509.checkPrivateKey(crypto.createPrivateKey(key))) throw new Error("the private key does not match the certificate");
  return {
    certPath: file, keyPath: file, cert: chain, key, hosts: [host], names: certificateNames(x509),
    subject: x509.subject.replace(/\n/g, ", "), notBefore: new Date(x509.validFrom), notAfter: new Date(x509.validTo),
  };
}
