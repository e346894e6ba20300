/**
 * End to end: backup servers take over only when every primary is down (health probes, or refused
 * and ejected), and the sorry path — a static page, a sorry server, or a plain 503 — when no server
 * can take the request.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { closedPort, startHttpBackend, waitUntil } from "../helpers/health-backends.ts";
import { startTenbinInProcess, writeConfig } from "../helpers/tenbin.ts";
import { appPoolYaml, get, healthBackend, load, namedBackend, stopAll, tally } from "./pools-support.ts";

const p1 = healthBackend("p1");
const p2 = healthBackend("p2");
const backup = healthBackend("backup");
const sorryServer = startHttpBackend(async (req) => new Response(`sorry server: ${req.method} ${new URL(req.url).pathname} ${await req.text()}`, { status: 503 }));
afterAll(() => stopAll([p1, p2, backup, sorryServer]));

const yaml = appPoolYaml;

/** Answers of `n` sequential requests, tallied by body. */
async function answers(url: string, n: number): Promise<Record<string, number>> {
  return tally(await load(n, 1, async () => (await get(url)).body));
}

describe("backup servers", () => {
  test("take traffic only while every primary is down (health probes)", async () => {
    const t = await startTenbinInProcess(yaml(`
    health: { http: { path: /healthz }, interval: 50ms, timeout: 200ms, fall: 1, rise: 1, jitter: 0 }
    servers:
      - { url: "${p1.url}" }
      - { url: "${p2.url}" }
      - { url: "${backup.url}", backup: true }`));
    const [s1, s2] = t.tenbin.pools.get("app")!.servers;
    try {
      expect(await answers(t.url("/"), 6)).toEqual({ p1: 3, p2: 3 });
      p1.state.healthy = false;
      await waitUntil(() => !s1!.healthy, 2000, "p1 down");
      expect(await answers(t.url("/"), 4)).toEqual({ p2: 4 });
      p2.state.healthy = false;
      await waitUntil(() => !s2!.healthy, 2000, "p2 down");
      expect(await answers(t.url("/"), 4)).toEqual({ backup: 4 });
      p1.state.healthy = true;
      await waitUntil(() => s1!.healthy, 2000, "p1 up");
      // The snapshot of the balancer lags live state by up to 50 ms.
      await new Promise((r) => setTimeout(r, 60));
      expect(await answers(t.url("/"), 4)).toEqual({ p1: 4 });
    } finally {
      p1.state.healthy = true;
      p2.state.healthy = true;
      await t.stop();
    }
  });

  test("take traffic when the only primary refuses connections and is ejected", async () => {
    const t = await startTenbinInProcess(yaml(`
    outlier: { consecutive_failures: 1, eject_for: 10s, max_ejected_percent: 100 }
    servers:
      - { url: "http://127.0.0.1:${closedPort()}" }
      - { url: "${backup.url}", backup: true }`));
    try {
      expect(await answers(t.url("/"), 5)).toEqual({ backup: 5 });
      // Refused once, ejected, then never tried again while ejected.
      expect(t.logger.lines.filter((l) => l.includes("ECONNREFUSED") || / connect /.test(l)).length).toBeGreaterThan(0);
      expect(t.logger.lines.filter((l) => l.includes("ejected for 10s")).length).toBe(1);
      expect(t.logger.lines.filter((l) => l.includes("retrying on another server")).length).toBe(1);
    } finally {
      await t.stop();
    }
  });
});

describe("sorry", () => {
  const down = () => `
    health: { http: { path: /healthz }, interval: 10s, initial: down }
    servers: [{ url: "http://127.0.0.1:${closedPort()}" }]`;

  test("sorry.body_file is served with its status and content type when no server is available", async () => {
    const page = join(dirname(writeConfig("")), "sorry.html");
    writeFileSync(page, "<h1>Back soon</h1>\n");
    const t = await startTenbinInProcess(yaml(`${down()}
    sorry: { body_file: "${page}", status: 503, content_type: "text/html; charset=utf-8" }`));
    try {
      const res = await get(t.url("/shop"));
      expect(res.status).toBe(503);
      expect(res.body).toBe("<h1>Back soon</h1>\n");
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("retry-after")).toBe("5");
      expect(res.headers.get("x-request-id")).toBeTruthy();
    } finally {
      await t.stop();
    }
  });

  test("sorry.server takes the request (method, path and body) when no server is available", async () => {
    const t = await startTenbinInProcess(yaml(`${down()}
    sorry: { server: "${sorryServer.url}" }`));
    try {
      const res = await get(t.url("/cart"));
      expect(res.status).toBe(503);
      expect(res.body).toBe("sorry server: GET /cart ");
      const post = await get(t.url("/cart"), { method: "POST", body: "item=7" });
      expect(post.body).toBe("sorry server: POST /cart item=7");
    } finally {
      await t.stop();
    }
  });

  test("sorry.server also takes requests turned away by a full queue", async () => {
    const slow = namedBackend("slow", 300);
    const t = await startTenbinInProcess(yaml(`
    max_queue: 0
    servers: [{ url: "${slow.url}", max_conns: 1 }]
    sorry: { server: "${sorryServer.url}" }`));
    try {
      const [first, second] = await Promise.all([get(t.url("/a")), get(t.url("/b"))]);
      expect(first.body).toBe("slow");
      expect(second.body).toBe("sorry server: GET /b ");
    } finally {
      await t.stop();
      await slow.stop();
    }
  });

  test("servers that all refuse connections (no health checks) also lead to the sorry page", async () => {
    const page = join(dirname(writeConfig("")), "sorry.txt");
    writeFileSync(page, "maintenance");
    const t = await startTenbinInProcess(yaml(`
    servers: [{ url: "http://127.0.0.1:${closedPort()}" }, { url: "http://127.0.0.1:${closedPort()}" }]
    sorry: { body_file: "${page}", content_type: text/plain }`));
    const plain = await startTenbinInProcess(yaml(`
    servers: [{ url: "http://127.0.0.1:${closedPort()}" }]`));
    try {
      const res = await get(t.url("/"), { method: "POST", body: "x" });
      expect(res.status).toBe(503);
      expect(res.body).toBe("maintenance");
      // Without a sorry section, refused connections are a bad gateway.
      expect((await get(plain.url("/"))).status).toBe(502);
    } finally {
      await t.stop();
      await plain.stop();
    }
  });

  test("without a sorry section: a plain 503", async () => {
    const t = await startTenbinInProcess(yaml(down()));
    try {
      const res = await get(t.url("/"));
      expect(res.status).toBe(503);
      expect(res.body).toContain("Service unavailable");
      expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    } finally {
      await t.stop();
    }
  });

  test("a backup is preferred to the sorry page; the sorry page comes when the backup is down too", async () => {
    const page = join(dirname(writeConfig("")), "sorry.txt");
    writeFileSync(page, "maintenance");
    const t = await startTenbinInProcess(yaml(`
    health: { http: { path: /healthz }, interval: 50ms, timeout: 200ms, fall: 1, rise: 1, jitter: 0 }
    servers:
      - { url: "http://127.0.0.1:${closedPort()}" }
      - { url: "${backup.url}", backup: true }
    sorry: { body_file: "${page}", status: 503, content_type: text/plain }`));
    const backupState = t.tenbin.pools.get("app")!.servers[1]!;
    try {
      await waitUntil(() => !t.tenbin.pools.get("app")!.servers[0]!.healthy, 2000, "primary down");
      expect((await get(t.url("/"))).body).toBe("backup");
      backup.state.healthy = false;
      await waitUntil(() => !backupState.healthy, 2000, "backup down");
      const res = await get(t.url("/"));
      expect(res.status).toBe(503);
      expect(res.body).toBe("maintenance");
    } finally {
      backup.state.healthy = true;
      await t.stop();
    }
  });
});
