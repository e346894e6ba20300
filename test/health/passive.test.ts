import { describe, expect, test } from "bun:test";
import { poolSchema } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { PassiveOutlier } from "../../src/pool/health/passive.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { serverFor } from "../helpers/health-backends.ts";

/** A pool of `n` servers (a-1, a-2, ...) with an outlier section written as in YAML. */
function pool(n: number, outlier: Record<string, unknown>) {
  const clock = new FakeClock(10_000);
  const servers = Array.from({ length: n }, (_, i) => serverFor(`http://10.0.0.${i + 1}:80`, clock, `a-${i + 1}`));
  const config = poolSchema.parse({ servers: [{ url: "http://x:1" }], outlier }).outlier!;
  const logger = memoryLogger();
  const passive = new PassiveOutlier({ poolName: "api", servers, config, clock, logger });
  return { clock, servers, passive, logger };
}

describe("PassiveOutlier", () => {
  test("consecutive failures eject for eject_for, logged once; a success in between resets the count", () => {
    const { clock, servers, passive, logger } = pool(4, { consecutive_failures: 3, eject_for: "10s" });
    const s = servers[0]!;
    passive.onFailure(s, "connect ECONNREFUSED 10.0.0.1:80");
    passive.onFailure(s, "connect ECONNREFUSED 10.0.0.1:80");
    passive.onSuccess(s);
    passive.onFailure(s, "connect ECONNREFUSED 10.0.0.1:80");
    passive.onFailure(s, "connect ECONNREFUSED 10.0.0.1:80");
    expect(s.isUsable()).toBe(true);
    passive.onFailure(s, "timeout after 5000ms");
    expect(s.isUsable()).toBe(false);
    expect(s.status()).toBe("ejected");
    expect(s.ejectedUntil).toBe(20_000);
    // Slow start ramps from the end of the ejection.
    expect(s.upSince).toBe(20_000);
    // Late failures of requests sent before the ejection change nothing.
    passive.onFailure(s, "timeout after 5000ms");
    passive.onFailure(s, "timeout after 5000ms");
    passive.onFailure(s, "timeout after 5000ms");
    expect(s.ejectedUntil).toBe(20_000);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toContain("warn  a-1 ejected for 10s: 3 consecutive failures, last: timeout after 5000ms pool=api server=http://10.0.0.1:80");
    clock.advance(10_000);
    expect(s.isUsable()).toBe(true);
    expect(passive.stats(s)).toMatchObject({ ejections: 1, consecutiveFailures: 0 });
  });

  test("failure_statuses count as failures, other statuses as successes", () => {
    const { servers, passive } = pool(4, { consecutive_failures: 2, failure_statuses: ["5xx"] });
    const s = servers[1]!;
    passive.onStatus(s, 503);
    passive.onStatus(s, 404);
    passive.onStatus(s, 502);
    expect(s.isUsable()).toBe(true);
    passive.onStatus(s, 500);
    expect(s.isUsable()).toBe(false);
    expect(s.lastReason).toBe("ejected: 2 consecutive failures, last: status 500");
  });

  test("repeated ejections double up to max_eject_for; a long healthy spell resets the doubling", () => {
    const { clock, servers, passive, logger } = pool(2, { consecutive_failures: 1, eject_for: "10s", max_eject_for: "35s", max_ejected_percent: 50 });
    const s = servers[0]!;
    const ejectFor = (): number => {
      passive.onFailure(s, "status 502");
      const length = s.ejectedUntil - clock.now();
      clock.advance(length);
      passive.onSuccess(s);
      return length;
    };
    expect([ejectFor(), ejectFor(), ejectFor(), ejectFor()]).toEqual([10_000, 20_000, 35_000, 35_000]);
    expect(logger.lines.map((l) => /ejected for (\S+):/.exec(l)?.[1])).toEqual(["10s", "20s", "35s", "35s"]);
    // In service for as long as the last ejection (35 s), then a success: back to eject_for.
    clock.advance(34_000);
    passive.onSuccess(s);
    expect(ejectFor()).toBe(35_000);
    clock.advance(35_000);
    passive.onSuccess(s);
    expect(ejectFor()).toBe(10_000);
    expect(passive.stats(s)).toMatchObject({ ejections: 6, level: 1, lastEjectForMs: 10_000 });
  });

  test("max_ejected_percent bounds how many servers are out; the refusal is logged once per run", () => {
    const { clock, servers, passive, logger } = pool(4, { consecutive_failures: 1, max_ejected_percent: 50, eject_for: "10s" });
    const [a, b, c] = servers as [ReturnType<typeof serverFor>, ReturnType<typeof serverFor>, ReturnType<typeof serverFor>];
    passive.onFailure(a, "status 502");
    passive.onFailure(b, "status 502");
    expect([a.isUsable(), b.isUsable()]).toEqual([false, false]);
    passive.onFailure(c, "status 502");
    passive.onFailure(c, "status 502");
    passive.onFailure(c, "status 502");
    expect(c.isUsable()).toBe(true);
    const refusals = logger.lines.filter((l) => l.includes("not ejected"));
    expect(refusals).toEqual([expect.stringContaining("a-3 not ejected: 1 consecutive failure, last: status 502; max_ejected_percent 50 reached (2 of 4 servers ejected)")]);
    expect(passive.stats(c)!.refused).toBe(3);
    // Once a is back, c's next failure ejects it.
    clock.advance(10_000);
    passive.onFailure(c, "status 502");
    expect(c.isUsable()).toBe(false);
  });

  test("the last usable server is never ejected below 100 percent, and may be at 100", () => {
    const limited = pool(2, { consecutive_failures: 1, max_ejected_percent: 99 });
    limited.servers[1]!.healthy = false;
    limited.passive.onFailure(limited.servers[0]!, "status 502");
    expect(limited.servers[0]!.isUsable()).toBe(true);
    expect(limited.logger.lines[0]).toContain("no other server is in service");

    const single = pool(1, { consecutive_failures: 1, max_ejected_percent: 50 });
    single.passive.onFailure(single.servers[0]!, "status 502");
    expect(single.servers[0]!.isUsable()).toBe(true);

    const unbounded = pool(1, { consecutive_failures: 1, max_ejected_percent: 100 });
    unbounded.passive.onFailure(unbounded.servers[0]!, "status 502");
    expect(unbounded.servers[0]!.isUsable()).toBe(false);
  });
});
