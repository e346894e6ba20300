/**
 * The one error the config loader throws: every problem found in a config file, each with the file,
 * line and column a user can jump to, so `tenbin check` can print them all at once.
 */

/** One problem in a config file. `line` and `column` are 1-based; 0 when the file could not be read. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Key path such as `listeners[0].routes[2].pool`; empty for the whole file. */
  path: string;
  message: string;
}

/** How many problems one error keeps; past that, a user fixes the first ones and runs again. */
export const MAX_CONFIG_ISSUES = 50;

/** A segment of a key path: a map key or a list index. */
export type KeySegment = string | number;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Formats `["listeners", 0, "routes"]` as `listeners[0].routes`; odd keys as `pools["api.v1"]`. */
export function formatKeyPath(path: readonly KeySegment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** One issue as a line: `file:line:column path: message` (position and path left out when unknown). */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : `${issue.file}:`;
  return issue.path === "" ? `${where} ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}

/**
 * Thrown by `loadConfigText` / `loadConfigFile` when a config cannot be used. Holds every problem
 * found (sorted by position, duplicates dropped, at most `MAX_CONFIG_ISSUES`); `message` is the
 * whole report so an uncaught error still reads well.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** The problems, in file order. */
  readonly errors: readonly ConfigIssue[];
  /** Problems found beyond `MAX_CONFIG_ISSUES` and left out of `errors`. */
  readonly omitted: number;

  constructor(issues: readonly ConfigIssue[]) {
    const unique = dedupe(issues).sort(byPosition);
    const kept = unique.slice(0, MAX_CONFIG_ISSUES);
    super(formatAll(kept, unique.length - kept.length));
    this.errors = kept;
    this.omitted = unique.length - kept.length;
  }

  /** One line per problem, ready for a terminal. */
  format(): string {
    return formatAll(this.errors, this.omitted);
  }
}

function formatAll(issues: readonly ConfigIssue[], omitted: number): string {
  const lines = issues.map(formatConfigIssue);
  if (omitted > 0) lines.push(`... and ${omitted} more ${omitted === 1 ? "problem" : "problems"} not shown`);
  return lines.join("\n");
}

function dedupe(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = formatConfigIssue(issue);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function byPosition(a: ConfigIssue, b: ConfigIssue): number {
  return a.line - b.line || a.column - b.column;
}
