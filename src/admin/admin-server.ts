/**
 * The admin listener's lifecycle: bind `admin.listen`, rebind when a reload moves it, stop. The
 * handler (the Hono app) is built once and reads the running state per request.
 */
import type { AdminConfig } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import type { HttpServer, Runtime } from "../runtime/types.ts";
import { formatAddress } from "./format.ts";

/** The schema's default `admin.listen`. */
export const DEFAULT_ADMIN_LISTEN = "127.0.0.1:9090";

/** Binds and rebinds the admin listener as configs come and go. */
export class AdminServer {
  readonly #runtime: Pick<Runtime, "serveHttp">;
  readonly #logger: Logger;
  readonly #handler: (req: Request) => Response | Promise<Response>;
  #server: HttpServer | undefined;
  #listen: string | undefined;

  constructor(runtime: Pick<Runtime, "serveHttp">, logger: Logger, handler: (req: Request) => Response | Promise<Response>) {
    this.#runtime = runtime;
    this.#logger = logger;
    this.#handler = handler;
  }

  /** The bound address, when the admin listener runs. */
  get address(): { hostname: string; port: number } | undefined {
    return this.#server ? { hostname: this.#server.hostname, port: this.#server.port } : undefined;
  }

  /**
   * Brings the listener in line with `admin`. A failed bind keeps the previous listener; it throws
   * only on the first config (`initial`) and only for an address the user chose: the default
   * 127.0.0.1:9090 is also Prometheus's port, and a busy default must not stop the balancer.
   */
  async apply(admin: AdminConfig, initial: boolean): Promise<void> {
    if (!admin.enabled) {
      await this.stop();
      return;
    }
    const listen = formatAddress(admin.listen);
    if (this.#server && listen === this.#listen) return;
    let server: HttpServer;
    try {
      server = await this.#runtime.serveHttp({ hostname: admin.listen.host, port: admin.listen.port, handler: this.#handler, idleTimeoutSec: 30 });
    } catch (error) {
      const message = `cannot bind the admin listener on ${JSON.stringify(listen)}: ${(error as Error).message}`;
      if (initial && listen !== DEFAULT_ADMIN_LISTEN) throw new Error(message);
      this.#logger.warn(`${message}; running without it${this.#server ? " (the previous admin listener stays)" : ""}; set admin.listen to a free port`);
      return;
    }
    const old = this.#server;
    this.#server = server;
    this.#listen = listen;
    if (old) void old.stop();
    const url = `http://${formatAddress({ host: server.hostname, port: server.port })}`;
    this.#logger.info(`admin listening on ${url}`, { listener: "admin", url });
  }

  /** Stops the admin listener (requests in flight finish). */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#listen = undefined;
    await server?.stop(true);
  }
}
