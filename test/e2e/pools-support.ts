/**
 * Helpers of the pool end-to-end tests: named backends that answer with their name, a cookie jar,
 * tallies of which backend answered, a bounded concurrent load, and raw TCP backends that misbehave
 * on purpose (read the request, then reset the connection).
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { type HttpBackend, startHttpBackend } from "../helpers/health-backends.ts";

/** An HTTP backend whose answer body is its name, after `delayMs` (or the `?delay=` of the request). */
export function namedBackend(name: string, delayMs = 0, status = 200): HttpBackend {
  return startHttpBackend(async (req) => {
    const delay = Number(new URL(req.url).searchParams.get("delay") ?? delayMs);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    // Read the body so POST tests see it was delivered.
    if (req.body) await req.arrayBuffer();
    return new Response(name, { status });
  });
}

/** A backend answering its name, with a /healthz a test can fail (`state.healthy = false`). */
export function healthBackend(name: string): HttpBackend & { state: { healthy: boolean } } {
  const state = { healthy: true };
  const backend = startHttpBackend((req) => {
    if (new URL(req.url).pathname === "/healthz") return new Response("", { status: state.healthy ? 200 : 500 });
    return new Response(name);
  });
  return Object.assign(backend, { state });
}

/** A config of one listener (`web`, port 0) routing everything to pool `app`, whose body is `pool`. */
export function appPoolYaml(pool: string): string {
  return `
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app:
${pool}
`;
}

/** Stops every backend given; ignores ones already stopped. */
export async function stopAll(backends: readonly { stop(): Promise<void> | void }[]): Promise<void> {
  await Promise.all(backends.map(async (b) => await b.stop()));
}

/** A minimal cookie jar for one cookie name: keeps what Set-Cookie said, sends it back. */
export class CookieJar {
  readonly name: string;
  value: string | undefined;
  /** Set-Cookie headers seen for `name`, in order. */
  readonly seen: string[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** Fetches `url` with the cookie, then stores any new value; returns the response and its body. */
  async fetch(url: string, init: RequestInit = {}): Promise<{ res: Response; body: string; setCookie: string | undefined }> {
    const headers = new Headers(init.headers);
    if (this.value !== undefined) headers.set("cookie", `${this.name}=${this.value}`);
    const res = await fetch(url, { ...init, headers });
    const body = await res.text();
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith(`${this.name}=`));
    if (setCookie !== undefined) {
      this.seen.push(setCookie);
      this.value = setCookie.slice(this.name.length + 1).split(";")[0]!;
    }
    return { res, body, setCookie };
  }
}

/** How often each answer body came back. */
export function tally(bodies: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const body of bodies) counts[body] = (counts[body] ?? 0) + 1;
  return counts;
}

/** Runs `total` calls of `one` with `concurrency` at a time; returns the results in finish order. */
export async function load<T>(total: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      results.push(await one(i));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** GETs `url` and returns the status and body text. */
export async function get(url: string, init: RequestInit = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/**
 * A raw TCP backend that reads a whole HTTP request (headers and the Content-Length body), then
 * resets the connection without answering: the request was sent, the answer never comes.
 */
export function startResettingBackend(): Promise<{ port: number; url: string; requests: number; bodies: string[]; stop(): Promise<void> }> {
  const bodies: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      bodies.push(buffer.subarray(end + 4, end + 4 + length).toString("utf8"));
      buffer = Buffer.alloc(0);
      socket.resetAndDestroy();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        get requests() {
          return bodies.length;
        },
        bodies,
        stop: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/**
 * One HTTP/1.1 GET from a chosen local address (127.0.0.2, ...): loopback has a whole /8, so tests
 * can be several clients. Returns the status and body.
 */
export function getFrom(localAddress: string, port: number, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\n\r\n`);
    });
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${localAddress} within 5s`));
    }, 5000);
    socket.on("data", (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = data.toString("utf8");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const split = text.indexOf("\r\n\r\n");
      const head = text.slice(0, split);
      let body = text.slice(split + 4);
      // Bun answers short bodies with Content-Length; decode chunked ones too.
      if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) body = dechunk(body);
      resolve({ status, body });
    });
  });
}

function dechunk(text: string): string {
  let out = "";
  let at = 0;
  for (let guard = 0; guard < 1000 && at < text.length; guard++) {
    const lineEnd = text.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (!(size > 0)) break;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
  return out;
}
