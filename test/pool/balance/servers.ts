/** Test helpers: servers on a FakeClock and balancer options around them. */
import type { ServerConfig } from "../../../src/config/schema.ts";
import type { BalancerOptions } from "../../../src/pool/balance/balancer.ts";
import { ServerState } from "../../../src/pool/server-state.ts";
import { FakeClock, seededRandom } from "../../../src/util/clock.ts";

/** What a test says of a server; the rest takes the schema's defaults. */
export type ServerSpec = Partial<ServerConfig>;

/** Builds servers 10.0.0.1:8080, 10.0.0.2:8080, ... in order, `index` set as a pool would. */
export function makeServers(clock: FakeClock, specs: readonly ServerSpec[]): ServerState[] {
  return specs.map((spec, index) => {
    const config: ServerConfig = {
      url: `http://10.0.0.${index + 1}:8080`,
      weight: 1,
      max_conns: 0,
      backup: false,
      drain: false,
      ...spec,
    };
    const server = new ServerState(config, clock);
    server.index = index;
    return server;
  });
}

/** `n` servers with default settings. */
export function plainServers(clock: FakeClock, n: number): ServerState[] {
  return makeServers(clock, Array.from({ length: n }, () => ({})));
}

/** Balancer options on a fake clock with a seeded random. */
export function makeOptions(clock: FakeClock, seed = 1): BalancerOptions {
  return { clock, random: seededRandom(seed), ewmaDecayMs: 10_000 };
}

/** How many picks each server got, by position; `undefined` results counted under -1. */
export function countPicks(
  servers: readonly ServerState[],
  picks: number,
  pick: (i: number) => ServerState | undefined,
): number[] {
  const counts = new Array<number>(servers.length).fill(0);
  for (let i = 0; i < picks; i++) {
    const chosen = pick(i);
    if (chosen === undefined) throw new Error(`Pick "${i}" returned no server`);
    const position = servers.indexOf(chosen);
    counts[position] = (counts[position] ?? 0) + 1;
  }
  return counts;
}
