/**
 * Counter totals across worker processes. Each worker sends a snapshot of its cumulative counters
 * every second; the primary adds what grew since that worker's previous snapshot into its own
 * counters, so the admin plane (which reads only the primary's objects) shows totals with no change
 * of its own. Cumulative snapshots, not deltas, so a lost message loses nothing.
 *
 * Every counted object carries an id in the snapshot: when a worker replaced one (a reload pruned a
 * route and made it anew, a listener was rebound) the id changes and the new object's values count
 * in full instead of being taken for a counter that went backwards.
 *
 * Aggregated: requests by status class and latency histograms of listeners, routes and pools; policy
 * outcomes per route; per
 * server requests, responses, failures and latency; TCP listener counters; access log drops.
 * Not aggregated (the primary's own): gauges (`in_flight`, `queued`), EWMA, probe results.
 */
import { addWorkerCounts } from "../pool/outcome.ts";
import type { MetricsRegistry, RequestStats } from "../observe/metrics.ts";
import type { Pool } from "../pool/pool.ts";
import type { ServerState } from "../pool/server-state.ts";

/** What counters are read from (worker) or added to (primary): `Tenbin` is one. */
export interface CounterSource {
  readonly metrics: MetricsRegistry;
  readonly pools: ReadonlyMap<string, Pool>;
  /** L4 listener counters by listener name; every numeric field is a counter. */
  readonly l4Stats: ReadonlyMap<string, object>;
}

/** One counted object's values, in a fixed layout per kind. */
export interface CounterEntry {
  key: string;
  /** Identity of the object in the worker (see the file comment). */
  id: number;
  values: number[];
}

/** One L4 listener's counters, by field name. */
export interface L4Entry {
  key: string;
  id: number;
  fields: Record<string, number>;
}

/** A worker's cumulative counters at one moment. */
export interface CounterSnapshot {
  /** Listener (`listener\0name`), route (`route\0listener\0route`) and pool (`pool\0name`) stats. */
  stats: CounterEntry[];
  /** Servers by `pool\0key`. */
  servers: CounterEntry[];
  l4: L4Entry[];
  accessLogDropped: number;
  /** HTTP requests the worker answered (sum over its listeners). */
  requests: number;
  /** TCP connections it accepted. */
  connections: number;
}

const ids = new WeakMap<object, number>();
let nextId = 1;

function idOf(object: object): number {
  let id = ids.get(object);
  if (id === undefined) {
    id = nextId++;
    ids.set(object, id);
  }
  return id;
}

// RequestStats: byClass[5], latency.counts[n], latency.count, latency.sumMs.
function statsValues(s: RequestStats): number[] {
  return [...s.byClass, ...s.latency.counts, s.latency.count, s.latency.sumMs];
}

// ServerState: requests, responses by class (5), failures, then its latency histogram as above.
function serverValues(s: ServerState): number[] {
  const l = s.latency;
  return [s.requests, s.responses1xx, s.responses2xx, s.responses3xx, s.responses4xx, s.responses5xx, s.failures, ...l.counts, l.count, l.sumMs];
}

function numericFields(object: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(object)) if (typeof value === "number") out[name] = value;
  return out;
}

/** Reads the cumulative counters of `source` (in a worker). */
export function takeSnapshot(source: CounterSource, accessLogDropped = source.metrics.accessLogDropped): CounterSnapshot {
  const m = source.metrics;
  const stats: CounterEntry[] = [];
  let requests = 0;
  for (const [name, s] of m.listeners) {
    stats.push({ key: `listener\u0000${name}`, id: idOf(s), values: statsValues(s) });
    requests += s.total;
  }
  for (const [listener, route, s] of m.routes()) stats.push({ key: `route\u0000${listener}\u0000${route}`, id: idOf(s), values: statsValues(s) });
  for (const [name, s] of m.pools) stats.push({ key: `pool\u0000${name}`, id: idOf(s), values: statsValues(s) });
  for (const [listener, route, policy, s] of m.policies.entries()) {
    stats.push({ key: `policy\u0000${listener}\u0000${route}\u0000${policy}`, id: idOf(s), values: [...s.counts] });
  }
  const servers: CounterEntry[] = [];
  for (const pool of source.pools.values()) {
    for (const s of pool.servers) servers.push({ key: `${pool.name}\u0000${s.key}`, id: idOf(s), values: serverValues(s) });
  }
  const l4: L4Entry[] = [];
  let connections = 0;
  for (const [name, s] of source.l4Stats) {
    const fields = numericFields(s);
    l4.push({ key: name, id: idOf(s), fields });
    connections += fields.accepted ?? 0;
  }
  return { stats, servers, l4, accessLogDropped, requests, connections };
}

/** What the primary last saw of one worker. */
interface WorkerSeen {
  entries: Map<string, { id: number; values: number[] }>;
  l4: Map<string, { id: number; fields: Record<string, number> }>;
  accessLogDropped: number;
}

/** Adds workers' snapshots into the primary's counters (in the primary). */
export class CounterMerger {
  readonly #seen = new Map<number, WorkerSeen>();
  /** HTTP requests the workers' reports added to the listener counters; the rest are the primary's. */
  addedRequests = 0;
  /** TCP connections (`accepted`) the workers' reports added. */
  addedConnections = 0;

  /** Adds what grew in `snapshot` since worker `worker`'s previous one into `target`. */
  merge(worker: number, snapshot: CounterSnapshot, target: CounterSource): void {
    let seen = this.#seen.get(worker);
    if (!seen) {
      seen = { entries: new Map(), l4: new Map(), accessLogDropped: 0 };
      this.#seen.set(worker, seen);
    }
    const m = target.metrics;
    for (const entry of snapshot.stats) {
      const delta = deltaOf(seen.entries, entry);
      const [kind, a = "", b = "", c = ""] = entry.key.split("\u0000");
      if (kind === "policy") {
        const counts = m.policies.find(a, b, c)?.counts;
        if (counts && delta) for (let i = 0; i < counts.length; i++) counts[i]! += delta[i] ?? 0;
        continue;
      }
      const stats = kind === "listener" ? m.listeners.get(a) : kind === "route" ? m.findRoute(a, b) : kind === "pool" ? m.pools.get(a) : undefined;
      if (!stats || !delta) continue;
      addStats(stats, delta);
      if (kind === "listener") this.addedRequests += delta[0]! + delta[1]! + delta[2]! + delta[3]! + delta[4]!;
    }
    const servers = new Map<string, ServerState>();
    for (const pool of target.pools.values()) for (const s of pool.servers) servers.set(`${pool.name}\u0000${s.key}`, s);
    for (const entry of snapshot.servers) {
      const delta = deltaOf(seen.entries, entry);
      const server = servers.get(entry.key);
      if (server && delta) addServer(server, delta);
    }
    for (const entry of snapshot.l4) {
      const prev = seen.l4.get(entry.key);
      seen.l4.set(entry.key, { id: entry.id, fields: entry.fields });
      const stats = target.l4Stats.get(entry.key) as Record<string, unknown> | undefined;
      if (!stats) continue;
      for (const [name, value] of Object.entries(entry.fields)) {
        const grew = prev && prev.id === entry.id ? value - (prev.fields[name] ?? 0) : value;
        if (typeof stats[name] !== "number" || grew === 0) continue;
        stats[name] = (stats[name] as number) + grew;
        if (name === "accepted") this.addedConnections += grew;
      }
    }
    m.accessLogDropped += Math.max(0, snapshot.accessLogDropped - seen.accessLogDropped);
    seen.accessLogDropped = snapshot.accessLogDropped;
  }

  /** Forgets a worker that exited; a restarted one counts from zero. */
  forget(worker: number): void {
    this.#seen.delete(worker);
  }
}

/** Growth of `entry` since the last one of its key (all of it for a new object); undefined: none. */
function deltaOf(seen: Map<string, { id: number; values: number[] }>, entry: CounterEntry): number[] | undefined {
  const prev = seen.get(entry.key);
  seen.set(entry.key, { id: entry.id, values: entry.values });
  if (!prev || prev.id !== entry.id) return entry.values.some((v) => v !== 0) ? entry.values : undefined;
  let changed = false;
  const delta = entry.values.map((v, i) => {
    const d = v - (prev.values[i] ?? 0);
    if (d !== 0) changed = true;
    return d;
  });
  return changed ? delta : undefined;
}

function addStats(stats: RequestStats, d: readonly number[]): void {
  const counts = stats.latency.counts;
  for (let i = 0; i < 5; i++) stats.byClass[i]! += d[i]!;
  for (let i = 0; i < counts.length; i++) counts[i]! += d[5 + i]!;
  stats.latency.count += d[5 + counts.length]!;
  stats.latency.sumMs += d[6 + counts.length]!;
}

// The pool owns a server's counters (pool/outcome.ts); a worker's deltas are added there.
const addServer = addWorkerCounts;
