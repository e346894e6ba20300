/**
 * What the memory-under-pressure benchmarks share (bench/pressure-slow-readers.ts,
 * bench/pressure-slow-uploads.ts): tenbin (from source) or HAProxy in front of one server, with
 * timeouts long enough for a slow crowd, its VmRSS, a readiness wait, and RSS sampled while the
 * crowd works.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort } from "./process.ts";

/** Where the proxy listens and how it is read. */
export interface PressureProxy {
  port: number;
  /** The proxy's VmRSS in MB, one decimal. */
  rssMb(): number;
  kill(): void;
}

/** Which proxy to start, in front of `backendPort` on `host`; config files go to `dir`. */
export interface PressureProxyOptions {
  proxy: string;
  engine: string;
  /** tenbin's src/main.ts (or another tree's). */
  main: string;
  host: string;
  backendPort: number;
  dir: string;
  /** Top-level tenbin config lines (such as `server_receive_buffer: 16KiB`), or "". */
  tenbinExtra?: string;
}

/** Starts HAProxy (`proxy: haproxy`) or tenbin with the given engine. */
export async function startPressureProxy(o: PressureProxyOptions): Promise<PressureProxy> {
  const port = await freePort(o.host);
  let cmd: string[];
  if (o.proxy === "haproxy") {
    writeFileSync(join(o.dir, "haproxy.cfg"), `defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend web
  bind ${o.host}:${port}
  default_backend app
backend app
  server a ${o.host}:${o.backendPort}
`);
    cmd = ["haproxy", "-db", "-f", join(o.dir, "haproxy.cfg")];
  } else {
    writeFileSync(join(o.dir, "tenbin.yaml"), `admin: { enabled: false }
${o.tenbinExtra ?? ""}
listeners:
  - { name: web, listen: ${o.host}:${port}, engine: ${o.engine}, idle_timeout: 120s, routes: [{ pool: app }] }
pools:
  app:
    timeouts: { response: 120s, idle: 120s }
    servers: [{ url: "http://${o.host}:${o.backendPort}" }]
`);
    cmd = [resolve(import.meta.dir, "../node_modules/.bin/bun"), o.main, "run", "-c", join(o.dir, "tenbin.yaml")];
  }
  const child = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
  return {
    port,
    rssMb: () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1]) / 102.4) / 10,
    kill: () => child.kill("SIGKILL"),
  };
}

/** Polls `ready` every 200 ms, at most 76 times; throws (after `onTimeout`) when it never was. */
export async function waitProxyReady(ready: () => Promise<boolean>, onTimeout: () => void): Promise<void> {
  for (let i = 0; ; i++) {
    await Bun.sleep(200);
    if (await ready()) return;
    if (i > 75) {
      onTimeout();
      throw new Error("proxy not ready");
    }
  }
}

/** RSS each second for `seconds` less one, from `idle`: the peak, and the value at the end. */
export async function sampleRss(rssMb: () => number, idle: number, seconds: number): Promise<{ peak: number; during: number }> {
  let peak = idle;
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000 - 1000) {
    await Bun.sleep(1000);
    peak = Math.max(peak, rssMb());
  }
  return { peak, during: rssMb() };
}

/** `x` above `idle`, in per cent with one decimal. */
export function percentOver(x: number, idle: number): number {
  return Math.round(((x - idle) / idle) * 1000) / 10;
}
