import { describe, expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";
import { errorLines, yaml } from "./helpers.ts";

// Two listeners, two pools; each test swaps in the lines it needs.
const pools = yaml(
  "pools:",                                        // 5
  "  api:",                                        // 6
  "    servers: [{ url: http://127.0.0.1:9001 }]", // 7
  "  web:",                                        // 8
  "    servers: [{ url: http://127.0.0.1:9002 }]", // 9
);

describe("checkSemantics through loadConfigText", () => {
  test("a route naming a pool that does not exist lists the pools there are", () => {
    const text = yaml(
      "listeners:",
      "  - name: web",
      "    listen: 127.0.0.1:8080",
      "    routes: [{ match: { path: /api/ }, pool: apii }, { pool: web }]",
    ) + pools;
    expect(errorLines(text)).toEqual([
      'tenbin.yaml:4:46 listeners[0].routes[0].pool: unknown pool "apii"; expected one of the pools api, web',
    ]);
  });

  test("two listeners on one address, and a wildcard overlapping a host of the same port", () => {
    const text = yaml(
      "listeners:",
      "  - { name: a, listen: 127.0.0.1:8080, routes: [{ pool: api }] }",
      "  - { name: b, listen: '127.0.0.1:8080', routes: [{ pool: api }] }",
      "  - { name: c, listen: :8080, routes: [{ pool: api }] }",
      "  - { name: d, listen: 127.0.0.1:8081, routes: [{ pool: api }] }",
    ) + pools;
    expect(errorLines(text)).toEqual([
      'tenbin.yaml:3:24 listeners[1].listen: address "127.0.0.1:8080" overlaps "127.0.0.1:8080" of listeners[0] (a); use another port or host',
      'tenbin.yaml:4:24 listeners[2].listen: address "0.0.0.0:8080" overlaps "127.0.0.1:8080" of listeners[0] (a); use another port or host',
    ]);
  });

  test("port 0 never clashes: each listener gets its own free port", () => {
    const text = yaml(
      "listeners:",
      "  - { name: a, listen: 127.0.0.1:0, routes: [{ pool: api }] }",
      "  - { name: b, listen: 127.0.0.1:0, routes: [{ pool: api }] }",
      "  - { name: c, listen: '[::1]:0', routes: [{ pool: web }] }",
    ) + pools;
    expect(loadConfigText(text, "t.yaml", {}).listeners.map((l) => l.listen.port)).toEqual([0, 0, 0]);
  });

  test("duplicate listener, route and server names", () => {
    const text = yaml(
      "listeners:",
      "  - { name: a, listen: :8080, routes: [{ name: r, pool: api, match: { path: /a } }, { name: r, pool: web }] }",
      "  - { name: a, listen: :8081, routes: [{ pool: api }] }",
      "  - { name: b, listen: :8082, routes: [{ pool: api }] }",
      "pools:",
      "  api:",
      "    servers:",
      "      - { name: one, url: http://10.0.0.1:80 }",
      "      - { name: one, url: http://10.0.0.2:80 }",
      "      - { url: 'http://10.0.0.1' }",
      "      - { url: http://10.0.0.3:80 }",
      "      - { url: https://10.0.0.3:80 }",
      "  web:",
      "    servers: [{ url: http://127.0.0.1:9002 }]",
    );
    expect(errorLines(text)).toEqual([
      'tenbin.yaml:2:93 listeners[0].routes[1].name: route name "r" is already used by routes[0]; give each route its own name',
      'tenbin.yaml:3:13 listeners[1].name: listener name "a" is already used by listeners[0]; give each listener its own name',
      'tenbin.yaml:9:17 pools.api.servers[1].name: server name "one" is already used by servers[0]; give each server its own name',
      'tenbin.yaml:10:16 pools.api.servers[2].url: server url "http://10.0.0.1" is already used by servers[0]; list each server once',
      'tenbin.yaml:12:16 pools.api.servers[4].url: server name "10.0.0.3:80" is already used by servers[3] (the default name is host:port; give one a name)',
    ]);
  });

  test("invalid regular expressions in matches and probes", () => {
    const text = yaml(
      "listeners:",
      "  - name: a",
      "    listen: :8080",
      "    routes:",
      "      - match:",
      "          path: { regex: '^/(a' }",
      "          headers: { x-a: { regex: '[z-a]' }, x-b: { regex: ok } }",
      "          query: { q: { regex: '*' } }",
      "          cookie: { c: { regex: 'a{2' } }",
      "        pool: api",
      "pools:",
      "  api:",
      "    health: { http: { expect_body: { regex: '(?<n>a)(?<n>b)' } } }",
      "    servers: [{ url: http://127.0.0.1:9001 }]",
    );
    const lines = errorLines(text);
    expect(lines.map((line) => line.split(": bad regex")[0])).toEqual([
      "tenbin.yaml:6:26 listeners[0].routes[0].match.path.regex",
      "tenbin.yaml:7:36 listeners[0].routes[0].match.headers.x-a.regex",
      "tenbin.yaml:8:32 listeners[0].routes[0].match.query.q.regex",
      "tenbin.yaml:13:45 pools.api.health.http.expect_body.regex",
    ]);
    expect(lines[0]).toStartWith('tenbin.yaml:6:26 listeners[0].routes[0].match.path.regex: bad regex "^/(a": ');
    expect(lines[0]).toEndWith("; expected a JavaScript regular expression");
  });

  test("servers of a pool behind an http listener must be http:// or https://", () => {
    const text = yaml(
      "listeners:",
      "  - { name: a, listen: :8080, routes: [{ pool: api }] }",
      "pools:",
      "  api:",
      "    servers: [{ url: 'tcp://10.0.0.1:3306' }, { url: 'http//oops' }]",
      "  spare:",
      "    servers: [{ url: 'udp://10.0.0.1:53' }, { url: 'ftp://10.0.0.1' }]",
    );
    expect(errorLines(text)).toEqual([
      'tenbin.yaml:5:22 pools.api.servers[0].url: server url "tcp://10.0.0.1:3306" is not http:// or https://; pools of http listeners need http(s) servers (tcp:// and udp:// servers are for tcp and udp listeners)',
      'tenbin.yaml:5:54 pools.api.servers[1].url: bad url "http//oops"; expected http://host:port or https://host:port',
      'tenbin.yaml:7:52 pools.spare.servers[1].url: unsupported scheme in url "ftp://10.0.0.1"; expected http://, https://, tcp:// or udp://',
    ]);
  });

  test("a server url with a path or query is refused: tenbin would drop it", () => {
    const text = yaml(
      "listeners:",
      "  - { name: a, listen: :8080, routes: [{ pool: api }] }",
      "pools:",
      "  api:",
      "    servers: [{ url: 'http://10.0.0.1:8080/sub' }, { url: 'https://10.0.0.2?x=1' }, { url: 'http://10.0.0.3:80/' }]",
    );
    expect(errorLines(text)).toEqual([
      'tenbin.yaml:5:22 pools.api.servers[0].url: server url "http://10.0.0.1:8080/sub" has a path or query, which tenbin would not send (a request goes with its own path); write http://10.0.0.1:8080',
      'tenbin.yaml:5:59 pools.api.servers[1].url: server url "https://10.0.0.2?x=1" has a path or query, which tenbin would not send (a request goes with its own path); write https://10.0.0.2:443',
    ]);
  });

  test("an empty sticky cookie key", () => {
    const text = yaml(
      "listeners:",
      "  - { name: a, listen: :8080, routes: [{ pool: api }] }",
      "pools:",
      "  api:",
      "    sticky: { cookie: { key: '${STICKY_KEY:-}' } }",
      "    servers: [{ url: http://127.0.0.1:9001 }]",
    );
    expect(errorLines(text)).toEqual([
      "tenbin.yaml:5:30 pools.api.sticky.cookie.key: empty cookie signing key; give a long random string, or leave key out for a random key at each start",
    ]);
  });

  test("routes after a route without match are never reached", () => {
    const text = yaml(
      "listeners:",
      "  - name: a",
      "    listen: :8080",
      "    routes:",
      "      - pool: web",
      "      - match: { path: /api/ }",
      "        pool: api",
    ) + pools;
    expect(errorLines(text)).toEqual([
      "tenbin.yaml:6:9 listeners[0].routes[1]: route is never reached: routes[0] has no match and takes every request; move the default route last",
    ]);
  });

  test("host patterns, paths without a leading slash, trusted proxies and too long idle timeouts", () => {
    const text = yaml(
      "listeners:",
      "  - name: a",
      "    listen: :8080",
      "    idle_timeout: 5m",
      "    trusted_proxies: [10.0.0.0/8, abc, 10.0.0.1/33, '::1/128']",
      "    routes:",
      "      - { match: { host: [a.example.com, 'api.*.com'], path: api/ }, pool: api }",
      "      - { pool: web }",
    ) + pools;
    expect(errorLines(text)).toEqual([
      "tenbin.yaml:4:19 listeners[0].idle_timeout: idle timeout of 300s is too long; expected at most 255s",
      'tenbin.yaml:5:35 listeners[0].trusted_proxies[1]: bad address "abc"; expected an IP address or CIDR such as 10.0.0.0/8 or ::1/128',
      'tenbin.yaml:5:40 listeners[0].trusted_proxies[2]: bad address "10.0.0.1/33"; expected an IP address or CIDR such as 10.0.0.0/8 or ::1/128',
      'tenbin.yaml:7:42 listeners[0].routes[0].match.host[1]: bad host "api.*.com"; expected an exact host such as api.example.com or a wildcard such as *.example.com',
      'tenbin.yaml:7:62 listeners[0].routes[0].match.path: path "api/" does not start with "/" and would never match; write "/api/"',
    ]);
  });
});

describe("admin token warnings", () => {
  const warningsOf = (token: string) => {
    const warnings: string[] = [];
    loadConfigText(`admin: { token: "${token}" }\nlisteners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: api }] }]\npools: { api: { servers: [{ url: "http://127.0.0.1:9001" }] } }\n`, "tenbin.yaml", {}, {
      onWarning: (w) => void warnings.push(`${w.line}:${w.column} ${w.path}: ${w.message}`),
    });
    return warnings;
  };

  test("a placeholder token such as the examples' change-me is warned about, with its line", () => {
    expect(warningsOf("change-me")).toEqual([
      '1:17 admin.token: admin.token is the well-known placeholder "change-me"; set a random one (openssl rand -hex 24), e.g. through ${TENBIN_ADMIN_TOKEN}',
    ]);
  });

  test("a short token is warned about; a long random one is not", () => {
    expect(warningsOf("abc123")[0]).toContain("admin.token is 6 characters long; use at least 16");
    expect(warningsOf("9f2c4e1a7b3d5f60a8c2e4b6")).toEqual([]);
  });
});
