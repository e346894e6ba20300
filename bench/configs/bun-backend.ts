/**
 * Fallback backends when nginx is not installed: `bun bench/configs/bun-backend.ts HOST PORT...`
 * serves the fixed bodies of `BACKEND_BODIES` on each port and prints "ready" once all listen. A
 * port written `tls:PORT` serves TLS with the files in env BENCH_TLS_CERT and BENCH_TLS_KEY.
 */
import { readFileSync } from "node:fs";
import { BACKEND_BODIES } from "./scenarios.ts";
import { backendBody } from "./backends.ts";

const [host, ...ports] = process.argv.slice(2);
if (host === undefined || ports.length === 0) {
  console.error("Usage: bun bench/configs/bun-backend.ts HOST PORT...");
  process.exit(2);
}

const bodies = new Map<string, string>();
for (const [path, bytes] of Object.entries(BACKEND_BODIES)) bodies.set(path, backendBody(bytes));

for (const port of ports) {
  const secure = port.startsWith("tls:");
  Bun.serve({
    hostname: host,
    port: Number(secure ? port.slice(4) : port),
    ...(secure ? { tls: { cert: readFileSync(process.env.BENCH_TLS_CERT ?? "", "utf8"), key: readFileSync(process.env.BENCH_TLS_KEY ?? "", "utf8") } } : {}),
    fetch(req) {
      // A request without a Host header (an HTTP/1.0 probe) has a bare path as its url.
      const body = bodies.get(req.url.startsWith("/") ? req.url : new URL(req.url).pathname);
      if (body === undefined) return new Response("Not found\n", { status: 404 });
      return new Response(body, { headers: { "content-type": "text/plain" } });
    },
  });
}
console.log("ready");
