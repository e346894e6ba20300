// `tls.min_version` holds on every kind of TLS listener: Bun.serve (engine runtime), Bun.listen
// (engine tenbin and tcp with one certificate) and node:tls (engine tenbin with several), checked
// with openssl s_client offering one version only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { run, testCerts, type TestCerts } from "../helpers/certs.ts";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const backend = startHttpBackend(() => new Response("ok"));
let certs: TestCerts;
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;

const LISTENERS = ["runtime-one", "own-one", "own-two", "tcp-one", "own-default"] as const;

beforeAll(async () => {
  certs = await testCerts();
  const one = `certificates: [{ cert: "${certs.a.cert}", key: "${certs.a.key}" }]`;
  const two = `certificates: [{ cert: "${certs.a.cert}", key: "${certs.a.key}" }, { cert: "${certs.b.cert}", key: "${certs.b.key}" }]`;
  t = await startTenbinInProcess(`
admin: { enabled: false }
listeners:
  - { name: runtime-one, listen: 127.0.0.1:0, tls: { min_version: "1.3", ${one} }, routes: [{ pool: app }] }
  - { name: own-one, listen: 127.0.0.1:0, engine: tenbin, tls: { min_version: "1.3", ${one} }, routes: [{ pool: app }] }
  - { name: own-two, listen: 127.0.0.1:0, engine: tenbin, tls: { min_version: "1.3", ${two} }, routes: [{ pool: app }] }
  - { name: tcp-one, mode: tcp, listen: 127.0.0.1:0, tls: { min_version: "1.3", ${one} }, pool: raw }
  - { name: own-default, listen: 127.0.0.1:0, engine: tenbin, tls: { ${one} }, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${backend.url}" }] }
  raw: { servers: [{ url: "${backend.url.replace("http://", "tcp://")}" }] }
`);
});
afterAll(async () => {
  await t?.stop();
  await backend.stop();
});

/** The protocol openssl negotiated offering only `version` ("1.2" or "1.3"), or "refused". */
async function negotiated(port: number, version: "1.2" | "1.3"): Promise<string> {
  const flag = version === "1.2" ? "-tls1_2" : "-tls1_3";
  const { out } = await run(["openssl", "s_client", "-connect", `127.0.0.1:${port}`, "-servername", "a.test", flag], "Q\n");
  return /New, (TLSv1\.[0-3]), Cipher/.exec(out)?.[1] ?? "refused";
}

describe("min_version: 1.3", () => {
  for (const name of LISTENERS.filter((n) => n !== "own-default")) {
    test(`${name}: TLS 1.2 is refused, TLS 1.3 is served`, async () => {
      const port = t.port(name);
      expect(await negotiated(port, "1.2")).toBe("refused");
      expect(await negotiated(port, "1.3")).toBe("TLSv1.3");
    });
  }
});

test("without min_version TLS 1.2 is served (engine tenbin, one certificate)", async () => {
  const port = t.port("own-default");
  expect(await negotiated(port, "1.2")).toBe("TLSv1.2");
  const res = await fetch(`https://127.0.0.1:${port}/`, { tls: { serverName: "a.test", ca: await Bun.file(certs.ca).text() } } as RequestInit);
  expect(await res.text()).toBe("ok");
});
