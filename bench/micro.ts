/**
 * Micro benchmarks of the hot path, one section per area: balancer picks, persistence cookies and
 * the source table. Other areas (route matching, header rewriting) add a section to
 * `MICRO_SECTIONS`. Each task runs a batch of operations per call so timer overhead stays out of
 * the per-operation figure.
 *
 *     node_modules/.bin/bun bench/micro.ts
 */
import { Bench } from "tinybench";
import { BALANCE_ALGORITHMS, type ServerConfig } from "../src/config/schema.ts";
import type { PickContext } from "../src/pool/balance/balancer.ts";
import { createBalancer } from "../src/pool/balance/registry.ts";
import { CookieSigner, readCookie } from "../src/pool/persist/cookie.ts";
import { SourceAffinity } from "../src/pool/persist/source.ts";
import { ServerState } from "../src/pool/server-state.ts";
import { seededRandom, systemClock } from "../src/util/clock.ts";

/** One measured operation: `run` performs it `batch` times. */
export interface MicroTask {
  name: string;
  batch: number;
  run: () => void;
}

/** A group of tasks reported as one table. */
export interface MicroSection {
  title: string;
  tasks: () => MicroTask[];
}

/** Keeps results alive so the JIT cannot drop the measured work. */
let sink = 0;

function consume(value: unknown): void {
  if (value !== undefined) sink++;
}

const BATCH = 1_000;

function benchServers(n: number): ServerState[] {
  const random = seededRandom(n);
  return Array.from({ length: n }, (_, i) => {
    const config: ServerConfig = {
      url: `http://10.0.${i >> 8}.${i & 255}:8080`,
      weight: 1 + (i % 3),
      max_conns: 0,
      backup: false,
      drain: false,
    };
    const server = new ServerState(config, systemClock);
    server.index = i;
    server.inFlight = Math.floor(random() * 4);
    server.observeLatency(5 + random() * 45, 10_000, 0);
    return server;
  });
}

/** `pick()` of every algorithm at 2, 16 and 256 servers, as a pool calls it (backup wrapper on). */
const balancerSection: MicroSection = {
  title: "Balancer pick()",
  tasks: () => {
    const contexts: PickContext[] = Array.from({ length: 1_024 }, (_, i) => ({
      clientIp: `198.51.${i >> 8}.${i & 255}`,
      hashKey: `198.51.${i >> 8}.${i & 255}`,
    }));
    const tasks: MicroTask[] = [];
    for (const size of [2, 16, 256]) {
      for (const name of BALANCE_ALGORITHMS) {
        const servers = benchServers(size);
        const balancer = createBalancer(name, { clock: systemClock, random: seededRandom(1), ewmaDecayMs: 10_000 });
        let i = 0;
        tasks.push({
          name: `${name} × ${size}`,
          batch: BATCH,
          run: () => {
            for (let k = 0; k < BATCH; k++) consume(balancer.pick(servers, contexts[i++ & 1023]!));
          },
        });
      }
    }
    return tasks;
  },
};

/** Cookie signing and checking, and the source table, per request. */
const persistenceSection: MicroSection = {
  title: "Persistence",
  tasks: () => {
    const signer = new CookieSigner("a-32-byte-key-for-benchmarks-only");
    const value = signer.sign("http://10.0.0.11:8080", 2_000_000_000);
    const forged = value.slice(0, -1) + (value.endsWith("A") ? "B" : "A");
    // Distinct header strings, so the engine cannot hoist the lookup out of the loop.
    const headers = Array.from({ length: 64 }, (_, k) => `_ga=GA1.2.${123456789 + k}.1700000000; theme=dark; tenbin_srv=${value}; _gid=GA1.2.987654321.${k}`);
    const affinity = new SourceAffinity({ timeoutMs: 300_000, netmask: 24, maxEntries: 100_000, clock: systemClock });
    const clients = Array.from({ length: 1_024 }, (_, i) => `198.51.${i >> 6}.${i & 255}`);
    for (const client of clients) affinity.set(client, "http://10.0.0.11:8080");
    const batch = 100;
    let i = 0;
    return [
      { name: "cookie sign", batch, run: () => { for (let k = 0; k < batch; k++) consume(signer.sign("http://10.0.0.11:8080", 2_000_000_000 + k)); } },
      { name: "cookie verify (valid)", batch, run: () => { for (let k = 0; k < batch; k++) consume(signer.verify(value, 1_700_000_000)); } },
      { name: "cookie verify (forged)", batch, run: () => { for (let k = 0; k < batch; k++) consume(signer.verify(forged, 1_700_000_000)); } },
      { name: "readCookie (4 cookies)", batch: BATCH, run: () => { for (let k = 0; k < BATCH; k++) consume(readCookie(headers[k & 63]!, "tenbin_srv")); } },
      { name: "source get + touch (/24)", batch: BATCH, run: () => {
        for (let k = 0; k < BATCH; k++) {
          const client = clients[i++ & 1023]!;
          consume(affinity.get(client));
          affinity.touch(client);
        }
      } },
    ];
  },
};

/** Every section, in report order; add yours here. */
export const MICRO_SECTIONS: MicroSection[] = [balancerSection, persistenceSection];

function formatNs(ns: number): string {
  return ns < 10 ? ns.toFixed(2) : ns < 1_000 ? ns.toFixed(1) : Math.round(ns).toLocaleString("en-US");
}

/** Runs the sections (all by default) and returns a markdown report: ns/op and ops/s per task. */
export async function runMicroBench(sections: readonly MicroSection[] = MICRO_SECTIONS, timeMs = 300): Promise<string> {
  const lines: string[] = [];
  for (const section of sections) {
    const bench = new Bench({ name: section.title, time: timeMs, warmupTime: 100 });
    const batches = new Map<string, number>();
    for (const task of section.tasks()) {
      batches.set(task.name, task.batch);
      bench.add(task.name, task.run);
    }
    await bench.run();
    lines.push(`### ${section.title}`, "", "| task | ns/op | ops/s |", "| --- | ---: | ---: |");
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== "completed") {
        lines.push(`| ${task.name} | ${result.state} | |`);
        continue;
      }
      const nsPerOp = (result.latency.mean * 1e6) / (batches.get(task.name) ?? 1);
      lines.push(`| ${task.name} | ${formatNs(nsPerOp)} | ${Math.round(1e9 / nsPerOp).toLocaleString("en-US")} |`);
    }
    lines.push("");
  }
  if (sink < 0) lines.push("unreachable"); // reads the sink so it stays live
  return lines.join("\n");
}

if (import.meta.main) {
  console.log(await runMicroBench());
}
