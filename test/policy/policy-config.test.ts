/** Policy keys in the config: defaults, and errors that name file:line:column and the fix. */
import { expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";
import { errorLines, yaml } from "../config/helpers.ts";

const HASH = "$2b$04$abcdefghijklmnopqrstuuFJ5K9e3lQ9bU0N4N7x6vT0Zr9lq5yHy";

const base = (...route: string[]) => yaml(
  "policies:",
  "  headers:",
  "    response_headers: { set: { X-Frame-Options: DENY } }",
  "listeners:",
  "  - name: web",
  "    listen: 127.0.0.1:0",
  "    routes:",
  ...route,
  "pools:",
  "  app: { servers: [{ url: http://127.0.0.1:9 }] }",
);

test("a named set and inline keys load with their defaults", () => {
  const config = loadConfigText(base(
    "      - match: { path: /a }",
    "        policies: [headers]",
    "        rate_limit: { rate: 5 }",
    "        compress: true",
    "        pool: app",
    "      - { redirect: { to: \"https://{host}{path}\" } }",
  ), "tenbin.yaml", {});
  const listener = config.listeners[0]!;
  if (listener.mode !== "http") throw new Error("expected an http listener");
  const [first, second] = listener.routes;
  expect(first!.policies).toEqual(["headers"]);
  expect(first!.rate_limit).toEqual({ rate: 5, per: 1000, key: "client_ip", max_keys: 100_000, headers: "refused" });
  expect(second!.pool).toBeUndefined();
  expect(second!.redirect).toEqual({ to: "https://{host}{path}", status: 302, keep_query: true });
  expect(config.policies!.headers!.response_headers).toEqual({ set: { "X-Frame-Options": "DENY" }, add: {}, remove: [] });
});

test("an unknown policy name points at it and lists the known ones", () => {
  expect(errorLines(base("      - { policies: [headers, nope], pool: app }"))).toEqual([
    'tenbin.yaml:8:31 listeners[0].routes[0].policies[1]: unknown policy "nope"; expected one of the policies headers',
  ]);
});

test("an unknown placeholder is named with the ones that exist", () => {
  const [line] = errorLines(base("      - { request_headers: { set: { X-A: \"{clientip}\" } }, pool: app }"));
  expect(line).toStartWith('tenbin.yaml:8:42 listeners[0].routes[0].request_headers.set.X-A: unknown placeholder "{clientip}"; expected one of {client_ip}');
});

test("a bad CIDR, a bad regex, body with body_file, and an unknown key", () => {
  expect(errorLines(base("      - { allow: [10.0.0.0/33], pool: app }"))).toEqual([
    'tenbin.yaml:8:19 listeners[0].routes[0].allow[0]: bad address "10.0.0.0/33"; expected an IP address or CIDR such as 10.0.0.0/8 or ::1/128',
  ]);
  expect(errorLines(base("      - { rewrite: { regex: \"(\", replace: x }, pool: app }"))[0]).toContain("listeners[0].routes[0].rewrite.regex: bad regex");
  expect(errorLines(base("      - { respond: { body: a, body_file: /etc/hostname } }"))[0]).toContain("respond takes body or body_file, not both");
  expect(errorLines(base("      - { strip_prefx: /api, pool: app }"))[0]).toContain('unknown key "strip_prefx"');
});

test("basic auth takes hashes only", () => {
  expect(errorLines(base("      - { basic_auth: { users: { alice: plain } }, pool: app }"))[0]).toContain("expected a bcrypt ($2b$...) or argon2 ($argon2id$...) hash; make one with `tenbin hash-password`");
  const config = loadConfigText(base(`      - { basic_auth: { users: { alice: "${HASH}" } }, pool: app }`), "tenbin.yaml", {});
  expect(config.listeners[0]!.mode).toBe("http");
});
