/** Deno smoke: the same source run by Deno 2 proxies requests, keeps compressed bodies intact, and stops on SIGTERM. */
import { afterAll, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbin } from "../helpers/tenbin.ts";

const gzipped = new Uint8Array(gzipSync("deno ".repeat(500)));
const backend = startHttpBackend((req) => {
  const url = new URL(req.url);
  if (url.pathname === "/api/gzip") return new Response(gzipped, { headers: { "content-encoding": "gzip" } });
  return Response.json({ path: url.pathname + url.search, host: req.headers.get("host"), xff: req.headers.get("x-forwarded-for") });
});
afterAll(() => backend.stop());

test("tenbin on Deno proxies a request end to end", async () => {
  const t = await startTenbin(`
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ match: { path: /api/ }, pool: app }] }
pools:
  app: { servers: [{ url: "${backend.url}" }], host_header: internal.example }
`, { how: "deno", timeoutMs: 20_000 });
  try {
    const res = await fetch(t.url("/api/x?q=1"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ path: "/api/x?q=1", host: "internal.example", xff: "127.0.0.1" });
    const missing = await fetch(t.url("/other"));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("request id:");
    // Deno's fetch decodes whenever it asked for gzip (denoland/deno#12291), so tenbin on Deno asks
    // the server for identity. A server that sends gzip anyway must still reach the client intact:
    // the gzip bytes with their header, or plain bytes without it — never decoded bytes labelled gzip.
    const zipped = await fetch(t.url("/api/gzip"), { decompress: false, headers: { "accept-encoding": "gzip" } } as RequestInit);
    const bytes = new Uint8Array(await zipped.arrayBuffer());
    const encoding = zipped.headers.get("content-encoding");
    if (encoding === "gzip") expect(bytes).toEqual(gzipped);
    else expect(new TextDecoder().decode(bytes)).toBe("deno ".repeat(500));
  } finally {
    expect(await t.stop()).toBe(0);
  }
}, 30_000);
