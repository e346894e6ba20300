/**
 * Network namespaces for the HA tests: a lab of namespaces named after this test process, processes
 * started inside them, and a cleanup that kills every process in them and deletes them (which also
 * deletes their interfaces), whatever happened. Nothing here touches the host's own interfaces:
 * veth pairs are created with both ends inside the lab's namespaces.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SEARCH_PATH = `${process.env.PATH}:/usr/sbin:/sbin`;

/** The absolute path of `tool` (sbin included: keepalived and bird live there), or the bare name. */
export function tool(name: string): string {
  return Bun.which(name, { PATH: SEARCH_PATH }) ?? name;
}

const IP = tool("ip");

/** Why namespaces cannot be made here, or undefined when they can. `tools` must all be installed. */
export function namespaceBlocker(tools: readonly string[]): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root (CI runs as root)";
  for (const name of [IP, ...tools]) if (!Bun.which(name, { PATH: SEARCH_PATH })) return `"${name}" is not installed (.ci/run installs it)`;
  const probe = `tbprobe-${process.pid}`;
  const add = Bun.spawnSync([IP, "netns", "add", probe], { stderr: "pipe" });
  if (add.exitCode !== 0) return `cannot make a network namespace: ${add.stderr.toString().trim()}`;
  Bun.spawnSync([IP, "netns", "del", probe]);
  return undefined;
}

/** Prints why a suite is skipped, so a skip is visible in the test output (and .ci/run fails on it as root). */
export function announceSkip(suite: string, reason: string | undefined): void {
  if (reason) console.warn(`ha-skip: ${suite}: ${reason}`);
}

/** A process in a namespace with its output so far. */
export interface NsProcess {
  readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
  /** Resolves when the output matches `pattern` `count` times (bounded). */
  waitFor(pattern: RegExp, timeoutMs?: number, count?: number): Promise<void>;
  /** The output lines written after `mark` characters. */
  since(mark: number): string;
}

/** The namespaces and processes of one test file. */
export class Lab {
  readonly id: string;
  #dir: string | undefined;

  /** `tag` keeps the namespaces of two labs in one test process apart (tb<pid><tag>-<name>). */
  constructor(tag: string) {
    this.id = `tb${process.pid}${tag}`;
  }
  readonly #namespaces: string[] = [];
  readonly #procs: NsProcess[] = [];

  /** The lab's temp dir (configs, pid files), made on first use and removed by cleanup. */
  get dir(): string {
    return (this.#dir ??= mkdtempSync(join(tmpdir(), "tenbin-ha-")));
  }

  /** The full name of namespace `short`. */
  ns(short: string): string {
    return `${this.id}-${short}`;
  }

  /** Makes namespace `short` with loopback up. */
  addNamespace(short: string): string {
    const name = this.ns(short);
    run([IP, "netns", "add", name]);
    this.#namespaces.push(name);
    run([IP, "-n", name, "link", "set", "lo", "up"]);
    return name;
  }

  /** A veth pair: `aIf` in namespace `a`, `bIf` in namespace `b`, both up. */
  link(a: string, aIf: string, b: string, bIf: string): void {
    run([IP, "-n", this.ns(a), "link", "add", aIf, "type", "veth", "peer", "name", bIf, "netns", this.ns(b)]);
    run([IP, "-n", this.ns(a), "link", "set", aIf, "up"]);
    run([IP, "-n", this.ns(b), "link", "set", bIf, "up"]);
  }

  /** Runs a command inside namespace `short` and returns its standard output; throws on failure. */
  exec(short: string, cmd: string[]): string {
    return run([IP, "netns", "exec", this.ns(short), ...cmd]);
  }

  /** Sets a sysctl inside namespace `short` (through /proc/sys: the sysctl tool may be absent). */
  sysctl(short: string, key: string, value: string): void {
    this.exec(short, ["sh", "-c", `echo ${value} > /proc/sys/${key.replaceAll(".", "/")}`]);
  }

  /** `ip -n <ns> ...`. */
  ip(short: string, ...args: string[]): string {
    return run([IP, "-n", this.ns(short), ...args]);
  }

  /** Starts `cmd` inside namespace `short`. */
  spawn(short: string, cmd: string[], env: Record<string, string> = {}): NsProcess {
    const proc = Bun.spawn([IP, "netns", "exec", this.ns(short), ...cmd], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...env },
    });
    let text = "";
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    };
    void pump(proc.stdout);
    void pump(proc.stderr);
    const p: NsProcess = {
      proc,
      output: () => text,
      since: (mark) => text.slice(mark),
      async waitFor(pattern, timeoutMs = 10_000, count = 1) {
        const global = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`);
        const deadline = Date.now() + timeoutMs;
        while ((text.match(global)?.length ?? 0) < count) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} (x${count}) in ${cmd.join(" ")}; output:\n${text.slice(-3000)}`);
          if (proc.exitCode !== null) throw new Error(`${cmd.join(" ")} exited with ${proc.exitCode} before ${pattern}; output:\n${text.slice(-3000)}`);
          await Bun.sleep(20);
        }
      },
    };
    this.#procs.push(p);
    return p;
  }

  /** Kills every process in the lab's namespaces (frozen ones too), deletes them and the temp dir. */
  async cleanup(): Promise<void> {
    for (const p of this.#procs) {
      try {
        p.proc.kill("SIGCONT");
        p.proc.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
    // Children the processes started (keepalived's VRRP child, bird) are found by namespace.
    for (const name of this.#namespaces) {
      const pids = Bun.spawnSync([IP, "netns", "pids", name]).stdout.toString().split(/\s+/).filter((s) => /^\d+$/.test(s));
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGCONT");
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // Exited meanwhile.
        }
      }
    }
    await Promise.all(this.#procs.map((p) => Promise.race([p.proc.exited, Bun.sleep(2000)])));
    for (const name of this.#namespaces.reverse()) Bun.spawnSync([IP, "netns", "del", name]);
    this.#namespaces.length = 0;
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Runs `cmd`, returns standard output; throws with its standard error when it fails. */
export function run(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}
