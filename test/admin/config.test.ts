import { describe, expect, test } from "bun:test";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { watchConfigFile } from "../../src/admin/watch.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { errorLines, yaml } from "../config/helpers.ts";

const BASE = yaml(
  "listeners:",
  "  - { name: web, listen: 127.0.0.1:8080, routes: [{ pool: app }] }",
  "pools:",
  '  app: { servers: [{ url: "http://127.0.0.1:9001" }] }',
);

describe("admin and access_log config", () => {
  test("defaults: admin on 127.0.0.1:9090 without a token, no watch, no access log", () => {
    const config = loadConfigText(BASE, "t.yaml", {});
    expect(config.admin).toEqual({ enabled: true, listen: { host: "127.0.0.1", port: 9090 } });
    expect(config.watch).toBe(false);
    const listener = config.listeners[0]!;
    expect(listener.mode === "http" && listener.access_log).toBeUndefined();
  });

  test("a non-loopback admin address without a token is an error at its line", () => {
    const lines = errorLines(BASE + yaml("admin:", "  listen: 0.0.0.0:9090"));
    expect(lines).toEqual([
      `tenbin.yaml:6:11 admin.listen: admin address "0.0.0.0:9090" is not loopback and admin.token is not set; add a token (anyone who reaches the port could drain servers) or listen on 127.0.0.1`,
    ]);
  });

  test("a non-loopback admin address with a token, or a loopback one without, is fine", () => {
    expect(loadConfigText(BASE + yaml("admin: { listen: 0.0.0.0:9090, token: t }"), "t.yaml", {}).admin.token).toBe("t");
    for (const listen of ["127.0.0.1:9091", "127.0.0.2:9090", "localhost:9090", "[::1]:9090"]) {
      expect(loadConfigText(BASE + yaml(`admin: { listen: "${listen}" }`), "t.yaml", {}).admin.enabled).toBe(true);
    }
    // Disabled: the address does not matter.
    expect(loadConfigText(BASE + yaml("admin: { enabled: false, listen: 0.0.0.0:9090 }"), "t.yaml", {}).admin.enabled).toBe(false);
  });

  test("the admin address may not be a listener's", () => {
    const lines = errorLines(BASE + yaml("admin: { listen: 127.0.0.1:8080 }"));
    expect(lines[0]).toContain('admin.listen: admin address "127.0.0.1:8080" overlaps "127.0.0.1:8080" of listeners[0]');
  });

  test("access_log takes json or combined and a path, stdout by default", () => {
    const text = BASE.replace("routes: [{ pool: app }] }", "routes: [{ pool: app }], access_log: { format: combined } }");
    const listener = loadConfigText(text, "t.yaml", {}).listeners[0]!;
    expect(listener.mode === "http" && listener.access_log).toEqual({ format: "combined", path: "stdout" });
    const bad = errorLines(BASE.replace("routes: [{ pool: app }] }", "routes: [{ pool: app }], access_log: { format: clf } }"));
    expect(bad[0]).toContain("listeners[0].access_log.format");
  });
});

describe("watchConfigFile", () => {
  test("calls back once per burst of changes, also when the file is replaced by a rename", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tenbin-watch-"));
    const file = join(dir, "tenbin.yaml");
    writeFileSync(file, "a: 1\n");
    let calls = 0;
    const watch = watchConfigFile(file, () => calls++, { debounceMs: 60 });
    try {
      await Bun.sleep(50); // let the watch settle before the first change
      for (let i = 0; i < 5; i++) writeFileSync(file, `a: ${i}\n`);
      writeFileSync(join(dir, "other.txt"), "not the config");
      for (let i = 0; i < 100 && calls === 0; i++) await Bun.sleep(10);
      await Bun.sleep(150);
      expect(calls).toBe(1);
      writeFileSync(`${file}.tmp`, "a: 9\n");
      renameSync(`${file}.tmp`, file); // how editors and `mv` save
      for (let i = 0; i < 100 && calls === 1; i++) await Bun.sleep(10);
      expect(calls).toBe(2);
    } finally {
      watch.close();
    }
  });
});
