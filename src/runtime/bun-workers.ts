/**
 * Worker processes on Bun (`workers: N`): `Bun.spawn` with an IPC channel, and the child's end of it.
 * Facts this file is built on, checked on Bun 1.4.5:
 * - `serialization: "advanced"` (structured clone) carries a Config as is: RegExp, Map, undefined.
 * - The child's `process.on("disconnect")` fires when the parent exits, even on SIGKILL.
 * - In a compiled binary `Bun.main` is under `/$bunfs/` and `process.execPath` is the binary, which
 *   takes tenbin's arguments directly; from source `execPath` is bun and needs the script first.
 */
import type { ParentChannel, SpawnWorkerOptions, WorkerProcess } from "./types.ts";

/** Starts this program again with `options.args`, stdout and stderr shared, a message channel open. */
export function spawnBunWorker(options: SpawnWorkerOptions): WorkerProcess {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  const cmd = compiled ? [process.execPath, ...options.args] : [process.execPath, Bun.main, ...options.args];
  const child = Bun.spawn({
    cmd,
    stdin: "ignore",
    stdout: "inherit",
    stderr: "inherit",
    serialization: "advanced",
    ipc: (message) => options.onMessage(message),
  });
  return {
    pid: child.pid,
    send(message) {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      try {
        child.send(message);
        return true;
      } catch {
        return false; // the channel closed between the check and the send
      }
    },
    kill: (signal) => child.kill(signal),
    exited: child.exited.then(() => ({ code: child.signalCode ? null : child.exitCode, signal: child.signalCode ? String(child.signalCode) : null })),
  };
}

/** The channel to the parent, when this process was started with one. */
export function bunParentChannel(): ParentChannel | undefined {
  if (typeof process.send !== "function") return undefined;
  return {
    send(message) {
      try {
        process.send?.(message);
      } catch {
        // The parent is gone; `disconnect` tells the worker to stop.
      }
    },
    onMessage: (handler) => void process.on("message", handler),
    onDisconnect: (handler) => void process.on("disconnect", handler),
  };
}
