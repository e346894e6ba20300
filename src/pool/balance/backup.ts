/**
 * Backup servers (`backup: true`) serve only when no primary can: every primary is down, ejected,
 * draining, disabled, full, or already tried by this request. Done once here around any balancer
 * rather than in each algorithm, so each algorithm only ever sees one tier at a time.
 */
import type { ServerState } from "../server-state.ts";
import type { Balancer } from "./balancer.ts";
import { ArrayCache } from "./array-cache.ts";

/** A pool's servers split into tiers, in their original order. */
interface Tiers {
  readonly length: number;
  /** The original array itself when there are no backups, so per-array caches downstream hit. */
  readonly primaries: readonly ServerState[];
  readonly backups: readonly ServerState[];
}

function splitTiers(servers: readonly ServerState[]): Tiers {
  const backups = servers.filter((server) => server.backup);
  if (backups.length === 0) return { length: servers.length, primaries: servers, backups };
  return { length: servers.length, primaries: servers.filter((server) => !server.backup), backups };
}

/**
 * Wraps a balancer so it picks among primaries first and among backups only when that fails. The
 * split is computed once per servers array (a reload builds a new array, which is also the only
 * way `backup` can change), so a pick costs one identity check more than the inner balancer.
 */
export function withBackups(inner: Balancer): Balancer {
  const tiers = new ArrayCache(splitTiers, (value, servers) => value.length === servers.length);
  return {
    pick(servers, ctx) {
      const { primaries, backups } = tiers.get(servers);
      if (backups.length === 0) return inner.pick(servers, ctx);
      return inner.pick(primaries, ctx) ?? inner.pick(backups, ctx);
    },
  };
}
