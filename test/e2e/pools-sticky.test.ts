/** End to end: cookie and source-address persistence through a real listener to real backends. */
import { afterAll, describe, expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";
import { startHttpBackend, waitUntil } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";
import { appPoolYaml, CookieJar, get, getFrom, healthBackend, namedBackend, stopAll, tally } from "./pools-support.ts";

const a = healthBackend("a");
const b = healthBackend("b");
const c = namedBackend("c");
afterAll(() => stopAll([a, b, c]));

function yaml(pool: string, servers = `[{ url: "${a.url}" }, { url: "${b.url}" }]`): string {
  return appPoolYaml(`    servers: ${servers}\n${pool}`);
}

const cookiePool = `    sticky: { cookie: { name: srv, key: "test-key-1" } }`;

describe("cookie persistence", () => {
  test("100 requests with the cookie stay on one server; only the first gets a Set-Cookie", async () => {
    const t = await startTenbinInProcess(yaml(cookiePool));
    try {
      // Without the cookie, round robin alternates: persistence is what keeps the client.
      const plain = [];
      for (let i = 0; i < 4; i++) plain.push((await get(t.url("/"))).body);
      expect(tally(plain)).toEqual({ a: 2, b: 2 });

      const jar = new CookieJar("srv");
      const bodies = [];
      for (let i = 0; i < 100; i++) bodies.push((await jar.fetch(t.url("/"))).body);
      expect(new Set(bodies).size).toBe(1);
      expect(jar.seen.length).toBe(1);
    } finally {
      await t.stop();
    }
  });

  test("each client is pinned to the server it first got", async () => {
    const t = await startTenbinInProcess(yaml(cookiePool));
    try {
      const one = new CookieJar("srv");
      const two = new CookieJar("srv");
      const first = (await one.fetch(t.url("/"))).body;
      const second = (await two.fetch(t.url("/"))).body;
      expect(first).not.toBe(second);
      for (let i = 0; i < 10; i++) {
        expect((await one.fetch(t.url("/"))).body).toBe(first);
        expect((await two.fetch(t.url("/"))).body).toBe(second);
      }
    } finally {
      await t.stop();
    }
  });

  test("a forged, tampered or foreign cookie is rebalanced and replaced", async () => {
    const t = await startTenbinInProcess(yaml(cookiePool));
    const other = await startTenbinInProcess(yaml(`    sticky: { cookie: { name: srv, key: "another-key" } }`));
    try {
      const jar = new CookieJar("srv");
      await jar.fetch(t.url("/"));
      const valid = jar.value!;
      const [id, expiry, mac] = valid.split(".") as [string, string, string];
      const flip = (s: string) => s.slice(0, -1) + (s.endsWith("A") ? "B" : "A");
      const foreignJar = new CookieJar("srv");
      await foreignJar.fetch(other.url("/"));
      const bad = [
        "garbage",
        `${id}.${expiry}.${flip(mac)}`, // tampered signature
        `${flip(id)}.${expiry}.${mac}`, // another server id under the old signature
        `${id}.${(parseInt(expiry, 36) + 86400).toString(36)}.${mac}`, // extended expiry
        `${id}.${expiry}`,
        foreignJar.value!, // valid, but signed with another key
      ];
      for (const value of bad) {
        const probe = new CookieJar("srv");
        probe.value = value;
        const { res, setCookie } = await probe.fetch(t.url("/"));
        expect(res.status).toBe(200);
        expect(setCookie).toBeDefined();
        expect(probe.value).not.toBe(value);
        // The replacement is valid: it pins from now on, without another Set-Cookie.
        const again = await probe.fetch(t.url("/"));
        expect(again.setCookie).toBeUndefined();
      }
      // Rebalanced, not pinned: the bad cookies went to both servers (round robin).
      const bodies = [];
      for (let i = 0; i < 4; i++) {
        const probe = new CookieJar("srv");
        probe.value = `${id}.${expiry}.${flip(mac)}`;
        bodies.push((await probe.fetch(t.url("/"))).body);
      }
      expect(tally(bodies)).toEqual({ a: 2, b: 2 });
    } finally {
      await t.stop();
      await other.stop();
    }
  });

  test("a cookie naming a server that went down is rebalanced and replaced", async () => {
    const t = await startTenbinInProcess(yaml(`${cookiePool}
    health: { http: { path: /healthz }, interval: 50ms, timeout: 200ms, fall: 1, rise: 1, jitter: 0 }`));
    try {
      const jar = new CookieJar("srv");
      const first = (await jar.fetch(t.url("/"))).body;
      const pinned = first === "a" ? a : b;
      const server = t.tenbin.pools.get("app")!.servers.find((s) => s.port === pinned.port)!;
      pinned.state.healthy = false;
      try {
        await waitUntil(() => !server.healthy, 2000, "the pinned server to be marked down");
        const { body, setCookie } = await jar.fetch(t.url("/"));
        expect(body).not.toBe(first);
        expect(setCookie).toBeDefined();
        for (let i = 0; i < 5; i++) {
          const next = await jar.fetch(t.url("/"));
          expect(next.body).toBe(body);
          expect(next.setCookie).toBeUndefined();
        }
      } finally {
        pinned.state.healthy = true;
      }
    } finally {
      await t.stop();
    }
  });

  test("a cookie naming a server that drains (after a reload) is rebalanced and replaced", async () => {
    const t = await startTenbinInProcess(yaml(cookiePool));
    try {
      const jar = new CookieJar("srv");
      const first = (await jar.fetch(t.url("/"))).body;
      const drained = first === "a" ? a : b;
      const other = first === "a" ? b : a;
      await t.tenbin.reload(loadConfigText(yaml(cookiePool, `[{ url: "${drained.url}", drain: true }, { url: "${other.url}" }]`), "t.yaml", {}));
      const { body, setCookie } = await jar.fetch(t.url("/"));
      expect(body).not.toBe(first);
      expect(setCookie).toBeDefined();
      expect((await jar.fetch(t.url("/"))).setCookie).toBeUndefined();
    } finally {
      await t.stop();
    }
  });

  test("a cookie naming a backup is not kept once a primary is back", async () => {
    const t = await startTenbinInProcess(yaml(cookiePool, `[{ url: "${a.url}" }, { url: "${c.url}", backup: true }]`));
    try {
      const primary = t.tenbin.pools.get("app")!.servers[0]!;
      primary.disabled = true;
      const jar = new CookieJar("srv");
      expect((await jar.fetch(t.url("/"))).body).toBe("c");
      expect((await jar.fetch(t.url("/"))).body).toBe("c");
      primary.disabled = false;
      const back = await jar.fetch(t.url("/"));
      expect(back.body).toBe("a");
      expect(back.setCookie).toBeDefined();
    } finally {
      await t.stop();
    }
  });

  test("Set-Cookie carries the configured attributes", async () => {
    const t = await startTenbinInProcess(yaml(`    sticky:
      cookie: { name: lb, key: k, max_age: 1h, path: /shop, domain: example.test, http_only: false, secure: true, same_site: strict }`));
    const defaults = await startTenbinInProcess(yaml(`    sticky: { cookie: srv }`));
    const none = await startTenbinInProcess(yaml(`    sticky: { cookie: { name: srv, key: k, same_site: none } }`));
    try {
      const [full] = (await fetch(t.url("/"))).headers.getSetCookie();
      expect(full).toMatch(/^lb=[A-Za-z0-9_-]{10}\.[0-9a-z]+\.[A-Za-z0-9_-]{22}; Max-Age=3600; Path=\/shop; Domain=example\.test; Secure; SameSite=Strict$/);
      const [plain] = (await fetch(defaults.url("/"))).headers.getSetCookie();
      expect(plain).toMatch(/^srv=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
      // Browsers drop SameSite=None without Secure, which would silently end persistence.
      const [cross] = (await fetch(none.url("/"))).headers.getSetCookie();
      expect(cross).toMatch(/^srv=[^;]+; Path=\/; HttpOnly; Secure; SameSite=None$/);
    } finally {
      await t.stop();
      await defaults.stop();
      await none.stop();
    }
  });

  test("a backend's own Set-Cookie headers are kept next to tenbin's", async () => {
    const own = startHttpBackend(() => {
      const headers = new Headers();
      headers.append("set-cookie", "app=1; Path=/");
      headers.append("set-cookie", "theme=dark; Path=/");
      return new Response("own", { headers });
    });
    const t = await startTenbinInProcess(yaml(cookiePool, `[{ url: "${own.url}" }]`));
    try {
      const cookies = (await fetch(t.url("/"))).headers.getSetCookie();
      expect(cookies.length).toBe(3);
      expect(cookies.slice(0, 2)).toEqual(["app=1; Path=/", "theme=dark; Path=/"]);
      expect(cookies[2]).toStartWith("srv=");
    } finally {
      await t.stop();
      await own.stop();
    }
  });
});

describe("source-address persistence", () => {
  test("a client keeps its server; another client may get another; idle past the timeout → rebalanced", async () => {
    const t = await startTenbinInProcess(yaml(`    sticky: { source_ip: { timeout: 300ms } }`, `[{ url: "${a.url}" }, { url: "${b.url}" }, { url: "${c.url}" }]`));
    try {
      const port = t.port();
      const first = [];
      for (let i = 0; i < 10; i++) first.push((await getFrom("127.0.0.1", port)).body);
      expect(new Set(first).size).toBe(1);
      // Round robin gives the next client the next server, and it keeps it too.
      const second = [];
      for (let i = 0; i < 5; i++) second.push((await getFrom("127.0.0.2", port)).body);
      expect(new Set(second).size).toBe(1);
      expect(second[0]).not.toBe(first[0]);
      // Idle past the timeout: the binding is gone, round robin moves on to the third server.
      await new Promise((r) => setTimeout(r, 400));
      const later = (await getFrom("127.0.0.1", port)).body;
      expect([first[0], second[0]]).not.toContain(later);
    } finally {
      await t.stop();
    }
  });
});
