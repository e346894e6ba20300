/** Builds a `Pool` on a FakeClock for unit tests: config through the real schema, no network. */
import { poolSchema } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { type AcquireContext, type AcquireFailure, Pool } from "../../src/pool/pool.ts";
import type { ServerState } from "../../src/pool/server-state.ts";
import { FakeClock, seededRandom } from "../../src/util/clock.ts";
import { makeServers, type ServerSpec } from "./balance/servers.ts";

/** A pool over servers 10.0.0.1:8080, 10.0.0.2:8080, ... with `pool` as its YAML-level config. */
export function makePool(specs: readonly ServerSpec[], pool: Record<string, unknown> = {}, clock = new FakeClock(1_000_000)) {
  const config = poolSchema.parse({ servers: specs.map((_, i) => ({ url: `http://10.0.0.${i + 1}:8080` })), ...pool });
  const servers = makeServers(clock, specs);
  const logger = memoryLogger();
  const instance = new Pool("app", config, {
    clock,
    random: seededRandom(7),
    logger,
    fetch: () => Promise.reject(new Error("no network in unit tests")),
    servers,
    fallbackCookieKey: "unit-test-key",
  });
  return { pool: instance, servers, clock, logger };
}

/** A plain acquire context for client `ip`. */
export function ctx(ip = "192.0.2.1", extra: Partial<AcquireContext> = {}): AcquireContext {
  return { clientIp: ip, ...extra };
}

/** Acquires and expects a server at once (not queued). */
export function take(pool: Pool, context: AcquireContext = ctx()): ServerState {
  const got = pool.acquire(context);
  if (typeof got === "string" || got instanceof Promise) throw new Error(`Expected a server at once, got "${String(got)}"`);
  return got;
}

/** Lets promise callbacks run. */
export const settle = () => new Promise<void>((r) => setTimeout(r, 0));

/** Tracks a queued acquire: `result` is filled when it settles. */
export function queued(pending: ServerState | AcquireFailure | Promise<ServerState | AcquireFailure>) {
  if (!(pending instanceof Promise)) throw new Error(`Expected the request to wait, got "${typeof pending === "string" ? pending : pending.name}"`);
  const box: { result: ServerState | AcquireFailure | undefined } = { result: undefined };
  void pending.then((r) => (box.result = r));
  return box;
}
