/** `Pool.acquire/release`: max_conns, the bounded queue, arrival order, pinned requests. */
import { describe, expect, test } from "bun:test";
import { ctx, makePool, queued, settle, take } from "./pool-support.ts";

describe("Pool queue", () => {
  test("a free server is handed out at once and counted in flight until released", () => {
    const { pool, servers } = makePool([{ max_conns: 1 }]);
    const server = take(pool);
    expect(server).toBe(servers[0]!);
    expect(server.inFlight).toBe(1);
    pool.release(server);
    expect(server.inFlight).toBe(0);
  });

  test("waiting requests are served in arrival order as servers free up", async () => {
    const { pool, servers } = makePool([{ max_conns: 1 }, { max_conns: 1 }]);
    const held = [take(pool), take(pool)];
    const order: number[] = [];
    const waiters = [1, 2, 3, 4].map((n) => {
      const pending = pool.acquire(ctx());
      // Callbacks run in the order the waiters were settled.
      if (pending instanceof Promise) void pending.then(() => order.push(n));
      return queued(pending);
    });
    expect(pool.queued).toBe(4);
    pool.release(held[1]!);
    await settle();
    await settle();
    expect(order).toEqual([1]);
    expect(waiters[0]!.result).toBe(servers[1]!);
    pool.release(held[0]!);
    await settle();
    await settle();
    expect(order).toEqual([1, 2]);
    expect(waiters[1]!.result).toBe(servers[0]!);
    pool.release(servers[0]!);
    pool.release(servers[1]!);
    await settle();
    await settle();
    expect(order).toEqual([1, 2, 3, 4]);
    expect(pool.queued).toBe(0);
    // Never more than max_conns at once.
    expect(servers.map((s) => s.inFlight)).toEqual([1, 1]);
  });

  test("beyond max_queue: queue_full at once", async () => {
    const { pool, servers } = makePool([{ max_conns: 1 }], { max_queue: 2 });
    const held = take(pool);
    const a = queued(pool.acquire(ctx()));
    const b = queued(pool.acquire(ctx()));
    expect(pool.acquire(ctx())).toBe("queue_full");
    pool.release(held);
    await settle();
    expect(a.result).toBe(servers[0]!);
    // A place in the queue is free again.
    const c = queued(pool.acquire(ctx()));
    pool.release(held);
    pool.release(held);
    await settle();
    expect([b.result, c.result]).toEqual([servers[0]!, servers[0]!]);
  });

  test("max_queue 0: no waiting at all", () => {
    const { pool } = makePool([{ max_conns: 1 }], { max_queue: 0 });
    take(pool);
    expect(pool.acquire(ctx())).toBe("queue_full");
  });

  test("a request still waiting at queue_timeout gets queue_timeout", async () => {
    const { pool } = makePool([{ max_conns: 1 }], { queue_timeout: "30ms" });
    take(pool);
    const started = performance.now();
    const result = await pool.acquire(ctx());
    expect(result).toBe("queue_timeout");
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(pool.queued).toBe(0);
  });

  test("an aborted request leaves the queue", async () => {
    const { pool } = makePool([{ max_conns: 1 }]);
    take(pool);
    const controller = new AbortController();
    const pending = pool.acquire(ctx(), controller.signal);
    expect(pool.queued).toBe(1);
    controller.abort();
    expect(await pending).toBe("aborted");
    expect(pool.queued).toBe(0);
  });

  test("no usable server: unavailable at once, and waiters fail when the last usable server goes", async () => {
    const { pool, servers } = makePool([{ max_conns: 1 }]);
    const held = take(pool);
    const waiter = queued(pool.acquire(ctx()));
    servers[0]!.healthy = false;
    expect(pool.acquire(ctx())).toBe("unavailable");
    pool.wake(); // what a health change does
    await settle();
    expect(waiter.result).toBe("unavailable");
    pool.release(held);
  });

  test("a server freed without a release (re-enabled) goes to the oldest waiter, not to a newcomer", async () => {
    const { pool, servers } = makePool([{ max_conns: 1 }, { max_conns: 1 }]);
    servers[1]!.disabled = true;
    const held = take(pool);
    const first = queued(pool.acquire(ctx()));
    servers[1]!.disabled = false; // an admin enable: nobody calls wake
    const second = queued(pool.acquire(ctx()));
    await settle();
    expect(first.result).toBe(servers[1]!);
    expect(second.result).toBeUndefined();
    pool.release(held);
    await settle();
    expect(second.result).toBe(servers[0]!);
  });

  test("stop() keeps waiting requests: they are served by releases still to come", async () => {
    const { pool, servers } = makePool([{ max_conns: 1 }]);
    const held = take(pool);
    const waiter = queued(pool.acquire(ctx()));
    pool.stop();
    pool.release(held);
    await settle();
    expect(waiter.result).toBe(servers[0]!);
  });
});

describe("Pool queue with pinned requests", () => {
  test("a request pinned to a full server waits for it; an unpinned one takes a free server at once", async () => {
    const { pool, servers } = makePool([{ max_conns: 1 }, { max_conns: 1 }]);
    const [a, b] = servers as [typeof servers[0], typeof servers[0]];
    const heldA = take(pool, ctx("192.0.2.1", { pinned: a }));
    expect(heldA).toBe(a);
    const sticky = queued(pool.acquire(ctx("192.0.2.1", { pinned: a })));
    // Not held up behind the pinned waiter.
    expect(take(pool, ctx("192.0.2.2"))).toBe(b);
    expect(b.inFlight).toBe(1);
    pool.release(b);
    await settle();
    expect(sticky.result).toBeUndefined(); // b freed, but the sticky request waits for a
    pool.release(heldA);
    await settle();
    expect(sticky.result).toBe(a);
    expect(a.inFlight).toBe(1);
  });

  test("a pinned waiter whose server goes down is balanced to another server", async () => {
    const { pool, servers } = makePool([{ max_conns: 1 }, { max_conns: 1 }]);
    const [a, b] = servers as [typeof servers[0], typeof servers[0]];
    take(pool, ctx("192.0.2.1", { pinned: a }));
    const heldB = take(pool, ctx("192.0.2.2", { pinned: b }));
    const sticky = queued(pool.acquire(ctx("192.0.2.1", { pinned: a })));
    a.healthy = false;
    pool.release(heldB);
    await settle();
    expect(sticky.result).toBe(b);
  });

  test("a pinned request never goes to a server it already tried", () => {
    const { pool, servers } = makePool([{}, {}]);
    const [a, b] = servers as [typeof servers[0], typeof servers[0]];
    expect(take(pool, ctx("192.0.2.1", { pinned: a, exclude: new Set([a]) }))).toBe(b);
    expect(pool.acquire(ctx("192.0.2.1", { pinned: a, exclude: new Set([a, b]) }))).toBe("unavailable");
  });
});
