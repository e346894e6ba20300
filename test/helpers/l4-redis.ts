/**
 * Real redis-server instances for the L4 tests (the package is installed by .ci/run). Each runs in
 * the foreground on a port that was free a moment ago, without persistence, and is killed at stop.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeTcpPort } from "./l4-backends.ts";

/** A redis-server child process. */
export interface RedisServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Whether redis-server and redis-cli are installed. */
export function haveRedis(): boolean {
  return Bun.which("redis-server") !== null && Bun.which("redis-cli") !== null;
}

/**
 * Runs `redis-cli -p port ...args` (with `stdin` when given) and returns its trimmed output; throws
 * on a non-zero exit. Asynchronous: tenbin may run in this very process and must keep serving.
 */
export async function redisCli(port: number, args: string[], stdin?: string): Promise<string> {
  const proc = Bun.spawn(["redis-cli", "-h", "127.0.0.1", "-p", String(port), ...args], {
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 10_000,
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`redis-cli ${args.join(" ").slice(0, 80)} exited ${code}: ${err}`);
  return out.trim();
}

/** Starts redis-server and waits (bounded) until it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "tenbin-redis-"));
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freeTcpPort();
    const proc = Bun.spawn(
      ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"],
      { stdout: "ignore", stderr: "ignore" },
    );
    const deadline = performance.now() + 5000;
    while (performance.now() < deadline && proc.exitCode === null) {
      if (await redisCli(port, ["ping"]).catch(() => "") === "PONG") {
        return {
          port,
          async stop() {
            proc.kill("SIGKILL");
            await proc.exited;
          },
        };
      }
      await Bun.sleep(20);
    }
    proc.kill("SIGKILL");
    await proc.exited; // the port was taken meanwhile, or redis is slow: try another port
  }
  throw new Error("redis-server did not start on three free ports");
}
