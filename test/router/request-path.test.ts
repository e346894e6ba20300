// The path routes match (router/request-path.ts): every spelling a server behind would read as
// /admin/ reads as /admin/ here too, `%2F` stays data, and paths with nothing to do are returned as is.
import { expect, test } from "bun:test";
import { pathsSchema } from "../../src/config/schema-paths.ts";
import { RequestPaths } from "../../src/router/request-path.ts";
import { compileRoutes } from "../../src/router/route-table.ts";

const defaults = new RequestPaths(pathsSchema.parse({}));
const route = (raw: string, paths = defaults) => {
  const normalized = paths.normalize(raw);
  return normalized === undefined ? undefined : paths.forRouting(normalized);
};

test("unreserved percent-encodings are decoded, others upper-cased, %2F kept as data", () => {
  expect(defaults.normalize("/%61dmin/x")).toBe("/admin/x");
  expect(defaults.normalize("/%41%7a%30%2d%2E%5f%7E")).toBe("/Az0-._~");
  expect(defaults.normalize("/a%2fb/%c3%a9")).toBe("/a%2Fb/%C3%A9");
  expect(defaults.normalize("/a%2Fb/../c")).toBe("/c");
  expect(defaults.normalize("/100%/%zz/%4")).toBe("/100%/%zz/%4");
  // Decoded once: %2561 is "%61" as data, not "a".
  expect(defaults.normalize("/%2561dmin")).toBe("/%2561dmin");
});

test("dot segments, encoded ones too, are resolved; a backslash is a slash", () => {
  for (const raw of ["/x/../admin/x", "/x/%2e%2e/admin/x", "/x/.%2E/admin/x", "/./admin/./x", "/../../admin/x", "/admin\\x", "/x\\..\\admin/x"]) {
    expect([raw, defaults.normalize(raw)]).toEqual([raw, "/admin/x"]);
  }
  expect(defaults.normalize("/a/b/..")).toBe("/a/");
  expect(defaults.normalize("/a/b/.")).toBe("/a/b/");
  expect(defaults.normalize("/..")).toBe("/");
  expect(defaults.normalize("/a..b/.hidden/...")).toBe("/a..b/.hidden/...");
});

test("a dot-dot behind an encoded slash is refused", () => {
  for (const raw of ["/x/..%2fadmin/x", "/x/%2e%2e%2fadmin", "/x/a%2f../admin", "/x/..%5cadmin", "/..%2F"]) {
    expect([raw, defaults.normalize(raw)]).toEqual([raw, undefined]);
  }
  expect(defaults.normalize("/x/a..%2fb")).toBe("/x/a..%2Fb");
});

test("slashes merge by default, and not when merge_slashes is off", () => {
  expect(defaults.normalize("//admin//x/")).toBe("/admin/x/");
  expect(defaults.normalize("/a//../b")).toBe("/b");
  const keep = new RequestPaths(pathsSchema.parse({ merge_slashes: false }));
  expect(keep.normalize("//admin//x/")).toBe("//admin//x/");
  expect(keep.normalize("//a/../b")).toBe("//b");
});

test("routes see segments without path parameters, the server still gets them", () => {
  expect(defaults.normalize("/admin;x=1/y")).toBe("/admin;x=1/y");
  expect(route("/admin;x=1/y")).toBe("/admin/y");
  expect(route("/public/..;/admin/x")).toBe("/admin/x");
  const keep = new RequestPaths(pathsSchema.parse({ ignore_path_parameters: false }));
  expect(route("/admin;x=1/y", keep)).toBe("/admin;x=1/y");
});

test("case_insensitive lower-cases the path routes see", () => {
  expect(route("/ADMIN/x")).toBe("/ADMIN/x");
  expect(route("/ADMIN/%2fX", new RequestPaths(pathsSchema.parse({ case_insensitive: true })))).toBe("/admin/%2fx");
});

test("a path with nothing to normalize is returned as the same string", () => {
  for (const raw of ["/", "/api/v1/users", "/a-b_c~d/e.f", "/x?y", "*"]) expect(defaults.normalize(raw)).toBe(raw);
});

test("routes' own paths are normalized the same way, so every request spelling meets them", () => {
  const table = compileRoutes([
    { match: { path: "//admin//" }, pool: "admin" },
    { match: { path: { exact: "/%7Euser" } }, pool: "user" },
    { match: { path: "/Docs/" }, pool: "docs" },
  ], new RequestPaths(pathsSchema.parse({ case_insensitive: true })));
  const paths = new RequestPaths(pathsSchema.parse({ case_insensitive: true }));
  const poolOf = (raw: string) => table.match({ method: "GET", host: null, path: paths.forRouting(paths.normalize(raw)!), query: "", headers: new Headers() as never })?.pool;
  expect(poolOf("/admin/x")).toBe("admin");
  expect(poolOf("/%61dmin/x")).toBe("admin");
  expect(poolOf("/~user")).toBe("user");
  expect(poolOf("/DOCS/a")).toBe("docs");
  expect(poolOf("/other")).toBeUndefined();
});
