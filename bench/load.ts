/**
 * The macro benchmark: real balancers on loopback, driven by wrk.
 *
 * Peers (bench only, not needed by CI): `apt-get install haproxy nginx caddy wrk`. A missing one is
 * reported as "skipped (not installed)", never as zero. Two backends (one nginx process serving
 * fixed files, or Bun servers without nginx) sit behind every balancer. Each measurement starts a
 * fresh balancer process pinned to one core, warms it up, runs wrk, reads the process's peak RSS
 * (VmHWM), and stops it. Peers run in alternating order from cell to cell so none always goes first.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nginxBackendConfig, writeBackendBodies } from "./configs/backends.ts";
import { findProgram, type PeerSpec } from "./configs/peers.ts";
import type { HostPort, PeerName, Scenario } from "./configs/types.ts";
import { type Child, cpuTimeMs, freePort, peakRssKb, pinned, programVersion, spawnLogged, stopChild, waitReady } from "./process.ts";
import { runWrk, type WrkRunner } from "./wrk.ts";

const HOST = "127.0.0.1";

/** What to run. */
export interface LoadOptions {
  root: string;
  scenarios: readonly Scenario[];
  peers: readonly PeerSpec[];
  connections: readonly number[];
  /** wrk durations, such as "10s". */
  duration: string;
  warmup: string;
  /** Measurements per cell; the median by req/s is reported. */
  rounds: number;
  /** An empty directory; generated configs and logs stay there for inspection. */
  workDir: string;
  log: (line: string) => void;
  /** "bun" serves the backends with Bun even when nginx is installed. */
  backend?: "auto" | "bun";
  /** Also measure wrk straight to a backend (the ceiling) in every cell. */
  direct: boolean;
  /** Why a peer's binary is missing, when "not installed" would be wrong (tenbin not built). */
  unavailable?: Partial<Record<PeerName, string>>;
}

/** One cell of the result table. */
export interface Measurement {
  scenario: string;
  connections: number;
  /** "direct": wrk straight to one backend, the ceiling of this machine and harness. */
  peer: PeerName | "direct";
  outcome: "ok" | "skipped" | "failed";
  /** Why it was skipped or failed. */
  note: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Peak resident memory of the balancer process. */
  rssKb: number;
  /**
   * CPU time the balancer spent per 1,000 requests of the measured run: its cost per request, which
   * (unlike req/s) holds up when other work on the machine steals cycles.
   */
  cpuMsPerKReq: number;
}

/** Which cores run what (`taskset -c` lists); undefined when not pinned. */
export interface CpuPlan {
  balancer: string | undefined;
  backends: string | undefined;
  wrk: string | undefined;
  wrkThreads: number;
}

/** Everything the report needs. */
export interface LoadReport {
  measurements: Measurement[];
  /** Program → version, for the programs that are installed. */
  versions: Record<string, string>;
  cpuPlan: CpuPlan;
  /** What serves as backends. */
  backend: string;
}

/** Balancer alone on core 1; backends and wrk on the others (with two cores they share core 0). */
export function planCpus(cores: number, hasTaskset: boolean): CpuPlan {
  if (!hasTaskset || cores < 2) return { balancer: undefined, backends: undefined, wrk: undefined, wrkThreads: Math.max(1, cores) };
  if (cores === 2) return { balancer: "1", backends: "0", wrk: "0", wrkThreads: 1 };
  const rest = Array.from({ length: cores }, (_, i) => i).filter((i) => i !== 1 && i !== 2);
  return { balancer: "1", backends: "2", wrk: rest.join(","), wrkThreads: rest.length };
}

interface Backends {
  addresses: HostPort[];
  description: string;
  stop(): Promise<void>;
}

async function startBackends(root: string, workDir: string, cpus: string | undefined, kind: "auto" | "bun"): Promise<Backends> {
  const addresses = [
    { host: HOST, port: await freePort(HOST) },
    { host: HOST, port: await freePort(HOST) },
  ];
  const nginx = kind === "bun" ? undefined : findProgram("nginx");
  const logBase = join(workDir, "backends");
  let child: Child;
  let description: string;
  if (nginx !== undefined) {
    const www = join(workDir, "www");
    writeBackendBodies(www);
    const config = join(workDir, "nginx-backend.conf");
    writeFileSync(config, nginxBackendConfig(addresses, www, workDir));
    child = spawnLogged(pinned(cpus, [nginx, "-p", workDir, "-e", `${logBase}.nginx.log`, "-c", config]), {}, logBase);
    description = "nginx (one worker, static files)";
  } else {
    const script = join(root, "bench", "configs", "bun-backend.ts");
    const cmd = [process.execPath, script, HOST, ...addresses.map((a) => String(a.port))];
    child = spawnLogged(pinned(cpus, cmd), {}, logBase);
    description = kind === "bun" ? "Bun.serve (BENCH_BACKEND=bun)" : "Bun.serve (nginx not installed)";
  }
  const stop = () => stopChild(child);
  try {
    for (const a of addresses) await waitReady(`http://${a.host}:${a.port}/1k`, 1024, child, logBase);
  } catch (error) {
    await stop();
    throw new Error(`Backends did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { addresses, description, stop };
}

interface Cell {
  scenario: Scenario;
  connections: number;
  peer: PeerSpec;
  binary: string;
}

async function measure(cell: Cell, options: LoadOptions, backends: Backends, plan: CpuPlan, wrk: WrkRunner, run: number): Promise<Measurement> {
  const { scenario, connections, peer } = cell;
  const base = { scenario: scenario.name, connections, peer: peer.name };
  const builder = scenario.configs[peer.name];
  if (builder === undefined) return { ...base, ...EMPTY, outcome: "skipped", note: "not supported by this scenario" };
  const dir = join(options.workDir, `${scenario.name}-${connections}-${peer.name}-${run}`);
  mkdirSync(dir, { recursive: true });
  const listen = { host: HOST, port: await freePort(HOST) };
  const config = join(dir, peer.configFile);
  writeFileSync(config, builder({ listen, backends: backends.addresses, workDir: dir }));
  const logBase = join(dir, peer.name);
  const child = spawnLogged(pinned(plan.balancer, peer.command(cell.binary, config, dir)), peer.env(dir), logBase);
  try {
    const url = `${scenario.scheme}://${listen.host}:${listen.port}${scenario.path}`;
    await waitReady(url, scenario.bodyBytes, child, logBase);
    await runWrk(wrk, connections, options.warmup, url);
    const cpuBefore = cpuTimeMs(child.pid);
    const result = await runWrk(wrk, connections, options.duration, url);
    const cpuMsPerKReq = ((cpuTimeMs(child.pid) - cpuBefore) * 1000) / result.requests;
    return { ...base, outcome: "ok", note: "", ...result, rssKb: peakRssKb(child.pid), cpuMsPerKReq };
  } catch (error) {
    return { ...base, ...EMPTY, outcome: "failed", note: error instanceof Error ? error.message : String(error) };
  } finally {
    await stopChild(child);
  }
}

/** wrk straight to the first backend: what the client and backends manage without a balancer. */
async function measureDirect(scenario: Scenario, connections: number, options: LoadOptions, backends: Backends, wrk: WrkRunner): Promise<Measurement> {
  const base = { scenario: scenario.name, connections, peer: "direct" as const };
  const b = backends.addresses[0] as HostPort;
  const url = `${scenario.scheme}://${b.host}:${b.port}${scenario.path}`;
  try {
    await runWrk(wrk, connections, options.warmup, url);
    return { ...base, outcome: "ok", note: "", ...(await runWrk(wrk, connections, options.duration, url)), rssKb: Number.NaN, cpuMsPerKReq: Number.NaN };
  } catch (error) {
    return { ...base, ...EMPTY, outcome: "failed", note: error instanceof Error ? error.message : String(error) };
  }
}

const EMPTY = { requests: Number.NaN, cpuMsPerKReq: Number.NaN, rps: Number.NaN, p50Ms: Number.NaN, p99Ms: Number.NaN, errors: Number.NaN, rssKb: Number.NaN };

/** The measurement with the median req/s (the lower one of an even count); failures only if all failed. */
function median(runs: Measurement[]): Measurement {
  const ok = runs.filter((m) => m.outcome === "ok").sort((a, b) => a.rps - b.rps);
  return ok[Math.floor((ok.length - 1) / 2)] ?? (runs[0] as Measurement);
}

/** Runs every scenario × connection count × peer and returns the table and the context. */
export async function runLoadBench(options: LoadOptions): Promise<LoadReport> {
  const cores = Number(Bun.spawnSync({ cmd: ["nproc"] }).stdout.toString().trim()) || navigator.hardwareConcurrency;
  const plan = planCpus(cores, findProgram("taskset") !== undefined);
  const measurements: Measurement[] = [];
  const versions: Record<string, string> = {};
  const binaries = new Map<PeerName, string>();
  for (const peer of options.peers) {
    const binary = peer.find(options.root);
    if (binary === undefined) continue;
    binaries.set(peer.name, binary);
    versions[peer.title] = programVersion(binary, peer.versionArgs, peer.versionPattern);
  }
  const wrkBinary = findProgram("wrk");
  if (wrkBinary !== undefined) versions.wrk = programVersion(wrkBinary, ["--version"], /wrk\s+(\S+)/);
  const skipAll = wrkBinary === undefined ? "skipped (wrk not installed)" : undefined;
  const backends = skipAll === undefined ? await startBackends(options.root, options.workDir, plan.backends, options.backend ?? "auto") : undefined;
  const wrk: WrkRunner = { binary: wrkBinary ?? "wrk", cpus: plan.wrk, threads: plan.wrkThreads };
  try {
    let cellIndex = 0;
    for (const scenario of options.scenarios) {
      for (const connections of options.connections) {
        if (options.direct && backends !== undefined) {
          options.log(`${scenario.name} c=${connections} direct to backend`);
          measurements.push(await measureDirect(scenario, connections, options, backends, wrk));
        }
        const runs = new Map<PeerName, Measurement[]>();
        for (let round = 0; round < options.rounds; round++) {
          const order = (cellIndex + round) % 2 === 0 ? [...options.peers] : [...options.peers].reverse();
          for (const peer of order) {
            const binary = binaries.get(peer.name);
            let m: Measurement;
            if (skipAll !== undefined || backends === undefined) m = { scenario: scenario.name, connections, peer: peer.name, ...EMPTY, outcome: "skipped", note: skipAll ?? "" };
            else if (binary === undefined) m = { scenario: scenario.name, connections, peer: peer.name, ...EMPTY, outcome: "skipped", note: options.unavailable?.[peer.name] ?? "not installed" };
            else {
              options.log(`${scenario.name} c=${connections} ${peer.name} round ${round + 1}/${options.rounds}`);
              m = await measure({ scenario, connections, peer, binary }, options, backends, plan, wrk, round);
              options.log(m.outcome === "ok" ? `  ${Math.round(m.rps)} req/s, p99 ${m.p99Ms.toFixed(2)} ms, errors ${m.errors}` : `  ${m.outcome}: ${m.note}`);
            }
            runs.set(peer.name, [...(runs.get(peer.name) ?? []), m]);
          }
        }
        for (const peer of options.peers) measurements.push(median(runs.get(peer.name) ?? []));
        cellIndex++;
      }
    }
  } finally {
    await backends?.stop();
  }
  return { measurements, versions, cpuPlan: plan, backend: backends?.description ?? "none (not run)" };
}
