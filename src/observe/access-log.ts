/**
 * The access log: one line per request, as JSON or in Apache's combined format, to a file or to
 * standard output. Off unless a listener asks for it. The request path only formats a line and pushes
 * it onto an in-memory buffer; a writer flushes the buffer in the background, and when the disk
 * cannot keep up it drops lines (and counts them) instead of making requests wait.
 */
import { type FileHandle, open } from "node:fs/promises";
import process from "node:process";

/** What one access log line says about a request. */
export interface AccessEntry {
  /** Milliseconds since the epoch when the request arrived. */
  time: number;
  client: string;
  method: string;
  host: string;
  /** Path and query as the client sent them. */
  path: string;
  status: number;
  /** Response body bytes from Content-Length; -1 when the body was streamed without one. */
  bytes: number;
  /** Time to the response headers, in ms. */
  durationMs: number;
  listener: string;
  route: string;
  pool: string;
  server: string;
  requestId: string;
  retries: number;
  /** The policy that answered instead of the pool (redirect, respond, 401, 403, 429), if one did. */
  policy?: string | undefined;
  referer: string;
  userAgent: string;
  /** Why the server refused the request itself (the request is then `<BADREQ>`, as HAProxy logs it). */
  reason?: string | undefined;
}

/** The method of an access log entry for a request the server refused before it was whole (HAProxy's word). */
export const BADREQ = "<BADREQ>";

/** `json` or Apache/nginx `combined` (with tenbin's fields appended as key="value"). */
export type AccessLogFormat = "json" | "combined";

/** One line of the access log, newline included. */
export function formatAccessEntry(format: AccessLogFormat, e: AccessEntry): string {
  if (format === "json") {
    return JSON.stringify({
      time: new Date(e.time).toISOString(),
      client: e.client,
      method: e.method,
      host: e.host,
      path: e.path,
      status: e.status,
      bytes: e.bytes < 0 ? null : e.bytes,
      duration_ms: Math.round(e.durationMs * 1000) / 1000,
      listener: e.listener,
      route: e.route,
      pool: e.pool,
      server: e.server,
      request_id: e.requestId,
      retries: e.retries,
      // What the combined format has as well; null when the request had none.
      referer: e.referer || null,
      user_agent: e.userAgent || null,
      ...(e.policy === undefined ? {} : { policy: e.policy }),
      ...(e.reason === undefined ? {} : { reason: e.reason }),
    }) + "\n";
  }
  const bytes = e.bytes < 0 ? "-" : String(e.bytes);
  const request = e.method === BADREQ ? BADREQ : `${e.method} ${e.path} HTTP/1.1`;
  return `${e.client || "-"} - - [${clfTime(e.time)}] ${quote(request)} ${e.status} ${bytes} ${quote(e.referer || "-")} ${quote(e.userAgent || "-")}` +
    ` host=${quote(e.host)} duration=${(e.durationMs / 1000).toFixed(6)} listener=${quote(e.listener)} route=${quote(e.route)}` +
    ` pool=${quote(e.pool)} server=${quote(e.server)} request_id=${quote(e.requestId)} retries=${e.retries}` +
    (e.policy === undefined ? "" : ` policy=${quote(e.policy)}`) +
    (e.reason === undefined ? "\n" : ` reason=${quote(e.reason)}\n`);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
let clfSecond = -1;
let clfText = "";

/** `10/Oct/2000:13:55:36 +0000`, cached per second (UTC: a balancer's logs should not move with DST). */
function clfTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== clfSecond) {
    const d = new Date(second * 1000);
    const pad = (n: number) => String(n).padStart(2, "0");
    clfText = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
    clfSecond = second;
  }
  return clfText;
}

/** Quotes a field for the combined format: `"` and `\` escaped, control characters as \xHH. */
function quote(text: string): string {
  // deno-lint-ignore no-control-regex
  return `"${text.replace(/["\\]/g, "\\$&").replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}"`;
}

/** How a writer behaves; the defaults suit production. */
export interface AccessLogWriterOptions {
  /** Lines wait at most this long before a write (ms). */
  flushMs?: number;
  /** Buffered bytes beyond which new lines are dropped until the writer catches up. */
  maxBufferBytes?: number;
  /** Told once per dropped line. */
  onDrop?: () => void;
  /** Told when the file cannot be opened or written (the writer keeps trying on later flushes). */
  onError?: (message: string) => void;
}

/** Buffered, never-blocking writer of one access log destination (a file path or `stdout`). */
export class AccessLogWriter {
  readonly path: string;
  readonly #flushMs: number;
  readonly #maxBuffer: number;
  readonly #onDrop: () => void;
  readonly #onError: (message: string) => void;
  #pending: string[] = [];
  #pendingBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> | undefined;
  #file: FileHandle | undefined;
  #reopen = false;
  #closed = false;
  #lastError = "";

  constructor(path: string, options: AccessLogWriterOptions = {}) {
    this.path = path;
    this.#flushMs = options.flushMs ?? 100;
    this.#maxBuffer = options.maxBufferBytes ?? 4 * 1024 * 1024;
    this.#onDrop = options.onDrop ?? (() => {});
    this.#onError = options.onError ?? (() => {});
  }

  /** Queues one line (newline included); returns false when it was dropped. */
  write(line: string): boolean {
    if (this.#closed || this.#pendingBytes > this.#maxBuffer) {
      this.#onDrop();
      return false;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= 64 * 1024 && this.#writing === undefined) this.#startFlush();
    else this.#timer ??= setTimeout(() => this.#startFlush(), this.#flushMs);
    return true;
  }

  /** Closes and reopens the file at the next write (logrotate moved it: SIGUSR1). */
  reopen(): void {
    this.#reopen = true;
  }

  /** Writes everything buffered; resolves when it is on its way to the file. */
  async flush(): Promise<void> {
    for (let i = 0; i < 1000 && (this.#pending.length > 0 || this.#writing); i++) {
      if (this.#writing) await this.#writing;
      else this.#startFlush();
    }
  }

  /** Flushes and closes the file; later lines are dropped. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.flush(); // lines queued while the first flush finished
    clearTimeout(this.#timer);
    await this.#file?.close().catch(() => undefined);
    this.#file = undefined;
  }

  #startFlush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#writing || this.#pending.length === 0) return;
    const text = this.#pending.join("");
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#writing = this.#write(text).finally(() => {
      this.#writing = undefined;
      if (this.#pending.length > 0) this.#timer ??= setTimeout(() => this.#startFlush(), 0);
    });
  }

  async #write(text: string): Promise<void> {
    if (this.path === "stdout") {
      await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
      return;
    }
    try {
      if (this.#reopen && this.#file) {
        this.#reopen = false;
        await this.#file.close().catch(() => undefined);
        this.#file = undefined;
      }
      this.#file ??= await open(this.path, "a");
      await this.#file.write(text);
      this.#lastError = "";
    } catch (error) {
      const message = `access log "${this.path}": ${(error as Error).message}`;
      // One message per distinct error, not one per flush of a full disk.
      if (message !== this.#lastError) this.#onError(message);
      this.#lastError = message;
      this.#file = undefined;
    }
  }
}

/**
 * The writers of every access log destination, shared by listeners logging to the same file. A
 * reload asks for the paths of the new config (`writer`), then `retain`s them, closing the rest.
 */
export class AccessLogs {
  readonly #writers = new Map<string, AccessLogWriter>();
  readonly #options: AccessLogWriterOptions;

  constructor(options: AccessLogWriterOptions = {}) {
    this.#options = options;
  }

  /** The writer of `path` (`stdout` for standard output). */
  writer(path: string): AccessLogWriter {
    let writer = this.#writers.get(path);
    if (!writer) {
      writer = new AccessLogWriter(path, this.#options);
      this.#writers.set(path, writer);
    }
    return writer;
  }

  /** Closes the writers of paths no longer used. */
  retain(paths: ReadonlySet<string>): void {
    for (const [path, writer] of this.#writers) {
      if (paths.has(path)) continue;
      this.#writers.delete(path);
      void writer.close();
    }
  }

  /** Reopens every file (SIGUSR1 after logrotate). */
  reopenAll(): void {
    for (const writer of this.#writers.values()) writer.reopen();
  }

  /** Flushes and closes every writer. */
  async closeAll(): Promise<void> {
    const writers = [...this.#writers.values()];
    this.#writers.clear();
    await Promise.all(writers.map((w) => w.close()));
  }
}
