/**
 * Health probes run once, in the primary; their verdicts (and the admin plane's drain / disable /
 * weight overrides, which also act in the primary) reach the workers as `ServerHealth` records.
 * The primary compares every server with what it last sent, ten times a second — cheap (a few
 * fields per server) and independent of which code path changed a server — and sends what changed.
 * A worker keeps the latest record per server: a pool built later (a reload) starts from it.
 */
import type { HealthConfig } from "../config/schema.ts";
import type { Pool } from "../pool/pool.ts";
import type { ServerState } from "../pool/server-state.ts";
import type { Clock } from "../util/clock.ts";
import type { ServerHealth } from "./protocol.ts";

/** How often the primary looks for changes, in ms. */
export const HEALTH_SYNC_INTERVAL_MS = 100;

function healthOf(pool: string, s: ServerState): ServerHealth {
  return { pool, key: s.key, healthy: s.healthy, drain: s.drainOverride ?? null, disabled: s.disabled, weight: s.weightOverride ?? null };
}

function same(a: ServerHealth, b: ServerHealth): boolean {
  return a.healthy === b.healthy && a.drain === b.drain && a.disabled === b.disabled && a.weight === b.weight;
}

/** In the primary: what the workers were last told, and what changed since. */
export class HealthDiff {
  readonly #sent = new Map<string, ServerHealth>();

  /** Every server's state as last sent: with `changes` sent first, what a starting worker needs. */
  current(): ServerHealth[] {
    return [...this.#sent.values()];
  }

  /** The servers whose state differs from what was last sent (new servers included). */
  changes(pools: ReadonlyMap<string, Pool>): ServerHealth[] {
    const out: ServerHealth[] = [];
    const live = new Set<string>();
    for (const pool of pools.values()) {
      for (const s of pool.servers) {
        const key = `${pool.name}\u0000${s.key}`;
        live.add(key);
        const now = healthOf(pool.name, s);
        const before = this.#sent.get(key);
        if (before && same(before, now)) continue;
        this.#sent.set(key, now);
        out.push(now);
      }
    }
    for (const key of this.#sent.keys()) if (!live.has(key)) this.#sent.delete(key);
    return out;
  }
}

/** In a worker: the primary's latest word on each server, applied to live servers and new pools. */
export class RemoteHealth {
  readonly #states = new Map<string, ServerHealth>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * `TenbinDeps.remoteHealth`: a server of a pool with `health` is being built. It takes the
   * primary's state when there is one, else the pool's `initial` (as the primary's probes start).
   */
  readonly seed = (pool: string, server: ServerState, health: HealthConfig): void => {
    const state = this.#states.get(`${pool}\u0000${server.key}`);
    if (state) this.#write(server, state);
    else server.healthy = health.initial === "up";
  };

  /** Records `changes` and applies them to the servers of `pools` (waking queued requests). */
  apply(changes: readonly ServerHealth[], pools: ReadonlyMap<string, Pool> | undefined): void {
    const touched = new Set<Pool>();
    for (const change of changes) {
      this.#states.set(`${change.pool}\u0000${change.key}`, change);
      const pool = pools?.get(change.pool);
      const server = pool?.servers.find((s) => s.key === change.key);
      if (!pool || !server) continue;
      this.#write(server, change);
      touched.add(pool);
    }
    // Up: a queued request may take the server now. Down: queued ones with no server left fail now.
    for (const pool of touched) pool.wake();
  }

  #write(server: ServerState, state: ServerHealth): void {
    if (state.healthy && !server.healthy) server.upSince = this.#clock.now(); // slow start ramps from here
    server.healthy = state.healthy;
    server.drainOverride = state.drain ?? undefined;
    server.disabled = state.disabled;
    server.weightOverride = state.weight ?? undefined;
  }
}
