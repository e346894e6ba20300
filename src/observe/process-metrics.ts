/**
 * The process metrics every Prometheus client library exports (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `process_open_fds`, `process_max_fds`, `process_start_time_seconds`),
 * read at scrape time from `node:process` and, on Linux, /proc/self.
 */
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

/** One scrape's process figures; a figure the system cannot give is undefined. */
export interface ProcessMetrics {
  cpuSeconds: number;
  residentBytes: number;
  openFds: number | undefined;
  maxFds: number | undefined;
  startTimeSeconds: number;
}

/** When this process started, in ms since the epoch (`performance.timeOrigin`, on both runtimes). */
export function processStartedAt(): number {
  return performance.timeOrigin;
}

/** The process's figures now. */
export function readProcessMetrics(): ProcessMetrics {
  const cpu = process.cpuUsage();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: process.memoryUsage.rss(),
    openFds: openFds(),
    maxFds: maxFds(),
    startTimeSeconds: processStartedAt() / 1000,
  };
}

function openFds(): number | undefined {
  try {
    // The directory listing holds an fd of its own while it is read: not counted.
    return Math.max(0, readdirSync("/proc/self/fd").length - 1);
  } catch {
    return undefined; // not Linux
  }
}

function maxFds(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    return soft === undefined || soft === "unlimited" ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
