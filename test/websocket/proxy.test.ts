import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testCerts, type TestCerts } from "../helpers/certs.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";
import { closed, nextMessages, openWs, rawHandshake, startWsBackend, until } from "./ws-helpers.ts";

const a = startWsBackend("a");
const b = startWsBackend("b");
/** A port nobody listens on: a backend that is down. */
const deadPort = (() => {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
})();
let certs: TestCerts;
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;
let base: string;

beforeAll(async () => {
  certs = await testCerts();
  t = await startTenbinInProcess(`
admin: { enabled: false }
listeners:
  - name: web
    listen: 127.0.0.1:0
    engine: runtime
    routes:
      - { match: { path: /sticky/ }, pool: sticky }
      - { match: { path: /failover/ }, pool: failover }
      - pool: one
  - name: secure
    listen: 127.0.0.1:0
    engine: runtime
    tls: { certificates: [{ cert: ${certs.a.cert}, key: ${certs.a.key} }] }
    routes: [{ pool: one }]
pools:
  one: { servers: [{ url: "${a.url}" }] }
  sticky:
    servers: [{ url: "${a.url}" }, { url: "${b.url}" }]
    sticky: { cookie: { name: srv, key: test-key } }
  failover:
    retries: 1
    servers: [{ url: "http://127.0.0.1:${deadPort}" }, { url: "${a.url}" }]
    balance: first
`);
  base = `ws://127.0.0.1:${t.port("web")}`;
});
afterAll(async () => {
  await t?.stop();
  a.stop();
  b.stop();
});

describe("messages", () => {
  test("1,000 messages each way arrive in order", async () => {
    const ws = await openWs(`${base}/echo`);
    const before = a.received.length;
    const replies = nextMessages(ws, 1001);
    for (let i = 0; i < 1000; i++) ws.send(`m${i}`);
    const got = await replies;
    expect(got[0]).toBe("hello from a");
    expect(got.slice(1)).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
    expect(a.received.slice(before)).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
    // The other way on its own: 1,000 binary messages the backend pushes.
    const pushed = nextMessages(ws, 1000);
    ws.send("push:1000:16");
    const bytes = (await pushed).map((m) => new Uint8Array(m as ArrayBuffer));
    expect(bytes.every((m, i) => m.length === 16 && m[0] === i % 256 && m[15] === i % 256)).toBe(true);
    ws.close();
  });

  test("a 5 MB binary message passes both ways intact", async () => {
    const ws = await openWs(`${base}/big`);
    await nextMessages(ws, 1); // hello
    const big = new Uint8Array(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    const echoed = nextMessages(ws, 1);
    ws.send(big);
    const back = new Uint8Array((await echoed)[0] as ArrayBuffer);
    expect(back.length).toBe(big.length);
    expect(Buffer.compare(back, big)).toBe(0);
    const seen = a.received.at(-1) as Uint8Array;
    expect(seen.length).toBe(big.length);
    ws.close();
  });

  test("a slow client makes the backend wait (backpressure) and loses nothing", async () => {
    const ws = (await openWs(`${base}/slow`)) as WebSocket & { pause(): boolean; resume(): boolean };
    await nextMessages(ws, 1);
    const count = 128;
    const size = 256 * 1024;
    const all = nextMessages(ws, count, 20_000);
    const before = a.pushed;
    ws.pause(); // the client stops reading
    ws.send(`push:${count}:${size}`);
    // The backend sends each message once its connection takes it. If tenbin kept reading from it
    // while the client does not read, all 32 MB would go out and wait in tenbin's memory; paused,
    // the backend is held once socket buffers are full.
    let last = -1;
    for (let i = 0; i < 30 && a.pushed !== last; i++) {
      last = a.pushed;
      await Bun.sleep(150);
    }
    expect(a.pushed - before).toBeGreaterThan(0);
    expect(a.pushed - before).toBeLessThan(count * 0.75);
    ws.resume();
    const got = (await all).map((m) => new Uint8Array(m as ArrayBuffer));
    expect(a.pushed - before).toBe(count);
    expect(got.every((m, i) => m.length === size && m[0] === i % 256 && m[size - 1] === i % 256)).toBe(true);
    ws.close();
  });
  test("a slow backend makes the client wait (backpressure) and loses nothing", async () => {
    const ws = await openWs(`${base}/slow-backend`);
    await nextMessages(ws, 1);
    const before = a.received.length;
    ws.send("stall:1200"); // the backend stops reading for 1.2 s
    await until(() => a.received.length === before + 1);
    const count = 128;
    const chunk = new Uint8Array(256 * 1024);
    for (let i = 0; i < count; i++) ws.send(chunk.fill(i % 256));
    await Bun.sleep(600);
    // Were tenbin to read on while the backend does not, the client's 32 MB would all have left
    // it by now; paused, most still wait on the client's side.
    expect(ws.bufferedAmount).toBeGreaterThan(count * chunk.length / 4);
    await until(() => a.received.length === before + 1 + count, 10_000);
    const got = a.received.slice(before + 1) as Uint8Array[];
    expect(got.every((m, i) => m.length === chunk.length && m[0] === i % 256 && m.at(-1) === i % 256)).toBe(true);
    ws.close();
  });
});

describe("closing", () => {
  test("the client's close code and reason reach the backend, which is then closed", async () => {
    const ws = await openWs(`${base}/c1`);
    await nextMessages(ws, 1);
    ws.close(4001, "client done");
    // The backend's close handler runs when its connection from tenbin is closed.
    await until(() => a.closes.some((c) => c.code === 4001 && c.reason === "client done"));
  });

  test("the backend's close code and reason reach the client, and the server slot is freed", async () => {
    const ws = await openWs(`${base}/c2`);
    await nextMessages(ws, 1);
    const done = closed(ws);
    ws.send("close:4002:server done");
    expect(await done).toEqual({ code: 4002, reason: "server done" });
    // Every WebSocket of the tests so far is closed now: the server counts none in flight.
    const server = t.tenbin.pools.get("one")!.servers[0]!;
    await until(() => server.inFlight === 0);
  });

  test("stopping tenbin closes open WebSockets with 1001 on both sides", async () => {
    const own = await startTenbinInProcess(`
admin: { enabled: false }
listeners: [{ name: web, listen: 127.0.0.1:0, engine: runtime, routes: [{ pool: one }] }]
pools:
  one: { servers: [{ url: "${b.url}" }] }
`);
    const ws = await openWs(`ws://127.0.0.1:${own.port()}/bye`);
    await nextMessages(ws, 1);
    const done = closed(ws);
    const stopped = own.stop();
    expect(await done).toEqual({ code: 1001, reason: "tenbin is shutting down" });
    await stopped;
    await until(() => b.closes.some((c) => c.code === 1001));
  });
});

describe("handshake", () => {
  test("subprotocols are offered to the backend and its choice reaches the client", async () => {
    const ws = await openWs(`${base}/proto`, { protocols: ["chat.v1", "chat.v2"] });
    expect(ws.protocol).toBe("chat.v2");
    expect(a.handshakes.at(-1)!.headers.get("sec-websocket-protocol")).toBe("chat.v1, chat.v2");
    ws.close();
    const plain = await openWs(`${base}/proto`);
    expect(plain.protocol).toBe("");
    plain.close();
  });

  test("forwarding headers and the client's cookie reach the backend", async () => {
    const ws = await openWs(`${base}/headers?x=1`, { headers: { cookie: "session=abc" } });
    const seen = a.handshakes.at(-1)!;
    expect(new URL(seen.url).pathname + new URL(seen.url).search).toBe("/headers?x=1");
    expect(seen.headers.get("cookie")).toBe("session=abc");
    expect(seen.headers.get("x-forwarded-for")).toBe("127.0.0.1");
    expect(seen.headers.get("x-forwarded-proto")).toBe("http");
    expect(seen.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    ws.close();
  });

  test("a backend that refuses the upgrade: its status reaches the client", async () => {
    const res = await rawHandshake(t.port("web"), "/deny");
    expect(res.status).toBe(403);
  });

  test("a server that cannot be reached is skipped for the next one", async () => {
    const ws = await openWs(`${base}/failover/x`);
    expect((await nextMessages(ws, 1))[0]).toBe("hello from a");
    expect(t.logger.lines.some((l) => l.includes(`failover/127.0.0.1:${deadPort}: WebSocket connect failed`))).toBe(true);
    ws.close();
  });

  test("wss through a tls listener", async () => {
    const ca = await Bun.file(certs.ca).text();
    const ws = await openWs(`wss://127.0.0.1:${t.port("secure")}/tls`, { tls: { ca } } as never);
    const replies = nextMessages(ws, 2);
    ws.send("over tls");
    expect(await replies).toEqual(["hello from a", "over tls"]);
    expect(a.handshakes.at(-1)!.headers.get("x-forwarded-proto")).toBe("https");
    ws.close();
  });
});

describe("persistence", () => {
  const helloFrom = async (headers: Record<string, string>) => {
    const ws = await openWs(`${base}/sticky/room`, { headers });
    const [hello] = await nextMessages(ws, 1);
    ws.close();
    return hello as string;
  };

  test("the upgrade response sets the cookie, and upgrades carrying it stay on one server", async () => {
    const first = await rawHandshake(t.port("web"), "/sticky/room");
    expect(first.status).toBe(101);
    const setCookie = first.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^srv=[^;]+;/);
    const cookie = setCookie.split(";")[0]!;
    const pinned = new Set<string>();
    for (let i = 0; i < 6; i++) pinned.add(await helloFrom({ cookie }));
    expect(pinned.size).toBe(1);
    const unpinned = new Set<string>();
    for (let i = 0; i < 4; i++) unpinned.add(await helloFrom({}));
    expect([...unpinned].sort()).toEqual(["hello from a", "hello from b"]);
  });
});
