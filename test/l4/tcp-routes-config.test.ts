/** `routes` of a `mode: tcp` listener in the config: defaults, and what the whole-config check refuses. */
import { describe, expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";
import { errorLines, yaml } from "../config/helpers.ts";

const pools = yaml(
  "pools:",
  "  a: { servers: [{ url: tcp://127.0.0.1:8443 }] }",
  "  b: { servers: [{ url: tcp://127.0.0.1:9443 }] }",
);

describe("tcp routes", () => {
  test("load with the hello limits' defaults, without a listener pool", () => {
    const config = loadConfigText(yaml(
      "listeners:",
      "  - name: edge",
      "    listen: 127.0.0.1:443",
      "    mode: tcp",
      "    routes:",
      "      - { match: { sni: [a.example.com, '*.a.example.com'], alpn: h2, source: 10.0.0.0/8 }, pool: a }",
      "      - { pool: b }",
    ) + pools, "tenbin.yaml", {});
    const edge = config.listeners[0]!;
    expect(edge).toMatchObject({ mode: "tcp", sni_timeout: 5_000, max_hello: 16 * 1024 });
    expect(edge.mode === "tcp" && edge.routes?.[0]?.match).toEqual({ sni: ["a.example.com", "*.a.example.com"], alpn: "h2", source: "10.0.0.0/8" });
  });

  test("a listener with neither pool nor routes, unknown pools, bad names and addresses, sni on a tls listener", () => {
    expect(errorLines(yaml(
      "listeners:",
      "  - { name: none, listen: 127.0.0.1:1, mode: tcp }",
      "  - name: edge",
      "    listen: 127.0.0.1:2",
      "    mode: tcp",
      "    pool: a",
      "    routes:",
      "      - { match: { sni: [ok.test, 'bad name'] }, pool: c }",
      "      - { match: { source: 10.0.0.300/8 }, pool: a }",
      "      - { pool: b }",
      "  - name: term",
      "    listen: 127.0.0.1:3",
      "    mode: tcp",
      "    tls: { certificates: [{ cert: /nonexistent.crt, key: /nonexistent.key }] }",
      "    routes: [{ match: { sni: a.test }, pool: a }]",
    ) + pools).filter((l) => !l.includes("nonexistent"))).toEqual([
      'tenbin.yaml:2:5 listeners[0].pool: a tcp listener needs a pool, or routes (for TLS passthrough by SNI)',
      'tenbin.yaml:8:35 listeners[1].routes[0].match.sni[1]: bad server name "bad name"; expected a host name such as api.example.com or *.example.com',
      'tenbin.yaml:8:56 listeners[1].routes[0].pool: unknown pool "c"; expected one of the pools a, b',
      'tenbin.yaml:9:28 listeners[1].routes[1].match.source: bad address "10.0.0.300/8"; expected an IP address or CIDR such as 10.0.0.0/8 or ::1/128',
      'tenbin.yaml:10:9 listeners[1].routes[2]: route 2 takes every connection, and so does pool "a"; remove one of them',
      'tenbin.yaml:15:23 listeners[2].routes[0].match: sni and alpn routes pass TLS through unopened, but this listener terminates TLS (tls is set); remove tls, or route by source only',
    ]);
  });
});
