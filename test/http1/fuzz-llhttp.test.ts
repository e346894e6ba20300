// Differential fuzzing of the request codec against Node's llhttp, a fixed seed (see
// test/http1/fuzz-requests.ts for the generator, the comparison and the justified differences;
// bench/fuzz-h1.ts runs long campaigns with --seed and --count).
import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { runAnswerCampaign } from "./fuzz-answers.ts";
import { compare, type FuzzCase, generateCases, JUSTIFIED, LlhttpOracle, runCampaign, tenbinSide } from "./fuzz-requests.ts";

const hasNode = spawnSync("node", ["--version"]).status === 0;

describe("request codec against llhttp", () => {
  test.skipIf(!hasNode)("5,000 mutated requests (seed 16): wherever both accept they agree; what only tenbin accepts is a justified class", async () => {
    const report = await runCampaign(16, 5000);
    expect(report.mismatches).toEqual([]);
    expect(report.cases).toBe(5000);
    // The generator reaches every justified class, and most cases parse alike.
    for (const { name } of JUSTIFIED) expect([name, report.justified[name] ?? 0]).not.toEqual([name, 0]);
    expect(report.agree).toBeGreaterThan(4000);
  }, 60_000);

  test.skipIf(!hasNode)("3,000 mutated answers of a server (seed 16): the same rule for the answer side", async () => {
    const report = await runAnswerCampaign(16, 3000);
    expect(report.mismatches).toEqual([]);
    expect(report.cases).toBe(3000);
    expect(report.agree).toBeGreaterThan(2400);
  }, 60_000);

  test.skipIf(!hasNode)("the comparison fails when tenbin ends a message elsewhere or reads another body", async () => {
    const oracle = new LlhttpOracle();
    try {
      const bytes = Buffer.from("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhelloGET /sentinel HTTP/1.1\r\nHost: s\r\n\r\n", "latin1");
      const fuzz: FuzzCase = { id: 1, bytes, splits: [], mutations: [] };
      const llhttp = await oracle.read(fuzz);
      const tenbin = tenbinSide(fuzz);
      expect(compare(fuzz, tenbin, llhttp)).toEqual({ kind: "agree" });
      const otherBody = { ...tenbin, messages: tenbin.messages.map((m, i) => (i === 0 ? { ...m, body: "hell" } : m)) };
      expect(compare(fuzz, otherBody, llhttp).kind).toBe("mismatch");
      const waiting = { ...tenbin, messages: tenbin.messages.slice(0, 1), status: "incomplete" as const };
      expect(compare(fuzz, waiting, llhttp).kind).toBe("mismatch");
      const keptOpen = { ...tenbin, messages: tenbin.messages.map((m) => ({ ...m })) };
      const closes = { ...llhttp, messages: llhttp.messages.map((m) => ({ ...m, keepAlive: false })) };
      expect(compare(fuzz, keptOpen, closes).kind).toBe("mismatch");
    } finally {
      oracle.close();
    }
  });

  test("the generator replays a seed exactly", () => {
    const first = [...generateCases(7, 50)].map((c) => c.bytes.toString("latin1") + c.splits.join());
    const again = [...generateCases(7, 50)].map((c) => c.bytes.toString("latin1") + c.splits.join());
    expect(again).toEqual(first);
  });
});
