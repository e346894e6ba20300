/**
 * Outcome counters of the edge policies, one small array per (listener, route, policy set), made
 * when a config is built and kept across reloads by name, as the other request counters are.
 */

/** What a policy step can count, in the order `PolicyStats.counts` keeps them. */
export const POLICY_OUTCOMES = [
  "redirect", "respond", "forbidden", "unauthorized", "rate_limited", "compressed", "compress_saved_bytes", "redis_fallback",
] as const;

/** One of `POLICY_OUTCOMES`. */
export type PolicyOutcome = (typeof POLICY_OUTCOMES)[number];

const INDEX: Record<PolicyOutcome, number> = Object.fromEntries(POLICY_OUTCOMES.map((o, i) => [o, i])) as Record<PolicyOutcome, number>;

/** The counters of one policy set on one route. */
export class PolicyStats {
  readonly counts = new Float64Array(POLICY_OUTCOMES.length);

  /** Adds `n` (default 1) to an outcome. */
  count(outcome: PolicyOutcome, n = 1): void {
    this.counts[INDEX[outcome]]! += n;
  }

  /** The count of an outcome. */
  get(outcome: PolicyOutcome): number {
    return this.counts[INDEX[outcome]]!;
  }
}

/** Policy counters keyed by listener, route and policy name; `prune` forgets routes that went away. */
export class PolicyMetrics {
  readonly #stats = new Map<string, PolicyStats>();

  /** The counters of a policy set (inline keys are named `route`) on a route. */
  forPolicy(listener: string, route: string, policy: string): PolicyStats {
    const key = `${listener}\u0000${route}\u0000${policy}`;
    let stats = this.#stats.get(key);
    if (stats === undefined) {
      stats = new PolicyStats();
      this.#stats.set(key, stats);
    }
    return stats;
  }

  /** The counters of a policy set on a route, if it has any (does not create them). */
  find(listener: string, route: string, policy: string): PolicyStats | undefined {
    return this.#stats.get(`${listener}\u0000${route}\u0000${policy}`);
  }

  /** Every counter set as `[listener, route, policy, stats]`. */
  *entries(): Iterable<[string, string, string, PolicyStats]> {
    for (const [key, stats] of this.#stats) {
      const [listener = "", route = "", policy = ""] = key.split("\u0000");
      yield [listener, route, policy, stats];
    }
  }

  /** Keeps only the counters whose `listener\0route` key is in `liveRoutes`. */
  prune(liveRoutes: ReadonlySet<string>): void {
    for (const key of this.#stats.keys()) {
      if (!liveRoutes.has(key.slice(0, key.lastIndexOf("\u0000")))) this.#stats.delete(key);
    }
  }
}
