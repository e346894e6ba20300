/**
 * The file part of the config's semantic checks: files tenbin reads or writes besides TLS ones
 * (those are in src/tls/check.ts). A sorry page that cannot be read, or an access log whose
 * directory does not exist, would otherwise fail only when the config is applied, without a line.
 * Relative paths resolve from the working directory, as tenbin resolves them when it runs.
 */
import { accessSync, constants, statSync } from "node:fs";
import { dirname } from "node:path";
import { osReason } from "../tls/certificates.ts";
import type { KeySegment } from "./config-error.ts";
import type { Config } from "./schema.ts";

/** Reports one problem at a key path. */
type Report = (path: KeySegment[], message: string) => void;

/** Reports every `sorry.body_file` that cannot be read and every `access_log.path` that cannot be written. */
export function checkFiles(config: Config, report: Report): void {
  for (const [name, pool] of Object.entries(config.pools)) {
    const file = pool.sorry?.body_file;
    if (file === undefined) continue;
    const problem = unreadableFile(file);
    if (problem) report(["pools", name, "sorry", "body_file"], `cannot read sorry page ${q(file)}: ${problem}`);
  }
  config.listeners.forEach((listener, i) => {
    if (listener.mode !== "http" || !listener.access_log || listener.access_log.path === "stdout") return;
    const file = listener.access_log.path;
    const problem = unwritableFile(file);
    if (problem) report(["listeners", i, "access_log", "path"], `cannot write access log ${q(file)}: ${problem}`);
  });
}

function unreadableFile(path: string): string | undefined {
  try {
    if (statSync(path).isDirectory()) return "it is a directory; expected a file";
    accessSync(path, constants.R_OK);
  } catch (error) {
    return osReason(error);
  }
  return undefined;
}

// The file itself may not exist yet (it is created on open); its directory must.
function unwritableFile(path: string): string | undefined {
  let exists = true;
  try {
    if (statSync(path).isDirectory()) return "it is a directory; expected a file";
  } catch {
    exists = false;
  }
  const dir = dirname(path);
  try {
    if (exists) {
      accessSync(path, constants.W_OK);
      return undefined;
    }
    if (!statSync(dir).isDirectory()) return `${q(dir)} is not a directory`;
    accessSync(dir, constants.W_OK);
  } catch (error) {
    const reason = osReason(error);
    return (error as { code?: unknown }).code === "ENOENT" ? `directory ${q(dir)} does not exist` : reason;
  }
  return undefined;
}

function q(value: string): string {
  return JSON.stringify(value);
}
