// Slow readers and slow servers (issue 21, item 1): a connection whose reads would pile up in tenbin
// is read in small pieces (`TcpConn.limitReads`, SO_RCVBUF of that socket), in every direction:
// - a long answer (its reader may fall behind at any moment) on the server's connection;
// - a request body whose server stops draining, on the client's connection;
// - a TCP tunnel whose client stops reading, on the server's connection.
// A short answer read at once, and a short upload, leave the kernel's autotuning alone.
import { afterAll, beforeAll, expect, test } from "bun:test";
import process from "node:process";
import { SLOW_RECEIVE_BUFFER } from "../../src/runtime/socket-types.ts";
import { startSlowPeers } from "../helpers/slow-peers.ts";

const big = new Uint8Array(8_000_000).fill(120);
const small = new Uint8Array(100_000).fill(121);
let peers: Awaited<ReturnType<typeof startSlowPeers>>;

beforeAll(async () => {
  // The answer server echoes the length of a POST's body, else answers /big or a short answer; the
  // TCP server sends 16 MB (a download).
  peers = await startSlowPeers(
    async (req) => (req.method === "POST" ? new Response(String((await req.arrayBuffer()).byteLength)) : new Response(new URL(req.url).pathname === "/big" ? big : small)),
    new Uint8Array(16_000_000).fill(123),
  );
});

afterAll(async () => {
  await peers?.stop();
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
  while (!peers.watch.limitedReads.includes(entry)) {
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
  const web = `http://127.0.0.1:${peers.lb.port("web")}`;
  for (let i = 0; i < 3; i++) expect((await (await fetch(`${web}/small`)).arrayBuffer()).byteLength).toBe(small.byteLength);
  expect(await (await fetch(`${web}/echo`, { method: "POST", body: small })).text()).toBe(String(small.byteLength));
  expect(peers.watch.limitedReads).toEqual([]);
});

test.skipIf(process.platform !== "linux")("a long answer is read from its server in small pieces: SO_RCVBUF set on that connection", async () => {
  const client = await stuckClient(peers.lb.port("web"), "GET /big HTTP/1.1\r\nhost: x\r\n\r\n");
  try {
    expect(await limited(`server:${peers.app.port}`)).toBe(true);
    // The kernel doubles what is set; autotuning starts at tcp_rmem's default (128 KiB) and only grows.
    if (hasSs) expect(receiveBuffers(`dport = :${peers.app.port}`)).toContain(2 * SLOW_RECEIVE_BUFFER);
  } finally {
    client.end();
  }
});

test.skipIf(process.platform !== "linux")("an upload whose server stops draining is read from the client in small pieces", async () => {
  const body = new Uint8Array(8_000_000).fill(122);
  const head = `POST /sink HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.byteLength}\r\n\r\n`;
  const client = await stuckClient(peers.lb.port("web"), Buffer.concat([Buffer.from(head), body]));
  try {
    expect(await limited(`client:${client.localPort}`)).toBe(true);
    if (hasSs) expect(receiveBuffers(`sport = :${peers.lb.port("web")} and dport = :${client.localPort}`)).toEqual([2 * SLOW_RECEIVE_BUFFER]);
  } finally {
    client.end();
  }
});

test.skipIf(process.platform !== "linux")("a TCP tunnel whose client stops reading reads its server in small pieces", async () => {
  const client = await stuckClient(peers.lb.port("tcp"), "hello");
  try {
    expect(await limited(`server:${peers.source.port}`)).toBe(true);
    if (hasSs) expect(receiveBuffers(`dport = :${peers.source.port}`)).toContain(2 * SLOW_RECEIVE_BUFFER);
  } finally {
    client.end();
  }
});
