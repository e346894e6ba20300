/**
 * The macro benchmark: real balancers on loopback, driven by wrk.
 *
 * Peers (bench only, not needed by CI): `apt-get install haproxy nginx caddy wrk`. A missing one is
 * reported as "skipped (not installed)", never as zero. Two backends (one nginx process serving
 * fixed files, or Bun servers without nginx) sit behind every balancer. Each measurement starts a
 * fresh balancer process pinned to its cores (planCpus), warms it up, runs wrk, reads the peak RSS
 * (VmHWM) and CPU time of its whole process tree (worker processes included), and stops it. Peers
 * run in alternating order from cell to cell so none always goes first. Each worker count of
 * `workers` is a pass of its own over every scenario.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nginxBackendConfig, writeBackendBodies } from "./configs/backends.ts";
import { benchCert } from "./configs/certs.ts";
import { findProgram, type PeerSpec } from "./configs/peers.ts";
import type { HostPort, PeerName, Scenario, TlsFiles } from "./configs/types.ts";
import { type CpuPlan, planCpus } from "./cpu-plan.ts";
import { type Child, cpuTimeMs, freePort, peakRssKb, pinned, programVersion, readLog, spawnLogged, stopChild, treeSum, waitReady, waitUntil } from "./process.ts";
import { runWrk, type WrkRunner } from "./wrk.ts";

export { type CpuPlan, planCpus } from "./cpu-plan.ts";

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
  /** Worker processes/threads of every balancer, one pass each (default [1]). */
  workers?: readonly number[];
}

/** One cell of the result table. */
export interface Measurement {
  scenario: string;
  connections: number;
  /** Workers/threads the balancer ran with (the pass it belongs to, for "direct" too). */
  workers: number;
  /** "direct": wrk straight to one backend, the ceiling of this machine and harness. */
  peer: PeerName | "direct";
  outcome: "ok" | "skipped" | "failed";
  /** Why it was skipped or failed. */
  note: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Peak resident memory of the balancer: VmHWM summed over its processes. */
  rssKb: number;
  /**
   * CPU time the balancer (all its processes) spent per 1,000 requests of the measured run: its cost per request, which
   * (unlike req/s) holds up when other work on the machine steals cycles.
   */
  cpuMsPerKReq: number;
}

/** Everything the report needs. */
export interface LoadReport {
  measurements: Measurement[];
  /** Program → version, for the programs that are installed. */
  versions: Record<string, string>;
  /** The core plan of the first pass (of `cpuPlans`). */
  cpuPlan: CpuPlan;
  /** The core plan of each pass, by worker count. */
  cpuPlans: { workers: number; plan: CpuPlan }[];
  /** What serves as backends. */
  backend: string;
}

interface Backends {
  addresses: HostPort[];
  /** Backends that terminate TLS themselves (the passthrough scenarios); empty without a certificate. */
  tlsAddresses: HostPort[];
  description: string;
  stop(): Promise<void>;
}

async function startBackends(root: string, workDir: string, cpus: string | undefined, kind: "auto" | "bun", tls: TlsFiles | undefined): Promise<Backends> {
  const addresses = [
    { host: HOST, port: await freePort(HOST) },
    { host: HOST, port: await freePort(HOST) },
  ];
  const tlsAddresses = tls ? [{ host: HOST, port: await freePort(HOST) }, { host: HOST, port: await freePort(HOST) }] : [];
  const nginx = kind === "bun" ? undefined : findProgram("nginx");
  const logBase = join(workDir, "backends");
  let child: Child;
  let description: string;
  if (nginx !== undefined) {
    const www = join(workDir, "www");
    writeBackendBodies(www);
    const config = join(workDir, "nginx-backend.conf");
    writeFileSync(config, nginxBackendConfig(addresses, www, workDir, tlsAddresses, tls));
    child = spawnLogged(pinned(cpus, [nginx, "-p", workDir, "-e", `${logBase}.nginx.log`, "-c", config]), {}, logBase);
    description = "nginx (one worker, static files)";
  } else {
    const script = join(root, "bench", "configs", "bun-backend.ts");
    const cmd = [process.execPath, script, HOST, ...addresses.map((a) => String(a.port)), ...tlsAddresses.map((a) => `tls:${a.port}`)];
    child = spawnLogged(pinned(cpus, cmd), tls ? { BENCH_TLS_CERT: tls.cert, BENCH_TLS_KEY: tls.key } : {}, logBase);
    description = kind === "bun" ? "Bun.serve (BENCH_BACKEND=bun)" : "Bun.serve (nginx not installed)";
  }
  const stop = () => stopChild(child);
  try {
    for (const a of addresses) await waitReady(`http://${a.host}:${a.port}/1k`, 1024, child, logBase);
    for (const a of tlsAddresses) await waitReady(`https://${a.host}:${a.port}/1k`, 1024, child, logBase);
  } catch (error) {
    await stop();
    throw new Error(`Backends did not start: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { addresses, tlsAddresses, description, stop };
}

/** One pass over the scenarios: a worker count and what it runs on. */
interface Pass {
  workers: number;
  plan: CpuPlan;
  backends: Backends;
  wrk: WrkRunner;
  /** The certificate of the https scenarios, or why there is none. */
  tls: TlsFiles | string;
}

interface Cell {
  scenario: Scenario;
  connections: number;
  peer: PeerSpec;
  binary: string;
}

async function measure(cell: Cell, options: LoadOptions, pass: Pass, run: number): Promise<Measurement> {
  const { scenario, connections, peer } = cell;
  const { workers } = pass;
  const base = { scenario: scenario.name, connections, workers, peer: peer.name };
  const builder = scenario.configs[peer.configAs ?? peer.name];
  if (builder === undefined) return { ...base, ...EMPTY, outcome: "skipped", note: "not supported by this scenario" };
  if (peer.engine !== undefined && scenario.tcp) return { ...base, ...EMPTY, outcome: "skipped", note: "TCP: no HTTP engine" };
  const https = scenario.scheme === "https";
  if (https && typeof pass.tls === "string") return { ...base, ...EMPTY, outcome: "skipped", note: pass.tls };
  const backends = scenario.backendTls ? pass.backends.tlsAddresses : pass.backends.addresses;
  if (backends.length === 0) return { ...base, ...EMPTY, outcome: "skipped", note: "no TLS backends (no certificate)" };
  const dir = join(options.workDir, `${scenario.name}-w${workers}-${connections}-${peer.name}-${run}`);
  mkdirSync(dir, { recursive: true });
  const listen = { host: HOST, port: await freePort(HOST) };
  const config = join(dir, peer.configFile);
  const tls = https && typeof pass.tls !== "string" ? pass.tls : undefined;
  writeFileSync(config, builder({ listen, backends, workDir: dir, workers, tls, engine: peer.engine }));
  const logBase = join(dir, peer.name);
  const child = spawnLogged(pinned(pass.plan.balancer, peer.command(cell.binary, config, dir)), peer.env(dir, workers), logBase);
  try {
    const url = `${scenario.scheme}://${listen.host}:${listen.port}${scenario.path}`;
    await waitReady(url, scenario.bodyBytes, child, logBase);
    const allServing = peer.allServing;
    if (workers > 1 && allServing !== undefined) {
      // wrk connects once per run: a worker still binding would get none of its connections.
      await waitUntil(() => allServing(readLog(logBase), workers), `not all ${workers} processes serving`, child, logBase);
    }
    await runWrk(pass.wrk, connections, options.warmup, url);
    const cpuBefore = treeSum(child.pid, cpuTimeMs);
    const result = await runWrk(pass.wrk, connections, options.duration, url);
    const cpuMsPerKReq = ((treeSum(child.pid, cpuTimeMs) - cpuBefore) * 1000) / result.requests;
    return { ...base, outcome: "ok", note: "", ...result, rssKb: treeSum(child.pid, peakRssKb), cpuMsPerKReq };
  } catch (error) {
    return { ...base, ...EMPTY, outcome: "failed", note: error instanceof Error ? error.message : String(error) };
  } finally {
    await stopChild(child);
  }
}

/**
 * wrk straight to the first backend: what the client and backends manage without a balancer. Plain
 * HTTP whatever the scenario's scheme, except in the passthrough scenarios, whose backends speak TLS.
 */
async function measureDirect(scenario: Scenario, connections: number, options: LoadOptions, pass: Pass): Promise<Measurement> {
  const base = { scenario: scenario.name, connections, workers: pass.workers, peer: "direct" as const };
  const b = (scenario.backendTls ? pass.backends.tlsAddresses[0] : pass.backends.addresses[0]) as HostPort;
  if (b === undefined) return { ...base, ...EMPTY, outcome: "skipped", note: "no TLS backends (no certificate)" };
  const url = `${scenario.backendTls ? "https" : "http"}://${b.host}:${b.port}${scenario.path}`;
  try {
    await runWrk(pass.wrk, connections, options.warmup, url);
    return { ...base, outcome: "ok", note: "", ...(await runWrk(pass.wrk, connections, options.duration, url)), rssKb: Number.NaN, cpuMsPerKReq: Number.NaN };
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

/** Every scenario × connection count × peer of one pass, in `measurements`. */
async function runPass(options: LoadOptions, pass: Pass, binaries: ReadonlyMap<PeerName, string>, measurements: Measurement[]): Promise<void> {
  let cellIndex = 0;
  const tag = pass.workers > 1 ? ` w=${pass.workers}` : "";
  for (const scenario of options.scenarios) {
    for (const connections of options.connections) {
      if (options.direct) {
        options.log(`${scenario.name}${tag} c=${connections} direct to backend`);
        measurements.push(await measureDirect(scenario, connections, options, pass));
      }
      const runs = new Map<PeerName, Measurement[]>();
      for (let round = 0; round < options.rounds; round++) {
        const order = (cellIndex + round) % 2 === 0 ? [...options.peers] : [...options.peers].reverse();
        for (const peer of order) {
          const binary = binaries.get(peer.name);
          let m: Measurement;
          if (binary === undefined) {
            m = { scenario: scenario.name, connections, workers: pass.workers, peer: peer.name, ...EMPTY, outcome: "skipped", note: options.unavailable?.[peer.name] ?? "not installed" };
          } else {
            options.log(`${scenario.name}${tag} c=${connections} ${peer.name} round ${round + 1}/${options.rounds}`);
            m = await measure({ scenario, connections, peer, binary }, options, pass, round);
            options.log(m.outcome === "ok" ? `  ${Math.round(m.rps)} req/s, p99 ${m.p99Ms.toFixed(2)} ms, errors ${m.errors}` : `  ${m.outcome}: ${m.note}`);
          }
          runs.set(peer.name, [...(runs.get(peer.name) ?? []), m]);
        }
      }
      for (const peer of options.peers) measurements.push(median(runs.get(peer.name) ?? []));
      cellIndex++;
    }
  }
}

/** Runs every worker count × scenario × connection count × peer and returns the table and the context. */
export async function runLoadBench(options: LoadOptions): Promise<LoadReport> {
  const cores = Number(Bun.spawnSync({ cmd: ["nproc"] }).stdout.toString().trim()) || navigator.hardwareConcurrency;
  const hasTaskset = findProgram("taskset") !== undefined;
  const cpuPlans = (options.workers ?? [1]).map((workers) => ({ workers, plan: planCpus(cores, hasTaskset, workers) }));
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
  let backend = "none (not run)";
  if (wrkBinary === undefined) {
    const note = "skipped (wrk not installed)";
    for (const { workers } of cpuPlans) {
      for (const { name: scenario } of options.scenarios) {
        for (const connections of options.connections) measurements.push(...options.peers.map((p) => ({ scenario, connections, workers, peer: p.name, ...EMPTY, outcome: "skipped" as const, note })));
      }
    }
  } else {
    versions.wrk = programVersion(wrkBinary, ["--version"], /wrk\s+(\S+)/);
    const tls = options.scenarios.some((s) => s.scheme === "https") ? await benchCert(join(options.workDir, "tls")) : "no https scenario";
    for (const { workers, plan } of cpuPlans) {
      // Started per pass: the backends' cores depend on how many the balancer takes.
      const backendTls = options.scenarios.some((s) => s.backendTls) && typeof tls !== "string" ? tls : undefined;
      const backends = await startBackends(options.root, options.workDir, plan.backends, options.backend ?? "auto", backendTls);
      backend = backends.description;
      try {
        const wrk: WrkRunner = { binary: wrkBinary, cpus: plan.wrk, threads: plan.wrkThreads };
        await runPass(options, { workers, plan, backends, wrk, tls }, binaries, measurements);
      } finally {
        await backends.stop();
      }
    }
  }
  const first = cpuPlans[0] ?? { workers: 1, plan: planCpus(cores, hasTaskset) };
  return { measurements, versions, cpuPlan: first.plan, cpuPlans, backend };
}
