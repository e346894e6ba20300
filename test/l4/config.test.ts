/** `mode: tcp` and `mode: udp` listeners in the config: defaults, schema errors, whole-config checks. */
import { describe, expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";
import { errorLines, yaml } from "../config/helpers.ts";

const pools = yaml(
  "pools:",
  "  db: { servers: [{ url: tcp://127.0.0.1:3306 }] }",
  "  dns: { servers: [{ url: udp://127.0.0.1:53 }] }",
  "  web: { servers: [{ url: http://127.0.0.1:80 }] }",
);

describe("L4 listeners in the schema", () => {
  test("tcp and udp listeners load with their defaults, next to an http one", () => {
    const config = loadConfigText(yaml(
      "listeners:",
      "  - { name: web, listen: 127.0.0.1:8080, routes: [{ pool: web }] }",
      "  - { name: db, listen: 127.0.0.1:3306, mode: tcp, pool: db }",
      "  - { name: dns, listen: 127.0.0.1:3306, mode: udp, pool: dns }",
    ) + pools, "tenbin.yaml", {});
    expect(config.listeners[1]).toEqual({
      name: "db", listen: { host: "127.0.0.1", port: 3306 }, mode: "tcp", pool: "db",
      idle_timeout: 15 * 60_000, max_conns: 0, accept_proxy: false, trusted_proxies: [], sni_timeout: 5_000, max_hello: 16 * 1024,
    });
    expect(config.listeners[2]).toEqual({ name: "dns", listen: { host: "127.0.0.1", port: 3306 }, mode: "udp", pool: "dns", idle_timeout: 60_000, max_conns: 10_000 });
    expect(config.pools.db?.send_proxy).toBeUndefined();
  });

  test("keys of the wrong mode, a missing pool and an unknown mode are named", () => {
    expect(errorLines(yaml(
      "listeners:",
      "  - { name: a, listen: 127.0.0.1:1, mode: udp, routes: [{ pool: db }] }",
      "  - { name: b, listen: 127.0.0.1:2, pool: db }",
      "  - { name: c, listen: 127.0.0.1:3, mode: udpp, pool: dns }",
      "  - { name: d, listen: 127.0.0.1:4, mode: udp, pool: dns, accept_proxy: true }",
    ) + pools)).toEqual([
      'tenbin.yaml:2:5 listeners[0]: missing required key "pool"',
      'tenbin.yaml:2:48 listeners[0].routes: unknown key "routes"; routes are for http listeners and tcp listeners (routed by SNI); a udp listener names one pool',
      'tenbin.yaml:3:37 listeners[1].pool: unknown key "pool"; an http listener has routes: [{ pool: NAME }]; pool alone is for mode: tcp or mode: udp',
      'tenbin.yaml:4:43 listeners[2].mode: unknown mode "udpp"; expected one of http, tcp, udp',
      'tenbin.yaml:5:59 listeners[3].accept_proxy: unknown key "accept_proxy"; expected one of name, listen, mode, pool, idle_timeout, max_conns',
    ]);
  });
});

describe("L4 listeners in the whole-config checks", () => {
  test("server schemes must match the listener using the pool", () => {
    expect(errorLines(yaml(
      "listeners:",
      "  - { name: a, listen: 127.0.0.1:1, mode: tcp, pool: web }",
      "  - { name: b, listen: 127.0.0.1:2, mode: udp, pool: db }",
      "  - { name: c, listen: 127.0.0.1:3, routes: [{ pool: dns }] }",
      "  - { name: d, listen: 127.0.0.1:4, mode: tcp, pool: nope }",
    ) + pools)).toEqual([
      'tenbin.yaml:5:54 listeners[3].pool: unknown pool "nope"; expected one of the pools db, dns, web',
      'tenbin.yaml:7:26 pools.db.servers[0].url: server url "tcp://127.0.0.1:3306" is not udp://; pool "db" serves udp listener "b", whose servers are udp://host:port',
      'tenbin.yaml:8:27 pools.dns.servers[0].url: server url "udp://127.0.0.1:53" is not http:// or https://; pools of http listeners need http(s) servers (tcp:// and udp:// servers are for tcp and udp listeners)',
      'tenbin.yaml:9:27 pools.web.servers[0].url: server url "http://127.0.0.1:80" is not tcp://; pool "web" serves tcp listener "a", whose servers are tcp://host:port',
    ]);
  });

  test("what only HTTP or only TCP can do is refused on the other", () => {
    expect(errorLines(yaml(
      "listeners:",
      "  - { name: a, listen: 127.0.0.1:1, mode: tcp, pool: db, accept_proxy: true }",
      "  - { name: b, listen: 127.0.0.1:2, routes: [{ pool: web }] }",
      "  - { name: c, listen: 127.0.0.1:3, mode: udp, pool: dns }",
      "pools:",
      "  db:",
      "    balance: hash",
      "    hash_on: header:x-user",
      "    sticky: { cookie: srv }",
      "    servers: [{ url: 'tcp://127.0.0.1' }]",
      "  web: { send_proxy: v1, servers: [{ url: http://127.0.0.1:80 }] }",
      "  dns: { balance: least_time, servers: [{ url: udp://127.0.0.1:53 }] }",
    ))).toEqual([
      "tenbin.yaml:2:72 listeners[0].accept_proxy: accept_proxy needs trusted_proxies: list the addresses of the balancers that send PROXY headers",
      'tenbin.yaml:8:14 pools.db.hash_on: tcp connections can only be hashed on source_ip, not "header:x-user" (pool "db" serves tcp listener "a")',
      'tenbin.yaml:9:23 pools.db.sticky.cookie: a cookie cannot pin tcp connections (pool "db" serves tcp listener "a"); use sticky.source_ip',
      'tenbin.yaml:10:22 pools.db.servers[0].url: server url "tcp://127.0.0.1" has no port; write tcp://host:port',
      'tenbin.yaml:11:22 pools.web.send_proxy: send_proxy works on tcp listeners only, and pool "web" serves http listener "b"; remove it or use a separate pool',
      'tenbin.yaml:12:19 pools.dns.balance: least_time cannot balance udp flows (pool "dns" serves udp listener "c"); use least_conn or round_robin',
    ]);
  });

  test("accept_proxy on an http listener needs trusted_proxies too", () => {
    expect(errorLines(yaml(
      "listeners:",
      "  - { name: a, listen: 127.0.0.1:1, accept_proxy: true, routes: [{ pool: web }] }",
    ) + pools)).toEqual([
      "tenbin.yaml:2:51 listeners[0].accept_proxy: accept_proxy needs trusted_proxies: list the addresses of the balancers that send PROXY headers",
    ]);
  });

  test("tcp listeners clash with tcp and http ones on a port; udp ones do not", () => {
    expect(errorLines(yaml(
      "listeners:",
      "  - { name: a, listen: 127.0.0.1:9000, routes: [{ pool: web }] }",
      "  - { name: b, listen: 127.0.0.1:9000, mode: udp, pool: dns }",
      "  - { name: c, listen: 0.0.0.0:9000, mode: tcp, pool: db }",
    ) + pools)).toEqual([
      'tenbin.yaml:4:24 listeners[2].listen: address "0.0.0.0:9000" overlaps "127.0.0.1:9000" of listeners[0] (a); use another port or host',
    ]);
  });
});
