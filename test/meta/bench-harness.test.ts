/**
 * The macro benchmark's moving parts that can break silently: reading wrk's report, the core plan,
 * and the generated peer configs (each checked by the peer itself when it is installed; tenbin's
 * against its own schema).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { PEERS } from "../../bench/configs/peers.ts";
import { SCENARIOS } from "../../bench/configs/scenarios.ts";
import type { ConfigContext } from "../../bench/configs/types.ts";
import { planCpus } from "../../bench/load.ts";
import { durationSeconds, parseWrk } from "../../bench/wrk.ts";
import { configSchema } from "../../src/config/schema.ts";

const WRK_OUTPUT = `Running 3s test @ http://127.0.0.1:40001/1k
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.41ms  580.12us  12.03ms   91.20%
    Req/Sec    20.91k     1.02k   22.38k    70.00%
  Latency Distribution
     50%    2.31ms
     75%    2.52ms
     90%    2.84ms
     99%    1.20s
  62431 requests in 3.00s, 71.03MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:  20803.61
Transfer/sec:     23.67MB
`;

describe("wrk report", () => {
  test("req/s, percentiles in ms whatever the unit, and every kind of error", () => {
    expect(parseWrk(WRK_OUTPUT)).toEqual({ requests: 62431, rps: 20803.61, p50Ms: 2.31, p99Ms: 1200, errors: 10 });
  });

  test("a report without errors counts zero, and no report is an error", () => {
    const clean = WRK_OUTPUT.replace(/ {2}Socket errors.*\n {2}Non-2xx.*\n/, "").replace("99%    1.20s", "99%  850.00us");
    expect(parseWrk(clean)).toEqual({ requests: 62431, rps: 20803.61, p50Ms: 2.31, p99Ms: 0.85, errors: 0 });
    expect(() => parseWrk("unable to connect to 127.0.0.1:1 Connection refused")).toThrow("Requests/sec");
  });

  test("durations", () => {
    expect(durationSeconds("10s")).toBe(10);
    expect(durationSeconds("500ms")).toBe(0.5);
    expect(durationSeconds("2m")).toBe(120);
    expect(durationSeconds("3")).toBe(3);
    expect(() => durationSeconds("soon")).toThrow('"soon"');
  });
});

describe("core plan", () => {
  test("the balancer gets a core of its own whenever there are two", () => {
    expect(planCpus(1, true)).toEqual({ balancer: undefined, backends: undefined, wrk: undefined, wrkThreads: 1 });
    expect(planCpus(8, false).balancer).toBeUndefined();
    expect(planCpus(2, true)).toEqual({ balancer: "1", backends: "0", wrk: "0", wrkThreads: 1 });
    expect(planCpus(4, true)).toEqual({ balancer: "1", backends: "2", wrk: "0,3", wrkThreads: 2 });
  });
});

describe("generated peer configs", () => {
  const work = mkdtempSync(join(tmpdir(), "tenbin-bench-config-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const ctx: ConfigContext = {
    listen: { host: "127.0.0.1", port: 40000 },
    backends: [
      { host: "127.0.0.1", port: 40001 },
      { host: "127.0.0.1", port: 40002 },
    ],
    workDir: work,
  };
  // How each installed peer validates a config file without serving it.
  const validators: Record<string, (binary: string, file: string) => string[]> = {
    haproxy: (binary, file) => [binary, "-c", "-q", "-f", file],
    nginx: (binary, file) => [binary, "-t", "-q", "-p", work, "-e", join(work, "nginx-test.log"), "-c", file],
    caddy: (binary, file) => [binary, "validate", "--config", file, "--adapter", "caddyfile"],
  };

  for (const scenario of SCENARIOS) {
    test(`${scenario.name}: tenbin's config passes the schema with both backends in one round-robin pool`, () => {
      const builder = scenario.configs.tenbin;
      expect(builder).toBeDefined();
      const config = configSchema.parse(parse(builder!(ctx)));
      expect(config.listeners[0]?.listen).toEqual({ host: "127.0.0.1", port: 40000 });
      expect(config.pools.app?.balance).toBe("round_robin");
      // http:// for the L7 scenarios, tcp:// for the L4 ones.
      expect(config.pools.app?.servers.map((s) => s.url.replace(/^(http|tcp):\/\//, ""))).toEqual(["127.0.0.1:40001", "127.0.0.1:40002"]);
    });

    // A scenario leaves out peers without that mode (Caddy has no TCP passthrough): no test for those.
    for (const peer of PEERS.filter((p) => p.name !== "tenbin" && scenario.configs[p.name] !== undefined)) {
      const binary = peer.find(work);
      // .ci/run installs every peer, so in CI a missing one is a failure, not a skip.
      test.skipIf(binary === undefined && !process.env.CI)(`${scenario.name}: ${peer.title} accepts its generated config`, () => {
        expect(binary, `${peer.title} is not installed`).toBeDefined();
        const file = join(work, `${scenario.name}-${peer.configFile}`);
        writeFileSync(file, scenario.configs[peer.name]!(ctx));
        const result = Bun.spawnSync({
          cmd: validators[peer.name]!(binary!, file),
          env: { ...process.env, ...peer.env(work) },
          stdout: "pipe",
          stderr: "pipe",
          timeout: 20_000,
        });
        expect(result.stderr.toString() + result.stdout.toString()).not.toContain("rror");
        expect(result.exitCode).toBe(0);
      });
    }
  }
});
