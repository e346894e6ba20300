/**
 * The seam between an HTTP listener's handler and a route's policies: the client address the
 * policies see (after trusted proxies), and an exchange whose path and request are the rewritten
 * ones for the forward, while the access log keeps the client's.
 */
import type { Exchange } from "../proxy/forward.ts";
import type { RoutePolicy } from "../policy/route-policy.ts";
import type { ProxyResponse } from "../runtime/types.ts";
import type { CidrSet } from "../util/cidr.ts";
import { unmapIpv4 } from "../util/cidr.ts";

/** An exchange that can also say which policy answered (for the access log). */
export type PolicyExchange = Exchange & { policy?: string | undefined };

/**
 * The client a trusted proxy speaks for: the right-most X-Forwarded-For address that is not itself
 * a trusted proxy (what HAProxy and nginx's real_ip_recursive take); the peer when there is none.
 */
export function forwardedClient(forwardedFor: string | null, peer: string, trusted: CidrSet): string {
  if (forwardedFor === null) return peer;
  const hops = forwardedFor.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = unmapIpv4(hops[i]!.trim());
    if (ip !== "" && !trusted.has(ip)) return ip;
  }
  return peer;
}

/** Runs `policy` around `forward` (the listener's forward of an exchange to the route's pool). */
export function handleWithPolicy(policy: RoutePolicy, ex: PolicyExchange, trusted: CidrSet, forward: (ex: Exchange) => ProxyResponse | Promise<ProxyResponse>): ProxyResponse | Promise<ProxyResponse> {
  // The exchange itself tells the policies what they read, unless a trusted proxy speaks for the client.
  const facts = !ex.trusted ? ex : { req: ex.req, clientIp: forwardedClient(ex.req.headers.get("x-forwarded-for"), ex.clientIp, trusted), pathAndQuery: ex.pathAndQuery, proto: ex.proto, requestId: ex.requestId };
  return policy.handle(facts, (pathAndQuery, req) => {
    if (pathAndQuery === ex.pathAndQuery && req === ex.req) return forward(ex);
    const rewritten: Exchange = { ...ex, pathAndQuery, req };
    const copyBack = () => {
      ex.server = rewritten.server;
      if (rewritten.attempts !== undefined) ex.attempts = rewritten.attempts;
      ex.requestId = rewritten.requestId;
      if (rewritten.bodyTooLarge !== undefined) ex.bodyTooLarge = rewritten.bodyTooLarge;
    };
    const answer = forward(rewritten);
    if (!(answer instanceof Promise)) {
      copyBack();
      return answer;
    }
    return answer.then((res) => (copyBack(), res), (error: unknown) => {
      copyBack();
      throw error;
    });
  }, (name) => (ex.policy = name));
}
