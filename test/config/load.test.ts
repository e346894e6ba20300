import { describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, MAX_CONFIG_ISSUES } from "../../src/config/config-error.ts";
import { loadConfigFile, loadConfigText } from "../../src/config/load.ts";
import { errorLines, yaml } from "./helpers.ts";

// A valid base; each test changes one line of it, so the position of the error is easy to read.
const base = (over: Partial<Record<"listen" | "balance" | "route" | "extra", string>> = {}) => yaml(
  "listeners:",                                        // 1
  "  - name: web",                                     // 2
  `    listen: ${over.listen ?? "127.0.0.1:8080"}`,    // 3
  "    routes:",                                       // 4
  `      - pool: ${over.route ?? "api"}`,              // 5
  "pools:",                                            // 6
  "  api:",                                            // 7
  `    balance: ${over.balance ?? "round_robin"}`,     // 8
  over.extra ?? "    retries: 1",                      // 9
  "    servers:",                                      // 10
  "      - url: http://127.0.0.1:9001",                // 11
);

describe("loadConfigText: schema errors name file:line:column", () => {
  test("unknown algorithm lists the valid ones", () => {
    expect(errorLines(base({ balance: "round-robin" }))).toEqual([
      'tenbin.yaml:8:14 pools.api.balance: unknown algorithm "round-robin"; expected one of round_robin, least_conn, least_time, random_two, hash, first',
    ]);
  });

  test("unknown key points at the key and suggests the closest valid one", () => {
    expect(errorLines(base({ extra: "    balanse: hash" }))).toEqual([
      'tenbin.yaml:9:5 pools.api.balanse: unknown key "balanse"; did you mean "balance"?',
    ]);
  });

  test("unknown key far from every valid key lists them instead", () => {
    expect(errorLines(base({ extra: "    colour: blue" }))).toEqual([
      'tenbin.yaml:9:5 pools.api.colour: unknown key "colour"; expected one of balance, hash_on, hash_fallback, ewma_decay, servers, sticky, health, outlier, timeouts, host_header, retries, retry_on, max_queue, queue_timeout, slow_start, sorry, tls, send_proxy',
    ]);
  });

  test("bad duration", () => {
    expect(errorLines(base({ extra: "    queue_timeout: 5 seconds" }))).toEqual([
      'tenbin.yaml:9:20 pools.api.queue_timeout: bad duration "5 seconds"; expected a number with a unit such as 250ms, 2s, 1m or 1h',
    ]);
  });

  test("a number where a duration goes says what a duration looks like", () => {
    expect(errorLines(base({ extra: "    queue_timeout: 5" }))).toEqual([
      "tenbin.yaml:9:20 pools.api.queue_timeout: expected a duration such as 250ms, 2s, 1m or 1h, got number 5",
    ]);
  });

  test("bad address", () => {
    expect(errorLines(base({ listen: "localhost" }))).toEqual([
      'tenbin.yaml:3:13 listeners[0].listen: bad address "localhost"; expected host:port such as 127.0.0.1:8080, [::1]:8080 or :8080',
    ]);
  });

  test("wrong type names what YAML made of the value", () => {
    expect(errorLines(base({ extra: "    retries: many" }))).toEqual([
      'tenbin.yaml:9:14 pools.api.retries: expected a number, got string "many"',
    ]);
    expect(errorLines(base({ extra: "    retries: 11" }))).toEqual([
      "tenbin.yaml:9:14 pools.api.retries: number 11 is too large; expected at most 10",
    ]);
  });

  test("missing required key points at the map that lacks it", () => {
    const text = yaml(
      "listeners:",
      "  - name: web",
      "    listen: :8080",
      "    routes:",
      "      - match: { path: /a }",
      "        redirect: {}",
      "pools: {}",
    );
    expect(errorLines(text)).toEqual(['tenbin.yaml:6:19 listeners[0].routes[0].redirect: missing required key "to"']);
  });

  test("a route without a pool must answer by itself", () => {
    const text = yaml(
      "listeners:",
      "  - name: web",
      "    listen: :8080",
      "    routes:",
      "      - match: { path: /a }",
      "pools: {}",
    );
    expect(errorLines(text)).toEqual(["tenbin.yaml:5:9 listeners[0].routes[0]: route has no pool and no policy that answers (redirect or respond); add pool: NAME or a redirect or respond"]);
  });

  test("several missing keys of one map are one error", () => {
    expect(errorLines(yaml("listeners: [{}]", "pools: {}"))).toEqual([
      'tenbin.yaml:1:13 listeners[0]: missing required keys "name" and "listen"',
    ]);
  });

  test("a misspelt required key is reported once, as the typo", () => {
    expect(errorLines(base({ route: "api" }).replace("- pool: api", "- pol: api"))).toEqual([
      'tenbin.yaml:5:9 listeners[0].routes[0].pol: unknown key "pol"; did you mean "pool"?',
    ]);
  });

  test("an empty value points at its key", () => {
    expect(errorLines(base({ extra: "    retries:" }))).toEqual([
      "tenbin.yaml:9:5 pools.api.retries: expected a number, got an empty value",
    ]);
  });

  test("a union is reduced to the branch that explains the problem", () => {
    const text = yaml(
      "listeners:",
      "  - name: web",
      "    listen: :8080",
      "    routes:",
      "      - match: { path: { prefx: /a }, host: [1], headers: { a: { exact: a, regex: b } } }",
      "        pool: api",
      "pools:",
      "  api:",
      "    sticky: { source_ip: false }",
      "    servers: [{ url: http://a:1 }]",
    );
    expect(errorLines(text)).toEqual([
      'tenbin.yaml:5:26 listeners[0].routes[0].match.path.prefx: unknown key "prefx"; did you mean "prefix"?',
      "tenbin.yaml:5:46 listeners[0].routes[0].match.host[0]: expected a string, got number 1",
      'tenbin.yaml:5:64 listeners[0].routes[0].match.headers.a: keys "exact" and "regex" cannot be combined; use one of exact, regex, present',
      "tenbin.yaml:9:26 pools.api.sticky.source_ip: expected true or a map, got boolean false",
    ]);
  });

  test("a bad pool name points at the key", () => {
    const text = base().replace("  api:", '  "my api":').replace("pool: api", "pool: web");
    expect(errorLines(text)).toEqual([
      `tenbin.yaml:7:3 pools["my api"]: bad pool name "my api"; expected a name of letters, digits, '_', '.' or '-'`,
    ]);
  });

  test("several errors are reported at once, in file order", () => {
    const text = yaml(
      "listeners:",
      "  - name: web",
      "    listen: nowhere",
      "    routes: [{ pool: api }]",
      "    colour: red",
      "pools:",
      "  api:",
      "    balance: fastest",
      "    servers: []",
    );
    expect(errorLines(text)).toEqual([
      'tenbin.yaml:3:13 listeners[0].listen: bad address "nowhere"; expected host:port such as 127.0.0.1:8080, [::1]:8080 or :8080',
      'tenbin.yaml:5:5 listeners[0].colour: unknown key "colour"; expected one of name, listen, mode, routes, trusted_proxies, accept_proxy, max_body, idle_timeout, max_conns, access_log, tls, http2, engine, redirect_https, hsts, paths',
      'tenbin.yaml:8:14 pools.api.balance: unknown algorithm "fastest"; expected one of round_robin, least_conn, least_time, random_two, hash, first',
      "tenbin.yaml:9:14 pools.api.servers: a pool needs at least one server",
    ]);
  });

  test("at most MAX_CONFIG_ISSUES errors are kept, and the rest counted", () => {
    const extras = Array.from({ length: 60 }, (_, i) => `    unknown_${i}: 1`).join("\n");
    let caught: unknown;
    try {
      loadConfigText(base({ extra: extras }), "tenbin.yaml", {});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.errors.length).toBe(MAX_CONFIG_ISSUES);
    expect(error.omitted).toBe(10);
    expect(error.errors[0]).toEqual({ file: "tenbin.yaml", line: 9, column: 5, path: "pools.api.unknown_0", message: 'unknown key "unknown_0"; expected one of balance, hash_on, hash_fallback, ewma_decay, servers, sticky, health, outlier, timeouts, host_header, retries, retry_on, max_queue, queue_timeout, slow_start, sorry, tls, send_proxy' });
    expect(error.format().split("\n").at(-1)).toBe("... and 10 more problems not shown");
  });
});

describe("loadConfigText: YAML errors", () => {
  test("a syntax error has a position", () => {
    expect(errorLines(yaml("listeners:", "  - name: web", "   listen: :80"))).toEqual([
      "tenbin.yaml:3:4 bad YAML: sequence item without - indicator",
    ]);
  });

  test("an unclosed quote is a syntax error", () => {
    // The parser notices at the end of the file; the error points at the last character there is.
    expect(errorLines(yaml("pools:", "  api: { balance: 'hash }"))).toEqual([
      "tenbin.yaml:2:25 bad YAML: missing closing 'quote",
      "tenbin.yaml:2:25 bad YAML: flow map in block collection must be sufficiently indented and end with a }",
    ]);
  });

  test("a duplicate key names the key and where it is", () => {
    const text = yaml("listeners: []", "pools:", "  api: { servers: [] }", "  api: { servers: [] }");
    expect(errorLines(text)).toEqual(['tenbin.yaml:4:3 pools.api: duplicate key "api"; a key may appear once in a map']);
  });

  test("an alias bomb is refused, not expanded", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [prev, name] of [["a", "b"], ["b", "c"], ["c", "d"], ["d", "e"], ["e", "f"], ["f", "g"]]) {
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    expect(errorLines(yaml(...levels))).toEqual([
      "tenbin.yaml:1:1 cannot expand the YAML aliases: Excessive alias count indicates a resource exhaustion attack",
    ]);
  });

  test("an error inside an aliased node points at the anchored node", () => {
    const text = base({ extra: "    retries: 1" }).replace("      - url: http://127.0.0.1:9001", "      - &s { url: http://a:1, weight: x }\n      - *s");
    expect(errorLines(text)).toEqual([
      // The schema error does not hide the cross-section one (the alias repeats the server).
      'tenbin.yaml:11:19 pools.api.servers[1].url: server url "http://a:1" is already used by servers[0]; list each server once',
      'tenbin.yaml:11:39 pools.api.servers[0].weight: expected a number, got string "x"',
      'tenbin.yaml:11:39 pools.api.servers[1].weight: expected a number, got string "x"',
    ]);
  });

  test("a schema error does not hide the semantic errors of the same file", () => {
    const text = base({ route: "nope", balance: "fastest" });
    const lines = errorLines(text);
    expect(lines.some((l) => /routes\[0\]\.pool: unknown pool "nope"/.test(l))).toBe(true);
    expect(lines.some((l) => /pools\.api\.balance: unknown algorithm "fastest"/.test(l))).toBe(true);
  });

  test("a semantic error under a value the schema refused is not reported twice", () => {
    // The whole sticky section is refused; nothing is said about what was inside it.
    const text = base({ extra: "    sticky: 5" });
    expect(errorLines(text)).toHaveLength(1);
  });

  test("an empty file says what it should hold", () => {
    expect(errorLines("# nothing yet\n")).toEqual(["tenbin.yaml:1:1 the config is empty; expected a map with listeners and pools"]);
  });

  test("a file that is not a map", () => {
    expect(errorLines("- a\n")).toEqual(["tenbin.yaml:1:1 expected a map, got a list"]);
  });
});

describe("loadConfigFile", () => {
  test("a missing file is a ConfigError naming the file and the OS reason", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tenbin-config-"));
    try {
      const path = join(dir, "missing.yaml");
      const error = await loadConfigFile(path, {}).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).format()).toBe(`${path}: cannot read the config file: no such file or directory (ENOENT)`);
      expect((error as ConfigError).errors[0]).toMatchObject({ file: path, line: 0, column: 0, path: "" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a directory is unreadable as a file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tenbin-config-"));
    try {
      const error = await loadConfigFile(dir, {}).then(() => undefined, (e: unknown) => e);
      expect((error as ConfigError).format()).toStartWith(`${dir}: cannot read the config file: `);
      expect((error as ConfigError).format()).toEndWith("(EISDIR)");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("errors in a file name that file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tenbin-config-"));
    try {
      const path = join(dir, "tenbin.yaml");
      await writeFile(path, base({ balance: "round-robin" }));
      const error = await loadConfigFile(path, {}).then(() => undefined, (e: unknown) => e);
      expect((error as ConfigError).errors.map((e) => `${e.file}:${e.line}:${e.column}`)).toEqual([`${path}:8:14`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("loadConfigText: a full config", () => {
  test("the full example loads, with defaults filled in", async () => {
    const config = await loadConfigFile(fileURLToPath(new URL("../../config/examples/full.yaml", import.meta.url)), {});
    expect(config.shutdown_timeout).toBe(20_000);
    const listener = config.listeners[0]?.mode === "http" ? config.listeners[0] : undefined;
    expect(listener?.listen).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(listener?.max_body).toBe(10_000_000);
    expect(listener?.routes.map((r) => r.pool)).toEqual(["api", "api", "web", "web"]);
    const api = config.pools.api!;
    expect(api.timeouts).toEqual({ connect: 2000, response: 30_000, idle: 60_000 });
    expect(api.servers.map((s) => s.weight)).toEqual([3, 1, 1]);
    expect(api.servers[2]?.backup).toBe(true);
    expect(api.health).toMatchObject({ interval: 2000, timeout: 1000, rise: 2, fall: 3, jitter: 0.1, initial: "up" });
    expect(api.outlier).toEqual({ consecutive_failures: 3, failure_statuses: ["5xx"], eject_for: 10_000, max_eject_for: 300_000, max_ejected_percent: 50 });
    const web = config.pools.web!;
    expect(web.timeouts.connect).toBe(5000);
    expect(web.health).toEqual({
      http: { method: "GET", path: "/", headers: {}, expect_status: ["200-399"] },
      interval: 2000, timeout: 1000, rise: 2, fall: 3, jitter: 0.1, initial: "up",
    });
    expect(web.sorry).toEqual({ status: 503, body_file: "config/examples/sorry.html", content_type: "text/html; charset=utf-8" });
  });

  test("the smallest config gets every default", () => {
    const config = loadConfigText(base(), "tenbin.yaml", {});
    expect(config.shutdown_timeout).toBe(30_000);
    expect(config.listeners[0]).toEqual({
      name: "web", listen: { host: "127.0.0.1", port: 8080 }, mode: "http", routes: [{ pool: "api" }],
      trusted_proxies: [], accept_proxy: false, max_body: 100_000_000, idle_timeout: 60_000, max_conns: "auto", engine: "tenbin",
      paths: { merge_slashes: true, forward: "normalized", case_insensitive: false, ignore_path_parameters: true },
    });
    const api = config.pools.api!;
    expect(api.timeouts).toEqual({ connect: 5000, response: 60_000, idle: 60_000 });
    expect(api.health).toBeUndefined();
    expect(api.servers).toEqual([{ url: "http://127.0.0.1:9001", weight: 1, max_conns: 0, backup: false, drain: false }]);
  });
});
