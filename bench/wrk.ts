/** Running wrk (`apt-get install wrk`) and reading its `--latency` report. */
import { pinned } from "./process.ts";

/** Result of one wrk run. */
export interface WrkResult {
  /** Completed requests in the run. */
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  errors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Reads req/s, p50, p99 and errors from wrk's output. */
export function parseWrk(output: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (!rps) throw new Error(`wrk printed no "Requests/sec": ${JSON.stringify(output.slice(-400))}`);
  const percentile = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(output);
    return m ? Number(m[1]) * (UNIT_MS[m[2] as string] ?? Number.NaN) : Number.NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  let errors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  if (non2xx) errors += Number(non2xx[1]);
  const requests = /(\d+) requests in /.exec(output);
  return { requests: requests ? Number(requests[1]) : Number.NaN, rps: Number(rps[1]), p50Ms: percentile("50"), p99Ms: percentile("99"), errors };
}

/** Seconds of a wrk-style duration ("500ms", "10s", "1m"). */
export function durationSeconds(duration: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(duration.trim());
  if (!m) throw new Error(`Invalid duration "${duration}" (expected such as "10s")`);
  return (Number(m[1]) * (UNIT_MS[m[2] ?? "s"] as number)) / 1000;
}

/** How to run wrk: binary, cores and threads. */
export interface WrkRunner {
  binary: string;
  cpus: string | undefined;
  threads: number;
}

/** Runs wrk for `duration` against `url` with `connections` and parses the report. */
export async function runWrk(runner: WrkRunner, connections: number, duration: string, url: string): Promise<WrkResult> {
  const threads = Math.max(1, Math.min(runner.threads, connections));
  const cmd = pinned(runner.cpus, [runner.binary, `-t${threads}`, `-c${connections}`, `-d${duration}`, "--latency", url]);
  const child = Bun.spawn({ cmd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  // wrk stops itself after `duration`; the guard only catches a wedged run.
  const guard = setTimeout(() => child.kill("SIGKILL"), (durationSeconds(duration) + 30) * 1000);
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  clearTimeout(guard);
  if (child.exitCode !== 0) throw new Error(`wrk exited ${child.exitCode ?? child.signalCode}: ${(err || out).trim()}`);
  return parseWrk(out);
}
