/**
 * YAML text → validated `Config`, in four passes that each report every problem they find, with
 * file:line:column: YAML syntax, `${NAME}` expansion, the zod schema, then cross-section checks.
 * A pass runs only when the one before it passed, so one mistake is not reported three times; the
 * cross-section checks are the exception: they also run, on what the schema accepted, after a
 * schema error (semantic-despite.ts).
 */
import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument, type YAMLError } from "yaml";
import { ConfigError, type ConfigIssue } from "./config-error.ts";
import { expandDocumentEnv, protectReferences, restoreReferences } from "./env.ts";
import { describeIssues, leafMessage } from "./issues.ts";
import { configSchema, type Config } from "./schema.ts";
import { resolveEngines } from "./engine.ts";
import { checkSemantics } from "./semantic.ts";
import { semanticIssuesDespite } from "./semantic-despite.ts";
import { YamlSource, type PathIssue } from "./yaml-source.ts";

/** Environment variables as `${NAME}` expansion sees them. */
export type ConfigEnv = Readonly<Record<string, string | undefined>>;

/** Options of a load. */
export interface LoadOptions {
  /** Told of each problem that does not stop the config (an expired certificate), with its position. */
  onWarning?: (issue: ConfigIssue) => void;
}

/** Reads and loads a config file; a missing or unreadable file is a `ConfigError` naming the OS reason. */
export async function loadConfigFile(path: string, env: ConfigEnv, options: LoadOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError([{ file: path, line: 0, column: 0, path: "", message: `cannot read the config file: ${osReason(error)}` }]);
  }
  return loadConfigText(text, path, env, options);
}

/**
 * Parses, expands, validates and checks config text; `file` only names it in messages.
 * Throws `ConfigError` listing every problem found.
 */
export function loadConfigText(text: string, file: string, env: ConfigEnv, options: LoadOptions = {}): Config {
  const lines = new LineCounter();
  const protectedText = protectReferences(text);
  // `merge`: YAML 1.1 merge keys (`<<: *defaults`), the docker-compose habit for reuse.
  const doc = parseDocument(protectedText, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  const source = new YamlSource(file, doc, lines);

  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((error) => yamlIssue(source, protectedText, error)));
  }
  const envIssues = expandDocumentEnv(doc, env);
  if (envIssues.length > 0) {
    throw new ConfigError(envIssues.map((issue) => source.issueAtOffset(issue.offset, issue.path, issue.message)));
  }
  if (doc.contents === null) {
    throw new ConfigError([{ file, line: 1, column: 1, path: "", message: "the config is empty; expected a map with listeners and pools" }]);
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    // Only an alias bomb gets here: `toJS` refuses to expand aliases past the count.
    throw new ConfigError([{ file, line: 1, column: 1, path: "", message: `cannot expand the YAML aliases: ${(error as Error).message}` }]);
  }

  data = withoutExtensions(data);
  const parsed = configSchema.safeParse(data, { error: leafMessage, reportInput: true });
  if (!parsed.success) {
    // The cross-section checks still run on what the schema accepted, so one error does not hide another.
    const issues = [...describeIssues(parsed.error.issues, configSchema), ...semanticIssuesDespite(data, parsed.error.issues)];
    throw new ConfigError(issues.map((issue) => source.issueAt(issue)));
  }
  const warnings: PathIssue[] = [];
  const problems = checkSemantics(parsed.data, warnings);
  if (problems.length > 0) throw new ConfigError(problems.map((issue) => source.issueAt(issue)));
  for (const warning of warnings) options.onWarning?.(source.issueAt(warning));
  return resolveEngines(parsed.data);
}

/**
 * The data without its top-level `x-` keys: extension fields (as in docker-compose), where anchors
 * for reuse live. Only at the top: below it, names such as a pool called `x-api` are the user's.
 */
export function withoutExtensions(data: unknown): unknown {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith("x-")));
}

function yamlIssue(source: YamlSource, text: string, error: YAMLError): ConfigIssue {
  const start = visibleOffset(text, error.pos[0]);
  if (error.code === "DUPLICATE_KEY") {
    const found = source.keyAt(start);
    const key = restoreReferences(found?.key ?? "");
    const path = (found?.path ?? []).map((s) => (typeof s === "string" ? restoreReferences(s) : s));
    return source.issueAtOffset(start, path, `duplicate key ${JSON.stringify(key)}; a key may appear once in a map`);
  }
  if (error.code === "MULTIPLE_DOCS") {
    return source.issueAtOffset(start, [], "more than one YAML document (a second ---); expected one document per config file");
  }
  const firstLine = error.message.split("\n")[0] ?? error.code;
  const detail = firstLine.length > 160 ? `${firstLine.slice(0, 157)}...` : firstLine;
  return source.issueAtOffset(start, [], `bad YAML: ${detail.charAt(0).toLowerCase()}${detail.slice(1)}`);
}

/**
 * The parser may place an error on the indentation before a token, or past the end of the file
 * (an unclosed quote): move it to the next visible character on that line, else the last one before.
 */
function visibleOffset(text: string, offset: number): number {
  let i = offset;
  while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  if (i < text.length && text[i] !== "\n" && text[i] !== "\r") return i;
  i = Math.min(offset, text.length) - 1;
  while (i > 0 && /\s/.test(text[i]!)) i--;
  return Math.max(i, 0);
}

/** "ENOENT: no such file or directory, open 'x'" → "no such file or directory (ENOENT)". */
function osReason(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  let reason = String(message ?? error);
  if (typeof code === "string") reason = reason.replace(new RegExp(`^${code}:\\s*`), "");
  reason = reason.replace(/,\s*(open|read|stat)\b.*$/, "");
  return typeof code === "string" ? `${reason} (${code})` : reason;
}
