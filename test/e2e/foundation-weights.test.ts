/** Weighted round robin through a tenbin process: weights 3:1 over 400 requests give 75 % / 25 %. */
import { afterAll, expect, test } from "bun:test";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbin } from "../helpers/tenbin.ts";

const heavy = startHttpBackend(() => new Response("heavy"));
const light = startHttpBackend(() => new Response("light"));
afterAll(async () => {
  await heavy.stop();
  await light.stop();
});

test("round robin with weights 3:1 sends 75 % ± 3 % of 400 requests to the heavier server", async () => {
  const t = await startTenbin(`
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app:
    balance: round_robin
    servers:
      - { url: "${heavy.url}", weight: 3 }
      - { url: "${light.url}", weight: 1 }
`);
  try {
    const counts = { heavy: 0, light: 0 } as Record<string, number>;
    // Eight clients in parallel, 50 requests each: concurrency must not skew the shares.
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 50; i++) {
        const res = await fetch(t.url("/"));
        expect(res.status).toBe(200);
        const body = await res.text();
        counts[body] = (counts[body] ?? 0) + 1;
      }
    }));
    expect(counts.heavy! + counts.light!).toBe(400);
    expect(Math.abs(counts.heavy! / 400 - 0.75)).toBeLessThanOrEqual(0.03);
    expect(Math.abs(counts.light! / 400 - 0.25)).toBeLessThanOrEqual(0.03);
    expect(heavy.requests).toBe(counts.heavy!);
  } finally {
    expect(await t.stop()).toBe(0);
  }
}, 20_000);
