/**
 * The operator's CLI as a CI job uses it: --help on every command, -V, check on several files and
 * standard input, --json answers, route's exit codes and expectations, probe's progress lines, and
 * the ready file of `run`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort } from "../helpers/health-backends.ts";
import { BUN, ROOT, writeConfig } from "../helpers/tenbin.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tenbin ...args` from source; bounded to 20 s. */
async function tenbin(args: string[], stdin?: string): Promise<Run> {
  const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), ...args], {
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
    stdout: "pipe",
    stderr: "pipe",
    timeout: 20_000,
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const GOOD = `listeners:
  - name: web
    listen: 127.0.0.1:8080
    routes:
      - { name: api, match: { path: /api/ }, pool: api }
      - { name: shop, match: { host: shop.example.com }, pool: web }
  - name: admin-site
    listen: 127.0.0.1:8443
    routes:
      - { name: internal, match: { host: internal.example.com }, pool: web }
pools:
  api:
    sticky: { cookie: { name: srv, key: test-key } }
    servers: [{ url: "http://10.0.0.1:80", name: a1 }, { url: "http://10.0.0.2:80", name: a2 }]
  web: { servers: [{ url: "http://10.0.0.3:80", name: w1 }] }
`;
const BAD = GOOD.replace("pool: web }\n  - name: admin-site", "pool: nowhere }\n  - name: admin-site").replace("  web: {", "  web: { balance: fastest,");

const dir = mkdtempSync(join(tmpdir(), "tenbin-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const good = writeConfig(GOOD);
const bad = writeConfig(BAD);

describe("help and version", () => {
  test("--help on every command prints its usage and exits 0; -V prints the version", async () => {
    for (const command of ["run", "demo", "check", "route", "probe", "schema", "version"]) {
      const { code, stdout } = await tenbin([command, "--help"]);
      expect({ command, code }).toEqual({ command, code: 0 });
      expect(stdout).toStartWith(`Usage: tenbin ${command}`);
    }
    const v = await tenbin(["-V"]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^tenbin \S+ \(bun /);
  }, 60_000);

  test("unknown flags, missing values and stray arguments exit 2", async () => {
    expect((await tenbin(["route", "-c", good, "--nope", "GET", "http://x/"])).code).toBe(2);
    expect((await tenbin(["probe", "-c"])).code).toBe(2);
    expect((await tenbin(["schema", "extra"])).code).toBe(2);
    expect((await tenbin(["run", "--log-level", "loud"])).stderr).toStartWith('tenbin: bad log level "loud"');
  }, 30_000);
});

describe("check", () => {
  test("checks every file named: one bad file fails the run, the good one is still reported", async () => {
    const { code, stdout, stderr } = await tenbin(["check", good, bad]);
    expect(code).toBe(1);
    expect(stdout).toBe(`${good}: ok (2 listeners, 2 pools)\n`);
    // The schema error (balance) does not hide the unknown pool of the same file.
    expect(stderr).toContain(`${bad}:6:`);
    expect(stderr).toContain('unknown pool "nowhere"');
    expect(stderr).toContain('unknown algorithm "fastest"');
  }, 20_000);

  test("- reads standard input; --json gives one object with every file", async () => {
    const { code, stdout } = await tenbin(["check", "--json", "-", bad], GOOD);
    expect(code).toBe(1);
    const answer = JSON.parse(stdout);
    expect(answer.ok).toBe(false);
    expect(answer.files[0]).toMatchObject({ file: "<stdin>", ok: true, listeners: 2, pools: 2 });
    expect(answer.files[1].ok).toBe(false);
    expect(answer.files[1].errors.map((e: { path: string }) => e.path)).toEqual(["listeners[0].routes[1].pool", "pools.web.balance"]);
    expect(answer.files[1].errors[0]).toMatchObject({ file: bad, line: 6 });
  }, 20_000);
});

describe("route", () => {
  test("--expect-pool passes and fails; --json carries the answer", async () => {
    const pass = await tenbin(["route", "-c", good, "--expect-pool", "api", "--json", "GET", "http://127.0.0.1:8080/api/x"]);
    expect(pass.code).toBe(0);
    expect(JSON.parse(pass.stdout)).toMatchObject({ ok: true, listener: { name: "web" }, route: { name: "api", index: 1 }, pool: "api", status: null });
    const fail = await tenbin(["route", "-c", good, "--expect-pool", "web", "GET", "http://127.0.0.1:8080/api/x"]);
    expect(fail.code).toBe(1);
    expect(fail.stderr).toBe('tenbin route: expected pool "web", got "api"\n');
  }, 20_000);

  test("no route exits 1 unless --expect-status 404 asked for it; no listener exits 1", async () => {
    const none = await tenbin(["route", "-c", good, "GET", "http://127.0.0.1:8080/other"]);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain("error: no route matches (the client gets 404)");
    expect((await tenbin(["route", "-c", good, "--expect-status", "404", "GET", "http://127.0.0.1:8080/other"])).code).toBe(0);
    expect((await tenbin(["route", "-c", good, "--expect-status", "503", "GET", "http://127.0.0.1:8080/other"])).code).toBe(1);
    const nowhere = await tenbin(["route", "-c", good, "GET", "http://nothing.example.com:9999/"]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stdout).toContain("no listener on port 9999");
  }, 30_000);

  test("--client-ip and --expect-status check an access policy's answer", async () => {
    const file = writeConfig(`listeners:
  - name: web
    listen: 127.0.0.1:8080
    routes:
      - { match: { path: /admin/ }, allow: [10.0.0.0/8], pool: app }
pools:
  app: { servers: [{ url: "http://127.0.0.1:9000" }] }
`);
    const outsider = await tenbin(["route", "-c", file, "--expect-status", "403", "GET", "http://127.0.0.1:8080/admin/"]);
    expect(outsider.code).toBe(0);
    expect(outsider.stdout).toContain("answer: 403");
    const office = await tenbin(["route", "-c", file, "--client-ip", "10.0.0.7", "--expect-pool", "app", "GET", "http://127.0.0.1:8080/admin/"]);
    expect(office.code).toBe(0);
    expect((await tenbin(["route", "-c", file, "--client-ip", "10.0.0.7", "--expect-status", "403", "GET", "http://127.0.0.1:8080/admin/"])).code).toBe(1);
    const bad = await tenbin(["route", "-c", file, "--client-ip", "office", "GET", "http://127.0.0.1:8080/admin/"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad address "office" for --client-ip');
  }, 30_000);

  test("several listeners: the route decides when the URL names no listener's port, or --listener", async () => {
    // https://internal.example.com/ is port 443, which no listener has: the listener with a route for it answers.
    const byRoute = await tenbin(["route", "-c", good, "GET", "https://internal.example.com/"]);
    expect(byRoute.code).toBe(0);
    expect(byRoute.stdout).toContain("listener: admin-site (127.0.0.1:8443)\nroute: internal (#1)");
    const byName = await tenbin(["route", "-c", good, "--listener", "web", "GET", "https://shop.example.com/"]);
    expect(byName.stdout).toContain("listener: web (127.0.0.1:8080)\nroute: shop (#2)");
  }, 20_000);

  test("the sticky cookie names the server, as the proxy would follow it", async () => {
    // A cookie for a2, signed as the proxy signs it (key and pool name).
    const { CookieSigner } = await import("../../src/pool/persist/cookie.ts");
    const signer = new CookieSigner("test-key\u0000api");
    const forA2 = signer.sign("http://10.0.0.2:80", Math.floor(Date.now() / 1000) + 3600);
    for (let i = 0; i < 3; i++) {
      const { code, stdout } = await tenbin(["route", "-c", good, "-H", `Cookie: srv=${forA2}`, "GET", "http://127.0.0.1:8080/api/"]);
      expect(code).toBe(0);
      expect(stdout).toContain("cookie: srv names a2\nserver: a2 (http://10.0.0.2:80)");
    }
  }, 30_000);
});

describe("probe", () => {
  test("--wait writes a progress line per round on stderr; --json gives the result", async () => {
    const file = writeConfig(`listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: api }] }]
pools:
  api: { health: { tcp: {}, timeout: 200ms }, servers: [{ url: "http://127.0.0.1:${closedPort()}", name: gone }] }
`);
    const { code, stdout, stderr } = await tenbin(["probe", "-c", file, "--wait", "1200ms", "--json"]);
    expect(code).toBe(1);
    const rounds = stderr.trimEnd().split("\n");
    expect(rounds.length).toBeGreaterThanOrEqual(2);
    expect(rounds[0]).toMatch(/^probe round 1: 0 of 1 servers healthy: no healthy server in "api"; again in \d+ms \(\d+s left\)$/);
    const answer = JSON.parse(stdout);
    expect(answer).toMatchObject({ ok: false, failing_pools: ["api"], servers: [{ pool: "api", server: "gone", state: "down" }] });
  }, 20_000);
});

describe("run --ready-file", () => {
  test("written once every listener is bound, with each listener's URL (port 0 resolved)", async () => {
    using backend = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
    const readyFile = join(dir, "ready.json");
    const file = writeConfig(`admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
  - { name: db, listen: 127.0.0.1:0, mode: tcp, pool: raw }
pools:
  app: { health: { http: { path: / }, interval: 200ms, initial: down, rise: 1 }, servers: [{ url: "http://127.0.0.1:${backend.port}" }] }
  raw: { servers: [{ url: "tcp://127.0.0.1:${backend.port}" }] }
`);
    const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "run", "-c", file, "--ready-file", readyFile, "--ready-when", "healthy"], {
      stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, TENBIN_LOG_FORMAT: "json" },
    });
    try {
      for (let i = 0; i < 200 && !existsSync(readyFile); i++) await Bun.sleep(25);
      const ready = JSON.parse(readFileSync(readyFile, "utf8"));
      expect(Object.keys(ready.listeners)).toEqual(["web", "db"]);
      expect(ready.listeners.web).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(ready.listeners.db).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(ready.admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(ready.pid).toBe(proc.pid);
      expect(await (await fetch(`${ready.listeners.web}/`)).text()).toBe("ok");
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
    // JSON log lines: each bound listener carries `listener` and `url`; every record is one line.
    const lines = (await new Response(proc.stderr).text()).trimEnd().split("\n").map((l) => JSON.parse(l));
    const bound = lines.filter((l) => typeof l.message === "string" && l.message.includes(" listening on "));
    expect(bound.map((l) => l.listener)).toEqual(["web", "db", "admin"]);
    for (const l of bound) expect(l.message).toEndWith(l.url);
    expect(lines.some((l) => l.message === "ready" && l.ready_file === readyFile)).toBe(true);
  }, 30_000);
});
