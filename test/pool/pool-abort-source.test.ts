/** `Pool.acquire` with the client's Request as the abort source: its signal is read only to queue. */
import { expect, test } from "bun:test";
import { ctx, makePool, take } from "./pool-support.ts";

/** A Request stand-in counting reads of its signal. */
function client() {
  const gone = new AbortController();
  let reads = 0;
  return { req: { get signal() { reads++; return gone.signal; } }, leave: () => gone.abort(), reads: () => reads };
}

test("a request served at once never reads its signal", () => {
  const { pool } = makePool([{ max_conns: 1 }]);
  const c = client();
  expect(pool.acquire(ctx(), c.req)).not.toBeInstanceOf(Promise);
  expect(c.reads()).toBe(0);
});

test("a queued request leaves the queue when its client goes away", async () => {
  const { pool } = makePool([{ max_conns: 1 }]);
  take(pool);
  const c = client();
  const pending = pool.acquire(ctx(), c.req);
  expect(pool.queued).toBe(1);
  expect(c.reads()).toBeGreaterThan(0);
  c.leave();
  expect(await pending).toBe("aborted");
  expect(pool.queued).toBe(0);
});

test("a client already gone is not queued", () => {
  const { pool } = makePool([{ max_conns: 1 }]);
  take(pool);
  const c = client();
  c.leave();
  expect(pool.acquire(ctx(), c.req)).toBe("aborted");
  expect(pool.queued).toBe(0);
});
