/**
 * `accept_proxy: true` on an HTTP listener: the client address comes from the PROXY header of a
 * trusted upstream balancer, and reaches the backend as X-Forwarded-For.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encodeProxyHeader } from "../../src/proxy/proxy-protocol.ts";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { startL4Tenbin, textClient } from "../helpers/l4-tenbin.ts";

const backend = startHttpBackend((req) => new Response(`xff=${req.headers.get("x-forwarded-for")}`));
let t: Awaited<ReturnType<typeof startL4Tenbin>>;

beforeAll(async () => {
  t = await startL4Tenbin(`
admin: { enabled: false }
listeners:
  - { name: web, listen: 127.0.0.1:0, accept_proxy: true, trusted_proxies: [127.0.0.1], routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${backend.url}" }] }
`);
});
afterAll(async () => {
  await t.stop();
  await backend.stop();
});

const request = "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n";
const bytes = (s: string) => new TextEncoder().encode(s);

describe("accept_proxy on an http listener", () => {
  test("the PROXY header's client is the one the backend hears of, for every request of the connection", async () => {
    const header = encodeProxyHeader(2, { address: "203.0.113.9", port: 5555 }, { address: "198.51.100.1", port: 443 });
    const client = await textClient(t.port("web"), new Uint8Array([...header, ...bytes(request)]));
    await client.until((text) => text.includes("xff=203.0.113.9"));
    client.socket.write(request); // keep-alive: the same connection, the same client
    const text = await client.until((all) => all.split("xff=203.0.113.9").length === 3);
    expect(text.startsWith("HTTP/1.1 200")).toBe(true);
    client.socket.end();
  });

  test("curl --haproxy-protocol is understood", async () => {
    const curl = Bun.spawn(["curl", "-s", "--haproxy-protocol", `http://127.0.0.1:${t.port("web")}/`], { stdout: "pipe" });
    expect(await new Response(curl.stdout).text()).toBe("xff=127.0.0.1");
    expect(await curl.exited).toBe(0);
  });

  test("a request without a PROXY header is closed unanswered", async () => {
    const client = await textClient(t.port("web"), request);
    await client.until((_text, closed) => closed);
    expect(client.text).toBe("");
  });
});
