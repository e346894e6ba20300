/**
 * Notices when certificate files change on disk, by looking at them every `intervalMs`. Polling
 * `stat` (size, mtime, inode, following symlinks) sees every way certificates get renewed — an
 * in-place write, a rename over the file, certbot's or Kubernetes' symlink swap — which file-change
 * events do not reliably report.
 */
import { statSync } from "node:fs";

/** Watches one set of files; `onChange` runs after any of them changed (not for the first look). */
export class FileWatch {
  readonly #files: readonly string[];
  readonly #onChange: () => void;
  #stamp: string;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(files: readonly string[], intervalMs: number, onChange: () => void) {
    this.#files = [...new Set(files)];
    this.#onChange = onChange;
    this.#stamp = this.#look();
    if (intervalMs > 0) {
      this.#timer = setInterval(() => this.check(), intervalMs);
      // A watch must not keep the process alive on its own.
      (this.#timer as { unref?: () => void }).unref?.();
    }
  }

  /** Looks now; calls `onChange` when something changed since the last look. */
  check(): void {
    const stamp = this.#look();
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    this.#onChange();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #look(): string {
    return this.#files.map((file) => {
      try {
        const s = statSync(file);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return "missing";
      }
    }).join("|");
  }
}
