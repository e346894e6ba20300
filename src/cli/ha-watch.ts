/**
 * The readiness watchers of `tenbin ha`: a loop that asks `/healthz` every `interval` and, after
 * `fall` failed answers in a row (or `rise` good ones), tells an HA engine, through an action:
 * - `tenbin ha announce`: `birdc enable|disable <protocol>`, so a BGP announcement follows readiness
 *   (BIRD 2 has no per-route check script; a loop in one long-lived process costs no process start
 *   per check);
 * - `tenbin ha track`: writes 0 (ready) or 1 (not ready) to a keepalived `track_file` (weight 0),
 *   which keepalived reads on change (inotify): a dead or frozen tenbin puts the instance in FAULT
 *   within one interval instead of vrrp_script's whole seconds.
 * The first answer sets the state at once, so a restarted watcher agrees with the engine, and the
 * state is told again every `resyncMs` (the track file: every round, rewritten only when its
 * content differs; BIRD: every 5 s), so a restarted engine that forgot it learns it again. On
 * SIGTERM/SIGINT the watcher reports "not ready" before it exits: a node taken out of service
 * stops getting new connections. A watcher killed outright leaves the last state behind, which is
 * why the keepalived config keeps its vrrp_script as well.
 */
import { execFile } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { readinessUrl } from "./ready.ts";
import type { Address } from "../config/units.ts";

/** Tells an HA engine whether this node is ready; resolves to whether that worked. */
export type WatchAction = (ready: boolean) => Promise<boolean>;

/** What the watcher needs. */
export interface WatchOptions {
  admin: Address;
  pools: boolean;
  intervalMs: number;
  /** An answer slower than this counts as not ready (a frozen tenbin accepts but never answers). */
  timeoutMs: number;
  rise: number;
  fall: number;
  action: WatchAction;
  /** Tell the engine the unchanged state again this often (0: every round). */
  resyncMs: number;
  /** Names the action in log lines ("tenbin_service", "/run/tenbin-ready"). */
  target: string;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  log: (line: string) => void;
  /** Ends the loop (SIGTERM); "not ready" is reported first. */
  signal: AbortSignal;
}

/** Runs the watcher until `signal` aborts; resolves to the exit code. */
export async function runReadinessWatch(opts: WatchOptions): Promise<number> {
  const url = readinessUrl(opts.admin, opts.pools);
  let reported: boolean | undefined;
  let streak = 0;
  let last: boolean | undefined;
  let toldAt = 0;
  while (!opts.signal.aborted) {
    const started = Date.now();
    const ready = await askReady(url, opts);
    streak = ready === last ? streak + 1 : 1;
    last = ready;
    const want = reported === undefined ? ready : streak >= (ready ? opts.rise : opts.fall) ? ready : reported;
    const changed = want !== reported;
    if ((changed || started - toldAt >= opts.resyncMs) && !opts.signal.aborted) {
      // On failure (the engine restarting) the state stays unknown and the next round tries again.
      const ok = await opts.action(want);
      reported = ok ? want : undefined;
      toldAt = started;
      if (ok && changed) opts.log(`${opts.target}: ${want ? "ready" : "not ready"}`);
    }
    await sleep(Math.max(0, opts.intervalMs - (Date.now() - started)), opts.signal);
  }
  await opts.action(false);
  opts.log(`${opts.target}: not ready (watcher stopping)`);
  return 0;
}

/** `birdc enable|disable <protocol>`. */
export function birdAction(birdc: readonly string[], protocol: string, log: (line: string) => void): WatchAction {
  const [file = "birdc", ...args] = birdc;
  return (ready) => new Promise((resolve) => {
    const command = ready ? "enable" : "disable";
    execFile(file, [...args, command, protocol], { timeout: 5000 }, (error, stdout, stderr) => {
      // birdc exits 0 even when BIRD refuses; its answer names the protocol on success.
      const text = `${stdout}${stderr}`;
      const ok = !error && new RegExp(`${protocol}: (enabled|disabled)|already (enabled|disabled)`).test(text);
      if (!ok) log(`birdc ${command} ${protocol} failed: ${error ? error.message : text.trim()}`);
      resolve(ok);
    });
  });
}

/**
 * Writes 0 (ready) or 1 to a keepalived track_file when it holds anything else (keepalived's
 * `init_file 1 overwrite` resets it at each start), replacing it whole so keepalived never reads half.
 */
export function trackFileAction(file: string, log: (line: string) => void): WatchAction {
  return (ready) => {
    try {
      if (readCurrent(file) === (ready ? "0" : "1")) return Promise.resolve(true);
      writeFileSync(`${file}.tmp`, ready ? "0\n" : "1\n");
      renameSync(`${file}.tmp`, file);
      return Promise.resolve(true);
    } catch (error) {
      log(`cannot write ${JSON.stringify(file)}: ${(error as Error).message}`);
      return Promise.resolve(false);
    }
  };
}

function readCurrent(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
}

async function askReady(url: string, opts: WatchOptions): Promise<boolean> {
  try {
    const res = await opts.fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs) });
    const body = (await res.json()) as { ready?: unknown };
    return res.status === 200 && body.ready === true;
  } catch {
    return false;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
