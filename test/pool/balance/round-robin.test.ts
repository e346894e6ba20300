import { describe, expect, test } from "bun:test";
import { createBalancer } from "../../../src/pool/balance/registry.ts";
import { smoothWeightedRoundRobin } from "../../../src/pool/balance/round-robin.ts";
import { SNAPSHOT_MS } from "../../../src/pool/balance/snapshot.ts";
import { FakeClock } from "../../../src/util/clock.ts";
import { runBalancerCases } from "./conformance.ts";
import { countPicks, makeOptions, makeServers } from "./servers.ts";

runBalancerCases({ name: "round_robin", create: (options) => createBalancer("round_robin", options) });

const ctx = { clientIp: "192.0.2.1" };

describe("round_robin", () => {
  test("weights 3:1 give exactly 300 and 100 of 400 picks", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 3 }, { weight: 1 }]);
    const balancer = smoothWeightedRoundRobin(makeOptions(clock));
    expect(countPicks(servers, 400, () => balancer.pick(servers, ctx))).toEqual([300, 100]);
  });

  test("interleaves like nginx: weights {5, 1, 1} give a a b a c a a, cycle after cycle", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 5 }, { weight: 1 }, { weight: 1 }]);
    const names = new Map(servers.map((s, i) => [s, "abc"[i]]));
    const balancer = smoothWeightedRoundRobin(makeOptions(clock));
    const sequence = Array.from({ length: 21 }, () => names.get(balancer.pick(servers, ctx)!)).join("");
    expect(sequence).toBe("aabacaa".repeat(3));
  });

  test("equal weights rotate in file order", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{}, {}, {}]);
    const balancer = smoothWeightedRoundRobin(makeOptions(clock));
    const order = Array.from({ length: 6 }, () => servers.indexOf(balancer.pick(servers, ctx)!));
    expect(order).toEqual([0, 1, 2, 0, 1, 2]);
  });

  test("an excluded server is skipped and the rest keep their shares", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 2 }, { weight: 1 }, { weight: 1 }]);
    const balancer = smoothWeightedRoundRobin(makeOptions(clock));
    const exclude = new Set([servers[1]!]);
    expect(countPicks(servers, 300, () => balancer.pick(servers, { ...ctx, exclude }))).toEqual([200, 0, 100]);
  });

  test("an admin weight change applies within SNAPSHOT_MS", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{}, {}]);
    const balancer = smoothWeightedRoundRobin(makeOptions(clock));
    expect(countPicks(servers, 100, () => balancer.pick(servers, ctx))).toEqual([50, 50]);
    servers[1]!.weightOverride = 4;
    clock.advance(SNAPSHOT_MS);
    expect(countPicks(servers, 100, () => balancer.pick(servers, ctx))).toEqual([20, 80]);
  });

  test("a server going down is skipped at once, its return is seen within SNAPSHOT_MS", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{}, {}, {}]);
    const balancer = smoothWeightedRoundRobin(makeOptions(clock));
    countPicks(servers, 30, () => balancer.pick(servers, ctx));
    servers[0]!.healthy = false;
    expect(countPicks(servers, 30, () => balancer.pick(servers, ctx))).toEqual([0, 15, 15]);
    servers[0]!.healthy = true;
    clock.advance(SNAPSHOT_MS);
    expect(countPicks(servers, 30, () => balancer.pick(servers, ctx))).toEqual([10, 10, 10]);
  });

  test("slow start: the effective weight ramps from 1/20 to full and round robin follows it", () => {
    const clock = new FakeClock(0);
    const servers = makeServers(clock, [{ weight: 4 }, { weight: 4 }]);
    const ramping = servers[1]!;
    ramping.slowStartMs = 10_000;
    ramping.upSince = 0;
    const balancer = smoothWeightedRoundRobin(makeOptions(clock));
    const stages: Array<[atMs: number, weight: number]> = [[0, 0.2], [2_500, 1], [5_000, 2], [7_500, 3], [10_000, 4], [60_000, 4]];
    for (const [atMs, weight] of stages) {
      clock.advance(atMs - clock.now());
      expect(ramping.effectiveWeight()).toBeCloseTo(weight, 9);
      const counts = countPicks(servers, 1_000, () => balancer.pick(servers, ctx));
      const expected = (1_000 * weight) / (4 + weight);
      expect(Math.abs(counts[1]! - expected)).toBeLessThanOrEqual(2);
    }
  });

  test("two pools sharing server objects keep separate rotations", () => {
    const clock = new FakeClock();
    const [a, b] = makeServers(clock, [{}, {}]);
    const poolX = [a!, b!];
    const poolY = [a!, b!];
    const balancer = smoothWeightedRoundRobin(makeOptions(clock));
    const picks = Array.from({ length: 8 }, (_, i) => balancer.pick(i % 2 === 0 ? poolX : poolY, ctx));
    expect(picks).toEqual([a, a, b, b, a, a, b, b]);
  });
});
