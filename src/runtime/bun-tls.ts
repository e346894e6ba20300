/** Listener TLS on Bun: Bun.serve takes an array of `{ serverName, cert, key }`, the first the default. */
import { lazyBuiltin } from "../util/lazy-builtin.ts";
import type { ServeTls } from "./types.ts";

// Bun.serve has no minVersion option; OpenSSL's SSL_OP_NO_* bits in secureOptions do it (TLS 1.0
// and 1.1 are off by default already).
const nodeCrypto = lazyBuiltin("node:crypto");

function secureOptionsFor(minVersion: ServeTls["minVersion"]): number {
  const { constants } = nodeCrypto();
  const noBelow12 = constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;
  return minVersion === "1.3" ? noBelow12 | constants.SSL_OP_NO_TLSv1_2 : noBelow12;
}

/** The `tls` option of Bun.serve for a listener's certificates. */
export function bunTls(tls: ServeTls): Record<string, unknown>[] {
  const secureOptions = secureOptionsFor(tls.minVersion);
  return tls.identities.map((id) => ({ serverName: id.serverName, cert: id.cert, key: id.key, secureOptions }));
}

/**
 * The `tls` option of Bun.listen, which takes one certificate only: undefined when the listener has
 * several (its identities are one per SNI name, so one certificate may stand behind many). No
 * serverName: the certificate is the default for every name, as node:tls serves a lone certificate.
 */
export function bunListenTls(tls: ServeTls): { cert: string; key: string; secureOptions: number } | undefined {
  const first = tls.identities[0];
  if (first === undefined || tls.identities.some((id) => id.cert !== first.cert || id.key !== first.key)) return undefined;
  return { cert: first.cert, key: first.key, secureOptions: secureOptionsFor(tls.minVersion) };
}
