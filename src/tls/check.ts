/**
 * The TLS part of the config's semantic checks: every certificate and key file a listener names is
 * read and checked (PEM, key matches certificate, dates, host names), CA files of pools and servers
 * are read, and TLS options that contradict each other are refused. Errors stop the config; warnings
 * (an expired certificate) are printed by `tenbin check` and logged at start.
 */
import { readFileSync } from "node:fs";
import type { KeySegment } from "../config/config-error.ts";
import type { Config, UpstreamTlsConfig } from "../config/schema.ts";
import type { PathIssue } from "../config/yaml-source.ts";
import { inspectCertificate, osReason, type ReadText } from "./certificates.ts";
import { lazyBuiltin } from "../util/lazy-builtin.ts";
import { checkAcme } from "./acme/check.ts";

const nodeCrypto = lazyBuiltin("node:crypto");

/** Reports one problem at a key path. */
export type ReportIssue = (path: KeySegment[], message: string) => void;

/** Errors and warnings of the TLS settings of `config`. */
export function checkTls(config: Config, now = Date.now(), read: ReadText = (p) => readFileSync(p, "utf8")): { errors: PathIssue[]; warnings: PathIssue[] } {
  const errors: PathIssue[] = [];
  const warnings: PathIssue[] = [];
  const error: ReportIssue = (path, message) => errors.push({ path, message });
  const warn: ReportIssue = (path, message) => warnings.push({ path, message });
  config.listeners.forEach((listener, i) => {
    if (listener.mode === "udp") return;
    const at = (...rest: KeySegment[]): KeySegment[] => ["listeners", i, ...rest];
    if (listener.mode === "http") {
      if (listener.routes.length === 0 && !listener.redirect_https) {
        error(at(), "an http listener needs at least one route (or redirect_https: true)");
      }
      if (listener.redirect_https && listener.tls) {
        error(at("redirect_https"), "redirect_https on a tls listener would send clients back to itself; put it on the plain http listener");
      }
      if (listener.hsts && !listener.tls) {
        error(at("hsts"), "hsts needs tls on the same listener (browsers ignore it over plain http); move it to the https listener");
      }
    } else if (listener.accept_proxy && listener.tls) {
      // The TLS handshake starts at the first byte, so a plain PROXY header before it breaks it.
      error(at("accept_proxy"), "accept_proxy cannot be combined with tls on a tcp listener: the PROXY header would arrive before the TLS handshake");
    }
    if (listener.tls) checkAcme(listener, at, read, error, config.listeners);
    listener.tls?.certificates?.forEach((entry, c) => {
      const { problems } = inspectCertificate(entry, now, read);
      for (const p of problems) {
        const path = at("tls", "certificates", c, p.field, ...(p.index === undefined ? [] : [p.index]));
        (p.severity === "error" ? error : warn)(path, p.message);
      }
    });
  });
  for (const [name, pool] of Object.entries(config.pools)) {
    const httpsServers = pool.servers.filter((s) => s.url.startsWith("https://")).length;
    if (pool.tls) {
      checkUpstreamTls(pool.tls, ["pools", name, "tls"], read, error, warn);
      if (httpsServers === 0 && !pool.sorry?.server?.startsWith("https://")) {
        warn(["pools", name, "tls"], `pool ${JSON.stringify(name)} has tls settings but no https:// server; they are not used`);
      }
    }
    pool.servers.forEach((server, s) => {
      if (!server.tls) return;
      const path: KeySegment[] = ["pools", name, "servers", s, "tls"];
      checkUpstreamTls(server.tls, path, read, error, warn);
      if (!server.url.startsWith("https://")) warn(path, `server ${JSON.stringify(server.url)} is not https://; its tls settings are not used`);
    });
  }
  return { errors, warnings };
}

function checkUpstreamTls(tls: UpstreamTlsConfig, at: KeySegment[], read: ReadText, error: ReportIssue, warn: ReportIssue): void {
  if (tls.ca_file !== undefined) {
    let text: string | undefined;
    try {
      text = read(tls.ca_file);
    } catch (e) {
      error([...at, "ca_file"], `cannot read CA file ${JSON.stringify(tls.ca_file)}: ${osReason(e)}`);
    }
    if (text !== undefined) {
      if (!/-----BEGIN CERTIFICATE-----/.test(text)) {
        error([...at, "ca_file"], `${JSON.stringify(tls.ca_file)} is not a PEM certificate; expected a file with "-----BEGIN CERTIFICATE-----"`);
      } else {
        try {
          new (nodeCrypto().X509Certificate)(text);
        } catch (e) {
          error([...at, "ca_file"], `cannot parse the CA certificate in ${JSON.stringify(tls.ca_file)}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
        }
      }
    }
    if (tls.insecure_skip_verify) warn([...at, "ca_file"], "ca_file is not used: insecure_skip_verify turns verification off");
  }
  if (tls.insecure_skip_verify) {
    warn([...at, "insecure_skip_verify"], "insecure_skip_verify: server certificates are not verified; anyone on the path can read and change the traffic");
  }
}
