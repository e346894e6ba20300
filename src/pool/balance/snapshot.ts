/**
 * A cached view of a pool's servers — who can serve, at what weight, how fast — retaken at most
 * every `SNAPSHOT_MS`. Reading a dozen fields of every `ServerState` on every pick costs ~10 ns a
 * server (5 µs at 256 servers, bench/micro.ts); a pick over this view reads typed arrays and, for
 * least_conn / least_time, each server's live `inFlight`.
 *
 * Staleness never makes a pick wrong, only less fresh: a balancer always checks the server it
 * chose against live state (`isAvailable(now)`, `exclude`) and, when that fails or the view finds
 * nobody, retakes the view and picks again from live state (its slow path). What may lag by up to
 * `SNAPSHOT_MS` is a server coming back (health, ejection over, enable) and weight changes (admin,
 * slow start ramp steps) — far below health-check intervals.
 */
import type { ServerState } from "../server-state.ts";
import { ArrayCache } from "./array-cache.ts";

/** Longest age of a snapshot, in ms of the balancer's clock. */
export const SNAPSHOT_MS = 50;

/** The view of one servers array, by position. */
export class ServerSnapshot {
  /** Effective weight (slow start applied); 0 = could not serve (down, ejected, draining, ...). */
  readonly weights: Float64Array;
  /** Weight without slow start, 0 = could not serve: what hash tables are built from. */
  readonly baseWeights: Float64Array;
  /** EWMA in ms; servers without samples get the average of those with samples (0 if none). */
  readonly ewma: Float64Array;
  /** Servers that could serve. */
  usable = 0;
  /** Bumped whenever `baseWeights` changes (the set of usable servers or a weight). */
  version = 0;
  takenAt = Number.NEGATIVE_INFINITY;

  constructor(size: number) {
    this.weights = new Float64Array(size);
    this.baseWeights = new Float64Array(size).fill(-1);
    this.ewma = new Float64Array(size);
  }

  /** Reads live state into the view. */
  take(servers: readonly ServerState[], now: number): void {
    let usable = 0;
    let changed = false;
    let sampledSum = 0;
    let sampled = 0;
    for (let i = 0; i < servers.length; i++) {
      const server = servers[i]!;
      const ok = server.isUsable(now);
      const base = ok ? server.weight : 0;
      if (this.baseWeights[i] !== base) {
        this.baseWeights[i] = base;
        changed = true;
      }
      this.weights[i] = ok ? server.effectiveWeight(now) : 0;
      if (!ok) continue;
      usable++;
      if (server.ewmaMs >= 0) {
        sampledSum += server.ewmaMs;
        sampled++;
      }
    }
    const average = sampled > 0 ? sampledSum / sampled : 0;
    for (let i = 0; i < servers.length; i++) {
      const ewma = servers[i]!.ewmaMs;
      this.ewma[i] = ewma >= 0 ? ewma : average;
    }
    this.usable = usable;
    if (changed) this.version++;
    this.takenAt = now;
  }
}

/** Snapshots per servers array, retaken when older than `SNAPSHOT_MS`. */
export class Snapshots {
  readonly #cache = new ArrayCache(
    (servers) => new ServerSnapshot(servers.length),
    (snapshot, servers) => snapshot.weights.length === servers.length,
  );

  /** A view of `servers` no older than `SNAPSHOT_MS`. */
  get(servers: readonly ServerState[], now: number): ServerSnapshot {
    const snapshot = this.#cache.get(servers);
    if (now - snapshot.takenAt >= SNAPSHOT_MS || now < snapshot.takenAt) snapshot.take(servers, now);
    return snapshot;
  }

  /** Retakes the view now: the live state turned out to differ from it. */
  refresh(servers: readonly ServerState[], now: number): ServerSnapshot {
    const snapshot = this.#cache.get(servers);
    snapshot.take(servers, now);
    return snapshot;
  }
}
