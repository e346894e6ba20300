/** Command-line parsing: a command word, flags and positional arguments; unknown flags are errors. */

/** Raised for a usage mistake; main prints the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Flags a command accepts: name → whether it takes a value (repeatable values collect in a list). */
export type FlagSpec = Record<string, { value: boolean; alias?: string }>;

export interface ParsedArgs {
  flags: Map<string, string[]>;
  positional: string[];
}

/** Parses `args` against `spec`; `--name value`, `--name=value`, `-x value` and boolean `--flag`. */
export function parseArgs(args: readonly string[], spec: FlagSpec): ParsedArgs {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  const byAlias = new Map(Object.entries(spec).flatMap(([name, s]) => (s.alias ? [[s.alias, name] as const] : [])));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const raw = arg.startsWith("--") ? arg.slice(2, eq < 0 ? undefined : eq) : arg.slice(1, eq < 0 ? undefined : eq);
    const name = arg.startsWith("--") ? raw : byAlias.get(raw);
    const s = name === undefined ? undefined : spec[name];
    if (!name || !s) throw new UsageError(`unknown flag "${arg}"`);
    let value = "";
    if (s.value) {
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (i + 1 < args.length) value = args[++i]!;
      else throw new UsageError(`flag "${arg}" needs a value`);
    } else if (eq >= 0) {
      throw new UsageError(`flag "${arg}" takes no value`);
    }
    const list = flags.get(name) ?? [];
    list.push(value);
    flags.set(name, list);
  }
  return { flags, positional };
}

/** The last value of a flag, or `fallback`. */
export function flagValue(parsed: ParsedArgs, name: string, fallback: string): string {
  const list = parsed.flags.get(name);
  return list && list.length > 0 ? list[list.length - 1]! : fallback;
}
