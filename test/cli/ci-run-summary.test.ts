/**
 * `.ci/run`'s test section, run as it stands with a fake `npm test` on the PATH: the summary line
 * (`N passed, N failed, N skipped`) is the last line it prints, after the HA-skip notes.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/tenbin.ts";

const dir = mkdtempSync(join(tmpdir(), "tenbin-ci-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The tests part of .ci/run, with the shell options and `log` it relies on. */
function testSection(): string {
  const script = readFileSync(join(ROOT, ".ci/run"), "utf8");
  const at = script.indexOf("# --- tests");
  if (at < 0) throw new Error(".ci/run has no \"# --- tests\" section");
  return `set -euo pipefail\nlog() { printf '==> %s\\n' "$*" >&2; }\n${script.slice(at)}`;
}

function run(testOutput: string): { code: number; stdout: string } {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(dir, ".ci"), { recursive: true });
  writeFileSync(join(dir, "npm-output.txt"), testOutput);
  writeFileSync(join(bin, "npm"), `#!/bin/sh\ncat "${join(dir, "npm-output.txt")}"\n`);
  chmodSync(join(bin, "npm"), 0o755);
  writeFileSync(join(dir, "tests.sh"), testSection());
  const proc = Bun.spawnSync(["bash", "tests.sh"], { cwd: dir, stdout: "pipe", stderr: "pipe", timeout: 10_000, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  return { code: proc.exitCode ?? -1, stdout: proc.stdout.toString() };
}

test("the summary is the last line printed, after the HA-skip notes", () => {
  const { code, stdout } = run("ha-skip: not root, cannot make network namespaces\n 12 pass\n 3 skip\n 0 fail\n");
  expect(code).toBe(0);
  const lines = stdout.trimEnd().split("\n");
  expect(lines).toContain("ha-skip: not root, cannot make network namespaces");
  expect(lines.at(-1)).toBe("12 passed, 0 failed, 3 skipped");
});

test("a failed run still ends with the summary and exits 1", () => {
  const { code, stdout } = run("ha-skip: not root\n 10 pass\n 2 fail\n");
  expect(code).toBe(1);
  expect(stdout.trimEnd().split("\n").at(-1)).toBe("10 passed, 2 failed");
});
