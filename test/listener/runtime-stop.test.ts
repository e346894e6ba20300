// The runtimes' HTTP servers (Bun.serve, Deno.serve) on a graceful stop: both close idle keep-alive
// connections at once, so runtime/quiet-stop.ts keeps recently used ones from losing a request that
// is already on its way (as tenbin's own server does, test/listener/h1-server.test.ts).
import { afterEach, expect, test } from "bun:test";
import { createConnection, type Socket } from "node:net";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { type HttpServer, STOP_QUIET_MS } from "../../src/runtime/types.ts";
import { DENO, ROOT, writeConfig } from "../helpers/tenbin.ts";

const open: Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

/** A raw keep-alive client: what it received, and whether the server closed it. */
async function client(port: number) {
  const sock = createConnection({ host: "127.0.0.1", port });
  open.push(sock);
  const state = { text: "", ended: false };
  sock.on("data", (d: Buffer) => (state.text += d.toString("latin1")));
  sock.on("close", () => (state.ended = true));
  sock.on("error", () => {});
  await new Promise((resolve, reject) => (sock.once("connect", resolve), sock.once("error", reject)));
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 300 && !ok(); i++) await Bun.sleep(10);
    if (!ok()) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(state.text)}`);
  };
  return { sock, state, until, answers: () => state.text.match(/HTTP\/1\.1 200/g)?.length ?? 0 };
}

function serve(): Promise<HttpServer> {
  return bunRuntime.serveHttp({ hostname: "127.0.0.1", port: 0, handler: async () => new Response("ok") });
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: t.test\r\n\r\n`;

test("stop(): a connection used just before answers the request already on its way, with connection: close", async () => {
  const server = await serve();
  const c = await client(server.port);
  c.sock.write(GET("/first"));
  await c.until("the first answer", () => c.answers() === 1);
  const stopping = server.stop();
  c.sock.write(GET("/second")); // on its way as the server stops
  await c.until("the second answer and the close", () => c.answers() === 2 && c.state.ended);
  expect(c.state.text.split("HTTP/1.1 200")[2]).toMatch(/\r\nconnection: close\r\n/i);
  await stopping;
});

test("stop(): connections quiet for STOP_QUIET_MS close at once", async () => {
  const server = await serve();
  const c = await client(server.port);
  c.sock.write(GET("/first"));
  await c.until("the first answer", () => c.answers() === 1);
  await Bun.sleep(STOP_QUIET_MS + 50);
  const started = performance.now();
  await server.stop();
  await c.until("the close", () => c.state.ended);
  expect(performance.now() - started).toBeLessThan(STOP_QUIET_MS);
});

test("the same on Deno.serve: the request on its way is answered with connection: close", async () => {
  // A script run by Deno: it serves on denoRuntime, sends the first request, starts the stop, sends
  // the second request at once, and prints what the client got.
  const script = writeConfig(`
import { createConnection } from "node:net";
import { denoRuntime } from "${ROOT}/src/runtime/deno.ts";
const server = await denoRuntime.serveHttp({ hostname: "127.0.0.1", port: 0, handler: async () => new Response("ok") });
const sock = createConnection({ host: "127.0.0.1", port: server.port });
let text = "", ended = false;
sock.on("data", (d) => (text += d.toString("latin1")));
sock.on("close", () => (ended = true));
sock.on("error", () => {});
await new Promise((resolve) => sock.once("connect", resolve));
const wait = async (ok) => { for (let i = 0; i < 300 && !ok(); i++) await new Promise((r) => setTimeout(r, 10)); };
sock.write("GET /first HTTP/1.1\\r\\nHost: t.test\\r\\n\\r\\n");
await wait(() => text.includes("ok"));
const stopping = server.stop();
sock.write("GET /second HTTP/1.1\\r\\nHost: t.test\\r\\n\\r\\n");
await wait(() => ended);
await stopping;
console.log(JSON.stringify({ answers: (text.match(/HTTP\\/1\\.1 200/g) ?? []).length, close: /\\r\\nconnection: close\\r\\n/i.test(text), ended }));
Deno.exit(0);
`, "deno-stop.ts");
  const run = Bun.spawn([DENO, "run", "-A", "--no-check", script], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const timer = setTimeout(() => run.kill(), 20_000);
  const [out, err] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text()]);
  clearTimeout(timer);
  expect(await run.exited, err).toBe(0);
  expect(JSON.parse(out.trim().split("\n").at(-1) ?? "{}")).toEqual({ answers: 2, close: true, ended: true });
}, 30_000);
