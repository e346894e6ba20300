/**
 * Compression throughput: tenbin's `compress` against Caddy's `encode gzip`, both in front of the
 * same backend answering a 100 KB JSON document, driven by wrk asking for gzip. Reports req/s, CPU
 * per 1,000 requests of the balancer process and the bytes on the wire per answer. Both use gzip
 * level 5 (Caddy's default).
 *
 *   bun bench/compress.ts [--duration 10s] [--connections 50] [--tenbin dist/tenbin | --tenbin src:.]
 *
 * Run it on a quiet machine for numbers; on a loaded one it only proves that both compress.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { findProgram, PEERS } from "./configs/peers.ts";
import { type Child, cpuTimeMs, freePort, spawnLogged, stopChild, waitReady } from "./process.ts";
import { parseWrk, type WrkResult } from "./wrk.ts";

const HOST = "127.0.0.1";
const LEVEL = 5;

/** A deterministic JSON document of about `bytes` bytes (records of a catalogue, as an API answers). */
export function jsonBody(bytes: number): string {
  const items: unknown[] = [];
  let size = 2;
  for (let i = 0; size < bytes; i++) {
    const item = { id: i, sku: `SKU-${(i * 7919) % 100000}`, name: `Product number ${i}`, price: ((i * 37) % 1000) / 10, tags: ["tenbin", i % 2 ? "odd" : "even"], stock: (i * 13) % 50 };
    size += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return JSON.stringify(items);
}

function parseOptions(argv: string[]): { duration: string; connections: number; tenbin: string } {
  const options = { duration: "10s", connections: 50, tenbin: "src:." };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? "";
    if (argv[i] === "--duration") options.duration = value();
    else if (argv[i] === "--connections") options.connections = Number(value());
    else if (argv[i] === "--tenbin") options.tenbin = value();
    else throw new Error(`Unknown argument "${argv[i]}"; usage: bun bench/compress.ts [--duration 10s] [--connections 50] [--tenbin dist/tenbin|src:DIR]`);
  }
  return options;
}

async function wrkGzip(connections: number, duration: string, url: string): Promise<WrkResult> {
  const wrk = findProgram("wrk");
  if (!wrk) throw new Error("wrk is not installed (apt-get install wrk)");
  const child = Bun.spawn([wrk, "-t2", `-c${connections}`, `-d${duration}`, "--latency", "-H", "Accept-Encoding: gzip", url], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(child.stdout).text();
  await child.exited;
  return parseWrk(out);
}

/** Checks that `url` answers gzip that decodes to `body`; returns the compressed size. */
async function checkGzip(url: string, body: string): Promise<number> {
  const res = await fetch(url, { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
  const raw = new Uint8Array(await res.arrayBuffer());
  if (res.headers.get("content-encoding") !== "gzip") throw new Error(`${url}: not gzip (content-encoding ${res.headers.get("content-encoding")})`);
  if (gunzipSync(raw).toString() !== body) throw new Error(`${url}: the gzip does not decode to the backend's body`);
  return raw.byteLength;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), "tenbin-compress-"));
  const body = jsonBody(100 * 1024);
  const backend = Bun.serve({ hostname: HOST, port: 0, fetch: () => new Response(body, { headers: { "content-type": "application/json" } }) });
  const origin = `http://${HOST}:${backend.port}`;
  const rows: string[] = [];
  const run = async (name: string, start: (port: number) => Child) => {
    const port = await freePort(HOST);
    const child = start(port);
    const url = `http://${HOST}:${port}/data.json`;
    try {
      await waitReady(url, body.length, child, join(dir, name));
      const wire = await checkGzip(url, body);
      await wrkGzip(options.connections, "1s", url); // warm-up
      const cpuBefore = cpuTimeMs(child.pid);
      const result = await wrkGzip(options.connections, options.duration, url);
      const cpu = cpuTimeMs(child.pid) - cpuBefore;
      rows.push(`| ${name} | ${result.rps.toFixed(0)} | ${((cpu / result.requests) * 1000).toFixed(1)} | ${result.p99Ms.toFixed(2)} | ${wire} | ${result.errors} |`);
    } finally {
      await stopChild(child);
    }
  };
  const tenbinConfig = join(dir, "tenbin.yaml");
  writeFileSync(tenbinConfig, `admin: { enabled: false }
listeners:
  - name: web
    listen: ${HOST}:\${PORT}
    routes:
      - { compress: { encodings: [gzip], level: ${LEVEL}, min_size: 1KB }, pool: app }
pools:
  app: { servers: [{ url: "${origin}" }] }
`);
  const tenbinCommand = options.tenbin.startsWith("src:")
    ? [process.execPath, join(resolve(options.tenbin.slice(4)), "src", "main.ts"), "run", "-c", tenbinConfig]
    : [resolve(options.tenbin), "run", "-c", tenbinConfig];
  await run("tenbin compress (gzip 5)", (port) => spawnLogged(tenbinCommand, { PORT: String(port) }, join(dir, "tenbin compress (gzip 5)")));
  const caddy = PEERS.find((p) => p.name === "caddy");
  const caddyBinary = caddy?.find(".");
  if (caddy && caddyBinary) {
    await run("Caddy encode gzip (5)", (port) => {
      const file = join(dir, "Caddyfile");
      writeFileSync(file, `{
	admin off
	auto_https off
}
http://:${port} {
	bind ${HOST}
	encode {
		gzip ${LEVEL}
	}
	reverse_proxy ${HOST}:${backend.port}
}
`);
      return spawnLogged(caddy.command(caddyBinary, file, dir), caddy.env(dir, 1), join(dir, "Caddy encode gzip (5)"));
    });
  } else {
    rows.push("| Caddy | not installed | | | | |");
  }
  backend.stop(true);
  console.log(`\n100 KB JSON (${body.length} bytes), wrk -H 'Accept-Encoding: gzip', ${options.connections} connections, ${options.duration}\n`);
  console.log("| balancer | req/s | CPU ms / 1k req | p99 ms | bytes per answer | errors |\n| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const row of rows) console.log(row);
}

if (import.meta.main) await main();
