/**
 * WebSocket upgrades on `engine: tenbin`: after the backend's 101 the two connections are spliced
 * into a byte tunnel (src/proxy/upgrade-tunnel.ts). Real Bun WebSocket backends and clients:
 * messages both ways in order, backpressure, subprotocols, forwarding headers, refusals, close
 * codes, a large message, bytes sent right behind the upgrade request, stickiness and in-flight
 * accounting, servers down, the idle timeout, wss on a TLS listener, and an open tunnel surviving
 * a reload that rebinds the listener and a stop until its deadline.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { loadConfigText } from "../../src/config/load.ts";
import { testCerts, type TestCerts } from "../helpers/certs.ts";
import { closedPort } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";
import { closed, nextMessages, openWs, rawHandshake, startWsBackend, until } from "../websocket/ws-helpers.ts";

const a = startWsBackend("a");
const b = startWsBackend("b");
let certs: TestCerts;
const config = (engine: string) => `
admin: { enabled: false }
listeners:
  - name: secure
    engine: tenbin
    listen: 127.0.0.1:0
    tls: { certificates: [{ cert: ${certs.a.cert}, key: ${certs.a.key} }] }
    routes: [{ pool: one }]
  - name: web
    engine: ${engine}
    listen: 127.0.0.1:0
    routes:
      - { match: { path: /sticky/ }, pool: sticky }
      - { match: { path: /down/ }, pool: down }
      - { match: { path: /idle/ }, pool: idle }
      - pool: one
pools:
  one: { servers: [{ url: "${a.url}" }] }
  sticky:
    servers: [{ url: "${a.url}" }, { url: "${b.url}" }]
    sticky: { cookie: { name: srv, key: test-key } }
  down: { servers: [{ url: "http://127.0.0.1:${closedPort()}" }, { url: "http://127.0.0.1:${closedPort()}" }] }
  idle: { servers: [{ url: "${b.url}" }], timeouts: { idle: 300ms } }
`;
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;
let base: string;
const inFlight = (pool: string) => t.tenbin.pools.get(pool)!.servers.reduce((n, s) => n + s.inFlight, 0);

beforeAll(async () => {
  certs = await testCerts();
  t = await startTenbinInProcess(config("tenbin"));
  base = `ws://127.0.0.1:${t.port("web")}`;
});
afterAll(async () => {
  await t?.stop();
  a.stop();
  b.stop();
});

describe("messages", () => {
  test("text and binary messages pass both ways in order", async () => {
    const ws = await openWs(`${base}/echo`);
    const before = a.received.length;
    const sent = Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? `m${i}` : new Uint8Array([i % 256, 7, i >> 8])));
    const replies = nextMessages(ws, 1 + sent.length);
    for (const m of sent) ws.send(m);
    const got = await replies;
    expect(got[0]).toBe("hello from a");
    const asSent = (m: string | ArrayBuffer) => (typeof m === "string" ? m : [...new Uint8Array(m)]);
    expect(got.slice(1).map(asSent)).toEqual(sent.map((m) => (typeof m === "string" ? m : [...m])));
    expect(a.received.slice(before).map((m) => (typeof m === "string" ? m : [...m]))).toEqual(sent.map((m) => (typeof m === "string" ? m : [...m])));
    const pushed = nextMessages(ws, 100);
    ws.send("push:100:16");
    const bytes = (await pushed).map((m) => new Uint8Array(m as ArrayBuffer));
    expect(bytes.every((m, i) => m.length === 16 && m[0] === i % 256 && m[15] === i % 256)).toBe(true);
    ws.close();
  });

  test("a 1 MB binary message arrives whole both ways", async () => {
    const ws = await openWs(`${base}/big`);
    await nextMessages(ws, 1);
    const big = Uint8Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7) % 251);
    const echoed = nextMessages(ws, 1);
    ws.send(big);
    const back = new Uint8Array((await echoed)[0] as ArrayBuffer);
    expect(Buffer.compare(back, big)).toBe(0);
    expect(Buffer.compare(a.received.at(-1) as Uint8Array, big)).toBe(0);
    ws.close();
  });

  test("a client that stops reading makes the backend wait (TCP backpressure through the tunnel)", async () => {
    const ws = (await openWs(`${base}/slow`)) as WebSocket & { pause(): void; resume(): void };
    await nextMessages(ws, 1);
    const [count, size] = [128, 256 * 1024];
    const all = nextMessages(ws, count, 10_000);
    const before = a.pushed;
    ws.pause();
    ws.send(`push:${count}:${size}`);
    // Were the tunnel to read on while the client does not, all 32 MB would leave the backend.
    for (let i = 0, last = -1; i < 30 && a.pushed !== last; i++, await Bun.sleep(100)) last = a.pushed;
    expect(a.pushed - before).toBeLessThan(count * 0.75);
    ws.resume();
    const got = (await all).map((m) => new Uint8Array(m as ArrayBuffer));
    expect(got.every((m, i) => m.length === size && m[0] === i % 256 && m[size - 1] === i % 256)).toBe(true);
    ws.close();
  });

  test("bytes sent right behind the upgrade request reach the backend after the 101", async () => {
    // One write: the request head and a masked text frame, so the frame waits in the connection's buffer.
    const payload = Buffer.from("early");
    const mask = Buffer.from([1, 2, 3, 4]);
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((byte, i) => byte ^ mask[i % 4]!)]);
    const head = `GET /early HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const socket = connect(t.port("web"), "127.0.0.1");
    let text = "";
    socket.on("data", (d) => (text += d.toString("latin1")));
    socket.write(Buffer.concat([Buffer.from(head), frame]));
    try {
      await until(() => text.includes("hello from a") && text.split("early").length === 2);
      expect(text).toStartWith("HTTP/1.1 101 Switching Protocols\r\n");
      expect(text.slice(0, text.indexOf("\r\n\r\n")).toLowerCase()).not.toContain("content-length");
      expect(a.received.at(-1)).toBe("early");
    } finally {
      socket.destroy();
    }
  });
});

describe("handshake", () => {
  test("subprotocols, forwarding headers and cookies pass; the backend's choice reaches the client", async () => {
    const ws = await openWs(`${base}/proto?x=1`, { protocols: ["chat.v1", "chat.v2"], headers: { cookie: "session=abc; theme=dark" } });
    expect(ws.protocol).toBe("chat.v2");
    const seen = a.handshakes.at(-1)!;
    expect(new URL(seen.url).pathname + new URL(seen.url).search).toBe("/proto?x=1");
    expect(seen.headers.get("sec-websocket-protocol")).toBe("chat.v1, chat.v2");
    expect(seen.headers.get("cookie")).toBe("session=abc; theme=dark");
    expect(seen.headers.get("x-forwarded-for")).toBe("127.0.0.1");
    expect(seen.headers.get("x-forwarded-proto")).toBe("http");
    expect(seen.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    ws.close();
  });

  test("wss through a TLS listener: the tunnel carries the decrypted bytes", async () => {
    const ca = await Bun.file(certs.ca).text();
    const ws = await openWs(`wss://127.0.0.1:${t.port("secure")}/tls`, { tls: { ca } } as never);
    const replies = nextMessages(ws, 2);
    ws.send("over tls");
    expect(await replies).toEqual(["hello from a", "over tls"]);
    expect(a.handshakes.at(-1)!.headers.get("x-forwarded-proto")).toBe("https");
    ws.close();
    await until(() => inFlight("one") === 0);
  });

  test("a backend that refuses with 403: the WebSocket fails, a raw upgrade sees the 403", async () => {
    await expect(openWs(`${base}/deny`)).rejects.toThrow();
    const res = await rawHandshake(t.port("web"), "/deny");
    expect(res.status).toBe(403);
    expect(res.headers.get("upgrade")).toBeNull();
    await until(() => inFlight("one") === 0);
  });

  test("every server down: 502 to the upgrade request, the WebSocket fails", async () => {
    expect((await rawHandshake(t.port("web"), "/down/x")).status).toBe(502);
    await expect(openWs(`${base}/down/x`)).rejects.toThrow();
    expect(t.logger.lines.some((l) => l.includes("WebSocket upgrade: connect ECONNREFUSED"))).toBe(true);
  });
});

describe("closing", () => {
  test("close codes and reasons pass both ways, and the server slot is freed", async () => {
    const one = await openWs(`${base}/c1`);
    await nextMessages(one, 1);
    one.close(4001, "client done");
    await until(() => a.closes.some((c) => c.code === 4001 && c.reason === "client done"));
    const two = await openWs(`${base}/c2`);
    await nextMessages(two, 1);
    const done = closed(two);
    two.send("close:4002:server done");
    expect(await done).toEqual({ code: 4002, reason: "server done" });
    await until(() => inFlight("one") === 0);
  });

  test("a tunnel with no bytes either way for the pool's idle timeout is closed", async () => {
    const ws = await openWs(`${base}/idle/x`);
    await nextMessages(ws, 1);
    expect(inFlight("idle")).toBe(1);
    expect((await closed(ws, 3000)).code).toBe(1006); // cut: no close frame
    await until(() => inFlight("idle") === 0);
  });
});

describe("persistence and accounting", () => {
  test("the 101 sets the sticky cookie; the tunnel counts in flight while open", async () => {
    const first = await rawHandshake(t.port("web"), "/sticky/room");
    expect(first.status).toBe(101);
    const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0]!;
    expect(cookie).toMatch(/^srv=.+/);
    await until(() => inFlight("sticky") === 0); // rawHandshake hung up
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const ws = await openWs(`${base}/sticky/room`, { headers: { cookie } });
      names.add((await nextMessages(ws, 1))[0] as string);
      expect(inFlight("sticky")).toBe(1);
      ws.close();
      await until(() => inFlight("sticky") === 0);
    }
    expect(names.size).toBe(1);
  });
});

test("a reload that rebinds the listener (engine: runtime now) leaves an open tunnel alone", async () => {
  const ws = await openWs(`${base}/reload`);
  await nextMessages(ws, 1);
  await t.tenbin.reload(loadConfigText(config("runtime"), "test.yaml", process.env));
  expect(t.tenbin.listeners.find((l) => l.name === "web")!.port).toBe(t.port("web"));
  const replies = nextMessages(ws, 1);
  ws.send("still here");
  expect(await replies).toEqual(["still here"]);
  const fresh = await openWs(`${base}/fresh`); // the runtime's server now
  expect((await nextMessages(fresh, 1))[0]).toBe("hello from a");
  expect(inFlight("one")).toBe(2);
  fresh.close();
  ws.close();
  await until(() => inFlight("one") === 0);
});

test("stopping tenbin leaves an open tunnel until shutdown_timeout, then cuts it", async () => {
  const own = await startTenbinInProcess(`
admin: { enabled: false }
listeners: [{ name: web, engine: tenbin, listen: 127.0.0.1:0, routes: [{ pool: one }] }]
pools:
  one: { servers: [{ url: "${b.url}" }] }
`);
  const ws = await openWs(`ws://127.0.0.1:${own.port()}/bye`);
  await nextMessages(ws, 1);
  const done = closed(ws);
  let stopped = false;
  const stopping = own.tenbin.stop(400).then(() => (stopped = true));
  const replies = nextMessages(ws, 1);
  ws.send("still open while stopping");
  expect(await replies).toEqual(["still open while stopping"]);
  expect(stopped).toBe(false);
  expect((await done).code).toBe(1006); // cut at the deadline, no close frame
  await stopping;
  await until(() => own.tenbin.pools.get("one")!.servers[0]!.inFlight === 0);
});
