/**
 * What the runtime's HTTP server (Bun.serve 1.4.5) lets through and tenbin's own server refuses
 * (http1/request-head.ts), checked on the request it hands over so that both engines refuse
 * alike (docs/engines.md):
 * - CONNECT arrives as an ordinary request (`CONNECT example.com:443` with its url); a balancer is no
 *   forward proxy → 405, as the own server answers.
 * - Two Host lines arrive joined as `a, b` (or `a, a`); the space makes that an invalid Host, so
 *   every joined pair is refused (400), and so is any Host the own server refuses. A joined value
 *   cannot be told from a single line spelled the same way, which is invalid anyway.
 * - `Transfer-Encoding: ,chunked` is read as chunked; anything but exactly `chunked` is refused with
 *   501, as the own server refuses codings it does not know (Bun.serve refuses the other odd
 *   spellings itself). The body was already read as chunked, so the answer closes the connection.
 */
import type { ProxyRequest } from "../runtime/types.ts";
import { HOST } from "../http1/request-head.ts";

/** The status refusing a request of the runtime's server, or 0 when it may pass. */
export function runtimeRefusal(req: ProxyRequest): number {
  if (req.method === "CONNECT") return 405;
  const host = req.headers.get("host");
  if (host !== null && !HOST.test(host)) return 400;
  const coding = req.headers.get("transfer-encoding");
  if (coding !== null && !/^[ \t]*chunked[ \t]*$/i.test(coding)) return 501;
  return 0;
}
