/**
 * Start-up time of the compiled binary: spawns dist/tenbin with a one-listener config in front of a
 * small backend and polls until the first proxied 200; reports the time from spawn to that answer,
 * and the CPU time tenbin had used by then (all its threads; Linux only). On a shared machine the
 * wall time swings with the load of others; the CPU time much less.
 *
 *   bun bench/startup.ts [--runs 10]
 *
 * The first run may pay for reading the binary from disk; the table shows it apart from the rest.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, logTail, spawnLogged, stopChild } from "./process.ts";

const HOST = "127.0.0.1";

/** Milliseconds from spawn to the first proxied 200, per run. */
export interface StartupResult {
  runs: number[];
  /** Median of the runs after the first. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** CPU ms tenbin had used at its first proxied 200, per run (NaN where /proc is missing). */
  cpuRuns: number[];
  /** Median of `cpuRuns` after the first. */
  cpuMedianMs: number;
}

/** CPU time (ns precision) all threads of a live process have used, in ms; NaN without /proc. */
function threadsCpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    }
    return ns / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** One start: spawn, poll every millisecond or so, stop. */
async function startOnce(command: readonly string[], dir: string, backendPort: number, run: number): Promise<{ ms: number; cpuMs: number }> {
  const port = await freePort(HOST);
  const config = join(dir, `tenbin-${run}.yaml`);
  writeFileSync(
    config,
    `# bench/startup.ts
listeners:
  - { name: web, listen: ${HOST}:${port}, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "http://${HOST}:${backendPort}" }] }
`,
  );
  const logBase = join(dir, `tenbin-${run}`);
  const started = performance.now();
  const child = spawnLogged([...command, "run", "-c", config], {}, logBase);
  try {
    const url = `http://${HOST}:${port}/`;
    while (performance.now() - started < 10_000) {
      if (child.exitCode !== null) throw new Error(`tenbin exited (${child.exitCode}): ${logTail(logBase)}`);
      try {
        // `connection: close`: a refused connect must not leave a pooled socket behind for the next try.
        const res = await fetch(url, { headers: { connection: "close" } });
        await res.arrayBuffer();
        if (res.status === 200) return { ms: performance.now() - started, cpuMs: threadsCpuMs(child.pid) };
      } catch {
        // not listening yet
      }
      await Bun.sleep(1);
    }
    throw new Error(`No proxied 200 within 10 s: ${logTail(logBase)}`);
  } finally {
    await stopChild(child);
  }
}

/** What `runStartupBench` takes. */
export interface StartupOptions {
  /** The repository root; tenbin is `dist/tenbin` in it unless `command` says otherwise. */
  root: string;
  /** argv that starts tenbin, before `run -c FILE` (tests use `bun src/main.ts`). */
  command?: string[];
  /** Starts to time, at least 2 (the first is reported apart). */
  runs?: number;
}

/** Starts tenbin `runs` times and measures spawn → first proxied 200. */
export async function runStartupBench(options: StartupOptions): Promise<StartupResult> {
  const count = Math.max(2, options.runs ?? 10);
  const backend = Bun.serve({ hostname: HOST, port: 0, fetch: () => new Response("ok\n") });
  const dir = mkdtempSync(join(tmpdir(), "tenbin-startup-"));
  try {
    // This process's first fetch sets up its HTTP client; let that not be counted in tenbin's first run.
    await (await fetch(`http://${HOST}:${backend.port}/`, { headers: { connection: "close" } })).arrayBuffer();
    const runs: number[] = [];
    const cpuRuns: number[] = [];
    const command = options.command ?? [join(options.root, "dist", "tenbin")];
    for (let i = 0; i < count; i++) {
      const { ms, cpuMs } = await startOnce(command, dir, backend.port ?? 0, i);
      runs.push(ms);
      cpuRuns.push(cpuMs);
    }
    const warm = runs.slice(1).sort((a, b) => a - b);
    const median = (sorted: number[]) => sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
    return {
      runs,
      medianMs: median(warm),
      minMs: Math.min(...warm),
      maxMs: Math.max(...warm),
      cpuRuns,
      cpuMedianMs: median(cpuRuns.slice(1).sort((a, b) => a - b)),
    };
  } finally {
    await backend.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The result as a markdown table. */
export function renderStartup(r: StartupResult): string {
  return [
    "| start → first proxied 200 | first run ms | median ms | min ms | max ms | CPU ms, all threads (median) | runs | goal |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    `| dist/tenbin | ${(r.runs[0] ?? Number.NaN).toFixed(0)} | ${r.medianMs.toFixed(0)} | ${r.minMs.toFixed(0)} | ${r.maxMs.toFixed(0)} | ${r.cpuMedianMs.toFixed(0)} | ${r.runs.length} | < 100 ms: ${r.medianMs < 100 ? "met" : "not met"} |`,
  ].join("\n");
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--runs");
  const runs = at >= 0 ? Number(args[at + 1]) : 10;
  if (!Number.isInteger(runs) || runs < 2) {
    console.error(`Invalid run count "${args[at + 1]}" (at least 2)`);
    process.exit(2);
  }
  console.log(renderStartup(await runStartupBench({ root: join(import.meta.dir, ".."), runs })));
}
