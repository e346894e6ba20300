/**
 * The cases every balancer passes (like Hono's router/common.case.test.ts): each algorithm's test
 * file calls `runBalancerCases` with its own constructor, then adds cases of its own.
 */
import { describe, expect, test } from "bun:test";
import type { Balancer, BalancerOptions, PickContext } from "../../../src/pool/balance/balancer.ts";
import type { ServerState } from "../../../src/pool/server-state.ts";
import { FakeClock, seededRandom } from "../../../src/util/clock.ts";
import { makeOptions, makeServers, plainServers, type ServerSpec } from "./servers.ts";

/** A balancer under test: its name and how to build it as a pool would (backups included). */
export interface BalancerCase {
  name: string;
  create: (options: BalancerOptions) => Balancer;
}

const PICKS = 200;

/** Request contexts of varied shape: most with a hash key, every fourth without. */
function contextFor(i: number, exclude?: ReadonlySet<ServerState>): PickContext {
  const clientIp = `192.0.2.${i % 250}`;
  return i % 4 === 3 ? { clientIp, exclude } : { clientIp, hashKey: `key-${i}`, exclude };
}

/** Servers picked over `PICKS` varied requests (undefined included). */
function picked(balancer: Balancer, servers: readonly ServerState[], exclude?: ReadonlySet<ServerState>): Set<ServerState | undefined> {
  const seen = new Set<ServerState | undefined>();
  for (let i = 0; i < PICKS; i++) seen.add(balancer.pick(servers, contextFor(i, exclude)));
  return seen;
}

/** Ways a server can be unable to take a request, applied to `server`. */
const UNAVAILABLE: Record<string, { spec?: ServerSpec; apply?: (server: ServerState, clock: FakeClock) => void }> = {
  "down": { apply: (s) => (s.healthy = false) },
  "ejected": { apply: (s, clock) => (s.ejectedUntil = clock.now() + 1_000) },
  "draining (config)": { spec: { drain: true } },
  "draining (admin)": { apply: (s) => (s.drainOverride = true) },
  "disabled": { apply: (s) => (s.disabled = true) },
  "full": { spec: { max_conns: 2 }, apply: (s) => (s.inFlight = 2) },
  "weight 0 (config)": { spec: { weight: 0 } },
  "weight 0 (admin)": { apply: (s) => (s.weightOverride = 0) },
};

/** Registers the shared balancer cases for one algorithm. */
export function runBalancerCases({ name, create }: BalancerCase): void {
  describe(`${name}: conformance`, () => {
    function setup(specs: readonly ServerSpec[]) {
      const clock = new FakeClock(1_000);
      const servers = makeServers(clock, specs);
      return { clock, servers, balancer: create(makeOptions(clock)) };
    }

    test("an empty server list gives undefined", () => {
      const clock = new FakeClock();
      expect(create(makeOptions(clock)).pick([], contextFor(0))).toBeUndefined();
      expect(create(makeOptions(clock)).pick([], contextFor(3))).toBeUndefined();
    });

    test("a single server takes every request", () => {
      const { servers, balancer } = setup([{}]);
      expect([...picked(balancer, servers)]).toEqual([servers[0]]);
    });

    for (const [kind, { spec, apply }] of Object.entries(UNAVAILABLE)) {
      test(`never picks a server that is ${kind}`, () => {
        const { clock, servers, balancer } = setup([spec ?? {}, {}, {}, {}]);
        apply?.(servers[0]!, clock);
        const seen = picked(balancer, servers);
        expect(seen.has(servers[0])).toBe(false);
        expect(seen.has(undefined)).toBe(false);
      });

      test(`gives undefined when every server is ${kind}`, () => {
        const { clock, servers, balancer } = setup([spec ?? {}, spec ?? {}]);
        for (const server of servers) apply?.(server, clock);
        expect([...picked(balancer, servers)]).toEqual([undefined]);
      });
    }

    test("an ejection ends at its time", () => {
      const { clock, servers, balancer } = setup([{}, {}, {}]);
      servers[0]!.ejectedUntil = clock.now() + 500;
      expect(picked(balancer, servers).has(servers[0])).toBe(false);
      clock.advance(500);
      expect(picked(balancer, servers).has(servers[0])).toBe(true);
    });

    test("a full server takes requests again when one finishes", () => {
      const { servers, balancer } = setup([{ max_conns: 1 }, {}, {}]);
      servers[0]!.inFlight = 1;
      expect(picked(balancer, servers).has(servers[0])).toBe(false);
      servers[0]!.inFlight = 0;
      expect(picked(balancer, servers).has(servers[0])).toBe(true);
    });

    test("respects exclude", () => {
      const { servers, balancer } = setup([{}, {}, {}]);
      const exclude = new Set([servers[0]!, servers[1]!]);
      expect([...picked(balancer, servers, exclude)]).toEqual([servers[2]]);
    });

    test("gives undefined when every server is excluded", () => {
      const { servers, balancer } = setup([{}, {}]);
      expect([...picked(balancer, servers, new Set(servers))]).toEqual([undefined]);
    });

    test("uses backups only when no primary can serve", () => {
      const { servers, balancer } = setup([{ backup: true }, {}, { backup: true }, {}]);
      const [backupA, primaryA, backupB, primaryB] = servers as [ServerState, ServerState, ServerState, ServerState];
      const normal = picked(balancer, servers);
      expect([...normal].every((s) => s === primaryA || s === primaryB)).toBe(true);

      primaryA.healthy = false;
      expect(picked(balancer, servers)).toEqual(new Set([primaryB]));
      primaryB.disabled = true;
      const backups = picked(balancer, servers);
      expect(backups.has(undefined)).toBe(false);
      expect([...backups].every((s) => s === backupA || s === backupB)).toBe(true);

      primaryA.healthy = true;
      primaryB.disabled = false;
      const retried = picked(balancer, servers, new Set([primaryA, primaryB]));
      expect(retried.has(undefined)).toBe(false);
      expect([...retried].every((s) => s === backupA || s === backupB)).toBe(true);
      expect([...picked(balancer, servers, new Set(servers))]).toEqual([undefined]);
    });

    test("uses backups when every primary is full", () => {
      const { servers, balancer } = setup([{ max_conns: 1 }, { backup: true }]);
      servers[0]!.inFlight = 1;
      expect([...picked(balancer, servers)]).toEqual([servers[1]]);
    });

    test("a pool of backups only still serves", () => {
      const { servers, balancer } = setup([{ backup: true }, { backup: true }]);
      const seen = picked(balancer, servers);
      expect(seen.has(undefined)).toBe(false);
    });

    test("random states: picks a pickable server of the right tier, or undefined when none is", () => {
      const random = seededRandom(42);
      const clock = new FakeClock(1_000);
      const servers = makeServers(clock, [{}, {}, { max_conns: 3 }, {}, { backup: true }, { backup: true, max_conns: 1 }]);
      const balancer = create(makeOptions(clock, 7));
      const canServe = (s: ServerState, exclude: ReadonlySet<ServerState>) => s.isAvailable() && !exclude.has(s);
      let undefinedSeen = 0;
      for (let round = 0; round < 400; round++) {
        for (const s of servers) {
          s.healthy = random() > 0.25;
          s.disabled = random() < 0.1;
          s.drainOverride = random() < 0.1 ? true : undefined;
          s.ejectedUntil = random() < 0.15 ? clock.now() + 100 : 0;
          s.inFlight = Math.floor(random() * 4);
          s.weightOverride = random() < 0.1 ? 0 : undefined;
        }
        const exclude = new Set(servers.filter(() => random() < 0.2));
        const primaries = servers.filter((s) => !s.backup && canServe(s, exclude));
        const backups = servers.filter((s) => s.backup && canServe(s, exclude));
        const expected = primaries.length > 0 ? primaries : backups;
        const chosen = balancer.pick(servers, contextFor(round, exclude));
        if (expected.length === 0) {
          expect(chosen).toBeUndefined();
          undefinedSeen++;
        } else {
          expect(chosen !== undefined && expected.includes(chosen)).toBe(true);
        }
        clock.advance(10);
      }
      // The states above must have exercised both outcomes, or this case proves little.
      expect(undefinedSeen).toBeGreaterThan(0);
      expect(undefinedSeen).toBeLessThan(400);
    });
  });
}

/** `n` plain servers and a balancer on a fresh fake clock, for algorithm-specific cases. */
export function fixture(create: (options: BalancerOptions) => Balancer, n: number, seed = 1) {
  const clock = new FakeClock(1_000);
  const servers = plainServers(clock, n);
  return { clock, servers, balancer: create(makeOptions(clock, seed)) };
}
