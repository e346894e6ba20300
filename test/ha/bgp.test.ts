/**
 * Active/active: two tenbins announce the same service address (192.0.2.80/32 on the loopback
 * interface of each node) over BGP with BIRD to a router namespace whose BIRD installs an ECMP
 * route (kernel protocol `merge paths on`; the kernel hashes on the 5-tuple,
 * fib_multipath_hash_policy=1). BIRD configs on the nodes are the ones `tenbin ha bird` prints and
 * `tenbin ha announce` (every 200 ms, fall 1, rise 2) enables the announcement while tenbin is
 * ready. BGP timers: hold 3 s, keepalive 1 s; the n1 session also runs BFD (100 ms x 3).
 * Namespaces: cl (client) - r (router) - n1, n2 (tenbin + BIRD + watcher each), be (backends).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT } from "../helpers/tenbin.ts";
import { announceSkip, Lab, namespaceBlocker, type NsProcess, tool } from "./netns.ts";

const blocker = namespaceBlocker(["bird", "birdc", "curl"]);
announceSkip("BGP active/active", blocker);

const SERVICE = "192.0.2.80";
const NODES = { n1: "10.77.1.2", n2: "10.77.2.2" } as const;
type Node = keyof typeof NODES;
const HOLD_S = 3;
const MAIN = join(ROOT, "src/main.ts");

interface Sample { t: number; began: number; ok: boolean; server?: string; node?: string; tries: number; cookie?: string }

describe.skipIf(blocker !== undefined)("BGP active/active", () => {
  const lab = new Lab("bgp");
  const tenbins = new Map<Node, NsProcess>();
  const birds = new Map<string, NsProcess>();
  const watchers = new Map<Node, NsProcess>();
  const results: string[] = [];
  let cookie = "";
  let server = "";

  const sock = (ns: string) => join(lab.dir, `${ns}.ctl`);
  const startTenbin = async (node: Node) => {
    const p = lab.spawn(node, [BUN, MAIN, "run", "-c", join(lab.dir, "tenbin.yaml")], { STICKY_KEY: "shared-secret-of-the-pair" });
    await p.waitFor(/listener web listening on/);
    await p.waitFor(/admin listening on/);
    tenbins.set(node, p);
  };
  const startBird = (ns: string, conf: string) => {
    const file = join(lab.dir, `${ns}-bird.conf`);
    writeFileSync(file, conf);
    birds.set(ns, lab.spawn(ns, [tool("bird"), "-f", "-c", file, "-s", sock(ns), "-P", join(lab.dir, `${ns}-bird.pid`)]));
  };
  /** The router's next hops towards the service address. */
  const nextHops = (): string[] => [...lab.ip("r", "-4", "route", "show", `${SERVICE}/32`).matchAll(/via (\S+)/g)].map((m) => m[1]!).sort();
  const waitForHops = async (want: string[], timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (JSON.stringify(nextHops()) !== JSON.stringify(want)) {
      if (Date.now() > deadline) throw new Error(`router next hops ${JSON.stringify(nextHops())}, expected ${JSON.stringify(want)}; bird r:\n${birds.get("r")?.output().slice(-2000)}`);
      await Bun.sleep(50);
    }
  };

  /** Polls the router's next hops from now until they equal `want`; resolves to the ms it took. */
  const timeUntilHops = async (want: string[], at: number, timeoutMs: number): Promise<number> => {
    while (Date.now() - at < timeoutMs) {
      if (JSON.stringify(nextHops()) === JSON.stringify(want)) return Date.now() - at;
      await Bun.sleep(10);
    }
    throw new Error(`router next hops still ${JSON.stringify(nextHops())} after ${timeoutMs} ms`);
  };

  beforeAll(async () => {
    for (const ns of ["r", "cl", "be", "n1", "n2"]) lab.addNamespace(ns);
    const links: [string, string, string, string][] = [["cl", "10.77.9.2", "c0", "10.77.9.1"], ["n1", NODES.n1, "l1", "10.77.1.1"], ["n2", NODES.n2, "l2", "10.77.2.1"], ["be", "10.77.3.2", "b0", "10.77.3.1"]];
    for (const [ns, addr, rIf, rAddr] of links) {
      lab.link("r", rIf, ns, "eth0");
      lab.ip("r", "addr", "add", `${rAddr}/24`, "dev", rIf);
      lab.ip(ns, "addr", "add", `${addr}/24`, "dev", "eth0");
      lab.ip(ns, "route", "add", "default", "via", rAddr);
    }
    lab.sysctl("r", "net.ipv4.ip_forward", "1");
    lab.sysctl("r", "net.ipv4.fib_multipath_hash_policy", "1");
    const backend = lab.spawn("be", [BUN, join(import.meta.dir, "ha-backend.ts"), "10.77.3.2", "8081:a", "8082:b"]);
    writeFileSync(join(lab.dir, "tenbin.yaml"), `
admin: { listen: 127.0.0.1:9090 }
listeners: [{ name: web, listen: ${SERVICE}:80, routes: [{ match: { path: /h/ }, pool: hashed }, { pool: app }] }]
pools:
  app:
    sticky: { cookie: { name: srv, key: \${STICKY_KEY} } }
    servers: [{ url: "http://10.77.3.2:8081", name: a }, { url: "http://10.77.3.2:8082", name: b }]
  hashed:
    balance: hash
    hash_on: source_ip
    servers: [{ url: "http://10.77.3.2:8081", name: a }, { url: "http://10.77.3.2:8082", name: b }]
`);
    startBird("r", `
router id 10.77.9.1;
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
protocol bfd { interface "l1" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
${(["n1", "n2"] as const).map((n) => `protocol bgp ${n} { local as 65000; neighbor ${NODES[n]} as 65001; hold time ${HOLD_S}; keepalive time 1; connect retry time 1; error wait time 1, 5;${n === "n1" ? " bfd on;" : ""} ipv4 { import all; export none; }; }`).join("\n")}
`);
    for (const node of ["n1", "n2"] as const) {
      // On loopback (a dummy interface does as well where the kernel has the module; this one has not).
      lab.ip(node, "addr", "add", `${SERVICE}/32`, "dev", "lo");
      const conf = Bun.spawnSync([BUN, MAIN, "ha", "bird", "--service", `${SERVICE}/32`, "--router-id", NODES[node], "--as", "65001", "--neighbor", NODES[node].replace(/\.2$/, ".1"), "--neighbor-as", "65000", "--hold", String(HOLD_S), "--keepalive", "1", ...(node === "n1" ? ["--bfd"] : [])]);
      expect(conf.exitCode).toBe(0);
      startBird(node, conf.stdout.toString());
    }
    await backend.waitFor(/listening/);
    await Promise.all([startTenbin("n1"), startTenbin("n2")]);
    for (const node of ["n1", "n2"] as const) startWatcher(node);
    await waitForHops([NODES.n1, NODES.n2], 20_000);
    const first = await client(300);
    const answered = first.find((s) => s.ok && s.cookie);
    if (!answered) throw new Error(`no answer through ${SERVICE}: ${JSON.stringify(first.slice(0, 3))}`);
    cookie = answered.cookie!;
    server = answered.server!;
  }, 45_000);

  afterAll(async () => {
    if (results.length > 0) console.log(`BGP active/active (hold ${HOLD_S} s, keepalive 1 s, BFD 100 ms x 3 on n1's session, watcher every 200 ms):\n${results.join("\n")}`);
    await lab.cleanup();
  }, 20_000);

  function startWatcher(node: Node): NsProcess {
    const p = lab.spawn(node, [BUN, MAIN, "ha", "announce", "--protocol", "tenbin_service", "--birdc", `${tool("birdc")} -s ${sock(node)}`, "--interval", "200ms", "--rise", "2", "--fall", "1"]);
    watchers.set(node, p);
    return p;
  }

  async function client(ms: number, withCookie = true, path = "/"): Promise<Sample[]> {
    const p = lab.spawn("cl", [BUN, join(import.meta.dir, "ha-client.ts"), `http://${SERVICE}${path}`, String(ms), "20", "250", withCookie ? cookie : "-"]);
    await Promise.race([p.proc.exited, Bun.sleep(ms + 5000)]);
    return p.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Sample);
  }

  test("new connections reach both nodes; the sticky cookie (and hash on source_ip) keeps its server whichever node answers", async () => {
    const samples = await client(1200);
    expect(samples.length).toBeGreaterThan(20);
    expect(samples.every((s) => s.ok)).toBe(true);
    const byNode = { n1: samples.filter((s) => s.node === NODES.n1).length, n2: samples.filter((s) => s.node === NODES.n2).length };
    results.push(`  spread over ${samples.length} connections: n1 ${byNode.n1}, n2 ${byNode.n2}; servers ${JSON.stringify([...new Set(samples.map((s) => s.server))])}`);
    expect(byNode.n1).toBeGreaterThan(0);
    expect(byNode.n2).toBeGreaterThan(0);
    expect(new Set(samples.map((s) => s.server))).toEqual(new Set([server]));
    // Without the cookie both servers answer: the cookie is what keeps one.
    const plain = await client(400, false);
    expect(new Set(plain.filter((s) => s.ok).map((s) => s.server))).toEqual(new Set(["a", "b"]));
    // balance: hash on the source address: one server for this client on both nodes, no cookie.
    const hashed = await client(600, false, "/h/");
    expect(new Set(hashed.map((s) => s.node))).toEqual(new Set([NODES.n1, NODES.n2]));
    expect(new Set(hashed.map((s) => s.server)).size).toBe(1);
    // Both nodes run the same config: the same digest in /api/status (config drift would show here).
    const digests = (["n1", "n2"] as const).map((n) => (JSON.parse(lab.exec(n, [tool("curl"), "-sf", "http://127.0.0.1:9090/api/status"])) as { config_digest: string }).config_digest);
    expect(digests[0]).toMatch(/^sha256:/);
    expect(digests[1]).toBe(digests[0]!);
  }, 20_000);

  test("kill -9 of n1's tenbin: the watcher withdraws n1's route, n2 takes every connection", async () => {
    const running = client(2500);
    await Bun.sleep(700);
    const at = Date.now();
    tenbins.get("n1")!.proc.kill("SIGKILL");
    const movedMs = await timeUntilHops([NODES.n2], at, 3000);
    const samples = await running;
    const after = samples.filter((s) => s.began >= at);
    const failed = after.filter((s) => !s.ok);
    const retried = after.filter((s) => s.tries === 2).length;
    results.push(`  kill -9 tenbin n1: route withdrawn after ${movedMs} ms; ${retried} requests needed their retry, ${failed.length} of ${samples.length} failed after it; sticky server kept: ${samples.every((s) => !s.ok || s.server === server)}`);
    expect(nextHops()).toEqual([NODES.n2]);
    expect(watchers.get("n1")!.output()).toContain("tenbin_service: not ready");
    expect(movedMs).toBeLessThan(1500);
    expect(after.slice(-20).every((s) => s.ok && s.node === NODES.n2)).toBe(true);
    expect(samples.every((s) => !s.ok || s.server === server)).toBe(true);
    // n1 comes back: announced again after two good answers.
    await startTenbin("n1");
    await waitForHops([NODES.n1, NODES.n2], 5000);
  }, 30_000);

  test(`n2 freezes whole (BIRD, tenbin, watcher stopped): the router drops it when the ${HOLD_S} s hold time ends`, async () => {
    const running = client(HOLD_S * 1000 + 2200);
    await Bun.sleep(700);
    const at = Date.now();
    const frozen = [birds.get("n2")!, tenbins.get("n2")!, watchers.get("n2")!];
    for (const p of frozen) p.proc.kill("SIGSTOP");
    try {
      const movedMs = await timeUntilHops([NODES.n1], at, HOLD_S * 1000 + 2000);
      const samples = await running;
      const after = samples.filter((s) => s.began >= at);
      const failed = after.filter((s) => !s.ok);
      const retried = after.filter((s) => s.tries === 2).length;
      results.push(`  n2 frozen: route withdrawn after ${movedMs} ms; ${retried} requests needed their retry, ${failed.length} of ${samples.length} failed after it; sticky server kept: ${samples.every((s) => !s.ok || s.server === server)}`);
      expect(nextHops()).toEqual([NODES.n1]);
      // The hold timer runs from the last keepalive (one a second): it ends about 2 to 3 s after the
      // freeze; a frozen node cannot withdraw anything itself, so nothing ends it sooner.
      expect(movedMs).toBeGreaterThan(1000);
      expect(movedMs).toBeLessThan(HOLD_S * 1000 + 1000);
      expect(after.slice(-20).every((s) => s.ok && s.node === NODES.n1)).toBe(true);
      expect(samples.every((s) => !s.ok || s.server === server)).toBe(true);
    } finally {
      for (const p of frozen) p.proc.kill("SIGCONT");
    }
  }, 30_000);

  test("n1 freezes whole with BFD on its session (100 ms x 3): the router drops it in well under a second", async () => {
    // n2 thawed: its session comes back (connect retry 1 s) and its watcher announces again.
    await waitForHops([NODES.n1, NODES.n2], 10_000);
    const running = client(2000);
    await Bun.sleep(500);
    const at = Date.now();
    const frozen = [birds.get("n1")!, tenbins.get("n1")!, watchers.get("n1")!];
    for (const p of frozen) p.proc.kill("SIGSTOP");
    try {
      const movedMs = await timeUntilHops([NODES.n2], at, 3000);
      const samples = await running;
      const after = samples.filter((s) => s.began >= at);
      const failed = after.filter((s) => !s.ok);
      const retried = after.filter((s) => s.tries === 2).length;
      results.push(`  n1 frozen, BFD: route withdrawn after ${movedMs} ms; ${retried} requests needed their retry, ${failed.length} of ${samples.length} failed after it; sticky server kept: ${samples.every((s) => !s.ok || s.server === server)}`);
      expect(movedMs).toBeLessThan(1000);
      expect(after.slice(-20).every((s) => s.ok && s.node === NODES.n2)).toBe(true);
      expect(samples.every((s) => !s.ok || s.server === server)).toBe(true);
    } finally {
      for (const p of frozen) p.proc.kill("SIGCONT");
    }
  }, 30_000);
});
