import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadConfigFile } from "../../src/config/load.ts";

const dir = fileURLToPath(new URL("../../config/examples/", import.meta.url));
const examples = readdirSync(dir).filter((name) => name.endsWith(".yaml")).sort();

describe("config/examples", () => {
  test("there are examples", () => {
    expect(examples).toContain("full.yaml");
    expect(examples).toContain("minimal.yaml");
  });

  // Examples give every variable a default, so they load with an empty environment.
  for (const name of examples) {
    test(`${name} is a valid config`, async () => {
      const config = await loadConfigFile(`${dir}${name}`, {});
      expect(config.listeners.length).toBeGreaterThan(0);
    });
  }
});
