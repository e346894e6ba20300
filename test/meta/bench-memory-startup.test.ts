/**
 * bench/idle-conns.ts and bench/startup.ts measure what they claim, on a small scale: tenbin started
 * from source (`bun src/main.ts`) so the test needs no build; the real runs use dist/tenbin.
 */
import { describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { renderIdleConns, runIdleConnsBench } from "../../bench/idle-conns.ts";
import { renderStartup, runStartupBench } from "../../bench/startup.ts";

const ROOT = join(import.meta.dir, "..", "..");
const FROM_SOURCE = [join(ROOT, "node_modules", ".bin", "bun"), join(ROOT, "src", "main.ts")];

describe("idle keep-alive clients", () => {
  test("every client got its proxied answer and is still held open by tenbin when RSS is read", async () => {
    const r = await runIdleConnsBench({ root: ROOT, command: FROM_SOURCE, connections: 300, settleMs: 100, afterMs: 0 });
    expect(r.connections).toBe(300);
    expect(r.open).toBe(300);
    // One descriptor per client at least (plus listeners, upstream sockets, the event loop).
    expect(r.fds).toBeGreaterThanOrEqual(300);
    expect(r.baselineMb).toBeGreaterThan(10);
    expect(r.idleMb).toBeGreaterThan(10);
    expect(r.peakMb).toBeGreaterThanOrEqual(r.idleMb);
    expect(renderIdleConns(r)).toContain("| 300 | 300 |");
  }, 60_000);
});

describe("start-up", () => {
  test("times each start from spawn to the first proxied 200", async () => {
    const r = await runStartupBench({ root: ROOT, command: FROM_SOURCE, runs: 2 });
    expect(r.runs).toHaveLength(2);
    for (const ms of r.runs) {
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThan(10_000);
    }
    expect(r.medianMs).toBe(r.runs[1]!);
    // tenbin's CPU time by its first answer: more than nothing, at most its wall time on every core.
    expect(r.cpuRuns).toHaveLength(2);
    for (const [i, cpu] of r.cpuRuns.entries()) {
      expect(cpu).toBeGreaterThan(0);
      expect(cpu).toBeLessThanOrEqual(availableParallelism() * r.runs[i]! + 50);
    }
    expect(renderStartup(r)).toContain("| 2 |");
  }, 60_000);
});
