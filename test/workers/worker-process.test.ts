/**
 * The worker's side of the channel, in this process: a fake primary sends `init`, then a health
 * change and a reload while the worker is still binding its listener — neither may be lost.
 */
import { afterAll, expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import type { ParentChannel, Runtime } from "../../src/runtime/types.ts";
import type { PrimaryMessage, WorkerMessage } from "../../src/workers/protocol.ts";
import { runWorker } from "../../src/workers/worker-process.ts";
import { startHttpBackend, waitUntil } from "../helpers/health-backends.ts";

const a = startHttpBackend(() => new Response("A"));
const b = startHttpBackend(() => new Response("B"));
const c = startHttpBackend(() => new Response("C"));
afterAll(() => Promise.all([a.stop(), b.stop(), c.stop()]));

function config(withNewRoute: boolean) {
  return loadConfigText(`listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
${withNewRoute ? "      - { match: { path: /new }, pool: extra }\n" : ""}      - { pool: app }
pools:
  app:
    retries: 0
    health: { http: { path: / }, interval: 1h }
    servers: [{ url: ${a.url} }, { url: ${b.url} }]
  extra: { servers: [{ url: ${c.url} }] }
`, "test.yaml", {});
}

/** A fake primary: what the worker sent, and a way to send to it. */
function fakePrimary() {
  const received: WorkerMessage[] = [];
  let deliver: (message: unknown) => void = () => {};
  let disconnect: () => void = () => {};
  const channel: ParentChannel = {
    send: (message) => void received.push(message as WorkerMessage),
    onMessage: (handler) => void (deliver = handler),
    onDisconnect: (handler) => void (disconnect = handler),
  };
  return { channel, received, send: (m: PrimaryMessage) => deliver(m), disconnect: () => disconnect() };
}

test("messages that arrive while the worker starts are applied once it runs", async () => {
  const primary = fakePrimary();
  const logger = memoryLogger();
  // No signal handlers in the test runner's own process.
  const runtime: Runtime = { ...bunRuntime, parentChannel: () => primary.channel, onSignal: () => () => {} };
  const done = runWorker(runtime, logger, 7, "test.yaml");
  await waitUntil(() => primary.received.some((m) => m.type === "hello"), 2000, "hello");
  const up = { pool: "app", drain: null, disabled: false, weight: null };
  primary.send({ type: "init", config: config(false), health: [{ ...up, key: a.url, healthy: true }, { ...up, key: b.url, healthy: true }] });
  // Sent at once, before the worker's listener is bound.
  primary.send({ type: "health", changes: [{ ...up, key: b.url, healthy: false }] });
  primary.send({ type: "reload", config: config(true) });
  await waitUntil(() => primary.received.some((m) => m.type === "reloaded"), 5000, "reloaded");
  expect(primary.received.find((m) => m.type === "reloaded")).toEqual({ type: "reloaded", ok: true, message: "" });
  const port = Number(/listener web listening on http:\/\/127\.0\.0\.1:(\d+) worker=7/.exec(logger.lines.join("\n"))![1]);
  const bodies = [];
  for (let i = 0; i < 10; i++) bodies.push(await (await fetch(`http://127.0.0.1:${port}/`)).text());
  expect(new Set(bodies)).toEqual(new Set(["A"])); // b went down before the worker served anything
  expect(await (await fetch(`http://127.0.0.1:${port}/new`)).text()).toBe("C");
  // Counters come every second; the stop order ends it with exit code 0.
  await waitUntil(() => primary.received.some((m) => m.type === "counters" && m.snapshot.requests === 11), 3000, "a counters report");
  primary.send({ type: "stop" });
  expect(await done).toBe(0);
  expect(logger.lines.some((l) => l.includes("stop order from the primary: stopping") && l.includes("worker=7"))).toBe(true);
});

test("a worker whose primary is gone before init exits at once", async () => {
  const primary = fakePrimary();
  const runtime: Runtime = { ...bunRuntime, parentChannel: () => primary.channel, onSignal: () => () => {} };
  const done = runWorker(runtime, memoryLogger(), 1, "test.yaml");
  primary.disconnect();
  expect(await done).toBe(0);
});

test("tenbin worker refuses to run without a primary", async () => {
  const runtime: Runtime = { ...bunRuntime, parentChannel: () => undefined };
  await expect(runWorker(runtime, memoryLogger(), 1, "test.yaml")).rejects.toThrow("tenbin worker is started by `tenbin run`");
});
