/**
 * `tenbin demo`: starts a small built-in backend on every loopback server address of the config, so
 * the demo config works with nothing else running. Each backend answers with its own name, which
 * makes the balancing visible from curl.
 */
import type { Config } from "../config/schema.ts";
import type { HttpServer, Runtime } from "../runtime/types.ts";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Starts the demo backends; returns them so the caller can stop them. */
export async function startDemoBackends(config: Config, runtime: Runtime): Promise<HttpServer[]> {
  const seen = new Set<string>();
  const servers: HttpServer[] = [];
  for (const pool of Object.values(config.pools)) {
    for (const server of pool.servers) {
      const url = new URL(server.url);
      if (url.protocol !== "http:" || !LOOPBACK.has(url.hostname) || seen.has(url.host)) continue;
      seen.add(url.host);
      const name = server.name ?? url.host;
      let served = 0;
      servers.push(await runtime.serveHttp({
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: Number(url.port || 80),
        handler(req) {
          const path = new URL(req.url).pathname;
          if (path === "/healthz") return new Response("ok\n");
          served++;
          return Response.json({ backend: name, served, method: req.method, path, forwarded_for: req.headers.get("x-forwarded-for") });
        },
      }));
    }
  }
  return servers;
}
