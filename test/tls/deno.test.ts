/**
 * The same TLS and WebSocket code on Deno 2, within what Deno.serve offers: one certificate per
 * listener (SNI with several is not stable there, so the first serves every name), TLS towards a
 * backend with a private CA, and WebSocket proxying (without pause/resume: no backpressure).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { curl, presentedCn, testCerts, type TestCerts } from "../helpers/certs.ts";
import { startTenbin } from "../helpers/tenbin.ts";
import { closed, nextMessages, openWs, startWsBackend } from "../websocket/ws-helpers.ts";

const ws = startWsBackend("deno-backend");
let certs: TestCerts;
let tlsBackend: ReturnType<typeof Bun.serve>;
beforeAll(async () => {
  certs = await testCerts();
  tlsBackend = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(certs.a.cert, "utf8"), key: readFileSync(certs.a.key, "utf8") },
    fetch: () => new Response("from the tls backend"),
  });
});
afterAll(() => {
  ws.stop();
  tlsBackend?.stop(true);
});

test("on Deno: a TLS listener, TLS to a backend with ca_file, and a proxied WebSocket", async () => {
  const t = await startTenbin(`
admin: { enabled: false }
listeners:
  - name: secure
    engine: runtime
    listen: 127.0.0.1:0
    tls: { certificates: [{ cert: ${certs.a.cert}, key: ${certs.a.key} }, { cert: ${certs.b.cert}, key: ${certs.b.key} }] }
    routes: [{ pool: backend }]
  - { name: plain, listen: 127.0.0.1:0, routes: [{ pool: sockets }] }
  - { name: own, engine: tenbin, listen: 127.0.0.1:0, routes: [{ pool: backend }] }
pools:
  backend: { servers: [{ url: "https://127.0.0.1:${tlsBackend.port}" }], tls: { ca_file: ${certs.ca} } }
  sockets: { servers: [{ url: "${ws.url}" }] }
`, { how: "deno", listeners: 3, timeoutMs: 20_000 });
  try {
    const port = t.port("secure");
    expect(await presentedCn(port, "a.test")).toBe("a.test");
    expect(await presentedCn(port, "b.test")).toBe("a.test"); // Deno: the default certificate only
    const r = await curl(["--cacert", certs.ca, "--resolve", `a.test:${port}:127.0.0.1`, `https://a.test:${port}/`]);
    expect(r.out).toBe("from the tls backend");
    // tenbin's own HTTP/1.1 client reaches the https:// server over node:tls on Deno, ca_file verified.
    expect((await curl([`http://127.0.0.1:${t.port("own")}/`])).out).toBe("from the tls backend");

    const socket = await openWs(`ws://127.0.0.1:${t.port("plain")}/chat`, { protocols: ["one", "two"] });
    expect(socket.protocol).toBe("two");
    const replies = nextMessages(socket, 3);
    socket.send("ping 1");
    socket.send("ping 2");
    expect(await replies).toEqual(["hello from deno-backend", "ping 1", "ping 2"]);
    const done = closed(socket);
    socket.send("close:4003:deno done");
    expect(await done).toEqual({ code: 4003, reason: "deno done" });
  } finally {
    expect(await t.stop()).toBe(0);
  }
}, 30_000);
