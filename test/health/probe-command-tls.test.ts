import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { runProbeCommand } from "../../src/cli/probe.ts";
import { configSchema } from "../../src/config/schema.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { testCerts, type TestCerts } from "../helpers/certs.ts";

let certs: TestCerts;
/** https backends behind the test CA: one certificate names 127.0.0.1, the other only backend.internal. */
let byIp: ReturnType<typeof Bun.serve>;
let byName: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  certs = await testCerts();
  const serve = (pair: { cert: string; key: string }) => Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(pair.cert, "utf8"), key: readFileSync(pair.key, "utf8") },
    fetch: () => new Response("ok"),
  });
  byIp = serve(certs.a);
  byName = serve(certs.backend);
});
afterAll(() => {
  byIp?.stop(true);
  byName?.stop(true);
});

async function probe(pool: Record<string, unknown>): Promise<{ code: number; out: string }> {
  const config = configSchema.parse({ listeners: [{ name: "web", listen: "127.0.0.1:0", routes: [{ pool: "app" }] }], pools: { app: pool } });
  let out = "";
  const code = await runProbeCommand(config, { all: true, waitMs: 0, fetch: bunRuntime.fetchUpstream, write: (s) => void (out += s) });
  return { code, out };
}

test("probe verifies https servers with the pool's ca_file and a server's server_name", async () => {
  const { code, out } = await probe({
    tls: { ca_file: certs.ca },
    health: { http: { path: "/healthz" } },
    servers: [
      { url: `https://127.0.0.1:${byIp.port}`, name: "by-ip" },
      { url: `https://127.0.0.1:${byName.port}`, name: "by-name", tls: { server_name: "backend.internal" } },
    ],
  });
  expect(out).toMatch(/by-ip .*\bup\b/);
  expect(out).toMatch(/by-name .*\bup\b/);
  expect(code).toBe(0);
});

test("probe honours insecure_skip_verify, and still fails a server whose CA is not trusted", async () => {
  const skip = await probe({ tls: { insecure_skip_verify: true }, servers: [{ url: `https://127.0.0.1:${byName.port}` }] });
  expect(skip.out).toMatch(/\bup\b/);
  expect(skip.code).toBe(0);
  const wrongCa = await probe({ tls: { ca_file: certs.otherCa }, servers: [{ url: `https://127.0.0.1:${byIp.port}` }] });
  expect(wrongCa.out).toMatch(/\bdown\b/);
  expect(wrongCa.code).toBe(1);
});
