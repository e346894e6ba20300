// The attempt loop's outcome report on both WebSocket paths (the drift issue 16 found on the runtime
// path): a 101 counts as every answer does (status, latency histogram, EWMA, passive health), and
// when no server is left the client gets the pool's sorry page, on both engines.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { startTenbinInProcess, writeConfig } from "../helpers/tenbin.ts";
import { openWs, rawHandshake, startWsBackend } from "./ws-helpers.ts";

const backend = startWsBackend("a");
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;

beforeAll(async () => {
  const page = join(dirname(writeConfig("")), "sorry.html");
  writeFileSync(page, "<h1>Back soon</h1>\n");
  const routes = "routes: [{ match: { path: /down/ }, pool: down }, { pool: up }]";
  t = await startTenbinInProcess(`
admin: { enabled: false }
listeners:
  - { name: tenbin, engine: tenbin, listen: 127.0.0.1:0, ${routes} }
  - { name: runtime, engine: runtime, listen: 127.0.0.1:0, ${routes} }
pools:
  up: { servers: [{ url: "${backend.url}" }], outlier: { consecutive_failures: 1 } }
  down:
    health: { http: { path: /healthz }, interval: 10s, initial: down }
    servers: [{ url: "${backend.url}" }]
    sorry: { body_file: "${page}", status: 503 }
`);
});

afterAll(async () => {
  await t?.stop();
  backend.stop();
});

for (const engine of ["tenbin", "runtime"]) {
  describe(`engine: ${engine}`, () => {
    test("a 101 is counted: status, latency histogram, EWMA", async () => {
      const server = t.tenbin.pools.get("up")!.servers[0]!;
      const before = { count: server.latency.count, informational: server.responses1xx };
      const ws = await openWs(`ws://127.0.0.1:${t.port(engine)}/x`);
      ws.close();
      expect(server.responses1xx).toBe(before.informational + 1);
      expect(server.latency.count).toBe(before.count + 1);
      expect(server.ewmaMs).toBeGreaterThan(0);
    });

    test("no server left: the sorry page", async () => {
      const reply = await rawHandshake(t.port(engine), "/down/x");
      expect(reply.status).toBe(503);
      expect(reply.headers.get("retry-after")).toBe("5");
    });
  });
}
