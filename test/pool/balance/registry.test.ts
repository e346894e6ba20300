import { describe, expect, test } from "bun:test";
import { BALANCE_ALGORITHMS, type BalanceAlgorithm } from "../../../src/config/schema.ts";
import { withBackups } from "../../../src/pool/balance/backup.ts";
import { balancers, createBalancer } from "../../../src/pool/balance/registry.ts";
import { smoothWeightedRoundRobin } from "../../../src/pool/balance/round-robin.ts";
import { FakeClock } from "../../../src/util/clock.ts";
import { makeOptions, makeServers, plainServers } from "./servers.ts";

const ctx = { clientIp: "192.0.2.1" };

describe("balancer registry", () => {
  test("every algorithm of the config schema has a factory, and nothing else is registered", () => {
    expect(Object.keys(balancers).sort()).toEqual([...BALANCE_ALGORITHMS].sort());
    const clock = new FakeClock();
    const servers = plainServers(clock, 2);
    for (const name of BALANCE_ALGORITHMS) {
      expect(servers).toContain(createBalancer(name, makeOptions(clock)).pick(servers, { ...ctx, hashKey: "k" })!);
    }
  });

  test("an unknown name is refused with the name in the message", () => {
    expect(() => createBalancer("fastest" as BalanceAlgorithm, makeOptions(new FakeClock()))).toThrow('Unknown balancing algorithm "fastest"');
  });

  test("hash without a fallback sends requests without a key round robin", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 3);
    const balancer = createBalancer("hash", makeOptions(clock));
    const order = Array.from({ length: 6 }, () => servers.indexOf(balancer.pick(servers, ctx)!));
    expect(order).toEqual([0, 1, 2, 0, 1, 2]);
  });
});

describe("withBackups", () => {
  test("the inner balancer sees the primaries only, then the backups only", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{}, { backup: true }, {}, { backup: true }]);
    const seen: number[][] = [];
    const balancer = withBackups({
      pick: (list) => {
        seen.push(list.map((s) => servers.indexOf(s)));
        return undefined;
      },
    });
    expect(balancer.pick(servers, ctx)).toBeUndefined();
    expect(seen).toEqual([[0, 2], [1, 3]]);
  });

  test("without backups the inner balancer gets the pool's own array", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 3);
    let given: unknown;
    withBackups({ pick: (list) => ((given = list), undefined) }).pick(servers, ctx);
    expect(given).toBe(servers);
  });

  test("an array grown in place is split again", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ backup: true }, {}, {}]);
    const balancer = withBackups(smoothWeightedRoundRobin(makeOptions(clock)));
    servers[1]!.healthy = false;
    servers[2]!.healthy = false;
    expect(balancer.pick(servers, ctx)).toBe(servers[0]!);
    servers.push(...makeServers(clock, [{}, {}, {}, {}]).slice(3));
    expect(balancer.pick(servers, ctx)).toBe(servers[3]!);
  });
});
