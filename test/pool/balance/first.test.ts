import { describe, expect, test } from "bun:test";
import { firstAvailable } from "../../../src/pool/balance/first.ts";
import { createBalancer } from "../../../src/pool/balance/registry.ts";
import { FakeClock } from "../../../src/util/clock.ts";
import { runBalancerCases } from "./conformance.ts";
import { makeOptions, makeServers, plainServers } from "./servers.ts";

runBalancerCases({ name: "first", create: (options) => createBalancer("first", options) });

const ctx = { clientIp: "192.0.2.1" };

describe("first", () => {
  test("always the first available server in file order", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 3);
    const balancer = firstAvailable(makeOptions(clock));
    for (let i = 0; i < 5; i++) expect(balancer.pick(servers, ctx)).toBe(servers[0]!);
    servers[0]!.healthy = false;
    expect(balancer.pick(servers, ctx)).toBe(servers[1]!);
    expect(balancer.pick(servers, { ...ctx, exclude: new Set([servers[1]!]) })).toBe(servers[2]!);
  });

  test("fills a server to max_conns, then spills to the next", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ max_conns: 2 }, { max_conns: 2 }, {}]);
    const balancer = firstAvailable(makeOptions(clock));
    const order = Array.from({ length: 6 }, () => {
      const server = balancer.pick(servers, ctx)!;
      server.inFlight++;
      return servers.indexOf(server);
    });
    expect(order).toEqual([0, 0, 1, 1, 2, 2]);
  });

  test("a backup listed first still comes after the primaries", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ backup: true }, {}, {}]);
    const balancer = createBalancer("first", makeOptions(clock));
    expect(balancer.pick(servers, ctx)).toBe(servers[1]!);
    servers[1]!.healthy = false;
    servers[2]!.healthy = false;
    expect(balancer.pick(servers, ctx)).toBe(servers[0]!);
  });
});
