/**
 * `tenbin ready [-c FILE | --admin HOST:PORT] [--pools] [--timeout 1s]`: asks a running tenbin's
 * admin `/healthz` whether it is ready, for health scripts (keepalived `track_script`, a BIRD
 * announcement watcher, systemd `ExecStartPost`). Its exit code is the answer:
 * - 0: ready (listeners bound, not stopping; with `--pools`, also a usable server in every pool);
 * - 1: not ready, or no answer within the timeout (a killed or frozen tenbin is not ready);
 * - 2: usage error (main.ts); `--help` prints the usage and exits 0.
 * It prints one line: `ready` or `not ready: <reason>`.
 */
import { flagValue, parseFlags, UsageError } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import type { Config } from "../config/schema.ts";
import { type Address, parseAddress, parseDuration } from "../config/units.ts";

/** What `tenbin ready` needs. */
export interface ReadyCommandOptions {
  /** The admin listener to ask (from `--admin` or the config's `admin.listen`). */
  admin: Address;
  pools: boolean;
  timeoutMs: number;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  write: (text: string) => void;
}

/** `tenbin ready ARGS` from main.ts: parses the flags (UsageError: exit 2) and asks. */
export async function readyCommand(rest: readonly string[], deps: { write: (text: string) => void; loadConfig: (file: string) => Promise<Config> }): Promise<number> {
  const args = parseFlags("ready", rest, { config: { value: true, alias: "c" }, admin: { value: true }, pools: { value: false }, timeout: { value: true } });
  if (args.help) {
    deps.write(COMMANDS.ready.usage);
    return 0;
  }
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"`);
  const timeout = flagValue(args, "timeout", "1s");
  const timeoutMs = parseDuration(timeout);
  if (timeoutMs === undefined || timeoutMs <= 0) throw new UsageError(`bad duration "${timeout}" for --timeout; expected e.g. 1s`);
  const adminText = args.flags.get("admin")?.at(-1);
  // --admin skips loading the config: a check every second should not parse YAML each time.
  let admin = adminText !== undefined ? parseAddress(adminText) : undefined;
  if (adminText !== undefined && !admin) throw new UsageError(`bad address "${adminText}" for --admin; expected host:port such as 127.0.0.1:9090`);
  if (!admin) {
    const file = flagValue(args, "config", "tenbin.yaml");
    const config = await deps.loadConfig(file);
    if (!config.admin.enabled) throw new UsageError(`ready asks the admin listener, but admin.enabled is false in "${file}"; enable it or pass --admin HOST:PORT`);
    admin = config.admin.listen;
  }
  return await runReadyCommand({ admin, pools: args.flags.has("pools"), timeoutMs, fetch: (url, init) => fetch(url, init), write: deps.write });
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
