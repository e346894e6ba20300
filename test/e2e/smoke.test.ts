import { afterAll, expect, test } from "bun:test";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbin, startTenbinInProcess } from "../helpers/tenbin.ts";

const a = startHttpBackend(() => new Response("a"));
const b = startHttpBackend(() => new Response("b"));
afterAll(async () => {
  await a.stop();
  await b.stop();
});

const yaml = `
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${a.url}" }, { url: "${b.url}" }] }
`;

test("a tenbin process balances requests round robin across two backends", async () => {
  const t = await startTenbin(yaml);
  try {
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push(await (await fetch(t.url("/"))).text());
    expect(bodies.sort()).toEqual(["a", "a", "b", "b"]);
  } finally {
    expect(await t.stop()).toBe(0);
  }
});

test("in-process tenbin answers 404 for no route", async () => {
  const t = await startTenbinInProcess(`
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ match: { path: /only/ }, pool: app }] }
pools:
  app: { servers: [{ url: "${a.url}" }] }
`);
  try {
    const res = await fetch(t.url("/other"));
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("No route");
  } finally {
    await t.stop();
  }
});
