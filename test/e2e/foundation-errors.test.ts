/**
 * The answers tenbin makes itself — 502, 503, 504, 413, 404 — each with the request id in the body
 * and in `X-Request-Id`, and tenbin still serving afterwards.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { startRawBackend, type RawBackend } from "../helpers/backend-process.ts";
import { closedPort, type HttpBackend, startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let app: HttpBackend;
let raw: RawBackend;
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;

beforeAll(async () => {
  app = startHttpBackend(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/slow") await new Promise((r) => setTimeout(r, 1000));
    if (req.body) return new Response(`got ${(await req.arrayBuffer()).byteLength}`);
    return new Response("ok");
  });
  raw = await startRawBackend();
  t = await startTenbinInProcess(`
listeners:
  - name: web
    listen: 127.0.0.1:0
    max_body: 64KiB
    routes:
      - { match: { path: /refused }, pool: refused }
      - { match: { path: /reset }, pool: reset }
      - { match: { path: /drained }, pool: drained }
      - { match: { path: /slow }, pool: slow }
      - { match: { path: /app/ }, pool: app }
pools:
  refused: { servers: [{ url: "http://127.0.0.1:${closedPort()}" }, { url: "http://127.0.0.1:${closedPort()}" }] }
  reset: { servers: [{ url: "${raw.url}" }] }
  drained: { servers: [{ url: "${app.url}", drain: true }, { url: "${raw.url}", drain: true }] }
  slow: { servers: [{ url: "${app.url}" }], timeouts: { response: 150ms }, retries: 0 }
  app: { servers: [{ url: "${app.url}" }] }
`);
});

afterAll(async () => {
  await t?.stop();
  await app?.stop();
  await raw?.stop();
});

/** Checks a tenbin-made error: status, reason, and the same UUID in the header and the body. */
async function expectError(res: Response, status: number, reason: RegExp): Promise<void> {
  expect(res.status).toBe(status);
  const id = res.headers.get("x-request-id") ?? "";
  expect(id).toMatch(UUID);
  const body = await res.text();
  expect(body).toMatch(reason);
  expect(body).toContain(`request id: ${id}`);
}

test("404 when no route matches", async () => {
  await expectError(await fetch(t.url("/nowhere")), 404, /No route/);
});

test("502 when every server refuses the connection", async () => {
  await expectError(await fetch(t.url("/refused")), 502, /Bad gateway/);
});

test("502 when the server resets the connection", async () => {
  const before = raw.seen.length;
  await expectError(await fetch(t.url("/reset")), 502, /Bad gateway/);
  expect(raw.seen.length).toBe(before + 1); // one server, so no second try
});

test("503 when every server of the pool is drained", async () => {
  const before = [app.requests, raw.seen.length];
  await expectError(await fetch(t.url("/drained")), 503, /Service unavailable/);
  expect([app.requests, raw.seen.length]).toEqual(before);
});

test("504 when the server answers later than timeouts.response", async () => {
  const started = performance.now();
  await expectError(await fetch(t.url("/slow")), 504, /Gateway timeout/);
  expect(performance.now() - started).toBeLessThan(900);
});

test("413 for a declared Content-Length over max_body; the body is not forwarded", async () => {
  const before = app.requests;
  const res = await fetch(t.url("/app/upload"), { method: "POST", body: new Uint8Array(64 * 1024 + 1) });
  await expectError(res, 413, /too large/);
  expect(app.requests).toBe(before);
  const ok = await fetch(t.url("/app/upload"), { method: "POST", body: new Uint8Array(64 * 1024) });
  expect(await ok.text()).toBe(`got ${64 * 1024}`);
});

/** Sends a chunked upload of `total` bytes over a raw socket; resolves with what came back (bounded). */
function chunkedUpload(port: number, total: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and no close within 5s; got ${JSON.stringify(reply)}`));
    }, 5000);
    socket.on("data", (d) => (reply += d.toString("latin1")));
    socket.on("error", () => undefined); // a reset counts as a close
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(reply);
    });
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
    const chunk = 16 * 1024;
    let sent = 0;
    const pump = () => {
      while (sent < total && !socket.destroyed) {
        const n = Math.min(chunk, total - sent);
        sent += n;
        const more = socket.write(`${n.toString(16)}\r\n${"x".repeat(n)}\r\n`);
        if (!more) return void socket.once("drain", pump);
      }
      if (!socket.destroyed) socket.write("0\r\n\r\n");
    };
    pump();
  });
}

test("a 413 for a declared length closes the connection instead of reading the rest of the body", async () => {
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect(t.port(), "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`not closed within 5s; got ${JSON.stringify(text)}`))), 5000);
    socket.on("data", (d) => (text += d.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => (clearTimeout(timer), resolve(text)));
    // Declares 64 MiB, sends 256 KiB of it, then waits: no keep-alive client should stall on this.
    socket.write(`POST /app/upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
    socket.write(Buffer.alloc(256 * 1024, 120));
  });
  expect(reply).toStartWith("HTTP/1.1 413");
  expect(reply).toMatch(/\r\nconnection: close\r\n/i);
});

test("a chunked upload over max_body gets a 413 with the request id, never a hang; tenbin serves on", async () => {
  const before = app.requests;
  const reply = await chunkedUpload(t.port(), 1024 * 1024, "/app/chunked");
  // tenbin counts the stream and answers 413 itself (Bun's own limit would answer without an id).
  expect(reply).toStartWith("HTTP/1.1 413");
  const id = /x-request-id: (\S+)/i.exec(reply)?.[1] ?? "";
  expect(id).toMatch(UUID);
  expect(reply).toContain(`request id: ${id}`);
  // A chunked body nobody reads (no route) neither hangs nor is buffered.
  expect(await chunkedUpload(t.port(), 4 * 1024 * 1024, "/nowhere")).toStartWith("HTTP/1.1 404");
  // Under the limit, chunked uploads pass.
  const small = await chunkedUpload(t.port(), 32 * 1024, "/app/chunked");
  expect(small).toStartWith("HTTP/1.1 200");
  expect(small).toContain(`got ${32 * 1024}`);
  expect(app.requests).toBeLessThanOrEqual(before + 2);
  expect((await fetch(t.url("/app/after"))).status).toBe(200);
});
