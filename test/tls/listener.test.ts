import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { curl, presentedCn, testCerts, type TestCerts } from "../helpers/certs.ts";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const backend = startHttpBackend((req) => new Response(`${req.headers.get("x-forwarded-proto")} ${new URL(req.url).pathname}`));
let certs: TestCerts;
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;

beforeAll(async () => {
  certs = await testCerts();
  t = await startTenbinInProcess(`
admin: { enabled: false }
listeners:
  - name: web
    listen: 127.0.0.1:0
    http2: true
    hsts: { max_age: 1d, include_subdomains: true }
    tls:
      certificates:
        - { cert: ${certs.a.cert}, key: ${certs.a.key} }
        - { cert: ${certs.b.cert}, key: ${certs.b.key} }
    routes: [{ pool: app }]
  - name: plain
    listen: 127.0.0.1:0
    redirect_https: true
  - name: plain-8443
    listen: 127.0.0.1:0
    redirect_https: { port: 8443, status: 301 }
pools:
  app: { servers: [{ url: "${backend.url}" }] }
`);
});
afterAll(async () => {
  await t?.stop();
  await backend.stop();
});

describe("SNI", () => {
  test("openssl s_client gets each host's certificate, the first one without SNI or for an unknown name", async () => {
    const port = t.port("web");
    expect(await presentedCn(port, "a.test")).toBe("a.test");
    expect(await presentedCn(port, "b.test")).toBe("b.test");
    expect(await presentedCn(port, "api.b.test")).toBe("b.test");
    expect(await presentedCn(port, "unknown.example")).toBe("a.test");
    expect(await presentedCn(port, undefined)).toBe("a.test");
  });

  test("curl verifies both hosts against the test CA and reaches the backend over https", async () => {
    const port = t.port("web");
    for (const host of ["a.test", "b.test"]) {
      const r = await curl(["--cacert", certs.ca, "--resolve", `${host}:${port}:127.0.0.1`, `https://${host}:${port}/hello`]);
      expect(r.err).toBe("");
      expect(r.out).toBe("https /hello");
    }
  });
});

test("HTTP/2 is negotiated with curl --http2, HTTP/1.1 still served", async () => {
  const port = t.port("web");
  const base = ["--cacert", certs.ca, "--resolve", `a.test:${port}:127.0.0.1`, `https://a.test:${port}/v`, "-o", "/dev/null", "-w", "%{http_version}"];
  expect((await curl(["--http2", ...base])).out).toBe("2");
  expect((await curl(["--http1.1", ...base])).out).toBe("1.1");
});

test("the tls listener sends Strict-Transport-Security as configured", async () => {
  const port = t.port("web");
  const r = await curl(["--cacert", certs.ca, "--resolve", `a.test:${port}:127.0.0.1`, `https://a.test:${port}/`, "-D", "-", "-o", "/dev/null"]);
  expect(r.out.toLowerCase()).toContain("strict-transport-security: max-age=86400; includesubdomains\r\n");
});

describe("redirect_https", () => {
  test("answers 308 to the same host and path on https, without the plain port", async () => {
    const before = backend.requests;
    const res = await fetch(`http://127.0.0.1:${t.port("plain")}/a/b?c=1&d`, { redirect: "manual", headers: { host: "shop.example:8080" } });
    expect(res.status).toBe(308);
    expect(res.headers.get("location")).toBe("https://shop.example/a/b?c=1&d");
    expect(res.headers.get("strict-transport-security")).toBeNull();
    expect(backend.requests).toBe(before); // nothing is forwarded: the listener has no routes
  });

  test("a POST keeps its method with 308; a configured port and status are used", async () => {
    const res = await fetch(`http://127.0.0.1:${t.port("plain-8443")}/form`, { method: "POST", body: "x", redirect: "manual", headers: { host: "shop.example" } });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("https://shop.example:8443/form");
  });
});
