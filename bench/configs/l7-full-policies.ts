/**
 * `l7-full-policies-1k`: the l7-full config (bench/configs/l7-full.ts) with three edge policies on the
 * route the requests take — security headers on the answer (four set, Server removed), an allow list
 * of the loopback networks, and a rate limit per client address far above the load — so a paired run
 * against `l7-full-1k` gives what the policies cost per request:
 *
 *   bun bench/ab.ts plain=dist/tenbin#scenario=l7-full-1k policies=dist/tenbin#scenario=l7-full-policies-1k
 *
 * tenbin only: the other peers' equivalents differ in what they do (HAProxy's stick tables, nginx's
 * limit_req) and the question here is tenbin's own cost.
 */
import { l7FullConfigs } from "./l7-full.ts";
import type { ConfigContext, PeerConfigs } from "./types.ts";

/** The policy sets the scenario adds, by name. */
export const BENCH_POLICIES = `policies:
  secure-headers:
    response_headers:
      set:
        Strict-Transport-Security: max-age=31536000
        X-Content-Type-Options: nosniff
        X-Frame-Options: DENY
        Referrer-Policy: strict-origin-when-cross-origin
      remove: [Server]
  loopback-only:
    allow: [127.0.0.0/8, "::1"]
  fair-use:
    rate_limit: { rate: 100000000, burst: 100000000 }
`;

const APP_ROUTE = "      - { name: app, match: { path: / }, pool: app }";

function tenbin(ctx: ConfigContext, policies = BENCH_POLICIES): string {
  const plain = l7FullConfigs.tenbin!(ctx);
  if (!plain.includes(APP_ROUTE)) throw new Error("bench/configs/l7-full.ts changed its app route; update l7-full-policies.ts");
  const withPolicies = plain.replace(APP_ROUTE, "      - { name: app, match: { path: / }, policies: [secure-headers, loopback-only, fair-use], pool: app }");
  return withPolicies.replace("listeners:\n", `${policies}listeners:\n`);
}

/** tenbin's l7-full config with three policies on the route that serves. */
export const l7FullPolicyConfigs: PeerConfigs = { tenbin: (ctx) => tenbin(ctx) };

/** The same with `headers: always` on the rate limit: RateLimit-Policy and RateLimit on every answer. */
export const l7FullPolicyAlwaysConfigs: PeerConfigs = {
  tenbin: (ctx) => tenbin(ctx, BENCH_POLICIES.replace("burst: 100000000 }", "burst: 100000000, headers: always }")),
};
