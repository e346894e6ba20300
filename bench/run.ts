/**
 * `npm run bench` (= `bun bench/run.ts`): micro benchmarks, then the macro benchmark of bench/load.ts;
 * prints one markdown table and writes bench/results.md with the machine, versions and command.
 *
 *   bun bench/run.ts [--scenario l7-1k,l7-100k] [--peers tenbin,tenbin-runtime,haproxy,nginx,caddy]
 *                    [--connections 50,200] [--workers 1,2]
 *                    [--no-micro] [--no-macro] [--no-direct] [--no-idle] [--no-startup]
 *   env: BENCH_DURATION (10s), BENCH_WARMUP (2s), BENCH_ROUNDS (1), BENCH_CONNECTIONS (50,200),
 *        BENCH_BACKEND=bun (Bun backends even when nginx is installed); BENCH_DURATION=3s for a quick run
 *
 * Scenarios: l7-1k, l7-100k (the default), l7-full-1k, https-1k, l4-1k, l4-100k, tls-pass-1k,
 * tls-pass-100k (bench/configs/scenarios.ts).
 * `--workers 1,2`: a pass per count, every balancer with that many processes/threads (tenbin `workers`,
 * HAProxy `nbthread`, nginx `worker_processes`, Caddy GOMAXPROCS) and pinned to that many cores.
 *
 * `--idle` (default on): tenbin's RSS with 10,000 idle keep-alive clients (bench/idle-conns.ts);
 * `--startup` (default on): dist/tenbin spawn → first proxied 200 (bench/startup.ts).
 *
 * Peers for the macro benchmark: `apt-get install haproxy nginx caddy wrk`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { release, totalmem } from "node:os";
import { join } from "node:path";
import { buildBinary } from "../build.ts";
import { PEERS, type PeerSpec } from "./configs/peers.ts";
import { DEFAULT_SCENARIOS, SCENARIOS } from "./configs/scenarios.ts";
import { type CpuPlan, sharedCores } from "./cpu-plan.ts";
import type { PeerName } from "./configs/types.ts";
import { type LoadReport, type Measurement, runLoadBench } from "./load.ts";
import { renderIdleConns, runIdleConnsBench } from "./idle-conns.ts";
import { renderStartup, runStartupBench } from "./startup.ts";

const ROOT = join(import.meta.dir, "..");
// Other work on the machine skews every number; the report shows how busy it was when we began.
const LOAD_AT_START = existsSync("/proc/loadavg") ? readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ") : "unknown";
const USAGE = "Usage: bun bench/run.ts [--scenario a,b] [--peers a,b] [--connections 50,200] [--workers 1,2] [--no-micro] [--no-macro] [--no-direct] [--no-idle] [--no-startup]";

interface RunOptions {
  scenarios: string[];
  peers: string[];
  connections: number[];
  workers: number[];
  micro: boolean;
  macro: boolean;
  direct: boolean;
  idle: boolean;
  startup: boolean;
}

function parseArgs(argv: string[]): RunOptions {
  const options: RunOptions = {
    scenarios: [...DEFAULT_SCENARIOS],
    peers: PEERS.map((p) => p.name),
    connections: (process.env.BENCH_CONNECTIONS ?? "50,200").split(",").map(Number),
    workers: [1],
    micro: true,
    macro: true,
    direct: true,
    idle: true,
    startup: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const list = (): string[] => (argv[++i] ?? "").split(",").filter((s) => s !== "");
    if (arg === "--scenario" || arg === "--scenarios") options.scenarios = list();
    else if (arg === "--peers") options.peers = list();
    else if (arg === "--connections") options.connections = list().map(Number);
    else if (arg === "--workers") options.workers = list().map(Number);
    else if (arg === "--no-micro") options.micro = false;
    else if (arg === "--no-macro") options.macro = false;
    else if (arg === "--no-direct") options.direct = false;
    else if (arg === "--idle" || arg === "--no-idle") options.idle = arg === "--idle";
    else if (arg === "--startup" || arg === "--no-startup") options.startup = arg === "--startup";
    else throw new Error(`Unknown option "${arg}"\n${USAGE}`);
  }
  for (const name of options.scenarios) {
    if (!SCENARIOS.some((s) => s.name === name)) throw new Error(`Unknown scenario "${name}" (known: ${SCENARIOS.map((s) => s.name).join(", ")})`);
  }
  for (const name of options.peers) {
    if (!PEERS.some((p) => p.name === name)) throw new Error(`Unknown peer "${name}" (known: ${PEERS.map((p) => p.name).join(", ")})`);
  }
  if (options.connections.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`Invalid connection counts "${options.connections.join(",")}"`);
  if (options.workers.length === 0 || options.workers.some((w) => !Number.isInteger(w) || w < 1 || w > 64)) {
    throw new Error(`Invalid worker counts "${options.workers.join(",")}" (expected such as 1,2)`);
  }
  return options;
}

/** Runs a micro benchmark module's export if the file exists; its markdown, or why not. */
async function runMicro(file: string, exportName: string): Promise<string> {
  const path = join(ROOT, "bench", file);
  if (!existsSync(path)) return `skipped (bench/${file} not present)`;
  try {
    const mod = (await import(path)) as Record<string, unknown>;
    const fn = mod[exportName];
    if (typeof fn !== "function") return `skipped (bench/${file} exports no ${exportName})`;
    const out: unknown = await fn();
    return typeof out === "string" ? out : "done (no table returned)";
  } catch (error) {
    return `failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/tenbin when it is missing or older than src/; returns why tenbin cannot run, if so. */
async function ensureTenbin(): Promise<string | undefined> {
  if (!existsSync(join(ROOT, "src", "main.ts"))) return "src/main.ts not written yet";
  const binary = join(ROOT, "dist", "tenbin");
  if (existsSync(binary) && statSync(binary).mtimeMs >= newestMtime(join(ROOT, "src"))) return undefined;
  try {
    const built = await buildBinary();
    console.error(`built ${built.outfile} in ${built.ms} ms`);
    return undefined;
  } catch (error) {
    return `build failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
  }
}

const num = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "";

/** The macro results as one markdown table; req/s relative to HAProxy in the same cell (and worker count). */
export function renderTable(measurements: readonly Measurement[]): string {
  const title = (name: PeerName | "direct") => name === "direct" ? "direct to backend (ceiling)" : PEERS.find((p) => p.name === name)?.title ?? name;
  const lines = [
    "| scenario | conns | balancer | req/s | p50 ms | p99 ms | errors | peak RSS MB | CPU ms / 1k req | vs HAProxy |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const m of measurements) {
    // One worker is the default and reads as before; other counts are named in the scenario cell.
    const scenario = m.workers === 1 ? m.scenario : `${m.scenario}, ${m.workers} workers`;
    const head = `| ${scenario} | ${m.connections} | ${title(m.peer)} |`;
    if (m.outcome !== "ok") {
      const text = m.outcome === "skipped" ? (m.note.startsWith("skipped") ? m.note : `skipped (${m.note})`) : `failed: ${m.note.replaceAll("|", "/").slice(0, 160)}`;
      lines.push(`${head} ${text} | | | | | | |`);
      continue;
    }
    const ref = measurements.find((r) => r.scenario === m.scenario && r.connections === m.connections && r.workers === m.workers && r.peer === "haproxy" && r.outcome === "ok");
    const ratio = m.peer === "direct" ? "" : ref ? `${(m.rps / ref.rps).toFixed(2)}×` : "n/a";
    lines.push(`${head} ${num(m.rps)} | ${num(m.p50Ms, 2)} | ${num(m.p99Ms, 2)} | ${num(m.errors)} | ${num(m.rssKb / 1024, 1)} | ${num(m.cpuMsPerKReq, 1)} | ${ratio} |`);
  }
  return lines.join("\n");
}

function machine(): string[] {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  const os = existsSync("/etc/os-release") ? /PRETTY_NAME="?([^"\n]+)/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] : undefined;
  const cores = Bun.spawnSync({ cmd: ["nproc"] }).stdout.toString().trim();
  return [`- CPU: ${cpu}, ${cores} cores (nproc)`, `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`, `- OS: ${os ?? "unknown"}, kernel ${release()}`, `- load average when the run began: ${LOAD_AT_START}`];
}

function command(): string {
  const env = ["BENCH_DURATION", "BENCH_WARMUP", "BENCH_ROUNDS", "BENCH_CONNECTIONS", "BENCH_BACKEND"].filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]}`);
  return [...env, "node_modules/.bin/bun bench/run.ts", ...process.argv.slice(2)].join(" ");
}

/** What the report says about the cores of each pass (worker count). */
export function planNotes(plans: readonly { workers: number; plan: CpuPlan }[]): string[] {
  const multi = plans.some((p) => p.workers !== 1);
  const out = multi
    ? ["Workers N: tenbin `workers: N`, HAProxy `nbthread N`, nginx `worker_processes N` (under a master process when N > 1), Caddy `GOMAXPROCS=N`."]
    : [];
  for (const { workers, plan: p } of plans) {
    const head = multi ? `${workers} worker(s): ` : "";
    if (p.balancer === undefined) {
      out.push(`${head}Not pinned (no taskset or one core).`);
      continue;
    }
    out.push(`${head}Pinned: balancer on core(s) ${p.balancer}, backends on ${p.backends}, wrk on ${p.wrk} (${p.wrkThreads} thread(s)).`);
    const sharing = `wrk and the backends share core ${p.wrk}: the "direct to backend" row is the ceiling of this machine, and a balancer near it is limited by that core, not by itself.`;
    if (p.wrk !== undefined && p.wrk === p.backends && !out.includes(sharing)) out.push(sharing);
    const shared = sharedCores(p);
    if (shared.length > 0) {
      out.push(`The balancer's ${workers} workers share core(s) ${shared.join(",")} with wrk and the backends: these ${workers}-worker numbers show the cost of sharing the cores, not a speed-up.`);
    }
  }
  return out;
}

/** One line per scenario in the table: what it runs, and what a peer does differently. */
function scenarioNotes(measurements: readonly Measurement[]): string[] {
  const names = [...new Set(measurements.map((m) => m.scenario))];
  const lines = names.flatMap((name) => {
    const s = SCENARIOS.find((x) => x.name === name);
    return s ? [`- \`${s.name}\`: ${s.title}.${s.note ? ` ${s.note}` : ""}`] : [];
  });
  return lines.length > 0 ? ["Scenarios:", "", ...lines, ""] : [];
}

function report(micro: [string, string][], load: LoadReport | undefined, table: string, settings: string, extra: [string, string][] = []): string {
  const out = ["# tenbin benchmark results", "", `Generated ${new Date().toISOString()} by \`${command()}\`.`, "", "## Machine", "", ...machine(), ""];
  if (load) {
    out.push("## Versions", "", `- Bun ${Bun.version} (harness)`, ...Object.entries(load.versions).map(([k, v]) => `- ${k} ${v}`), "");
    out.push("## Macro benchmark", "", settings, `Backends: ${load.backend}.`, ...planNotes(load.cpuPlans));
    out.push(
      "Each cell is a fresh balancer process after a warm-up; peak RSS is the VmHWM summed over its processes",
      "(worker processes included); CPU ms / 1k req is the balancer's user + system time (all its processes)",
      "over the measured run per 1,000 requests (its cost, steadier than req/s when other work competes for",
      "the cores). In every HTTP scenario each peer adds the forwarding headers tenbin adds (X-Forwarded-For,",
      "-Proto and -Host, Forwarded, an X-Request-Id UUID) and keeps the client's Host (bench/configs/peer-skeletons.ts).",
      "",
      ...scenarioNotes(load.measurements),
      table,
      "",
    );
  }
  for (const [title, text] of extra) out.push(`## ${title}`, "", text, "");
  for (const [name, text] of micro) out.push(`## Micro: ${name}`, "", text, "");
  return out.join("\n");
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const micro: [string, string][] = [];
  if (options.micro) {
    for (const [file, fn] of [["micro.ts", "runMicroBench"], ["micro-router.ts", "runRouterBench"]] as const) {
      console.error(`micro: bench/${file}`);
      const text = await runMicro(file, fn);
      micro.push([file, text]);
      console.log(`\n### bench/${file}\n\n${text}\n`);
    }
  }
  let load: LoadReport | undefined;
  let table = "";
  const duration = process.env.BENCH_DURATION ?? "10s";
  const warmup = process.env.BENCH_WARMUP ?? "2s";
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? "1") || 1);
  const settings = `wrk ${duration} per cell after a ${warmup} warm-up, ${rounds} round(s) (median by req/s), connections ${options.connections.join(" and ")}, balancer workers ${options.workers.join(" and ")}.`;
  if (options.macro) {
    const peers = PEERS.filter((p) => options.peers.includes(p.name));
    const isTenbin = (p: PeerSpec) => p.name === "tenbin" || p.configAs === "tenbin";
    const tenbinMissing = peers.some(isTenbin) ? await ensureTenbin() : undefined;
    const workDir = join(ROOT, "bench", ".work");
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    load = await runLoadBench({
      root: ROOT,
      scenarios: SCENARIOS.filter((s) => options.scenarios.includes(s.name)),
      peers: tenbinMissing === undefined ? peers : peers.map((p) => (isTenbin(p) ? { ...p, find: () => undefined } : p)),
      connections: options.connections,
      workers: options.workers,
      duration,
      warmup,
      rounds,
      workDir,
      direct: options.direct,
      backend: process.env.BENCH_BACKEND === "bun" ? "bun" : "auto",
      log: (line) => console.error(line),
      ...(tenbinMissing === undefined ? {} : { unavailable: { tenbin: tenbinMissing, "tenbin-runtime": tenbinMissing } }),
    });
    table = renderTable(load.measurements);
    console.log(`\n${settings}\n${planNotes(load.cpuPlans).join("\n")}\n\n${table}\n`);
  }
  const extra: [string, string][] = [];
  if (options.idle || options.startup) {
    const missing = await ensureTenbin();
    if (options.idle) {
      console.error("idle: 10,000 keep-alive clients (bench/idle-conns.ts)");
      const text = missing ?? renderIdleConns(await runIdleConnsBench({ root: ROOT, log: (line) => console.error(line) }));
      extra.push(["Memory: idle keep-alive clients (`bun bench/idle-conns.ts`)", text]);
      console.log(`\n${text}\n`);
    }
    if (options.startup) {
      console.error("startup: dist/tenbin → first proxied 200 (bench/startup.ts)");
      const text = missing ?? renderStartup(await runStartupBench({ root: ROOT }));
      extra.push(["Start-up of the compiled binary (`bun bench/startup.ts`)", text]);
      console.log(`\n${text}\n`);
    }
  }
  const file = join(ROOT, "bench", "results.md");
  writeFileSync(file, report(micro, load, table, settings, extra));
  console.error(`wrote ${file}`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
