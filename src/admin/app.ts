/**
 * The admin plane as a Hono app, built from its dependencies (no globals): health check, JSON status,
 * run-time server changes, reload, Prometheus metrics and the dashboard page. Served on its own
 * listener (start.ts), never on a traffic listener, so Hono stays off the request path.
 */
import { processStartedAt } from "../observe/process-metrics.ts";
import { Hono, type Context } from "hono";
import { applyServerAction, applyServerWeight, findServer, isServerAction, parseWeight } from "./actions.ts";
import { authorized } from "./auth.ts";
import { DASHBOARD_HTML } from "./dashboard-page.ts";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from "./prometheus.ts";
import { readiness, wantsPools } from "./readiness.ts";
import { buildStatus, serverStatus } from "./status.ts";
import type { AdminDeps } from "./view.ts";

const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d+)?$/i;

/** Headers a proxy adds to a request it relays (tenbin's own proxy adds the first two or three). */
const FORWARDING_HEADERS = ["x-forwarded-for", "forwarded", "x-real-ip"] as const;

/** Builds the admin app; `app.fetch` is the handler of the admin listener. */
export function createAdminApp(deps: AdminDeps): Hono {
  const { view } = deps;
  const now = deps.now ?? Date.now;
  // Uptime counts from the process's start: the app itself is built on the first admin request.
  const startedAt = deps.startedAt ?? processStartedAt();
  const info = { version: deps.version, runtime: deps.runtime };
  const app = new Hono();

  // Before the auth middleware: keepalived, BIRD checks and container probes carry no token.
  // /healthz: listeners bound and not stopping; ?pools=1 (or /readyz) also a usable server per pool.
  const ready = (c: Context, pools: boolean) => {
    const answer = readiness(view, pools);
    return c.json(answer, answer.ready ? 200 : 503, { "cache-control": "no-store" });
  };
  app.get("/healthz", (c) => ready(c, wantsPools(c.req.query("pools"))));
  app.get("/readyz", (c) => ready(c, true));

  app.use("*", async (c, next) => {
    const token = view.config.admin.token;
    if (token !== undefined && !authorized(c.req.header("authorization"), token)) {
      // The page gets a Basic challenge so a browser asks for the token; API clients get Bearer.
      const challenge = c.req.path === "/" ? 'Basic realm="tenbin admin", charset="UTF-8"' : 'Bearer realm="tenbin admin"';
      return c.json({ error: "missing or wrong token; send Authorization: Bearer <admin.token>" }, 401, { "www-authenticate": challenge });
    }
    // Without a token only loopback names reach the admin: stops DNS rebinding from a web page.
    // (The runtime builds the request URL from the Host header.)
    const host = new URL(c.req.url).host;
    if (token === undefined && !LOOPBACK_HOST.test(host)) {
      return c.json({ error: `host ${JSON.stringify(host)} is not loopback; set admin.token to reach the admin from elsewhere` }, 403);
    }
    // Without a token, a request relayed by a proxy on this host (a pool pointing at the admin, by
    // mistake or by design) is not the loopback client it seems to be.
    if (token === undefined) {
      const relayed = FORWARDING_HEADERS.find((name) => c.req.header(name) !== undefined);
      if (relayed !== undefined) {
        return c.json({ error: `request relayed by a proxy (it carries ${relayed}); set admin.token to reach the admin through one` }, 403);
      }
    }
    // A web page from another origin may POST to localhost; browsers always say where they come from.
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const origin = c.req.header("origin");
      if (origin !== undefined && origin !== "null" && hostOf(origin) !== host) {
        return c.json({ error: `cross-origin request from ${JSON.stringify(origin)} refused` }, 403);
      }
      if (origin === "null") return c.json({ error: "cross-origin request refused" }, 403);
    }
    await next();
  });

  app.get("/", (c) => c.html(DASHBOARD_HTML, 200, { "cache-control": "no-store" }));
  app.get("/api/status", (c) => c.json(buildStatus(view, { ...info, now: now(), startedAt }), 200, { "cache-control": "no-store" }));
  app.get("/metrics", (c) => c.body(renderMetrics(view, info), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }));

  app.post("/api/reload", async (c) => {
    const result = await deps.reload();
    return c.json(result, result.ok ? 200 : 422);
  });

  app.post("/api/pools/:pool/servers/:server/:action", (c) => {
    const action = c.req.param("action");
    if (!isServerAction(action)) return c.json({ error: `unknown action ${JSON.stringify(action)}; expected drain, enable or disable` }, 404);
    const found = lookup(c);
    if (found instanceof Response) return found;
    applyServerAction(found.pool, found.server, action);
    deps.logger?.info(`admin: ${action} ${found.pool.name}/${found.server.name}`);
    return c.json(serverStatus(found.pool, found.server));
  });

  app.put("/api/pools/:pool/servers/:server/weight", async (c) => {
    const found = lookup(c);
    if (found instanceof Response) return found;
    const weight = parseWeight(await c.req.text());
    if (typeof weight === "string") return c.json({ error: weight }, 400);
    applyServerWeight(found.pool, found.server, weight);
    deps.logger?.info(`admin: weight ${found.pool.name}/${found.server.name} = ${weight}`);
    return c.json(serverStatus(found.pool, found.server));
  });

  app.notFound((c) => c.json({ error: `no admin endpoint ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => c.json({ error: error.message }, 500));
  return app;

  function lookup(c: Context) {
    const poolName = c.req.param("pool") ?? "";
    const serverName = c.req.param("server") ?? "";
    const pool = view.pools.get(poolName);
    if (!pool) return c.json({ error: `unknown pool ${JSON.stringify(poolName)}; expected one of ${[...view.pools.keys()].join(", ")}` }, 404);
    const server = findServer(pool, serverName);
    if (!server) return c.json({ error: `unknown server ${JSON.stringify(serverName)} in pool ${JSON.stringify(poolName)}; expected one of ${pool.servers.map((s) => s.name).join(", ")}` }, 404);
    return { pool, server };
  }
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
