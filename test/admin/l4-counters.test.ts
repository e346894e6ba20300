/** The counters of TCP and UDP listeners reach GET /api/status and GET /metrics of a real tenbin. */
import { afterAll, expect, test } from "bun:test";
import { startEchoServer, startUdpEcho, udpClient } from "../helpers/l4-backends.ts";
import { startL4Tenbin, textClient } from "../helpers/l4-tenbin.ts";

const echo = startEchoServer();
const udpEcho = await startUdpEcho("u");
afterAll(() => {
  echo.kill();
  udpEcho.close();
});

interface StatusListener {
  name: string;
  mode: string;
  l4: Record<string, number> | null;
}

test("accepted, refused, bad PROXY headers, bytes and UDP flows show in /api/status and /metrics", async () => {
  const t = await startL4Tenbin(`
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: web }] }
  - { name: db, listen: 127.0.0.1:0, mode: tcp, pool: db, max_conns: 1 }
  - { name: pp, listen: 127.0.0.1:0, mode: tcp, pool: db, accept_proxy: true, trusted_proxies: [127.0.0.1/32] }
  - { name: dns, listen: 127.0.0.1:0, mode: udp, pool: dns }
pools:
  web: { servers: [{ url: "http://127.0.0.1:9" }] }
  db: { servers: [{ url: "tcp://127.0.0.1:${echo.port}" }] }
  dns: { servers: [{ url: "udp://127.0.0.1:${udpEcho.port}" }] }
`);
  const client = await udpClient();
  try {
    const a = await textClient(t.port("db"), "hello");
    expect(await a.until((text) => text === "hello")).toBe("hello");
    const refused = await textClient(t.port("db"), "x");
    await refused.until((_t, closed) => closed);
    const bad = await textClient(t.port("pp"), "GET / HTTP/1.1\r\n\r\n");
    await bad.until((_t, closed) => closed);
    client.send("q", t.port("dns"));
    expect(await client.reply(1)).toBe("u:q");

    const admin = `http://127.0.0.1:${t.tenbin.adminAddress!.port}`;
    const status = await (await fetch(`${admin}/api/status`)).json() as { listeners: StatusListener[] };
    const byName = new Map(status.listeners.map((l) => [l.name, l]));
    expect(byName.get("web")!.l4).toBeNull();
    expect(byName.get("db")!.l4).toMatchObject({ accepted: 2, refused: 1, bytes_from_clients: 5, bytes_to_clients: 5 });
    expect(byName.get("pp")!.l4).toMatchObject({ accepted: 1, bad_proxy_header: 1 });
    expect(byName.get("dns")!.l4).toMatchObject({ flows_created: 1, from_clients: 1, to_servers: 1, to_clients: 1 });

    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(metrics).toContain('tenbin_l4_connections_total{listener="db"} 2\n');
    expect(metrics).toContain('tenbin_l4_refused_total{listener="db"} 1\n');
    expect(metrics).toContain('tenbin_l4_bad_proxy_header_total{listener="pp"} 1\n');
    expect(metrics).toContain('tenbin_l4_bytes_total{listener="db",direction="in"} 5\n');
    expect(metrics).toContain('tenbin_l4_bytes_total{listener="db",direction="out"} 5\n');
    expect(metrics).toContain('tenbin_l4_connections_total{listener="dns"} 1\n');
    expect(metrics).toContain('tenbin_l4_datagrams_total{listener="dns",direction="to_client"} 1\n');
    a.socket.end();
  } finally {
    client.close();
    await t.stop();
  }
});
