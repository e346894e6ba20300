/**
 * `tenbin check [--json] FILE...`: validates each config (`-` is standard input) and reports every
 * problem of each, so one run checks a whole directory of configs. Exit 0 when all are valid.
 */
import { ConfigError, formatConfigIssue, type ConfigIssue } from "../config/config-error.ts";
import type { LoadOptions } from "../config/load.ts";
import type { Config } from "../config/schema.ts";

/** What `runCheckCommand` reads with and writes to. */
export interface CheckCommandOptions {
  json: boolean;
  load: (file: string, options: LoadOptions) => Promise<Config>;
  loadText: (text: string, file: string, options: LoadOptions) => Promise<Config>;
  readStdin: () => Promise<string>;
  /** Warnings about this host rather than the file (an address it lacks); none when absent. */
  hostWarnings?: (config: Config) => Promise<string[]>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** One file's verdict, as `--json` prints it. */
export interface CheckResult {
  file: string;
  ok: boolean;
  listeners?: number;
  pools?: number;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

/** Checks each file in turn; resolves to the exit code. */
export async function runCheckCommand(files: readonly string[], opts: CheckCommandOptions): Promise<number> {
  const results: CheckResult[] = [];
  let stdin: Promise<string> | undefined;
  for (const file of files) {
    const warnings: ConfigIssue[] = [];
    const options: LoadOptions = { onWarning: (w) => void warnings.push(w) };
    const name = file === "-" ? "<stdin>" : file;
    try {
      const config = file === "-" ? await opts.loadText(await (stdin ??= opts.readStdin()), name, options) : await opts.load(file, options);
      for (const message of (await opts.hostWarnings?.(config)) ?? []) warnings.push({ file: name, line: 0, column: 0, path: "", message });
      results.push({ file: name, ok: true, listeners: config.listeners.length, pools: Object.keys(config.pools).length, errors: [], warnings });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      results.push({ file: name, ok: false, errors: [...error.errors], warnings });
    }
  }
  const ok = results.every((r) => r.ok);
  if (opts.json) {
    opts.stdout(`${JSON.stringify({ ok, files: results })}\n`);
    return ok ? 0 : 1;
  }
  for (const r of results) {
    // Warnings (an expired certificate) do not fail the check; they go to standard error.
    for (const w of r.warnings) opts.stderr(`${formatConfigIssue({ ...w, message: `warning: ${w.message}` })}\n`);
    if (r.ok) opts.stdout(`${r.file}: ok (${r.listeners} listeners, ${r.pools} pools)\n`);
    else opts.stderr(`${r.errors.map(formatConfigIssue).join("\n")}\n`);
  }
  return ok ? 0 : 1;
}
