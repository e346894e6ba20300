/** Builds an admin app over real pools from YAML, without listeners or network, for app.request() tests. */
import type { Hono } from "hono";
import { createAdminApp } from "../../src/admin/app.ts";
import type { ReloadResult } from "../../src/admin/reloader.ts";
import type { AdminListener, AdminView } from "../../src/admin/view.ts";
import { loadConfigText } from "../../src/config/load.ts";
import type { L4Stats } from "../../src/listener/l4.ts";
import type { Config } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { MetricsRegistry } from "../../src/observe/metrics.ts";
import { Pool } from "../../src/pool/pool.ts";
import { ServerState } from "../../src/pool/server-state.ts";
import { FakeClock, seededRandom } from "../../src/util/clock.ts";

/** A mutable AdminView plus the knobs tests turn. */
export interface TestView extends AdminView {
  config: Config;
  pools: Map<string, Pool>;
  listeners: AdminListener[];
  lastReload: ReloadResult | undefined;
  accepting: boolean;
  l4Stats: Map<string, L4Stats>;
}

/** An admin app over the pools of `yaml`; every listener counts as bound on port 10000+i. */
export function makeAdmin(yaml: string, options: { reload?: () => Promise<ReloadResult>; env?: Record<string, string> } = {}) {
  const config = loadConfigText(yaml, "admin-test.yaml", options.env ?? {});
  const clock = new FakeClock(1_000_000);
  const logger = memoryLogger();
  const pools = new Map<string, Pool>();
  for (const [name, poolConfig] of Object.entries(config.pools)) {
    const servers = poolConfig.servers.map((s) => new ServerState(s, clock));
    pools.set(name, new Pool(name, poolConfig, {
      clock,
      random: seededRandom(1),
      logger,
      fetch: () => Promise.reject(new Error("no network in unit tests")),
      servers,
      fallbackCookieKey: "k",
    }));
  }
  const view: TestView = {
    config,
    pools,
    listeners: config.listeners.map((l, i) => ({ name: l.name, hostname: "127.0.0.1", port: 10_000 + i })),
    metrics: new MetricsRegistry(),
    l4Stats: new Map(),
    lastReload: { ok: true, trigger: "start", at: new Date(0).toISOString(), durationMs: 0, errors: [], message: "loaded" },
    accepting: true,
  };
  const reload = options.reload ?? (() => Promise.resolve({ ok: true, trigger: "api", at: new Date(0).toISOString(), durationMs: 1, errors: [], message: "reloaded" }));
  const app: Hono = createAdminApp({ view, reload, logger, version: "test", runtime: "bun test", now: () => 61_000, startedAt: 0 });
  /** A request as a loopback client would send it. */
  const request = (path: string, init: RequestInit = {}) => app.request(`http://127.0.0.1:9090${path}`, init);
  return { app, view, clock, logger, request, server: (pool: string, i = 0) => view.pools.get(pool)!.servers[i]! };
}

/** Two pools, web (two servers, the second named) and api (one), one listener. */
export const TWO_POOLS = `
listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
      - { name: api, match: { path: /api/ }, pool: api }
      - { pool: web }
pools:
  web:
    servers:
      - { url: "http://10.0.0.1:8080" }
      - { url: "http://10.0.0.2:8080", name: web-2, weight: 3 }
  api:
    servers: [{ url: "http://10.0.0.3:8080" }]
`;
