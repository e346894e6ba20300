/** The command line as a user meets it: exit codes, where output goes, and what it says. */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { BUN, ROOT, writeConfig } from "../helpers/tenbin.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Two at a time: in a row, process starts would dominate the file's time; all at once, they fight
// for the CPU and each one takes longer.
const lanes: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
let nextLane = 0;

/** Tests wait for processes queued behind each other; on a busy machine each start takes a while. */
const SLOW = 30_000;

/** Runs `tenbin ...args` from source (queued on one of two lanes); each run bounded to 15 s. */
function tenbin(...args: string[]): Promise<Run> {
  const lane = nextLane++ % lanes.length;
  const run = lanes[lane]!.then(async (): Promise<Run> => {
    const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 15_000 });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  });
  lanes[lane] = run.catch(() => undefined);
  return run;
}

const GOOD = `listeners:
  - name: web
    listen: 127.0.0.1:8080
    routes:
      - { name: api, match: { host: api.example.com, path: /v1/ }, pool: api }
      - { name: canary, match: { headers: { x-canary: "yes" } }, pool: canary }
      - { pool: web }
pools:
  api: { servers: [{ url: "http://10.0.0.11:8080" }] }
  canary: { servers: [{ url: "http://10.0.0.21:8080", name: canary-1 }] }
  web: { servers: [{ url: "http://10.0.0.31:8080" }] }
`;

const goodFile = writeConfig(GOOD);
const badFile = writeConfig(GOOD.replace('url: "http://10.0.0.11:8080" }', 'url: "http://10.0.0.11:8080", weight: -1 }'));
const runs = {
  checkOk: tenbin("check", goodFile),
  checkBad: tenbin("check", "-c", badFile),
  unknownCommand: tenbin("frobnicate"),
  unknownFlag: tenbin("check", "--frobnicate"),
  routeApi: tenbin("route", "-c", goodFile, "GET", "http://api.example.com:8080/v1/users"),
  routeCanary: tenbin("route", "-c", goodFile, "GET", "http://shop.example.com:8080/", "-H", "X-Canary: yes"),
  routePlain: tenbin("route", "-c", goodFile, "GET", "http://shop.example.com:8080/", "-H", "X-Canary: no"),
  version: tenbin("version"),
};

test("check: exit 0 and a summary for a valid file", async () => {
  const { code, stdout, stderr } = await runs.checkOk;
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toBe(`${goodFile}: ok (1 listeners, 3 pools)\n`);
}, SLOW);

test("check: exit 1 with file:line:column of the mistake on stderr", async () => {
  const { code, stdout, stderr } = await runs.checkBad;
  expect(code).toBe(1);
  expect(stdout).toBe("");
  expect(stderr).toMatch(new RegExp(`^${badFile.replaceAll(".", "\\.")}:9:\\d+ pools\\.api\\.servers\\[0\\]\\.weight: `, "m"));
}, SLOW);

test("unknown command or flag: exit 2 with the usage on stderr", async () => {
  for (const [run, what] of [[runs.unknownCommand, 'command "frobnicate"'], [runs.unknownFlag, 'flag "--frobnicate"']] as const) {
    const { code, stdout, stderr } = await run;
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toStartWith(`tenbin: unknown ${what}\n`);
  }
  // An unknown command gets the general usage, a flag the command's own.
  expect((await runs.unknownCommand).stderr).toContain("Usage:\n  tenbin run");
  expect((await runs.unknownFlag).stderr).toContain("Usage: tenbin check");
  for (const run of [runs.unknownCommand, runs.unknownFlag]) {
    expect((await run).code).toBe(2);
  }
}, SLOW);

test("route: listener, route, pool and server of a request, headers included", async () => {
  const api = await runs.routeApi;
  expect(api.code).toBe(0);
  expect(api.stdout).toContain("listener: web (127.0.0.1:8080)\nroute: api (#1)\npool: api\n");
  expect(api.stdout).toContain("server: 10.0.0.11:8080 (http://10.0.0.11:8080)");
  const canary = await runs.routeCanary;
  expect(canary.stdout).toContain("route: canary (#2)\npool: canary\n");
  expect(canary.stdout).toContain("server: canary-1 (http://10.0.0.21:8080)");
  expect((await runs.routePlain).stdout).toContain("pool: web\n");
}, SLOW);

test("version: the version and the runtime", async () => {
  const { code, stdout } = await runs.version;
  expect(code).toBe(0);
  expect(stdout).toMatch(/^tenbin \S+ \(bun \d+\.\d+\.\d+\)\n$/);
}, SLOW);
