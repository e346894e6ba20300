/**
 * A backend in its own process for the foundation end-to-end tests: its memory stays apart from
 * tenbin's and the test's, and a test can kill it. Run as a script it serves on 127.0.0.1:0:
 *
 *   bun test/helpers/backend-process.ts
 *
 * - GET /download?mib=N streams N MiB of `patternStream` data (chunked, never whole in memory);
 * - POST /upload reads the body as a stream and answers `{ bytes, sha256 }`;
 * - anything else answers `{ method, url, headers }`.
 * It prints `listening PORT` once, then `req PATH` per request on standard output.
 *
 * Imported, it offers `spawnBackendProcess()`, plus `patternStream`/`patternSha256` (the data both
 * sides generate) and `startRawBackend()`, an in-process TCP server that records request heads byte
 * for byte (what really went over the wire, before any HTTP library normalises it).
 */
import { createHash } from "node:crypto";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";

const SCRIPT = import.meta.path;
const BUN = join(import.meta.dir, "../../node_modules/.bin/bun");
const MIB = 1024 * 1024;

let base: Uint8Array | undefined;

/** One seeded random MiB (xorshift32: cheap, deterministic, not compressible), made once. */
function baseBlock(): Uint8Array {
  if (!base) {
    base = new Uint8Array(MIB);
    let x = 0x9e3779b9;
    for (let i = 0; i < MIB; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      base[i] = x & 0xff;
    }
  }
  return base;
}

/**
 * MiB `index` of the test data as two pieces: its index (4 bytes, big-endian), then the shared
 * block's remaining bytes. Pieces, not one copy, because copying 100 MiB costs more than sending it.
 */
export function patternChunk(index: number): [Uint8Array, Uint8Array] {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, index);
  return [head, baseBlock().subarray(4)];
}

/** A stream of `mib` MiB of pattern data, generated as it is read. */
export function patternStream(mib: number): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (index >= mib) return controller.close();
      for (const piece of patternChunk(index++)) controller.enqueue(piece);
    },
  }, { highWaterMark: 0 });
}

/** SHA-256 (hex) of the first `mib` MiB of pattern data. */
export function patternSha256(mib: number): string {
  const hash = createHash("sha256");
  for (let i = 0; i < mib; i++) for (const piece of patternChunk(i)) hash.update(piece);
  return hash.digest("hex");
}

/** A running backend process. */
export interface BackendProcess {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** Standard output so far (`req PATH` lines). */
  output(): string;
  /** Resolves when the output matches `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL and wait until the process is gone. */
  kill(): Promise<void>;
}

/** Starts the backend script as a process and waits for its port. */
export async function spawnBackendProcess(timeoutMs = 5000): Promise<BackendProcess> {
  const proc = Bun.spawn([BUN, SCRIPT], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  let text = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    const reader = proc.stdout.getReader();
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) return;
      text += decoder.decode(chunk, { stream: true });
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pattern.test(text)) waiters.splice(i, 1)[0]!.resolve();
      }
    }
  })();
  const waitFor = (pattern: RegExp, ms = 5000) =>
    new Promise<void>((resolve, reject) => {
      if (pattern.test(text)) return resolve();
      const timer = setTimeout(() => reject(new Error(`backend: timed out waiting for ${pattern}; output:\n${text}`)), ms);
      waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
    });
  await waitFor(/listening \d+\n/, timeoutMs);
  const port = Number(/listening (\d+)/.exec(text)![1]);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    output: () => text,
    waitFor,
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** What the raw backend read of one request: the head exactly as sent. */
export interface RawRequest {
  requestLine: string;
  /** Header lines in order, as sent (name case kept). */
  headerLines: string[];
}

/** A TCP server on 127.0.0.1 that speaks just enough HTTP/1.1 to record request heads. */
export interface RawBackend {
  readonly port: number;
  readonly url: string;
  readonly seen: readonly RawRequest[];
  /** Header value(s) of the last request, by lower-case name. */
  header(name: string): string[];
  stop(): Promise<void>;
}

/**
 * Starts the raw backend. Each request gets `200 ok` and the connection is closed; a request for a
 * path starting with `/reset` gets its connection reset instead (no response at all).
 */
export async function startRawBackend(): Promise<RawBackend> {
  const seen: RawRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let head = "";
    socket.on("data", (data) => {
      head += data.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0 || head.length > 64 * 1024) return;
      const [requestLine = "", ...headerLines] = head.slice(0, end).split("\r\n");
      seen.push({ requestLine, headerLines });
      socket.removeAllListeners("data");
      if (requestLine.split(" ")[1]?.startsWith("/reset")) {
        socket.resetAndDestroy();
        return;
      }
      socket.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    header(name) {
      const last = seen[seen.length - 1];
      if (!last) return [];
      const lower = name.toLowerCase();
      return last.headerLines
        .filter((line) => line.slice(0, line.indexOf(":")).trim().toLowerCase() === lower)
        .map((line) => line.slice(line.indexOf(":") + 1).trim());
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serveBackend(): Promise<void> {
  const write = (line: string) => void process.stdout.write(line + "\n");
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    maxRequestBodySize: 4 * 1024 * MIB,
    async fetch(req) {
      const url = new URL(req.url);
      write(`req ${url.pathname}`);
      if (url.pathname === "/download") {
        return new Response(patternStream(Number(url.searchParams.get("mib") ?? 1)), {
          headers: { "content-type": "application/octet-stream" },
        });
      }
      if (url.pathname === "/upload") {
        const hash = createHash("sha256");
        let bytes = 0;
        const reader = req.body?.getReader();
        for (;;) {
          const chunk = await reader?.read();
          if (!chunk || chunk.done) break;
          hash.update(chunk.value);
          bytes += chunk.value.length;
        }
        return Response.json({ bytes, sha256: hash.digest("hex") });
      }
      return Response.json({ method: req.method, url: req.url, headers: Object.fromEntries(req.headers) });
    },
  });
  write(`listening ${server.port}`);
}

if (import.meta.main) await serveBackend();
