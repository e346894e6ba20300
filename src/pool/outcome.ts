/**
 * The outcome of one attempt on a server, as the pool records it (tell, don't ask): the proxy and
 * the L4 listeners say what happened, and only this file changes a server's counters, its EWMA and
 * latency histogram, and feeds passive health. A meta test (test/meta/server-counters.test.ts)
 * fails when anything outside src/pool/ writes them.
 */
import type { Pool } from "./pool.ts";
import type { ServerState } from "./server-state.ts";

/** An attempt begins on `server` (a request sent, a connection or flow opened). */
export function attemptStarted(server: ServerState): void {
  server.requests++;
}

/**
 * `server` answered with `status` after `elapsedMs` (a response head, a WebSocket's 101 or its
 * refusal): response-time EWMA (least_time), the latency histogram, the status counters, passive
 * health (a 5xx may count as a failure there).
 */
export function answered(pool: Pool, server: ServerState, status: number, elapsedMs: number): void {
  server.observeLatency(elapsedMs, pool.config.ewma_decay);
  server.latency.observe(elapsedMs);
  server.countStatus(status);
  pool.passive?.onStatus(server, status);
}

/** A TCP connection to `server` opened after `connectMs`: its connect time is its response time. */
export function connected(pool: Pool, server: ServerState, connectMs: number): void {
  server.observeLatency(connectMs, pool.config.ewma_decay);
  pool.passive?.onSuccess(server);
}

/** The attempt on `server` failed (connect refused, timeout, bad answer): counted, and told to passive health. */
export function failed(pool: Pool | undefined, server: ServerState, reason: string): void {
  server.failures++;
  server.lastReason = reason;
  pool?.passive?.onFailure(server, reason);
}

/**
 * Adds a worker's counter deltas to the primary's `server` (workers/counters.ts sends them):
 * requests, the five status classes, failures, then the latency histogram's buckets, count and sum.
 */
export function addWorkerCounts(server: ServerState, d: readonly number[]): void {
  server.requests += d[0]!;
  server.responses1xx += d[1]!;
  server.responses2xx += d[2]!;
  server.responses3xx += d[3]!;
  server.responses4xx += d[4]!;
  server.responses5xx += d[5]!;
  server.failures += d[6]!;
  const counts = server.latency.counts;
  for (let i = 0; i < counts.length; i++) counts[i]! += d[7 + i]!;
  server.latency.count += d[7 + counts.length]!;
  server.latency.sumMs += d[8 + counts.length]!;
}
