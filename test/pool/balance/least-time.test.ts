import { describe, expect, test } from "bun:test";
import { LATENCY_FLOOR_MS, leastTime } from "../../../src/pool/balance/least-time.ts";
import { createBalancer } from "../../../src/pool/balance/registry.ts";
import { FakeClock, seededRandom } from "../../../src/util/clock.ts";
import { runBalancerCases } from "./conformance.ts";
import { countPicks, makeOptions, makeServers, plainServers } from "./servers.ts";
import { simulate } from "./simulate.ts";

runBalancerCases({ name: "least_time", create: (options) => createBalancer("least_time", options) });

const ctx = { clientIp: "192.0.2.1" };

describe("least_time", () => {
  // Light load (well under one request in flight), medium, and heavy (tens in flight): the split
  // must hold at every load, which is what picking the lowest score fails (see least-time.ts).
  for (const [load, interArrivalMs, minPeak] of [["light", 50, 1], ["medium", 5, 5], ["heavy", 0.5, 40]] as const) {
    test(`a server twice as slow gets about half the traffic (${load} load, 10k requests)`, () => {
      const clock = new FakeClock();
      const servers = plainServers(clock, 2);
      const [slow, fast] = servers as [(typeof servers)[0], (typeof servers)[0]];
      const options = makeOptions(clock);
      const balancer = leastTime(options);
      const { counts, peakInFlight } = simulate(balancer, servers, clock, {
        picks: 10_000,
        interArrivalMs,
        latencyMs: (server) => (server === slow ? 20 : 10),
        decayMs: options.ewmaDecayMs,
        random: seededRandom(3),
      });
      const ratio = counts[1]! / counts[0]!;
      expect(ratio).toBeGreaterThan(1.7);
      expect(ratio).toBeLessThan(2.3);
      expect(peakInFlight).toBeGreaterThanOrEqual(minPeak);
      expect(slow.ewmaMs).toBeGreaterThan(fast.ewmaMs);
    });
  }

  test("the split also holds without jitter, three servers at 10, 20 and 40 ms", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 3);
    const latency = new Map(servers.map((s, i) => [s, 10 * 2 ** i]));
    const { counts } = simulate(leastTime(makeOptions(clock)), servers, clock, {
      picks: 10_000,
      interArrivalMs: 2,
      latencyMs: (server) => latency.get(server)!,
      decayMs: 10_000,
    });
    expect(counts[0]! / counts[1]!).toBeGreaterThan(1.7);
    expect(counts[0]! / counts[1]!).toBeLessThan(2.3);
    expect(counts[1]! / counts[2]!).toBeGreaterThan(1.7);
    expect(counts[1]! / counts[2]!).toBeLessThan(2.3);
  });

  test("weights scale the share of equally fast servers", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 2 }, { weight: 1 }]);
    const { counts } = simulate(leastTime(makeOptions(clock)), servers, clock, {
      picks: 6_000,
      interArrivalMs: 1,
      latencyMs: () => 10,
      decayMs: 10_000,
      random: seededRandom(5),
    });
    expect(counts[0]! / counts[1]!).toBeGreaterThan(1.7);
    expect(counts[0]! / counts[1]!).toBeLessThan(2.3);
  });

  test("a server without samples is scored with the average EWMA of the others", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 3);
    servers[0]!.observeLatency(10, 10_000);
    servers[1]!.observeLatency(30, 10_000);
    const balancer = leastTime(makeOptions(clock));
    const counts = countPicks(servers, 3_000, () => balancer.pick(servers, ctx));
    const shares = [10, 30, 20].map((ms) => 1 / (ms + LATENCY_FLOOR_MS));
    const total = shares.reduce((a, b) => a + b, 0);
    for (let i = 0; i < 3; i++) expect(Math.abs(counts[i]! - (3_000 * shares[i]!) / total)).toBeLessThanOrEqual(2);
  });

  test("with no samples at all, equal servers share evenly", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 3);
    const balancer = leastTime(makeOptions(clock));
    expect(countPicks(servers, 300, () => balancer.pick(servers, ctx))).toEqual([100, 100, 100]);
  });

  test("a server piling up requests loses its share before its EWMA moves", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 2);
    for (const server of servers) server.observeLatency(10, 10_000);
    servers[0]!.inFlight = 9; // stalled: nothing has come back yet to raise its EWMA
    const balancer = leastTime(makeOptions(clock));
    const counts = countPicks(servers, 1_100, () => balancer.pick(servers, ctx));
    expect(counts).toEqual([100, 1_000]);
  });
});
