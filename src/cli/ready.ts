/**
 * `tenbin ready [-c FILE | --admin HOST:PORT] [--pools] [--timeout 1s]`: asks a running tenbin's
 * admin `/healthz` whether it is ready, for health scripts (keepalived `track_script`, a BIRD
 * announcement watcher, systemd `ExecStartPost`). Its exit code is the answer:
 * - 0: ready (listeners bound, not stopping; with `--pools`, also a usable server in every pool);
 * - 1: not ready, or no answer within the timeout (a killed or frozen tenbin is not ready);
 * - 2: usage error (main.ts).
 * It prints one line: `ready` or `not ready: <reason>`.
 */
import type { Address } from "../config/units.ts";

/** What `tenbin ready` needs. */
export interface ReadyCommandOptions {
  /** The admin listener to ask (from `--admin` or the config's `admin.listen`). */
  admin: Address;
  pools: boolean;
  timeoutMs: number;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  write: (text: string) => void;
}

/** The URL of `/healthz` on `admin`; a wildcard bind address is asked on loopback. */
export function readinessUrl(admin: Address, pools: boolean): string {
  const host = admin.host === "0.0.0.0" || admin.host === "" ? "127.0.0.1" : admin.host === "::" ? "::1" : admin.host;
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return `http://${hostPart}:${admin.port}/healthz${pools ? "?pools=1" : ""}`;
}

/** Runs `tenbin ready`; resolves to the exit code (0 ready, 1 not ready). */
export async function runReadyCommand(opts: ReadyCommandOptions): Promise<number> {
  const url = readinessUrl(opts.admin, opts.pools);
  let res: Response;
  try {
    res = await opts.fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs), redirect: "manual" });
  } catch (error) {
    const timedOut = (error as Error).name === "TimeoutError";
    opts.write(`not ready: ${timedOut ? `no answer from ${url} within ${opts.timeoutMs}ms` : `cannot reach ${url}: ${(error as Error).message}`}\n`);
    return 1;
  }
  let body: { ready?: unknown; reason?: unknown } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // An answer that is not JSON (another service on that port): the status decides, said below.
  }
  if (res.status === 200 && body.ready === true) {
    opts.write("ready\n");
    return 0;
  }
  const reason = typeof body.reason === "string" && body.reason !== "" ? body.reason : `${url} answered ${res.status}`;
  opts.write(`not ready: ${reason}\n`);
  return 1;
}
