/**
 * Slow readers (issue 21, item 1): CLIENTS clients download a SIZE_MB file through the proxy at
 * RATE (curl --limit-rate) for SECONDS, then leave. Reports the proxy's VmRSS when idle (after one
 * fast download), its peak and its value at the end while the readers are connected, and 5 s and
 * 15 s after they left. Goal: within 20 % of idle during, and back near idle after.
 *
 *   bun bench/pressure-slow-readers.ts [--proxy tenbin|haproxy] [--engine tenbin|runtime]
 *     [--clients 200] [--size-mb 10] [--rate 1k] [--seconds 30] [--main src/main.ts] [--rcvbuf 16KiB]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { percentOver, sampleRss, startPressureProxy, waitProxyReady } from "./pressure-proxy.ts";

const { values } = parseArgs({
  options: {
    proxy: { type: "string", default: "tenbin" },
    engine: { type: "string", default: "tenbin" },
    clients: { type: "string", default: "200" },
    "size-mb": { type: "string", default: "10" },
    rate: { type: "string", default: "1k" },
    seconds: { type: "string", default: "30" },
    main: { type: "string", default: resolve(import.meta.dir, "../src/main.ts") },
    /** tenbin's `server_receive_buffer` (default: the config's default). */
    rcvbuf: { type: "string" },
  },
});
const HOST = "127.0.0.1";
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const file = new Uint8Array(Number(values["size-mb"]) * 1_000_000).fill(120);
const backend = Bun.serve({ hostname: HOST, port: 0, idleTimeout: 0, fetch: () => new Response(file) });
const dir = mkdtempSync(join(tmpdir(), "tenbin-slow-"));
const proxy = await startPressureProxy({
  proxy: values.proxy!, engine: values.engine!, main: values.main!, host: HOST, backendPort: backend.port!, dir,
  tenbinExtra: values.rcvbuf ? `server_receive_buffer: ${values.rcvbuf}` : "",
});
const { port, rssMb } = proxy;
const url = `http://${HOST}:${port}/file`;
const curl = (extra: string[]) => Bun.spawn(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", ...extra, url], { stdout: "pipe", stderr: "ignore" });

await waitProxyReady(async () => (await new Response(curl(["--max-time", "10"]).stdout).text()).startsWith("200 "), proxy.kill);
await Bun.sleep(2000);
const idle = rssMb();
const readers = Array.from({ length: CLIENTS }, () => curl(["--limit-rate", values.rate!, "--max-time", String(SECONDS)]));
const { peak, during } = await sampleRss(rssMb, idle, SECONDS);
await Promise.all(readers.map((r) => r.exited));
await Bun.sleep(5000);
const after5 = rssMb();
await Bun.sleep(10_000);
const after15 = rssMb();
const pct = (x: number) => percentOver(x, idle);
console.log(JSON.stringify({ proxy: values.proxy, engine: values.proxy === "tenbin" ? values.engine : undefined, main: values.proxy === "tenbin" ? values.main : undefined, clients: CLIENTS, rate: values.rate, seconds: SECONDS, idleMb: idle, peakMb: peak, duringMb: during, duringPct: pct(during), peakPct: pct(peak), after5sMb: after5, after15sMb: after15, after15Pct: pct(after15) }));
proxy.kill();
backend.stop(true);
process.exit(0);
