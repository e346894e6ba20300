/**
 * `least_time`: slower servers get less, in proportion. Each server's cost is
 *
 *     score = (ewmaMs + LATENCY_FLOOR_MS) * (inFlight / effectiveWeight + 1) / effectiveWeight
 *
 * and the pick is a smooth weighted round robin over `1 / score` — not the lowest score. Why: with
 * the lowest score, a server twice as slow gets nothing at light load (the faster always wins) and
 * about a quarter of the fast one's share under load (latency counts once in the score and again
 * through the in-flight count, Little's law: inFlight = rate × latency). Weighting by `1 / score`
 * gives it half at every load: at light load inFlight is 0 and shares follow weight / latency;
 * under load, shares settle where `inFlight / weight` is equal across servers, which again means
 * rate ∝ weight / latency. (Dividing in-flight by the weight is what keeps weights exact under
 * load; with `inFlight + 1` a weight-2 server would get only √2 times the traffic there.)
 * In-flight still matters at once: a server that stalls piles up requests and its share falls
 * before any slow response reaches its EWMA. (test/pool/balance/least-time.test.ts simulates it.)
 *
 * A server without samples yet is scored with the average EWMA of the servers that have some, so
 * a new server gets a normal share instead of a flood (zero) or nothing. The EWMA itself is kept by
 * `ServerState.observeLatency(ms, options.ewmaDecayMs)`, which the forward path calls. Weights and
 * EWMAs are read from the snapshot (snapshot.ts, at most SNAPSHOT_MS old); in-flight counts live.
 */
import type { ServerState } from "../server-state.ts";
import type { Balancer, BalancerFactory, PickContext } from "./balancer.ts";
import { perServerFloats } from "./array-cache.ts";
import { SmoothWeighted } from "./smooth-weighted.ts";
import { Snapshots } from "./snapshot.ts";

/**
 * Added to every EWMA: keeps the score finite for a 0 ms server and damps sub-millisecond noise
 * (two servers at 0.1 and 0.2 ms are not really 2× apart). At 10 vs 20 ms it shifts the split
 * from 2 to 1.95.
 */
export const LATENCY_FLOOR_MS = 0.5;

/** Marks a share still to compute; never a share (those are > 0, 0 or NaN). */
const UNSAMPLED = -1;

/** Share of one server: weight / score (see the top of this file). */
function share(effectiveWeight: number, ewmaMs: number, inFlight: number): number {
  return effectiveWeight / ((ewmaMs + LATENCY_FLOOR_MS) * (inFlight / effectiveWeight + 1));
}

/** Creates a least-time balancer (deterministic: smooth weighted round robin over 1 / score). */
export const leastTime: BalancerFactory = (options): Balancer => {
  const { clock } = options;
  const scores = perServerFloats();
  const snapshots = new Snapshots();
  /** Scores before a fast pick, to restore when the pick fails the live check. */
  const saved = perServerFloats();
  const smooth = new SmoothWeighted();
  /** Each server's share (1 / score) for the round, reused. */
  const shares = perServerFloats();

  /** The algorithm on live state: used with `exclude`, and when the snapshot was stale. */
  function pickLive(servers: readonly ServerState[], current: Float64Array, now: number, exclude: PickContext["exclude"]): ServerState | undefined {
    const n = servers.length;
    const weights = shares.get(servers);
    let sampledSum = 0;
    let sampled = 0;
    let unsampled = 0;
    // Pass 1: servers with samples (the common case: every server, one pass).
    for (let i = 0; i < n; i++) {
      const server = servers[i]!;
      if (!server.isAvailable(now) || (exclude !== undefined && exclude.has(server))) {
        weights[i] = 0;
        continue;
      }
      const ewma = server.ewmaMs;
      if (ewma < 0) {
        unsampled++;
        weights[i] = UNSAMPLED; // scored below, with the average
        continue;
      }
      sampledSum += ewma;
      sampled++;
      weights[i] = share(server.effectiveWeight(now), ewma, server.inFlight);
    }
    // Pass 2, only while some servers have no samples: score them with the average.
    if (unsampled > 0) {
      const average = sampled > 0 ? sampledSum / sampled : 0;
      for (let i = 0; i < n; i++) {
        if (weights[i] !== UNSAMPLED) continue;
        const server = servers[i]!;
        weights[i] = share(server.effectiveWeight(now), average, server.inFlight);
      }
    }
    const best = smooth.round(current, weights);
    smooth.settle(current, best);
    return best < 0 ? undefined : servers[best];
  }

  return {
    pick(servers, ctx) {
      const n = servers.length;
      if (n === 0) return undefined;
      const now = clock.now();
      const exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
      const current = scores.get(servers);
      if (exclude === undefined) {
        // Fast path over the snapshot (snapshot.ts: weights and EWMAs, the average already filled
        // in for servers without samples); in-flight counts are always live.
        const { weights, ewma, usable } = snapshots.get(servers, now);
        if (usable > 0) {
          const backup = saved.get(servers);
          backup.set(current);
          // SmoothWeighted's round, fused with computing the shares: a separate pass writing
          // them out first made this path ~30% slower at 256 servers (bench/micro.ts).
          let total = 0;
          let best = 0;
          let bestScore = Number.NEGATIVE_INFINITY;
          for (let i = 0; i < n; i++) {
            const effective = weights[i]!;
            if (effective <= 0) continue;
            const weight = share(effective, ewma[i]!, servers[i]!.inFlight);
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
          current.set(backup);
          if (!chosen.isUsable(now)) snapshots.refresh(servers, now); // not merely full
        }
      }
      return pickLive(servers, current, now, exclude);
    },
  };
};
