/**
 * build.ts produces a working single-file executable: the version from package.json is stamped in,
 * and a `.env` or `bunfig.toml` in the directory the binary runs from changes nothing.
 *
 * Builds go to a temporary directory (never dist/, which a running bench may be using). Each build
 * takes one to three seconds.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = join(ROOT, "node_modules", ".bin", "bun");
const MAIN = join(ROOT, "src", "main.ts");
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const work = mkdtempSync(join(tmpdir(), "tenbin-build-test-"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string[], cwd: string): { code: number; stdout: string; stderr: string } {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work };
  const result = Bun.spawnSync({ cmd, cwd, env, stdout: "pipe", stderr: "pipe", timeout: 50_000 });
  return { code: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

function build(entry: string, outfile: string): void {
  const result = run([BUN, join(ROOT, "build.ts"), "--entry", entry, "--outfile", outfile], ROOT);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  expect(existsSync(outfile)).toBe(true);
  expect(existsSync(`${outfile}.map`)).toBe(false);
}

describe("build.ts", () => {
  test("stamps the version and ignores .env and bunfig.toml where the binary runs", () => {
    const probe = join(work, "probe.ts");
    writeFileSync(
      probe,
      `import { VERSION } from ${JSON.stringify(join(ROOT, "src", "version.ts"))};\n` +
        `console.log("tenbin " + VERSION);\n` +
        `console.log("FOO=" + (process.env.FOO ?? "unset"));\n`,
    );
    const binary = join(work, "probe-bin");
    build(probe, binary);

    // Built without our flags, this binary would print PRELOADED and FOO=from-dotenv here.
    const cwd = mkdtempSync(join(work, "cwd-"));
    writeFileSync(join(cwd, ".env"), "FOO=from-dotenv\n");
    writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
    writeFileSync(join(cwd, "preload.ts"), 'console.log("PRELOADED");\n');
    const result = run([binary], cwd);
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")).toEqual([`tenbin ${PACKAGE_VERSION}`, "FOO=unset", ""]);
  }, 60_000);

  test.skipIf(!existsSync(MAIN))("the tenbin binary prints the package.json version", () => {
    const binary = join(work, "tenbin");
    build(MAIN, binary);
    const result = run([binary, "version"], work);
    expect(result.code).toBe(0);
    // "tenbin 0.1.0", possibly followed by details such as the runtime: "tenbin 0.1.0 (bun 1.4.5)".
    const first = result.stdout.split("\n")[0] ?? "";
    expect(first.split(" ").slice(0, 2)).toEqual(["tenbin", PACKAGE_VERSION]);
  }, 60_000);
});
