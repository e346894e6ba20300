/**
 * docs/ci.md's shell recipe, run as it stands in the doc (extracted from it, with its config), so
 * the doc cannot rot: tenbin from source on the PATH, two real backends on port 0.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, ROOT } from "../helpers/tenbin.ts";

const doc = readFileSync(join(ROOT, "docs/ci.md"), "utf8");

/** The first fenced block of `language` after `heading`. */
function block(heading: string, language: string): string {
  const at = doc.indexOf(heading);
  if (at < 0) throw new Error(`docs/ci.md has no "${heading}"`);
  const match = doc.slice(at).match(new RegExp("```" + language + "\\n([\\s\\S]*?)```"));
  if (!match) throw new Error(`no ${language} block after "${heading}" in docs/ci.md`);
  return match[1]!;
}

const dir = mkdtempSync(join(tmpdir(), "tenbin-ci-recipe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasTools = Bun.which("jq") !== null && Bun.which("curl") !== null;

test.skipIf(!hasTools)("the shell recipe of docs/ci.md passes against real services", async () => {
  const config = block("## A plain shell recipe", "yaml");
  const recipe = block("The recipe (`ci/smoke.sh`", "sh");
  using api = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => new Response(`api ${new URL(req.url).pathname}\n`) });
  using web = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("web\n") });
  writeFileSync(join(dir, "tenbin.ci.yaml"), config);
  writeFileSync(join(dir, "smoke.sh"), recipe);
  // `tenbin` on the PATH: the source tree run by Bun.
  const bin = join(dir, "bin");
  Bun.spawnSync(["mkdir", "-p", bin]);
  writeFileSync(join(bin, "tenbin"), `#!/bin/sh\nexec "${BUN}" "${join(ROOT, "src/main.ts")}" "$@"\n`);
  chmodSync(join(bin, "tenbin"), 0o755);
  const proc = Bun.spawn(["sh", "smoke.sh"], {
    cwd: dir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: 45_000,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, API_PORT: String(api.port), WEB_PORT: String(web.port) },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`the recipe exited with ${code}\n${stdout}\n${stderr}`);
  expect(stdout).toContain("api /api/users\n");
  expect(stdout).toContain("web\n");
  expect(stdout).toMatch(/smoke test passed through http:\/\/127\.0\.0\.1:\d+\n$/);
}, 60_000);

test("the recipe fails when a route goes elsewhere (it gates)", async () => {
  const config = block("## A plain shell recipe", "yaml");
  writeFileSync(join(dir, "other.yaml"), config.replace("{ match: { path: /api/ }, pool: api }", "{ match: { path: /v2/ }, pool: api }"));
  const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "route", "-c", join(dir, "other.yaml"), "--expect-pool", "api", "GET", "http://localhost/api/users"], {
    stdout: "pipe", stderr: "pipe", timeout: 20_000, env: { ...process.env, API_PORT: "1", WEB_PORT: "2" },
  });
  expect(await proc.exited).toBe(1);
}, 30_000);
