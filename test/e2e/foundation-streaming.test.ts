/**
 * Large bodies stream through a tenbin process both ways: 100 MiB up and 100 MiB down arrive whole
 * (SHA-256 compared) while tenbin's peak memory grows far less than the body — so it never holds a
 * body whole.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { type BackendProcess, patternSha256, patternStream, spawnBackendProcess } from "../helpers/backend-process.ts";
import { startTenbin, type TenbinProcess } from "../helpers/tenbin.ts";

const MIB_COUNT = 100;
let backend: BackendProcess;
let tenbin: TenbinProcess;
let expectedSha: string;

beforeAll(async () => {
  backend = await spawnBackendProcess();
  tenbin = await startTenbin(`
listeners:
  - { name: web, listen: 127.0.0.1:0, max_body: 1GiB, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${backend.url}" }] }
`);
  expectedSha = patternSha256(MIB_COUNT);
});

afterAll(async () => {
  await tenbin?.stop();
  await backend?.kill();
});

/** Peak resident memory (VmHWM) of a process, in bytes. */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status);
  if (!kb) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kb[1]) * 1024;
}

test("100 MiB up and 100 MiB down pass whole while tenbin's peak memory stays far below the body", async () => {
  // Warm up (first request, JIT, socket pools) so the baseline is not the cold start.
  expect((await fetch(tenbin.url("/warm"))).status).toBe(200);
  const before = peakRss(tenbin.proc.pid);

  const up = await fetch(tenbin.url("/upload"), {
    method: "POST",
    body: patternStream(MIB_COUNT),
    duplex: "half",
    signal: AbortSignal.timeout(15_000),
  } as RequestInit);
  expect(up.status).toBe(200);
  expect(await up.json()).toEqual({ bytes: MIB_COUNT * 1024 * 1024, sha256: expectedSha });

  const down = await fetch(tenbin.url(`/download?mib=${MIB_COUNT}`), { signal: AbortSignal.timeout(15_000) });
  expect(down.status).toBe(200);
  const hash = createHash("sha256");
  let bytes = 0;
  const reader = down.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
    bytes += value.length;
  }
  expect(bytes).toBe(MIB_COUNT * 1024 * 1024);
  expect(hash.digest("hex")).toBe(expectedSha);

  const growth = peakRss(tenbin.proc.pid) - before;
  // Buffering either body would grow the peak by ≥ 100 MiB; streaming needs a few buffers.
  expect(growth).toBeLessThan(64 * 1024 * 1024);
}, 30_000);

test("a server that dies mid-download cuts the client's response (an error, not a short body that looks whole)", async () => {
  const doomed = await spawnBackendProcess();
  const t = await startTenbin(`
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${doomed.url}" }], retries: 0 }
`);
  try {
    const res = await fetch(t.url(`/download?mib=${MIB_COUNT}`), { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let bytes = 0;
    while (bytes < 4 * 1024 * 1024) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
    }
    await doomed.kill();
    const outcome = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return `ended cleanly after ${bytes} bytes`;
        bytes += value.length;
      }
    })().catch((e: unknown) => (e instanceof Error ? e.name : String(e)));
    expect(outcome).not.toStartWith("ended cleanly");
    expect(bytes).toBeLessThan(MIB_COUNT * 1024 * 1024);
    // tenbin lives on and answers for the dead server.
    expect((await fetch(t.url("/after"))).status).toBe(502);
  } finally {
    await doomed.kill();
    expect(await t.stop()).toBe(0);
  }
}, 20_000);
