// Requests the own server refuses itself (malformed, too large, too slow) are on record: an access
// log line (`<BADREQ>` and the reason, as HAProxy logs them), the listener's 4xx/5xx class and a
// refusals counter by status and reason (issue 21, item 5).
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { Tenbin } from "../../src/start.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { writeConfig } from "../helpers/tenbin.ts";

let tenbin: Tenbin | undefined;
afterAll(() => tenbin?.stop(1000));

/** Sends `bytes` on a fresh connection and returns what came back before the server closed it (bounded). */
function exchange(port: number, bytes: string, ms = 4000): Promise<string> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: "127.0.0.1", port });
    let got = "";
    const timer = setTimeout(() => (sock.destroy(), resolve(got)), ms);
    sock.on("connect", () => bytes && sock.write(bytes));
    sock.on("data", (d) => (got += d.toString("latin1")));
    sock.on("error", () => {});
    sock.on("close", () => (clearTimeout(timer), resolve(got)));
  });
}

test("refusals of the own server are logged as <BADREQ> with the reason and counted", async () => {
  const dir = writeConfig("").replace(/\/[^/]+$/, "");
  const log = join(dir, "access.log");
  const file = writeConfig(`
admin: { listen: 127.0.0.1:0 }
listeners:
  - name: web
    listen: 127.0.0.1:0
    engine: tenbin
    idle_timeout: 1s
    access_log: { format: json, path: "${log}" }
    routes: [{ pool: app }]
pools:
  app:
    servers: [{ url: "http://127.0.0.1:9" }]
`);
  tenbin = await Tenbin.start(await loadConfigFile(file, {}), { runtime: bunRuntime, logger: memoryLogger() });
  const port = tenbin.listeners[0]!.port;
  const probes: [string, number][] = [
    ["GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
    ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    [`GET / HTTP/1.1\r\nHost: t\r\nX: ${"a".repeat(20_000)}\r\n\r\n`, 431],
    ["GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505],
    ["POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
    ["GET / HTTP/1.1\r\nHost: t\r\n", 408], // the head never ends: 408 after the head timeout (1 s here)
    ["", 408], // a connection that sends nothing
  ];
  const answers = await Promise.all(probes.map(([bytes]) => exchange(port, bytes)));
  expect(answers.map((a) => Number(a.slice(9, 12)))).toEqual(probes.map(([, status]) => status));

  const admin = `http://127.0.0.1:${tenbin.adminAddress!.port}`;
  const metrics = await (await fetch(`${admin}/metrics`)).text();
  expect(metrics).toContain('tenbin_listener_requests_total{listener="web",class="4xx"} 5');
  expect(metrics).toContain('tenbin_listener_requests_total{listener="web",class="5xx"} 2');
  expect(metrics).toContain('tenbin_listener_refusals_total{listener="web",status="400",reason="both Content-Length and Transfer-Encoding"} 1');
  expect(metrics).toContain('tenbin_listener_refusals_total{listener="web",status="408",reason="request head not received in time"} 2');

  await tenbin.stop(1000);
  tenbin = undefined;
  const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { method: string; status: number; reason?: string; client: string });
  expect(lines.map((l) => l.status).sort()).toEqual(probes.map(([, s]) => s).sort());
  expect(lines.every((l) => l.method === "<BADREQ>" && l.client === "127.0.0.1" && typeof l.reason === "string")).toBe(true);
  expect(lines.map((l) => l.reason)).toContain("invalid Host header");
});
