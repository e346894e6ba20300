/**
 * The admin plane of one Tenbin: the Hono app, its listener and the reloader, wired together so
 * start.ts only has to create it, `apply` each config and `stop` it.
 */
import type { Config } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import type { Runtime } from "../runtime/types.ts";
import { VERSION } from "../version.ts";
import { AdminServer } from "./admin-server.ts";
import { type ReloadResult, Reloader } from "./reloader.ts";
import type { AdminView } from "./view.ts";

/** What the admin plane is made of. */
export interface AdminPlaneOptions {
  /** The running balancer; `lastReload` is answered by the plane itself. */
  view: Omit<AdminView, "lastReload">;
  runtime: Pick<Runtime, "serveHttp" | "name" | "version">;
  logger: Logger;
  /** Reads and validates the config source again (main.ts: the config file); no reloads without it. */
  load?: (() => Promise<Config>) | undefined;
  /** Names the source in messages. */
  source?: string | undefined;
  /** Switches to a new valid config (Tenbin.reload). */
  apply: (config: Config) => Promise<void>;
}

/** The fields the plane's view reads from the running balancer: a record, so a new field of `AdminView` must be listed. */
const FORWARDED: Record<Exclude<keyof AdminView, "lastReload">, true> = {
  config: true,
  pools: true,
  listeners: true,
  metrics: true,
  l4Stats: true,
  accepting: true,
  workers: true,
  certificates: true,
};

/** Admin listener + reloader of one Tenbin. */
export class AdminPlane {
  readonly #server: AdminServer;
  readonly #reloader: Reloader | undefined;

  constructor(options: AdminPlaneOptions) {
    const { view, runtime, logger, load, apply } = options;
    this.#reloader = load
      ? new Reloader({ load, apply, logger, counts: view.metrics.reloads, source: options.source ?? "the config" })
      : undefined;
    const plane = this;
    const fullView = { get lastReload() { return plane.lastReload; } } as AdminView;
    // Every other field reads through to `view` on each access: pools, listeners... change on reload.
    for (const key of Object.keys(FORWARDED) as (keyof typeof FORWARDED)[]) {
      Object.defineProperty(fullView, key, { get: () => view[key], enumerable: true, configurable: true });
    }
    // The Hono app (and the dashboard page) is built on the first admin request, not at start: a
    // balancer's first proxied request should not wait for modules only the admin plane uses.
    let app: Promise<{ fetch(req: Request): Response | Promise<Response> }> | undefined;
    const buildApp = async () => (await import("./app.ts")).createAdminApp({
      view: fullView,
      reload: () => this.reload("api"),
      logger,
      version: VERSION,
      runtime: `${runtime.name} ${runtime.version}`,
    });
    this.#server = new AdminServer(runtime, logger, async (req) => (await (app ??= buildApp())).fetch(req));
  }

  /** The latest reload's result (the initial load until then); undefined without a config source. */
  get lastReload(): ReloadResult | undefined {
    return this.#reloader?.last;
  }

  /** Where the admin listener is bound, if it is. */
  get address(): { hostname: string; port: number } | undefined {
    return this.#server.address;
  }

  /** Reloads from the config source (SIGHUP, file watch and `POST /api/reload` all come here). */
  async reload(trigger: string): Promise<ReloadResult> {
    if (!this.#reloader) {
      const at = new Date().toISOString();
      return { ok: false, trigger, at, durationMs: 0, errors: [], message: "reload is not possible: tenbin was started without a config file" };
    }
    return await this.#reloader.reload(trigger);
  }

  /** Binds, moves or stops the admin listener for `config`. */
  async apply(config: Config, initial: boolean): Promise<void> {
    await this.#server.apply(config.admin, initial);
  }

  /** Stops the admin listener. */
  async stop(): Promise<void> {
    await this.#server.stop();
  }
}
