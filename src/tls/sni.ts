/**
 * The SNI table of a TLS listener: one `{ serverName, cert, key }` entry per host name, as the
 * runtime's server takes it. The runtime serves the first entry to clients that send no SNI or an
 * unknown name, so the first certificate of the config goes first and is the default.
 */
import { lazyBuiltin } from "../util/lazy-builtin.ts";
import type { TlsIdentity } from "../runtime/types.ts";
import type { LoadedCertificate } from "./certificates.ts";

const nodeCrypto = lazyBuiltin("node:crypto");

/** Name used for a default certificate that names no host (a client without SNI still gets it). */
const NO_NAME = "default.invalid";

/**
 * Entries for the runtime, in file order; a host listed by two certificates goes to the first.
 * Returns the names left out because an earlier certificate has them, for a warning.
 */
export function buildSniList(certificates: readonly LoadedCertificate[]): { identities: TlsIdentity[]; shadowed: string[] } {
  const identities: TlsIdentity[] = [];
  const shadowed: string[] = [];
  const seen = new Set<string>();
  certificates.forEach((c, i) => {
    const hosts = c.hosts.length > 0 || i > 0 ? c.hosts : [NO_NAME];
    for (const host of hosts) {
      if (seen.has(host)) {
        shadowed.push(host);
        continue;
      }
      seen.add(host);
      identities.push({ serverName: host, cert: c.cert, key: c.key });
    }
  });
  return { identities, shadowed };
}

/** A digest of what a listener serves, to tell whether a reload changed its certificates. */
export function identitiesDigest(identities: readonly TlsIdentity[]): string {
  const hash = nodeCrypto().createHash("sha256");
  for (const id of identities) hash.update(`${id.serverName}\u0000${id.cert}\u0000${id.key}\u0000`);
  return hash.digest("hex");
}
