/**
 * End to end: retries on another server — always when the request was never sent (connection
 * refused), for `retry_on` statuses only when the request is idempotent, never when a non-idempotent
 * request may have reached the server, and never on the same server twice.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closedPort, startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";
import { appPoolYaml, get, namedBackend, startResettingBackend, stopAll } from "./pools-support.ts";

/** A backend that answers `NAME METHOD BODY`, so a test sees what arrived. */
function echoBackend(name: string, status = 200) {
  return startHttpBackend(async (req) => new Response(`${name} ${req.method} ${await req.text()}`, { status }));
}

const a = echoBackend("a");
const unavailable1 = echoBackend("u1", 503);
const unavailable2 = echoBackend("u2", 503);
const refused = `http://127.0.0.1:${closedPort()}`;
afterAll(() => stopAll([a, unavailable1, unavailable2]));

function yaml(servers: string, extra = ""): string {
  return appPoolYaml(`    servers: ${servers}\n${extra}`);
}

describe("retries", () => {
  test("a GET lands on the second server when the first refuses connections", async () => {
    const t = await startTenbinInProcess(yaml(`[{ url: "${refused}" }, { url: "${a.url}" }]`));
    try {
      // Round robin offers the refusing server first to every other request: all of them succeed.
      for (let i = 0; i < 4; i++) {
        const res = await get(t.url("/"));
        expect(res.status).toBe(200);
        expect(res.body).toBe("a GET ");
      }
      expect(t.logger.lines.filter((l) => l.includes("retrying on another server")).length).toBe(2);
    } finally {
      await t.stop();
    }
  });

  test("a POST with a body is retried when the connection was refused (it was never sent)", async () => {
    const t = await startTenbinInProcess(yaml(`[{ url: "${refused}" }, { url: "${a.url}" }]`));
    try {
      const res = await get(t.url("/"), { method: "POST", body: "order=42" });
      expect(res.status).toBe(200);
      expect(res.body).toBe("a POST order=42");
    } finally {
      await t.stop();
    }
  });

  test("a POST that reached a server which then reset the connection is not retried: 502", async () => {
    const reset = await startResettingBackend();
    const t = await startTenbinInProcess(yaml(`[{ url: "${reset.url}" }, { url: "${a.url}" }]`));
    const before = a.requests;
    try {
      const res = await get(t.url("/"), { method: "POST", body: "pay=100" });
      expect(res.status).toBe(502);
      expect(reset.bodies).toEqual(["pay=100"]);
      expect(a.requests).toBe(before);
      // The same failure on an idempotent GET is retried on the other server (round robin offers
      // the resetting server to one of the next two requests).
      for (let i = 0; i < 2; i++) expect((await get(t.url("/"))).body).toBe("a GET ");
      expect(reset.requests).toBe(2);
    } finally {
      await t.stop();
      await reset.stop();
    }
  });

  test("retry_on: [503] retries an idempotent GET on another server, not a POST", async () => {
    const t = await startTenbinInProcess(yaml(`[{ url: "${unavailable1.url}" }, { url: "${a.url}" }]`, "    retry_on: [503]"));
    try {
      const res = await get(t.url("/"));
      expect(res.status).toBe(200);
      expect(res.body).toBe("a GET ");
      // Round robin: the next request starts at `a`; the one after starts at the 503 server again.
      expect((await get(t.url("/"))).status).toBe(200);
      const post = await get(t.url("/"), { method: "POST", body: "x" });
      expect(post.status).toBe(503);
      expect(post.body).toBe("u1 POST x");
    } finally {
      await t.stop();
    }
  });

  test("never the same server twice: every server answering 503 → each asked once, the last 503 returned whole", async () => {
    const t = await startTenbinInProcess(yaml(`[{ url: "${unavailable1.url}" }, { url: "${unavailable2.url}" }]`, "    retry_on: [503]\n    retries: 5"));
    const before = [unavailable1.requests, unavailable2.requests];
    try {
      const res = await get(t.url("/"));
      expect(res.status).toBe(503);
      expect(res.body).toBe("u2 GET ");
      expect([unavailable1.requests - before[0]!, unavailable2.requests - before[1]!]).toEqual([1, 1]);
    } finally {
      await t.stop();
    }
  });

  test("a single refusing server is tried once, then 502", async () => {
    const t = await startTenbinInProcess(yaml(`[{ url: "${refused}" }]`, "    retries: 5"));
    try {
      const res = await get(t.url("/"));
      expect(res.status).toBe(502);
      expect(t.logger.lines.filter((l) => / app\/127\.0\.0\.1:\d+: connect/.test(l)).length).toBe(1);
    } finally {
      await t.stop();
    }
  });
});

describe("retries and slow servers", () => {
  test("a response timeout on an idempotent GET moves on to another server", async () => {
    const slow = namedBackend("slow", 2000);
    const t = await startTenbinInProcess(yaml(`[{ url: "${slow.url}" }, { url: "${a.url}" }]`, "    timeouts: { response: 100ms }"));
    try {
      const res = await get(t.url("/"));
      expect(res.status).toBe(200);
      expect(res.body).toBe("a GET ");
    } finally {
      await t.stop();
      await slow.stop();
    }
  });

  test("retries stop at the configured budget", async () => {
    const refused2 = `http://127.0.0.1:${closedPort()}`;
    const t = await startTenbinInProcess(yaml(`[{ url: "${refused}" }, { url: "${refused2}" }, { url: "${a.url}" }]`, "    retries: 1"));
    const before = a.requests;
    try {
      // Round robin starts at the first refusing server; one retry reaches only the second.
      expect((await get(t.url("/"))).status).toBe(502);
      expect(a.requests).toBe(before);
    } finally {
      await t.stop();
    }
  });
});
