/**
 * At the fd limit (issue 21, item 2): tenbin (or HAProxy) under `ulimit -n FD` with CLIENTS idle
 * clients connecting at once, one health-checked backend. Reports the proxy's CPU over 10 s at the
 * limit, whether a keep-alive connection opened before the crowd still gets 200, whether the server
 * was ever declared down, and how the crowd was treated (kept open, answered 503, closed).
 *
 *   bun bench/pressure-fd-limit.ts [--proxy tenbin|haproxy] [--fd 1024] [--clients 1100] [--main src/main.ts]
 *
 * `--main` points at another checkout's src/main.ts (a "before" build). CPU numbers on a shared
 * machine are noisy; a busy accept loop shows as ~100 % of a core, a quiet one as ~0 %.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "./process.ts";

const { values } = parseArgs({ options: { proxy: { type: "string", default: "tenbin" }, fd: { type: "string", default: "1024" }, clients: { type: "string", default: "1100" }, main: { type: "string", default: resolve(import.meta.dir, "../src/main.ts") } } });
const FD = Number(values.fd);
const CLIENTS = Number(values.clients);
const HOST = "127.0.0.1";

const backend = Bun.serve({ hostname: HOST, port: 0, idleTimeout: 0, fetch: () => new Response("ok") });
const port = await freePort(HOST);
const dir = mkdtempSync(join(tmpdir(), "tenbin-fd-"));
let cmd: string[];
if (values.proxy === "haproxy") {
  writeFileSync(join(dir, "haproxy.cfg"), `global
  log stderr format raw local0 info
defaults
  mode http
  log global
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
frontend web
  bind ${HOST}:${port}
  default_backend app
backend app
  option httpchk GET /
  server a ${HOST}:${backend.port} check inter 200ms fall 2
`);
  cmd = ["haproxy", "-db", "-f", join(dir, "haproxy.cfg")];
} else {
  writeFileSync(join(dir, "tenbin.yaml"), `admin: { enabled: false }
listeners:
  - { name: web, listen: ${HOST}:${port}, engine: tenbin, routes: [{ pool: app }] }
pools:
  app:
    health: { http: { path: / }, interval: 200ms, timeout: 500ms, fall: 2 }
    servers: [{ url: "http://${HOST}:${backend.port}" }]
`);
  cmd = [resolve(import.meta.dir, "../node_modules/.bin/bun"), values.main!, "run", "-c", join(dir, "tenbin.yaml")];
}
const child = Bun.spawn(["bash", "-c", `ulimit -n ${FD} && exec "$0" "$@"`, ...cmd], { stdout: "pipe", stderr: "pipe" });
let output = "";
for (const stream of [child.stdout, child.stderr]) {
  void (async () => {
    const reader = (stream as ReadableStream<Uint8Array>).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) output += new TextDecoder().decode(r.value);
  })();
}
const cpu = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};
const get = (sock: Socket) =>
  new Promise<string>((done) => {
    let text = "";
    const timer = setTimeout(() => (sock.off("data", on), done(text || "(no answer in 5 s)")), 5000);
    const on = (d: Buffer) => {
      text += d.toString("latin1");
      if (text.includes("\r\n\r\n")) (clearTimeout(timer), sock.off("data", on), done(text.split("\r\n", 1)[0]!));
    };
    sock.on("data", on);
    sock.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
  });

// Ready: a request passes.
const deadline = Date.now() + 15_000;
let kept: Socket;
for (;;) {
  if (Date.now() > deadline) {
    child.kill("SIGKILL");
    throw new Error(`not ready:\n${output}`);
  }
  await Bun.sleep(200);
  const s = createConnection({ host: HOST, port });
  s.on("error", () => {});
  const ok = await new Promise<boolean>((r) => s.once("connect", () => r(true)).once("error", () => r(false)));
  if (ok && (await get(s)).includes("200")) {
    kept = s;
    break;
  }
  s.destroy();
}
const state = { open: 0, refused503: 0, closed: 0, errors: 0 };
const crowd: Socket[] = [];
for (let i = 0; i < CLIENTS; i++) {
  const s = createConnection({ host: HOST, port });
  crowd.push(s);
  s.on("connect", () => state.open++);
  s.on("data", (d) => d.toString("latin1").startsWith("HTTP/1.1 503") && state.refused503++);
  s.on("close", () => state.closed++);
  s.on("error", () => state.errors++);
}
await Bun.sleep(2000);
const c0 = cpu();
const t0 = performance.now();
await Bun.sleep(8000);
const cpuPct = ((cpu() - c0) / ((performance.now() - t0) / 1000)) * 100;
const keptAnswer = await get(kept);
const fresh = createConnection({ host: HOST, port });
fresh.on("error", () => {});
const freshAnswer = await new Promise<string>((r) => fresh.on("connect", () => void get(fresh).then(r)).on("error", (e) => r(String(e))));
const downs = (output.match(/ down: |is DOWN/g) ?? []).length;
const limitLine = output.split("\n").find((l) => /fd limit|maxconn|at the limit/.test(l)) ?? "";
console.log(JSON.stringify({ proxy: values.proxy, main: values.proxy === "tenbin" ? values.main : undefined, fd: FD, clients: CLIENTS, cpuPct: Math.round(cpuPct * 10) / 10, crowd: { ...state, stillOpen: crowd.filter((s) => s.readyState === "open").length }, keptAnswer, freshAnswer, serverDownEvents: downs, limitLine }, null, 1));
for (const s of [...crowd, kept, fresh]) s.destroy();
child.kill("SIGKILL");
backend.stop(true);
process.exit(0);
