/** `RouteTable.catchAll`: set only when the first route takes every request, so skipping `match` is safe. */
import { expect, test } from "bun:test";
import { routeSchema } from "../../src/config/schema.ts";
import { compileRoutes } from "../../src/router/route-table.ts";

function table(...routes: unknown[]) {
  return compileRoutes(routes.map((route) => routeSchema.parse(route)));
}

test("a first route without conditions is the catch-all", () => {
  expect(table({ pool: "web" }).catchAll?.pool).toBe("web");
  expect(table({ pool: "web" }, { match: { path: "/api/" }, pool: "api" }).catchAll?.pool).toBe("web");
  // `host: "*"` takes any host, like no host condition.
  expect(table({ match: { host: "*" }, pool: "any" }).catchAll?.pool).toBe("any");
});

test("any condition on the first route means no catch-all", () => {
  for (const match of [
    { host: "example.com" },
    { host: "*.example.com" },
    { path: "/" },
    { method: "GET" },
    { headers: { "x-a": { exact: "1" } } },
    { query: { a: { exact: "1" } } },
    { cookie: { a: { exact: "1" } } },
  ]) {
    expect(table({ match, pool: "first" }, { pool: "rest" }).catchAll).toBeUndefined();
  }
  expect(table().catchAll).toBeUndefined();
});
