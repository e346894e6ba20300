/** The macro benchmark's scenarios; the first `DEFAULT_SCENARIOS` run when none is chosen. */
import { l4TcpConfigs } from "./l4-tcp.ts";
import { HEALTH_PATH, l7FullConfigs } from "./l7-full.ts";
import { l7FullPolicyAlwaysConfigs, l7FullPolicyConfigs } from "./l7-full-policies.ts";
import { l7HttpConfigs } from "./l7-http.ts";
import { tlsPassthroughConfigs } from "./tls-passthrough.ts";
import type { Scenario } from "./types.ts";

/** Response bodies every backend serves, by path (the health probes of l7-full ask for HEALTH_PATH). */
export const BACKEND_BODIES: Readonly<Record<string, number>> = { "/1k": 1024, "/100k": 100 * 1024, [HEALTH_PATH]: 3 };

/** All scenarios, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "l7-1k",
    title: "HTTP/1.1 round robin, 1 KB responses",
    scheme: "http",
    path: "/1k",
    bodyBytes: 1024,
    configs: l7HttpConfigs,
  },
  {
    name: "l7-100k",
    title: "HTTP/1.1 round robin, 100 KB responses",
    scheme: "http",
    path: "/100k",
    bodyBytes: 100 * 1024,
    configs: l7HttpConfigs,
  },
  {
    name: "l7-full-1k",
    title: "HTTP/1.1 with the full path: 5 routes, sticky cookie, active probes, metrics; 1 KB responses",
    scheme: "http",
    path: "/1k",
    bodyBytes: 1024,
    note: "The request is tested against four routes it misses (a host, two prefixes, a regex) before the " +
      "fifth takes it; that pool sets a sticky cookie and probes both backends every 2 s; tenbin's admin " +
      "plane (metrics) runs; no access logs. wrk keeps no cookies, so every request is a new client: " +
      "balanced round robin (Caddy: at random, its cookie policy's fallback) and answered with a Set-Cookie. nginx open source has no sticky cookie (emulated " +
      "with a map and add_header) and no active health checks (none run).",
    configs: l7FullConfigs,
  },
  {
    name: "l7-full-policies-1k",
    title: "l7-full-1k with three edge policies on the route: security headers, an allow list, a rate limit; 1 KB responses",
    scheme: "http",
    path: "/1k",
    bodyBytes: 1024,
    note: "tenbin only: the l7-full-1k config plus response headers (four set, Server removed), an allow list " +
      "of the loopback networks and a per-client rate limit far above the load on the route that serves. " +
      "Its cost per request is the paired difference against l7-full-1k (bench/ab.ts ...#scenario=NAME).",
    configs: l7FullPolicyConfigs,
  },
  {
    name: "l7-full-policies-always-1k",
    title: "l7-full-policies-1k with the rate limit's RateLimit fields on every answer (headers: always); 1 KB responses",
    scheme: "http",
    path: "/1k",
    bodyBytes: 1024,
    note: "tenbin only: l7-full-policies-1k with `headers: always` on its rate limit, so each answer carries two more fields.",
    configs: l7FullPolicyAlwaysConfigs,
  },
  {
    name: "https-1k",
    title: "HTTPS terminated at the balancer, plain HTTP/1.1 to the backends, round robin, 1 KB responses",
    scheme: "https",
    path: "/1k",
    bodyBytes: 1024,
    note: "A self-signed ECDSA P-256 certificate made with openssl at bench time; TLS 1.2 and 1.3 on, and " +
      "wrk (OpenSSL) gets 1.3 from every peer, with the cipher the peer prefers (AES-256-GCM; Caddy " +
      "AES-128-GCM). wrk keeps its connections, so handshakes are few and the cost measured is " +
      "encryption plus proxying. The direct row is plain HTTP to a backend.",
    configs: l7HttpConfigs,
  },
  {
    name: "l4-1k",
    title: "TCP passthrough (HTTP/1.1 keep-alive through it), 1 KB responses",
    scheme: "http",
    path: "/1k",
    bodyBytes: 1024,
    configs: l4TcpConfigs,
    tcp: true,
  },
  {
    name: "l4-100k",
    title: "TCP passthrough (HTTP/1.1 keep-alive through it), 100 KB responses",
    scheme: "http",
    path: "/100k",
    bodyBytes: 100 * 1024,
    configs: l4TcpConfigs,
    tcp: true,
  },
  ...[1, 100].map((kb): Scenario => ({
    name: `tls-pass-${kb}k`,
    title: `TLS passthrough routed by SNI (HTTPS keep-alive through it to TLS backends), ${kb} KB responses`,
    scheme: "https",
    path: `/${kb}k`,
    bodyBytes: kb * 1024,
    note: "The balancer reads each connection's ClientHello (wrk sends 127.0.0.1 as SNI), picks the pool " +
      "by name after one decoy route, and passes the TLS bytes unopened; the backends terminate TLS " +
      "with the bench certificate. HAProxy: req.ssl_sni after tcp-request inspect-delay. wrk keeps its " +
      "connections, so the hello is read once per connection: the per-request cost is the TCP relay's. " +
      "The direct row is HTTPS to a backend.",
    configs: tlsPassthroughConfigs,
    tcp: true,
    backendTls: true,
  })),
];

/** Names of the scenarios run by default. */
export const DEFAULT_SCENARIOS: readonly string[] = ["l7-1k", "l7-100k"];
