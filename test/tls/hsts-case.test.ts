/**
 * With `hsts` on, the backend's header names still reach the client in the backend's case on
 * tenbin's own server (adding Strict-Transport-Security once lower-cased every name).
 */
import { afterAll, expect, test } from "bun:test";
import { connect } from "node:tls";
import { testCerts } from "../helpers/certs.ts";
import { answer, startRawBackend } from "../helpers/raw-http-backend.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const certs = await testCerts();
const backend = await startRawBackend((_req, conn) => conn.send(answer("hello", "200 OK", "X-Backend-Name: b1\r\nCache-Control: no-store\r\n")));
const t = await startTenbinInProcess(`admin: { enabled: false }
listeners:
  - name: web
    listen: 127.0.0.1:0
    engine: tenbin
    hsts: true
    tls: { certificates: [{ cert: ${certs.a.cert}, key: ${certs.a.key} }] }
    routes: [{ pool: app }]
pools:
  app: { servers: [{ url: "http://127.0.0.1:${backend.port}" }] }
`);
afterAll(async () => {
  await t.stop();
  await backend.stop();
});

/** The raw head of a GET over TLS (bounded to 5 s). */
function rawHead(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", servername: "a.test", rejectUnauthorized: false }, () => {
      socket.write("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
    });
    let text = "";
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no answer: ${text}`))), 5000);
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text.slice(0, end));
      }
    });
    socket.on("error", reject);
  });
}

test("header names keep the backend's case next to the HSTS header", async () => {
  const head = await rawHead(t.port("web"));
  expect(head).toContain("\r\nX-Backend-Name: b1");
  expect(head).toContain("\r\nCache-Control: no-store");
  expect(head.toLowerCase()).toContain("\r\nstrict-transport-security: max-age=31536000");
});
