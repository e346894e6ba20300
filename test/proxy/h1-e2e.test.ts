import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { answer, type RawBackend, startRawBackend } from "../helpers/raw-http-backend.ts";
import { startTenbin, type TenbinProcess } from "../helpers/tenbin.ts";

// tenbin (a real process) in front of a raw backend, so the bytes the backend sends are exact.
let backend: RawBackend;
let t: TenbinProcess;
beforeAll(async () => {
  backend = await startRawBackend((req, conn) => {
    if (req.target === "/garbage") conn.send("this is not HTTP\r\n\r\n");
    else if (req.target.startsWith("/bytes/")) conn.send(answer("z".repeat(Number(req.target.slice(7)))));
    else if (req.target === "/stall") conn.send(`HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n${"s".repeat(40_000)}`);
    else if (req.method === "HEAD") conn.send("HTTP/1.1 200 OK\r\ncontent-length: 12345\r\ncontent-type: application/zip\r\n\r\n");
    else conn.send(answer("hello"));
  });
  t = await startTenbin(`
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
  - { name: runtime, listen: 127.0.0.1:0, engine: runtime, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${backend.origin}" }] }
`);
});
afterAll(async () => {
  await t?.stop();
  await backend?.stop();
});

test("a HEAD answer's Content-Length reaches the client unchanged", async () => {
  const res = await fetch(t.url("/file.zip"), { method: "HEAD" });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-length")).toBe("12345");
  expect(res.headers.get("content-type")).toBe("application/zip");
  expect(await res.text()).toBe("");
  expect(backend.requests.at(-1)!.method).toBe("HEAD");
  // and the connection is still good for a GET
  const get = await fetch(t.url("/x"));
  expect(await get.text()).toBe("hello");
  expect(get.headers.get("content-length")).toBe("5");
});

test("a backend answering garbage gives the client a 502", async () => {
  const res = await fetch(t.url("/garbage"));
  expect(res.status).toBe(502);
  await res.arrayBuffer();
  expect(backend.requests.some((r) => r.target === "/garbage")).toBe(true);
  // tenbin still works afterwards
  expect(await (await fetch(t.url("/after"))).text()).toBe("hello");
});

test("engine: runtime: answers that fit Bun's cork buffer keep their Content-Length; longer ones arrive whole, streamed", async () => {
  // On Bun an answer over ~16 KB in all is streamed (chunked): as bytes it left in one send() per
  // header fragment (src/runtime/bun.ts).
  for (const size of [4000, 15_000, 100_000, 3_000_000]) {
    const res = await fetch(t.url(`/bytes/${size}`, "runtime"));
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(size);
    expect(res.headers.get("content-length")).toBe(size <= 15_000 ? String(size) : null);
  }
});

test("the default engine (tenbin's own server) keeps every answer's Content-Length", async () => {
  for (const size of [4000, 15_000, 100_000, 3_000_000]) {
    const res = await fetch(t.url(`/bytes/${size}`));
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(size);
    expect(res.headers.get("content-length")).toBe(String(size));
  }
});

test("a streamed answer of known, short length that stalls mid-body is cut after the pool's idle timeout", async () => {
  // 100 KB is short for the 1 MB rule but streams on Bun: it must be watched like a long body.
  const cut = await startTenbin(`
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${backend.origin}" }], timeouts: { idle: 300ms } }
`);
  try {
    const started = Date.now();
    const res = await fetch(cut.url("/stall"));
    expect(res.status).toBe(200);
    const outcome = await Promise.race([
      res.arrayBuffer().then((b) => `read ${b.byteLength} bytes`, () => "cut"),
      Bun.sleep(5000).then(() => "still waiting after 5 s"),
    ]);
    expect(outcome).toBe("cut");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // The server's connection is closed too: it cannot carry another request before that body.
    const stalled = backend.conns.find((c) => c.requests.some((r) => r.target === "/stall"))!;
    for (let i = 0; i < 50 && !stalled.closed; i++) await Bun.sleep(20);
    expect(stalled.closed).toBe(true);
  } finally {
    await cut.stop();
  }
});

test("an HTTP/1.0 client gets a streamed answer whole, ended by the close (no chunk framing)", async () => {
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect(t.port(), "127.0.0.1", () => socket.write("GET /bytes/100000 HTTP/1.0\r\nHost: a.test\r\n\r\n"));
    const parts: Buffer[] = [];
    socket.on("data", (d: Buffer) => parts.push(d));
    socket.on("end", () => resolve(Buffer.concat(parts)));
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy(new Error("no close within 5 s")));
  });
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.subarray(0, split).toString("latin1");
  expect(head).toStartWith("HTTP/1.1 200");
  expect(head.toLowerCase()).not.toContain("transfer-encoding");
  expect(raw.subarray(split + 4).toString("latin1")).toBe("z".repeat(100_000));
});

test("on Deno every answer keeps its Content-Length, streamed ones too", async () => {
  const onDeno = await startTenbin(`
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${backend.origin}" }] }
`, { how: "deno" });
  try {
    for (const size of [100_000, 3_000_000]) {
      const res = await fetch(onDeno.url(`/bytes/${size}`));
      expect((await res.arrayBuffer()).byteLength).toBe(size);
      expect(res.headers.get("content-length")).toBe(String(size));
    }
  } finally {
    await onDeno.stop();
  }
});
