/** Pool persistence on a FakeClock: source-address expiry, cookie verdicts and renewal, backups, hash keys. */
import { describe, expect, test } from "bun:test";
import { poolSchema } from "../../src/config/schema.ts";
import type { ServerState } from "../../src/pool/server-state.ts";
import { Stickiness, type StickyFacts } from "../../src/pool/stickiness.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { makeServers } from "./balance/servers.ts";
import { ctx, makePool, take } from "./pool-support.ts";

function facts(clientIp = "192.0.2.1", cookieHeader: string | null = null, pathAndQuery = "/", headers = new Headers()): StickyFacts {
  return { clientIp, cookieHeader, headers, pathAndQuery };
}

/** One request through the pool as the forwarder does it: pinned → acquire → bind → release. */
function request(pool: ReturnType<typeof makePool>["pool"], f: StickyFacts): { server: ServerState; setCookie: string | undefined } {
  const pinned = pool.sticky.pinned(f);
  const server = take(pool, ctx(f.clientIp, { pinned }));
  const setCookie = pool.sticky.bind(f, server, pinned);
  pool.release(server);
  return { server, setCookie };
}

describe("source-address persistence in a pool", () => {
  test("a client keeps its server until `timeout` after its last request", () => {
    const { pool, clock } = makePool([{}, {}, {}], { sticky: { source_ip: { timeout: "300ms" } } });
    const first = request(pool, facts()).server;
    for (let i = 0; i < 5; i++) {
      clock.advance(299); // each request within the timeout of the one before
      expect(request(pool, facts()).server).toBe(first);
    }
    expect(pool.sticky.pinned(facts())).toBe(first);
    clock.advance(300);
    expect(pool.sticky.pinned(facts())).toBeUndefined();
    // Round robin moves on: the client is balanced afresh.
    expect(request(pool, facts()).server).not.toBe(first);
  });

  test("clients are kept apart, or grouped by netmask", () => {
    const single = makePool([{}, {}], { sticky: { source_ip: true } }).pool;
    expect(request(single, facts("192.0.2.1")).server).not.toBe(request(single, facts("192.0.2.2")).server);
    const grouped = makePool([{}, {}], { sticky: { source_ip: { netmask: 24 } } }).pool;
    const one = request(grouped, facts("192.0.2.1")).server;
    expect(request(grouped, facts("192.0.2.200")).server).toBe(one);
    expect(request(grouped, facts("192.0.3.1")).server).not.toBe(one);
  });

  test("netmask groups IPv4 only; IPv6 clients are kept apart unless netmask6 groups them", () => {
    const v4Only = makePool([{}, {}], { sticky: { source_ip: { netmask: 24 } } }).pool;
    expect(request(v4Only, facts("2001:db8:0:1::1")).server).not.toBe(request(v4Only, facts("2001:db8:0:2::1")).server);
    const both = makePool([{}, {}], { sticky: { source_ip: { netmask: 24, netmask6: 64 } } }).pool;
    const site = request(both, facts("2001:db8:0:1::1")).server;
    expect(request(both, facts("2001:db8:0:1:ffff::9")).server).toBe(site);
    expect(request(both, facts("2001:db8:0:2::1")).server).not.toBe(site);
  });

  test("a netmask above 32 is refused, pointing at netmask6", () => {
    const parsed = poolSchema.safeParse({ servers: [{ url: "http://10.0.0.1:8080" }], sticky: { source_ip: { netmask: 48 } } });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain("at most 32; group IPv6 clients with netmask6");
    expect(poolSchema.safeParse({ servers: [{ url: "http://10.0.0.1:8080" }], sticky: { source_ip: { netmask6: 129 } } }).success).toBe(false);
  });

  test("a pinned server that goes down is left; the client's new server is remembered", () => {
    const { pool, servers } = makePool([{}, {}], { sticky: { source_ip: true } });
    const first = request(pool, facts()).server;
    first.healthy = false;
    const second = request(pool, facts()).server;
    expect(second).not.toBe(first);
    first.healthy = true;
    expect(request(pool, facts()).server).toBe(second);
    expect(servers).toContain(second);
  });
});

describe("cookie persistence in a pool", () => {
  const sticky = { sticky: { cookie: { name: "srv", key: "k", max_age: "1h" } } };

  test("a valid cookie pins without a new Set-Cookie; another server's cookie is replaced", () => {
    const { pool } = makePool([{}, {}], sticky);
    const { server, setCookie } = request(pool, facts());
    const value = setCookie!.split(";")[0]!;
    for (let i = 0; i < 4; i++) {
      const again = request(pool, facts("192.0.2.9", value));
      expect(again.server).toBe(server);
      expect(again.setCookie).toBeUndefined();
    }
    server.drainOverride = true;
    const moved = request(pool, facts("192.0.2.9", value));
    expect(moved.server).not.toBe(server);
    expect(moved.setCookie).toStartWith("srv=");
  });

  test("with cookie and source persistence, a forged cookie is replaced even when the address pins the same server", () => {
    const { pool } = makePool([{}, {}], { sticky: { cookie: { name: "srv", key: "k" }, source_ip: true } });
    const first = request(pool, facts());
    const again = request(pool, facts("192.0.2.1", "srv=forged.value.xyz"));
    expect(again.server).toBe(first.server);
    expect(again.setCookie).toStartWith("srv=");
  });

  test("a cookie naming a backup does not pin while a primary is usable", () => {
    const { pool, servers } = makePool([{}, { backup: true }], sticky);
    const [primary, backup] = servers as [ServerState, ServerState];
    primary.healthy = false;
    const onBackup = request(pool, facts());
    expect(onBackup.server).toBe(backup);
    const cookie = onBackup.setCookie!.split(";")[0]!;
    expect(pool.sticky.pinned(facts("192.0.2.1", cookie))).toBe(backup);
    primary.healthy = true;
    expect(pool.sticky.pinned(facts("192.0.2.1", cookie))).toBeUndefined();
    const back = request(pool, facts("192.0.2.1", cookie));
    expect(back.server).toBe(primary);
    expect(back.setCookie).toBeDefined();
  });

  test("a cookie past half its lifetime is renewed, so an active client stays", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{}, {}]);
    let wall = 1_700_000_000_000;
    const config = poolSchema.parse({ servers: [{ url: "http://10.0.0.1:8080" }, { url: "http://10.0.0.2:8080" }], ...sticky });
    const s = new Stickiness("app", config, servers, clock, "fallback", () => wall);
    const first = s.bind(facts(), servers[1]!, undefined)!;
    expect(first).toContain("Max-Age=3600");
    const cookie = first.split(";")[0]!;
    wall += 29 * 60_000;
    expect(s.pinned(facts("192.0.2.1", cookie))).toBe(servers[1]!);
    expect(s.bind(facts("192.0.2.1", cookie), servers[1]!, servers[1]!)).toBeUndefined();
    wall += 2 * 60_000; // 31 minutes in: past half of the hour
    const f = facts("192.0.2.1", cookie);
    expect(s.pinned(f)).toBe(servers[1]!);
    const renewed = s.bind(f, servers[1]!, servers[1]!)!;
    expect(renewed).toStartWith("srv=");
    expect(renewed.split(";")[0]).not.toBe(cookie);
    // The old cookie expires with its hour; the renewed one still pins after it.
    wall += 30 * 60_000;
    expect(s.pinned(facts("192.0.2.1", cookie))).toBeUndefined();
    expect(s.pinned(facts("192.0.2.1", renewed.split(";")[0]!))).toBe(servers[1]!);
  });

  test("new clients of one second share a Set-Cookie; the next second's carries its own expiry, per server", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{}, {}]);
    let wall = 1_700_000_000_000;
    const config = poolSchema.parse({ servers: [{ url: "http://10.0.0.1:8080" }, { url: "http://10.0.0.2:8080" }], ...sticky });
    const s = new Stickiness("app", config, servers, clock, "fallback", () => wall);
    const first = s.bind(facts(), servers[0]!, undefined)!;
    wall += 999;
    expect(s.bind(facts("192.0.2.9"), servers[0]!, undefined)).toBe(first);
    const other = s.bind(facts(), servers[1]!, undefined)!;
    expect(s.pinned(facts("192.0.2.1", other.split(";")[0]!))).toBe(servers[1]!);
    wall += 1;
    const next = s.bind(facts(), servers[0]!, undefined)!;
    expect(next).not.toBe(first);
    // One second later in its expiry: it still pins after the first one expired.
    wall += 3_600_000 - 1_000;
    expect(s.pinned(facts("192.0.2.1", first.split(";")[0]!))).toBeUndefined();
    expect(s.pinned(facts("192.0.2.1", next.split(";")[0]!))).toBe(servers[0]!);
  });

  test("a cookie of a server no longer in the pool is replaced", () => {
    const old = makePool([{}, {}, {}], sticky).pool;
    const third = old.servers[2]!;
    const cookie = old.sticky.bind(facts(), third, undefined)!.split(";")[0]!;
    const { pool } = makePool([{}, {}], sticky);
    const f = facts("192.0.2.1", cookie);
    expect(pool.sticky.pinned(f)).toBeUndefined();
    expect(request(pool, f).setCookie).toBeDefined();
  });

  test("one pool's cookie does not pin in another pool with the same key", () => {
    const clock = new FakeClock();
    const servers = makeServers(clock, [{}, {}]);
    const config = poolSchema.parse({ servers: [{ url: "http://10.0.0.1:8080" }, { url: "http://10.0.0.2:8080" }], ...sticky });
    const web = new Stickiness("web", config, servers, clock, "fallback");
    const api = new Stickiness("api", config, servers, clock, "fallback");
    const cookie = web.bind(facts(), servers[0]!, undefined)!.split(";")[0]!;
    expect(web.pinned(facts("192.0.2.1", cookie))).toBe(servers[0]!);
    expect(api.pinned(facts("192.0.2.1", cookie))).toBeUndefined();
  });
});

describe("hash keys", () => {
  function key(hashOn: string, f: StickyFacts): string | undefined {
    return makePool([{}, {}], { balance: "hash", hash_on: hashOn }).pool.sticky.hashKey(f);
  }
  const headers = new Headers({ "x-user": "alice" });

  test("each source of the key, and undefined when the request lacks it", () => {
    expect(key("source_ip", facts("192.0.2.7"))).toBe("192.0.2.7");
    expect(key("header:X-User", facts("192.0.2.1", null, "/", headers))).toBe("alice");
    expect(key("header:X-User", facts())).toBeUndefined();
    expect(key("cookie:session", facts("192.0.2.1", "a=1; session=s42"))).toBe("s42");
    expect(key("cookie:session", facts("192.0.2.1", "a=1"))).toBeUndefined();
    expect(key("query:user", facts("192.0.2.1", null, "/p?x=1&user=bob"))).toBe("bob");
    expect(key("query:user", facts("192.0.2.1", null, "/p?x=1"))).toBeUndefined();
    expect(key("uri", facts("192.0.2.1", null, "/p?x=1"))).toBe("/p?x=1");
  });
});
