/**
 * `least_conn`: the server with the fewest requests in flight for its weight (`inFlight /
 * effectiveWeight`). Ties — common at light load, where every server has 0 in flight — go by
 * smooth weighted round robin among the tied servers, as in nginx, so weights and slow start
 * still shape the traffic when load does not. With equal weights that is plain round robin.
 * Weights come from the snapshot (snapshot.ts), in-flight counts are read live on every pick.
 */
import type { ServerState } from "../server-state.ts";
import type { Balancer, BalancerFactory, PickContext } from "./balancer.ts";
import { ArrayCache, perServerFloats } from "./array-cache.ts";
import { availableWeights, SmoothWeighted } from "./smooth-weighted.ts";
import { Snapshots } from "./snapshot.ts";

/**
 * Position of the least loaded server by `weights` (0 = skip), or -1. Scores of tied servers are
 * updated; when `backup` is given, `current` is first copied into it and `backup.used` set, so the
 * caller can undo. `loads` is scratch space of the array's length; `smooth` the balancer's own.
 */
function leastLoaded(
  servers: readonly ServerState[],
  weights: Float64Array,
  current: Float64Array,
  loads: Float64Array,
  smooth: SmoothWeighted,
  backup: { scores: Float64Array; used: boolean } | undefined,
): number {
  const n = servers.length;
  // Pass 1: the lowest load.
  let lowest = Number.POSITIVE_INFINITY;
  let tied = 0;
  let only = -1;
  for (let i = 0; i < n; i++) {
    const weight = weights[i]!;
    if (weight <= 0) continue;
    const load = servers[i]!.inFlight / weight;
    loads[i] = load;
    if (load < lowest) {
      lowest = load;
      tied = 1;
      only = i;
    } else if (load === lowest) {
      tied++;
    }
  }
  if (tied <= 1) return only;
  // Pass 2: smooth weighted round robin among the tied.
  if (backup !== undefined) {
    backup.scores.set(current);
    backup.used = true;
  }
  const best = smooth.round(current, weights, loads, lowest);
  smooth.settle(current, best);
  return best;
}

/** Creates a least-connections balancer (deterministic). */
export const leastConnections: BalancerFactory = (options): Balancer => {
  const { clock } = options;
  const scores = perServerFloats();
  const snapshots = new Snapshots();
  /** Live weights for the slow path, reused. */
  const liveWeights = perServerFloats();
  /** Tie scores before a fast pick, to restore when the pick fails the live check. */
  const saved = new ArrayCache(
    (servers) => ({ scores: new Float64Array(servers.length), used: false }),
    (value, servers) => value.scores.length === servers.length,
  );
  const scratch = perServerFloats();
  const smooth = new SmoothWeighted();

  function pickLive(servers: readonly ServerState[], current: Float64Array, now: number, exclude: PickContext["exclude"]): ServerState | undefined {
    const weights = availableWeights(servers, now, exclude, liveWeights.get(servers));
    const best = leastLoaded(servers, weights, current, scratch.get(servers), smooth, undefined);
    return best < 0 ? undefined : servers[best];
  }

  return {
    pick(servers, ctx) {
      if (servers.length === 0) return undefined;
      const now = clock.now();
      const exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
      const current = scores.get(servers);
      if (exclude === undefined) {
        // Fast path over the snapshot (snapshot.ts); in-flight counts are always live.
        const snapshot = snapshots.get(servers, now);
        if (snapshot.usable > 0) {
          const backup = saved.get(servers);
          backup.used = false;
          const best = leastLoaded(servers, snapshot.weights, current, scratch.get(servers), smooth, backup);
          const chosen = servers[best]!;
          if (chosen.isAvailable(now)) return chosen;
          if (backup.used) current.set(backup.scores);
          if (!chosen.isUsable(now)) snapshots.refresh(servers, now); // not merely full
        }
      }
      return pickLive(servers, current, now, exclude);
    },
  };
};
