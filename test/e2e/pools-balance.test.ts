/** End to end: weights, least_time and hash keys, through a real listener to real backends. */
import { afterAll, describe, expect, test } from "bun:test";
import { startTenbin, startTenbinInProcess } from "../helpers/tenbin.ts";
import { appPoolYaml, get, load, namedBackend, stopAll, tally } from "./pools-support.ts";

const a = namedBackend("a");
const b = namedBackend("b");
const c = namedBackend("c");
afterAll(() => stopAll([a, b, c]));

const yaml = appPoolYaml;
/** a, b, c at weights 3, 1, 0. */
const weighted = yaml(`
    servers:
      - { url: "${a.url}", weight: 3 }
      - { url: "${b.url}", weight: 1 }
      - { url: "${c.url}", weight: 0 }`);

describe("weights", () => {
  test("weights 3:1 split requests 3:1, weight 0 gets nothing", async () => {
    const t = await startTenbinInProcess(weighted);
    try {
      const bodies = [];
      for (let i = 0; i < 80; i++) bodies.push((await get(t.url("/"))).body);
      // Smooth weighted round robin is exact over whole cycles.
      expect(tally(bodies)).toEqual({ a: 60, b: 20 });
    } finally {
      await t.stop();
    }
  });

  test("weights hold under concurrent clients", async () => {
    const t = await startTenbinInProcess(weighted);
    try {
      const counts = tally(await load(200, 8, async () => (await get(t.url("/"))).body));
      expect(counts.c).toBeUndefined();
      expect(counts.a! + counts.b!).toBe(200);
      expect(counts.a! / 200).toBeGreaterThan(0.7);
      expect(counts.a! / 200).toBeLessThan(0.8);
    } finally {
      await t.stop();
    }
  });
});

describe("least_time", () => {
  test("the fast server gets clearly more under concurrent load", async () => {
    const slow = namedBackend("slow", 20);
    const fast = namedBackend("fast", 2);
    // A process of its own: in this process the backends' event loop would be tenbin's too, and
    // the fast server's latency would be blurred by the load on the slow one.
    const t = await startTenbin(yaml(`
    balance: least_time
    ewma_decay: 1s
    servers:
      - { url: "${slow.url}" }
      - { url: "${fast.url}" }`));
    try {
      const counts = tally(await load(400, 8, async () => (await get(t.url("/"))).body));
      expect(counts.slow! + counts.fast!).toBe(400);
      expect(counts.fast! / 400).toBeGreaterThan(0.65);
    } finally {
      expect(await t.stop()).toBe(0);
      await stopAll([slow, fast]);
    }
  }, 20_000);
});

describe("hash", () => {
  const servers = `
    servers:
      - { url: "${a.url}" }
      - { url: "${b.url}" }
      - { url: "${c.url}" }`;

  /** For each key, the set of servers its requests reached. */
  async function spread(url: (key: string) => [string, RequestInit?], keys: string[], repeats: number) {
    const seen = new Map<string, Set<string>>();
    for (const key of keys) {
      const set = new Set<string>();
      for (let i = 0; i < repeats; i++) {
        const [u, init] = url(key);
        const res = await get(u, init);
        expect(res.status).toBe(200);
        set.add(res.body);
      }
      seen.set(key, set);
    }
    return seen;
  }

  const keys = Array.from({ length: 12 }, (_, i) => `user-${i}`);

  async function expectSticky(on: string, url: (base: (p: string) => string, key: string) => [string, RequestInit?]) {
    const t = await startTenbinInProcess(yaml(`
    balance: hash
    hash_on: "${on}"${servers}`));
    try {
      const seen = await spread((key) => url(t.url.bind(t), key), keys, 4);
      for (const set of seen.values()) expect(set.size).toBe(1);
      // Twelve keys over three servers: the keys really are spread (not all on one server).
      const used = new Set([...seen.values()].map((s) => [...s][0]));
      expect(used.size).toBeGreaterThan(1);
      // Without the key the fallback (round robin) balances: every server takes a share.
      const [plain] = url(t.url.bind(t), "");
      const without = tally(await load(6, 1, async () => (await get(plain.replace(/[?].*$/, ""))).body));
      expect(without).toEqual({ a: 2, b: 2, c: 2 });
    } finally {
      await t.stop();
    }
  }

  test("header:X-User: same key, same server; missing key → fallback", async () => {
    await expectSticky("header:X-User", (url, key) => [url("/"), key ? { headers: { "x-user": key } } : {}]);
  });

  test("cookie:session: same key, same server; missing key → fallback", async () => {
    await expectSticky("cookie:session", (url, key) => [url("/"), key ? { headers: { cookie: `other=1; session=${key}` } } : {}]);
  });

  test("query:user: same key, same server; missing key → fallback", async () => {
    await expectSticky("query:user", (url, key) => [url(key ? `/items?page=2&user=${key}` : "/items")]);
  });

  test("uri: same path and query, same server", async () => {
    const t = await startTenbinInProcess(yaml(`
    balance: hash
    hash_on: uri${servers}`));
    try {
      const seen = await spread((key) => [t.url(`/files/${key}?v=1`)], keys, 4);
      for (const set of seen.values()) expect(set.size).toBe(1);
      expect(new Set([...seen.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
    } finally {
      await t.stop();
    }
  });
});
