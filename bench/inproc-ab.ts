/**
 * The JavaScript cost of one proxied request, without the kernel: two source trees of tenbin run in
 * this one process, each behind in-memory sockets (a client side fed to the own HTTP/1.1 server, an
 * upstream side that answers every request with a canned nginx answer of 1 KB), and are fed in
 * batches, one tree after the other. The wall time per request of a batch is all CPU of this
 * process, so a change of a few per cent shows here, where the paired wrk runs of bench/ab.ts need
 * many rounds on a noisy machine to see it. What it leaves out (syscalls, the runtime's socket
 * layer) is the same for both trees, so use ab.ts for the ratio to HAProxy.
 *
 *   bun bench/inproc-ab.ts [--rounds 16] [--batch 30000] [--connections 50] [--config FILE] [--config-after FILE] [--cpu] BEFORE_DIR AFTER_DIR
 *
 * `--config FILE`: another tenbin config (YAML) instead of the one below; its HTTP listener on
 * 127.0.0.1:8080 takes the requests, every backend answers the canned 1 KB answer (probes too),
 * and any other listener (the admin plane) binds nothing. `--config-after FILE`: AFTER_DIR runs that
 * config instead, so one tree against itself gives what a config's features cost, paired:
 *
 *   bun bench/inproc-ab.ts --config bench/configs/inproc-full.yaml --config-after bench/configs/inproc-full-policies.yaml . .
 *
 * A tree is a directory with src/ (a `git archive` of another commit, its node_modules linked).
 * Pin it to one core (`taskset -c 1`) for steadier numbers; on a shared machine add `--cpu` (CPU time
 * instead of wall time: a neighbour's time slices then do not count). Whichever tree runs first in a round
 * pays for some of the other's garbage, so the order alternates and the report pairs the rounds.
 */
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const USAGE = "Usage: bun bench/inproc-ab.ts [--rounds 16] [--batch 30000] [--connections 50] [--config FILE] [--config-after FILE] [--cpu] BEFORE_DIR AFTER_DIR";
/** Client connections, each with one request in flight (`--connections`). */
let CONNECTIONS = 50;
const WARMUP = 50_000;
const REQUEST = Buffer.from("GET /1k HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk/4.2.0\r\nAccept: */*\r\n\r\n", "latin1");
const ANSWER = Buffer.from(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 08:20:47 GMT\r\nContent-Type: application/octet-stream\r\n" +
    'Content-Length: 1024\r\nLast-Modified: Thu, 26 Nov 2026 08:20:47 GMT\r\nConnection: keep-alive\r\nETag: "6565-400"\r\nAccept-Ranges: bytes\r\n\r\n' +
    "a".repeat(1024),
  "latin1",
);
/** Bytes of tenbin's answer to one request, at least (its head differs from nginx's a little). */
const ANSWERED = 1024 + 100;
let CONFIG = `listeners:
  - { name: web, listen: 127.0.0.1:8080, engine: tenbin, routes: [{ pool: app }] }
pools:
  app: { balance: round_robin, servers: [{ url: http://10.0.0.1:1 }, { url: http://10.0.0.2:1 }] }
`;

/** A socket that only counts what is written to it. */
class MemoryConn {
  readonly remoteAddress = "127.0.0.1";
  readonly remotePort = 40000;
  readonly localAddress = "127.0.0.1";
  readonly localPort = 8080;
  readonly pending = 0;
  readonly #wrote: (bytes: number) => void;
  constructor(wrote: (bytes: number) => void) {
    this.#wrote = wrote;
  }
  write(data: Uint8Array): boolean {
    this.#wrote(data.byteLength);
    return true;
  }
  writeBorrowed(_data: Uint8Array, length: number): boolean {
    this.#wrote(length);
    return true;
  }
  shutdownWrite(): void {}
  end(): void {}
  destroy(): void {}
  pause(): void {}
  resume(): void {}
}

interface Events {
  data(chunk: Uint8Array): void;
}

/** Starts tenbin from `root`'s sources on memory sockets; the result runs a batch and answers µs per request. */
async function rig(root: string, config: string): Promise<(requests: number) => Promise<number>> {
  const { loadConfigText } = await import(`${root}/src/config/load.ts`);
  const { memoryLogger } = await import(`${root}/src/observe/log.ts`);
  const { bunRuntime } = await import(`${root}/src/runtime/bun.ts`);
  const { Tenbin } = await import(`${root}/src/start.ts`);
  let accept: ((conn: MemoryConn) => Events) | undefined;
  const runtime = {
    ...bunRuntime,
    listenTcp: async (options: { accept: (conn: MemoryConn) => Events; port: number }) => {
      if (options.port === 8080) accept = options.accept;
      return { hostname: "127.0.0.1", port: options.port === 0 ? 9999 : options.port, stop() {} };
    },
    // Every request is answered in a later turn of the event loop, as a real socket's would be.
    connectTcp: async (options: { events: Events }) => new MemoryConn(() => setImmediate(() => options.events.data(Buffer.from(ANSWER)))),
  };
  await Tenbin.start(loadConfigText(config, "inproc.yaml", {}), { runtime, logger: memoryLogger() });
  if (accept === undefined) throw new Error(`${root}: tenbin bound no listener`);
  let left = 0;
  let finished: (() => void) | undefined;
  const clients = Array.from({ length: CONNECTIONS }, () => {
    const client = { got: 0, busy: false, events: undefined as Events | undefined, send: () => {} };
    client.send = () => {
      client.busy = true;
      client.events!.data(Buffer.from(REQUEST));
    };
    client.events = accept!(new MemoryConn((bytes) => {
      client.got += bytes;
      if (client.got < ANSWERED) return;
      client.got = 0;
      client.busy = false;
      if (--left > 0) setImmediate(client.send);
      else if (clients.every((c) => !c.busy)) finished?.();
    }));
    return client;
  });
  return (requests) =>
    new Promise<number>((done) => {
      left = requests;
      const started = clock();
      finished = () => {
        finished = undefined;
        done((clock() - started) / requests);
      };
      for (const client of clients) client.send();
    });
}

/**
 * Microseconds: wall time by default; with `--cpu`, the process's CPU time (every thread's, the
 * collector's included), which another process sharing the core does not inflate.
 */
let clock = (): number => performance.now() * 1000;
const cpuClock = (): number => {
  const used = process.cpuUsage();
  return used.user + used.system;
};

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let rounds = 16;
  let batch = 30_000;
  const roots: string[] = [];
  let configAfter: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--rounds") rounds = Number(args[++i]);
    else if (arg === "--batch") batch = Number(args[++i]);
    else if (arg === "--connections") CONNECTIONS = Number(args[++i]);
    else if (arg === "--config") CONFIG = readFileSync(args[++i]!, "utf8");
    else if (arg === "--config-after") configAfter = readFileSync(args[++i]!, "utf8");
    else if (arg === "--cpu") clock = cpuClock;
    else roots.push(resolve(arg));
  }
  if (roots.length !== 2 || !(rounds >= 2) || !(batch > 0) || !(CONNECTIONS >= 1)) throw new Error(USAGE);
  const rigs = [await rig(roots[0]!, CONFIG), await rig(roots[1]!, configAfter ?? CONFIG)];
  for (const run of rigs) await run(WARMUP);
  const perRequest: number[][] = [[], []];
  for (let round = 0; round < rounds; round++) {
    for (const k of round % 2 === 0 ? [0, 1] : [1, 0]) perRequest[k]!.push(await rigs[k]!(batch));
  }
  const ratios = perRequest[1]!.map((after, i) => after / perRequest[0]![i]!);
  const pairs: number[] = [];
  for (let i = 0; i + 1 < ratios.length; i += 2) pairs.push(Math.sqrt(ratios[i]! * ratios[i + 1]!));
  const least = (values: readonly number[]) => Math.min(...values).toFixed(2);
  console.log(`before ${roots[0]}: ${median(perRequest[0]!).toFixed(2)} µs per request (median of ${rounds} batches of ${batch}; least ${least(perRequest[0]!)})`);
  console.log(`after  ${roots[1]}: ${median(perRequest[1]!).toFixed(2)} µs per request (least ${least(perRequest[1]!)})`);
  console.log(`after / before, per pair of rounds: ${pairs.map((r) => r.toFixed(3)).join(" ")}; median ${median(pairs).toFixed(3)}`);
  process.exit(0);
}

await main();
