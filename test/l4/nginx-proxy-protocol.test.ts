/** Interoperability: nginx reads the PROXY headers tenbin writes (v1 and v2). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { findNginx, type ProxyProtocolNginx, startProxyProtocolNginx } from "../helpers/l4-nginx.ts";
import { startL4Tenbin, textClient } from "../helpers/l4-tenbin.ts";

const nginx = findNginx();
// CI installs nginx (.ci/run); elsewhere the suite is reported as skipped.
const run = nginx ? describe : describe.skip;

run("send_proxy read by nginx", () => {
  let server: ProxyProtocolNginx;
  beforeAll(async () => {
    server = await startProxyProtocolNginx(nginx!);
  });
  afterAll(() => server?.stop());

  for (const version of ["v1", "v2"] as const) {
    test(`${version}: nginx sees the client's address and port`, async () => {
      const t = await startL4Tenbin(`
admin: { enabled: false }
listeners:
  - { name: l4, listen: 127.0.0.1:0, mode: tcp, pool: p }
pools:
  p: { send_proxy: ${version}, servers: [{ url: "tcp://127.0.0.1:${server.port}" }] }
`);
      try {
        const client = await textClient(t.port("l4"), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        const response = await client.until((_text, closed) => closed);
        expect(response).toStartWith("HTTP/1.1 200");
        expect(response).toEndWith(`addr=127.0.0.1 port=${client.localPort}`);
      } finally {
        await t.stop();
      }
    });
  }
});
