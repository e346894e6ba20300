/**
 * Algorithm name (the `balance:` key of a pool) → factory. A new algorithm is one file in this
 * folder and one line here.
 */
import type { BalanceAlgorithm } from "../../config/schema.ts";
import type { Balancer, BalancerFactory, BalancerOptions } from "./balancer.ts";
import { withBackups } from "./backup.ts";
import { firstAvailable } from "./first.ts";
import { maglevHash } from "./hash.ts";
import { leastConnections } from "./least-conn.ts";
import { leastTime } from "./least-time.ts";
import { randomTwoChoices } from "./random-two.ts";
import { smoothWeightedRoundRobin } from "./round-robin.ts";

/** Every balancing algorithm by its configuration name. */
export const balancers: Record<BalanceAlgorithm, BalancerFactory> = {
  round_robin: smoothWeightedRoundRobin,
  least_conn: leastConnections,
  least_time: leastTime,
  random_two: randomTwoChoices,
  hash: maglevHash,
  first: firstAvailable,
};

/**
 * Creates the balancer a pool uses: the named algorithm with backup handling around it. For
 * `hash` without `options.fallback`, requests without a key go round robin.
 */
export function createBalancer(name: BalanceAlgorithm, options: BalancerOptions): Balancer {
  if (!Object.hasOwn(balancers, name)) throw new Error(`Unknown balancing algorithm "${String(name)}"`);
  const factory = balancers[name];
  const resolved = name === "hash" && options.fallback === undefined
    ? { ...options, fallback: smoothWeightedRoundRobin(options) }
    : options;
  return withBackups(factory(resolved));
}
