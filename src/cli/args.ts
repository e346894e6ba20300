/**
 * Command-line parsing on `node:util` `parseArgs` (the same in Node, Bun and Deno): each command
 * declares its options and positional count; unknown flags, missing values and stray arguments are
 * `UsageError`s (main prints the usage and exits 2). Every command takes `-h`/`--help`.
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** Raised for a usage mistake; main prints the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** The command whose usage to print; the general usage when undefined. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** What a command accepts. */
export interface CommandSpec {
  /** Usage text printed by `--help` and after a usage mistake. */
  usage: string;
  options: ParseArgsOptionsConfig;
  /** Positional arguments allowed: [min, max]. */
  positionals: readonly [number, number];
}

/** Option values by long name (strings, booleans, or lists of strings for `multiple`). */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Parsed arguments of one command; `help` is true when `-h`/`--help` was given. */
export interface CommandArgs {
  values: OptionValues;
  positionals: string[];
  help: boolean;
}

const HELP: ParseArgsOptionsConfig = { help: { type: "boolean", short: "h" } };

/** Parses `args` for `command` against `spec`; throws `UsageError` on a mistake. */
export function parseCommandArgs(command: string, args: readonly string[], spec: CommandSpec): CommandArgs {
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: { ...spec.options, ...HELP }, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    throw new UsageError(usageMessage(error), command);
  }
  const help = parsed.values.help === true;
  const [min, max] = spec.positionals;
  if (!help && parsed.positionals.length > max) throw new UsageError(`unexpected argument "${parsed.positionals[max]}"`, command);
  if (!help && parsed.positionals.length < min) throw new UsageError(`${command} needs ${min === 1 ? "an argument" : `${min} arguments`}`, command);
  return { values: parsed.values, positionals: parsed.positionals, help };
}

/** A string option's value (the last one given), or `fallback`. */
export function stringOption(args: CommandArgs, name: string, fallback: string): string;
export function stringOption(args: CommandArgs, name: string): string | undefined;
export function stringOption(args: CommandArgs, name: string, fallback?: string): string | undefined {
  const value = args.values[name];
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return typeof last === "string" ? last : fallback;
}

/** Every value of a repeatable string option. */
export function listOption(args: CommandArgs, name: string): string[] {
  const value = args.values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string");
}

/** parseArgs's messages, in tenbin's style: `unknown flag "--x"`. */
function usageMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = String(message ?? error);
  const flag = text.match(/'(-[^' ,]*)/)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) return `unknown flag "${flag}"`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) {
    return /argument missing/i.test(text) ? `flag "${flag}" needs a value` : `flag "${flag}" takes no value`;
  }
  return text.charAt(0).toLowerCase() + text.slice(1).replace(/\.$/, "");
}

/** Flags of a command that parses its own (`ready`, `ha`): name → takes a value, short alias. */
export type FlagSpec = Record<string, { value: boolean; alias?: string }>;

/** Flags by name, each with every value given (a boolean flag: one "" per use), and positionals. */
export interface ParsedArgs {
  flags: Map<string, string[]>;
  positional: string[];
  help: boolean;
}

/** `parseCommandArgs` for a `FlagSpec`: every flag may repeat; values are collected in order. */
export function parseFlags(command: string, args: readonly string[], spec: FlagSpec): ParsedArgs {
  const options: ParseArgsOptionsConfig = {};
  for (const [name, s] of Object.entries(spec)) {
    options[name] = { type: s.value ? "string" : "boolean", multiple: true, ...(s.alias === undefined ? {} : { short: s.alias }) };
  }
  const parsed = parseCommandArgs(command, args, { usage: "", options, positionals: [0, Number.MAX_SAFE_INTEGER] });
  const flags = new Map<string, string[]>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (name === "help" || value === undefined) continue;
    flags.set(name, (Array.isArray(value) ? value : [value]).map((v) => (typeof v === "string" ? v : "")));
  }
  return { flags, positional: parsed.positionals, help: parsed.help };
}

/** The last value of a flag, or `fallback`. */
export function flagValue(parsed: ParsedArgs, name: string, fallback: string): string {
  const list = parsed.flags.get(name);
  return list && list.length > 0 ? list[list.length - 1]! : fallback;
}
