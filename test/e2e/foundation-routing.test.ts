/**
 * Routing end to end: host (exact, wildcard), path (prefix, exact, regex), header, method, query and
 * cookie conditions pick the pool, first match wins in file order, and two listeners in one file keep
 * their own route tables.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type HttpBackend, startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const POOLS = ["api", "wild", "admin", "exact", "regex", "canary", "writes", "beta", "chocolate", "web", "internal"];
const backends = new Map<string, HttpBackend>();
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;

beforeAll(async () => {
  for (const name of POOLS) backends.set(name, startHttpBackend(() => new Response(name)));
  const pools = POOLS.map((name) => `  ${name}: { servers: [{ url: "${backends.get(name)!.url}" }] }`).join("\n");
  t = await startTenbinInProcess(`
listeners:
  - name: public
    listen: 127.0.0.1:0
    routes:
      - { match: { host: api.example.com }, pool: api }
      - { match: { host: "*.example.org" }, pool: wild }
      - { match: { path: /admin/ }, pool: admin }
      - { match: { path: { exact: /exact } }, pool: exact }
      - { match: { path: { regex: "^/items/[0-9]+$" } }, pool: regex }
      - { match: { headers: { x-canary: "1" } }, pool: canary }
      - { match: { method: [POST, PUT] }, pool: writes }
      - { match: { query: { beta: { present: true } } }, pool: beta }
      - { match: { cookie: { flavour: { regex: "^choc" } } }, pool: chocolate }
      - { pool: web }
  - name: internal
    listen: 127.0.0.1:0
    routes:
      - { match: { path: /only/ }, pool: internal }
pools:
${pools}
`);
});

afterAll(async () => {
  await t?.stop();
  for (const b of backends.values()) await b.stop();
});

async function poolOf(path: string, init: RequestInit = {}, listener = "public"): Promise<string> {
  const res = await fetch(t.url(path, listener), init);
  const body = await res.text();
  return res.status === 200 ? body : `${res.status}`;
}

describe("one listener picks the pool by", () => {
  test("host: exact (case-insensitive, port ignored) and wildcard", async () => {
    expect(await poolOf("/", { headers: { host: "API.example.com:8443" } })).toBe("api");
    expect(await poolOf("/admin/x", { headers: { host: "api.example.com" } })).toBe("api"); // first match wins
    expect(await poolOf("/", { headers: { host: "a.b.example.org" } })).toBe("wild");
    expect(await poolOf("/", { headers: { host: "example.org" } })).toBe("web"); // the apex is not *.example.org
  });

  test("path: prefix, exact and regex", async () => {
    expect(await poolOf("/admin/users?x=1")).toBe("admin");
    expect(await poolOf("/admin")).toBe("web"); // the prefix is /admin/
    expect(await poolOf("/exact")).toBe("exact");
    expect(await poolOf("/exact/more")).toBe("web");
    expect(await poolOf("/items/42")).toBe("regex");
    expect(await poolOf("/items/42x")).toBe("web");
  });

  test("header, method, query and cookie", async () => {
    expect(await poolOf("/", { headers: { "X-Canary": "1" } })).toBe("canary");
    expect(await poolOf("/", { headers: { "X-Canary": "0" } })).toBe("web");
    expect(await poolOf("/", { method: "POST", body: "x" })).toBe("writes");
    expect(await poolOf("/", { method: "PUT", body: "x" })).toBe("writes");
    expect(await poolOf("/", { method: "DELETE" })).toBe("web");
    expect(await poolOf("/?beta")).toBe("beta");
    expect(await poolOf("/?alpha=1&beta=")).toBe("beta");
    expect(await poolOf("/?betamax=1")).toBe("web");
    expect(await poolOf("/", { headers: { cookie: "a=1; flavour=chocolate" } })).toBe("chocolate");
    expect(await poolOf("/", { headers: { cookie: "flavour=vanilla" } })).toBe("web");
  });
});

test("a second listener in the same file has its own routes", async () => {
  expect(await poolOf("/only/here", {}, "internal")).toBe("internal");
  expect(await poolOf("/", {}, "internal")).toBe("404");
  expect(await poolOf("/only/here", {}, "public")).toBe("web");
  expect(t.port("public")).not.toBe(t.port("internal"));
});
