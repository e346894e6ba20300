/**
 * The start-up fast path (src/config/fast-load.ts) gives what the `yaml` path of load.ts gives: the
 * same Config for a config it takes, and, since every problem sends it to load.ts, the same errors
 * and warnings with file:line:column.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, formatConfigIssue, type ConfigIssue } from "../../src/config/config-error.ts";
import { fastConfig, fastConfigData, loadConfigFileFast } from "../../src/config/fast-load.ts";
import { loadConfigFile, loadConfigText, type ConfigEnv } from "../../src/config/load.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { yaml } from "./helpers.ts";

const parseYaml = bunRuntime.parseYaml!;
const work = mkdtempSync(join(tmpdir(), "tenbin-fast-load-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let files = 0;
function writeConfig(text: string): string {
  const path = join(work, `tenbin-${files++}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** What loading `text` gives on one path: the Config, or the error lines; plus the warnings. */
async function outcome(load: (path: string, onWarning: (w: ConfigIssue) => void) => Promise<unknown>, text: string) {
  const path = writeConfig(text);
  const warnings: string[] = [];
  try {
    const config = await load(path, (w) => warnings.push(formatConfigIssue(w).replace(path, "FILE")));
    return { config, warnings };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { errors: error.format().replaceAll(path, "FILE").split("\n"), warnings };
  }
}

/** Loads `text` both ways and expects the same outcome; returns it. */
async function bothWays(text: string, env: ConfigEnv = {}) {
  const fast = await outcome((path, onWarning) => loadConfigFileFast(path, env, { parseYaml, onWarning }), text);
  const slow = await outcome((path, onWarning) => loadConfigFile(path, env, { onWarning }), text);
  expect(fast).toEqual(slow);
  return fast;
}

const base = (extra = "", server = "http://127.0.0.1:9001") => yaml(
  "listeners:",
  "  - { name: web, listen: 127.0.0.1:8080, routes: [{ pool: app }] }",
  "pools:",
  "  app:",
  `    servers: [{ url: "${server}" }]`,
  extra,
);

describe("the fast path takes plain configs", () => {
  const dir = fileURLToPath(new URL("../../config/examples/", import.meta.url));
  const examples = [...readdirSync(dir).filter((n) => n.endsWith(".yaml")).map((n) => join(dir, n)), fileURLToPath(new URL("../../config/tenbin.yaml", import.meta.url))];

  test("every example gives the Config of the yaml path, and the fast path takes most of them", () => {
    let taken = 0;
    for (const file of examples) {
      const text = readFileSync(file, "utf8");
      const fast = fastConfig(text, {}, parseYaml);
      if (fast !== undefined) taken++;
      // The example's certificates are named relative to the repository root, as tests run.
      if (fast !== undefined) expect(fast).toEqual(loadConfigText(text, file, {}));
    }
    expect(taken).toBeGreaterThanOrEqual(examples.length - 2);
  });

  test("the result is the native parser's: the yaml package is not asked", async () => {
    let calls = 0;
    const spy = (text: string) => {
      calls++;
      return parseYaml(text.replace("round_robin", "least_conn"));
    };
    const config = await loadConfigFileFast(writeConfig(base("    balance: round_robin")), {}, { parseYaml: spy });
    expect(calls).toBe(1);
    expect(config.pools.app!.balance).toBe("least_conn");
  });

  test("${NAME} expands in values as on the yaml path, and keys stay as written", async () => {
    const text = base("    sticky: { cookie: { key: ${KEY}, name: ${NAME:-srv} } }\n    host_header: ${EMPTY}", "http://${HOST}:9001");
    const env = { KEY: "s3cret, with: {yaml} [chars] # too", HOST: "10.0.0.7", EMPTY: "" };
    expect(fastConfig(text, env, parseYaml)).toBeDefined();
    const { config } = await bothWays(text, env);
    expect(config).toMatchObject({ pools: { app: { servers: [{ url: "http://10.0.0.7:9001" }], sticky: { cookie: { key: env.KEY, name: "srv" } } } } });
  });

  test("an expansion that reads as a number or bool goes the yaml way: quoted and plain differ there", async () => {
    expect(fastConfigData("a: ${W:-3}\nb: ${T:-true}\n", {}, parseYaml)).toBeUndefined();
    expect(fastConfigData("a: x${W:-3}\nb: ${T:-truthy}\n", {}, parseYaml)).toEqual({ a: "x3", b: "truthy" });
    const quoted = await bothWays(base().replace('servers: [{ url: "http://127.0.0.1:9001" }]', 'servers: [{ url: "http://127.0.0.1:9001", weight: "${W:-3}" }]'));
    expect(quoted.errors?.[0]).toContain("pools.app.servers[0].weight");
    const plain = await bothWays(base().replace('servers: [{ url: "http://127.0.0.1:9001" }]', 'servers: [{ url: "http://127.0.0.1:9001", weight: ${W:-3} }]'));
    expect(plain).toMatchObject({ config: { pools: { app: { servers: [{ weight: 3 }] } } } });
  });
});

describe("anything wrong goes the yaml way, with the same file:line:column", () => {
  const cases: Record<string, string> = {
    "a YAML syntax error": base("    retries: [1, 2"),
    "a duplicate key": base("    retries: 1\n    retries: 2"),
    "a duplicate key in a flow mapping": base("    timeouts: { connect: 1s, connect: 2s }"),
    "a second document": `${base()}---\nwatch: true\n`,
    "an unknown key": base("    balanse: hash"),
    "a bad duration": base("    queue_timeout: 5 seconds"),
    "a route to no pool": base().replace("pool: app }", "pool: nope }"),
    "an unset variable": base("    host_header: ${UNSET_FOR_TEST}"),
    "a merge key": yaml("x: &x { balance: hash }", base("    <<: *x")),
    "an empty file": "# nothing here\n",
    "a list at the top": "- a\n- b\n",
  };
  for (const [name, text] of Object.entries(cases)) {
    test(name, async () => {
      expect(fastConfig(text, {}, parseYaml)).toBeUndefined();
      const { errors } = await bothWays(text);
      expect(errors?.length).toBeGreaterThan(0);
      expect(errors![0]).toMatch(/^FILE:\d+:\d+ /);
    });
  }

  test("a YAML 1.1 directive is left to the yaml path, which reads `yes` as true there", async () => {
    const text = `%YAML 1.1\n---\n${base("watch: yes")}`;
    expect(fastConfig(text, {}, parseYaml)).toBeUndefined();
    expect((await bothWays(text)).config).toMatchObject({ watch: true });
  });

  test("a warning keeps its position", async () => {
    const { warnings, config } = await bothWays(base("    tls: { insecure_skip_verify: true }", "https://127.0.0.1:9001"));
    expect(config).toBeDefined();
    expect(warnings).toEqual([expect.stringMatching(/^FILE:6:\d+ pools\.app\.tls\.insecure_skip_verify: insecure_skip_verify: /)]);
  });

  test("a file that cannot be read names the reason", async () => {
    const missing = join(work, "missing.yaml");
    await expect(loadConfigFileFast(missing, {}, { parseYaml })).rejects.toThrow("no such file or directory (ENOENT)");
  });

  test("without a native parser every load goes the yaml way", async () => {
    await expect(loadConfigFileFast(writeConfig(base("    retries: 1\n    retries: 2")), {})).rejects.toThrow("duplicate key");
  });
});
