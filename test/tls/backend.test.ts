import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { testCerts, type TestCerts } from "../helpers/certs.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

let certs: TestCerts;
/** https backends: one whose certificate names 127.0.0.1, one that names only backend.internal. */
let byIp: ReturnType<typeof Bun.serve>;
let byName: ReturnType<typeof Bun.serve>;
let probes = 0;

beforeAll(async () => {
  certs = await testCerts();
  const serve = (pair: { cert: string; key: string }, body: string) => Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(pair.cert, "utf8"), key: readFileSync(pair.key, "utf8") },
    fetch(req) {
      if (new URL(req.url).pathname === "/healthz") probes++;
      return new Response(body);
    },
  });
  byIp = serve(certs.a, "from byIp");
  byName = serve(certs.backend, "from byName");
});
afterAll(() => {
  byIp?.stop(true);
  byName?.stop(true);
});

async function tenbinWithPool(pool: string) {
  return await startTenbinInProcess(`
admin: { enabled: false }
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }]
pools:
  app:
    retries: 0
${pool}
`);
}

test("a private CA in ca_file verifies the server", async () => {
  const t = await tenbinWithPool(`    servers: [{ url: "https://127.0.0.1:${byIp.port}" }]\n    tls: { ca_file: ${certs.ca} }`);
  try {
    const res = await fetch(t.url("/"));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("from byIp");
  } finally {
    await t.stop();
  }
});

test("the wrong CA is a 502 and a log line naming the verification failure", async () => {
  const t = await tenbinWithPool(`    servers: [{ url: "https://127.0.0.1:${byIp.port}" }]\n    tls: { ca_file: ${certs.otherCa} }`);
  try {
    const res = await fetch(t.url("/"));
    expect(res.status).toBe(502);
    const line = t.logger.lines.find((l) => l.includes(`app/127.0.0.1:${byIp.port}`));
    expect(line).toMatch(/verify/i);
  } finally {
    await t.stop();
  }
});

test("server_name sets SNI and the name checked; without it a certificate for another name fails", async () => {
  const without = await tenbinWithPool(`    servers: [{ url: "https://127.0.0.1:${byName.port}" }]\n    tls: { ca_file: ${certs.ca} }`);
  try {
    expect((await fetch(without.url("/"))).status).toBe(502);
    expect(without.logger.lines.join("\n")).toMatch(/ALTNAME|altnames|does not match/i);
  } finally {
    await without.stop();
  }
  // A server's own tls overrides the pool's key by key: the CA comes from the pool.
  const withName = await tenbinWithPool(`    servers: [{ url: "https://127.0.0.1:${byName.port}", tls: { server_name: backend.internal } }]\n    tls: { ca_file: ${certs.ca} }`);
  try {
    const res = await fetch(withName.url("/"));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("from byName");
  } finally {
    await withName.stop();
  }
});

test("insecure_skip_verify accepts a certificate no configured CA signed", async () => {
  const t = await tenbinWithPool(`    servers: [{ url: "https://127.0.0.1:${byIp.port}" }]\n    tls: { ca_file: ${certs.otherCa}, insecure_skip_verify: true }`);
  try {
    expect((await fetch(t.url("/"))).status).toBe(200);
  } finally {
    await t.stop();
  }
});

test("health probes use the pool's TLS settings: up with the right CA, down with the wrong one", async () => {
  const health = "    health: { http: { path: /healthz }, interval: 100ms, timeout: 1s, rise: 1, fall: 1, jitter: 0 }";
  const good = await tenbinWithPool(`    servers: [{ url: "https://127.0.0.1:${byName.port}", tls: { server_name: backend.internal } }]\n    tls: { ca_file: ${certs.ca} }\n${health}`);
  const bad = await tenbinWithPool(`    servers: [{ url: "https://127.0.0.1:${byName.port}" }]\n    tls: { ca_file: ${certs.otherCa} }\n${health}`);
  try {
    const before = probes;
    const goodServer = good.tenbin.pools.get("app")!.servers[0]!;
    const badServer = bad.tenbin.pools.get("app")!.servers[0]!;
    for (let i = 0; i < 50 && (probes - before < 2 || badServer.healthy); i++) await Bun.sleep(50);
    expect(probes - before).toBeGreaterThanOrEqual(2); // only the good pool's probes get through
    expect(goodServer.healthy).toBe(true);
    expect(badServer.healthy).toBe(false);
    expect(badServer.lastReason).toMatch(/verify|certificate/i);
  } finally {
    await good.stop();
    await bad.stop();
  }
});
