/**
 * Memory across reloads (issue 21, item 4): a tenbin process (from source) with health checks,
 * outlier detection, a sticky cookie, an access log, the admin plane and a TCP listener takes N
 * SIGHUPs, one after the other (each waits for its "reloaded" line), with no traffic. Reports VmRSS
 * at the start, every 1,000 reloads, and after; HAProxy has no comparable in-process reload.
 *
 *   bun bench/pressure-reloads.ts [--reloads 10000] [--warmup 10] [--main src/main.ts]
 *
 * `--warmup` seconds pass before the first RSS reading, so probes have run (Bun's HTTP client and
 * its thread allocate on first use, which a cold reading would blame on the reloads).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { reloads: { type: "string", default: "10000" }, warmup: { type: "string", default: "10" }, main: { type: "string", default: resolve(import.meta.dir, "../src/main.ts") } } });
const RELOADS = Number(values.reloads);
const backend = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
const dir = mkdtempSync(join(tmpdir(), "tenbin-reloads-"));
const file = join(dir, "tenbin.yaml");
writeFileSync(file, `
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }], access_log: { path: "${join(dir, "access.log")}" } }
  - { name: db, listen: 127.0.0.1:0, mode: tcp, pool: raw }
pools:
  app:
    health: { http: { path: / }, interval: 1s }
    outlier: {}
    sticky: { cookie: { name: s, key: abcdefghijklmnopqrstuvwxyz0123456789 } }
    servers: [{ url: "http://127.0.0.1:${backend.port}" }]
  raw:
    health: { tcp: {}, interval: 1s }
    servers: [{ url: "tcp://127.0.0.1:${backend.port}" }]
`);
const child = Bun.spawn([resolve(import.meta.dir, "../node_modules/.bin/bun"), values.main!, "run", "-c", file], { stdout: "ignore", stderr: "pipe" });
let reloaded = 0;
let output = "";
void (async () => {
  const reader = (child.stderr as ReadableStream<Uint8Array>).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    const text = new TextDecoder().decode(r.value);
    reloaded += text.split(" reloaded ").length - 1;
    if (output.length < 4000) output += text;
  }
})();
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1]) / 1024;
const until = async (ok: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) {
      child.kill("SIGKILL");
      throw new Error(`timed out; output:\n${output}`);
    }
    await Bun.sleep(1);
  }
};
await until(() => /admin listening/.test(output), 15_000);
// Probes have run a while (the runtime's HTTP client allocates its buffers on first use).
await Bun.sleep(Number(values.warmup) * 1000);
const samples: { reloads: number; rssMb: number }[] = [{ reloads: 0, rssMb: rssMb() }];
const started = performance.now();
for (let i = 1; i <= RELOADS; i++) {
  child.kill("SIGHUP");
  await until(() => reloaded >= i, 10_000);
  if (i % 1000 === 0 || i === RELOADS) samples.push({ reloads: i, rssMb: Math.round(rssMb() * 10) / 10 });
}
const seconds = (performance.now() - started) / 1000;
await Bun.sleep(5000);
const after = Math.round(rssMb() * 10) / 10;
console.log(JSON.stringify({ main: values.main, reloads: RELOADS, seconds: Math.round(seconds), startMb: samples[0]!.rssMb, samples, after5sMb: after, growthPct: Math.round(((after - samples[0]!.rssMb) / samples[0]!.rssMb) * 1000) / 10 }));
child.kill("SIGKILL");
backend.stop(true);
process.exit(0);
