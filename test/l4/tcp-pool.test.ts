/**
 * TCP listeners use pools like HTTP listeners do: balancing per connection, source-IP persistence,
 * active health, and a reload that keeps the listening socket and open connections.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closedPort } from "../helpers/health-backends.ts";
import { startBannerServer } from "../helpers/l4-servers.ts";
import { startL4Tenbin, textClient } from "../helpers/l4-tenbin.ts";

const a = startBannerServer("a");
const b = startBannerServer("b");
afterAll(() => {
  a.kill();
  b.kill();
});

const config = (pool: string, servers = `{ url: "tcp://127.0.0.1:${a.port}" }, { url: "tcp://127.0.0.1:${b.port}" }`) => `
admin: { enabled: false }
listeners:
  - { name: l4, listen: 127.0.0.1:0, mode: tcp, pool: p }
pools:
  p: { servers: [${servers}]${pool} }
`;

/** Opens `n` connections one after another and returns the banner of each (closing each first). */
async function banners(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const client = await textClient(port);
    out.push((await client.until((text) => text.endsWith("\n"))).trim());
    client.socket.shutdown();
    await client.until((_t, closed) => closed);
  }
  return out;
}

describe("tcp pools", () => {
  test("round_robin balances each new connection", async () => {
    const t = await startL4Tenbin(config(""));
    try {
      expect(await banners(t.port("l4"), 4)).toEqual(["a", "b", "a", "b"]);
    } finally {
      await t.stop();
    }
  });

  test("least_conn counts open connections", async () => {
    const t = await startL4Tenbin(config(", balance: least_conn"));
    try {
      // One connection stays open; every short one after it goes to the other server.
      const held = await textClient(t.port("l4"));
      const first = (await held.until((text) => text.endsWith("\n"))).trim();
      const other = first === "a" ? "b" : "a";
      expect(await banners(t.port("l4"), 3)).toEqual([other, other, other]);
      held.socket.end();
    } finally {
      await t.stop();
    }
  });

  test("sticky source_ip keeps a client on one server", async () => {
    const t = await startL4Tenbin(config(", sticky: { source_ip: { timeout: 1m } }"));
    try {
      const seen = await banners(t.port("l4"), 4);
      expect(new Set(seen).size).toBe(1);
    } finally {
      await t.stop();
    }
  });

  test("hash on source_ip sends one client to one server", async () => {
    const t = await startL4Tenbin(config(", balance: hash, hash_on: source_ip"));
    try {
      expect(new Set(await banners(t.port("l4"), 4)).size).toBe(1);
    } finally {
      await t.stop();
    }
  });

  test("health.tcp keeps connections away from a server that is down", async () => {
    const dead = closedPort();
    const servers = `{ url: "tcp://127.0.0.1:${dead}" }, { url: "tcp://127.0.0.1:${a.port}" }`;
    const t = await startL4Tenbin(config(", health: { tcp: {}, interval: 1s, initial: down, rise: 1 }", servers));
    try {
      const pool = t.tenbin.pools.get("p")!;
      for (let i = 0; i < 200 && !pool.servers[1]!.healthy; i++) await Bun.sleep(5);
      expect(await banners(t.port("l4"), 3)).toEqual(["a", "a", "a"]);
      expect(pool.servers[0]!.requests).toBe(0);
      expect(pool.servers[0]!.healthy).toBe(false);
    } finally {
      await t.stop();
    }
  });

  test("a reload keeps the socket and open connections; new connections use the new pool", async () => {
    const t = await startL4Tenbin(config("", `{ url: "tcp://127.0.0.1:${a.port}" }`));
    try {
      const port = t.port("l4");
      const before = await textClient(port);
      await before.until((text) => text === "a\n");
      await t.reload(config("", `{ url: "tcp://127.0.0.1:${b.port}" }`));
      expect(t.port("l4")).toBe(port);
      expect(await banners(port, 2)).toEqual(["b", "b"]);
      before.socket.write("still here");
      expect(await before.until((text) => text === "a\nstill here")).toBe("a\nstill here");
      before.socket.end();
    } finally {
      await t.stop();
    }
  });
});
