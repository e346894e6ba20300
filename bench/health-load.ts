/**
 * Do active probes disturb request latency? 256 servers probed every second (HTTP, `connection:
 * close`, so 256 new connections a second on top of the traffic) against the same pool without
 * probes, measured with wrk through tenbin.
 *
 *   node_modules/.bin/bun bench/health-load.ts
 *   HEALTH_BENCH_DURATION=5s HEALTH_BENCH_ROUNDS=3 HEALTH_BENCH_CONNECTIONS=4,64 HEALTH_BENCH_SERVERS=256 ...
 *
 * tenbin runs in this process (pinned to one core when taskset exists); the 256 backends (Bun.serve
 * on port 0, one process) and wrk share the other core. Modes alternate from round to round, each
 * switched in by `Tenbin.reload`, and each window counts the probes that really ran so a silent
 * "probes on" that probes nothing cannot pass for a result.
 */
import { join } from "node:path";
import { loadConfigText } from "../src/config/load.ts";
import { createLogger } from "../src/observe/log.ts";
import { bunRuntime } from "../src/runtime/bun.ts";
import { Tenbin } from "../src/start.ts";
import { stopChild } from "./process.ts";
import { durationSeconds, runWrk, type WrkResult } from "./wrk.ts";

const ROOT = join(import.meta.dir, "..");
const BUN = join(ROOT, "node_modules/.bin/bun");

/** One measurement window. */
interface Row extends WrkResult {
  mode: Mode;
  connections: number;
  round: number;
  /** Probes finished during the window, and how many failed. */
  probes: number;
  probeFailures: number;
}

/** Child mode: `n` backends answering "ok" (but never to /hang); prints their ports as one JSON line. */
function serveBackends(n: number): void {
  const ports: number[] = [];
  const never = new Promise<Response>(() => {});
  for (let i = 0; i < n; i++) {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: (req) => (req.url.endsWith("/hang") ? never : new Response("ok")),
    });
    ports.push(server.port!);
  }
  process.stdout.write(JSON.stringify(ports) + "\n");
}

type Mode = "probes off" | "probes on" | "probes hang";
const MODES: readonly Mode[] = ["probes off", "probes on", "probes hang"];

/**
 * `probes hang`: every health endpoint hangs until the probe's 1 s timeout, the worst case for
 * probes in flight (~256 at any time). `initial: up` and fall 1000 keep the servers in service, so
 * only the probes' own cost is measured.
 */
function configYaml(ports: readonly number[], mode: Mode): string {
  const servers = ports.map((p) => `      - { url: "http://127.0.0.1:${p}" }`).join("\n");
  const health = mode === "probes on"
    ? "    health: { http: { path: /healthz }, interval: 1s, timeout: 500ms }\n"
    : mode === "probes hang"
    ? "    health: { http: { path: /hang }, interval: 1s, timeout: 1s, fall: 1000 }\n"
    : "";
  return `listeners:\n  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }\npools:\n  app:\n${health}    servers:\n${servers}\n`;
}

function hasTaskset(): boolean {
  try {
    return Bun.spawnSync({ cmd: ["taskset", "-V"], stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  } catch {
    return false;
  }
}

async function readPorts(child: ReturnType<typeof Bun.spawn>): Promise<number[]> {
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("backends exited before printing their ports");
    text += decoder.decode(value, { stream: true });
  }
  clearTimeout(deadline);
  reader.releaseLock();
  return JSON.parse(text.slice(0, text.indexOf("\n"))) as number[];
}

function probeTotals(tenbin: Tenbin): { probes: number; failures: number } {
  let probes = 0;
  let failures = 0;
  for (const pool of tenbin.pools.values()) {
    for (const server of pool.servers) {
      const stats = pool.active?.stats(server);
      probes += stats?.probes ?? 0;
      failures += stats?.failures ?? 0;
    }
  }
  return { probes, failures };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function table(rows: readonly Row[]): string {
  const out = [
    "| conns | mode | rounds | req/s (median) | p50 ms (median) | p99 ms (median) | p99 ms (worst) | errors | probes/s | failed probes/s |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const connections = [...new Set(rows.map((r) => r.connections))];
  for (const c of connections) {
    for (const mode of MODES) {
      const set = rows.filter((r) => r.connections === c && r.mode === mode);
      if (set.length === 0) continue;
      const perSec = (n: number): string => (n / (set.length * DURATION_S)).toFixed(0);
      out.push(
        `| ${c} | ${mode} | ${set.length} | ${median(set.map((r) => r.rps)).toFixed(0)} | ${median(set.map((r) => r.p50Ms)).toFixed(2)} | ` +
          `${median(set.map((r) => r.p99Ms)).toFixed(2)} | ${Math.max(...set.map((r) => r.p99Ms)).toFixed(2)} | ` +
          `${set.reduce((s, r) => s + r.errors, 0)} | ${perSec(set.reduce((s, r) => s + r.probes, 0))} | ${perSec(set.reduce((s, r) => s + r.probeFailures, 0))} |`,
      );
    }
  }
  return out.join("\n");
}

const DURATION = process.env.HEALTH_BENCH_DURATION ?? "5s";
const DURATION_S = durationSeconds(DURATION);

async function main(): Promise<void> {
  const servers = Number(process.env.HEALTH_BENCH_SERVERS ?? "256");
  const rounds = Number(process.env.HEALTH_BENCH_ROUNDS ?? "3");
  const connections = (process.env.HEALTH_BENCH_CONNECTIONS ?? "4,64").split(",").map(Number);
  const pin = hasTaskset();
  if (pin) Bun.spawnSync({ cmd: ["taskset", "-pc", "1", String(process.pid)], stdout: "ignore" });
  const other = (cmd: string[]) => (pin ? ["taskset", "-c", "0", ...cmd] : cmd);

  const backends = Bun.spawn({ cmd: other([BUN, import.meta.path, "--backends", String(servers)]), stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  const ports = await readPorts(backends);
  const logger = createLogger({ level: "warn", write: (line) => process.stderr.write(line) });
  const tenbin = await Tenbin.start(loadConfigText(configYaml(ports, "probes off"), "bench.yaml", {}), { runtime: bunRuntime, logger });
  const url = `http://127.0.0.1:${tenbin.listeners[0]!.port}/`;
  const wrk = { binary: "wrk", cpus: pin ? "0" : undefined, threads: 1 };
  console.error(`${servers} backends, tenbin on ${url}${pin ? " (tenbin on core 1; backends and wrk on core 0)" : " (not pinned)"}`);

  const rows: Row[] = [];
  try {
    for (const c of connections) {
      for (let round = 1; round <= rounds; round++) {
        // Rotate which mode goes first so none always runs on a warmer machine.
        const modes = MODES.map((_, i) => MODES[(i + round - 1) % MODES.length]!);
        for (const mode of modes) {
          await tenbin.reload(loadConfigText(configYaml(ports, mode), "bench.yaml", {}));
          await runWrk(wrk, c, "1s", url); // warm-up: connections, JIT, first probe round
          const before = probeTotals(tenbin);
          const result = await runWrk(wrk, c, DURATION, url);
          const after = probeTotals(tenbin);
          const row: Row = { ...result, mode, connections: c, round, probes: after.probes - before.probes, probeFailures: after.failures - before.failures };
          rows.push(row);
          console.error(`c=${c} round ${round} ${row.mode}: ${row.rps.toFixed(0)} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, errors ${row.errors}, probes ${row.probes} (${row.probeFailures} failed)`);
        }
      }
    }
  } finally {
    await tenbin.stop(2000);
    await stopChild(backends);
  }
  console.log(`\n${servers} servers, no probes / HTTP probe every 1s / probes hanging to their 1s timeout; wrk ${DURATION} per window after a 1s warm-up, ${rounds} round(s).\n\n${table(rows)}\n`);
}

if (import.meta.main) {
  if (process.argv[2] === "--backends") serveBackends(Number(process.argv[3] ?? "256"));
  else await main();
}
