import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { configSchema } from "../../src/config/schema.ts";
import { ActiveHealth } from "../../src/pool/health/active.ts";
import { PassiveOutlier } from "../../src/pool/health/passive.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { serverFor } from "../helpers/health-backends.ts";

test("config/examples/health.yaml is valid and builds a checker and an outlier detector per pool", () => {
  const text = readFileSync(new URL("../../config/examples/health.yaml", import.meta.url), "utf8");
  const config = configSchema.parse(parse(text));
  const api = config.pools.api!;
  expect(api.health).toMatchObject({ port: 9901, interval: 2000, timeout: 1000, rise: 2, fall: 3, initial: "down" });
  expect(api.outlier).toMatchObject({ eject_for: 10_000, max_eject_for: 300_000, failure_statuses: [502, 503, 504] });
  expect(config.pools.cache!.health?.tcp).toEqual({ send: "PING\r\n", expect: "+PONG" });
  for (const [name, pool] of Object.entries(config.pools)) {
    const servers = pool.servers.map((s) => serverFor(s.url));
    const logger = memoryLogger();
    if (pool.health) new ActiveHealth({ poolName: name, servers, config: pool.health, fetch: bunRuntime.fetchUpstream, logger });
    if (pool.outlier) new PassiveOutlier({ poolName: name, servers, config: pool.outlier, logger });
  }
});
