/**
 * Zero-drop hot reload: 20 clients send requests for ~10 s to a real tenbin process while its config
 * is reloaded 20 times (server C added and removed, a weight changed, the algorithm switched, one
 * invalid file; through POST /api/reload and SIGHUP). No client request may fail, and server C may
 * receive no request that a client sent after a reload removing C had completed.
 */
import { afterAll, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbin, writeConfig } from "../helpers/tenbin.ts";

const CLIENTS = 20;
const LOAD_MS = 10_000;
const RELOADS = 20;

/** Client send time of each request, by the id it carries. */
const sentAt = new Map<number, number>();
/** Arrival time and request id of everything server C received. */
const arrivalsAtC: { at: number; id: number }[] = [];

const a = startHttpBackend(() => new Response("a"));
const b = startHttpBackend(() => new Response("b"));
const c = startHttpBackend((req) => {
  arrivalsAtC.push({ at: performance.now(), id: Number(req.headers.get("x-seq")) });
  return new Response("c");
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop(), c.stop()]);
});

interface Version {
  withC: boolean;
  bWeight: number;
  balance: string;
  invalid?: boolean;
}

function render(v: Version): string {
  const servers = [`{ url: "${a.url}", name: a }`, `{ url: "${b.url}", name: b, weight: ${v.bWeight} }`];
  if (v.withC) servers.push(`{ url: "${c.url}", name: c }`);
  return `admin: { listen: 127.0.0.1:0 }
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app:
    balance: ${v.balance}
    ${v.invalid ? "retries: many" : "retries: 2"}
    servers: [${servers.join(", ")}]
`;
}

/** The i-th reload: C comes and goes every other step, with other changes in between. */
function version(i: number): Version {
  return {
    withC: i % 4 < 2,
    bWeight: 1 + (i % 3),
    balance: i % 5 === 3 ? "least_conn" : "round_robin",
    invalid: i === 9,
  };
}

test(`${CLIENTS} clients see no failure across ${RELOADS} reloads, and a removed server gets no new request`, async () => {
  const file = writeConfig(render({ withC: false, bWeight: 1, balance: "round_robin" }));
  const t = await startTenbin(file);
  try {
    await t.waitFor(/admin listening on http:\/\/127\.0\.0\.1:\d+/);
    const adminPort = Number(/admin listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(t.output())![1]);
    const web = t.url("/");

    let seq = 0;
    let ok = 0;
    const failures: string[] = [];
    const deadline = performance.now() + LOAD_MS;
    const client = async () => {
      for (let n = 0; n < 100_000 && performance.now() < deadline; n++) {
        const id = ++seq;
        sentAt.set(id, performance.now());
        try {
          const res = await fetch(web, { headers: { "x-seq": String(id) } });
          const body = await res.text();
          if (res.status === 200 && ["a", "b", "c"].includes(body)) ok++;
          else failures.push(`request ${id}: ${res.status} ${body.slice(0, 80)}`);
        } catch (error) {
          failures.push(`request ${id}: ${(error as Error).message}`);
        }
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, client));

    /** [completed, next reload sent] windows during which C is out of the config. */
    const removedWindows: { from: number; to: number }[] = [];
    let withC = false;
    let sighups = 0;
    const spacing = (LOAD_MS - 1000) / RELOADS;
    for (let i = 0; i < RELOADS; i++) {
      await Bun.sleep(spacing);
      const v = version(i);
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, render(v));
      renameSync(tmp, file); // atomic: a reload never reads half a file
      const sent = performance.now();
      const open = removedWindows.at(-1);
      if (open && open.to === Infinity) open.to = sent;
      if (i % 4 === 1 && !v.invalid) {
        // SIGHUP path: done when the log says so.
        t.proc.kill("SIGHUP");
        sighups++;
        await t.waitFor(new RegExp(`(reloaded [^\\n]*trigger=SIGHUP[\\s\\S]*){${sighups}}`), 5000);
      } else {
        const res = await fetch(`http://127.0.0.1:${adminPort}/api/reload`, { method: "POST" });
        const result = (await res.json()) as { ok: boolean; errors: { line: number; column: number }[] };
        if (v.invalid) {
          expect(res.status).toBe(422);
          expect(result.errors[0]).toMatchObject({ line: 7, column: 14 });
          continue; // still serving the previous config
        }
        expect(res.status).toBe(200);
      }
      const done = performance.now();
      if (withC && !v.withC) removedWindows.push({ from: done, to: Infinity });
      withC = v.withC;
    }
    await load;

    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(CLIENTS * 20);
    expect(removedWindows.length).toBeGreaterThanOrEqual(4);
    // C did take traffic while it was in the config...
    expect(arrivalsAtC.length).toBeGreaterThan(0);
    // ...and nothing sent after a removal completed reached it.
    const late = arrivalsAtC.filter(({ at, id }) => removedWindows.some((w) => at > w.from && at < w.to && sentAt.get(id)! >= w.from));
    expect(late).toEqual([]);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    expect(metrics).toContain(`tenbin_reloads_total{result="success"} ${RELOADS - 1}`);
    expect(metrics).toContain('tenbin_reloads_total{result="failure"} 1');
  } finally {
    expect(await t.stop()).toBe(0);
  }
}, 40_000);
