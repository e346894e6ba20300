/** Shared helpers of the config loader tests. */
import { ConfigError } from "../../src/config/config-error.ts";
import { loadConfigText, type ConfigEnv } from "../../src/config/load.ts";

/** The formatted error lines of a config that must fail; throws when it loads. */
export function errorLines(text: string, env: ConfigEnv = {}): string[] {
  try {
    loadConfigText(text, "tenbin.yaml", env);
  } catch (error) {
    if (error instanceof ConfigError) return error.format().split("\n");
    throw error;
  }
  throw new Error("expected the config to be rejected, but it loaded");
}

/** Joins lines with a trailing newline, so a test can lay out YAML one line per string. */
export function yaml(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}
