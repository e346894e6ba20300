/**
 * The floor tenbin is compared with in `bench/ab.ts`: a bare Bun.serve that forwards round robin
 * through tenbin's own HTTP/1.1 client (src/proxy/h1-client/), with no routing, headers, health or
 * metrics. What tenbin spends above it is its own work per request.
 *
 *   bun bench/ab.ts lean=script:bench/lean-proxy.ts tenbin=dist/tenbin
 *
 * ab.ts runs it as `bun bench/lean-proxy.ts CONFIG`; it reads the listener port and the server
 * URLs from that generated tenbin config.
 */
import { readFileSync } from "node:fs";
import { H1Client } from "../src/proxy/h1-client/client.ts";
import { bunRuntime } from "../src/runtime/bun.ts";

const text = readFileSync(process.argv[2] ?? "", "utf8");
const port = Number(/listen: 127\.0\.0\.1:(\d+)/.exec(text)?.[1]);
const origins = [...text.matchAll(/url: (http:\/\/[^ },]+)/g)].map((m) => m[1] as string);
if (!port || origins.length === 0) throw new Error("Usage: bun bench/lean-proxy.ts TENBIN_CONFIG (as written by bench/ab.ts)");
const client = new H1Client({ connectTcp: bunRuntime.connectTcp, fallback: bunRuntime.fetchUpstream });
let next = 0;
Bun.serve({
  hostname: "127.0.0.1",
  port,
  fetch(req) {
    const url = req.url;
    const origin = origins[next++ % origins.length] as string;
    return client.fetch(origin + url.slice(url.indexOf("/", 8)), { method: req.method, headers: req.headers });
  },
});
