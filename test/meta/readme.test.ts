/**
 * The README and docs/ say only what is true of the repository: every relative link resolves,
 * every `tenbin` command they show exists (defect: `dist/tenbin run -c tenbin.yaml` pointed at a file
 * that is not there, and the README at design notes outside the repository), every npm script they
 * name is in package.json, and the README stays one screen.
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { ROOT } from "../helpers/tenbin.ts";

const COMMANDS = new Set(["run", "check", "route", "probe", "ready", "ha", "hash-password", "demo", "schema", "version", "help"]);

const docs = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");

test("every relative link resolves to a file of the repository", () => {
  const broken: string[] = [];
  for (const file of docs) {
    for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!) || target!.startsWith("#")) continue;
      const path = normalize(join(dirname(file), target!.split("#")[0]!));
      if (!existsSync(join(ROOT, path))) broken.push(`${file}: ${target}`);
    }
  }
  expect(broken).toEqual([]);
});

test("every tenbin command in a code block exists, and every file it names", () => {
  const wrong: string[] = [];
  for (const file of docs) {
    // Every fence pairs with the next one; only shell blocks (sh, bash or none) hold commands.
    for (const [, lang, body] of read(file).matchAll(/```([a-z]*)\n([\s\S]*?)```/g)) {
      if (lang !== "" && lang !== "sh" && lang !== "bash") continue;
      for (const raw of body!.split("\n")) {
        const line = raw.replace(/(^|\s)#.*$/, ""); // comments are prose
        const m = line.match(/(?:^|\s|\/)tenbin\s+([a-z][a-z-]*)(.*)$/);
        if (!m) continue;
        if (!COMMANDS.has(m[1]!)) wrong.push(`${file}: unknown command in "${line.trim()}"`);
        for (const [, path] of m[2]!.matchAll(/\s((?:config|docs)\/\S+\.ya?ml)/g)) {
          if (!existsSync(join(ROOT, path!))) wrong.push(`${file}: "${path}" does not exist`);
        }
      }
    }
  }
  expect(wrong).toEqual([]);
});

test("npm scripts the docs name are in package.json", () => {
  const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts);
  const named = new Set(docs.flatMap((file) => [...read(file).matchAll(/npm run ([a-z]+)/g)].map((m) => m[1]!)));
  expect([...named].filter((s) => !scripts.includes(s))).toEqual([]);
});

test("the README is one screen and points at nothing outside the repository", () => {
  const readme = read("README.md");
  expect(readme.split("\n").length).toBeLessThan(100);
  expect(readme).not.toMatch(/design notes/i);
  expect(readme).not.toContain("dist/tenbin run -c tenbin.yaml");
});
