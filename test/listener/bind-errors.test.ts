/**
 * A listener that cannot bind says which listener, which address and why (defect: Bun said only
 * "Failed to listen at 127.0.0.1"); a second tenbin on the same TLS address refuses to start like
 * a plain one, though TLS listeners are bound with reusePort (so a certificate reload can bind beside
 * the old socket) — and that reload still works.
 */
import { afterAll, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { loadConfigText } from "../../src/config/load.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { Tenbin } from "../../src/start.ts";
import { testCerts } from "../helpers/certs.ts";
import { BUN, ROOT, writeConfig } from "../helpers/tenbin.ts";
import { join } from "node:path";

const certs = await testCerts();
const holder: Server = createServer();
await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
const taken = (holder.address() as { port: number }).port;
afterAll(() => void holder.close());

const config = (listen: string, extra = "") => loadConfigText(`admin: { enabled: false }
listeners:
  - { name: web, listen: "${listen}", routes: [{ pool: app }]${extra} }
pools:
  app: { servers: [{ url: "http://127.0.0.1:9" }] }
`, "t.yaml", {});

const start = (c: ReturnType<typeof config>) => Tenbin.start(c, { runtime: bunRuntime, logger: memoryLogger() });

for (const engine of ["tenbin", "runtime"]) {
  test(`engine ${engine}: a taken port names the listener, the address and "address already in use"`, async () => {
    const error = await start(config(`127.0.0.1:${taken}`, `, engine: ${engine}`)).then(() => undefined, (e: Error) => e);
    expect(error?.message).toStartWith(`listener "web" cannot listen on 127.0.0.1:${taken}: address already in use`);
  });
}

test("tcp listeners too, and `tenbin run` prints it and exits 1", async () => {
  const file = writeConfig(`admin: { enabled: false }
listeners: [{ name: db, listen: "127.0.0.1:${taken}", mode: tcp, pool: raw }]
pools: { raw: { servers: [{ url: "tcp://127.0.0.1:9" }] } }
`);
  const proc = Bun.spawn([BUN, join(ROOT, "src/main.ts"), "run", "-c", file], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  expect(code).toBe(1);
  expect(stderr).toContain(`tenbin: listener "db" cannot listen on 127.0.0.1:${taken}: address already in use`);
}, 30_000);

test("a second tenbin on the same TLS address refuses to start; the first still reloads its certificates", async () => {
  const tls = (pair: { cert: string; key: string }) => `, tls: { certificates: [{ cert: "${pair.cert}", key: "${pair.key}" }] }`;
  const first = await start(config("127.0.0.1:0", tls(certs.a)));
  try {
    const port = first.listeners[0]!.port;
    const error = await start(config(`127.0.0.1:${port}`, tls(certs.a))).then((t) => (void t.stop(), undefined), (e: Error) => e);
    expect(error?.message).toStartWith(`listener "web" cannot listen on 127.0.0.1:${port}: address already in use`);
    // tenbin's own reload of the same listener with new certificates binds beside the old socket.
    await first.reload(config(`127.0.0.1:${port}`, tls(certs.b)));
    expect(first.listeners[0]!.port).toBe(port);
  } finally {
    await first.stop(1000);
  }
});
