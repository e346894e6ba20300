/**
 * Active/standby: two tenbins behind a keepalived VRRPv3 address (adverts every 200 ms), in network
 * namespaces this file makes and removes. One bridge (namespace "sw") joins n1, n2 (tenbin +
 * keepalived each), the backends and the client; the address 10.77.0.10 moves between n1 and n2.
 * The keepalived configs are the ones `tenbin ha keepalived --track-file` prints: `tenbin ready` as
 * track_script (keepalived runs it once a second at most) and a track_file that `tenbin ha track`
 * (every 100 ms, 300 ms timeout) keeps at 0 while tenbin is ready. The last two scenarios kill the
 * watchers first, to measure the track_script alone. Each scenario fails the node that holds the address and measures, from a client
 * sending a request every 20 ms on a new connection (250 ms timeout, one retry): the time until the
 * standby answers, the requests that failed after their retry, and whether the sticky cookie (one
 * shared key) kept its server. nopreempt: a node that comes back stays standby, so no failback
 * moves the address a second time; the next scenario fails the other node.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT } from "../helpers/tenbin.ts";
import { announceSkip, Lab, namespaceBlocker, type NsProcess, tool } from "./netns.ts";

const blocker = namespaceBlocker(["keepalived", "curl"]);
announceSkip("keepalived active/standby", blocker);

const VIP = "10.77.0.10";
const NODES = { n1: "10.77.0.11", n2: "10.77.0.12" } as const;
type Node = keyof typeof NODES;
const ADVERT_MS = 200;
const MAIN = join(ROOT, "src/main.ts");

interface Sample { t: number; began: number; ok: boolean; server?: string; node?: string; tries: number; cookie?: string }

describe.skipIf(blocker !== undefined)("keepalived active/standby", () => {
  const lab = new Lab("ka");
  const tenbins = new Map<Node, NsProcess>();
  const keepaliveds = new Map<Node, NsProcess>();
  const watchers = new Map<Node, NsProcess>();
  const results: string[] = [];
  let cookie = "";
  let server = "";

  const tenbinConfig = () => join(lab.dir, "tenbin.yaml");
  const startTenbin = async (node: Node) => {
    const p = lab.spawn(node, [BUN, MAIN, "run", "-c", tenbinConfig()], { STICKY_KEY: "shared-secret-of-the-pair" });
    await p.waitFor(/listener web listening on/);
    await p.waitFor(/admin listening on/);
    tenbins.set(node, p);
  };
  const startKeepalived = (node: Node) => {
    const dir = join(lab.dir, node);
    const p = lab.spawn(node, [tool("keepalived"), "-n", "-l", "-D", "-P", "-f", join(dir, "keepalived.conf"), "-p", join(dir, "k.pid"), "-r", join(dir, "vrrp.pid"), "-c", join(dir, "chk.pid")]);
    keepaliveds.set(node, p);
    return p;
  };
  const startWatcher = (node: Node) => {
    watchers.set(node, lab.spawn(node, [BUN, MAIN, "ha", "track", "--file", join(lab.dir, node, "ready"), "--interval", "100ms", "--timeout", "300ms", "--fall", "1", "--rise", "2"]));
  };
  const holder = (): Node | undefined => (Object.keys(NODES) as Node[]).find((n) => lab.ip(n, "-4", "addr", "show", "dev", "eth0").includes(`${VIP}/24`));

  beforeAll(async () => {
    lab.addNamespace("sw");
    lab.ip("sw", "link", "add", "br0", "type", "bridge");
    lab.ip("sw", "link", "set", "br0", "up");
    const hosts = { ...NODES, be: "10.77.0.21", cl: "10.77.0.100" };
    for (const [name, addr] of Object.entries(hosts)) {
      lab.addNamespace(name);
      lab.link("sw", `p-${name}`, name, "eth0");
      lab.ip("sw", "link", "set", `p-${name}`, "master", "br0");
      lab.ip(name, "addr", "add", `${addr}/24`, "dev", "eth0");
    }
    const backend = lab.spawn("be", [BUN, join(import.meta.dir, "ha-backend.ts"), hosts.be, "8081:a", "8082:b"]);
    writeFileSync(tenbinConfig(), `
admin: { listen: 127.0.0.1:9090 }
listeners: [{ name: web, listen: ${VIP}:80, routes: [{ pool: app }] }]
pools:
  app:
    sticky: { cookie: { name: srv, key: \${STICKY_KEY} } }
    health: { http: { path: /healthz }, interval: 1s }
    servers: [{ url: "http://${hosts.be}:8081", name: a }, { url: "http://${hosts.be}:8082", name: b }]
`);
    for (const node of ["n1", "n2"]) mkdirSync(join(lab.dir, node));
    for (const [node, priority] of [["n1", "150"], ["n2", "100"]] as const) {
      // tenbin listens on the virtual address on both nodes: the standby needs nonlocal bind.
      lab.sysctl(node, "net.ipv4.ip_nonlocal_bind", "1");
      const conf = Bun.spawnSync([BUN, MAIN, "ha", "keepalived", "--vip", `${VIP}/24`, "--interface", "eth0", "--priority", priority, "--advert", `${ADVERT_MS}ms`, "--tenbin", `${BUN} ${MAIN}`, "--nopreempt", "--notify", "/bin/true", "--track-file", join(lab.dir, node, "ready")]);
      expect(conf.exitCode).toBe(0);
      const dir = join(lab.dir, node);
      writeFileSync(join(dir, "keepalived.conf"), conf.stdout.toString());
    }
    await backend.waitFor(/listening/);
    await Promise.all([startTenbin("n1"), startTenbin("n2")]);
    startKeepalived("n1");
    startKeepalived("n2");
    startWatcher("n1");
    startWatcher("n2");
    // Both start as BACKUP with nopreempt: whichever leaves FAULT first takes the address.
    const deadline = Date.now() + 15_000;
    while (holder() === undefined) {
      if (Date.now() > deadline) throw new Error(`no node took ${VIP}; n1:\n${keepaliveds.get("n1")!.output().slice(-1500)}`);
      await Bun.sleep(50);
    }
    await keepaliveds.get(holder() === "n1" ? "n2" : "n1")!.waitFor(/Entering BACKUP STATE/, 15_000);
    // The cookie the client keeps for the whole file: signed with the key both nodes share.
    const first = await client(600);
    const answered = first.find((s) => s.ok && s.cookie);
    if (!answered) throw new Error(`no answer through ${VIP}: ${JSON.stringify(first.slice(0, 3))}`);
    cookie = answered.cookie!;
    server = answered.server!;
  }, 45_000);

  afterAll(async () => {
    if (results.length > 0) console.log(`keepalived failover (advert_int ${ADVERT_MS} ms; tenbin ha track every 100 ms; track_script every 1 s):\n${results.join("\n")}`);
    await lab.cleanup();
  }, 20_000);

  /** Waits (bounded) until `node`'s tenbin sees every server up. */
  async function waitAllUp(node: Node): Promise<void> {
    let last = "";
    for (let i = 0; i < 100; i++) {
      const r = Bun.spawnSync([tool("ip"), "netns", "exec", lab.ns(node), tool("curl"), "-sf", "-m", "1", "http://127.0.0.1:9090/api/status"], { stdout: "pipe" });
      last = r.stdout.toString();
      if (r.exitCode === 0 && (JSON.parse(last) as { pools: { servers: { status: string }[] }[] }).pools.every((p) => p.servers.every((sv) => sv.status === "up"))) return;
      await Bun.sleep(100);
    }
    throw new Error(`${node}: servers not all up: ${last.slice(0, 500)}`);
  }

  /** Runs the client for `ms` and returns its samples. */
  async function client(ms: number): Promise<Sample[]> {
    const p = lab.spawn("cl", [BUN, join(import.meta.dir, "ha-client.ts"), `http://${VIP}/`, String(ms), "20", "250", ...(cookie ? [cookie] : [])]);
    await Promise.race([p.proc.exited, Bun.sleep(ms + 5000)]);
    return p.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Sample);
  }

  /** Fails the holder with `fault` while the client runs; checks and records the failover. */
  async function failover(name: string, fault: (node: Node) => void | Promise<void>, restore: (node: Node) => Promise<void>, prepare?: () => Promise<void>) {
    const active = holder();
    expect(active).toBeDefined();
    const standby: Node = active === "n1" ? "n2" : "n1";
    // The standby keeps a client's server only if it sees that server up: after a node's own
    // outage (link down, frozen) its probes need their rise before it has the same view again.
    await Promise.all([waitAllUp("n1"), waitAllUp("n2")]);
    const standbyLog = keepaliveds.get(standby)!;
    const mark = standbyLog.output().length;
    const running = client(3200);
    await Bun.sleep(700);
    await prepare?.();
    const at = Date.now();
    await fault(active!);
    try {
      const samples = await running;
      const before = samples.filter((s) => s.began < at - 50);
      expect(before.length).toBeGreaterThan(10);
      // Before the fault the active node answers; a loaded machine may time out a request or two.
      expect(before.filter((s) => s.ok && s.node !== NODES[active!])).toEqual([]);
      expect(before.filter((s) => !s.ok).length).toBeLessThanOrEqual(2);
      const moved = samples.find((s) => s.ok && s.node === NODES[standby] && s.t >= at);
      if (!moved) throw new Error(`${name}: the standby never answered; samples: ${JSON.stringify(samples.slice(-5))}\nstandby log:\n${standbyLog.since(mark)}`);
      const failoverMs = moved.t - at;
      const failed = samples.filter((s) => !s.ok).length;
      const servers = new Set(samples.filter((s) => s.ok).map((s) => s.server));
      results.push(`  ${name}: ${active} -> ${standby} in ${failoverMs} ms; ${failed} of ${samples.length} requests failed after one retry; sticky server kept: ${servers.size === 1 && servers.has(server)}`);
      expect(standbyLog.since(mark)).toContain("Entering MASTER STATE");
      expect([...servers]).toEqual([server]);
      // Once moved, the address stays: every later answer comes from the new holder.
      expect(samples.slice(samples.indexOf(moved)).filter((s) => s.ok && s.node !== NODES[standby])).toEqual([]);
      return failoverMs;
    } finally {
      // Restored even when a check failed, so the next scenario starts from a working pair.
      await restore(active!);
    }
  }

  /** Waits until `node`'s keepalived is standby again after `mark`. */
  const backToBackup = (node: Node, mark: number) => keepaliveds.get(node)!.waitFor(/Entering BACKUP STATE/, 8000, countOf(keepaliveds.get(node)!.output().slice(0, mark), /Entering BACKUP STATE/g) + 1);

  test("kill -9 of the active tenbin: the track file watcher puts it in FAULT, the address moves; a WebSocket reconnects to its server", async () => {
    let ws: NsProcess | undefined;
    let at = 0;
    const ms = await failover("kill -9 tenbin", (n) => {
      at = Date.now();
      tenbins.get(n)!.proc.kill("SIGKILL");
    }, async (n) => {
      const mark = keepaliveds.get(n)!.output().length;
      await startTenbin(n);
      await backToBackup(n, mark);
    }, async () => {
      ws = lab.spawn("cl", [BUN, join(import.meta.dir, "ha-ws-client.ts"), `ws://${VIP}/ws`, cookie, "2600"]);
      await ws.waitFor(/"event":"open"/, 3000);
    });
    expect(ms).toBeLessThan(1000);
    // The WebSocket through the killed node ends; the client reconnects through the new holder
    // and the cookie takes it to the same backend.
    await Promise.race([ws!.proc.exited, Bun.sleep(5000)]);
    const events = ws!.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { t: number; event: string; greeting?: string });
    const [first] = events;
    const closedAt = events.findIndex((e) => e.event === "close" && e.t >= at);
    const closed = events[closedAt];
    // The open after that close: the first open can fall in the kill's own millisecond.
    const reopened = closedAt < 0 ? undefined : events.slice(closedAt + 1).find((e) => e.event === "open");
    results.push(`  WebSocket across kill -9: closed after ${closed ? closed.t - at : "?"} ms, reopened after ${reopened ? reopened.t - at : "?"} ms; greeted by ${JSON.stringify(first?.greeting)} then ${JSON.stringify(reopened?.greeting)}`);
    expect(closed).toBeDefined();
    expect(reopened).toBeDefined();
    expect(reopened!.greeting!.split(" ")[0]).toBe(server);
    expect(first!.greeting!.split(" ")[0]).toBe(server);
    expect(reopened!.greeting!.split(" ")[1]).not.toBe(first!.greeting!.split(" ")[1]);
  }, 20_000);

  test("SIGSTOP of the active tenbin: the watcher's request times out, the address moves", async () => {
    const ms = await failover("SIGSTOP tenbin", (n) => void tenbins.get(n)!.proc.kill("SIGSTOP"), async (n) => {
      const mark = keepaliveds.get(n)!.output().length;
      tenbins.get(n)!.proc.kill("SIGCONT");
      await backToBackup(n, mark);
    });
    expect(ms).toBeLessThan(1000);
  }, 20_000);

  test("the active keepalived stops (SIGTERM): it sends priority 0, the standby takes over at once", async () => {
    let slow: NsProcess | undefined;
    const ms = await failover("keepalived stopped", async (n) => {
      const k = keepaliveds.get(n)!;
      k.proc.kill("SIGTERM");
      await Promise.race([k.proc.exited, Bun.sleep(3000)]);
    }, async (n) => {
      const k = startKeepalived(n);
      await k.waitFor(/Entering BACKUP STATE/, 8000);
    }, async () => {
      // A request in flight on the old node: its tenbin is fine, but the address is gone from it and
      // the client's packets now reach the new holder, which has no such connection.
      slow = lab.spawn("cl", [tool("curl"), "-s", "-S", "-m", "4", "-b", cookie, `http://${VIP}/slow`]);
      await Bun.sleep(200);
    });
    expect(ms).toBeLessThan(1000);
    const code = await Promise.race([slow!.proc.exited, Bun.sleep(6000).then(() => -1)]);
    results.push(`  request in flight across the planned switch: curl exit ${code} (${slow!.output().trim().slice(0, 80)})`);
    expect(code).not.toBe(0);
  }, 20_000);

  test("the active node's link goes down: the standby misses 3 adverts and takes over", async () => {
    const ms = await failover("link down", (n) => void lab.ip(n, "link", "set", "eth0", "down"), async (n) => {
      const mark = keepaliveds.get(n)!.output().length;
      lab.ip(n, "link", "set", "eth0", "up");
      await backToBackup(n, mark);
    });
    // 3 adverts and the skew (~720 ms at priority 100), plus a request caught mid-move waiting out its
    // 250 ms timeout before its retry: measured 515-801 ms; the bound leaves room for a loaded machine.
    expect(ms).toBeLessThan(1200);
  }, 20_000);

  test("without the watchers (killed, their files say ready): the track_script alone moves the address on kill -9 and SIGSTOP", async () => {
    for (const w of watchers.values()) w.proc.kill("SIGKILL");
    const killed = await failover("kill -9 tenbin, track_script alone", (n) => void tenbins.get(n)!.proc.kill("SIGKILL"), async (n) => {
      const mark = keepaliveds.get(n)!.output().length;
      await startTenbin(n);
      await backToBackup(n, mark);
    });
    const frozen = await failover("SIGSTOP tenbin, track_script alone", (n) => void tenbins.get(n)!.proc.kill("SIGSTOP"), async (n) => {
      tenbins.get(n)!.proc.kill("SIGCONT");
    });
    // keepalived runs the script once a second; tenbin ready waits 800 ms for an answer.
    expect(killed).toBeLessThan(2500);
    expect(frozen).toBeLessThan(3000);
  }, 30_000);
});

function countOf(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}
