/** End to end: per-server `max_conns`, the bounded queue and its timeout, with slow real backends. */
import { afterAll, describe, expect, test } from "bun:test";
import { startTenbinInProcess } from "../helpers/tenbin.ts";
import { appPoolYaml, CookieJar, get, namedBackend, stopAll, tally } from "./pools-support.ts";

const a = namedBackend("a", 200);
const b = namedBackend("b", 200);
afterAll(() => stopAll([a, b]));

const yaml = appPoolYaml;

describe("queue", () => {
  test("max_conns 2 × 2 servers, max_queue 3, 10 clients: 4 served at once, 3 wait, 3 get 503", async () => {
    const t = await startTenbinInProcess(yaml(`
    max_queue: 3
    queue_timeout: 5s
    servers:
      - { url: "${a.url}", max_conns: 2 }
      - { url: "${b.url}", max_conns: 2 }`));
    const before = { a: a.requests, b: b.requests };
    try {
      const results = await Promise.all(Array.from({ length: 10 }, () => get(t.url("/"))));
      expect(tally(results.map((r) => String(r.status)))).toEqual({ "200": 7, "503": 3 });
      for (const r of results.filter((r) => r.status === 503)) expect(r.body).toContain("Service unavailable");
      // Never more than max_conns at a backend, and both were filled.
      expect(a.maxInFlight).toBe(2);
      expect(b.maxInFlight).toBe(2);
      expect(a.requests - before.a + b.requests - before.b).toBe(7);
      expect(t.logger.lines.filter((l) => l.includes("reason=queue_full")).length).toBe(3);
      expect(t.tenbin.pools.get("app")!.queued).toBe(0);
    } finally {
      await t.stop();
    }
  });

  test("a request still queued after queue_timeout gets 503", async () => {
    const slow = namedBackend("slow", 600);
    const t = await startTenbinInProcess(yaml(`
    queue_timeout: 100ms
    servers: [{ url: "${slow.url}", max_conns: 1 }]`));
    try {
      const first = get(t.url("/"));
      await new Promise((r) => setTimeout(r, 20));
      const started = performance.now();
      const second = await get(t.url("/"));
      const waited = performance.now() - started;
      expect(second.status).toBe(503);
      expect(waited).toBeGreaterThanOrEqual(90);
      expect(waited).toBeLessThan(500);
      expect((await first).body).toBe("slow");
      expect(slow.requests).toBe(1);
      expect(t.logger.lines.some((l) => l.includes("reason=queue_timeout"))).toBe(true);
    } finally {
      await t.stop();
      await slow.stop();
    }
  });

  test("sticky requests wait for their full server instead of overflowing to another", async () => {
    const x = namedBackend("x", 150);
    const y = namedBackend("y", 150);
    const t = await startTenbinInProcess(yaml(`
    sticky: { cookie: { name: srv, key: k } }
    servers:
      - { url: "${x.url}", max_conns: 1 }
      - { url: "${y.url}", max_conns: 1 }`));
    try {
      const jar = new CookieJar("srv");
      const pinnedTo = (await jar.fetch(t.url("/"))).body;
      const results = await Promise.all(Array.from({ length: 3 }, () => jar.fetch(t.url("/"))));
      expect(results.map((r) => r.body)).toEqual([pinnedTo, pinnedTo, pinnedTo]);
      const [pinned, other] = pinnedTo === "x" ? [x, y] : [y, x];
      expect(pinned.maxInFlight).toBe(1);
      expect(pinned.requests).toBe(4);
      expect(other.requests).toBe(0);
      // A client without the cookie is not held up behind the waiting sticky ones (the first
      // sticky one ends ~380 ms after it starts).
      const jar2 = new CookieJar("srv");
      const sticky = Array.from({ length: 2 }, () => jar.fetch(t.url("/?delay=400")));
      await new Promise((r) => setTimeout(r, 20));
      const started = performance.now();
      expect((await jar2.fetch(t.url("/?delay=0"))).body).toBe(other === x ? "x" : "y");
      expect(performance.now() - started).toBeLessThan(250);
      await Promise.all(sticky);
    } finally {
      await t.stop();
      await stopAll([x, y]);
    }
  });
});
