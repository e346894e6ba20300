/** The systemd unit in config/systemd/ is valid for systemd and says what docs/operations.md promises. */
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/tenbin.ts";

const unit = readFileSync(join(ROOT, "config/systemd/tenbin.service"), "utf8");
const ANALYZE = Bun.which("systemd-analyze");

test("readiness, reload, capabilities and sandboxing", () => {
  const lines = new Set(unit.split("\n"));
  for (const line of [
    "Type=notify",
    "ExecReload=/bin/kill -HUP $MAINPID",
    "AmbientCapabilities=CAP_NET_BIND_SERVICE",
    "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "DynamicUser=yes",
  ]) expect(lines.has(line)).toBe(true);
});

test.skipIf(ANALYZE === null)("systemd-analyze verify accepts it", () => {
  const dir = mkdtempSync(join(tmpdir(), "tenbin-unit-"));
  try {
    // verify wants the programs to exist: point them at one that does.
    const file = join(dir, "tenbin.service");
    writeFileSync(file, unit.replaceAll("/usr/local/bin/tenbin", "/bin/true"));
    const result = Bun.spawnSync([ANALYZE!, "verify", file], { stderr: "pipe", stdout: "pipe", timeout: 20_000 });
    const output = `${result.stdout}${result.stderr}`.split("\n").filter((l) => l.includes("tenbin.service")).join("\n");
    expect(output).toBe("");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
