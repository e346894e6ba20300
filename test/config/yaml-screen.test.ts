/**
 * The screen of the fast path (src/config/yaml-screen.ts): it counts keys exactly in the subset it
 * takes, declines the rest, and whatever it lets through Bun's parser reads as the `yaml` path does.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { LineCounter, parseDocument } from "yaml";
import { expandDocumentEnv, protectReferences } from "../../src/config/env.ts";
import { fastConfigData } from "../../src/config/fast-load.ts";
import { countMappingKeys, countParsedKeys } from "../../src/config/yaml-screen.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";

const parseYaml = bunRuntime.parseYaml!;

describe("countMappingKeys", () => {
  test("counts block and flow keys, not colons in values, quotes, comments or block scalars", () => {
    expect(countMappingKeys("a: 1\nb:\n  c: http://x:80/ # d: e\n  'f: g': \"h: i\"\n")).toBe(4);
    expect(countMappingKeys("- { a: 1, b: [c, {d: e}] }\n- [x: 1]\n")).toBe(4);
    expect(countMappingKeys("a: |\n  b: c\n  d: e\nf: >-\n  g: h\n\ni: 1\n")).toBe(3);
    expect(countMappingKeys("a:\t1\nb : 2\n")).toBe(2);
    expect(countMappingKeys("")).toBe(0);
  });

  test("counts a duplicate key twice, so the caller sees fewer keys parsed than written", () => {
    const text = "a: 1\nb: { c: 1, c: 2 }\na: 3\n";
    expect(countMappingKeys(text)).toBe(5);
    expect(countParsedKeys(parseYaml(text))).toBe(3);
  });

  test("declines what it does not model", () => {
    for (const text of [
      "a: &x 1\nb: *x\n", // anchors and aliases
      "a: !!str 1\n", // tags
      "? a\n: 1\n", // complex keys
      "%YAML 1.1\n---\na: 1\n", // directives
      "a: 1\n...\n", // document end
      "a: { b, c }\n", // flow keys without a value
      "a: \"one\n  two\"\n", // multi-line quoted scalars
      "a: [1,\n2]\n", // flow continuation not indented past its key
      "a: ,x\n", // a plain scalar starting with an indicator
      "a: -0x1F\n", // signed hex: the parsers disagree
      "\uFEFFa: 1\n", // a byte order mark
      "a: 1\rb: 2\n", // a lone CR
      "a: [1, 2\n", // unclosed
    ]) {
      expect([text, countMappingKeys(text)]).toEqual([text, undefined]);
    }
  });

  test("countParsedKeys counts keys of nested objects and declines exotic values", () => {
    expect(countParsedKeys({ a: [{ b: 1, c: { d: null } }], e: "f" })).toBe(5);
    expect(countParsedKeys([1, "x", null])).toBe(0);
    expect(countParsedKeys({ a: new Date(0) })).toBeUndefined();
  });
});

/** The data the yaml path hands to zod (after `${NAME}` expansion), or why it has none. */
function yamlPathData(text: string, env: Record<string, string>): unknown {
  const doc = parseDocument(protectReferences(text), { lineCounter: new LineCounter(), prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return "yaml error";
  if (expandDocumentEnv(doc, env).length > 0) return "env error";
  try {
    return doc.toJS({ maxAliasCount: 1000 });
  } catch {
    return "alias error";
  }
}

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("what the screen lets through reads alike", () => {
  const env = { A: "abc", N: "12", E: "", TENBIN_ADMIN_TOKEN: "token" };

  test("an expanded value is taken only where quoted and plain would read the same", () => {
    const values = ["12", "-3", "+7", "0o17", "0x1F", "1.5", ".5", "1e3", ".inf", "-.Inf", ".nan", "true", "False", "null", "~", "",
      "yes", "on", "0x", "1_000", "0b1", "1:20", "2001-12-14", "10.0.0.1:80", "0o8", "abc", " x ", "1 2"];
    let taken = 0;
    for (const value of values) {
      for (const text of ["a: ${X}\n", 'a: "${X}"\n', "a: [${X}]\n", "a: { b: ${X} }\n"]) {
        const fast = fastConfigData(text, { X: value }, parseYaml);
        if (fast === undefined) continue;
        taken++;
        expect({ value, text, data: fast as unknown }).toEqual({ value, text, data: yamlPathData(text, { X: value }) });
      }
    }
    expect(taken).toBeGreaterThan(40);
  });
  const dir = fileURLToPath(new URL("../../config/examples/", import.meta.url));
  const examples = readdirSync(dir).filter((n) => n.endsWith(".yaml")).sort().map((n) => readFileSync(`${dir}${n}`, "utf8"));
  // YAML-significant pieces: each mutation inserts, deletes, replaces or duplicates a line.
  const pieces = [" ", "\n", ":", ": ", "- ", "#", " #", "'", '"', "[", "]", "{", "}", ",", "|", ">", "?", "&", "*", "!", "%", "\t", "\\", "a", "1", "${A}", "${N}", "~", "<<", "0x", ".", "\n  ", "\n- ", "é"];

  test("mutated example configs: the fast data equals the yaml path's whenever the screen takes them", () => {
    const random = seeded(5);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    let taken = 0;
    const mismatches: string[] = [];
    for (let round = 0; round < 1500; round++) {
      let text = pick(examples);
      for (let m = 1 + Math.floor(random() * 3); m > 0; m--) {
        const at = Math.floor(random() * text.length);
        const op = random();
        if (op < 0.4) text = text.slice(0, at) + pick(pieces) + text.slice(at);
        else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 3));
        else if (op < 0.85) text = text.slice(0, at) + pick(pieces) + text.slice(at + 1);
        else {
          const lines = text.split("\n");
          const i = Math.floor(random() * lines.length);
          lines.splice(i, 0, lines[i]!);
          text = lines.join("\n");
        }
      }
      const fast = fastConfigData(text, env, parseYaml);
      if (fast === undefined) continue;
      taken++;
      if (!isDeepStrictEqual(fast, yamlPathData(text, env)) && mismatches.length < 3) mismatches.push(text);
    }
    expect(mismatches).toEqual([]);
    // Most mutations keep a config the screen takes; a screen that declines everything proves nothing.
    expect(taken).toBeGreaterThan(500);
  });
});
