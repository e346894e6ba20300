/**
 * `hash`: consistent hashing on `ctx.hashKey` (source IP, a header, a cookie, the URI...) through a
 * Maglev table (maglev.ts). The table covers the servers that could serve — healthy, enabled, not
 * draining, not ejected, weight > 0 — weighted by their weight, and is rebuilt only when that set
 * or a weight changes, as seen by the snapshot (snapshot.ts): a pick costs one hash of the key and
 * one table lookup. A server that went down since the snapshot is caught by the live check of the
 * chosen server, which retakes the snapshot (so the table is rebuilt at once); a server that came
 * back gets its keys back within SNAPSHOT_MS.
 *
 * A server that cannot take this request — full (max_conns), excluded (already tried), or down
 * since the table was built — keeps its slots: the pick walks on to the next slot holding another
 * server. The walk is deterministic, so a key's second choice is stable too. Slow start is not
 * applied: a key belongs to one server, and ramping would mean sending the key elsewhere meanwhile.
 */
import type { ServerState } from "../server-state.ts";
import type { Balancer, BalancerFactory, PickContext } from "./balancer.ts";
import { ArrayCache } from "./array-cache.ts";
import { buildMaglevTable, hashString, maglevTableSize } from "./maglev.ts";
import { type ServerSnapshot, Snapshots } from "./snapshot.ts";

/** The table of one servers array, and the snapshot version it was built from. */
interface MaglevState {
  readonly size: number;
  /** Slot → position in the servers array. */
  table: Uint16Array | Uint32Array;
  /** Servers in the table. */
  members: number;
  version: number;
}

/** Creates a Maglev hash balancer; `options.fallback` serves requests without a key (required). */
export const maglevHash: BalancerFactory = (options): Balancer => {
  const { clock, fallback } = options;
  if (fallback === undefined) throw new Error("The hash balancer needs a fallback balancer for requests without a key");
  const snapshots = new Snapshots();
  const states = new ArrayCache<MaglevState>(
    (servers) => ({ size: maglevTableSize(servers.length), table: new Uint16Array(0), members: 0, version: -1 }),
  );

  function rebuild(state: MaglevState, servers: readonly ServerState[], snapshot: ServerSnapshot): void {
    const names = servers.map((server) => server.key);
    const weights = Array.from(snapshot.baseWeights);
    state.table = buildMaglevTable(names, weights, state.size);
    state.members = snapshot.usable;
    state.version = snapshot.version;
  }

  function canTake(server: ServerState, now: number, exclude: PickContext["exclude"]): boolean {
    return server.isAvailable(now) && (exclude === undefined || !exclude.has(server));
  }

  return {
    pick(servers, ctx) {
      const key = ctx.hashKey;
      if (key === undefined) return fallback.pick(servers, ctx);
      const n = servers.length;
      if (n === 0) return undefined;
      const now = clock.now();
      const exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
      const state = states.get(servers);
      let snapshot = snapshots.get(servers, now);
      if (snapshot.version !== state.version) rebuild(state, servers, snapshot);
      const start = hashString(key) % state.size;
      const home = state.table[start]!;
      if (state.members > 0 && canTake(servers[home]!, now, exclude)) return servers[home];

      // The home server cannot take it: down since the snapshot, or full, or excluded. Retake the
      // snapshot (rebuilding the table if the set changed) so the walk below sees live state.
      snapshot = snapshots.refresh(servers, now);
      if (snapshot.version !== state.version) rebuild(state, servers, snapshot);
      if (state.members === 0) return undefined;
      if (canTake(servers[state.table[start]!]!, now, exclude)) return servers[state.table[start]!];
      // Is anyone able to take it? (Bounds the walk.)
      let anyone: ServerState | undefined;
      for (let i = 0; i < n && anyone === undefined; i++) {
        if (snapshot.baseWeights[i]! > 0 && canTake(servers[i]!, now, exclude)) anyone = servers[i];
      }
      if (anyone === undefined) return undefined;
      const { table, size } = state;
      const first = table[start]!;
      for (let step = 1, slot = start; step < size; step++) {
        slot = slot + 1 === size ? 0 : slot + 1;
        const position = table[slot]!;
        if (position !== first && canTake(servers[position]!, now, exclude)) return servers[position];
      }
      // Only reachable when the able servers hold no slot (weight tiny next to the others).
      return anyone;
    },
  };
};
