/**
 * The macro benchmark's moving parts that can break silently: reading wrk's report, the core plan,
 * the report's notes, and the generated peer configs for one and two workers (each checked by the
 * peer itself when it is installed; tenbin's against its own schema). bench-peers.test.ts runs them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { PEERS } from "../../bench/configs/peers.ts";
import { SCENARIOS } from "../../bench/configs/scenarios.ts";
import { makeBenchCert } from "../../bench/configs/certs.ts";
import type { ConfigContext } from "../../bench/configs/types.ts";
import { sharedCores } from "../../bench/cpu-plan.ts";
import { planCpus } from "../../bench/load.ts";
import { planNotes, renderTable } from "../../bench/run.ts";
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

  test("more workers get as many cores, of their own when two remain, else shared with wrk and the backends", () => {
    expect(planCpus(2, true, 2)).toEqual({ balancer: "0,1", backends: "0", wrk: "0", wrkThreads: 1 });
    expect(planCpus(2, true, 8)).toEqual({ balancer: "0,1", backends: "0", wrk: "0", wrkThreads: 1 });
    expect(planCpus(3, true, 2)).toEqual({ balancer: "1,2", backends: "0", wrk: "0", wrkThreads: 1 });
    expect(planCpus(4, true, 2)).toEqual({ balancer: "1,2", backends: "3", wrk: "0", wrkThreads: 1 });
    expect(planCpus(8, true, 2)).toEqual({ balancer: "1,2", backends: "3", wrk: "0,4,5,6,7", wrkThreads: 5 });
    expect(planCpus(8, true, 1)).toEqual(planCpus(8, true));
    expect(sharedCores(planCpus(2, true, 2))).toEqual([0]);
    expect(sharedCores(planCpus(2, true, 1))).toEqual([]);
    expect(sharedCores(planCpus(8, true, 2))).toEqual([]);
  });

  test("the notes say when the workers share cores, and the table names worker counts other than one", () => {
    const notes = planNotes([{ workers: 1, plan: planCpus(2, true) }, { workers: 2, plan: planCpus(2, true, 2) }]).join("\n");
    expect(notes).toContain("nbthread N");
    expect(notes).toContain("2 worker(s): Pinned: balancer on core(s) 0,1");
    expect(notes).toContain("the cost of sharing the cores, not a speed-up");
    expect(planNotes([{ workers: 1, plan: planCpus(2, true) }]).join("\n")).not.toContain("worker");
    const row = { scenario: "l7-1k", connections: 50, outcome: "ok" as const, note: "", rps: 1000, p50Ms: 1, p99Ms: 2, errors: 0, rssKb: 1024, cpuMsPerKReq: 10 };
    const table = renderTable([
      { ...row, workers: 1, peer: "haproxy" },
      { ...row, workers: 2, peer: "haproxy", rps: 4000 },
      { ...row, workers: 2, peer: "tenbin", rps: 2000 },
    ]);
    expect(table).toContain("| l7-1k | 50 | HAProxy | 1,000 |");
    // Compared with HAProxy of the same worker count.
    expect(table).toContain("| l7-1k, 2 workers | 50 | tenbin | 2,000 | 1.00 | 2.00 | 0 | 1.0 | 10.0 | 0.50× |");
  });
});

describe("generated peer configs", () => {
  const work = mkdtempSync(join(tmpdir(), "tenbin-bench-config-"));
  // The peers read the certificate when they check an https config.
  beforeAll(() => makeBenchCert(join(work, "tls")));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const tls = { cert: join(work, "tls", "bench.crt"), key: join(work, "tls", "bench.key"), pem: join(work, "tls", "bench.pem") };
  const base: ConfigContext = {
    listen: { host: "127.0.0.1", port: 40000 },
    backends: [
      { host: "127.0.0.1", port: 40001 },
      { host: "127.0.0.1", port: 40002 },
    ],
    workDir: work,
    workers: 1,
  };
  // How each installed peer validates a config file without serving it.
  const validators: Record<string, (binary: string, file: string) => string[]> = {
    haproxy: (binary, file) => [binary, "-c", "-q", "-f", file],
    nginx: (binary, file) => [binary, "-t", "-q", "-p", work, "-e", join(work, "nginx-test.log"), "-c", file],
    caddy: (binary, file) => [binary, "validate", "--config", file, "--adapter", "caddyfile"],
  };

  for (const scenario of SCENARIOS) {
    const ctx: ConfigContext = { ...base, tls: scenario.scheme === "https" ? tls : undefined };
    test(`${scenario.name}: tenbin's config passes the schema with both backends in one round-robin pool`, () => {
      const builder = scenario.configs.tenbin;
      expect(builder).toBeDefined();
      const config = configSchema.parse(parse(builder!(ctx)));
      expect(config.listeners[0]?.listen).toEqual({ host: "127.0.0.1", port: 40000 });
      expect(config.pools.app?.balance).toBe("round_robin");
      // http:// for the L7 scenarios, tcp:// for the L4 ones.
      expect(config.pools.app?.servers.map((s) => s.url.replace(/^(http|tcp):\/\//, ""))).toEqual(["127.0.0.1:40001", "127.0.0.1:40002"]);
      const listener = config.listeners[0]!;
      expect(listener.mode === "http" ? listener.tls?.certificates?.[0] : undefined).toEqual(scenario.scheme === "https" && !scenario.backendTls ? { cert: tls.cert, key: tls.key } : undefined);
      expect(config.workers).toBe(1);
      expect(configSchema.parse(parse(builder!({ ...ctx, workers: 2 }))).workers).toBe(2);
      // The tenbin-runtime peer: the same config with the listener's engine set (HTTP scenarios).
      const other = configSchema.parse(parse(builder!({ ...ctx, engine: "runtime" }))).listeners[0]!;
      expect(other.mode === "http" ? other.engine : "tcp").toBe(scenario.tcp ? "tcp" : "runtime");
    });

    // A scenario leaves out peers without that mode (Caddy has no TCP passthrough): no test for those.
    for (const peer of PEERS.filter((p) => p.name !== "tenbin" && scenario.configs[p.name] !== undefined)) {
      const binary = peer.find(work);
      // .ci/run installs every peer, so in CI a missing one is a failure, not a skip.
      test.skipIf(binary === undefined && !process.env.CI)(`${scenario.name}: ${peer.title} accepts its generated configs for 1 and 2 workers`, () => {
        expect(binary, `${peer.title} is not installed`).toBeDefined();
        for (const workers of [1, 2]) {
          const file = join(work, `${scenario.name}-${workers}-${peer.configFile}`);
          const text = scenario.configs[peer.name]!({ ...ctx, workers });
          expect(text).toContain(peer.name === "haproxy" ? `nbthread ${workers}` : peer.name === "nginx" ? `worker_processes ${workers};` : `GOMAXPROCS=${workers}`);
          // Passthrough peers hold no certificate: their backends terminate TLS.
          if (scenario.scheme === "https" && !scenario.backendTls) expect(text).toContain(peer.name === "haproxy" ? tls.pem : tls.cert);
          writeFileSync(file, text);
          const result = Bun.spawnSync({
            cmd: validators[peer.name]!(binary!, file),
            env: { ...process.env, ...peer.env(work, workers) },
            stdout: "pipe",
            stderr: "pipe",
            timeout: 20_000,
          });
          // Caddy logs JSON lines whose "error" field may be a mere warning (no OCSP for a self-signed
          // certificate) or news (a failed probe, while it validates): only its error levels count.
          const lines = (result.stderr.toString() + result.stdout.toString()).split("\n");
          expect(lines.filter((l) => (l.startsWith("{") ? /"level":"(error|fatal|panic)"/.test(l) : l.includes("rror")))).toEqual([]);
          expect(result.exitCode).toBe(0);
        }
      });
    }
  }
});
