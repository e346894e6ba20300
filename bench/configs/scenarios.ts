/** The macro benchmark's scenarios; the first `DEFAULT_SCENARIOS` run when none is chosen. */
import { l4TcpConfigs } from "./l4-tcp.ts";
import { l7HttpConfigs } from "./l7-http.ts";
import type { Scenario } from "./types.ts";

/** Response bodies every backend serves, by path. */
export const BACKEND_BODIES: Readonly<Record<string, number>> = { "/1k": 1024, "/100k": 100 * 1024 };

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
    name: "l4-1k",
    title: "TCP passthrough (HTTP/1.1 keep-alive through it), 1 KB responses",
    scheme: "http",
    path: "/1k",
    bodyBytes: 1024,
    configs: l4TcpConfigs,
  },
  {
    name: "l4-100k",
    title: "TCP passthrough (HTTP/1.1 keep-alive through it), 100 KB responses",
    scheme: "http",
    path: "/100k",
    bodyBytes: 100 * 1024,
    configs: l4TcpConfigs,
  },
];

/** Names of the scenarios run by default. */
export const DEFAULT_SCENARIOS: readonly string[] = ["l7-1k", "l7-100k"];
