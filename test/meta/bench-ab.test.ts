/** bench/ab.ts reports each variant against the first one round by round, not median against median. */
import { expect, test } from "bun:test";
import { parseArgs, renderAb } from "../../bench/ab.ts";

test("the CPU ratio is the median of per-round ratios, so a slow round hits both variants alike", () => {
  const table = renderAb(
    [
      { name: "before", cpuMsPerKReq: [100, 200, 100], rps: [10_000, 5_000, 10_000], p99Ms: [9, 20, 9] },
      { name: "after", cpuMsPerKReq: [90, 180, 95], rps: [11_000, 5_500, 10_500], p99Ms: [8, 18, 8] },
    ],
    "/1k, 50 conns",
  );
  const rows = table.split("\n");
  expect(rows[0]).toContain("CPU vs before (paired median)");
  expect(rows[2]).toBe("| before | 100.0 | 100.0 | 10000 | 10000 | 9.00 | 1.000 |");
  // ratios 0.90, 0.90, 0.95 → 0.900 (medians alone would say 95/100 = 0.950)
  expect(rows[3]).toBe("| after | 95.0 | 90.0 | 10500 | 11000 | 8.00 | 0.900 |");
});

test("variants: a build, a source tree, a script and a peer; --l4 and the path", () => {
  const options = parseArgs(["--l4", "--path", "/100k", "--rounds", "2", "a=dist/tenbin", "b=src:/tmp/tree", "c=script:/tmp/p.ts", "ref=peer:haproxy"]);
  expect(options).toMatchObject({ l4: true, path: "/100k", rounds: 2, freeze: true });
  expect(parseArgs(["--no-freeze", "a=dist/tenbin"]).freeze).toBe(false);
  expect(options.specs.map((s) => s.name)).toEqual(["a", "b", "c", "ref"]);
  expect(options.specs[1]!.command("/w/t.yaml").slice(-3)).toEqual(["run", "-c", "/w/t.yaml"]);
  expect(options.specs[2]!.command("/w/t.yaml").at(-1)).toBe("/w/t.yaml");
  // The peer is started by its own command line, on the config ab.ts writes for it.
  expect(options.specs[3]!.peer?.name).toBe("haproxy");
  expect(options.specs[3]!.command("/w/ref/haproxy.cfg")).toContain("/w/ref/haproxy.cfg");
  expect(options.specs.slice(0, 3).every((s) => s.peer === undefined)).toBe(true);
  expect(() => parseArgs(["x=peer:tenbin"])).toThrow('Peer "tenbin" is not known or not installed');
  expect(() => parseArgs(["--path", "/2k", "a=dist/tenbin"])).toThrow('Unknown path "/2k"');
});
