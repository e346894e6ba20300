/**
 * One TCP dial (listener/tcp-dial.ts) with an injected connect: a refused connect blames the server
 * (failure counted, passive ejection), but not while tenbin itself is out of file descriptors, when
 * Bun reports the same ECONNREFUSED: then nothing is counted and the log names tenbin's shortage.
 */
import { expect, test } from "bun:test";
import { dialServer } from "../../src/listener/tcp-dial.ts";
import type { TcpConn, TcpConnectOptions } from "../../src/runtime/types.ts";
import { makePool, take } from "../pool/pool-support.ts";

function refused(): Promise<TcpConn> {
  return Promise.reject(Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:8080"), { code: "ECONNREFUSED" }));
}

function dial(shortage: "EMFILE" | undefined) {
  const made = makePool([{}, {}], { outlier: { consecutive_failures: 1, eject_for: "30s" } });
  const server = take(made.pool);
  const result = dialServer({
    pool: made.pool, server, connect: (_o: TcpConnectOptions) => refused(), events: {} as TcpConnectOptions["events"], logger: made.logger,
    listener: "db", wanted: () => true, outOfFileDescriptors: () => shortage,
  });
  return { ...made, server, result };
}

test("a refused connect counts against the server and ejects it (consecutive_failures: 1)", async () => {
  const { pool, server, logger, result } = dial(undefined);
  expect(await result).toMatchObject({ conn: undefined, local: false });
  expect(server.failures).toBe(1);
  expect(pool.passive!.stats(server)).toMatchObject({ ejections: 1 });
  expect(server.inFlight).toBe(0);
  expect(logger.lines.join("\n")).toContain("ECONNREFUSED");
});

test("out of file descriptors: the server is not blamed and the log says it is tenbin's shortage", async () => {
  const { pool, server, logger, result } = dial("EMFILE");
  expect(await result).toEqual({ conn: undefined, reason: "tenbin is out of file descriptors (EMFILE)", local: true });
  expect(server.failures).toBe(0);
  expect(server.lastReason).not.toContain("file descriptors");
  expect(pool.passive!.stats(server)).toMatchObject({ ejections: 0 });
  // The slot was given back all the same.
  expect(server.inFlight).toBe(0);
  const log = logger.lines.join("\n");
  expect(log).toContain("tenbin is out of file descriptors (EMFILE), not the server's fault");
  expect(log).not.toContain("ECONNREFUSED");
});
