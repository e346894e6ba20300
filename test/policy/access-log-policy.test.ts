/** The access log names the policy that answered instead of the pool, in both formats. */
import { expect, test } from "bun:test";
import { type AccessEntry, formatAccessEntry } from "../../src/observe/access-log.ts";

const entry: AccessEntry = {
  time: Date.UTC(2026, 0, 2, 3, 4, 5), client: "192.0.2.1", method: "GET", host: "example.com", path: "/login", status: 429,
  bytes: 18, durationMs: 0.1, listener: "web", route: "login", pool: "app", server: "", requestId: "r1", retries: 0, referer: "", userAgent: "",
};

test("json: a policy field only when a policy answered", () => {
  expect(JSON.parse(formatAccessEntry("json", { ...entry, policy: "login-limit" })).policy).toBe("login-limit");
  expect(JSON.parse(formatAccessEntry("json", entry)).policy).toBeUndefined();
});

test("combined: policy=\"...\" appended", () => {
  expect(formatAccessEntry("combined", { ...entry, policy: "login-limit" })).toEndWith(' retries=0 policy="login-limit"\n');
  expect(formatAccessEntry("combined", entry)).toEndWith(" retries=0\n");
});
