/**
 * The same L4 source on Deno (its node:net / node:dgram adapter): a TCP stream through tenbin with
 * a half-close and a hash check, a PROXY header to the backend, and UDP flows.
 */
import { afterAll, expect, test } from "bun:test";
import { seededRandom } from "../../src/util/clock.ts";
import { expectedHash, startEchoServer, startUdpEcho, streamThrough, udpClient } from "../helpers/l4-backends.ts";
import { startProxyReportServer } from "../helpers/l4-servers.ts";
import { textClient } from "../helpers/l4-tenbin.ts";
import { startTenbin } from "../helpers/tenbin.ts";

const echo = startEchoServer();
const reporter = startProxyReportServer();
const udpA = await startUdpEcho("a");
const udpB = await startUdpEcho("b");
afterAll(() => {
  echo.kill();
  reporter.kill();
  udpA.close();
  udpB.close();
});

test("tcp and udp listeners work under Deno", async () => {
  const t = await startTenbin(`
admin: { enabled: false }
listeners:
  - { name: echo, listen: 127.0.0.1:0, mode: tcp, pool: echo }
  - { name: report, listen: 127.0.0.1:0, mode: tcp, pool: report }
  - { name: dns, listen: 127.0.0.1:0, mode: udp, pool: dns }
pools:
  echo: { servers: [{ url: "tcp://127.0.0.1:${echo.port}" }] }
  report: { send_proxy: v1, servers: [{ url: "tcp://127.0.0.1:${reporter.port}" }] }
  dns: { servers: [{ url: "udp://127.0.0.1:${udpA.port}" }, { url: "udp://127.0.0.1:${udpB.port}" }] }
`, { how: "deno", listeners: 3, timeoutMs: 30_000 });
  try {
    const source = crypto.getRandomValues(new Uint8Array(1024 * 1024));
    const r = await streamThrough({ port: t.port("echo"), bytes: 8 * 1024 * 1024, source, offset: 11, random: seededRandom(5), timeoutMs: 20_000 });
    expect(r.error).toBeUndefined();
    expect(r.receivedHash).toBe(expectedHash(source, 11, 8 * 1024 * 1024));

    const client = await textClient(t.port("report"), "hi");
    expect(await client.until((_text, closed) => closed)).toBe(`v1 TCP4 127.0.0.1 ${client.localPort} 127.0.0.1 ${t.port("report")} | hi`);

    const [c1, c2] = await Promise.all([udpClient(), udpClient()]);
    c1.send("x", t.port("dns"));
    await c1.reply(1);
    c2.send("y", t.port("dns"));
    await c2.reply(1);
    c1.send("z", t.port("dns"));
    await c1.reply(2);
    expect([c1.replies, c2.replies]).toEqual([["a:x", "a:z"], ["b:y"]]);
    c1.close();
    c2.close();
  } finally {
    expect(await t.stop()).toBe(0);
  }
}, 60_000);
