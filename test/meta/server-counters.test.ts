/**
 * The house rule "only src/pool/ changes a server's counters" (tell, don't ask: the proxy and the
 * listeners report outcomes through src/pool/outcome.ts), enforced: no file under src/ outside
 * src/pool/ assigns or increments a ServerState counter (requests, failures, responses by class,
 * in-flight count, last failure reason, EWMA), observes its latency histogram or calls the methods
 * that do, or feeds passive health itself. Comments are ignored.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const SRC = join(ROOT, "src");
const POOL = join(SRC, "pool") + sep;

/** Writes of a server's counters, as they would be spelled outside the pool. */
const COUNTER_WRITE = new RegExp(
  [
    String.raw`\.(?:requests|failures|inFlight|lastReason|ewmaMs|responses[1-5]xx)\s*(?:\+\+|--|[-+*/]?=(?!=))`,
    String.raw`(?:\+\+|--)\s*[\w.]+\.(?:requests|failures|inFlight)\b`,
    String.raw`\.(?:observeLatency|countStatus)\s*\(`,
    // A server's histogram (`server.latency.observe`), not the listeners' own (`this.latency`).
    String.raw`(?<!this)\.latency\.(?:observe\s*\(|count\s*[-+]?=|sumMs\s*[-+]?=|counts\[)`,
    String.raw`passive\s*\??\.\s*(?:onStatus|onFailure|onSuccess)\s*\(`,
  ].join("|"),
);

/** Lines that match but write something else than a server, with why. */
const NOT_A_SERVER: Record<string, string> = {
  "stats.latency.count += d[5 + counts.length]!;": "a listener's RequestStats (workers/counters.ts)",
  "stats.latency.sumMs += d[6 + counts.length]!;": "a listener's RequestStats (workers/counters.ts)",
  "slot.requests = message.snapshot.requests;": "a worker slot's own request count (workers/supervisor.ts)",
};

/** Comments blanked (line numbers kept); strings left alone, they do not look like the above. */
function withoutComments(code: string): string {
  return code.replace(/\/\*[^]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(/(^|[^:"'`])\/\/[^\n]*/g, "$1");
}

function counterWrites(code: string): string[] {
  const found: string[] = [];
  withoutComments(code).split("\n").forEach((line, index) => {
    if (COUNTER_WRITE.test(line) && NOT_A_SERVER[line.trim()] === undefined) found.push(`${index + 1}: ${line.trim()}`);
  });
  return found;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

describe("server counters", () => {
  test("no file under src/ outside src/pool/ writes a server's counters", () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      if (file.startsWith(POOL)) continue;
      for (const hit of counterWrites(readFileSync(file, "utf8"))) offenders.push(`${relative(ROOT, file)}:${hit}`);
    }
    expect(offenders).toEqual([]);
  });

  test("the scanner finds each kind of write and ignores reads and comments", () => {
    for (const line of [
      "server.requests++;", "got.failures += 1;", "s.inFlight--;", "server.lastReason = reason;", "++server.requests;",
      "server.observeLatency(ms, decay);", "server.countStatus(200);", "server.latency.observe(ms);", "s.latency.count += 1;",
      "pool.passive?.onFailure(server, reason);", "pool.passive.onStatus(server, 502);", "s.responses5xx += d[5]!;",
    ]) expect([line, counterWrites(line)]).toEqual([line, [`1: ${line}`]]);
    for (const line of [
      "const n = server.requests;", "if (server.failures === 0) x();", "this.latency.observe(ms);", "// server.requests++",
      "/* server.failures++ */", "reason = got.lastReason;", "answered(pool, server, 200, ms);",
    ]) expect([line, counterWrites(line)]).toEqual([line, []]);
  });
});
