/**
 * `random_two`: the power of two choices. Draw two distinct servers at random, each with a chance
 * proportional to its effective weight, and keep the one with the lower `inFlight /
 * effectiveWeight` (on a tie the first drawn). Nearly as even as least_conn, but several balancers
 * sharing servers do not all herd onto the same "least loaded" one, and the common path looks at
 * two servers instead of all of them. Weighted draws matter: with uniform draws a server is in the
 * pair at most 2/n of the time, which caps its share whatever its weight.
 */
import type { ServerState } from "../server-state.ts";
import type { Balancer, BalancerFactory, PickContext } from "./balancer.ts";
import { ArrayCache } from "./array-cache.ts";

/** Draw attempts before the exact (one pass over all servers) path. */
const FAST_ATTEMPTS = 4;

/** Creates a power-of-two-choices balancer drawing from `options.random`. */
export const randomTwoChoices: BalancerFactory = (options): Balancer => {
  const { clock, random } = options;
  // Upper bound of the effective weights, for rejection sampling; exact after each slow path.
  const maxWeights = new ArrayCache(() => ({ value: 0 }));

  function pickable(server: ServerState, now: number, exclude: PickContext["exclude"]): boolean {
    return server.isAvailable(now) && (exclude === undefined || !exclude.has(server));
  }

  /** The lighter of two candidates; on a tie the first drawn. */
  function lighter(a: ServerState, b: ServerState, now: number): ServerState {
    return b.inFlight / b.effectiveWeight(now) < a.inFlight / a.effectiveWeight(now) ? b : a;
  }

  /**
   * A weighted draw by rejection: a uniform position, kept with probability weight / max. Cheap
   * when weights are alike; -1 when the attempts run out (many unavailable servers, skewed weights).
   */
  function drawFast(servers: readonly ServerState[], max: { value: number }, now: number, exclude: PickContext["exclude"], skip: number): number {
    // Without a position to skip, draw among n; with one, among the n - 1 others.
    const n = skip < 0 ? servers.length : servers.length - 1;
    for (let attempt = 0; attempt < FAST_ATTEMPTS; attempt++) {
      let i = Math.floor(random() * n);
      if (skip >= 0 && i >= skip) i++;
      const server = servers[i]!;
      if (!pickable(server, now, exclude)) continue;
      const weight = server.effectiveWeight(now);
      if (weight >= max.value) {
        max.value = weight;
        return i; // the heaviest is always kept: no second random number
      }
      if (random() * max.value < weight) return i;
    }
    return -1;
  }

  /**
   * The exact path: weighted draws over the pickable servers found in one pass. A first candidate
   * already drawn is kept — redrawing it would bias against whichever server made the second draw
   * harder (the heavy one, whose partner must come from the lighter rest).
   */
  function drawExact(servers: readonly ServerState[], max: { value: number }, now: number, exclude: PickContext["exclude"], drawn: ServerState | undefined): ServerState | undefined {
    let total = 0;
    let heaviest = 0;
    let count = 0;
    let last: ServerState | undefined;
    for (const server of servers) {
      if (!pickable(server, now, exclude)) continue;
      const weight = server.effectiveWeight(now);
      total += weight;
      heaviest = Math.max(heaviest, weight);
      count++;
      last = server;
    }
    max.value = heaviest;
    if (count <= 1) return last;
    const x = drawn ?? nth(servers, random() * total, undefined, now, exclude) ?? last!;
    const y = nth(servers, random() * (total - x.effectiveWeight(now)), x, now, exclude);
    return y === undefined || y === x ? x : lighter(x, y, now);
  }

  /** The pickable server (other than `skip`) where the running sum of weights passes `target`. */
  function nth(servers: readonly ServerState[], target: number, skip: ServerState | undefined, now: number, exclude: PickContext["exclude"]): ServerState | undefined {
    let sum = 0;
    let last: ServerState | undefined;
    for (const server of servers) {
      if (server === skip || !pickable(server, now, exclude)) continue;
      sum += server.effectiveWeight(now);
      last = server;
      if (sum > target) return server;
    }
    return last; // rounding left `target` at the very end
  }

  return {
    pick(servers, ctx) {
      const n = servers.length;
      if (n === 0) return undefined;
      const now = clock.now();
      const exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
      const max = maxWeights.get(servers);
      if (n > 1) {
        const a = drawFast(servers, max, now, exclude, -1);
        if (a >= 0) {
          const b = drawFast(servers, max, now, exclude, a);
          if (b >= 0) return lighter(servers[a]!, servers[b]!, now);
          return drawExact(servers, max, now, exclude, servers[a]);
        }
      }
      return drawExact(servers, max, now, exclude, undefined);
    },
  };
};
