/**
 * Forwarding headers as the server sees them on the wire: X-Forwarded-*, Forwarded and X-Request-Id
 * replaced for an untrusted client and extended for a trusted proxy; hop-by-hop headers stopped;
 * `host_header` modes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { startRawBackend, type RawBackend } from "../helpers/backend-process.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let raw: RawBackend;
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;

beforeAll(async () => {
  raw = await startRawBackend();
  t = await startTenbinInProcess(`
listeners:
  - name: public
    listen: 127.0.0.1:0
    routes:
      - { match: { path: /by-server }, pool: by_server }
      - { match: { path: /by-literal }, pool: by_literal }
      - { pool: app }
  - name: behind_proxy
    listen: 127.0.0.1:0
    trusted_proxies: [127.0.0.1/32]
    routes: [{ pool: app }]
  - { name: dual_stack, listen: "[::]:0", routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${raw.url}" }] }
  by_server: { servers: [{ url: "${raw.url}" }], host_header: server }
  by_literal: { servers: [{ url: "${raw.url}" }], host_header: internal.example }
`);
});

afterAll(async () => {
  await t?.stop();
  await raw?.stop();
});

const SPOOFED = {
  host: "shop.example.com",
  "x-forwarded-for": "6.6.6.6",
  "x-forwarded-proto": "https",
  "x-forwarded-host": "evil.example",
  forwarded: "for=6.6.6.6;proto=https",
  "x-request-id": "spoofed-id",
};

/** One header as the server received it; fails when it came more than once. */
function seen(name: string): string | undefined {
  const values = raw.header(name);
  expect(values.length).toBeLessThanOrEqual(1);
  return values[0];
}

describe("a client outside trusted_proxies", () => {
  test("cannot claim another address, scheme, host or request id", async () => {
    const res = await fetch(t.url("/", "public"), { headers: SPOOFED });
    expect(res.status).toBe(200);
    const id = seen("x-request-id")!;
    expect(id).toMatch(UUID);
    expect(seen("x-forwarded-for")).toBe("127.0.0.1");
    expect(seen("x-forwarded-proto")).toBe("http");
    expect(seen("x-forwarded-host")).toBe("shop.example.com");
    expect(seen("forwarded")).toBe('for=127.0.0.1;proto=http;host="shop.example.com"');
    expect(seen("host")).toBe("shop.example.com");
  });

  test("gets a new request id per request", async () => {
    await (await fetch(t.url("/", "public"))).text();
    const first = seen("x-request-id");
    await (await fetch(t.url("/", "public"))).text();
    expect(seen("x-request-id")).not.toBe(first);
  });
});

test("an IPv4 client of a dual-stack listener is named as IPv4, not ::ffff:127.0.0.1", async () => {
  await (await fetch(`http://127.0.0.1:${t.port("dual_stack")}/`, { headers: { host: "h" } })).text();
  expect(seen("x-forwarded-for")).toBe("127.0.0.1");
  expect(seen("forwarded")).toBe('for=127.0.0.1;proto=http;host="h"');
});

describe("a client inside trusted_proxies (127.0.0.1/32)", () => {
  test("has its chain extended and its request id, scheme and host kept", async () => {
    const res = await fetch(t.url("/", "behind_proxy"), { headers: SPOOFED });
    expect(res.status).toBe(200);
    expect(seen("x-request-id")).toBe("spoofed-id");
    expect(seen("x-forwarded-for")).toBe("6.6.6.6, 127.0.0.1");
    expect(seen("x-forwarded-proto")).toBe("https");
    expect(seen("x-forwarded-host")).toBe("evil.example");
    expect(seen("forwarded")).toBe('for=6.6.6.6;proto=https, for=127.0.0.1;proto=http;host="shop.example.com"');
  });

  test("without forwarding headers of its own is treated like a direct client", async () => {
    await (await fetch(t.url("/", "behind_proxy"), { headers: { host: "a.example" } })).text();
    expect(seen("x-forwarded-for")).toBe("127.0.0.1");
    expect(seen("x-request-id")).toMatch(UUID);
  });
});

/** Sends `head` as is over a new connection; resolves with the whole reply once tenbin closes it. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no close within 3s; got ${JSON.stringify(reply)}`))), 3000);
    socket.on("data", (d) => (reply += d.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => (clearTimeout(timer), resolve(reply)));
    socket.write(head);
  });
}

test("hop-by-hop headers of the client do not reach the server", async () => {
  const reply = await rawRequest(t.port("public"), [
    "GET /hop HTTP/1.1",
    "Host: hop.example",
    "Connection: close, X-Foo",
    "X-Foo: secret-for-the-next-hop",
    "Keep-Alive: timeout=5",
    "TE: trailers",
    "Upgrade: h2c",
    "Proxy-Connection: keep-alive",
    "X-Bar: end-to-end",
    "",
    "",
  ].join("\r\n"));
  expect(reply).toStartWith("HTTP/1.1 200");
  expect(raw.seen.at(-1)!.requestLine).toBe("GET /hop HTTP/1.1");
  for (const name of ["x-foo", "keep-alive", "te", "upgrade", "proxy-connection"]) expect(raw.header(name)).toEqual([]);
  // The tenbin → server hop has its own Connection header (the runtime's keep-alive), not the client's.
  expect(raw.header("connection").join(",").toLowerCase()).not.toMatch(/close|x-foo/);
  expect(seen("x-bar")).toBe("end-to-end");
  expect(seen("host")).toBe("hop.example");
});

test("host_header: server sends the server's host:port, a literal is sent as is", async () => {
  await (await fetch(t.url("/by-server", "public"), { headers: { host: "shop.example.com" } })).text();
  expect(seen("host")).toBe(`127.0.0.1:${raw.port}`);
  expect(seen("x-forwarded-host")).toBe("shop.example.com");
  await (await fetch(t.url("/by-literal", "public"), { headers: { host: "shop.example.com" } })).text();
  expect(seen("host")).toBe("internal.example");
  expect(seen("forwarded")).toContain('host="shop.example.com"');
});
