/** What became of one attempt to forward a request, and which failures may be retried. */

import type { ProxyResponse } from "../runtime/types.ts";
import { outOfFileDescriptors } from "../runtime/fd-limit.ts";

/**
 * `connect`: the request never reached the server; `sent`: it may have; `timeout`: no answer in
 * time; `local`: tenbin is out of file descriptors (not the server's fault, not worth a retry).
 */
export type FailureKind = "connect" | "sent" | "timeout" | "client" | "local";

/** One forwarding attempt: a response, or a failure and its reason. */
export interface Attempt {
  response: ProxyResponse | undefined;
  failure: FailureKind | undefined;
  reason: string;
}

/** RFC 9110 §9.2.2: these may be sent twice without changing the outcome. */
export function isIdempotent(method: string): boolean {
  // Compared, not looked up in a Set: a parsed method is a new string, which a Set hashes each time.
  return method === "GET" || method === "HEAD" || method === "PUT" || method === "DELETE" || method === "OPTIONS" || method === "TRACE";
}

/** Errors that mean no connection was made, so nothing was sent. */
const CONNECT_CODES = new Set([
  "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "FailedToOpenSocket",
  "ConnectionRefused", "ECONNECTTIMEOUT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN", "CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID", "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
]);

/** Sorts a fetch error into a failure kind with a reason for logs. */
export function classifyFailure(error: unknown, signal: { readonly aborted: boolean; readonly reason?: unknown } | undefined): { failure: FailureKind; reason: string } {
  if (signal?.aborted) {
    const why = signal.reason as { name?: string; message?: string } | undefined;
    if (why?.name === "TimeoutError") return { failure: "timeout", reason: `timeout: ${why.message ?? "no answer"}` };
    return { failure: "client", reason: "client went away" };
  }
  const e = error as { code?: unknown; name?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code = typeof e?.code === "string" ? e.code : typeof e?.cause?.code === "string" ? e.cause.code : "";
  if (e?.name === "TimeoutError") return { failure: "timeout", reason: "timeout" };
  const message = typeof e?.message === "string" ? e.message.split("\n")[0]! : String(error);
  if (CONNECT_CODES.has(code) || /connection refused|unable to connect/i.test(message)) {
    // At the fd limit Bun reports a failed connect as ECONNREFUSED: ask whether we are out.
    const shortage = outOfFileDescriptors();
    if (shortage !== undefined) return { failure: "local", reason: `tenbin is out of file descriptors (${shortage})` };
    return { failure: "connect", reason: message.startsWith(code) ? `connect ${message}` : `connect ${code || "failed"}: ${message}` };
  }
  return { failure: "sent", reason: code ? `${code}: ${message}` : message };
}
