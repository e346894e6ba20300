/**
 * `least_conn`: the server with the fewest requests in flight for its weight (`inFlight /
 * effectiveWeight`). Ties — common at light load, where every server has 0 in flight — go by
 * smooth weighted round robin among the tied servers, as in nginx, so weights and slow start
 * still shape the traffic when load does not. With equal weights that is plain round robin.
 */
import type { ServerState } from "../server-state.ts";
import type { Balancer, BalancerFactory, PickContext } from "./balancer.ts";
import { perServerFloats } from "./array-cache.ts";
import { Snapshots } from "./snapshot.ts";

/** Position of the least loaded server by `weights` (0 = skip), or -1; updates tie scores. */
function leastLoaded(servers: readonly ServerState[], weights: Float64Array, current: Float64Array): number {
  const n = servers.length;
  // Pass 1: the lowest load.
  let lowest = Number.POSITIVE_INFINITY;
  let tied = 0;
  let only = -1;
  for (let i = 0; i < n; i++) {
    const weight = weights[i]!;
    if (weight <= 0) continue;
    const load = servers[i]!.inFlight / weight;
    if (load < lowest) {
      lowest = load;
      tied = 1;
      only = i;
    } else if (load === lowest) {
      tied++;
    }
  }
  if (tied <= 1) return only;
  // Pass 2: smooth weighted round robin among the tied (same expression, so equal floats).
  let total = 0;
  let best = -1;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const weight = weights[i]!;
    if (weight <= 0 || servers[i]!.inFlight / weight !== lowest) continue;
    const score = current[i]! + weight;
    current[i] = score;
    total += weight;
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  current[best] = bestScore - total;
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
  const saved = perServerFloats();

  function pickLive(servers: readonly ServerState[], current: Float64Array, now: number, exclude: PickContext["exclude"]): ServerState | undefined {
    const weights = liveWeights.get(servers);
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i]!;
      const ok = server.isAvailable(now) && (exclude === undefined || !exclude.has(server));
      weights[i] = ok ? server.effectiveWeight(now) : 0;
    }
    const best = leastLoaded(servers, weights, current);
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
          backup.set(current);
          const best = leastLoaded(servers, snapshot.weights, current);
          const chosen = servers[best]!;
          if (chosen.isAvailable(now)) return chosen;
          current.set(backup);
          snapshots.refresh(servers, now);
        }
      }
      return pickLive(servers, current, now, exclude);
    },
  };
};
