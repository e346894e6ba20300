import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEMO_CONFIG_YAML } from "../../src/cli/demo-config.ts";

test("the demo config built into the binary is config/tenbin.yaml", () => {
  const onDisk = readFileSync(fileURLToPath(new URL("../../config/tenbin.yaml", import.meta.url)), "utf8");
  expect(DEMO_CONFIG_YAML).toBe(onDisk);
});
