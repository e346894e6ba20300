/** The l7-full-policies-1k bench config is valid and puts its three policies on the serving route only. */
import { expect, test } from "bun:test";
import { l7FullPolicyAlwaysConfigs, l7FullPolicyConfigs } from "../../bench/configs/l7-full-policies.ts";
import { loadConfigText } from "../../src/config/load.ts";

test("three policy sets on the app route, the rest as l7-full", () => {
  const text = l7FullPolicyConfigs.tenbin!({ listen: { host: "127.0.0.1", port: 0 }, backends: [{ host: "127.0.0.1", port: 9 }], workDir: "/tmp", workers: 1 });
  const config = loadConfigText(text, "bench.yaml", {});
  const listener = config.listeners[0]!;
  if (listener.mode !== "http") throw new Error("expected an http listener");
  const app = listener.routes.find((r) => r.name === "app")!;
  expect(app.policies).toEqual(["secure-headers", "loopback-only", "fair-use"]);
  expect(listener.routes.filter((r) => r.policies !== undefined)).toHaveLength(1);
  expect(Object.keys(config.policies!)).toEqual(["secure-headers", "loopback-only", "fair-use"]);
});

test("the always variant differs only in the rate limit's headers", () => {
  const ctx = { listen: { host: "127.0.0.1", port: 0 }, backends: [{ host: "127.0.0.1", port: 9 }], workDir: "/tmp", workers: 1 };
  const config = loadConfigText(l7FullPolicyAlwaysConfigs.tenbin!(ctx), "bench.yaml", {});
  expect(config.policies!["fair-use"]!.rate_limit!.headers).toBe("always");
  expect(loadConfigText(l7FullPolicyConfigs.tenbin!(ctx), "bench.yaml", {}).policies!["fair-use"]!.rate_limit!.headers).toBe("refused");
});
