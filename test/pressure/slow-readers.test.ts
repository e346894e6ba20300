// Slow readers (issue 21, item 1): what tenbin holds for a client that reads slowly is bounded.
// - A server connection made with a receive buffer is read in pieces of about that size, and so is
//   one that carries a long answer by default (Bun reads up to 512 KB per readable event otherwise).
// - An answer streamed from a server is read only as the client side pulls: bytes read from the
//   server and not yet taken by the reader stay within one read.
// - LoadFollower asks for a collection once the connection count moved a lot and held still.
import { afterAll, expect, test } from "bun:test";
import process from "node:process";
import { H1Client } from "../../src/proxy/h1-client/client.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import type { TcpConn, TcpConnectOptions, TcpEvents } from "../../src/runtime/types.ts";
import { LoadFollower } from "../../src/listener/load-follower.ts";
import { SLOW_RECEIVE_BUFFER } from "../../src/runtime/socket-types.ts";

const SIZE = 8_000_000;
const body = new Uint8Array(SIZE).fill(120);
const backend = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch: () => new Response(body) });
afterAll(() => backend.stop(true));

/** connectTcp that records the size of every read the connection hands up. */
function recordingConnect(reads: number[], receiveBuffer?: number) {
  return (options: TcpConnectOptions): Promise<TcpConn> => {
    const inner = options.events;
    const events: TcpEvents = {
      data: (chunk) => (reads.push(chunk.byteLength), inner.data(chunk)),
      drain: () => inner.drain(),
      end: () => inner.end(),
      close: (error) => inner.close(error),
    };
    return bunRuntime.connectTcp({ ...options, events, receiveBuffer });
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

test.skipIf(process.platform !== "linux")("reads from the server are bounded: by a set receive buffer, or by default once a long answer streams; Bun alone reads hundreds of KB", async () => {
  for (const receiveBuffer of [16 * 1024, undefined]) {
    const reads: number[] = [];
    const client = new H1Client({ connectTcp: recordingConnect(reads, receiveBuffer), fallback: () => Promise.reject(new Error("no fallback")) });
    const res = await client.fetch(`${backend.url}x`, { method: "GET" });
    // Let the server fill what the kernel will take before reading: the largest reads come then.
    await Bun.sleep(100);
    let got = 0;
    const reader = res.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) got += r.value.byteLength;
    expect(got).toBe(SIZE);
    client.close();
    // The read that brought the head came before the answer was known to be long.
    expect(Math.max(...reads.slice(1))).toBeLessThanOrEqual(4 * (receiveBuffer ?? SLOW_RECEIVE_BUFFER));
  }
  // The runtime fact the limit is for: the same answer read by Bun with the kernel's autotuning.
  const reads: number[] = [];
  let done: () => void = () => {};
  const closed = new Promise<void>((resolve) => (done = resolve));
  const conn = await bunRuntime.connectTcp({
    hostname: "127.0.0.1",
    port: backend.port!,
    events: { data: (chunk) => void reads.push(chunk.byteLength), drain() {}, end: () => done(), close: () => done() },
  });
  conn.pause();
  conn.write(new TextEncoder().encode("GET /x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
  await Bun.sleep(100);
  conn.resume();
  await Promise.race([closed, Bun.sleep(3000)]);
  conn.destroy();
  expect(sum(reads)).toBeGreaterThan(SIZE);
  expect(Math.max(...reads)).toBeGreaterThan(128 * 1024);
});

test("a streamed answer is read from the server only as the reader pulls", async () => {
  const reads: number[] = [];
  const client = new H1Client({ connectTcp: recordingConnect(reads, 16 * 1024), fallback: () => Promise.reject(new Error("no fallback")) });
  const res = await client.fetch(`${backend.url}x`, { method: "GET" });
  const reader = res.body!.getReader();
  let taken = 0;
  for (let i = 0; i < 5; i++) {
    const { value } = await reader.read();
    taken += value!.byteLength;
    await Bun.sleep(50); // a slow client: the server has all the time to send more
    // Read from the server and not yet taken by the reader: at most the read in hand (the stream
    // pulls nothing ahead; with a 64 KB high-water mark it held 64 KB and more).
    expect(sum(reads) - taken).toBeLessThanOrEqual(Math.max(...reads));
  }
  await reader.cancel();
  client.close();
});

test("LoadFollower: a collection after the count moved a lot and held still, none under steady load", () => {
  let count = 0;
  let released = 0;
  const follower = new LoadFollower(() => count, () => released++);
  const ticks = (values: number[]) => values.map((v) => ((count = v), follower.tick()));
  expect(ticks([0, 5, 6, 5])).toEqual([false, false, false, false]); // small moves
  expect(ticks([150, 200, 201])).toEqual([false, false, true]); // a crowd arrived, then held
  expect(ticks([201, 199, 203])).toEqual([false, false, false]); // steady
  expect(ticks([20, 3, 3])).toEqual([false, false, true]); // it left
  expect(released).toBe(2);
});

test("LoadFollower: a collection also once the connections blocked on slow peers moved a lot and held still", () => {
  const open = 200;
  let blocked = 0;
  let released = 0;
  const follower = new LoadFollower(() => open, () => released++, undefined, () => blocked);
  const ticks = (values: number[]) => values.map((v) => ((blocked = v), follower.tick()));
  expect(ticks([0, 0])).toEqual([false, true]); // the crowd of 200 arrived (open count), still filling
  expect(ticks([120, 200, 201])).toEqual([false, false, true]); // its readers are full, then held
  expect(ticks([201, 198, 200])).toEqual([false, false, false]); // steady: nothing
  expect(released).toBe(2);
});

test("LoadFollower: one collection after a burst of reloads, once they stopped", async () => {
  let released = 0;
  const follower = new LoadFollower(() => 0, () => released++, 300);
  for (let i = 0; i < 5; i++) {
    follower.reloaded();
    await Bun.sleep(5);
  }
  expect(released).toBe(0); // still reloading: each reload pushed the collection back
  for (let i = 0; i < 100 && released === 0; i++) await Bun.sleep(10);
  await Bun.sleep(350);
  expect(released).toBe(1);
  follower.reloaded();
  follower.stop(); // a stopped follower collects nothing more
  await Bun.sleep(350);
  expect(released).toBe(1);
});
