import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { embedConfigReference, REFERENCE_END, REFERENCE_START, renderConfigReference, renderJsonSchema } from "../../src/config/reference.ts";

const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const REFERENCE_DOC = "docs/config-reference.md";

describe("generated config documentation", () => {
  test("config/schema.json is up to date", () => {
    const onDisk = readFileSync(fromRoot("config/schema.json"), "utf8");
    if (onDisk !== renderJsonSchema()) {
      throw new Error("config/schema.json is stale; run `bun src/main.ts schema > config/schema.json`");
    }
  });

  test("the JSON Schema is plain JSON Schema ending in a newline", () => {
    const text = renderJsonSchema();
    expect(text.endsWith("}\n")).toBe(true);
    const schema = JSON.parse(text);
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.title).toBe("tenbin configuration");
    expect(schema.required).toEqual(["listeners", "pools"]);
    expect(text).not.toContain("x-tenbin-kind");
    // Durations are documented as written, with their defaults.
    expect(schema.properties.shutdown_timeout).toMatchObject({ type: "string", default: "30s" });
  });

  test("the reference has a row per key with type and default", () => {
    const reference = renderConfigReference();
    const rows = reference.split("\n").filter((line) => line.startsWith("| `"));
    const row = (key: string) => rows.find((line) => line.startsWith(`| \`${key}\` |`));
    expect(row("shutdown_timeout")).toBe("| `shutdown_timeout` | duration | `30s` | Longest wait for in-flight requests on SIGTERM |");
    expect(row("listeners[].listen")).toBe("| `listeners[].listen` | address (host:port) | required | host:port to accept on |");
    expect(row("pools.<name>.balance")).toBe("| `pools.<name>.balance` | one of `round_robin`, `least_conn`, `least_time`, `random_two`, `hash`, `first` | `round_robin` | How a server is chosen: smooth weighted round robin, fewest in flight, fastest (EWMA), power of two random choices, consistent hash (Maglev) or first available |");
    expect(row("pools.<name>.servers[].weight")).toBe("| `pools.<name>.servers[].weight` | integer 0–1000 | `1` | Relative share; 0 takes no new traffic |");
    expect(row("pools.<name>.timeouts.connect")).toStartWith("| `pools.<name>.timeouts.connect` | duration | `5s` |");
    expect(row("listeners[].max_body")).toStartWith("| `listeners[].max_body` | size | `100MB` |");
    // Every row has four cells: pipes inside cells are escaped.
    for (const line of rows) expect(line.replace(/\\\|/g, "").split("|").length).toBe(6);
    expect(reference.endsWith("|\n")).toBe(true);
  });

  test("embedConfigReference replaces only the region between the markers", () => {
    const before = `# tenbin\n\n${REFERENCE_START}\nold text\n${REFERENCE_END}\n\nmore\n`;
    const after = embedConfigReference(before)!;
    expect(after).toBe(`# tenbin\n\n${REFERENCE_START}\n\n${renderConfigReference()}${REFERENCE_END}\n\nmore\n`);
    expect(embedConfigReference(after)).toBe(after);
    expect(embedConfigReference("# no markers\n")).toBeUndefined();
  });

  test(`${REFERENCE_DOC} embeds the current config reference`, () => {
    const doc = readFileSync(fromRoot(REFERENCE_DOC), "utf8");
    const current = embedConfigReference(doc);
    if (current === undefined) throw new Error(`${REFERENCE_DOC} lacks the markers ${REFERENCE_START} and ${REFERENCE_END}`);
    if (current !== doc) {
      throw new Error(`the config reference in ${REFERENCE_DOC} is stale; run \`node_modules/.bin/bun test/update-readme.ts\``);
    }
  });
});
