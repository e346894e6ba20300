import { describe, expect, test } from "bun:test";
import { compileStatusList } from "../../src/pool/health/status-match.ts";

describe("compileStatusList", () => {
  test("numbers, ranges and classes", () => {
    const m = compileStatusList([204, "300-302", "5xx"]);
    expect([204, 300, 301, 302, 500, 503, 599].every((s) => m(s))).toBe(true);
    expect([200, 203, 205, 299, 303, 404, 499].some((s) => m(s))).toBe(false);
    expect(m.text).toBe("204, 300-302, 5xx");
  });

  test("an empty list matches nothing, out-of-range statuses never match", () => {
    const m = compileStatusList([]);
    expect(m(200)).toBe(false);
    const all = compileStatusList(["1xx", "2xx", "3xx", "4xx", "5xx"]);
    expect(all(99)).toBe(false);
    expect(all(600)).toBe(false);
    expect(all(100)).toBe(true);
  });

  test("a malformed item is refused with the item quoted", () => {
    expect(() => compileStatusList(["2xx", "abc"])).toThrow('bad status "abc"');
  });
});
