/**
 * Paired A/B of tenbin builds on a shared, noisy machine: every variant runs as its own long-lived
 * process (pinned like bench/load.ts), all are warmed up first, then wrk drives them in short
 * windows, one variant after the other, round after round. Load from other work drifts slowly, so
 * two variants measured seconds apart see nearly the same machine; the report gives each variant's
 * CPU per 1,000 requests relative to the first one *per round*, then the median of those ratios.
 * Only the variant being measured runs: the others are stopped (SIGSTOP) during its window, so one
 * process's leftover work (a runtime's garbage collection after its own window) neither competes
 * for the core nor escapes its own count. `--no-freeze` lets them all run.
 *
 *   bun bench/ab.ts [--rounds 8] [--connections 50] [--window 2s] [--warmup 6s] [--path /1k] [--l4] [--no-freeze]
 *                   NAME=BINARY | NAME=src:DIR ...
 *
 *   before=/tmp/old/dist/tenbin after=dist/tenbin      two compiled builds
 *   before=src:/tmp/old after=src:.                    two source trees (bun DIR/src/main.ts)
 *   proto=script:/tmp/p.ts                             any script, run as `bun SCRIPT CONFIG` (a
 *                                                      prototype reads its port and servers there)
 *   ref=peer:haproxy                                   a peer (haproxy, nginx, caddy) with its
 *                                                      bench/configs/l7-http.ts (or l4-tcp.ts) config
 *   rt=dist/tenbin#engine=runtime                      a tenbin variant with its listener's `engine` set
 *   pol=src:.#scenario=l7-full-policies-1k             a tenbin variant on that scenario's config (its
 *                                                      backends and --path as usual)
 *   --l4: every variant balances TCP (bench/configs/l4-tcp.ts) instead of HTTP.
 *   env: AB_ENV='{"after":{"BUN_CONFIG_MAX_HTTP_REQUESTS":"64"}}' sets a variant's environment.
 *
 * The optimisation numbers in the issue notes and README come from this tool.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { nginxBackendConfig, writeBackendBodies } from "./configs/backends.ts";
import { l4TcpConfigs } from "./configs/l4-tcp.ts";
import { l7HttpConfigs } from "./configs/l7-http.ts";
import { findProgram, PEERS, type PeerSpec } from "./configs/peers.ts";
import { BACKEND_BODIES, SCENARIOS } from "./configs/scenarios.ts";
import { planCpus } from "./load.ts";
import { type Child, cpuTimeMs, freePort, pinned, spawnLogged, stopChild, waitReady } from "./process.ts";
import { runWrk, type WrkRunner } from "./wrk.ts";

const HOST = "127.0.0.1";
const USAGE = "Usage: bun bench/ab.ts [--rounds 8] [--connections 50] [--window 2s] [--warmup 6s] [--path /1k] [--l4] [--no-freeze] NAME=BINARY|NAME=src:DIR|NAME=script:FILE|NAME=peer:haproxy ...";

/** One variant's measurements, a value per round. */
export interface Variant {
  name: string;
  cpuMsPerKReq: number[];
  rps: number[];
  p99Ms: number[];
}

/** Sends `name` to a variant's process; one that already exited is left alone. */
function signal(child: Child, name: "SIGSTOP" | "SIGCONT"): void {
  try {
    process.kill(child.pid, name);
  } catch {
    // gone: its own exit is reported elsewhere
  }
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? Number.NaN;

/** Each variant's medians and its per-round CPU ratio to the first variant, as a markdown table. */
export function renderAb(variants: readonly Variant[], what: string): string {
  const base = variants[0];
  const lines = [
    `| ${what} | CPU ms / 1k req (median) | min | req/s (median) | max | p99 ms | CPU vs ${base?.name ?? "first"} (paired median) |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const v of variants) {
    const ratios = v.cpuMsPerKReq.map((c, i) => c / (base?.cpuMsPerKReq[i] ?? Number.NaN));
    lines.push(
      `| ${v.name} | ${median(v.cpuMsPerKReq).toFixed(1)} | ${Math.min(...v.cpuMsPerKReq).toFixed(1)} | ${median(v.rps).toFixed(0)} | ${Math.max(...v.rps).toFixed(0)} | ${median(v.p99Ms).toFixed(2)} | ${median(ratios).toFixed(3)} |`,
    );
  }
  return lines.join("\n");
}

/** What one `bench/ab.ts` run does. */
export interface Options {
  rounds: number;
  connections: number;
  window: string;
  warmup: string;
  path: string;
  /** Balance TCP instead of HTTP. */
  l4: boolean;
  /** Stop the other variants while one is measured. */
  freeze: boolean;
  specs: Spec[];
}

/** One variant: how to start it on the config the harness wrote for it (a peer's own format for a peer). */
export interface Spec {
  name: string;
  command: (config: string) => string[];
  /** Set for `peer:NAME`: the peer, configured as in bench/configs/l7-http.ts (l4-tcp.ts with --l4). */
  peer?: PeerSpec;
  /** tenbin's listener `engine` (`NAME=TARGET#engine=runtime`). */
  engine?: string;
  /** A scenario whose tenbin config this variant runs instead of l7-http's (`NAME=TARGET#scenario=l7-full-1k`). */
  scenario?: string;
}

function peerSpec(name: string, peerName: string): Spec {
  const peer = PEERS.find((p) => p.name === peerName && p.name !== "tenbin");
  const binary = peer?.find(".");
  if (!peer || binary === undefined) throw new Error(`Peer "${peerName}" is not known or not installed (known: haproxy, nginx, caddy)`);
  return { name, peer, command: (config) => peer.command(binary, config, dirname(config)) };
}

/** The options of a command line (without the runtime and script): variants, rounds, path, mode. */
export function parseArgs(argv: string[]): Options {
  const options: Options = { rounds: 8, connections: 50, window: "2s", warmup: "6s", path: "/1k", l4: false, freeze: true, specs: [] };
  const bun = process.execPath;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => argv[++i] ?? "";
    if (arg === "--rounds") options.rounds = Number(value());
    else if (arg === "--connections") options.connections = Number(value());
    else if (arg === "--window") options.window = value();
    else if (arg === "--warmup") options.warmup = value();
    else if (arg === "--path") options.path = value();
    else if (arg === "--l4") options.l4 = true;
    else if (arg === "--no-freeze") options.freeze = false;
    else if (/^[\w.-]+=/.test(arg)) {
      const [name, full] = [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)];
      const [target, ...suffixes] = full.split("#") as [string, ...string[]];
      const option = (key: string) => suffixes.find((s) => s.startsWith(`${key}=`))?.slice(key.length + 1);
      const suffix = option("engine");
      const scenario = option("scenario");
      if (scenario !== undefined && !SCENARIOS.some((s) => s.name === scenario && s.configs.tenbin)) throw new Error(`Unknown scenario "${scenario}" for tenbin`);
      if (target.startsWith("peer:")) {
        options.specs.push(peerSpec(name, target.slice(5)));
        continue;
      }
      const command = target.startsWith("src:")
        ? (config: string) => [bun, join(resolve(target.slice(4)), "src", "main.ts"), "run", "-c", config]
        : target.startsWith("script:")
          ? (config: string) => [bun, resolve(target.slice(7)), config]
          : (config: string) => [resolve(target), "run", "-c", config];
      options.specs.push({ name, command, ...(suffix === undefined ? {} : { engine: suffix }), ...(scenario === undefined ? {} : { scenario }) });
    } else throw new Error(`Unknown argument "${arg}"\n${USAGE}`);
  }
  if (options.specs.length === 0) throw new Error(`No variant given\n${USAGE}`);
  if (!(options.path in BACKEND_BODIES)) throw new Error(`Unknown path "${options.path}" (known: ${Object.keys(BACKEND_BODIES).join(", ")})`);
  if (!Number.isInteger(options.rounds) || options.rounds < 1) throw new Error(`Invalid round count "${options.rounds}"`);
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const nginx = findProgram("nginx");
  const wrkBinary = findProgram("wrk");
  if (nginx === undefined || wrkBinary === undefined) throw new Error("bench/ab.ts needs nginx and wrk (apt-get install nginx wrk)");
  const cores = Number(Bun.spawnSync({ cmd: ["nproc"] }).stdout.toString().trim()) || 1;
  const plan = planCpus(cores, findProgram("taskset") !== undefined);
  const wrk: WrkRunner = { binary: wrkBinary, cpus: plan.wrk, threads: plan.wrkThreads };
  const env = JSON.parse(process.env.AB_ENV ?? "{}") as Record<string, Record<string, string>>;
  const work = mkdtempSync(join(tmpdir(), "tenbin-ab-"));
  const backends = [
    { host: HOST, port: await freePort(HOST) },
    { host: HOST, port: await freePort(HOST) },
  ];
  writeBackendBodies(join(work, "www"));
  writeFileSync(join(work, "nginx.conf"), nginxBackendConfig(backends, join(work, "www"), work));
  const children: Child[] = [];
  try {
    const nginxChild = spawnLogged(pinned(plan.backends, [nginx, "-p", work, "-e", join(work, "nginx.log"), "-c", join(work, "nginx.conf")]), {}, join(work, "backends"));
    children.push(nginxChild);
    for (const b of backends) await waitReady(`http://${b.host}:${b.port}/1k`, 1024, nginxChild, join(work, "backends"));
    const bytes = BACKEND_BODIES[options.path] as number;
    const running: { variant: Variant; child: Child; url: string }[] = [];
    for (const spec of options.specs) {
      const dir = join(work, spec.name);
      mkdirSync(dir);
      const port = await freePort(HOST);
      const config = join(dir, spec.peer?.configFile ?? "tenbin.yaml");
      const ctx = { listen: { host: HOST, port }, backends, workDir: dir, workers: 1, engine: spec.engine };
      const build = spec.scenario !== undefined
        ? SCENARIOS.find((s) => s.name === spec.scenario)!.configs.tenbin
        : (options.l4 ? l4TcpConfigs : l7HttpConfigs)[spec.peer?.name ?? "tenbin"];
      if (!build) throw new Error(`No ${options.l4 ? "l4" : "l7"} config for "${spec.name}"`);
      writeFileSync(config, build(ctx));
      const child = spawnLogged(pinned(plan.balancer, spec.command(config)), { ...spec.peer?.env(dir, 1), ...env[spec.name] }, join(dir, "tenbin"));
      children.push(child);
      const url = `http://${HOST}:${port}${options.path}`;
      await waitReady(url, bytes, child, join(dir, "tenbin"));
      running.push({ variant: { name: spec.name, cpuMsPerKReq: [], rps: [], p99Ms: [] }, child, url });
    }
    for (const r of running) await runWrk(wrk, options.connections, options.warmup, r.url);
    for (let round = 0; round < options.rounds; round++) {
      // Alternate the order so no variant always runs right after another.
      for (const r of round % 2 === 0 ? running : [...running].reverse()) {
        if (options.freeze) for (const other of running) signal(other.child, other === r ? "SIGCONT" : "SIGSTOP");
        const before = cpuTimeMs(r.child.pid);
        const result = await runWrk(wrk, options.connections, options.window, r.url);
        r.variant.cpuMsPerKReq.push(((cpuTimeMs(r.child.pid) - before) * 1000) / result.requests);
        r.variant.rps.push(result.rps);
        r.variant.p99Ms.push(result.p99Ms);
      }
      console.error(`round ${round + 1}/${options.rounds}: ${running.map((r) => `${r.variant.name} ${r.variant.cpuMsPerKReq.at(-1)?.toFixed(1)} ms/1k`).join(", ")}`);
    }
    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    console.log(`\n${renderAb(running.map((r) => r.variant), `${options.l4 ? "tcp " : ""}${options.path}, ${options.connections} conns`)}\n`);
    console.log(`${options.rounds} rounds of ${options.window} per variant after ${options.warmup} warm-up; load average at the end ${load}.`);
  } finally {
    for (const child of children.reverse()) {
      signal(child, "SIGCONT"); // a stopped process would not act on the SIGTERM
      await stopChild(child);
    }
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
