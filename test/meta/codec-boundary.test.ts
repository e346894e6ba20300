/**
 * The codec's house rules (DESIGN.md, issue 16), enforced on the import lines: src/http1/ is pure
 * (it imports only itself, src/http/ and `node:buffer`: no sockets, no runtime, no proxy), and the
 * own server (listener/h1-server/) and the upstream client (proxy/h1-client/) never import each other.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const SRC = join(import.meta.dir, "..", "..", "src");

/** Every module a file under `dir` imports, as paths relative to src/ (or the bare specifier). */
function importsOf(dir: string): { file: string; target: string }[] {
  const found: { file: string; target: string }[] = [];
  for (const name of readdirSync(join(SRC, dir))) {
    if (!name.endsWith(".ts")) continue;
    const file = join(SRC, dir, name);
    for (const m of readFileSync(file, "utf8").matchAll(/^(?:import|export)[^"']*from\s+["']([^"']+)["']/gm)) {
      const spec = m[1]!;
      found.push({ file: relative(SRC, file), target: spec.startsWith(".") ? relative(SRC, resolve(join(SRC, dir), spec)) : spec });
    }
  }
  return found;
}

describe("codec boundaries", () => {
  test("src/http1/ imports only src/http1/, src/http/ and node:buffer", () => {
    const outside = importsOf("http1").filter(({ target }) => !/^(?:http1\/|http\/|node:buffer$)/.test(target));
    expect(outside).toEqual([]);
  });

  test("the own server and the upstream client never import each other", () => {
    const serverToClient = importsOf("listener/h1-server").filter(({ target }) => target.startsWith("proxy/h1-client/"));
    const clientToServer = importsOf("proxy/h1-client").filter(({ target }) => target.startsWith("listener/"));
    expect([...serverToClient, ...clientToServer]).toEqual([]);
  });

  test("the check sees imports (it would catch one)", () => {
    expect(importsOf("listener/h1-server").some(({ target }) => target === "http1/request-reader.ts")).toBe(true);
    expect(importsOf("proxy/h1-client").some(({ target }) => target === "http1/scratch.ts")).toBe(true);
  });
});
