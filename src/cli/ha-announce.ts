/**
 * `tenbin ha announce --protocol tenbin_service [--admin 127.0.0.1:9090] [--birdc CMD] ...`: the
 * watcher that makes a BGP announcement follow tenbin's readiness. It asks `/healthz` every
 * `interval` and, after `fall` failed answers in a row, runs `birdc disable <protocol>` (BIRD
 * withdraws the route at once); after `rise` good ones, `birdc enable <protocol>`. The first answer
 * sets the state at once, so a restarted watcher agrees with BIRD. On SIGTERM/SIGINT it withdraws
 * before it exits: a node taken out of service stops getting new connections.
 * A watcher, not a BIRD check: BIRD 2 has no per-route check script, and a loop inside the
 * process that already knows readiness costs no process start per check.
 */
import { execFile } from "node:child_process";
import { readinessUrl } from "./ready.ts";
import type { Address } from "../config/units.ts";

/** What the watcher needs. */
export interface AnnounceOptions {
  admin: Address;
  pools: boolean;
  /** The BIRD protocol holding the announcement. */
  protocol: string;
  /** birdc and its arguments before the command (e.g. ["birdc", "-s", "/run/bird/bird.ctl"]). */
  birdc: string[];
  intervalMs: number;
  rise: number;
  fall: number;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  log: (line: string) => void;
  /** Ends the loop (SIGTERM); the announcement is withdrawn first. */
  signal: AbortSignal;
}

/** Runs the watcher until `signal` aborts; resolves to the exit code. */
export async function runAnnounce(opts: AnnounceOptions): Promise<number> {
  const url = readinessUrl(opts.admin, opts.pools);
  let announced: boolean | undefined;
  let streak = 0;
  let lastReady: boolean | undefined;
  while (!opts.signal.aborted) {
    const started = Date.now();
    const ready = await askReady(url, opts);
    streak = ready === lastReady ? streak + 1 : 1;
    lastReady = ready;
    const want = announced === undefined ? ready : streak >= (ready ? opts.rise : opts.fall) ? ready : announced;
    if (want !== announced && !opts.signal.aborted) {
      const ok = await birdc(opts, want ? "enable" : "disable");
      // On failure (BIRD restarting) the state stays unknown and the next round tries again.
      announced = ok ? want : undefined;
      if (ok) opts.log(`${want ? "announced" : "withdrew"} ${opts.protocol}: tenbin is ${want ? "ready" : "not ready"}`);
    }
    await sleep(Math.max(0, opts.intervalMs - (Date.now() - started)), opts.signal);
  }
  await birdc(opts, "disable");
  opts.log(`withdrew ${opts.protocol}: stopping`);
  return 0;
}

async function askReady(url: string, opts: AnnounceOptions): Promise<boolean> {
  try {
    const res = await opts.fetch(url, { signal: AbortSignal.timeout(Math.max(100, opts.intervalMs)) });
    const body = (await res.json()) as { ready?: unknown };
    return res.status === 200 && body.ready === true;
  } catch {
    return false;
  }
}

function birdc(opts: AnnounceOptions, command: "enable" | "disable"): Promise<boolean> {
  const [file = "birdc", ...args] = opts.birdc;
  return new Promise((resolve) => {
    execFile(file, [...args, command, opts.protocol], { timeout: 5000 }, (error, stdout, stderr) => {
      // birdc exits 0 even when BIRD refuses; its answer names the protocol on success.
      const text = `${stdout}${stderr}`;
      const ok = !error && new RegExp(`${opts.protocol}: (enabled|disabled)|already (enabled|disabled)`).test(text);
      if (!ok) opts.log(`birdc ${command} ${opts.protocol} failed: ${error ? error.message : text.trim()}`);
      resolve(ok);
    });
  });
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
