/**
 * `--help` (and `-h`) of the commands that parse their own flags, `tenbin ready` and `tenbin ha`
 * with each subcommand: a real process prints the usage on standard output and exits 0, whatever
 * required flags are missing.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { BUN, ROOT } from "../helpers/tenbin.ts";

function tenbin(args: string[]): { code: number; out: string; err: string } {
  const proc = Bun.spawnSync([BUN, join(ROOT, "src/main.ts"), ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 15_000 });
  return { code: proc.exitCode ?? -1, out: proc.stdout.toString(), err: proc.stderr.toString() };
}

test("tenbin ready --help and -h print the usage and exit 0 (no config is read)", () => {
  for (const flag of ["--help", "-h"]) {
    const r = tenbin(["ready", flag, "-c", "/nonexistent/tenbin.yaml"]);
    expect({ flag, code: r.code, err: r.err }).toEqual({ flag, code: 0, err: "" });
    expect(r.out).toStartWith("Usage: tenbin ready");
  }
}, 30_000);

test("tenbin ha --help, ha -h and ha SUB --help print the usage and exit 0", () => {
  const cases = [["ha", "--help"], ["ha", "-h"], ["ha", "keepalived", "--help"], ["ha", "bird", "-h"], ["ha", "announce", "--help"], ["ha", "track", "--help"]];
  for (const args of cases) {
    const r = tenbin(args);
    expect({ args, code: r.code, err: r.err }).toEqual({ args, code: 0, err: "" });
    expect(r.out).toContain("tenbin ha keepalived");
  }
}, 60_000);
