/**
 * The one reload path, shared by SIGHUP, `POST /api/reload` and the file watch: read and validate
 * the config, and only when it is valid hand it to `apply` (Tenbin.reload). An invalid file leaves
 * the running config alone; the result, with the errors' line:column, is kept for `/api/status`.
 * Reloads never overlap: a request that arrives during one runs once after it (several coalesce).
 */
import { ConfigError, type ConfigIssue } from "../config/config-error.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import type { ReloadCounts } from "../observe/metrics.ts";

/** What one reload did. */
export interface ReloadResult {
  ok: boolean;
  /** What asked for it: `start`, `SIGHUP`, `api`, `watch`. */
  trigger: string;
  /** ISO time it finished. */
  at: string;
  durationMs: number;
  /** The config's problems with file, line and column (empty when ok or when the failure was not the file's). */
  errors: ConfigIssue[];
  /** One line for humans: "reloaded FILE" or why not. */
  message: string;
}

/** What a reloader is made of. */
export interface ReloaderOptions {
  /** Reads and validates the config; throws `ConfigError` when it is not valid. */
  load: () => Promise<Config>;
  /** Switches to a valid config. */
  apply: (config: Config) => Promise<void>;
  logger: Logger;
  /** Success/failure counters (the metrics registry's). */
  counts: ReloadCounts;
  /** Names the source in messages, e.g. the file path. */
  source: string;
  now?: () => number;
}

/** Serialised reloads from one config source. */
export class Reloader {
  readonly #options: ReloaderOptions;
  readonly #now: () => number;
  #last: ReloadResult;
  #running: Promise<ReloadResult> | undefined;
  #queued: Promise<ReloadResult> | undefined;

  constructor(options: ReloaderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#last = { ok: true, trigger: "start", at: new Date(this.#now()).toISOString(), durationMs: 0, errors: [], message: `loaded ${options.source}` };
  }

  /** The result of the latest reload (the initial load until the first one). */
  get last(): ReloadResult {
    return this.#last;
  }

  /** Reloads; resolves with the result (never rejects). */
  reload(trigger: string): Promise<ReloadResult> {
    if (!this.#running) {
      this.#running = this.#run(trigger).finally(() => (this.#running = undefined));
      return this.#running;
    }
    // One reload after the running one is enough: it reads the file as it is by then.
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      return this.reload(trigger);
    });
    return this.#queued;
  }

  async #run(trigger: string): Promise<ReloadResult> {
    const { load, apply, logger, counts, source } = this.#options;
    const started = this.#now();
    let result: ReloadResult;
    try {
      const config = await load();
      await apply(config);
      counts.succeeded++;
      result = this.#result(true, trigger, started, [], `reloaded ${source}`);
      logger.info(`reloaded ${source}`, { trigger });
    } catch (error) {
      counts.failed++;
      const errors = error instanceof ConfigError ? [...error.errors] : [];
      const text = error instanceof ConfigError ? error.format() : error instanceof Error ? error.message : String(error);
      result = this.#result(false, trigger, started, errors, `reload failed; still serving the previous config: ${text}`);
      // One record, one line: the errors are joined with " | " (the API returns them as a list).
      logger.error(`reload failed; still serving the previous config: ${text.split("\n").join(" | ")}`, { trigger });
    }
    this.#last = result;
    return result;
  }

  #result(ok: boolean, trigger: string, started: number, errors: ConfigIssue[], message: string): ReloadResult {
    const now = this.#now();
    return { ok, trigger, at: new Date(now).toISOString(), durationMs: now - started, errors, message };
  }
}
