// Reloads give their memory back (issue 21, item 4): after 300 in-process reloads of a config with
// every part a reload rebuilds (health, outlier, sticky cookie, access log, admin, a TCP listener),
// a full GC collects the old Config objects. Before the fix each generation stayed reachable from
// the next through a closure's scope (start.ts, memberOf): none was ever collected.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tenbin } from "../../src/start.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { memoryLogger } from "../../src/observe/log.ts";

const RELOADS = 300;
const backend = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
let tenbin: Tenbin | undefined;
afterAll(async () => {
  await tenbin?.stop(500);
  backend.stop(true);
});

test(`${RELOADS} reloads: the old Config objects are collected`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tenbin-reload-leak-"));
  const file = join(dir, "tenbin.yaml");
  writeFileSync(file, `
admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }], access_log: { path: "${join(dir, "access.log")}" } }
  - { name: db, listen: 127.0.0.1:0, mode: tcp, pool: raw }
pools:
  app:
    health: { http: { path: / }, interval: 1s }
    outlier: {}
    sticky: { cookie: { name: s, key: abcdefghijklmnopqrstuvwxyz0123456789 } }
    servers: [{ url: "http://127.0.0.1:${backend.port}" }]
  raw:
    health: { tcp: {}, interval: 1s }
    servers: [{ url: "tcp://127.0.0.1:${backend.port}" }]
`);
  const load = () => loadConfigFile(file, {});
  tenbin = await Tenbin.start(await load(), { runtime: bunRuntime, logger: memoryLogger(), loadConfig: load, configSource: file });
  let collected = 0;
  const registry = new FinalizationRegistry<number>(() => collected++);
  for (let i = 0; i < RELOADS; i++) {
    registry.register(tenbin.config, i);
    const result = await tenbin.reloadFromSource("test");
    expect(result.ok).toBe(true);
  }
  // Finalizers run after a collection, on a later turn of the event loop.
  for (let i = 0; i < 20 && collected < RELOADS - 2; i++) {
    Bun.gc(true);
    await Bun.sleep(10);
  }
  // The last one or two may still be referenced (the reload result, a listener bound under it).
  expect(collected).toBeGreaterThanOrEqual(RELOADS - 2);
}, 30_000);
