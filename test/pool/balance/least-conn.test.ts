import { describe, expect, test } from "bun:test";
import { leastConnections } from "../../../src/pool/balance/least-conn.ts";
import { createBalancer } from "../../../src/pool/balance/registry.ts";
import { FakeClock, seededRandom } from "../../../src/util/clock.ts";
import { runBalancerCases } from "./conformance.ts";
import { countPicks, makeOptions, makeServers, plainServers } from "./servers.ts";
import { simulate } from "./simulate.ts";

runBalancerCases({ name: "least_conn", create: (options) => createBalancer("least_conn", options) });

const ctx = { clientIp: "192.0.2.1" };

describe("least_conn", () => {
  test("picks the server with the fewest requests in flight", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 4);
    [5, 2, 7, 3].forEach((n, i) => (servers[i]!.inFlight = n));
    const balancer = leastConnections(makeOptions(clock));
    for (let i = 0; i < 10; i++) expect(balancer.pick(servers, ctx)).toBe(servers[1]!);
  });

  test("ties go round robin", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 3);
    const balancer = leastConnections(makeOptions(clock));
    const order = Array.from({ length: 6 }, () => servers.indexOf(balancer.pick(servers, ctx)!));
    expect(new Set(order.slice(0, 3))).toEqual(new Set([0, 1, 2]));
    expect(order.slice(3)).toEqual(order.slice(0, 3));
  });

  test("ties among the least loaded only rotate among them", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 4);
    servers[2]!.inFlight = 1;
    const balancer = leastConnections(makeOptions(clock));
    expect(countPicks(servers, 300, () => balancer.pick(servers, ctx))).toEqual([100, 100, 0, 100]);
  });

  test("load is in flight per weight: 3 in flight at weight 4 beats 1 at weight 1", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 4 }, { weight: 1 }]);
    servers[0]!.inFlight = 3;
    servers[1]!.inFlight = 1;
    const balancer = leastConnections(makeOptions(clock));
    for (let i = 0; i < 5; i++) expect(balancer.pick(servers, ctx)).toBe(servers[0]!);
  });

  test("equal loads go by weight: idle servers of weights 3:1 get exactly 3:1", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 3 }, { weight: 1 }]);
    servers[0]!.inFlight = 3;
    servers[1]!.inFlight = 1;
    const balancer = leastConnections(makeOptions(clock));
    expect(countPicks(servers, 400, () => balancer.pick(servers, ctx))).toEqual([300, 100]);
    for (const server of servers) server.inFlight = 0;
    expect(countPicks(servers, 400, () => balancer.pick(servers, ctx))).toEqual([300, 100]);
  });

  test("slow start: idle, the ramping server gets its effective weight's share; busy, little", () => {
    const clock = new FakeClock(0);
    const servers = plainServers(clock, 2);
    servers[1]!.slowStartMs = 10_000;
    servers[1]!.upSince = 0;
    const balancer = leastConnections(makeOptions(clock));
    // Effective weight 0.05 against 1: one pick in 21 at light load.
    expect(countPicks(servers, 2_100, () => balancer.pick(servers, ctx))).toEqual([2_000, 100]);
    // One request in flight makes its load 20: it loses until the other has 20 in flight.
    servers[1]!.inFlight = 1;
    servers[0]!.inFlight = 19;
    expect(balancer.pick(servers, ctx)).toBe(servers[0]!);
    clock.advance(10_000);
    expect(balancer.pick(servers, ctx)).toBe(servers[1]!);
  });

  test("under load, weights 3:1 give about 3:1 of the traffic", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 3 }, { weight: 1 }]);
    const { counts, peakInFlight } = simulate(leastConnections(makeOptions(clock)), servers, clock, {
      picks: 10_000,
      interArrivalMs: 0.5,
      latencyMs: () => 10,
      decayMs: 10_000,
      random: seededRandom(9),
    });
    expect(peakInFlight).toBeGreaterThan(10);
    expect(counts[0]! / counts[1]!).toBeGreaterThan(2.5);
    expect(counts[0]! / counts[1]!).toBeLessThan(3.5);
  });
});
