/**
 * `watch: true`: reload when the config file changes. Editors save in bursts (write, rename,
 * chmod), so changes are debounced; the directory is watched rather than the file, because a save
 * that replaces the file (rename over it) would leave a file watch looking at the old inode.
 */
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";

/** How a watch behaves. */
export interface WatchOptions {
  /** Quiet time after the last change before `onChange` runs (ms). */
  debounceMs?: number;
  /** Told when watching fails (the directory vanished, too many watches). */
  onError?: (message: string) => void;
}

/** A running watch; `close()` ends it. */
export interface ConfigWatch {
  close(): void;
}

/** Calls `onChange` once after each burst of changes to `file`. */
export function watchConfigFile(file: string, onChange: () => void, options: WatchOptions = {}): ConfigWatch {
  const debounceMs = options.debounceMs ?? 250;
  const name = basename(file);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      // Some platforms give no file name; then any change in the directory counts.
      if (changed !== null && changed !== undefined && String(changed) !== name) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    watcher.on("error", (error) => options.onError?.(`watching "${file}" failed: ${error.message}`));
  } catch (error) {
    options.onError?.(`cannot watch "${file}": ${(error as Error).message}`);
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
