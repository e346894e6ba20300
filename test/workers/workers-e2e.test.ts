/**
 * `workers: 2` end to end, with real processes: a primary and one worker share the listener's port
 * (reusePort; the config says port 0 and the worker is given the primary's port, so there is no
 * free-port race). Every request opens a new connection so the kernel spreads them over both.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { startHttpBackend, startTcpBackend, waitUntil, type HttpBackend } from "../helpers/health-backends.ts";
import { startTenbin, type TenbinProcess } from "../helpers/tenbin.ts";

interface WorkerJson {
  id: number;
  pid: number | null;
  state: string;
  requests: number;
  connections: number;
  restarts: number;
}
interface StatusJson {
  workers?: WorkerJson[];
  listeners: { requests: { total: number } }[];
  pools: { name: string; servers: { name: string; status: string; requests: number }[] }[];
}

function configYaml(a: HttpBackend, b: HttpBackend, extra?: HttpBackend): string {
  const health = "health: { http: { path: /health }, interval: 100ms, timeout: 200ms, rise: 1, fall: 2, jitter: 0 }";
  return `workers: 2
shutdown_timeout: 2s
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
${extra ? "      - { match: { path: /new }, pool: extra }\n" : ""}      - { pool: app }
pools:
  app:
    retries: 0
    ${health}
    servers: [{ url: ${a.url}, name: a }, { url: ${b.url}, name: b }]
${extra ? `  extra: { retries: 0, servers: [{ url: ${extra.url} }] }\n` : ""}`;
}

/** `n` requests, each on a new connection, 4 at a time; the bodies of 200s and the rest as errors. */
async function burst(url: string, n: number): Promise<{ bodies: string[]; errors: string[] }> {
  const bodies: string[] = [];
  const errors: string[] = [];
  let next = 0;
  const client = async () => {
    while (next < n) {
      next++;
      try {
        const res = await fetch(url, { headers: { connection: "close" }, keepalive: false });
        const body = await res.text();
        if (res.status === 200) bodies.push(body);
        else errors.push(`${res.status} ${body.slice(0, 60)}`);
      } catch (error) {
        errors.push(String(error));
      }
    }
  };
  await Promise.all([client(), client(), client(), client()]);
  return { bodies, errors };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("workers: 2", () => {
  let a: HttpBackend;
  let b: HttpBackend;
  let c: HttpBackend;
  let tb: TenbinProcess;
  let adminPort = 0;
  let workerPid = 0;
  /** Requests sent so far; the admin totals must reach it. */
  let sent = 0;

  const status = async (): Promise<StatusJson> => (await fetch(`http://127.0.0.1:${adminPort}/api/status`)).json() as Promise<StatusJson>;
  const serverStatus = (s: StatusJson, name: string) => s.pools.find((p) => p.name === "app")!.servers.find((x) => x.name === name)!;
  /**
   * Status once every process reported all requests sent so far (reports come each second). The
   * per-process counts add up to the total until a worker is restarted (a new process counts anew).
   */
  const settled = async (perProcess = true): Promise<StatusJson> => {
    let last: StatusJson | undefined;
    const deadline = performance.now() + 5000;
    while (performance.now() < deadline) {
      last = await status();
      const sum = last.workers!.reduce((n, w) => n + w.requests, 0);
      if (last.listeners[0]!.requests.total === sent && (!perProcess || sum === sent)) return last;
      await Bun.sleep(100);
    }
    throw new Error(`admin totals never reached ${sent}: ${JSON.stringify(last)}`);
  };
  const send = async (path: string, n: number) => {
    const result = await burst(tb.url(path), n);
    sent += n;
    return result;
  };

  beforeAll(async () => {
    a = startHttpBackend(() => new Response("A"));
    b = startHttpBackend(() => new Response("B"));
    c = startHttpBackend(() => new Response("C"));
    tb = await startTenbin(configYaml(a, b));
    await tb.waitFor(/worker 1 ready pid=\d+/);
    adminPort = Number(/admin listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(tb.output())![1]);
    workerPid = Number(/worker 1 ready pid=(\d+)/.exec(tb.output())![1]);
  });

  afterAll(async () => {
    await tb?.stop("SIGKILL");
    if (workerPid && alive(workerPid)) process.kill(workerPid, "SIGKILL");
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  });

  test("both processes serve the port and the admin plane shows the totals", async () => {
    const { bodies, errors } = await send("/", 200);
    expect(errors).toEqual([]);
    expect(new Set(bodies)).toEqual(new Set(["A", "B"]));
    const s = await settled();
    expect(s.workers!.map((w) => w.pid)).toEqual([tb.proc.pid, workerPid]);
    expect(s.workers![0]!.requests).toBeGreaterThan(0);
    expect(s.workers![1]!.requests).toBeGreaterThan(0);
    expect(serverStatus(s, "a").requests + serverStatus(s, "b").requests).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    expect(metrics).toContain('tenbin_listener_requests_total{listener="web",class="2xx"} 200');
  });

  test("an admin drain in the primary reaches the worker", async () => {
    const before = await settled();
    const drained = await fetch(`http://127.0.0.1:${adminPort}/api/pools/app/servers/b/drain`, { method: "POST" });
    expect(drained.status).toBe(200);
    await Bun.sleep(400); // the primary sends changes within 100 ms
    const { bodies, errors } = await send("/", 100);
    expect(errors).toEqual([]);
    expect(new Set(bodies)).toEqual(new Set(["A"]));
    const after = await settled();
    expect(after.workers![1]!.requests).toBeGreaterThan(before.workers![1]!.requests);
    await fetch(`http://127.0.0.1:${adminPort}/api/pools/app/servers/b/enable`, { method: "POST" });
    await Bun.sleep(400);
    const back = await send("/", 40);
    expect(back.errors).toEqual([]);
    expect(back.bodies).toContain("B");
  });

  test("a backend's death, found by the primary's probes, reaches the worker", async () => {
    await b.stop();
    const down = async () => serverStatus(await status(), "b").status === "down";
    for (let i = 0; i < 50 && !(await down()); i++) await Bun.sleep(50);
    expect(await down()).toBe(true);
    await Bun.sleep(400);
    const before = await settled();
    // retries: 0 and no outlier detection: a process that did not know would answer 502s.
    const { bodies, errors } = await send("/", 200);
    expect(errors).toEqual([]);
    expect(new Set(bodies)).toEqual(new Set(["A"]));
    const after = await settled();
    expect(after.workers![0]!.requests).toBeGreaterThan(before.workers![0]!.requests);
    expect(after.workers![1]!.requests).toBeGreaterThan(before.workers![1]!.requests);
  });

  test("SIGHUP reloads the worker too", async () => {
    writeFileSync(tb.configFile, configYaml(a, b, c));
    tb.proc.kill("SIGHUP");
    await tb.waitFor(/config reloaded, as the primary did worker=1/, 5000);
    const before = await settled();
    const { bodies, errors } = await send("/new", 100);
    expect(errors).toEqual([]);
    expect(new Set(bodies)).toEqual(new Set(["C"]));
    const after = await settled();
    expect(after.workers![0]!.requests).toBeGreaterThan(before.workers![0]!.requests);
    expect(after.workers![1]!.requests).toBeGreaterThan(before.workers![1]!.requests);
  });

  test("a worker that dies is restarted, and the totals keep its counts", async () => {
    const before = await settled();
    process.kill(workerPid, "SIGKILL");
    await tb.waitFor(/worker 1 \(pid \d+\) was killed by SIGKILL; restarting it in 100ms/, 5000);
    await tb.waitFor(/worker 1 ready pid=\d+[\s\S]*worker 1 ready pid=\d+/, 10_000);
    const pids = [...tb.output().matchAll(/worker 1 ready pid=(\d+)/g)].map((m) => Number(m[1]));
    expect(pids[1]).not.toBe(workerPid);
    workerPid = pids[1]!;
    const { errors } = await send("/", 100);
    expect(errors).toEqual([]);
    const after = await settled(false);
    expect(after.workers![1]).toMatchObject({ pid: workerPid, state: "running", restarts: 1 });
    expect(after.workers![1]!.requests).toBeGreaterThan(0);
    expect(after.listeners[0]!.requests.total).toBe(before.listeners[0]!.requests.total + 100);
  }, 15_000);

  test("SIGTERM stops the primary and its worker", async () => {
    expect(await tb.stop("SIGTERM")).toBe(0);
    await waitUntil(() => !alive(workerPid), 3000, `worker pid ${workerPid} to exit`);
    expect(tb.output()).toMatch(/stop order from the primary: stopping; waiting for in-flight requests worker=1/);
  });
});

/** One TCP round trip on a new connection: sends "ping", resolves with the reply. */
function tcpPing(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write("ping"));
    socket.setTimeout(3000, () => socket.destroy(new Error("tcp ping timed out")));
    socket.once("data", (data) => {
      resolve(data.toString());
      socket.end();
    });
    socket.once("error", reject);
  });
}

test("three processes share a TCP listener too, and stop when their primary is killed outright", async () => {
  const a = startHttpBackend(() => new Response("A"));
  const echo = startTcpBackend((chunk) => `pong ${chunk}`);
  const tb = await startTenbin(`workers: 3
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
  - { name: db, listen: 127.0.0.1:0, mode: tcp, pool: tcp }
pools:
  app: { servers: [{ url: ${a.url} }] }
  tcp: { servers: [{ url: tcp://127.0.0.1:${echo.port} }] }
`, { listeners: 2 });
  try {
    await tb.waitFor(/worker 1 ready pid=\d+[\s\S]*worker 2 ready|worker 2 ready pid=\d+[\s\S]*worker 1 ready/);
    const pids = [...tb.output().matchAll(/worker \d ready pid=(\d+)/g)].map((m) => Number(m[1]));
    expect(pids.length).toBe(2);
    const replies = [];
    for (let i = 0; i < 60; i++) replies.push(await tcpPing(tb.port("db")));
    expect(new Set(replies)).toEqual(new Set(["pong ping"]));
    const adminPort = Number(/admin listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(tb.output())![1]);
    let workers: WorkerJson[] = [];
    for (let i = 0; i < 50; i++) {
      workers = ((await (await fetch(`http://127.0.0.1:${adminPort}/api/status`)).json()) as { workers: WorkerJson[] }).workers;
      if (workers.reduce((n, w) => n + w.connections, 0) === 60) break;
      await Bun.sleep(100);
    }
    const connections = workers.map((w) => w.connections);
    expect(connections.reduce((n, c) => n + c, 0)).toBe(60);
    expect(connections.every((c) => c > 0)).toBe(true); // 60 connections over 3 processes
    await tb.stop("SIGKILL");
    for (const pid of pids) await waitUntil(() => !alive(pid), 5000, `worker pid ${pid} to exit`);
  } finally {
    await tb.stop("SIGKILL");
    await a.stop();
    echo.stop();
  }
}, 15_000);

test("on Deno, which cannot spawn workers yet, workers: 2 runs one process and says so", async () => {
  const a = startHttpBackend(() => new Response("A"));
  const tb = await startTenbin(`workers: 2
admin: { enabled: false }
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }]
pools: { app: { servers: [{ url: ${a.url} }] } }
`, { how: "deno" });
  try {
    expect(tb.output()).toContain("workers: 2 is not supported on deno yet; running one process");
    expect(await (await fetch(tb.url("/"))).text()).toBe("A");
  } finally {
    await tb.stop("SIGKILL");
    await a.stop();
  }
}, 15_000);
