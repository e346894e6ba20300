/**
 * The start-up fast path of config loading. The runtime's native YAML parser (Bun's) reads the
 * file; zod and the cross-section checks run as always. Only when something is wrong (or the text
 * leaves the subset yaml-screen.ts vouches for) does load.ts read it again with the `yaml` package,
 * whose node positions give every message its file:line:column. The `yaml` package and load.ts are
 * loaded only then: parsing with them costs tens of milliseconds of a start (bench/startup.ts).
 *
 * The fast path gives the Config load.ts gives, or none: test/config/fast-load.test.ts holds it to
 * that on the example configs and on generated YAML.
 */
import { readFileSync } from "node:fs";
import { expandVariables, protectReferences, restoreReferences } from "./env-expand.ts";
import type { ConfigEnv, LoadOptions } from "./load.ts";
import { configSchema, type Config } from "./schema.ts";
import { resolveEngines } from "./engine.ts";
import { checkSemantics } from "./semantic.ts";
import { countMappingKeys, countParsedKeys } from "./yaml-screen.ts";
import type { PathIssue } from "./yaml-source.ts";

/** A native YAML parser: text → plain data; throws on a syntax error. */
export type ParseYaml = (text: string) => unknown;

/** Options of `loadConfigFileFast`. */
export interface FastLoadOptions extends LoadOptions {
  /** The runtime's native parser (`Runtime.parseYaml`); without one every load goes the `yaml` way. */
  parseYaml?: ParseYaml | undefined;
}

/** `loadConfigFile` of load.ts, trying the fast path first: same Config, same errors and warnings. */
export async function loadConfigFileFast(path: string, env: ConfigEnv, options: FastLoadOptions = {}): Promise<Config> {
  const { parseYaml, ...loadOptions } = options;
  if (parseYaml) {
    let text: string | undefined;
    try {
      // A small local file, read once per start or reload: a blocking read costs less than the hop
      // through the thread pool (and the semantic checks read certificates the same way).
      text = readFileSync(path, "utf8");
    } catch {
      // load.ts reads it again and names the reason.
    }
    if (text !== undefined) {
      const config = fastConfig(text, env, parseYaml);
      if (config) return config;
      return (await import("./load.ts")).loadConfigText(text, path, env, loadOptions);
    }
  }
  return await (await import("./load.ts")).loadConfigFile(path, env, loadOptions);
}

/**
 * The Config of `text` when the fast path can vouch for it; undefined when the text needs the `yaml`
 * path: outside the screened subset, invalid, or with a warning (warnings need positions too).
 */
export function fastConfig(text: string, env: ConfigEnv, parseYaml: ParseYaml): Config | undefined {
  const data = fastConfigData(text, env, parseYaml);
  if (data === undefined) return undefined;
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) return undefined;
  const warnings: PathIssue[] = [];
  if (checkSemantics(parsed.data, warnings).length > 0 || warnings.length > 0) return undefined;
  return resolveEngines(parsed.data);
}

/**
 * The data `doc.toJS()` of load.ts would give after `${NAME}` expansion, parsed with `parseYaml`; or
 * undefined when the two might differ or expansion failed.
 */
export function fastConfigData(text: string, env: ConfigEnv, parseYaml: ParseYaml): Record<string, unknown> | undefined {
  const protectedText = protectReferences(text);
  const written = countMappingKeys(protectedText);
  if (written === undefined) return undefined;
  let data: unknown;
  try {
    data = parseYaml(protectedText);
  } catch {
    return undefined;
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) return undefined;
  // Fewer keys parsed than written: a duplicate key, which the `yaml` path reports.
  if (countParsedKeys(data) !== written) return undefined;
  const expanded = expandData(data, env);
  return expanded === FALLBACK ? undefined : (expanded as Record<string, unknown>);
}

const FALLBACK = Symbol("fallback");

// A plain scalar whose expansion reads as a number, bool or null becomes one on the `yaml` path
// (`weight: ${W:-3}` is 3), a quoted one stays a string; the parsed data cannot tell which was
// written, so such values go that way. YAML 1.2 core's null, bool, int and float forms (the tests of
// the `yaml` package's core schema; an empty result stays a string there).
const MAY_NOT_BE_STRING = new RegExp(
  "^(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE|0o[0-7]+|[-+]?[0-9]+|0x[0-9a-fA-F]+" +
    "|[-+]?\\.(?:inf|Inf|INF)|\\.nan|\\.NaN|\\.NAN" +
    "|[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\\.[0-9]+|[0-9]+\\.[0-9]*))$",
);

function expandData(value: unknown, env: ConfigEnv): unknown {
  if (typeof value === "string") {
    const result = expandVariables(restoreReferences(value), env);
    if (result.errors.length > 0) return FALLBACK;
    return result.expanded && MAY_NOT_BE_STRING.test(result.value) ? FALLBACK : result.value;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const item of value) {
      const expanded = expandData(item, env);
      if (expanded === FALLBACK) return FALLBACK;
      out.push(expanded);
    }
    return out;
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // A null key (`~:`) reads as "null" natively but "" on the `yaml` path; `__proto__` is no data.
      if (key === "null" || key === "__proto__") return FALLBACK;
      const expanded = expandData(item, env);
      if (expanded === FALLBACK) return FALLBACK;
      out[restoreReferences(key)] = expanded;
    }
    return out;
  }
  return value;
}
