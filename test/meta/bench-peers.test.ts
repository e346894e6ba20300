/**
 * The macro benchmark's configs do what their scenario says, in every installed peer: the balancer
 * is started the way bench/load.ts starts it (tenbin from source here, dist/tenbin there) in front of
 * two in-process backends that name themselves in a header and count the health probes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backendBody } from "../../bench/configs/backends.ts";
import { makeBenchCert } from "../../bench/configs/certs.ts";
import { STICKY_COOKIE } from "../../bench/configs/l7-full.ts";
import { PEERS, type PeerSpec } from "../../bench/configs/peers.ts";
import { BACKEND_BODIES, SCENARIOS } from "../../bench/configs/scenarios.ts";
import type { Scenario, TlsFiles } from "../../bench/configs/types.ts";
import { cpuTimeMs, freePort, processTree, readLog, spawnLogged, stopChild, treeSum, waitReady, waitUntil } from "../../bench/process.ts";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = join(ROOT, "node_modules", ".bin", "bun");
const work = mkdtempSync(join(tmpdir(), "tenbin-bench-peers-"));
let tls: TlsFiles;
beforeAll(async () => {
  tls = await makeBenchCert(join(work, "tls"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Two backends: the bench bodies, 200 "other" for any other path, `x-backend: 0|1`, probes counted,
 * the headers of every request for /1k kept.
 */
function startBackends() {
  const probes = [0, 0];
  const seen: Headers[] = [];
  const servers = [0, 1].map((i) =>
    Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const path = req.url.startsWith("/") ? req.url : new URL(req.url).pathname;
        if (path === "/healthz") probes[i]!++;
        if (path === "/1k") seen.push(req.headers);
        const bytes = BACKEND_BODIES[path];
        return new Response(bytes === undefined ? "other" : backendBody(bytes), { headers: { "x-backend": String(i) } });
      },
    }),
  );
  return { probes, seen, addresses: servers.map((s) => ({ host: "127.0.0.1", port: s.port as number })), stop: () => servers.forEach((s) => s.stop(true)) };
}

const scenario = (name: string) => SCENARIOS.find((s) => s.name === name) as Scenario;

/** Starts `peer` with `scenario`'s config as bench/load.ts does; resolves once it answers. */
async function startPeer(peer: PeerSpec, s: Scenario, workers: number, backends: ReturnType<typeof startBackends>) {
  const dir = mkdtempSync(join(work, `${s.name}-${peer.name}-`));
  const listen = { host: "127.0.0.1", port: await freePort("127.0.0.1") };
  const config = join(dir, peer.configFile);
  writeFileSync(config, s.configs[peer.configAs ?? peer.name]!({ listen, backends: backends.addresses, workDir: dir, workers, tls: s.scheme === "https" ? tls : undefined, engine: peer.engine }));
  // tenbin (either engine) runs from source: the test must not depend on a build.
  const fromSource = (peer.configAs ?? peer.name) === "tenbin";
  const binary = fromSource ? BUN : (peer.find(ROOT) as string);
  const cmd = peer.command(binary, config, dir);
  const logBase = join(dir, peer.name);
  const child = spawnLogged(fromSource ? [BUN, join(ROOT, "src", "main.ts"), ...cmd.slice(1)] : cmd, peer.env(dir, workers), logBase);
  const url = `${s.scheme}://${listen.host}:${listen.port}`;
  try {
    await waitReady(`${url}${s.path}`, s.bodyBytes, child, logBase);
    const allServing = peer.allServing;
    if (workers > 1 && allServing) await waitUntil(() => allServing(readLog(logBase), workers), "not all serving", child, logBase);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { url, child, logBase, stop: () => stopChild(child) };
}

/** Runs `check` against `peer` serving scenario `name` over fresh backends; stops both afterwards. */
async function withPeer(
  peer: PeerSpec,
  name: string,
  workers: number,
  check: (p: Awaited<ReturnType<typeof startPeer>>, backends: ReturnType<typeof startBackends>) => Promise<void>,
): Promise<void> {
  const backends = startBackends();
  try {
    const p = await startPeer(peer, scenario(name), workers, backends);
    try {
      await check(p, backends);
    } finally {
      await p.stop();
    }
  } finally {
    backends.stop();
  }
}

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers, tls: { rejectUnauthorized: false } });
const cookieOf = (res: Response) => res.headers.getSetCookie().find((c) => c.startsWith(`${STICKY_COOKIE}=`));

for (const peer of PEERS) {
  const installed = (peer.configAs ?? peer.name) === "tenbin" || peer.find(ROOT) !== undefined;
  describe.skipIf(!installed && !process.env.CI)(peer.title, () => {
    test("l7-full-1k: the four other routes skip the sticky pool, /1k sticks by cookie, both backends are probed", async () => {
      await withPeer(peer, "l7-full-1k", 1, async (p, backends) => {
        const first = await get(`${p.url}/1k`);
        expect(first.status).toBe(200);
        expect((await first.arrayBuffer()).byteLength).toBe(1024);
        const cookie = cookieOf(first);
        expect(cookie).toBeDefined();
        const server = first.headers.get("x-backend");
        for (let i = 0; i < 4; i++) {
          const again = await get(`${p.url}/1k`, { cookie: cookie!.split(";")[0]! });
          await again.arrayBuffer();
          expect(again.headers.get("x-backend")).toBe(server);
        }
        for (const [path, headers] of [["/static/a", {}], ["/admin/a", {}], ["/v2/a", {}], ["/1k", { host: "api.example.com" }]] as const) {
          const res = await get(`${p.url}${path}`, headers);
          await res.arrayBuffer();
          expect(res.status, path).toBe(200);
          expect(cookieOf(res), `${path} ${JSON.stringify(headers)}`).toBeUndefined();
        }
        if (peer.name !== "nginx") {
          // Probes every 2 s (HAProxy spreads the first one over the interval).
          await waitUntil(() => backends.probes.every((n) => n > 0), `probes ${backends.probes.join(",")}`, p.child, p.logBase);
        } else {
          expect(backends.probes).toEqual([0, 0]); // open source nginx has no active checks
        }
      });
    }, 30_000);

    test("https-1k: TLS to the balancer, plain HTTP to the backends", async () => {
      await withPeer(peer, "https-1k", 1, async (p) => {
        expect(p.url.startsWith("https://")).toBe(true);
        const res = await get(`${p.url}/100k`);
        expect(res.status).toBe(200);
        expect((await res.arrayBuffer()).byteLength).toBe(100 * 1024);
        // Plain HTTP on that port fails (nginx answers it with a 400).
        const plain = await fetch(`${p.url.replace("https:", "http:")}/1k`).then((r) => r.status, () => "no answer");
        expect(plain).not.toBe(200);
      });
    }, 30_000);

    test("l7-1k and https-1k: the backend gets the client's Host and the forwarding headers tenbin adds", async () => {
      for (const name of ["l7-1k", "https-1k"]) {
        await withPeer(peer, name, 1, async (p, backends) => {
          const res = await get(`${p.url}/1k`, { host: "app.test" });
          await res.arrayBuffer();
          const h = backends.seen.at(-1)!;
          const proto = name === "https-1k" ? "https" : "http";
          expect({
            host: h.get("host"),
            xff: h.get("x-forwarded-for"),
            proto: h.get("x-forwarded-proto"),
            xfh: h.get("x-forwarded-host"),
            forwarded: h.get("forwarded"),
          }, name).toEqual({ host: "app.test", xff: "127.0.0.1", proto, xfh: "app.test", forwarded: `for=127.0.0.1;proto=${proto};host="app.test"` });
          // A UUID (nginx's $request_id: 32 hex digits without dashes).
          expect(h.get("x-request-id"), name).toMatch(/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i);
        });
      }
    }, 30_000);

    test("2 workers: as many processes or threads, and the CPU counted over every process", async () => {
      await withPeer(peer, "l7-1k", 2, async (p) => {
        const tree = processTree(p.child.pid);
        const threads = Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${p.child.pid}/status`, "utf8"))?.[1]);
        // tenbin: primary + 1 worker; nginx: master + 2 workers; HAProxy: 2 threads in one process; Caddy: Go threads.
        if ((peer.configAs ?? peer.name) === "tenbin") expect(tree).toHaveLength(2);
        if (peer.name === "nginx") expect(tree).toHaveLength(3);
        if (peer.name === "haproxy") expect({ tree: tree.length, threads }).toEqual({ tree: 1, threads: 2 });
        expect(treeSum(p.child.pid, cpuTimeMs)).toBeGreaterThanOrEqual(cpuTimeMs(p.child.pid));
        expect((await get(`${p.url}/1k`)).status).toBe(200);
      });
    }, 30_000);
  });
}
