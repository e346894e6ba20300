/** Which cores the macro benchmark pins the balancer, the backends and wrk to (`taskset -c`). */

/** Which cores run what (`taskset -c` lists); undefined when not pinned. */
export interface CpuPlan {
  balancer: string | undefined;
  backends: string | undefined;
  wrk: string | undefined;
  wrkThreads: number;
}

const list = (cores: readonly number[]) => cores.join(",");

/**
 * With one worker: the balancer alone on core 1, backends and wrk on the others (with two cores
 * they share core 0). With `workers` > 1 the balancer gets that many cores of its own when the
 * machine has two more for the backends and wrk; otherwise it gets the last `workers` cores (all of
 * them at most) and shares with the backends and wrk, which stay on core 0 — so on a small machine
 * more workers show the cost of sharing the cores, not a speed-up.
 */
export function planCpus(cores: number, hasTaskset: boolean, workers = 1): CpuPlan {
  if (!hasTaskset || cores < 2) return { balancer: undefined, backends: undefined, wrk: undefined, wrkThreads: Math.max(1, cores) };
  const w = Math.max(1, Math.min(workers, cores));
  const all = Array.from({ length: cores }, (_, i) => i);
  if (cores >= w + 2) {
    const balancer = all.slice(1, w + 1);
    const rest = all.filter((i) => i === 0 || i > w + 1);
    return { balancer: list(balancer), backends: String(w + 1), wrk: list(rest), wrkThreads: rest.length };
  }
  return { balancer: list(all.slice(cores - w)), backends: "0", wrk: "0", wrkThreads: 1 };
}

/** The cores the balancer shares with the backends or wrk under `plan` (none when it has its own). */
export function sharedCores(plan: CpuPlan): number[] {
  const cores = (text: string | undefined) => (text === undefined ? [] : text.split(",").map(Number));
  const others = new Set([...cores(plan.backends), ...cores(plan.wrk)]);
  return cores(plan.balancer).filter((c) => others.has(c));
}
