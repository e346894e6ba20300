/**
 * File descriptors: the process's limit and whether it has run out. Bun and Deno both raise the
 * soft RLIMIT_NOFILE to the hard one when they start (checked on Bun 1.4.5 and Deno 2 with
 * `ulimit -Sn 1024`: /proc/self/limits then shows the hard limit), so tenbin has nothing to raise;
 * it only reads the limit to size its connection budget. No `Bun`/`Deno` here: node:fs on both.
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import process from "node:process";

/** The open-files limit in force (soft), or undefined where it cannot be read (not Linux) or is unlimited. */
export function openFileLimit(): number | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    const n = Number(soft);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether this process is out of file descriptors now: `EMFILE` (its own limit) or `ENFILE` (the
 * system's). Asked after a connect failed: at the limit Bun reports a failed connect as
 * ECONNREFUSED, which would otherwise read as the server's fault.
 */
export function outOfFileDescriptors(): "EMFILE" | "ENFILE" | undefined {
  if (process.platform === "win32") return undefined;
  try {
    closeSync(openSync("/dev/null", "r"));
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return code === "EMFILE" || code === "ENFILE" ? code : undefined;
  }
}
