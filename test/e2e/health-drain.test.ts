/**
 * Drain end to end: a draining server takes no new request, not even from a client whose sticky
 * cookie names it, while a request already on it runs to completion — from the config file at
 * start, and when a reload turns drain on.
 */
import { afterAll, expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";
import { startHttpBackend, waitUntil } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

/** Releases the slow requests the `b` backend holds. */
let releaseSlow: () => void = () => {};
/** Requests that reached b, health probes not counted. */
let bServed = 0;
const a = startHttpBackend(() => new Response("a"));
const b = startHttpBackend(async (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/healthz") return new Response("ok");
  bServed++;
  if (path !== "/slow") return new Response("b");
  await new Promise<void>((resolve) => (releaseSlow = resolve));
  return new Response("b-slow");
});
afterAll(async () => {
  await a.stop();
  await b.stop();
});

const config = (drainB: boolean) => `
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app:
    sticky: { cookie: { name: srv, key: drain-test-key } }
    health: { http: { path: /healthz }, interval: 1s }
    servers:
      - { url: "${a.url}", name: a }
      - { url: "${b.url}", name: b, drain: ${drainB} }
`;

/** A sticky cookie naming `b`, as a client got it from tenbin (bounded number of tries). */
async function cookieFor(url: string, name: string): Promise<string> {
  for (let i = 0; i < 10; i++) {
    const res = await fetch(url);
    if ((await res.text()) === name) return res.headers.get("set-cookie")!.split(";")[0]!;
  }
  throw new Error(`no response from ${name} in 10 requests`);
}

/** Bodies of `n` GETs sent with `cookie`, and whether each response re-pinned the client. */
async function stickyBodies(url: string, cookie: string, n: number): Promise<{ bodies: string[]; repinned: number }> {
  const bodies: string[] = [];
  let repinned = 0;
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, { headers: { cookie } });
    bodies.push(await res.text());
    if (res.headers.get("set-cookie")?.startsWith("srv=")) repinned++;
  }
  return { bodies, repinned };
}

test("drain: true in the config keeps every new request off the server, sticky clients included", async () => {
  const first = await startTenbinInProcess(config(false));
  let cookie: string;
  try {
    cookie = await cookieFor(first.url("/"), "b");
  } finally {
    await first.stop();
  }
  // A second tenbin with the same cookie key honours the cookie, but b drains from the start.
  const t = await startTenbinInProcess(config(true));
  try {
    const server = t.tenbin.pools.get("app")!.servers.find((s) => s.name === "b")!;
    expect(server.status()).toBe("draining");
    const before = bServed;
    const { bodies, repinned } = await stickyBodies(t.url("/"), cookie, 6);
    expect(bodies).toEqual(["a", "a", "a", "a", "a", "a"]);
    // Each response offers a cookie naming a (this client keeps sending the old one).
    expect(repinned).toBe(6);
    expect(bServed).toBe(before);
  } finally {
    await t.stop();
  }
});

test("a reload that drains a server lets its slow in-flight request finish and sends it nothing new", async () => {
  const t = await startTenbinInProcess(config(false));
  try {
    const cookie = await cookieFor(t.url("/"), "b");
    // The cookie pins: before the drain every request with it lands on b.
    expect((await stickyBodies(t.url("/"), cookie, 3)).bodies).toEqual(["b", "b", "b"]);
    const slow = fetch(t.url("/slow"), { headers: { cookie } });
    await waitUntil(() => b.inFlight === 1, 2000, "the slow request to reach b");

    await t.tenbin.reload(loadConfigText(config(true), "test.yaml", process.env));
    const server = t.tenbin.pools.get("app")!.servers.find((s) => s.name === "b")!;
    expect(server.status()).toBe("draining");
    expect(server.inFlight).toBe(1);
    const before = bServed;
    const { bodies } = await stickyBodies(t.url("/"), cookie, 6);
    expect(bodies).toEqual(["a", "a", "a", "a", "a", "a"]);
    expect(bServed).toBe(before);

    releaseSlow();
    const res = await slow;
    expect([res.status, await res.text()]).toEqual([200, "b-slow"]);
    expect(server.inFlight).toBe(0);
  } finally {
    releaseSlow();
    await t.stop();
  }
});
