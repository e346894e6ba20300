/**
 * Memory with many idle keep-alive clients: starts dist/tenbin in front of one small backend, opens
 * `connections` keep-alive client connections to it, sends one request on each (so every connection
 * has been through the whole proxy path once), keeps them idle, and reads tenbin's VmRSS: 3 s after
 * the last one opened, and again at 13 s, once tenbin's full collection after a move of its
 * connection count has run (`settled`). The goal (issue 22): at most 75 MB with 10,000 clients.
 *
 *   bun bench/idle-conns.ts [--connections 10000] [--engine runtime]
 *
 * tenbin runs under `ulimit -n` raised to its hard limit (it needs one descriptor per client plus its
 * upstream sockets). The harness itself needs as many; Bun raises its own soft limit at start.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Socket } from "bun";
import { freePort, logTail, spawnLogged, stopChild, waitReady } from "./process.ts";

const HOST = "127.0.0.1";
const BODY = "x".repeat(1024);

/** What `runIdleConnsBench` measured. */
export interface IdleConnsResult {
  /** Connections asked for, and how many were still open when RSS was read. */
  connections: number;
  open: number;
  /** tenbin's VmRSS before the clients connected, after they all went idle, and its peak (VmHWM). */
  baselineMb: number;
  idleMb: number;
  /** VmRSS once the connection count held still long enough for tenbin's full collection (`afterMs`); undefined without `afterMs`. */
  settledMb: number | undefined;
  peakMb: number;
  /** (idle − baseline) per connection. */
  perConnectionKb: number;
  /** Descriptors tenbin held while the clients were idle. */
  fds: number;
}

interface ClientState {
  /** Bytes still expected of the response; -1 until its head arrived. */
  remaining: number;
  head: string;
  done: (() => void) | undefined;
  failed: ((error: Error) => void) | undefined;
  closed: boolean;
}

function memoryKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reads one response (content-length framed) off the client socket. */
function onClientData(socket: Socket<ClientState>, chunk: Uint8Array): void {
  const state = socket.data;
  if (state.remaining < 0) {
    state.head += Buffer.from(chunk).toString("latin1");
    const end = state.head.indexOf("\r\n\r\n");
    if (end < 0) return;
    if (!state.head.startsWith("HTTP/1.1 200")) {
      state.failed?.(new Error(`Proxied request answered "${state.head.split("\r\n")[0]}"`));
      return;
    }
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(state.head)?.[1] ?? Number.NaN);
    state.remaining = length - (state.head.length - end - 4);
  } else {
    state.remaining -= chunk.byteLength;
  }
  if (state.remaining <= 0) {
    state.remaining = -1;
    state.head = "";
    state.done?.();
  }
}

/** Opens one keep-alive connection and completes one request on it. */
async function openClient(port: number): Promise<Socket<ClientState>> {
  const socket = await Bun.connect<ClientState>({
    hostname: HOST,
    port,
    data: { remaining: -1, head: "", done: undefined, failed: undefined, closed: false },
    socket: {
      data: onClientData,
      close(s) {
        s.data.closed = true;
        s.data.failed?.(new Error("Connection closed before the response"));
      },
      error(s, error) {
        s.data.failed?.(error);
      },
    },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("No response within 30 s")), 30_000);
    socket.data.done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.data.failed = (error) => {
      clearTimeout(timer);
      reject(error);
    };
    socket.write(`GET /idle HTTP/1.1\r\nHost: ${HOST}:${port}\r\n\r\n`);
  });
  socket.data.done = undefined;
  socket.data.failed = undefined;
  return socket;
}

/** What `runIdleConnsBench` takes. */
export interface IdleConnsOptions {
  /** The repository root; tenbin is `dist/tenbin` in it unless `command` says otherwise. */
  root: string;
  /** argv that starts tenbin, before `run -c FILE` (tests use `bun src/main.ts`). */
  command?: string[];
  connections?: number;
  /** The listener's `engine` (default: tenbin's default). */
  engine?: string | undefined;
  /** How long the clients idle before RSS is read (3 s: timers, GC and the allocator settle). */
  settleMs?: number;
  /**
   * Read VmRSS again this long after the clients opened (default 13 s): tenbin asks for a full
   * collection once the connection count held still for two 5 s ticks (listener/load-follower.ts).
   * 0: not read.
   */
  afterMs?: number;
  log?: (line: string) => void;
}

/** Measures tenbin's memory with `connections` idle keep-alive clients. */
export async function runIdleConnsBench(options: IdleConnsOptions): Promise<IdleConnsResult> {
  const connections = options.connections ?? 10_000;
  const log = options.log ?? (() => {});
  const backend = Bun.serve({ hostname: HOST, port: 0, fetch: () => new Response(BODY, { headers: { "content-type": "text/plain" } }) });
  const dir = mkdtempSync(join(tmpdir(), "tenbin-idle-"));
  // max_conns is set: its default (auto) keeps half of the fd limit for server connections, so a hard
  // limit of 20,000 takes ~9,900 clients, while idle keep-alive clients share a few pooled ones.
  const port = await freePort(HOST);
  writeFileSync(
    join(dir, "tenbin.yaml"),
    `# bench/idle-conns.ts
shutdown_timeout: 1s
listeners:
  - { name: web, listen: ${HOST}:${port}, idle_timeout: 255s, ${options.engine ? `engine: ${options.engine}, ` : `max_conns: ${connections + 100}, `}routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "http://${HOST}:${backend.port}" }] }
`,
  );
  const command = options.command ?? [join(options.root, "dist", "tenbin")];
  // One descriptor per client: raise the soft limit to the hard one for tenbin alone.
  const script = `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
  const child = spawnLogged(["sh", "-c", script, "sh", ...command, "run", "-c", join(dir, "tenbin.yaml")], {}, join(dir, "tenbin"));
  const clients: Socket<ClientState>[] = [];
  try {
    await waitReady(`http://${HOST}:${port}/`, BODY.length, child, join(dir, "tenbin"));
    await sleep(500);
    const baselineKb = memoryKb(child.pid, "VmRSS");
    const batch = 250;
    for (let opened = 0; opened < connections; opened += batch) {
      const n = Math.min(batch, connections - opened);
      clients.push(...(await Promise.all(Array.from({ length: n }, () => openClient(port)))));
      if ((opened + n) % 2000 === 0) log(`  ${opened + n} connections open`);
    }
    // Idle: let timers, GC and the allocator settle before reading.
    const settleMs = options.settleMs ?? 3000;
    await sleep(settleMs);
    if (child.exitCode !== null) throw new Error(`tenbin exited: ${logTail(join(dir, "tenbin"))}`);
    const idleKb = memoryKb(child.pid, "VmRSS");
    const afterMs = options.afterMs ?? 13_000;
    let settledKb: number | undefined;
    if (afterMs > settleMs) {
      await sleep(afterMs - settleMs);
      settledKb = memoryKb(child.pid, "VmRSS");
    }
    const open = clients.filter((c) => !c.data.closed).length;
    let fds = Number.NaN;
    try {
      fds = (await Array.fromAsync(new Bun.Glob("*").scan({ cwd: `/proc/${child.pid}/fd`, onlyFiles: false }))).length;
    } catch {
      // not readable: leave NaN
    }
    return {
      connections,
      open,
      baselineMb: baselineKb / 1024,
      idleMb: idleKb / 1024,
      settledMb: settledKb === undefined ? undefined : settledKb / 1024,
      peakMb: memoryKb(child.pid, "VmHWM") / 1024,
      perConnectionKb: (idleKb - baselineKb) / connections,
      fds,
    };
  } finally {
    for (const c of clients) c.end();
    await stopChild(child);
    await backend.stop(true);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The result as a markdown table. */
export function renderIdleConns(r: IdleConnsResult): string {
  return [
    "| idle keep-alive clients | still open | tenbin fds | RSS before MB | RSS idle MB | settled MB | peak RSS MB | KB per connection | goal |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    `| ${r.connections.toLocaleString("en-US")} | ${r.open.toLocaleString("en-US")} | ${Number.isFinite(r.fds) ? r.fds.toLocaleString("en-US") : "n/a"} | ${r.baselineMb.toFixed(1)} | ${r.idleMb.toFixed(1)} | ${r.settledMb?.toFixed(1) ?? "—"} | ${r.peakMb.toFixed(1)} | ${r.perConnectionKb.toFixed(2)} | ≤ 75 MB: ${Math.min(r.idleMb, r.settledMb ?? Infinity) <= 75 ? "met" : "not met"} |`,
  ].join("\n");
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--connections");
  const connections = at >= 0 ? Number(args[at + 1]) : 10_000;
  if (!Number.isInteger(connections) || connections < 1) {
    console.error(`Invalid connection count "${args[at + 1]}"`);
    process.exit(2);
  }
  const engineAt = args.indexOf("--engine");
  const engine = engineAt >= 0 ? args[engineAt + 1] : undefined;
  const result = await runIdleConnsBench({ root: join(import.meta.dir, ".."), connections, engine, log: (l) => console.error(l) });
  console.log(renderIdleConns(result));
}
