import { describe, expect, test } from "bun:test";
import { expandVariables, protectReferences, restoreReferences } from "../../src/config/env.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { errorLines, yaml } from "./helpers.ts";

describe("expandVariables", () => {
  const env = { HOST: "10.0.0.1", EMPTY: "" };

  test("replaces set variables and uses defaults for unset or empty ones", () => {
    expect(expandVariables("${HOST}:${PORT:-8080}", env)).toEqual({ value: "10.0.0.1:8080", expanded: true, errors: [] });
    expect(expandVariables("[${EMPTY:-x}]", env).value).toBe("[x]");
    expect(expandVariables("[${EMPTY}]", env).value).toBe("[]");
    expect(expandVariables("${NOPE:-}", env).value).toBe("");
    expect(expandVariables("${NOPE:-a:-b}", env).value).toBe("a:-b");
  });

  test("$${ is a literal ${ and a lone $ stays", () => {
    expect(expandVariables("$${HOST} costs $5", env)).toEqual({ value: "${HOST} costs $5", expanded: false, errors: [] });
  });

  test("an unset variable without default is an error naming it", () => {
    expect(expandVariables("${A}-${B}", {}).errors).toEqual([
      'environment variable "A" is not set; set it or give a default with ${A:-value}',
      'environment variable "B" is not set; set it or give a default with ${B:-value}',
    ]);
  });

  test("malformed references are errors", () => {
    expect(expandVariables("${1X}", {}).errors).toEqual([
      'bad variable reference "${1X}"; expected ${NAME} or ${NAME:-default} (write $${ for a literal "${")',
    ]);
    expect(expandVariables("a ${B", {}).errors).toEqual([
      'unclosed "${" in "a ${B"; write ${NAME} or ${NAME:-default}, or $${ for a literal "${"',
    ]);
  });

  test("protection keeps the length and round-trips", () => {
    const text = "a: { b: ${X:-1,2}, c: [$${Y}] } # ${Z}";
    const hidden = protectReferences(text);
    expect(hidden.length).toBe(text.length);
    expect(hidden).not.toContain("${X");
    expect(restoreReferences(hidden)).toBe(text);
  });
});

// Line 3 carries the listen address, line 9 the server; tests vary those.
const config = (listen: string, server: string) => yaml(
  "listeners:",                // 1
  "  - name: web",             // 2
  `    listen: ${listen}`,     // 3
  "    routes:",               // 4
  "      - pool: api",         // 5
  "pools:",                    // 6
  "  api:",                    // 7
  "    servers:",              // 8
  `      - ${server}`,         // 9
);

describe("loadConfigText: environment variables", () => {
  test("an unset variable is an error at its scalar, naming the variable", () => {
    expect(errorLines(config("127.0.0.1:${PORT}", "url: http://${BACKEND}:${BACKEND_PORT:-80}"))).toEqual([
      'tenbin.yaml:3:13 listeners[0].listen: environment variable "PORT" is not set; set it or give a default with ${PORT:-value}',
      'tenbin.yaml:9:14 pools.api.servers[0].url: environment variable "BACKEND" is not set; set it or give a default with ${BACKEND:-value}',
    ]);
  });

  test("defaults expand inside a plain scalar", () => {
    const loaded = loadConfigText(config("127.0.0.1:${PORT:-8080}", "url: http://${HOST:-127.0.0.1}:9001"), "t.yaml", {});
    expect(loaded.listeners[0]?.listen).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(loaded.pools.api?.servers[0]?.url).toBe("http://127.0.0.1:9001");
    const fromEnv = loadConfigText(config("127.0.0.1:${PORT:-8080}", "url: http://${HOST:-127.0.0.1}:9001"), "t.yaml", { PORT: "9000", HOST: "backend" });
    expect(fromEnv.listeners[0]?.listen).toEqual({ host: "127.0.0.1", port: 9000 });
    expect(fromEnv.pools.api?.servers[0]?.url).toBe("http://backend:9001");
  });

  test("a plain scalar is read again as YAML after expansion: numbers and booleans", () => {
    const server = "{ url: http://a:1, weight: ${W:-3}, max_conns: ${MAX}, backup: ${BACKUP:-true} }";
    const loaded = loadConfigText(config(":8080", server), "t.yaml", { MAX: "0x10" });
    expect(loaded.pools.api?.servers[0]).toMatchObject({ weight: 3, max_conns: 16, backup: true });
  });

  test("a quoted scalar stays a string after expansion", () => {
    expect(errorLines(config(":8080", '{ url: http://a:1, weight: "${W:-3}" }'))).toEqual([
      'tenbin.yaml:9:36 pools.api.servers[0].weight: expected a number, got string "3"',
    ]);
  });

  test("references work inside flow collections and quotes, and $${ escapes", () => {
    const text = config(":8080", "{ url: http://a:1 }") + yaml(
      "    sticky: { cookie: { key: ${KEY:-dev,key}, path: '/$${x}' } }",
    );
    const cookie = loadConfigText(text, "t.yaml", {}).pools.api?.sticky?.cookie;
    expect(cookie).toMatchObject({ key: "dev,key", path: "/${x}" });
  });

  test("a value cannot inject YAML structure", () => {
    const loaded = loadConfigText(config(":8080", "{ url: http://a:1 }") + yaml("    host_header: ${HH}"), "t.yaml", { HH: "x\n  retries: 9" });
    expect(loaded.pools.api?.host_header).toBe("x\n  retries: 9");
    expect(loaded.pools.api?.retries).toBe(2);
  });

  test("an empty expansion is an empty string, not null", () => {
    const loaded = loadConfigText(config(":8080", "{ url: http://a:1 }") + yaml("    host_header: ${HH:-}"), "t.yaml", {});
    expect(loaded.pools.api?.host_header).toBe("");
  });

  test("map keys are not expanded", () => {
    expect(errorLines(config(":8080", "{ url: http://a:1, ${K:-weight}: 2 }"))).toEqual([
      'tenbin.yaml:9:28 pools.api.servers[0]["${K:-weight}"]: unknown key "${K:-weight}"; expected one of url, name, weight, max_conns, backup, drain, tls',
    ]);
  });
});
