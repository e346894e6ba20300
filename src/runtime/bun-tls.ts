/** Listener TLS on Bun: Bun.serve takes an array of `{ serverName, cert, key }`, the first the default. */
import { constants } from "node:crypto";
import type { ServeTls } from "./types.ts";

// Bun.serve has no minVersion option; OpenSSL's SSL_OP_NO_* bits in secureOptions do it (TLS 1.0
// and 1.1 are off by default already).
const NO_BELOW_1_2 = constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;
const NO_BELOW_1_3 = NO_BELOW_1_2 | constants.SSL_OP_NO_TLSv1_2;

/** The `tls` option of Bun.serve for a listener's certificates. */
export function bunTls(tls: ServeTls): Record<string, unknown>[] {
  const secureOptions = tls.minVersion === "1.3" ? NO_BELOW_1_3 : NO_BELOW_1_2;
  return tls.identities.map((id) => ({ serverName: id.serverName, cert: id.cert, key: id.key, secureOptions }));
}
