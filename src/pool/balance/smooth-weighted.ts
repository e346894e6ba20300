/**
 * The step shared by round_robin, least_conn (among tied servers) and least_time: nginx's smooth
 * weighted round robin. Each candidate's weight is added to its running score, the highest score
 * leads (on a tie the lower position, as in nginx), and the leader pays the round's total.
 *
 * A round runs over a weights array rather than taking one server at a time: the running total
 * and the leader then stay in locals, which the JIT keeps in registers. Offering servers one by
 * one through an object's fields made round_robin × 256 about four times slower (bench/micro.ts).
 * Each balancer owns one `SmoothWeighted` and reuses it; nothing is allocated per pick.
 */
import type { ServerState } from "../server-state.ts";
import type { PickContext } from "./balancer.ts";

/** Smooth weighted round robin over a scores array (position → running score). */
export class SmoothWeighted {
  /** Total of the latest round, paid by its leader in `settle`. */
  #total = 0;

  /**
   * Adds `weights[i]` to `scores[i]` for every position with a weight > 0 — and, when `only` is
   * given, `only[i] === onlyValue` — and returns the position of the highest score, or -1 when
   * no position took part. The leader has not paid yet: call `settle` to keep the pick.
   */
  round(scores: Float64Array, weights: Float64Array, only?: Float64Array, onlyValue?: number): number {
    let total = 0;
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < weights.length; i++) {
      const weight = weights[i]!;
      if (!(weight > 0) || (only !== undefined && only[i] !== onlyValue)) continue;
      const score = scores[i]! + weight;
      scores[i] = score;
      total += weight;
      // Strictly greater: on a tie the earlier server wins, as in nginx.
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    this.#total = total;
    return best;
  }

  /** Keeps the latest round's pick: its leader `best` pays the round's total. */
  settle(scores: Float64Array, best: number): void {
    if (best >= 0) scores[best]! -= this.#total;
  }

  /** Drops the latest round (`weights` as given to it, without `only`): every score back as before. */
  undo(scores: Float64Array, weights: Float64Array): void {
    for (let i = 0; i < weights.length; i++) if (weights[i]! > 0) scores[i]! -= weights[i]!;
  }
}

/**
 * Fills `into` with the weight of each server that can take this request now — available (up,
 * not full) and not in `exclude` — and 0 for the others: what a balancer's live (slow) path
 * runs its round over. Returns `into`.
 */
export function availableWeights(servers: readonly ServerState[], now: number, exclude: PickContext["exclude"], into: Float64Array): Float64Array {
  for (let i = 0; i < servers.length; i++) {
    const server = servers[i]!;
    const ok = server.isAvailable(now) && (exclude === undefined || !exclude.has(server));
    into[i] = ok ? server.effectiveWeight(now) : 0;
  }
  return into;
}
