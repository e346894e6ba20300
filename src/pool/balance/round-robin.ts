/**
 * `round_robin`: nginx's smooth weighted round robin. Every pick adds each candidate's weight to
 * its running score, takes the highest score and subtracts the total from it. Weights {5, 1, 1}
 * give a a b a c a a — the heavy server is spread out instead of served in a burst, and the split
 * over a cycle is exact. Weights are `effectiveWeight(now)`, so slow start ramps a server in.
 */
import type { ServerState } from "../server-state.ts";
import type { Balancer, BalancerFactory, PickContext } from "./balancer.ts";
import { perServerFloats } from "./array-cache.ts";
import { Snapshots } from "./snapshot.ts";

/** Creates a smooth weighted round robin balancer; deterministic, no randomness. */
export const smoothWeightedRoundRobin: BalancerFactory = (options): Balancer => {
  const { clock } = options;
  // Running scores by position in the servers array (see ArrayCache for why not on ServerState).
  const scores = perServerFloats();
  const snapshots = new Snapshots();

  /** The algorithm on live state: used with `exclude`, and when the snapshot was stale. */
  function pickLive(servers: readonly ServerState[], current: Float64Array, now: number, exclude: PickContext["exclude"]): ServerState | undefined {
    let total = 0;
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i]!;
      if (!server.isAvailable(now) || (exclude !== undefined && exclude.has(server))) continue;
      const weight = server.effectiveWeight(now);
      if (weight <= 0) continue;
      const score = current[i]! + weight;
      current[i] = score;
      total += weight;
      // Strictly greater: on a tie the earlier server wins, as in nginx.
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    if (best < 0) return undefined;
    current[best] = bestScore - total;
    return servers[best];
  }

  return {
    pick(servers, ctx) {
      const n = servers.length;
      if (n === 0) return undefined;
      const now = clock.now();
      const exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
      const current = scores.get(servers);
      if (exclude === undefined) {
        // Fast path over the snapshot (snapshot.ts), the same algorithm on cached weights.
        const { weights, usable } = snapshots.get(servers, now);
        if (usable > 0) {
          let total = 0;
          let best = 0;
          let bestScore = Number.NEGATIVE_INFINITY;
          for (let i = 0; i < n; i++) {
            const weight = weights[i]!;
            if (weight <= 0) continue;
            const score = current[i]! + weight;
            current[i] = score;
            total += weight;
            if (score > bestScore) {
              bestScore = score;
              best = i;
            }
          }
          const chosen = servers[best]!;
          if (chosen.isAvailable(now)) {
            current[best] = bestScore - total;
            return chosen;
          }
          // Live state moved on (or the server is full): undo, refresh, pick from live state.
          for (let i = 0; i < n; i++) if (weights[i]! > 0) current[i]! -= weights[i]!;
          if (!chosen.isUsable(now)) snapshots.refresh(servers, now); // not merely full
        }
      }
      return pickLive(servers, current, now, exclude);
    },
  };
};
