// Slow readers and slow servers (issue 21, item 1): a connection whose reads would pile up in tenbin
// is read in small pieces (`TcpConn.limitReads`, SO_RCVBUF of that socket), in every direction:
// - a long answer (its reader may fall behind at any moment) on the server's connection;
// - a request body whose server stops draining, on the client's connection;
// - a TCP tunnel whose client stops reading, on the server's connection.
// A short answer read at once, and a short upload, leave the kernel's autotuning alone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import process from "node:process";
import { SLOW_RECEIVE_BUFFER } from "../../src/runtime/socket-types.ts";
import { startL4Tenbin, watchedRuntime } from "../helpers/l4-tenbin.ts";

const big = new Uint8Array(8_000_000).fill(120);
const small = new Uint8Array(100_000).fill(121);
const app = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  fetch: async (req) => (req.method === "POST" ? new Response(String((await req.arrayBuffer()).byteLength)) : new Response(new URL(req.url).pathname === "/big" ? big : small)),
});
// A server that never reads what it is sent (a stuck upload target)...
const sink = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => s.pause(), data() {} } });
// ...and one that sends 16 MB to whoever connects (a TCP download; Bun's write takes what the
// kernel takes, the rest goes on `drain`).
const download = new Uint8Array(16_000_000).fill(123);
const sendOn = (s: Bun.Socket<{ sent: number }>) => {
  while (s.data.sent < download.byteLength) {
    const n = s.write(download, s.data.sent, download.byteLength - s.data.sent);
    if (n <= 0) return;
    s.data.sent += n;
  }
};
const source = Bun.listen<{ sent: number }>({
  hostname: "127.0.0.1",
  port: 0,
  socket: { open: (s) => ((s.data = { sent: 0 }), sendOn(s)), drain: sendOn, data() {} },
});
const { runtime, watch } = watchedRuntime();
let lb: Awaited<ReturnType<typeof startL4Tenbin>>;

beforeAll(async () => {
  lb = await startL4Tenbin(`
admin: { enabled: false }
listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
      - { match: { path: /sink }, pool: sink }
      - { pool: app }
  - { name: tcp, listen: 127.0.0.1:0, mode: tcp, pool: source }
pools:
  app: { servers: [{ url: "http://127.0.0.1:${app.port}" }] }
  sink: { servers: [{ url: "http://127.0.0.1:${sink.port}" }] }
  source: { servers: [{ url: "tcp://127.0.0.1:${source.port}" }] }
`, runtime);
});

afterAll(async () => {
  await lb?.stop();
  app.stop(true);
  sink.stop(true);
  source.stop(true);
});

/** A client that sends `first` and then reads nothing. */
async function stuckClient(port: number, first: Uint8Array | string) {
  const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
  socket.pause();
  socket.write(first);
  return socket;
}

/** Waits (bounded) until `entry` was recorded as limited. */
async function limited(entry: string, timeoutMs = 3000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!watch.limitedReads.includes(entry)) {
    if (performance.now() > deadline) return false;
    await Bun.sleep(5);
  }
  return true;
}

/** The kernel receive buffers (`rb` of `ss -tm`) of the established sockets with `filter`. */
function receiveBuffers(filter: string): number[] {
  const out = Bun.spawnSync(["ss", "-tmnH", "state", "established", filter]).stdout.toString();
  return [...out.matchAll(/\brb(\d+)/g)].map((m) => Number(m[1]));
}
const hasSs = process.platform === "linux" && Bun.which("ss") !== null;

test("a short answer read at once and a short upload leave the receive buffers alone", async () => {
  const web = `http://127.0.0.1:${lb.port("web")}`;
  for (let i = 0; i < 3; i++) expect((await (await fetch(`${web}/small`)).arrayBuffer()).byteLength).toBe(small.byteLength);
  expect(await (await fetch(`${web}/echo`, { method: "POST", body: small })).text()).toBe(String(small.byteLength));
  expect(watch.limitedReads).toEqual([]);
});

test.skipIf(process.platform !== "linux")("a long answer is read from its server in small pieces: SO_RCVBUF set on that connection", async () => {
  const client = await stuckClient(lb.port("web"), "GET /big HTTP/1.1\r\nhost: x\r\n\r\n");
  try {
    expect(await limited(`server:${app.port}`)).toBe(true);
    // The kernel doubles what is set; autotuning starts at tcp_rmem's default (128 KiB) and only grows.
    if (hasSs) expect(receiveBuffers(`dport = :${app.port}`)).toContain(2 * SLOW_RECEIVE_BUFFER);
  } finally {
    client.end();
  }
});

test.skipIf(process.platform !== "linux")("an upload whose server stops draining is read from the client in small pieces", async () => {
  const body = new Uint8Array(8_000_000).fill(122);
  const head = `POST /sink HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.byteLength}\r\n\r\n`;
  const client = await stuckClient(lb.port("web"), Buffer.concat([Buffer.from(head), body]));
  try {
    expect(await limited(`client:${client.localPort}`)).toBe(true);
    if (hasSs) expect(receiveBuffers(`sport = :${lb.port("web")} and dport = :${client.localPort}`)).toEqual([2 * SLOW_RECEIVE_BUFFER]);
  } finally {
    client.end();
  }
});

test.skipIf(process.platform !== "linux")("a TCP tunnel whose client stops reading reads its server in small pieces", async () => {
  const client = await stuckClient(lb.port("tcp"), "hello");
  try {
    expect(await limited(`server:${source.port}`)).toBe(true);
    if (hasSs) expect(receiveBuffers(`dport = :${source.port}`)).toContain(2 * SLOW_RECEIVE_BUFFER);
  } finally {
    client.end();
  }
});
