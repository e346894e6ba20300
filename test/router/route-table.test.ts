import { describe, expect, test } from "bun:test";
import { type RouteConfig, routeSchema } from "../../src/config/schema.ts";
import { compileRoutes, type RequestFacts } from "../../src/router/route-table.ts";
import { seededRandom } from "../../src/util/clock.ts";

/** Routes written the way the YAML file would give them, passed through the real schema. */
function table(...routes: unknown[]) {
  return compileRoutes(routes.map((route) => routeSchema.parse(route)));
}

function req(init: Partial<Omit<RequestFacts, "headers">> & { headers?: Record<string, string> } = {}): RequestFacts {
  return {
    method: init.method ?? "GET",
    host: init.host === undefined ? "example.com" : init.host,
    path: init.path ?? "/",
    query: init.query ?? "",
    headers: new Headers(init.headers ?? {}),
  };
}

/** The pool of the matching route, or "404". */
function poolOf(routes: ReturnType<typeof table>, facts: RequestFacts): string {
  return routes.match(facts)?.pool ?? "404";
}

describe("host", () => {
  const routes = table(
    { match: { host: "api.example.com" }, pool: "api" },
    { match: { host: "*.example.com" }, pool: "wild" },
    { match: { host: ["one.test", "Two.Test"] }, pool: "many" },
    { match: { host: "::1" }, pool: "v6" },
    { match: { host: "[fe80::1]" }, pool: "v6b" },
    { match: { host: "127.0.0.1" }, pool: "v4" },
  );

  test("exact host", () => {
    expect(poolOf(routes, req({ host: "api.example.com" }))).toBe("api");
    expect(poolOf(routes, req({ host: "api.example.org" }))).toBe("404");
  });

  test("case-insensitive on both sides, port and trailing dot ignored", () => {
    expect(poolOf(routes, req({ host: "API.Example.COM" }))).toBe("api");
    expect(poolOf(routes, req({ host: "api.example.com:8443" }))).toBe("api");
    expect(poolOf(routes, req({ host: "api.example.com." }))).toBe("api");
    expect(poolOf(routes, req({ host: "two.test" }))).toBe("many");
    expect(poolOf(routes, req({ host: "ONE.test:80" }))).toBe("many");
    expect(poolOf(routes, req({ host: "127.0.0.1:8080" }))).toBe("v4");
  });

  test("IPv6 literals, bracketed or not in the config", () => {
    expect(poolOf(routes, req({ host: "[::1]:8080" }))).toBe("v6");
    expect(poolOf(routes, req({ host: "[::1]" }))).toBe("v6");
    expect(poolOf(routes, req({ host: "[FE80::1]:443" }))).toBe("v6b");
    expect(poolOf(routes, req({ host: "[::2]:8080" }))).toBe("404");
  });

  test("wildcard takes any deeper subdomain but not the apex nor a look-alike", () => {
    expect(poolOf(routes, req({ host: "www.example.com" }))).toBe("wild");
    expect(poolOf(routes, req({ host: "a.b.c.Example.com:80" }))).toBe("wild");
    expect(poolOf(routes, req({ host: "example.com" }))).toBe("404");
    expect(poolOf(routes, req({ host: "badexample.com" }))).toBe("404");
    expect(poolOf(routes, req({ host: ".example.com" }))).toBe("404");
  });

  test("missing or empty Host only reaches host-less routes", () => {
    expect(poolOf(routes, req({ host: null }))).toBe("404");
    expect(poolOf(routes, req({ host: "" }))).toBe("404");
    const withDefault = table({ match: { host: "a.test" }, pool: "a" }, { pool: "fallback" });
    expect(poolOf(withDefault, req({ host: null }))).toBe("fallback");
    expect(poolOf(withDefault, req({ host: ":8080" }))).toBe("fallback");
  });

  test("`*` takes every host", () => {
    const any = table({ match: { host: ["a.test", "*"], path: "/x" }, pool: "any" });
    expect(poolOf(any, req({ host: "zzz.test", path: "/x" }))).toBe("any");
    expect(poolOf(any, req({ host: null, path: "/x" }))).toBe("any");
  });

  test("nested wildcards keep file order", () => {
    const broadFirst = table({ match: { host: "*.example.com" }, pool: "broad" }, { match: { host: "*.b.example.com" }, pool: "narrow" });
    expect(poolOf(broadFirst, req({ host: "x.b.example.com" }))).toBe("broad");
    const narrowFirst = table(
      { match: { host: "*.b.example.com", path: "/n" }, pool: "narrow" },
      { match: { host: "*.example.com" }, pool: "broad" },
    );
    expect(poolOf(narrowFirst, req({ host: "x.b.example.com", path: "/n" }))).toBe("narrow");
    expect(poolOf(narrowFirst, req({ host: "x.b.example.com", path: "/other" }))).toBe("broad");
    expect(poolOf(narrowFirst, req({ host: "b.example.com", path: "/n" }))).toBe("broad");
  });

  test("a wildcard before an exact host wins for that host", () => {
    const routes2 = table({ match: { host: "*.example.com" }, pool: "wild" }, { match: { host: "api.example.com" }, pool: "api" });
    expect(poolOf(routes2, req({ host: "api.example.com" }))).toBe("wild");
  });

  test("unusable hosts are rejected naming the route", () => {
    expect(() => table({ name: "bad", match: { host: "a.*.com" }, pool: "p" })).toThrow('route "bad" (routes[0]): bad host "a.*.com"');
    expect(() => table({ match: { host: "*." }, pool: "p" })).toThrow('route "route0"');
    expect(() => table({ match: { host: "" }, pool: "p" })).toThrow("empty host");
    expect(() => table({ match: { host: "a b" }, pool: "p" })).toThrow('bad host "a b"');
  });
});

describe("path", () => {
  const routes = table(
    { match: { path: { exact: "/health" } }, pool: "exact" },
    { match: { path: { regex: "^/v[0-9]+/users$" } }, pool: "anchored" },
    { match: { path: { regex: "\\.png" } }, pool: "loose" },
    { match: { path: "/api/" }, pool: "prefix" },
    { match: { path: { prefix: "/st" } }, pool: "prefix2" },
  );

  test("exact", () => {
    expect(poolOf(routes, req({ path: "/health" }))).toBe("exact");
    expect(poolOf(routes, req({ path: "/health/" }))).toBe("404");
  });

  test("prefix is a plain string prefix", () => {
    expect(poolOf(routes, req({ path: "/api/" }))).toBe("prefix");
    expect(poolOf(routes, req({ path: "/api/x/y" }))).toBe("prefix");
    expect(poolOf(routes, req({ path: "/api" }))).toBe("404");
    expect(poolOf(routes, req({ path: "/static" }))).toBe("prefix2");
  });

  test("regex is anchored only as written and sees the path alone", () => {
    expect(poolOf(routes, req({ path: "/v2/users" }))).toBe("anchored");
    expect(poolOf(routes, req({ path: "/x/v2/users" }))).toBe("404");
    expect(poolOf(routes, req({ path: "/img/a.png/x" }))).toBe("loose");
    expect(poolOf(routes, req({ path: "/img", query: "f=a.png" }))).toBe("404");
  });

  test("the path is compared raw, not decoded", () => {
    expect(poolOf(routes, req({ path: "/%61pi/x" }))).toBe("404");
    const encoded = table({ match: { path: "/caf%C3%A9" }, pool: "cafe" });
    expect(poolOf(encoded, req({ path: "/caf%C3%A9/menu" }))).toBe("cafe");
  });

  test("a bad regex is rejected naming the route", () => {
    expect(() => table({ pool: "a" }, { name: "broken", match: { path: { regex: "(" } }, pool: "p" })).toThrow(
      'route "broken" (routes[1]): bad regex "("',
    );
  });
});

describe("method", () => {
  test("one or many, case-insensitive", () => {
    const routes = table({ match: { method: "post" }, pool: "write" }, { match: { method: ["GET", "head"] }, pool: "read" });
    expect(poolOf(routes, req({ method: "POST" }))).toBe("write");
    expect(poolOf(routes, req({ method: "post" }))).toBe("write");
    expect(poolOf(routes, req({ method: "HEAD" }))).toBe("read");
    expect(poolOf(routes, req({ method: "get" }))).toBe("read");
    expect(poolOf(routes, req({ method: "DELETE" }))).toBe("404");
  });
});

describe("headers", () => {
  const routes = table(
    { match: { headers: { "X-Env": "canary" } }, pool: "exact" },
    { match: { headers: { "x-env": { exact: "beta" } } }, pool: "exact2" },
    { match: { headers: { "User-Agent": { regex: "^curl/" } } }, pool: "regex" },
    { match: { headers: { Authorization: { present: false } }, path: "/public" }, pool: "absent" },
    { match: { headers: { authorization: { present: true } } }, pool: "present" },
  );

  test("exact, both spellings, header names case-insensitive", () => {
    expect(poolOf(routes, req({ headers: { "x-env": "canary" } }))).toBe("exact");
    expect(poolOf(routes, req({ headers: { "X-ENV": "beta" } }))).toBe("exact2");
    expect(poolOf(routes, req({ headers: { "x-env": "Canary" } }))).toBe("404");
  });

  test("regex", () => {
    expect(poolOf(routes, req({ headers: { "user-agent": "curl/8.5" } }))).toBe("regex");
    expect(poolOf(routes, req({ headers: { "user-agent": "Mozilla curl/8.5" } }))).toBe("404");
  });

  test("present and absent", () => {
    expect(poolOf(routes, req({ path: "/public" }))).toBe("absent");
    expect(poolOf(routes, req({ path: "/public", headers: { authorization: "Bearer x" } }))).toBe("present");
    expect(poolOf(routes, req({ path: "/other", headers: { authorization: "" } }))).toBe("present");
    expect(poolOf(routes, req({ path: "/other" }))).toBe("404");
  });

  test("all conditions must hold", () => {
    const both = table({ match: { headers: { a: "1", b: "2" } }, pool: "both" });
    expect(poolOf(both, req({ headers: { a: "1", b: "2" } }))).toBe("both");
    expect(poolOf(both, req({ headers: { a: "1" } }))).toBe("404");
  });
});

describe("query", () => {
  const routes = table(
    { match: { query: { v: "2" } }, pool: "exact" },
    { match: { query: { q: "a b" } }, pool: "decoded" },
    { match: { query: { id: { regex: "^[0-9]+$" } } }, pool: "regex" },
    { match: { query: { debug: { present: true } } }, pool: "present" },
    { match: { query: { token: { present: false } }, path: "/open" }, pool: "absent" },
  );

  test("exact on the first value, decoded", () => {
    expect(poolOf(routes, req({ query: "v=2" }))).toBe("exact");
    expect(poolOf(routes, req({ query: "x=1&v=2&v=3" }))).toBe("exact");
    expect(poolOf(routes, req({ query: "v=3&v=2" }))).toBe("404");
    expect(poolOf(routes, req({ query: "q=a%20b" }))).toBe("decoded");
    expect(poolOf(routes, req({ query: "q=a+b" }))).toBe("decoded");
  });

  test("regex, present, absent, empty query", () => {
    expect(poolOf(routes, req({ query: "id=42" }))).toBe("regex");
    expect(poolOf(routes, req({ query: "id=4x2" }))).toBe("404");
    expect(poolOf(routes, req({ query: "debug" }))).toBe("present");
    expect(poolOf(routes, req({ query: "debug=&x=1" }))).toBe("present");
    expect(poolOf(routes, req({ path: "/open", query: "" }))).toBe("absent");
    expect(poolOf(routes, req({ path: "/open", query: "token=t" }))).toBe("404");
  });

  test("one request's query never leaks into the next", () => {
    expect(poolOf(routes, req({ query: "v=2" }))).toBe("exact");
    expect(poolOf(routes, req({ query: "" }))).toBe("404");
    expect(poolOf(routes, req({ query: "debug=1" }))).toBe("present");
  });
});

describe("cookie", () => {
  const routes = table(
    { match: { cookie: { beta: "yes" } }, pool: "exact" },
    { match: { cookie: { session: { regex: "^s-[0-9]+$" } } }, pool: "regex" },
    { match: { cookie: { admin: { present: true } } }, pool: "present" },
    { match: { cookie: { tracking: { present: false } }, path: "/x" }, pool: "absent" },
  );

  test("exact among several cookies, quoted values unwrapped, first of a name wins", () => {
    expect(poolOf(routes, req({ headers: { cookie: "a=1; beta=yes; c=3" } }))).toBe("exact");
    expect(poolOf(routes, req({ headers: { cookie: 'beta="yes"' } }))).toBe("exact");
    expect(poolOf(routes, req({ headers: { cookie: "beta=no; beta=yes" } }))).toBe("404");
    expect(poolOf(routes, req({ headers: { cookie: "xbeta=yes" } }))).toBe("404");
  });

  test("regex, present, absent, no Cookie header", () => {
    expect(poolOf(routes, req({ headers: { cookie: "session=s-12" } }))).toBe("regex");
    expect(poolOf(routes, req({ headers: { cookie: "session=s-12x" } }))).toBe("404");
    expect(poolOf(routes, req({ headers: { cookie: "admin=" } }))).toBe("present");
    expect(poolOf(routes, req({ path: "/x" }))).toBe("absent");
    expect(poolOf(routes, req({ path: "/x", headers: { cookie: "tracking=1" } }))).toBe("404");
  });

  test("one request's cookies never leak into the next", () => {
    expect(poolOf(routes, req({ headers: { cookie: "admin=1" } }))).toBe("present");
    expect(poolOf(routes, req())).toBe("404");
  });
});

describe("order and defaults", () => {
  test("a host-less route before a host route wins when it matches", () => {
    const routes = table({ match: { path: "/static/" }, pool: "static" }, { match: { host: "api.test" }, pool: "api" });
    expect(poolOf(routes, req({ host: "api.test", path: "/static/a.css" }))).toBe("static");
    expect(poolOf(routes, req({ host: "api.test", path: "/v1" }))).toBe("api");
  });

  test("a host route before a host-less route wins for its host", () => {
    const routes = table({ match: { host: "*.test" }, pool: "wild" }, { match: { path: "/" }, pool: "any" });
    expect(poolOf(routes, req({ host: "x.test" }))).toBe("wild");
    expect(poolOf(routes, req({ host: "x.org" }))).toBe("any");
  });

  test("a route without match (or with an empty one) takes everything, in its place", () => {
    const routes = table({ match: { path: "/a" }, pool: "a" }, { pool: "default" }, { match: { path: "/b" }, pool: "shadowed" });
    expect(poolOf(routes, req({ path: "/a" }))).toBe("a");
    expect(poolOf(routes, req({ path: "/b", host: null, method: "PURGE" }))).toBe("default");
    expect(poolOf(table({ match: {}, pool: "empty" }), req({ host: "x.y" }))).toBe("empty");
  });

  test("no match is undefined", () => {
    expect(table({ match: { path: "/a" }, pool: "a" }).match(req({ path: "/b" }))).toBeUndefined();
  });

  test("names default to the position and the same route object comes back", () => {
    const routes = table({ match: { path: "/a" }, pool: "a" }, { name: "web", pool: "w" });
    expect(routes.routes).toEqual([
      { index: 0, name: "route0", pool: "a" },
      { index: 1, name: "web", pool: "w" },
    ]);
    expect(routes.match(req({ path: "/a" }))).toBe(routes.routes[0]!);
    expect(routes.match(req({ path: "/z" }))).toBe(routes.routes[1]!);
  });
});

// Rebuilt here as a plain loop over the routes, straight from the config, to check the buckets.
function referenceMatch(routes: readonly RouteConfig[], facts: RequestFacts): number {
  const host = (facts.host ?? "").toLowerCase().replace(/:\d+$/, "");
  return routes.findIndex((route) => {
    const m = route.match;
    if (m?.host !== undefined) {
      const hosts = Array.isArray(m.host) ? m.host : [m.host];
      const hit = hosts.some((h) => (h.startsWith("*.") ? host.endsWith(h.slice(1)) && host.length > h.length - 1 : host === h));
      if (!hit) return false;
    }
    if (m?.method !== undefined && ![m.method].flat().includes(facts.method)) return false;
    if (typeof m?.path === "string" && !facts.path.startsWith(m.path)) return false;
    if (m?.headers !== undefined) {
      for (const [name, value] of Object.entries(m.headers)) if (facts.headers.get(name) !== value) return false;
    }
    return true;
  });
}

describe("many routes", () => {
  test("1,000 generated routes agree with a plain loop", () => {
    const random = seededRandom(7);
    const next = (n: number) => Math.floor(random() * n);
    const configs: unknown[] = [];
    for (let i = 0; i < 1000; i++) {
      // Every route has a path among 40, so the first match lands anywhere in the list, not on
      // an early catch-all.
      const match: Record<string, unknown> = { path: `/p${next(40)}/` };
      const hostKind = next(4);
      if (hostKind === 1) match["host"] = `h${next(200)}.example.com`;
      if (hostKind === 2) match["host"] = [`*.d${next(20)}.example.com`, `h${next(200)}.example.com`];
      if (hostKind === 3) match["host"] = "*.example.com";
      if (next(4) === 0) match["method"] = next(2) === 0 ? "POST" : ["GET", "PUT"];
      if (next(8) === 0) match["headers"] = { "x-tag": `t${next(3)}` };
      configs.push({ match, pool: `pool${i}` });
    }
    const routes = configs.map((c) => routeSchema.parse(c));
    const compiled = compileRoutes(routes);
    const hosts = () => [`h${next(220)}.example.com`, `x.d${next(25)}.example.com`, "example.com", "other.org", "y.h3.example.com"][next(5)]!;
    const kinds = new Set<string>();
    let matched = 0;
    for (let i = 0; i < 5000; i++) {
      const headers: Record<string, string> = next(2) === 0 ? { "x-tag": `t${next(3)}` } : {};
      const facts = req({ host: hosts(), path: `/p${next(44)}/x`, method: ["GET", "POST", "PUT", "DELETE"][next(4)]!, headers });
      const expected = referenceMatch(routes, facts);
      expect(compiled.match(facts)?.index ?? -1).toBe(expected);
      if (expected < 0) continue;
      matched++;
      const host = routes[expected]!.match?.host;
      kinds.add(host === undefined ? "none" : Array.isArray(host) ? "list" : host.startsWith("*") ? "wildcard" : "exact");
    }
    // Both outcomes and every kind of host route must win somewhere, or the comparison proves little.
    expect(matched).toBeGreaterThan(1000);
    expect(matched).toBeLessThan(5000);
    expect([...kinds].sort()).toEqual(["exact", "list", "none", "wildcard"]);
  });
});
