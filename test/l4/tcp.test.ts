/**
 * TCP listeners end to end on loopback: tenbin in this process (or, for the heavy stream test, in
 * its own process, so the proxy has a core of its own), echo servers and clients on Bun sockets.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { seededRandom } from "../../src/util/clock.ts";
import { expectedHash, startEchoServer, streamThrough } from "../helpers/l4-backends.ts";
import { startCountAfterFinServer } from "../helpers/l4-servers.ts";
import { startL4Tenbin, textClient, watchedRuntime } from "../helpers/l4-tenbin.ts";
import { closedPort } from "../helpers/health-backends.ts";
import { startTenbin } from "../helpers/tenbin.ts";

const MB = 1024 * 1024;
const source = crypto.getRandomValues(new Uint8Array(4 * MB + 17));
const echo = startEchoServer();
afterAll(() => echo.kill());

const tcpConfig = (servers: string, extra = "", listener = "") => `
admin: { enabled: false }
listeners:
  - { name: l4, listen: 127.0.0.1:0, mode: tcp, pool: p${listener} }
pools:
  p: { servers: [${servers}]${extra} }
`;
const url = (port: number) => `{ url: "tcp://127.0.0.1:${port}" }`;

describe("tcp: bytes both ways", () => {
  test("50 connections each send and get back 5 MB in random chunks; SHA-256 match end to end", async () => {
    const t = await startTenbin(tcpConfig(url(echo.port)), { listeners: 1 });
    try {
      const port = t.port("l4");
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          streamThrough({ port, bytes: 5 * MB, source, offset: i * 7919, random: seededRandom(i + 1), timeoutMs: 40_000 })),
      );
      const ms = performance.now() - started;
      console.log(`50 × 5 MB both ways through tenbin: ${Math.round(ms)} ms (${Math.round((500 * 1000) / ms)} MB/s through the proxy)`);
      results.forEach((r, i) => {
        expect({ i, error: r.error, sent: r.sent, received: r.received }).toEqual({ i, error: undefined, sent: 5 * MB, received: 5 * MB });
        expect(r.receivedHash).toBe(expectedHash(source, i * 7919, 5 * MB));
        expect(r.sentHash).toBe(r.receivedHash);
      });
    } finally {
      expect(await t.stop()).toBe(0);
    }
  }, 60_000);

  test("a slow reader: backpressure reaches the sender and the proxy never queues more than a chunk or two", async () => {
    const { runtime, watch } = watchedRuntime();
    const t = await startL4Tenbin(tcpConfig(url(echo.port)), runtime);
    try {
      let socket: Bun.Socket<undefined> | undefined;
      const reading = streamThrough({
        port: t.port("l4"), bytes: 48 * MB, source, offset: 3, random: seededRandom(7),
        onOpen: (s) => {
          socket = s;
          s.pause(); // reads nothing at first, then a little at a time
        },
      });
      // Backpressure reaches the proxy: a short write, or (where the kernel says so) no room left.
      for (let i = 0; i < 400 && watch.refusedWrites + watch.roomWaits === 0; i++) await Bun.sleep(5);
      expect(watch.refusedWrites + watch.roomWaits).toBeGreaterThan(0);
      let slowly = true;
      const slow = setInterval(() => {
        socket?.resume();
        setTimeout(() => slowly && socket?.pause(), 2);
      }, 10);
      await Bun.sleep(200);
      slowly = false;
      clearInterval(slow);
      socket?.resume();
      const r = await reading;
      expect(r.error).toBeUndefined();
      expect(r.receivedHash).toBe(expectedHash(source, 3, 48 * MB));
      // Without honouring write()'s false, the queue would grow toward the 48 MB sent.
      expect(watch.maxPending).toBeLessThan(2 * MB);
    } finally {
      await t.stop();
    }
  }, 30_000);

  test("half-close: a client that shuts its write side still gets the reply", async () => {
    const counter = startCountAfterFinServer();
    const t = await startL4Tenbin(tcpConfig(url(counter.port)));
    try {
      const client = await textClient(t.port("l4"), "x".repeat(100_000));
      client.socket.shutdown();
      expect(await client.until((text, closed) => closed)).toBe("bytes=100000");
    } finally {
      await t.stop();
      counter.kill();
    }
  });

  test("a backend killed mid-stream closes the client", async () => {
    const victim = startEchoServer();
    const t = await startL4Tenbin(tcpConfig(url(victim.port)));
    try {
      const stream = streamThrough({ port: t.port("l4"), bytes: 400 * MB, source, offset: 0, random: seededRandom(3), timeoutMs: 10_000 });
      for (let i = 0; i < 400 && victim.active === 0; i++) await Bun.sleep(5);
      await Bun.sleep(20);
      victim.kill();
      const r = await stream;
      expect(r.error).toMatch(/^closed/);
      expect(r.sent).toBeLessThan(400 * MB);
      expect(r.ms).toBeLessThan(5_000);
    } finally {
      await t.stop();
    }
  });
});

describe("tcp: choosing and reaching a server", () => {
  test("a refused connect is retried on the next server before any byte is sent", async () => {
    const dead = closedPort();
    const t = await startL4Tenbin(tcpConfig(`${url(dead)}, ${url(echo.port)}`, ", retries: 1"));
    try {
      for (let i = 0; i < 4; i++) {
        const client = await textClient(t.port("l4"), `hello ${i}`);
        expect(await client.until((text) => text === `hello ${i}`)).toBe(`hello ${i}`);
        client.socket.end();
      }
      const deadServer = t.tenbin.pools.get("p")!.servers[0]!;
      expect(deadServer.failures).toBeGreaterThan(0);
      expect(t.logger.lines.some((l) => l.includes("ECONNREFUSED"))).toBe(true);
    } finally {
      await t.stop();
    }
  });

  test("a connect that hangs times out after timeouts.connect and goes to the next server", async () => {
    const blackhole = closedPort();
    const { runtime, watch } = watchedRuntime([blackhole]);
    const t = await startL4Tenbin(tcpConfig(`${url(blackhole)}, ${url(echo.port)}`, ", retries: 1, timeouts: { connect: 150ms }"), runtime);
    try {
      const started = performance.now();
      const client = await textClient(t.port("l4"), "early bytes wait for the connect");
      await client.until((text) => text === "early bytes wait for the connect");
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      expect(watch.connects.get(blackhole)).toBe(1);
      expect(t.logger.lines.some((l) => l.includes("connect timeout after 150ms"))).toBe(true);
      client.socket.end();
    } finally {
      await t.stop();
    }
  });

  test("no server left: the client is closed and the failure logged", async () => {
    const t = await startL4Tenbin(tcpConfig(url(closedPort()), ", retries: 0"));
    try {
      const client = await textClient(t.port("l4"), "anyone?");
      await client.until((_text, closed) => closed);
      expect(client.text).toBe("");
      expect(t.logger.lines.some((l) => l.includes("closed connection from 127.0.0.1"))).toBe(true);
    } finally {
      await t.stop();
    }
  });
});

describe("tcp: limits", () => {
  test("idle_timeout closes a quiet connection; traffic keeps one open", async () => {
    const t = await startL4Tenbin(tcpConfig(url(echo.port), "", ", idle_timeout: 300ms"));
    try {
      const quiet = await textClient(t.port("l4"), "a");
      const busy = await textClient(t.port("l4"), "b");
      for (let i = 0; i < 6; i++) {
        await Bun.sleep(100);
        busy.socket.write("b");
      }
      await quiet.until((_t, closed) => closed, 2000);
      expect(busy.closed).toBe(false);
      expect(await busy.until((text) => text.length === 7)).toBe("bbbbbbb");
      busy.socket.end();
    } finally {
      await t.stop();
    }
  });

  test("max_conns on the listener closes connections beyond it at accept", async () => {
    const t = await startL4Tenbin(tcpConfig(url(echo.port), "", ", max_conns: 2"));
    try {
      const a = await textClient(t.port("l4"), "a");
      const b = await textClient(t.port("l4"), "b");
      await a.until((text) => text === "a");
      await b.until((text) => text === "b");
      const c = await textClient(t.port("l4"), "c");
      await c.until((_t, closed) => closed);
      expect(c.text).toBe("");
      expect(t.tenbin.l4Stats.get("l4")).toMatchObject({ accepted: 3, refused: 1 });
      // Half-close: the echo's FIN comes back only once tenbin has ended the session.
      a.socket.shutdown();
      await a.until((_t, closed) => closed);
      const d = await textClient(t.port("l4"), "d");
      expect(await d.until((text) => text === "d")).toBe("d");
      b.socket.end();
      d.socket.end();
    } finally {
      await t.stop();
    }
  });

  test("max_conns on a server queues the next connection until one closes", async () => {
    const t = await startL4Tenbin(tcpConfig(`{ url: "tcp://127.0.0.1:${echo.port}", max_conns: 1 }`, ", queue_timeout: 2s"));
    try {
      const first = await textClient(t.port("l4"), "first");
      await first.until((text) => text === "first");
      const second = await textClient(t.port("l4"), "second");
      await Bun.sleep(100); // the queued connection must not be served meanwhile
      expect(second.text).toBe("");
      first.socket.end();
      expect(await second.until((text) => text === "second")).toBe("second");
      second.socket.end();
    } finally {
      await t.stop();
    }
  });
});
