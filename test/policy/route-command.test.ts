/** `tenbin route` says what a route's policies would do, and sends nothing. */
import { expect, test } from "bun:test";
import { explainRoute, formatRouteAnswer } from "../../src/cli/route.ts";
import { loadConfigText } from "../../src/config/load.ts";

const config = loadConfigText(`
policies:
  secure-headers:
    response_headers: { set: { X-Frame-Options: DENY }, remove: [Server] }
  strip-api:
    strip_prefix: /api
    request_headers: { set: { X-Real-IP: "{client_ip}" } }
listeners:
  - name: web
    listen: 127.0.0.1:8080
    routes:
      - { match: { host: www.example.com }, redirect: { to: "https://example.com{path}", status: 301 } }
      - { match: { path: /robots.txt }, respond: { body: "User-agent: *" } }
      - { match: { path: /admin }, allow: [10.0.0.0/8], pool: app }
      - { match: { path: /staging }, basic_auth: { users: { ann: "$2b$10$W0bZQ6Z3oVq9xyAsqIWvUe0h7Z3sQ1bB2sV3Qq4yR5tU6vW7xY8zK" } }, pool: app }
      - { match: { path: /api/ }, policies: [secure-headers, strip-api], compress: true, pool: app }
pools:
  app: { servers: [{ url: "http://127.0.0.1:9000" }] }
`, "tenbin.yaml", {});

const explain = (url: string, clientIp?: string, headers: string[] = []) =>
  formatRouteAnswer(explainRoute(config, { method: "GET", url, headers, ...(clientIp === undefined ? {} : { clientIp }) }));

test("a redirect: its target, and no pool", () => {
  const out = explain("http://www.example.com:8080/a?b=1");
  expect(out).toContain("policy route: redirect: 301 to https://example.com/a?b=1 (the pool is not asked)");
  expect(out).not.toContain("pool:");
});

test("a direct answer: status and body", () => {
  expect(explain("http://localhost:8080/robots.txt")).toContain('respond: 200 text/plain; charset=utf-8, body "User-agent: *"');
});

test("access control says whether this client passes; a refused one gets 403 and no pool", () => {
  const refused = explainRoute(config, { method: "GET", url: "http://localhost:8080/admin", headers: [] });
  expect(refused.status).toBe(403);
  expect(refused.pool).toBeUndefined();
  expect(formatRouteAnswer(refused)).toContain("access: client 127.0.0.1 is refused (403)\nanswer: 403\n");
  const office = explain("http://localhost:8080/admin", "10.1.2.3");
  expect(office).toContain("access: client 10.1.2.3 passes");
  expect(office).toContain("pool: app");
});

test("basic auth: 401 without credentials or for an unknown user; a known user depends on the password", () => {
  expect(explainRoute(config, { method: "GET", url: "http://localhost:8080/staging", headers: [] }).status).toBe(401);
  const basic = (user: string) => [`Authorization: Basic ${btoa(`${user}:secret`)}`];
  expect(explainRoute(config, { method: "GET", url: "http://localhost:8080/staging", headers: basic("bob") }).status).toBe(401);
  const known = explainRoute(config, { method: "GET", url: "http://localhost:8080/staging", headers: basic("ann") });
  expect(known.status).toBeNull();
  expect(known.pool).toBe("app");
});

test("a redirect and a direct answer carry their status", () => {
  expect(explainRoute(config, { method: "GET", url: "http://www.example.com:8080/", headers: [] }).status).toBe(301);
  expect(explainRoute(config, { method: "GET", url: "http://localhost:8080/robots.txt", headers: [] }).status).toBe(200);
});

test("rewrites, headers set and compression, then the pool", () => {
  const out = explain("http://localhost:8080/api/users?x=1");
  expect(out).toContain("policies: secure-headers, strip-api, route");
  expect(out).toContain("policy strip-api: strip prefix /api: path /users");
  expect(out).toContain("policy strip-api: request headers: set x-real-ip: 127.0.0.1");
  expect(out).toContain("policy secure-headers: response headers: remove server; set x-frame-options: DENY");
  expect(out).toContain("path to the server: /users?x=1");
  expect(out).toContain("pool: app");
});

test("policies see the normalized path the listener forwards (/%61pi is /api)", () => {
  const out = explain("http://localhost:8080/%61pi/users?x=1");
  expect(out).toContain("path: /api/users (normalized; the server receives this)");
  expect(out).toContain("(#5)");
  expect(out).toContain("policy strip-api: strip prefix /api: path /users");
  expect(out).toContain("path to the server: /users?x=1");
});
