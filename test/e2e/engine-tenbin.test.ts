/**
 * `engine: tenbin` end to end: the parity cases (engine-cases.ts) on tenbin's own HTTP/1.1 server,
 * plus what only this engine has (engine-tenbin-websocket.test.ts has its tunnels).
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { run } from "../helpers/certs.ts";
import { BUN, ROOT, writeConfig } from "../helpers/tenbin.ts";
import { runEngineCases } from "./engine-cases.ts";

runEngineCases({ engine: "tenbin" });

test("tenbin check refuses engine: tenbin with http2: true, naming file:line:column", async () => {
  const file = writeConfig(["listeners:", "  - name: web", "    engine: tenbin", "    listen: 127.0.0.1:0", "    http2: true",
    "    routes: [{ pool: app }]", "pools:", "  app: { servers: [{ url: http://127.0.0.1:1 }] }"].join("\n"));
  const r = await run([BUN, join(ROOT, "src/main.ts"), "check", file]);
  expect(r.code).toBe(1);
  expect(r.err).toContain(`${file}:5:12 listeners[0].http2: http2 needs engine: runtime`);
});
