/**
 * How each balancer of the macro benchmark is found, asked for its version, and started in the
 * foreground (its pid is the root of the process tree whose CPU and memory we read).
 * Install the peers with `apt-get install haproxy nginx caddy wrk`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { PeerName } from "./types.ts";

/** One balancer: where its binary is and how to run it with a generated config. */
export interface PeerSpec {
  name: PeerName;
  /** Name for reports. */
  title: string;
  /** File name of the generated config in the work directory. */
  configFile: string;
  /** Path of the binary, or undefined when it is not installed. */
  find(root: string): string | undefined;
  /** Arguments that print the version, and the part of the output that is the version. */
  versionArgs: readonly string[];
  versionPattern: RegExp;
  /** argv of a foreground run with `config`. */
  command(binary: string, config: string, workDir: string): string[];
  /** Extra environment of a run with `workers` workers/threads. */
  env(workDir: string, workers: number): Record<string, string>;
  /**
   * Whether the log (standard output and error) shows every one of `workers` processes serving;
   * for a peer whose further processes bind after the first answers. Absent: answering is enough.
   */
  allServing?(log: string, workers: number): boolean;
  /** Run with another peer's generated configs (`tenbin-runtime` is tenbin's binary and configs)... */
  configAs?: PeerName;
  /** ...with this listener `engine` (ConfigContext.engine). */
  engine?: string;
}

// Daemons live in sbin, which a non-login PATH may lack.
const SEARCH_PATH = [process.env.PATH ?? "", "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
  .filter((p) => p !== "")
  .join(":");

/** Finds an installed program by name on PATH and the sbin directories. */
export function findProgram(name: string): string | undefined {
  return Bun.which(name, { PATH: SEARCH_PATH }) ?? undefined;
}

/** tenbin with its default engine (`auto`: tenbin's own HTTP/1.1 server for these configs). */
const TENBIN: PeerSpec = {
  name: "tenbin",
  title: "tenbin",
  configFile: "tenbin.yaml",
  find: (root) => {
    const binary = join(root, "dist", "tenbin");
    return existsSync(binary) ? binary : undefined;
  },
  versionArgs: ["version"],
  versionPattern: /tenbin\s+(\S+)/,
  command: (binary, config) => [binary, "run", "-c", config],
  env: () => ({}),
  // The primary serves first; each further worker logs "worker N ready" once its listeners are bound.
  allServing: (log, workers) => (log.match(/worker \d+ ready/g) ?? []).length >= workers - 1,
};

/** The peers in report order; HAProxy is the reference the others are compared with. */
export const PEERS: readonly PeerSpec[] = [
  TENBIN,
  // The same binary and configs with the listener's HTTP server set to the runtime's (Bun.serve).
  { ...TENBIN, name: "tenbin-runtime", title: "tenbin (engine: runtime)", configAs: "tenbin", engine: "runtime" },
  {
    name: "haproxy",
    title: "HAProxy",
    configFile: "haproxy.cfg",
    find: () => findProgram("haproxy"),
    versionArgs: ["-v"],
    versionPattern: /version\s+(\S+)/,
    // -db: stay in the foreground, no master process.
    command: (binary, config) => [binary, "-db", "-f", config],
    env: () => ({}),
  },
  {
    name: "nginx",
    title: "nginx",
    configFile: "nginx-proxy.conf",
    find: () => findProgram("nginx"),
    versionArgs: ["-v"],
    versionPattern: /nginx\/(\S+)/,
    command: (binary, config, workDir) => [binary, "-p", workDir, "-e", join(workDir, "nginx-proxy-error.log"), "-c", config],
    env: () => ({}),
  },
  {
    name: "caddy",
    title: "Caddy",
    configFile: "Caddyfile",
    find: () => findProgram("caddy"),
    versionArgs: ["version"],
    versionPattern: /v?(\d+\.\d+\.\d+\S*)/,
    command: (binary, config) => [binary, "run", "--config", config, "--adapter", "caddyfile"],
    // `workers` threads running Go code; its data/config dirs in the work directory, not $HOME.
    env: (workDir, workers) => ({ GOMAXPROCS: String(workers), HOME: workDir, XDG_DATA_HOME: workDir, XDG_CONFIG_HOME: workDir }),
  },
];
