/**
 * UDP listeners: a pair of DNS-like echo servers behind `mode: udp`. Flows stick to one server,
 * new clients rotate, idle flows expire, and the flow table is bounded.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { poolSchema, udpListenerSchema } from "../../src/config/schema.ts";
import { EARLY_DATAGRAMS, UdpProxy } from "../../src/listener/udp.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { Pool } from "../../src/pool/pool.ts";
import { ServerState } from "../../src/pool/server-state.ts";
import type { UdpSocket, UdpSocketOptions } from "../../src/runtime/types.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { startUdpEcho, udpClient, type UdpClient } from "../helpers/l4-backends.ts";
import { startL4Tenbin } from "../helpers/l4-tenbin.ts";

const one = await startUdpEcho("one");
const two = await startUdpEcho("two");
afterAll(() => {
  one.close();
  two.close();
});

const config = (listener = "", pool = "") => `
admin: { enabled: false }
listeners:
  - { name: dns, listen: 127.0.0.1:0, mode: udp, pool: p${listener} }
pools:
  p: { servers: [{ url: "udp://127.0.0.1:${one.port}" }, { url: "udp://127.0.0.1:${two.port}" }]${pool} }
`;

/** Sends `text` and returns the server tag of the reply. */
async function ask(client: UdpClient, port: number, text: string): Promise<string> {
  const n = client.replies.length + 1;
  client.send(text, port);
  const reply = await client.reply(n);
  const [tag, body] = reply.split(":");
  expect(body).toBe(text);
  return tag!;
}

describe("udp", () => {
  test("a client's datagrams stick to one server; replies come from the listener's port", async () => {
    const t = await startL4Tenbin(config());
    const client = await udpClient();
    try {
      const port = t.port("dns");
      const tags = [];
      for (let i = 0; i < 5; i++) tags.push(await ask(client, port, `q${i}`));
      expect(new Set(tags).size).toBe(1);
      expect(new Set(client.from)).toEqual(new Set([`127.0.0.1:${port}`]));
    } finally {
      client.close();
      await t.stop();
    }
  });

  test("new clients rotate round robin; each keeps its server", async () => {
    const t = await startL4Tenbin(config());
    const clients = await Promise.all([udpClient(), udpClient(), udpClient(), udpClient()]);
    try {
      const port = t.port("dns");
      const first = [];
      for (const c of clients) first.push(await ask(c, port, "hello"));
      expect(first).toEqual(["one", "two", "one", "two"]);
      for (const [i, c] of clients.entries()) expect(await ask(c, port, "again")).toBe(first[i]!);
      const udp = t.tenbin.pools.get("p")!.servers;
      expect(udp.map((s) => s.inFlight)).toEqual([2, 2]);
    } finally {
      for (const c of clients) c.close();
      await t.stop();
    }
  });

  test("an idle flow expires; the client's next datagram is balanced anew", async () => {
    const t = await startL4Tenbin(config(", idle_timeout: 150ms"));
    const client = await udpClient();
    try {
      const port = t.port("dns");
      const servers = t.tenbin.pools.get("p")!.servers;
      const firstTag = await ask(client, port, "first");
      expect(servers.map((s) => s.inFlight).reduce((x, y) => x + y)).toBe(1);
      for (let i = 0; i < 200 && servers.some((s) => s.inFlight > 0); i++) await Bun.sleep(10);
      expect(servers.map((s) => s.inFlight)).toEqual([0, 0]);
      // Round robin moved on: the same client now lands on the other server.
      expect(await ask(client, port, "later")).not.toBe(firstTag);
    } finally {
      client.close();
      await t.stop();
    }
  });

  test("the flow table is bounded: clients beyond max_conns are dropped until a flow expires", async () => {
    const t = await startL4Tenbin(config(", max_conns: 2, idle_timeout: 300ms"));
    const clients = await Promise.all([udpClient(), udpClient(), udpClient()]);
    try {
      const port = t.port("dns");
      await ask(clients[0]!, port, "a");
      await ask(clients[1]!, port, "b");
      clients[2]!.send("c", port);
      await expect(clients[2]!.reply(1, 150)).rejects.toThrow(/no reply/);
      expect(t.tenbin.l4Stats.get("dns")).toMatchObject({ flowsCreated: 2, flowsRefused: 1 });
      // Once the two flows have expired, the third client gets in.
      const servers = t.tenbin.pools.get("p")!.servers;
      for (let i = 0; i < 200 && servers.some((s) => s.inFlight > 0); i++) await Bun.sleep(10);
      expect(await ask(clients[2]!, port, "c2")).toMatch(/one|two/);
    } finally {
      for (const c of clients) c.close();
      await t.stop();
    }
  });

  test("sticky source_ip sends every flow of one address to one server", async () => {
    const t = await startL4Tenbin(config("", ", sticky: { source_ip: true }"));
    const clients = await Promise.all([udpClient(), udpClient(), udpClient()]);
    try {
      const tags = [];
      for (const c of clients) tags.push(await ask(c, t.port("dns"), "x"));
      expect(new Set(tags).size).toBe(1);
    } finally {
      for (const c of clients) c.close();
      await t.stop();
    }
  });
});

describe("udp flow table (fake sockets, fake clock)", () => {
  /** A UdpProxy on fake sockets: `deliver` plays a client datagram; upstream sends answer `accept`. */
  async function fakeProxy(accept: boolean) {
    const clock = new FakeClock();
    const poolConfig = poolSchema.parse({ servers: [{ url: "udp://127.0.0.1:5300" }] });
    const server = new ServerState(poolConfig.servers[0]!, clock);
    const pool = new Pool("p", poolConfig, { clock, random: Math.random, logger: memoryLogger(), fetch: () => Promise.reject(new Error("no")), servers: [server], fallbackCookieKey: "k" });
    const config = udpListenerSchema.parse({ name: "u", listen: "127.0.0.1:0", mode: "udp", pool: "p", idle_timeout: "10s", max_conns: 5 });
    const sockets: { port: number; sent: number; closed: boolean; message: UdpSocketOptions["message"] }[] = [];
    const runtime = {
      udpSocket: async (options: UdpSocketOptions): Promise<UdpSocket> => {
        const s = { port: 1000 + sockets.length, sent: 0, closed: false, message: options.message };
        sockets.push(s);
        return { hostname: options.hostname, port: s.port, send: () => (s.sent++, sockets.indexOf(s) === 0 || accept), close: () => void (s.closed = true) };
      },
    };
    const proxy = await UdpProxy.bind({ hostname: "127.0.0.1", port: 0, current: () => ({ config, pool }), runtime, logger: memoryLogger(), clock });
    const deliver = (port: number) => sockets[0]!.message(new Uint8Array([1]), "10.0.0.1", port);
    return { proxy, clock, server, sockets, deliver };
  }

  test("a send the runtime refuses is dropped and counted; nothing queues", async () => {
    const { proxy, sockets, deliver } = await fakeProxy(false);
    deliver(4000);
    await Bun.sleep(0); // the flow's upstream socket is opened asynchronously
    for (let i = 0; i < 100; i++) deliver(4000);
    expect(sockets[1]!.sent).toBe(101);
    expect(proxy.stats).toMatchObject({ fromClients: 101, toServers: 0, dropped: 101 });
    await proxy.stop();
  });

  test("datagrams before the upstream socket is open wait, at most EARLY_DATAGRAMS of them", async () => {
    const { proxy, sockets, deliver } = await fakeProxy(true);
    for (let i = 0; i < EARLY_DATAGRAMS + 5; i++) deliver(4000);
    await Bun.sleep(0);
    expect(sockets[1]!.sent).toBe(EARLY_DATAGRAMS);
    expect(proxy.stats.dropped).toBe(5);
    await proxy.stop();
  });

  test("flows expire after idle_timeout on the clock, releasing their server and socket", async () => {
    const { proxy, clock, server, sockets, deliver } = await fakeProxy(true);
    deliver(4000);
    deliver(4001);
    await Bun.sleep(0);
    expect([proxy.flows, server.inFlight]).toEqual([2, 2]);
    clock.advance(5_000);
    deliver(4001); // keeps the second flow alive
    clock.advance(5_000);
    proxy.sweep();
    expect([proxy.flows, server.inFlight, sockets[1]!.closed, sockets[2]!.closed]).toEqual([1, 1, true, false]);
    clock.advance(10_000);
    proxy.sweep();
    expect([proxy.flows, server.inFlight, proxy.stats.flowsExpired]).toEqual([0, 0, 2]);
    await proxy.stop();
  });
});
