/**
 * PROXY protocol through tenbin: `send_proxy` read by a backend with its own parser, and
 * `accept_proxy` on a TCP listener taking the client address from a trusted upstream.
 */
import { describe, expect, test } from "bun:test";
import { encodeProxyHeader } from "../../src/proxy/proxy-protocol.ts";
import { startProxyReportServer } from "../helpers/l4-servers.ts";
import { startL4Tenbin, textClient } from "../helpers/l4-tenbin.ts";

const reporter = startProxyReportServer();

const config = (pool: string, listener = "") => `
admin: { enabled: false }
listeners:
  - { name: l4, listen: 127.0.0.1:0, mode: tcp, pool: p${listener} }
pools:
  p: { servers: [{ url: "tcp://127.0.0.1:${reporter.port}" }]${pool} }
`;

describe("send_proxy", () => {
  for (const version of ["v1", "v2"] as const) {
    test(`${version}: the backend reads the client's address and port, then the client's bytes`, async () => {
      const t = await startL4Tenbin(config(`, send_proxy: ${version}`));
      try {
        const client = await textClient(t.port("l4"), "hello");
        const report = await client.until((_text, closed) => closed);
        const port = t.port("l4");
        expect(report).toBe(`${version} TCP4 127.0.0.1 ${client.localPort} 127.0.0.1 ${port} | hello`);
      } finally {
        await t.stop();
      }
    });
  }
});

describe("accept_proxy on a tcp listener", () => {
  const trusted = ", accept_proxy: true, trusted_proxies: [127.0.0.0/8]";

  test("the client address of a trusted upstream's header reaches the backend (v1 in, v2 out)", async () => {
    const t = await startL4Tenbin(config(", send_proxy: v2", trusted));
    try {
      const header = encodeProxyHeader(1, { address: "203.0.113.9", port: 4711 }, { address: "198.51.100.2", port: 3306 });
      const client = await textClient(t.port("l4"), new Uint8Array([...header, ...new TextEncoder().encode("payload")]));
      expect(await client.until((_text, closed) => closed)).toBe("v2 TCP4 203.0.113.9 4711 198.51.100.2 3306 | payload");
    } finally {
      await t.stop();
    }
  });

  test("a header split over several packets is reassembled (v2 in, v1 out)", async () => {
    const t = await startL4Tenbin(config(", send_proxy: v1", trusted));
    try {
      const header = encodeProxyHeader(2, { address: "2001:db8::5", port: 1000 }, { address: "2001:db8::1", port: 80 });
      const client = await textClient(t.port("l4"), header.subarray(0, 5));
      await Bun.sleep(20);
      client.socket.write(header.subarray(5, 20));
      await Bun.sleep(20);
      client.socket.write(new Uint8Array([...header.subarray(20), ...new TextEncoder().encode("rest")]));
      expect(await client.until((_text, closed) => closed)).toBe("v1 TCP6 2001:db8::5 1000 2001:db8::1 80 | rest");
    } finally {
      await t.stop();
    }
  });

  test("a malformed header closes the connection before any server is contacted", async () => {
    const t = await startL4Tenbin(config("", trusted));
    const before = reporter.connections;
    try {
      for (const bad of ["GET / HTTP/1.1\r\nHost: x\r\n\r\n", "PROXY TCP4 1.2.3.4 nothing 1 2\r\n", `PROXY TCP4 ${"9".repeat(200)}`]) {
        const client = await textClient(t.port("l4"), bad);
        await client.until((_text, closed) => closed);
        expect(client.text).toBe("");
      }
      expect(reporter.connections).toBe(before);
      expect(t.tenbin.l4Stats.get("l4")).toMatchObject({ accepted: 3, badProxyHeader: 3 });
      expect(t.logger.lines.filter((l) => l.includes("PROXY")).length).toBe(3);
    } finally {
      await t.stop();
    }
  });

  test("a peer outside trusted_proxies is closed at once, even with a well-formed header", async () => {
    const t = await startL4Tenbin(config("", ", accept_proxy: true, trusted_proxies: [10.0.0.0/8]"));
    try {
      const header = encodeProxyHeader(1, { address: "203.0.113.9", port: 1 }, { address: "198.51.100.2", port: 2 });
      const client = await textClient(t.port("l4"), header);
      await client.until((_text, closed) => closed);
      expect(client.text).toBe("");
      expect(t.logger.lines.some((l) => l.includes("not in trusted_proxies"))).toBe(true);
    } finally {
      await t.stop();
    }
  });

  test("a client that sends no header in time is closed", async () => {
    const t = await startL4Tenbin(config("", `${trusted}, idle_timeout: 200ms`));
    try {
      const client = await textClient(t.port("l4"));
      await client.until((_text, closed) => closed, 2000);
      expect(t.logger.lines.some((l) => l.includes("no PROXY header in time"))).toBe(true);
    } finally {
      await t.stop();
    }
  });
});
