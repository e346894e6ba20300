/**
 * What tenbin must not change on the way through: compressed bodies and their headers, the method,
 * path and query, several Set-Cookie headers; and a client that goes away takes its upstream request
 * with it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { startRawBackend, type RawBackend } from "../helpers/backend-process.ts";
import { type HttpBackend, startHttpBackend, waitUntil } from "../helpers/health-backends.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const text = "tenbin passes compressed bodies through untouched. ".repeat(200);
const gzipped = new Uint8Array(gzipSync(text));
let aborted = 0;
let app: HttpBackend;
let raw: RawBackend;
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;

beforeAll(async () => {
  app = startHttpBackend((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/gzip") {
      return new Response(gzipped, { headers: { "content-encoding": "gzip", "content-type": "text/plain", vary: "accept-encoding" } });
    }
    if (path === "/cookies") {
      const headers = new Headers({ "content-type": "text/plain" });
      headers.append("set-cookie", "a=1; Path=/; HttpOnly");
      headers.append("set-cookie", "b=2; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT");
      headers.append("set-cookie", "c=3, with a comma; Path=/");
      return new Response("cookies", { headers });
    }
    if (path === "/wait-for-abort") {
      return new Promise<Response>((resolve) => {
        const timer = setTimeout(() => resolve(new Response("not aborted")), 5000);
        req.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          aborted++;
          resolve(new Response("aborted"));
        }, { once: true });
      });
    }
    return new Response("ok");
  });
  raw = await startRawBackend();
  t = await startTenbinInProcess(`
listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
      - { match: { path: /raw/ }, pool: raw }
      - { match: { path: /double/ }, pool: raw }
      - { pool: app }
pools:
  app: { servers: [{ url: "${app.url}" }] }
  raw: { servers: [{ url: "${raw.url}" }], retries: 0 }
`);
});

afterAll(async () => {
  await t?.stop();
  await app?.stop();
  await raw?.stop();
});

/** Runs curl; returns its stdout bytes and exit code. */
async function curl(args: string[]): Promise<{ out: Uint8Array; code: number }> {
  const proc = Bun.spawn(["curl", "-sS", "--max-time", "5", ...args], { stdout: "pipe", stderr: "inherit" });
  const out = new Uint8Array(await new Response(proc.stdout).arrayBuffer());
  return { out, code: await proc.exited };
}

test("a gzip body and its Content-Encoding pass through byte for byte", async () => {
  const res = await fetch(t.url("/gzip"), { decompress: false, headers: { "accept-encoding": "gzip" } } as RequestInit);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-encoding")).toBe("gzip");
  expect(res.headers.get("vary")).toBe("accept-encoding");
  expect(new Uint8Array(await res.arrayBuffer())).toEqual(gzipped);

  // curl without --compressed: no decoding on the client side either.
  const { out, code } = await curl(["-H", "accept-encoding: gzip", t.url("/gzip")]);
  expect(code).toBe(0);
  expect(out).toEqual(gzipped);
});

test("method, path and query reach the server byte for byte when already normal (percent-encodings, repeats, odd methods)", async () => {
  for (const [method, target, sent] of [
    ["GET", "/raw/b%2Fc?x=1&x=2&y=%20", "/raw/b%2Fc?x=1&x=2&y=%20"],
    ["PURGE", "/raw/p?q=%zz&a=b+c&&=", "/raw/p?q=%zz&a=b+c&&="],
    // The path is normalized (docs/paths.md): slashes merged, %2e decoded; the query never is.
    ["DELETE", "/raw/x//y/%2e;v=1?%2e", "/raw/x/y/.;v=1?%2e"],
  ] as const) {
    const { code } = await curl(["--path-as-is", "-X", method, t.url(target)]);
    expect(code).toBe(0);
    expect(raw.seen.at(-1)?.requestLine).toBe(`${method} ${sent} HTTP/1.1`);
  }
});

test("known normalisation: dot segments resolved; a leading // merged", async () => {
  // Both HTTP servers resolve dot segments (also %2e%2e) before routing (Bun.serve in req.url,
  // tenbin's own in listener/h1-server/), so the route and the server both see /raw/b%2Fc: consistent,
  // and a route cannot be passed by /x/../, but not the bytes the client sent.
  expect((await curl(["--path-as-is", t.url("/a/../raw/b%2Fc?x=1&x=2&y=%20")])).code).toBe(0);
  expect(raw.seen.at(-1)?.requestLine).toBe("GET /raw/b%2Fc?x=1&x=2&y=%20 HTTP/1.1");
  // Runs of slashes are merged by default (paths.merge_slashes, docs/paths.md); test/e2e/paths.test.ts
  // has the listener option that keeps them.
  expect((await curl(["--path-as-is", t.url("//double/x?")])).code).toBe(0);
  expect(raw.seen.at(-1)?.requestLine).toBe("GET /double/x? HTTP/1.1");
});

test("several Set-Cookie headers stay separate", async () => {
  const res = await fetch(t.url("/cookies"));
  expect(res.headers.getSetCookie()).toEqual([
    "a=1; Path=/; HttpOnly",
    "b=2; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
    "c=3, with a comma; Path=/",
  ]);
  await res.text();
});

test("a client that goes away aborts the upstream request", async () => {
  const before = aborted;
  const controller = new AbortController();
  const pending = fetch(t.url("/wait-for-abort"), { signal: controller.signal }).catch((e: unknown) => e);
  await waitUntil(() => app.inFlight === 1, 3000, "the request to reach the backend");
  controller.abort();
  expect(await pending).toBeInstanceOf(Error);
  await waitUntil(() => aborted === before + 1, 3000, "the backend to see its request aborted");
  await waitUntil(() => app.inFlight === 0, 3000, "the backend to finish");
  // The server is not left counted in flight (tenbin sees its fetch fail a moment after the backend).
  const server = t.tenbin.pools.get("app")!.servers[0]!;
  await waitUntil(() => server.inFlight === 0, 3000, "tenbin to release the server");
});
