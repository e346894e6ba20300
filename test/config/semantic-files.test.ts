/** `tenbin check` finds a sorry page it cannot read and an access log it cannot write, at their lines. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigText } from "../../src/config/load.ts";
import { errorLines, yaml } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "tenbin-files-"));
const page = join(dir, "sorry.html");
writeFileSync(page, "<h1>sorry</h1>");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(opts: { bodyFile: string; logPath: string }): string {
  return yaml(
    "listeners:",                                                 // 1
    "  - name: web",                                              // 2
    "    listen: 127.0.0.1:0",                                    // 3
    `    access_log: { path: "${opts.logPath}" }`,                // 4
    "    routes: [{ pool: app }]",                                // 5
    "pools:",                                                     // 6
    "  app:",                                                     // 7
    "    servers: [{ url: http://127.0.0.1:9001 }]",              // 8
    `    sorry: { body_file: "${opts.bodyFile}" }`,               // 9
  );
}

describe("file checks", () => {
  test("an existing sorry page and a log in an existing directory load", () => {
    const loaded = loadConfigText(config({ bodyFile: page, logPath: join(dir, "access.log") }), "tenbin.yaml", {});
    expect(loaded.pools.app!.sorry?.body_file).toBe(page);
  });

  test("a missing sorry page and a log directory that does not exist are errors at their lines", () => {
    const missing = join(dir, "nope.html");
    const logDir = join(dir, "no-such-dir");
    expect(errorLines(config({ bodyFile: missing, logPath: join(logDir, "access.log") }))).toEqual([
      `tenbin.yaml:4:25 listeners[0].access_log.path: cannot write access log "${join(logDir, "access.log")}": directory "${logDir}" does not exist`,
      `tenbin.yaml:9:25 pools.app.sorry.body_file: cannot read sorry page "${missing}": no such file or directory (ENOENT)`,
    ]);
  });

  test("a directory is neither a sorry page nor a log file", () => {
    const lines = errorLines(config({ bodyFile: dir, logPath: dir }));
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.includes("body_file"))).toEndWith(`cannot read sorry page "${dir}": it is a directory; expected a file`);
    expect(lines.find((l) => l.includes("access_log"))).toEndWith(`cannot write access log "${dir}": it is a directory; expected a file`);
  });

  test("relative paths resolve from the working directory", () => {
    expect(() => loadConfigText(config({ bodyFile: "config/examples/sorry.html", logPath: "access.log" }), "tenbin.yaml", {})).not.toThrow();
    expect(errorLines(config({ bodyFile: "examples/sorry.html", logPath: "stdout" }))[0]).toContain('cannot read sorry page "examples/sorry.html"');
  });
});
