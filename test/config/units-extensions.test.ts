/** Compound durations (`1m30s`), and YAML reuse as in docker-compose: top-level `x-` keys, anchors, `<<` merge keys. */
import { describe, expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";
import { parseDuration } from "../../src/config/units.ts";
import { errorLines } from "./helpers.ts";

describe("durations", () => {
  test("single and compound forms", () => {
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("1.5m")).toBe(90_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("1h5m10s250ms")).toBe(3_910_250);
    expect(parseDuration("1d12h")).toBe(129_600_000);
  });

  test("units out of order, repeated, or missing are refused", () => {
    for (const bad of ["30s1m", "1s1s", "1m30", "m30s", "1 m", "", "1m 30s"]) expect(parseDuration(bad)).toBeUndefined();
  });
});

const EXTENDED = `x-server: &srv { weight: 2, max_conns: 10 }
x-health: &health
  interval: 1m30s
  timeout: 1s
listeners:
  - name: web
    listen: 127.0.0.1:8080
    routes: [{ pool: web }]
pools:
  web:
    health: { <<: *health, http: { path: /healthz } }
    servers:
      - { <<: *srv, url: "http://127.0.0.1:9001" }
      - { <<: *srv, url: "http://127.0.0.1:9002", weight: 5 }
`;

describe("x- extension keys and merge keys", () => {
  test("top-level x- keys hold anchors; << merges them; a key beside << wins", () => {
    const config = loadConfigText(EXTENDED, "tenbin.yaml", {});
    expect(config.pools.web!.servers.map((s) => [s.weight, s.max_conns])).toEqual([[2, 10], [5, 10]]);
    expect(config.pools.web!.health).toMatchObject({ interval: 90_000, timeout: 1000, http: { path: "/healthz" } });
  });

  test("x- keys only at the top level: elsewhere they are unknown keys as before", () => {
    const lines = errorLines(EXTENDED.replace("    servers:\n", "    x-note: hi\n    servers:\n"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('unknown key "x-note"');
  });

  test("a merged value that is wrong is still reported", () => {
    const lines = errorLines(EXTENDED.replace("weight: 2,", "weight: -2,"));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.includes("weight"))).toBe(true);
  });
});
