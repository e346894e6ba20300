import { afterAll, describe, expect, test } from "bun:test";
import { healthSchema } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { ActiveHealth } from "../../src/pool/health/active.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { closedPort, serverFor, startTcpBackend } from "../helpers/health-backends.ts";

// A tiny line protocol: PING → PONG, anything else → ERR.
const backend = startTcpBackend((chunk) => (chunk.includes("PING\r\n") ? "+PONG\r\n" : chunk === "" ? undefined : "-ERR\r\n"));
const silent = startTcpBackend(() => undefined);
afterAll(() => {
  backend.stop();
  silent.stop();
});

function probe(health: Record<string, unknown>, url: string) {
  const server = serverFor(url, undefined, "db-1");
  const checker = new ActiveHealth({ poolName: "db", servers: [server], config: healthSchema.parse(health), fetch: bunRuntime.fetchUpstream, logger: memoryLogger() });
  return checker.probeOnce(server);
}

describe("TCP probe", () => {
  test("a bare connect passes and tcp:// servers get a TCP probe by default", async () => {
    const before = backend.connections;
    expect(await probe({ tcp: {} }, `tcp://127.0.0.1:${backend.port}`)).toMatchObject({ ok: true, reason: "" });
    expect(await probe({}, `tcp://127.0.0.1:${backend.port}`)).toMatchObject({ ok: true });
    expect(backend.connections).toBe(before + 2);
  });

  test("send then expect a substring of the reply", async () => {
    const url = `tcp://127.0.0.1:${backend.port}`;
    expect(await probe({ tcp: { send: "PING\r\n", expect: "+PONG" } }, url)).toMatchObject({ ok: true });
    // The backend answers -ERR and keeps the connection open: the probe waits for its timeout.
    expect(await probe({ tcp: { send: "HELLO\r\n", expect: "+PONG" }, timeout: "100ms" }, url)).toMatchObject({ ok: false, reason: "timeout after 100ms" });
  });

  test("a reply that never contains the expected text times out", async () => {
    const r = await probe({ tcp: { send: "PING\r\n", expect: "+PONG" }, timeout: "100ms" }, `tcp://127.0.0.1:${silent.port}`);
    expect(r).toMatchObject({ ok: false, reason: "timeout after 100ms" });
  });

  test("a closed port fails with connect ECONNREFUSED host:port", async () => {
    const port = closedPort();
    expect(await probe({ tcp: {} }, `tcp://127.0.0.1:${port}`)).toMatchObject({ ok: false, reason: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  test("a server that closes without the expected reply fails at once", async () => {
    const bye = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open(s) { s.end("BYE\r\n"); }, data() {} } });
    try {
      const r = await probe({ tcp: { expect: "READY" } }, `tcp://127.0.0.1:${bye.port}`);
      expect(r).toMatchObject({ ok: false, reason: 'reply did not contain "READY"' });
      expect(r.latencyMs).toBeLessThan(500);
    } finally {
      bye.stop(true);
    }
  });

  test("udp:// servers without a configured probe are skipped", async () => {
    expect(await probe({}, "udp://127.0.0.1:53")).toMatchObject({ ok: true, skipped: true, reason: "not probed: udp server" });
  });
});
