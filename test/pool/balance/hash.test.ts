import { describe, expect, test } from "bun:test";
import type { Balancer } from "../../../src/pool/balance/balancer.ts";
import { maglevHash } from "../../../src/pool/balance/hash.ts";
import { buildMaglevTable, hashString, maglevTableSize } from "../../../src/pool/balance/maglev.ts";
import { createBalancer } from "../../../src/pool/balance/registry.ts";
import { SNAPSHOT_MS } from "../../../src/pool/balance/snapshot.ts";
import type { ServerState } from "../../../src/pool/server-state.ts";
import { FakeClock } from "../../../src/util/clock.ts";
import { runBalancerCases } from "./conformance.ts";
import { makeOptions, makeServers, plainServers } from "./servers.ts";

runBalancerCases({ name: "hash", create: (options) => createBalancer("hash", options) });

const KEYS = Array.from({ length: 10_000 }, (_, i) => `198.51.${i >> 8}.${i & 255}`);

function mapping(balancer: Balancer, servers: readonly ServerState[], exclude?: ReadonlySet<ServerState>): (ServerState | undefined)[] {
  return KEYS.map((key) => balancer.pick(servers, { clientIp: key, hashKey: key, exclude }));
}

function setup(n: number) {
  const clock = new FakeClock();
  const servers = plainServers(clock, n);
  return { clock, servers, balancer: createBalancer("hash", makeOptions(clock)) };
}

describe("hash (Maglev)", () => {
  test("10k keys spread over 10 servers roughly evenly, each key always on one server", () => {
    const { servers, balancer } = setup(10);
    const first = mapping(balancer, servers);
    expect(mapping(balancer, servers)).toEqual(first);
    for (const server of servers) {
      const count = first.filter((s) => s === server).length;
      expect(count).toBeGreaterThan(850);
      expect(count).toBeLessThan(1_150);
    }
  });

  test("one server of 10 going down moves at most 12% of the keys, and only a few of other servers'", () => {
    const { clock, servers, balancer } = setup(10);
    const before = mapping(balancer, servers);
    servers[4]!.healthy = false;
    const after = mapping(balancer, servers);
    const moved = before.filter((s, i) => s !== after[i]).length;
    const movedFromOthers = before.filter((s, i) => s !== servers[4] && s !== after[i]).length;
    expect(moved).toBeLessThanOrEqual(1_200);
    expect(movedFromOthers).toBeLessThanOrEqual(150);
    expect(after.includes(servers[4])).toBe(false);
    // Back up: the table is rebuilt from the same inputs, so every key returns home.
    servers[4]!.healthy = true;
    clock.advance(SNAPSHOT_MS);
    expect(mapping(balancer, servers)).toEqual(before);
  });

  test("two instances with the same servers map keys alike (an HA pair routes the same way)", () => {
    const a = setup(7);
    const b = setup(7);
    expect(mapping(b.balancer, b.servers).map((s) => s?.key)).toEqual(mapping(a.balancer, a.servers).map((s) => s?.key));
  });

  test("weights shape the share of keys, and an admin weight change rebuilds the table within SNAPSHOT_MS", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{ weight: 2 }, { weight: 1 }, { weight: 1 }]);
    const balancer = createBalancer("hash", makeOptions(clock));
    const share = () => mapping(balancer, servers).filter((s) => s === servers[0]).length / KEYS.length;
    expect(share()).toBeCloseTo(0.5, 1);
    servers[0]!.weightOverride = 6;
    clock.advance(SNAPSHOT_MS);
    expect(share()).toBeCloseTo(0.75, 1);
  });

  test("an excluded or full home server sends the key to a stable second choice", () => {
    const { servers, balancer } = setup(5);
    const key = "203.0.113.7";
    const ctx = { clientIp: key, hashKey: key };
    const home = balancer.pick(servers, ctx)!;
    const second = balancer.pick(servers, { ...ctx, exclude: new Set([home]) })!;
    expect(second).not.toBe(home);
    expect(balancer.pick(servers, { ...ctx, exclude: new Set([home]) })).toBe(second);
    const third = balancer.pick(servers, { ...ctx, exclude: new Set([home, second]) })!;
    expect([home, second]).not.toContain(third);

    home.config = { ...home.config, max_conns: 1 };
    home.inFlight = 1;
    expect(balancer.pick(servers, ctx)).toBe(second);
    home.inFlight = 0;
    expect(balancer.pick(servers, ctx)).toBe(home);
  });

  test("a request without a key goes to the fallback", () => {
    const clock = new FakeClock();
    const servers = plainServers(clock, 3);
    const calls: string[] = [];
    const fallback: Balancer = { pick: (list, ctx) => (calls.push(ctx.clientIp), list[2]) };
    const balancer = maglevHash({ ...makeOptions(clock), fallback });
    expect(balancer.pick(servers, { clientIp: "192.0.2.9" })).toBe(servers[2]!);
    expect(calls).toEqual(["192.0.2.9"]);
    balancer.pick(servers, { clientIp: "192.0.2.9", hashKey: "k" });
    expect(calls).toHaveLength(1);
  });

  test("the factory refuses to run without a fallback", () => {
    expect(() => maglevHash(makeOptions(new FakeClock()))).toThrow("needs a fallback balancer");
  });
});

describe("Maglev table", () => {
  test("size: a prime of 500 slots per server up to 65521, then at least 100 per server", () => {
    expect(maglevTableSize(1)).toBe(2039);
    expect(maglevTableSize(4)).toBe(2039);
    expect(maglevTableSize(5)).toBe(4093);
    expect(maglevTableSize(10)).toBe(8191);
    expect(maglevTableSize(131)).toBe(65521);
    expect(maglevTableSize(256)).toBe(65521);
    expect(maglevTableSize(655)).toBe(65521);
    expect(maglevTableSize(656)).toBe(131071);
    expect(maglevTableSize(100_000)).toBe(262139);
  });

  test("every slot is filled and shares are within 2% of equal", () => {
    const names = Array.from({ length: 13 }, (_, i) => `http://10.1.0.${i}:80`);
    const table = buildMaglevTable(names, names.map(() => 1), 2039);
    const counts = new Array<number>(13).fill(0);
    for (const position of table) counts[position]!++;
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2039);
    for (const count of counts) expect(Math.abs(count - 2039 / 13)).toBeLessThanOrEqual(2039 / 13 * 0.02);
  });

  test("weight 0 gets no slot", () => {
    const table = buildMaglevTable(["a", "b", "c"], [1, 0, 1], 2039);
    expect(table.includes(1)).toBe(false);
  });

  test("hashString is deterministic and spreads keys that differ in one character", () => {
    expect(hashString("10.0.0.1")).toBe(hashString("10.0.0.1"));
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 1_600; i++) buckets[hashString(`10.0.${i >> 8}.${i & 255}`) % 16]!++;
    for (const count of buckets) expect(Math.abs(count - 100)).toBeLessThan(40);
  });
});
