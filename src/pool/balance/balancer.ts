/** The interface every balancing algorithm implements; one algorithm per file in this folder. */
import type { ServerState } from "../server-state.ts";
import type { Clock, Random } from "../../util/clock.ts";

/** What a balancer may know of the request. */
export interface PickContext {
  /** Client address, used by source-IP hashing. */
  clientIp: string;
  /** Key for the hash algorithm, already extracted from the request (undefined when missing). */
  hashKey?: string | undefined;
  /** Servers already tried by this request (retries never go to the same server twice). */
  exclude?: ReadonlySet<ServerState> | undefined;
}

/**
 * Picks one server. Reads only `isAvailable()`, weights and counters of the servers; returns
 * undefined when none is available (the caller then queues or takes the sorry path).
 */
export interface Balancer {
  pick(servers: readonly ServerState[], ctx: PickContext): ServerState | undefined;
}

/** What a factory may need; algorithms ignore what they do not use. */
export interface BalancerOptions {
  clock: Clock;
  random: Random;
  /** least_time: EWMA decay in ms. */
  ewmaDecayMs: number;
  /** hash: algorithm used when the key is missing. */
  fallback?: Balancer | undefined;
}

export type BalancerFactory = (options: BalancerOptions) => Balancer;
