// The access step remembers its verdict per client address: asked again, and past the bound of
// remembered addresses, it answers as the lists say, never as a remembered neighbour did.
import { expect, test } from "bun:test";
import { accessStep } from "../../src/policy/access.ts";
import type { PolicyContext } from "../../src/policy/context.ts";
import { PolicyStats } from "../../src/observe/policy-metrics.ts";

test("verdicts per address stay those of the lists, asked again and past the memory's bound", () => {
  const stats = new PolicyStats();
  const step = accessStep(["10.0.0.0/8", "::1"], ["10.0.0.13", "10.1.0.0/16"], "gate", stats);
  const refused = (ip: string): boolean => step.run({ clientIp: ip, requestId: "r", answeredBy: undefined } as unknown as PolicyContext) !== undefined;
  const expected = (ip: string): boolean => !(ip.startsWith("10.") && ip !== "10.0.0.13" && !ip.startsWith("10.1.")) && ip !== "::1";
  for (let round = 0; round < 3; round++) {
    // 5,000 addresses: more than the step remembers, so its memory is cleared on the way.
    for (let i = 0; i < 5_000; i++) {
      const ip = `10.${i % 3}.${(i >> 8) & 255}.${i & 255}`;
      expect(refused(ip)).toBe(expected(ip));
    }
    for (const ip of ["10.0.0.13", "10.0.0.14", "10.1.2.3", "192.0.2.1", "::1", "::2", "not an address"]) expect(refused(ip)).toBe(expected(ip));
  }
  expect(stats.get("forbidden")).toBeGreaterThan(0);
});
