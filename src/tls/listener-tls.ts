/**
 * What a TLS listener binds with, read from its `tls` section: the SNI table, the minimum protocol
 * version, and the files to watch. Read afresh at every start, reload and file change, so a
 * certificate renewed on disk is what new handshakes get.
 */
import type { ListenerTlsConfig } from "../config/schema.ts";
import type { ServeTls } from "../runtime/types.ts";
import { type LoadedCertificate, loadCertificate, type ReadText } from "./certificates.ts";
import { buildSniList, identitiesDigest } from "./sni.ts";

/** A listener's TLS material, ready for `serveHttp`. */
export interface ListenerTls {
  serve: ServeTls;
  /** Changes when anything served changes (certificates, keys, names, version). */
  digest: string;
  /** Certificate and key files, for the watcher. */
  files: string[];
  /** Things to log (expired certificates, shadowed names). */
  warnings: string[];
  /** The certificates read from files (not those from ACME), for the admin plane. */
  fromFiles: LoadedCertificate[];
}

/**
 * Reads the certificates of a `tls` section; throws an Error naming the file that cannot be used.
 * `acme` are the certificates the ACME manager holds for the listener; they follow the files.
 */
export function loadListenerTls(config: ListenerTlsConfig, now = Date.now(), read?: ReadText, acme: readonly LoadedCertificate[] = []): ListenerTls {
  const warnings: string[] = [];
  const fromFiles = (config.certificates ?? []).map((entry) => {
    const { certificate, warnings: w } = loadCertificate(entry, now, read);
    warnings.push(...w);
    return certificate;
  });
  const { identities, shadowed } = buildSniList([...fromFiles, ...acme]);
  for (const host of new Set(shadowed)) warnings.push(`host ${JSON.stringify(host)} is named by more than one certificate; the first one listed serves it`);
  return {
    serve: { identities, minVersion: config.min_version },
    digest: `${config.min_version}:${identitiesDigest(identities)}`,
    files: (config.certificates ?? []).flatMap((c) => [c.cert, c.key]),
    warnings,
    fromFiles,
  };
}
