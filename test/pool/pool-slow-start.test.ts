/** `slow_start` through a Pool with round robin, on a FakeClock: a server coming up ramps its share. */
import { describe, expect, test } from "bun:test";
import type { ServerState } from "../../src/pool/server-state.ts";
import { SNAPSHOT_MS } from "../../src/pool/balance/snapshot.ts";
import { ctx, makePool, take } from "./pool-support.ts";

/** Share of `server` over `n` requests through the pool (each released at once). */
function shareOf(pool: ReturnType<typeof makePool>["pool"], server: ServerState, n = 2000): number {
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const got = take(pool, ctx());
    if (got === server) hits++;
    pool.release(got);
  }
  return hits / n;
}

describe("slow start", () => {
  test("a server back from an ejection ramps from ~5% of its weight to its full share", () => {
    const { pool, servers, clock } = makePool([{}, {}], {
      slow_start: "10s",
      outlier: { consecutive_failures: 1, eject_for: "1s" },
    });
    const [a, b] = servers as [ServerState, ServerState];
    expect(shareOf(pool, b)).toBeCloseTo(0.5, 2);
    pool.passive!.onFailure(b, "connect ECONNREFUSED");
    clock.advance(SNAPSHOT_MS);
    expect(shareOf(pool, b)).toBe(0);
    // Ejection over: effective weight w × max(5%, elapsed / slow_start); share = that / (1 + that).
    const expected = (fraction: number) => fraction / (1 + fraction);
    clock.advance(1000);
    expect(shareOf(pool, b)).toBeCloseTo(expected(0.05), 2);
    clock.advance(2500);
    expect(shareOf(pool, b)).toBeCloseTo(expected(0.25), 2);
    clock.advance(2500);
    expect(shareOf(pool, b)).toBeCloseTo(expected(0.5), 2);
    clock.advance(5000);
    expect(shareOf(pool, b)).toBeCloseTo(0.5, 2);
    expect(a.inFlight + b.inFlight).toBe(0);
  });

  test("a server whose health comes back ramps the same way", () => {
    const { pool, servers, clock } = makePool([{ weight: 3 }, { weight: 3 }], { slow_start: "4s" });
    const b = servers[1]!;
    b.healthy = false;
    clock.advance(SNAPSHOT_MS);
    expect(shareOf(pool, b)).toBe(0);
    // What ActiveHealth does on the up transition.
    b.healthy = true;
    b.upSince = clock.now();
    clock.advance(SNAPSHOT_MS);
    const early = shareOf(pool, b, 1000);
    clock.advance(2000);
    const half = shareOf(pool, b, 1000);
    clock.advance(2000);
    const full = shareOf(pool, b, 1000);
    expect(early).toBeLessThan(0.1);
    expect(half).toBeGreaterThan(early);
    expect(half).toBeCloseTo(0.5 / 1.5, 1);
    expect(full).toBeCloseTo(0.5, 2);
  });

  test("without slow_start a returning server gets its full share at once", () => {
    const { pool, servers, clock } = makePool([{}, {}]);
    const b = servers[1]!;
    b.healthy = false;
    clock.advance(SNAPSHOT_MS);
    shareOf(pool, b, 10);
    b.healthy = true;
    b.upSince = clock.now();
    clock.advance(SNAPSHOT_MS);
    expect(shareOf(pool, b)).toBeCloseTo(0.5, 2);
  });
});
