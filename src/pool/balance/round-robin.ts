/**
 * `round_robin`: nginx's smooth weighted round robin. Every pick adds each candidate's weight to
 * its running score, takes the highest score and subtracts the total from it. Weights {5, 1, 1}
 * give a a b a c a a — the heavy server is spread out instead of served in a burst, and the split
 * over a cycle is exact. Weights are `effectiveWeight(now)`, so slow start ramps a server in.
 */
import type { ServerState } from "../server-state.ts";
import type { Balancer, BalancerFactory, PickContext } from "./balancer.ts";
import { perServerFloats } from "./array-cache.ts";
import { availableWeights, SmoothWeighted } from "./smooth-weighted.ts";
import { Snapshots } from "./snapshot.ts";

/** Creates a smooth weighted round robin balancer; deterministic, no randomness. */
export const smoothWeightedRoundRobin: BalancerFactory = (options): Balancer => {
  const { clock } = options;
  // Running scores by position in the servers array (see ArrayCache for why not on ServerState).
  const scores = perServerFloats();
  const snapshots = new Snapshots();
  const smooth = new SmoothWeighted();
  /** Live weights for the slow path, reused. */
  const liveWeights = perServerFloats();

  /** The algorithm on live state: used with `exclude`, and when the snapshot was stale. */
  function pickLive(servers: readonly ServerState[], current: Float64Array, now: number, exclude: PickContext["exclude"]): ServerState | undefined {
    const best = smooth.round(current, availableWeights(servers, now, exclude, liveWeights.get(servers)));
    smooth.settle(current, best);
    return best < 0 ? undefined : servers[best];
  }

  return {
    pick(servers, ctx) {
      if (servers.length === 0) return undefined;
      const now = clock.now();
      const exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
      const current = scores.get(servers);
      if (exclude === undefined) {
        // Fast path over the snapshot (snapshot.ts), the same algorithm on cached weights.
        const { weights, usable } = snapshots.get(servers, now);
        if (usable > 0) {
          const best = smooth.round(current, weights);
          const chosen = servers[best]!;
          if (chosen.isAvailable(now)) {
            smooth.settle(current, best);
            return chosen;
          }
          // Live state moved on (or the server is full): undo, refresh, pick from live state.
          smooth.undo(current, weights);
          if (!chosen.isUsable(now)) snapshots.refresh(servers, now); // not merely full
        }
      }
      return pickLive(servers, current, now, exclude);
    },
  };
};
