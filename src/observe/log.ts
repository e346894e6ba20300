/**
 * The one logger: one line per event on standard error, `time level message key=value ...`, or JSON
 * lines when `TENBIN_LOG_FORMAT=json`. Components receive a `Logger`, never a global.
 * Every record is one line: a line break in a text message is written as `\n`. In the text format
 * a string field whose value the message already states as a word of its own is not repeated
 * (`listener web listening on http://…` carries `listener` and `url` for JSON readers), but a
 * value that is only part of a word is (`api-1 down` keeps `pool=api`).
 */

/** Severity of a record; records below the logger's level are dropped. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Whether `value` names a level (for --log-level and TENBIN_LOG_LEVEL). */
export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LEVELS, value);
}

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  json?: boolean;
  /** Where lines go; standard error by default (set by main from the runtime). */
  write: (line: string) => void;
}

/** Builds a logger writing whole lines through `write`. */
export function createLogger(options: LoggerOptions): Logger {
  const min = LEVELS[options.level ?? "info"];
  const json = options.json ?? false;
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVELS[level] < min) return;
    const time = new Date().toISOString();
    if (json) {
      options.write(JSON.stringify({ time, level, message, ...fields }) + "\n");
      return;
    }
    let line = `${time} ${level.padEnd(5)} ${message.replace(/\r?\n/g, "\\n")}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined || (typeof v === "string" && v !== "" && statesWord(message, v))) continue;
        const s = String(v);
        line += ` ${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
      }
    }
    options.write(line + "\n");
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** Whether `value` stands in `message` as a whole word (between spaces or at an end). */
function statesWord(message: string, value: string): boolean {
  for (let at = message.indexOf(value); at >= 0; at = message.indexOf(value, at + 1)) {
    const end = at + value.length;
    if ((at === 0 || message[at - 1] === " ") && (end === message.length || message[end] === " ")) return true;
  }
  return false;
}

/** A logger that keeps its lines in memory, for tests. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (l) => void lines.push(l.trimEnd()) });
  return Object.assign(logger, { lines });
}
