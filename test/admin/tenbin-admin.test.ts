/** The admin plane wired into a real Tenbin (in process): listener, counters, access log, reload, runtime changes. */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { loadConfigFile } from "../../src/config/load.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { Tenbin } from "../../src/start.ts";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { writeConfig } from "../helpers/tenbin.ts";

const a = startHttpBackend(() => new Response("a"));
const b = startHttpBackend(() => new Response("bb"));
afterAll(async () => {
  await a.stop();
  await b.stop();
});

function configText(opts: { bWeight?: number; log: string; extra?: string }) {
  return `
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: web
    listen: 127.0.0.1:0
    access_log: { format: json, path: "${opts.log}" }
    routes: [{ name: main, pool: app }]
pools:
  app:
    servers:
      - { url: "${a.url}", name: a }
      - { url: "${b.url}", name: b, weight: ${opts.bWeight ?? 1} }
${opts.extra ?? ""}`;
}

async function start(text: string) {
  const file = writeConfig(text);
  const logger = memoryLogger();
  const tenbin = await Tenbin.start(await loadConfigFile(file, {}), {
    runtime: bunRuntime,
    logger,
    loadConfig: () => loadConfigFile(file, {}),
    configSource: file,
  });
  const admin = `http://127.0.0.1:${tenbin.adminAddress!.port}`;
  const web = `http://127.0.0.1:${tenbin.listeners[0]!.port}`;
  return { tenbin, file, logger, admin, web };
}

describe("Tenbin with its admin plane", () => {
  test("counts requests, logs them, and answers /healthz, /api/status and /metrics", async () => {
    const log = `${writeConfig("x").replace(/tenbin\.yaml$/, "")}access.log`;
    const t = await start(configText({ log }));
    try {
      const bodies: string[] = [];
      for (let i = 0; i < 4; i++) bodies.push(await (await fetch(`${t.web}/p?q=${i}`, { headers: { "x-request-id": "ignored-untrusted" } })).text());
      expect(bodies.sort()).toEqual(["a", "a", "bb", "bb"]);
      expect((await fetch(`${t.admin}/healthz?pools=1`)).status).toBe(200);

      const status = await (await fetch(`${t.admin}/api/status`)).json() as { listeners: { requests: { total: number } }[]; pools: { servers: { name: string; responses: { "2xx": number } }[] }[] };
      expect(status.listeners[0]!.requests.total).toBe(4);
      expect(status.pools[0]!.servers.map((s) => [s.name, s.responses["2xx"]])).toEqual([["a", 2], ["b", 2]]);

      const metrics = await (await fetch(`${t.admin}/metrics`)).text();
      expect(metrics).toContain('tenbin_route_requests_total{listener="web",route="main",pool="app",class="2xx"} 4');
      expect(metrics).toContain('tenbin_server_response_seconds_count{pool="app",server="a"} 2');

      await t.tenbin.stop(1000); // flushes the access log
      const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatchObject({ method: "GET", path: "/p?q=0", status: 200, listener: "web", route: "main", pool: "app", retries: 0, bytes: 1, client: "127.0.0.1" });
      expect(["a", "b"]).toContain(lines[0]!.server as string);
      expect(lines[0]!.request_id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await t.tenbin.stop(1000);
    }
  });

  test("SIGUSR1's reopen moves new lines to a fresh file after logrotate", async () => {
    const log = `${writeConfig("x").replace(/tenbin\.yaml$/, "")}rotate.log`;
    const t = await start(configText({ log }));
    try {
      await (await fetch(`${t.web}/one`)).text();
      for (let i = 0; i < 100 && !readFileSync(log, { encoding: "utf8", flag: "a+" }).includes("/one"); i++) await Bun.sleep(10);
      renameSync(log, `${log}.1`);
      t.tenbin.reopenLogs();
      await (await fetch(`${t.web}/two`)).text();
    } finally {
      await t.tenbin.stop(1000);
    }
    expect(readFileSync(`${log}.1`, "utf8")).toContain('"path":"/one"');
    expect(readFileSync(log, "utf8")).toContain('"path":"/two"');
    expect(readFileSync(log, "utf8")).not.toContain('"path":"/one"');
  });

  test("a drain from the API holds across a reload that keeps the server, and ends when the config changes it", async () => {
    const log = `${writeConfig("x").replace(/tenbin\.yaml$/, "")}drain.log`;
    const t = await start(configText({ log }));
    try {
      const drain = await fetch(`${t.admin}/api/pools/app/servers/b/drain`, { method: "POST" });
      expect(drain.status).toBe(200);
      const before = b.requests;
      for (let i = 0; i < 4; i++) expect(await (await fetch(t.web)).text()).toBe("a");

      // Same server config (another key changed): still drained.
      writeFileSync(t.file, configText({ log, extra: "shutdown_timeout: 5s" }));
      const kept = await (await fetch(`${t.admin}/api/reload`, { method: "POST" })).json() as { ok: boolean };
      expect(kept.ok).toBe(true);
      for (let i = 0; i < 4; i++) expect(await (await fetch(t.web)).text()).toBe("a");
      expect(b.requests).toBe(before);

      // An invalid file: 422 with line:column, the old config keeps serving.
      writeFileSync(t.file, configText({ log }).replace("name: main", "name: main, bogus: 1"));
      const failed = await fetch(`${t.admin}/api/reload`, { method: "POST" });
      expect(failed.status).toBe(422);
      const body = await failed.json() as { errors: { line: number; column: number; message: string }[] };
      expect(body.errors[0]).toMatchObject({ line: 7 });
      expect(body.errors[0]!.column).toBeGreaterThan(0);
      expect(await (await fetch(t.web)).text()).toBe("a");
      const status = await (await fetch(`${t.admin}/api/status`)).json() as { reload: { ok: boolean; trigger: string } };
      expect(status.reload).toMatchObject({ ok: false, trigger: "api" });

      // The config changes server b (its weight): the file wins, b serves again.
      writeFileSync(t.file, configText({ log, bWeight: 2 }));
      expect((await (await t.tenbin.reloadFromSource("SIGHUP")).ok)).toBe(true);
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add(await (await fetch(t.web)).text());
      expect([...seen].sort()).toEqual(["a", "bb"]);
      expect(await (await fetch(`${t.admin}/metrics`)).text()).toContain('tenbin_reloads_total{result="failure"} 1');
    } finally {
      await t.tenbin.stop(1000);
    }
  });

  test("a stopping tenbin fails /healthz before its listeners close", async () => {
    const log = `${writeConfig("x").replace(/tenbin\.yaml$/, "")}stop.log`;
    const slow = startHttpBackend(async () => {
      await Bun.sleep(300);
      return new Response("slow");
    });
    const t = await start(configText({ log }).replace(a.url, slow.url).replace(b.url, slow.url.replace("127.0.0.1", "localhost")));
    try {
      const inFlight = fetch(t.web).then((r) => r.text());
      await Bun.sleep(50);
      const stopping = t.tenbin.stop(2000);
      const health = await fetch(`${t.admin}/healthz`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { reason: string }).reason).toStartWith("stopping");
      expect(await inFlight).toBe("slow");
      await stopping;
    } finally {
      await slow.stop();
    }
  });
});
