/**
 * Telling a CI job or a service manager that tenbin is ready, without scraping log text: once every
 * listener is bound (or, with `when: "healthy"`, also once every pool can serve), the ready file
 * gets `{"listeners": {NAME: URL}, "admin": URL, "pid": N}` and systemd (Type=notify) gets READY=1.
 */
import { renameSync, writeFileSync } from "node:fs";
import process from "node:process";
import type { Logger } from "../observe/log.ts";
import type { Runtime } from "../runtime/types.ts";
import type { Tenbin } from "../start.ts";

/** How often `healthy` readiness looks at the pools. */
const HEALTH_POLL_MS = 100;

/** What `announceReady` needs. */
export interface ReadyOptions {
  runtime: Pick<Runtime, "notifySystemd">;
  logger: Logger;
  /** The ready file; none when undefined. */
  file: string | undefined;
  when: "bound" | "healthy";
  /** Aborted when tenbin stops before it was ready. */
  signal: AbortSignal;
}

/** The ready file's content. */
export interface ReadyInfo {
  listeners: Record<string, string>;
  admin: string | null;
  pid: number;
}

/** Waits for readiness (bounded by `signal`), then writes the file and notifies systemd. */
export async function announceReady(tenbin: Tenbin, options: ReadyOptions): Promise<void> {
  if (options.when === "healthy") {
    let waiting = "";
    while (!options.signal.aborted) {
      const notReady = poolsNotReady(tenbin);
      if (notReady.length === 0) break;
      const names = notReady.join(", ");
      if (names !== waiting) options.logger.info(`not ready yet: waiting for a healthy server in ${names}`);
      waiting = names;
      await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
    }
    if (options.signal.aborted) return;
  }
  const info = readyInfo(tenbin);
  if (options.file !== undefined) {
    // Written whole, then renamed: a reader polling for the file never sees half of it.
    const temp = `${options.file}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, `${JSON.stringify(info)}\n`);
      renameSync(temp, options.file);
    } catch (error) {
      options.logger.error(`cannot write the ready file "${options.file}": ${(error as Error).message}`);
    }
  }
  const notified = options.runtime.notifySystemd?.("READY=1\nSTATUS=serving");
  options.logger.info("ready", { ...(options.file !== undefined ? { ready_file: options.file } : {}), ...(notified ? { systemd: "notified" } : {}) });
}

/** Listener name → bound URL, the admin URL and the pid. */
export function readyInfo(tenbin: Tenbin): ReadyInfo {
  const admin = tenbin.adminAddress;
  const host = admin && admin.hostname.includes(":") ? `[${admin.hostname}]` : admin?.hostname;
  return {
    listeners: Object.fromEntries(tenbin.listeners.map((l) => [l.name, l.url])),
    admin: admin ? `http://${host}:${admin.port}` : null,
    pid: process.pid,
  };
}

/**
 * Pools that cannot serve yet: none of their servers is usable, or a server with active health
 * checks has not had its first probe (its initial state is only assumed).
 */
function poolsNotReady(tenbin: Tenbin): string[] {
  const out: string[] = [];
  for (const [name, pool] of tenbin.pools) {
    const probed = pool.servers.every((s) => !pool.active || (pool.active.stats(s)?.lastProbeAt ?? 0) >= 0 || s.protocol === "udp");
    if (!probed || !pool.servers.some((s) => s.isUsable())) out.push(`"${name}"`);
  }
  return out;
}
