/**
 * Start-up time of the compiled binary: spawns dist/tenbin with a one-listener config in front of a
 * small backend and polls until the first proxied 200; reports the time from spawn to that answer.
 *
 *   bun bench/startup.ts [--runs 10]
 *
 * The first run may pay for reading the binary from disk; the table shows it apart from the rest.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
}

/** One start: spawn, poll every millisecond or so, stop. */
async function startOnce(command: readonly string[], dir: string, backendPort: number, run: number): Promise<number> {
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
        if (res.status === 200) return performance.now() - started;
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
    const runs: number[] = [];
    const command = options.command ?? [join(options.root, "dist", "tenbin")];
    for (let i = 0; i < count; i++) runs.push(await startOnce(command, dir, backend.port ?? 0, i));
    const warm = runs.slice(1).sort((a, b) => a - b);
    return { runs, medianMs: warm[Math.floor((warm.length - 1) / 2)] ?? Number.NaN, minMs: Math.min(...warm), maxMs: Math.max(...warm) };
  } finally {
    await backend.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The result as a markdown table. */
export function renderStartup(r: StartupResult): string {
  return [
    "| start → first proxied 200 | first run ms | median ms | min ms | max ms | runs | goal |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    `| dist/tenbin | ${(r.runs[0] ?? Number.NaN).toFixed(0)} | ${r.medianMs.toFixed(0)} | ${r.minMs.toFixed(0)} | ${r.maxMs.toFixed(0)} | ${r.runs.length} | < 100 ms: ${r.medianMs < 100 ? "met" : "not met"} |`,
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
