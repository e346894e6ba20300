/**
 * Run-time changes of one server through the admin API. They live on `ServerState` (kept across
 * reloads by the registry) until the config changes that server, which resets them.
 */
import type { Pool } from "../pool/pool.ts";
import type { ServerState } from "../pool/server-state.ts";

/** What `POST /api/pools/{pool}/servers/{server}/{action}` can do. */
export type ServerAction = "drain" | "enable" | "disable";

/** Whether `text` names a server action. */
export function isServerAction(text: string): text is ServerAction {
  return text === "drain" || text === "enable" || text === "disable";
}

/**
 * Applies `action`: `drain` finishes in-flight requests but takes no new ones, `disable` takes the
 * server out at once (in-flight requests still finish), `enable` undoes both (also a `drain: true`
 * written in the config, until the config changes that server). A server that `enable` brings back
 * into service ramps up again under the pool's `slow_start`, as after a health recovery.
 */
export function applyServerAction(pool: Pool, server: ServerState, action: ServerAction): void {
  if (action === "drain") {
    server.drainOverride = true;
    return;
  }
  if (action === "disable") {
    server.disabled = true;
    return;
  }
  const wasOut = server.disabled || server.draining;
  server.disabled = false;
  server.drainOverride = false;
  if (wasOut) server.upSince = server.clock.now();
  // Requests queued for a full pool may now have a server.
  pool.wake();
}

/**
 * Sets the run-time weight; a server taken out by weight 0 and given a weight again ramps up under
 * `slow_start` like any server coming back.
 */
export function applyServerWeight(pool: Pool, server: ServerState, weight: number): void {
  if (server.weight === 0 && weight > 0) server.upSince = server.clock.now();
  server.weightOverride = weight;
  // Requests queued for a full pool may now have a server.
  pool.wake();
}

/** Largest weight the API accepts (the config's limit). */
export const MAX_WEIGHT = 1000;

/**
 * The weight of a `PUT .../weight` body: JSON `{"weight": N}`, a bare JSON number or plain text.
 * A string is the reason it was refused.
 */
export function parseWeight(body: string): number | string {
  let value: unknown = body.trim();
  try {
    value = JSON.parse(body);
  } catch {
    // plain text such as `5`
  }
  if (typeof value === "object" && value !== null && "weight" in value) value = (value as { weight: unknown }).weight;
  const weight = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof weight !== "number" || !Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
    return `bad weight ${JSON.stringify(body.trim().slice(0, 40))}; expected an integer from 0 to ${MAX_WEIGHT}, as {"weight": 5}`;
  }
  return weight;
}

/** A server of `pool` by name (or by its `host:port` key). */
export function findServer(pool: Pool, name: string): ServerState | undefined {
  return pool.servers.find((s) => s.name === name) ?? pool.servers.find((s) => s.key === name || s.key.endsWith(`://${name}`));
}
