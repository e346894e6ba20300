// Dot segments in a request target (tenbin's own server resolves them before routing, as Bun.serve
// does): the result is the URL standard's path for every origin-form target here, and only the
// path changes.
import { expect, test } from "bun:test";
import { withoutDotSegments } from "../../src/http1/request-head.ts";

const ORIGIN_FORM = [
  "/a/../raw/b%2Fc?x=1&x=2&y=%20", "/a/./b", "/a/b/..", "/a/b/.", "/a/b/../", "/..", "/../..", "/a/b/../../..",
  "/a/%2e%2E/b", "/a/.%2e/b", "/a/%2E./b", "/a/%2e/b", "/a/..b/c", "/a.../b", "/a/...", "/.hidden/x", "/", "/a/b?q=/../x", "/a/b#/../x",
];

test("origin-form targets resolve as the URL standard resolves them", () => {
  for (const target of ORIGIN_FORM) {
    const url = new URL(target, "http://h");
    expect([target, withoutDotSegments(target)]).toEqual([target, url.pathname + url.search + url.hash]);
  }
});

test("a leading //, absolute form and * keep everything but the dot segments", () => {
  expect(withoutDotSegments("//double/x?")).toBe("//double/x?");
  expect(withoutDotSegments("//a/../b")).toBe("//b");
  expect(withoutDotSegments("http://h:1/a/../b?c")).toBe("http://h:1/b?c");
  expect(withoutDotSegments("http://h:1")).toBe("http://h:1");
  expect(withoutDotSegments("*")).toBe("*");
});
