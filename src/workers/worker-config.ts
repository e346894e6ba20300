/**
 * How many processes `workers` asks for, and the config a worker runs: the primary's, with what
 * only the primary does taken out.
 */
import { availableParallelism } from "node:os";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import type { Runtime } from "../runtime/types.ts";

/** Processes in all (the primary included) for a `workers` setting; `auto` = CPU cores. */
export function resolveWorkerCount(setting: Config["workers"], cpus: () => number = availableParallelism): number {
  return setting === "auto" ? Math.max(1, Math.min(64, cpus())) : setting;
}

/** Processes to run for `setting` on `runtime`: 1, with a warning, where it cannot spawn workers. */
export function plannedProcesses(setting: Config["workers"], runtime: Pick<Runtime, "name" | "spawnWorker">, logger: Logger): number {
  const wanted = resolveWorkerCount(setting);
  if (wanted > 1 && !runtime.spawnWorker) {
    logger.warn(`workers: ${wanted} is not supported on ${runtime.name} yet; running one process`);
    return 1;
  }
  return wanted;
}

/**
 * The config a worker runs, from the primary's config in force and the ports its listeners got:
 * - a listener on port 0 gets the primary's port (reusePort shares a port, it cannot pick one);
 * - UDP listeners stay with the primary (a UDP flow table lives in one process);
 * - no admin listener (the primary serves totals) and no file watch (the primary reloads workers).
 */
export function configForWorkers(config: Config, bound: readonly { name: string; port: number }[]): Config {
  const ports = new Map(bound.map((l) => [l.name, l.port]));
  const listeners = config.listeners.flatMap((l) => {
    if (l.mode === "udp") return [];
    const port = ports.get(l.name);
    return l.listen.port === 0 && port !== undefined ? [{ ...l, listen: { ...l.listen, port } }] : [l];
  });
  return { ...config, listeners, admin: { ...config.admin, enabled: false }, watch: false };
}
