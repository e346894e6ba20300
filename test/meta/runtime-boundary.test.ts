/**
 * The house rule "only src/runtime/ names Bun or Deno", enforced: every other file under src/ must
 * speak Web standards and `node:` modules, so the same source runs on both engines.
 *
 * Comments are ignored (a doc comment may well say "Bun.serve drops ..."); strings are not, since
 * `globalThis["Bun"]` or `import("bun")` are ways around the rule too.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const SRC = join(ROOT, "src");
const RUNTIME = join(SRC, "runtime") + sep;
const SOURCE_FILE = /\.(?:[cm]?[jt]s|tsx|jsx)$/;

// `Bun.x`, `Bun?.x`, `Deno.x`, `globalThis["Bun"]`, and imports of "bun" / "bun:*" modules (a plain
// "bun" string stays allowed: `runtime.name === "bun"` is how portable code asks where it runs).
const RUNTIME_NAME =
  /\b(?:Bun|Deno)\s*\??\.|\[\s*["'`](?:Bun|Deno)["'`]\s*\]|(?:\bfrom|\bimport\s*\(?|\brequire\s*\()\s*["'`]bun(?::[\w-]+)?["'`]/;

/** Blanks out comments, keeping line numbers; a `//` or `/*` inside a string is not a comment. */
function stripComments(code: string): string {
  let out = "";
  let i = 0;
  let quote = ""; // the quote character of the string we are in, or ""
  while (i < code.length) {
    const c = code[i] as string;
    const next = code[i + 1];
    if (quote !== "") {
      out += c;
      if (c === "\\") {
        out += next ?? "";
        i += 2;
        continue;
      }
      if (c === quote || (c === "\n" && quote !== "`")) quote = "";
      i++;
      continue;
    }
    if (c === "/" && next === "/") {
      while (i < code.length && code[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && next === "*") {
      const end = code.indexOf("*/", i + 2);
      const stop = end === -1 ? code.length : end + 2;
      out += code.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") quote = c;
    out += c;
    i++;
  }
  return out;
}

/** Lines of `code` (comments ignored) that name a runtime, as "line: text". */
function runtimeMentions(code: string): string[] {
  const found: string[] = [];
  const lines = stripComments(code).split("\n");
  lines.forEach((line, index) => {
    if (RUNTIME_NAME.test(line)) found.push(`${index + 1}: ${line.trim()}`);
  });
  return found;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (SOURCE_FILE.test(entry.name)) files.push(path);
  }
  return files;
}

describe("runtime boundary", () => {
  test("no file under src/ outside src/runtime/ names Bun or Deno", () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(0);
    const offenders: string[] = [];
    for (const file of files) {
      if (file.startsWith(RUNTIME)) continue;
      for (const hit of runtimeMentions(readFileSync(file, "utf8"))) offenders.push(`${relative(ROOT, file)}:${hit}`);
    }
    expect(offenders).toEqual([]);
  });

  test("the scanner finds runtime names in code and ignores them in comments", () => {
    expect(runtimeMentions("const s = Bun.serve({});")).toEqual(["1: const s = Bun.serve({});"]);
    expect(runtimeMentions("x\nawait Deno.readTextFile(p);")).toEqual(["2: await Deno.readTextFile(p);"]);
    expect(runtimeMentions('const b = globalThis["Bun"];')).toHaveLength(1);
    expect(runtimeMentions("const v = Bun?.version;")).toHaveLength(1);
    expect(runtimeMentions('import { serve } from "bun";')).toHaveLength(1);
    expect(runtimeMentions('import { Database } from "bun:sqlite";')).toHaveLength(1);
    expect(runtimeMentions('const m = await import("bun");')).toHaveLength(1);
    expect(runtimeMentions('if (runtime.name === "bun") x();')).toEqual([]);
    expect(runtimeMentions('const u = "http://x"; Bun.file(u);')).toHaveLength(1);
    expect(runtimeMentions("// Bun.serve drops a hand-set Content-Length")).toEqual([]);
    expect(runtimeMentions("/** Deno.serve has\n * Bun.serve too */ const a = 1;")).toEqual([]);
    expect(runtimeMentions("const a = 1; // see Bun.serve")).toEqual([]);
    expect(runtimeMentions("const bundle = 1; const Bunny = 2;")).toEqual([]);
  });
});
