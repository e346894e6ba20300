/** Child processes of the macro benchmark: start pinned and logged, wait until ready, measure, stop. */
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

/** A process started by `spawnLogged`. */
export type Child = ReturnType<typeof Bun.spawn>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A free TCP port on `host` (the kernel's pick, released just before the caller binds it). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `cmd` run on the cores `cpus` (a `taskset -c` list), or as is when undefined. */
export function pinned(cpus: string | undefined, cmd: string[]): string[] {
  return cpus === undefined ? cmd : ["taskset", "-c", cpus, ...cmd];
}

/** Starts `cmd` with its output in `<logBase>.out.log` / `.err.log` (a pipe nobody reads could stall it). */
export function spawnLogged(cmd: string[], env: Record<string, string>, logBase: string): Child {
  return Bun.spawn({
    cmd,
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: Bun.file(`${logBase}.out.log`),
    stderr: Bun.file(`${logBase}.err.log`),
  });
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stopChild(child: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const exited = await Promise.race([child.exited.then(() => true), sleep(5000).then(() => false)]);
  if (!exited) {
    child.kill("SIGKILL");
    await child.exited;
  }
}

/** Everything a process started by `spawnLogged` wrote so far (standard error, then output). */
export function readLog(logBase: string): string {
  const read = (path: string): string => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  };
  return read(`${logBase}.err.log`) + read(`${logBase}.out.log`);
}

/** The last lines a process logged, on one line, for an error message. */
export function logTail(logBase: string): string {
  const text = readLog(logBase).trim();
  return text === "" ? "(no output)" : text.split("\n").slice(-5).join(" | ");
}

/** Waits until `url` answers 200 with exactly `bytes` bytes; fails when `child` exits or after 10 s. */
export async function waitReady(url: string, bytes: number, child: Child, logBase: string): Promise<void> {
  let last = "no answer";
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}): ${logTail(logBase)}`);
    }
    try {
      // `connection: close` so no idle socket of ours stays on the balancer during the run; the
      // https scenarios' certificate is self-signed.
      const res = await fetch(url, { headers: { connection: "close" }, signal: AbortSignal.timeout(1000), tls: { rejectUnauthorized: false } });
      const body = await res.arrayBuffer();
      if (res.status === 200 && body.byteLength === bytes) return;
      last = `status ${res.status}, ${body.byteLength} bytes`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  throw new Error(`not ready after 10 s at "${url}" (${last}): ${logTail(logBase)}`);
}

/** Waits until `check()` holds; fails when `child` exits or after 10 s, saying `what` did not happen. */
export async function waitUntil(check: () => boolean, what: string, child: Child, logBase: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (check()) return;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}): ${logTail(logBase)}`);
    }
    await sleep(100);
  }
  throw new Error(`${what} after 10 s: ${logTail(logBase)}`);
}

/**
 * `pid` and every live descendant of it (from the parent pids in /proc): a balancer's worker
 * processes (tenbin's workers, nginx's master and workers) all count towards its CPU and memory.
 */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    const child = Number(name);
    if (!Number.isInteger(child)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${child}/stat`, "utf8");
    } catch {
      continue; // gone since the listing
    }
    // Fields after the command name (which may contain spaces): state, then ppid.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), child]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] as number) ?? []));
  return tree;
}

/** The sum of `measure` over the live processes of `pid`'s tree (one that ends meanwhile counts 0). */
export function treeSum(pid: number, measure: (pid: number) => number): number {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      sum += measure(p);
    } catch {
      // ended between the listing and the read
    }
  }
  return sum;
}

/** Peak resident memory (VmHWM, else VmRSS) of a live process, in kB. */
export function peakRssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmHWM:\s+(\d+) kB/.exec(status) ?? /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) : Number.NaN;
}

let ticksPerSecond: number | undefined;

/** CPU time (user + system) a live process has used so far, in ms. */
export function cpuTimeMs(pid: number): number {
  ticksPerSecond ??= Number(Bun.spawnSync({ cmd: ["getconf", "CLK_TCK"] }).stdout.toString().trim()) || 100;
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** The version a program prints (the pattern's first group), or its first output line. */
export function programVersion(binary: string, args: readonly string[], pattern: RegExp): string {
  const result = Bun.spawnSync({ cmd: [binary, ...args], stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  const text = result.stdout.toString() + result.stderr.toString();
  return pattern.exec(text)?.[1] ?? (text.trim().split("\n")[0] || "unknown");
}
