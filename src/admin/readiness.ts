/**
 * The readiness answer of `/healthz` and `/readyz`: whether this instance should receive traffic,
 * as JSON a health script (keepalived `track_script`, a BIRD check, a container probe) can trust.
 * Ready means: shutdown has not begun and every configured listener is bound; with `pools`, also
 * every pool has a server that can take a request now (healthy, not drained, not disabled).
 */
import type { AdminView } from "./view.ts";

/** One listener in the readiness answer. */
export interface ListenerReadiness {
  name: string;
  bound: boolean;
}

/** One pool in the readiness answer (only when pools were asked for). */
export interface PoolReadiness {
  name: string;
  /** Servers that can take a request now. */
  available: number;
  servers: number;
}

/** The body of `/healthz` and `/readyz`; the HTTP status is 200 when `ready`, 503 otherwise. */
export interface ReadinessJson {
  ready: boolean;
  /** Why not ready, in words (empty when ready): every failing condition, joined by "; ". */
  reason: string;
  /** False once shutdown began. */
  accepting: boolean;
  listeners: ListenerReadiness[];
  /** Present when pools were checked. */
  pools?: PoolReadiness[];
}

/** Whether `view` is ready; `pools` also requires an available server in each pool. */
export function readiness(view: AdminView, pools: boolean): ReadinessJson {
  const bound = new Set(view.listeners.map((l) => l.name));
  const listeners = view.config.listeners.map((l) => ({ name: l.name, bound: bound.has(l.name) }));
  const reasons: string[] = [];
  if (!view.accepting) reasons.push("stopping");
  const unbound = listeners.filter((l) => !l.bound).map((l) => JSON.stringify(l.name));
  if (unbound.length > 0) reasons.push(`not every listener is bound: ${unbound.join(", ")}`);
  let poolList: PoolReadiness[] | undefined;
  if (pools) {
    poolList = [...view.pools.values()].map((p) => ({
      name: p.name,
      available: p.servers.filter((s) => s.isUsable()).length,
      servers: p.servers.length,
    }));
    const empty = poolList.filter((p) => p.available === 0).map((p) => JSON.stringify(p.name));
    if (empty.length > 0) reasons.push(`no available server in pool ${empty.join(", ")}`);
  }
  return {
    ready: reasons.length === 0,
    reason: reasons.join("; "),
    accepting: view.accepting,
    listeners,
    ...(poolList ? { pools: poolList } : {}),
  };
}

/** Whether a `pools` query value asks for the pool check (`?pools`, `?pools=1`, `?pools=true`). */
export function wantsPools(value: string | undefined): boolean {
  return value !== undefined && value !== "0" && value !== "false";
}
