import { describe, expect, test } from "bun:test";
import { randomTwoChoices } from "../../../src/pool/balance/random-two.ts";
import { createBalancer } from "../../../src/pool/balance/registry.ts";
import { FakeClock, seededRandom } from "../../../src/util/clock.ts";
import { runBalancerCases } from "./conformance.ts";
import { countPicks, makeOptions, makeServers, plainServers } from "./servers.ts";
import { simulate } from "./simulate.ts";

runBalancerCases({ name: "random_two", create: (options) => createBalancer("random_two", options) });

const ctx = { clientIp: "192.0.2.1" };

describe("random_two", () => {
  test("idle equal servers share about evenly", () => {
    const { servers, balancer } = setup(4);
    const counts = countPicks(servers, 8_000, () => balancer.pick(servers, ctx));
    for (const count of counts) expect(Math.abs(count - 2_000)).toBeLessThan(200);
  });

  test("never picks the most loaded of the servers", () => {
    const { servers, balancer } = setup(4);
    servers[2]!.inFlight = 10;
    const counts = countPicks(servers, 3_000, () => balancer.pick(servers, ctx));
    expect(counts[2]).toBe(0);
  });

  test("the same seed gives the same sequence", () => {
    const a = setup(5, 11);
    const b = setup(5, 11);
    const sequence = (x: typeof a) => Array.from({ length: 50 }, () => x.servers.indexOf(x.balancer.pick(x.servers, ctx)!));
    const first = sequence(a);
    expect(sequence(b)).toEqual(first);
    expect(new Set(first).size).toBe(5);
  });

  test("with some servers unavailable, the others still share evenly", () => {
    const { servers, balancer } = setup(6);
    servers[0]!.healthy = false;
    servers[3]!.disabled = true;
    const counts = countPicks(servers, 8_000, () => balancer.pick(servers, ctx));
    expect(counts[0]).toBe(0);
    expect(counts[3]).toBe(0);
    for (const i of [1, 2, 4, 5]) expect(Math.abs(counts[i]! - 2_000)).toBeLessThan(200);
  });

  test("idle servers share by weight (draws are weighted)", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 3 }, { weight: 1 }, { weight: 1 }, { weight: 1 }]);
    const balancer = randomTwoChoices(makeOptions(clock, 2));
    const counts = countPicks(servers, 12_000, () => balancer.pick(servers, ctx));
    expect(Math.abs(counts[0]! - 6_000)).toBeLessThan(300);
    for (const i of [1, 2, 3]) expect(Math.abs(counts[i]! - 2_000)).toBeLessThan(200);
  });

  test("skewed weights and many unavailable servers still give the weighted split", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 100 }, ...Array.from({ length: 8 }, () => ({})), { weight: 1 }]);
    for (let i = 1; i <= 8; i++) servers[i]!.healthy = false;
    const balancer = randomTwoChoices(makeOptions(clock, 8));
    const counts = countPicks(servers, 10_100, () => balancer.pick(servers, ctx));
    expect(Math.abs(counts[9]! - 100)).toBeLessThan(40);
    expect(counts[0]! + counts[9]!).toBe(10_100);
  });

  test("under load, the split follows the weights", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 3 }, { weight: 1 }, { weight: 1 }, { weight: 1 }]);
    const { counts } = simulate(randomTwoChoices(makeOptions(clock, 4)), servers, clock, {
      picks: 10_000,
      interArrivalMs: 0.5,
      latencyMs: () => 10,
      decayMs: 10_000,
      random: seededRandom(6),
    });
    for (const i of [1, 2, 3]) {
      expect(counts[0]! / counts[i]!).toBeGreaterThan(2.5);
      expect(counts[0]! / counts[i]!).toBeLessThan(3.5);
    }
  });
});

function setup(n: number, seed = 1) {
  const clock = new FakeClock();
  const servers = plainServers(clock, n);
  return { clock, servers, balancer: randomTwoChoices(makeOptions(clock, seed)) };
}
