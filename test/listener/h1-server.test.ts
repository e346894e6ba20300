// Protocol tests of tenbin's own HTTP/1.1 server (src/listener/h1-server/): exact bytes over real loopback
// sockets, so framing, refusals and connection handling are checked as a client sees them.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { createConnection, type Socket } from "node:net";
import { type ProxyHandler, serveH1 } from "../../src/listener/h1-server/server.ts";
import { STOP_QUIET_MS } from "../../src/runtime/types.ts";
import { HeaderList } from "../../src/http1/header-list.ts";
import { LightResponse, type ProxyRequest, type ProxyResponse } from "../../src/http/message.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import type { HttpServer } from "../../src/runtime/types.ts";

const servers: HttpServer[] = [];
const clients: Raw[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.sock.destroy();
});
afterAll(() => Promise.all(servers.map((s) => s.stop(true))));

async function serve(handler: ProxyHandler, limits: { idleTimeoutMs?: number; headerTimeoutMs?: number } = {}): Promise<HttpServer> {
  const { idleTimeoutMs = 5000, headerTimeoutMs } = limits;
  const server = await serveH1({ listenTcp: bunRuntime.listenTcp, hostname: "127.0.0.1", port: 0, handler, idleTimeoutMs, headerTimeoutMs });
  servers.push(server);
  return server;
}

/** A raw TCP client that keeps every byte it receives. */
class Raw {
  readonly sock: Socket;
  #chunks: Buffer[] = [];
  size = 0;
  /** FIN or close received. */
  ended = false;
  error: Error | undefined;
  #wake: (() => void) | undefined;
  constructor(sock: Socket) {
    this.sock = sock;
    sock.on("data", (c: Buffer) => (this.#chunks.push(c), (this.size += c.length), this.#wake?.()));
    for (const event of ["end", "close"]) sock.on(event, () => ((this.ended = true), this.#wake?.()));
    sock.on("error", (e) => ((this.error = e), this.#wake?.()));
  }
  get bytes(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] ?? Buffer.alloc(0);
  }
  get text(): string {
    return this.bytes.toString("latin1");
  }
  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.sock.write(data, (e) => (e ? reject(e) : resolve())));
  }
  /** Resolves once `ok()` holds (checked after each socket event); fails after `ms`. */
  async until(ok: () => boolean, what: string, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.text.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => (clearTimeout(timer), resolve());
      });
    }
  }
  untilEnded(ms = 3000): Promise<void> {
    return this.until(() => this.ended, "the connection to end", ms);
  }
  /** Waits for `n` whole answers or the end; returns the whole ones. `heads`: indexes of answers to HEAD. */
  async answers(n: number, heads: number[] = []): Promise<Answer[]> {
    await this.until(() => this.ended || parseAnswers(this.bytes, false, heads).length >= n, `${n} answers`);
    return parseAnswers(this.bytes, this.ended, heads);
  }
}

async function connect(port: number): Promise<Raw> {
  const raw = new Raw(createConnection({ host: "127.0.0.1", port }));
  clients.push(raw);
  await new Promise<void>((resolve, reject) => (raw.sock.once("connect", resolve), raw.sock.once("error", reject)));
  return raw;
}

/** Connects, sends `bytes`, returns the client and its first `n` answers. */
async function exchange(port: number, bytes: string, n = 1, heads: number[] = []): Promise<{ raw: Raw; res: Answer[] }> {
  const raw = await connect(port);
  await raw.write(bytes);
  return { raw, res: await raw.answers(n, heads) };
}

/** One answer; `head` is its status and header lines as sent, each with its CRLF, less the `date` line. */
type Answer = { status: number; head: string; headers: [string, string][]; body: Buffer };

function header(res: Answer | undefined, name: string): string[] {
  return (res?.headers ?? []).filter(([n]) => n === name).map(([, v]) => v);
}

/** The whole answers in `buf` (a body that runs until close counts once `ended`). */
function parseAnswers(buf: Buffer, ended: boolean, heads: number[]): Answer[] {
  const out: Answer[] = [];
  let at = 0;
  for (let guard = 0; guard < 100 && at < buf.length; guard++) {
    const end = buf.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const lines = buf.toString("latin1", at, end).split("\r\n");
    const status = Number(lines[0]!.split(" ")[1]);
    const headers = lines.slice(1).map((l): [string, string] => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]);
    const res: Answer = { status, head: lines.filter((l) => !l.startsWith("date:")).map((l) => `${l}\r\n`).join(""), headers, body: Buffer.alloc(0) };
    let next = end + 4;
    const length = header(res, "content-length")[0];
    if (status < 200 || status === 204 || status === 304 || heads.includes(out.filter((r) => r.status >= 200).length)) {
      // no body
    } else if (header(res, "transfer-encoding")[0] === "chunked") {
      const parts: Buffer[] = [];
      for (let size = -1, guard = 0; size !== 0; guard++) {
        const lineEnd = buf.indexOf("\r\n", next);
        if (lineEnd < 0) return out;
        size = Number.parseInt(buf.toString("latin1", next, lineEnd), 16);
        if (buf.length >= lineEnd + size + 4 && buf.toString("latin1", lineEnd + size + 2, lineEnd + size + 4) !== "\r\n") size = Number.NaN;
        if (!(size >= 0) || guard > 10_000) throw new Error(`malformed chunked body: ${JSON.stringify(buf.toString("latin1", next, next + 40))}`);
        if (buf.length < lineEnd + size + 4) return out;
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        next = lineEnd + size + 4;
      }
      res.body = Buffer.concat(parts);
    } else if (length !== undefined) {
      if (buf.length < next + Number(length)) return out;
      res.body = buf.subarray(next, (next += Number(length)));
    } else {
      if (!ended) return out;
      res.body = buf.subarray(next);
      next = buf.length;
    }
    out.push(res);
    at = next;
  }
  return out;
}

const text = (body: string, status = 200, extra: [string, string][] = []): LightResponse =>
  new LightResponse(status, "", new HeaderList([["content-type", "text/plain"], ...extra]), Buffer.from(body));
const streamOf = (...parts: string[]) => new ReadableStream<Uint8Array>({ start: (c) => (parts.forEach((p) => c.enqueue(Buffer.from(p))), c.close()) });
const GET = (path = "/", extra = "") => `GET ${path} HTTP/1.1\r\nHost: t.test\r\n${extra}\r\n`;

function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  return { promise: new Promise<T>((resolve) => (open = resolve)), open };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// One server for most cases: the path picks the behaviour; others answer "METHOD /path".
let main: HttpServer;
let handled = 0;
/** Woken at the main server's next request. */
const arrivals: (() => void)[] = [];
const nextArrival = () => within(new Promise<void>((resolve) => arrivals.push(resolve)), 3000, "a request");
const routes: Record<string, (req: ProxyRequest) => ProxyResponse | Promise<ProxyResponse>> = {
  "/slow": async () => (await Bun.sleep(50), text("slow")),
  "/echo": async (req) => text(Buffer.from(await req.arrayBuffer()).toString("latin1")),
  "/count": async (req) => {
    let [n, sum] = [0, 0];
    const reader = req.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      n += r.value.byteLength;
      for (const b of r.value) sum = (sum + b) % 65521;
    }
    return text(`${n} ${sum}`);
  },
  "/null-body": (req) => text(String(req.body === null)),
  "/url": (req) => text(req.url),
  "/stream": () => new Response(streamOf("ab", "cd")),
  "/declared": () => new Response(streamOf("hello"), { headers: { "content-length": "5" } }),
  "/light": () => new LightResponse(201, "Made", new HeaderList([["x-a", "1"]]), new Uint8Array([0, 1, 2, 255])),
  "/204": () => new Response(null, { status: 204 }),
  "/304": () => text("ignored", 304),
  "/cookies": () => new Response("c", { headers: new Headers([["set-cookie", "a=1"], ["set-cookie", "b=2"]]) }),
  "/dated": () => text("d", 200, [["date", "Tue, 01 Jan 2030 00:00:00 GMT"]]),
  "/throw": () => {
    throw new Error("boom");
  },
  "/reject": () => Promise.reject(new Error("boom")),
  "/broken": () => new Response(new ReadableStream({ start: (c) => c.enqueue(Buffer.from("part")), pull: async (c) => (await Bun.sleep(20), c.error(new Error("cut"))) })),
};

describe("own HTTP/1.1 server: protocol", () => {
  beforeAll(async () => {
    // Not async: "/throw" must throw out of the handler itself, not reject.
    main = await serve((req) => {
      handled++;
      for (const wake of arrivals.splice(0)) wake();
      // The path as listener/http.ts takes it (new URL() would find a host in "http:///x", a 1.0 request without Host).
      const path = req.url.slice(req.url.indexOf("/", req.url.indexOf("://") + 3)).split("?")[0]!;
      const route = routes[path];
      return route ? route(req) : text(`${req.method} ${path}`);
    });
  });

  test("keep-alive: two requests on one 1.1 connection", async () => {
    const raw = await connect(main.port);
    await raw.write(GET("/a"));
    expect((await raw.answers(1))[0]?.head).toBe("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n");
    await raw.write(GET("/b"));
    expect((await raw.answers(2)).map((r) => r.body.toString())).toEqual(["GET /a", "GET /b"]);
    expect(raw.ended).toBe(false);
  });

  test("HTTP/1.0 closes unless keep-alive is asked; Connection: close on 1.1 closes", async () => {
    const a = await exchange(main.port, "GET /x HTTP/1.0\r\n\r\n");
    expect(a.res[0]?.head).toBe("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 6\r\nconnection: close\r\n");
    await a.raw.untilEnded();
    const b = await exchange(main.port, "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    expect(header(b.res[0], "connection")).toEqual(["keep-alive"]);
    await b.raw.write("GET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    expect([(await b.raw.answers(2))[1]?.body.toString(), b.raw.ended]).toEqual(["GET /y", false]);
    const c = await exchange(main.port, GET("/x", "Connection: close\r\n"));
    expect(header(c.res[0], "connection")).toEqual(["close"]);
    await c.raw.untilEnded();
  });

  test("pipelined requests are answered in order", async () => {
    const { raw, res } = await exchange(main.port, GET("/slow") + GET("/two") + GET("/three"), 3);
    expect([...res.map((r) => r.body.toString()), raw.ended]).toEqual(["slow", "GET /two", "GET /three", false]);
  });

  test("a request and then a half-close: answered with connection: close, then closed", async () => {
    const raw = await connect(main.port);
    await raw.write(GET("/slow"));
    raw.sock.end();
    const res = await raw.answers(1);
    expect([res[0]?.body.toString(), header(res[0], "connection")[0]]).toEqual(["slow", "close"]);
    await raw.untilEnded();
  });

  // Chosen: a client that closes its side while it waits has given up (as Bun.serve and nginx take
  // it): its request is aborted, and what it pipelined after it is not served.
  test("requests pipelined before a half-close: the first is answered with connection: close, the rest dropped", async () => {
    const raw = await connect(main.port);
    await raw.write(GET("/slow") + GET("/b"));
    raw.sock.end();
    await raw.untilEnded();
    const res = await raw.answers(1);
    expect([res.length, res[0]?.body.toString(), header(res[0], "connection")[0]]).toEqual([1, "slow", "close"]);
  });

  test("Content-Length body in several writes; Content-Length: 0 gives a null body", async () => {
    const raw = await connect(main.port);
    const arrived = nextArrival();
    await raw.write("POST /echo HTTP/1.1\r\nHo");
    await raw.write("st: t.test\r\nContent-Length: 11\r\n\r\nhel");
    await arrived;
    await raw.write("lo wo");
    await raw.write("rld");
    expect((await raw.answers(1))[0]?.body.toString()).toBe("hello world");
    await raw.write("POST /null-body HTTP/1.1\r\nHost: t.test\r\nContent-Length: 0\r\n\r\n");
    expect((await raw.answers(2))[1]?.body.toString()).toBe("true");
  });

  test("chunked body with an extension and a trailer is decoded; the next request follows", async () => {
    const body = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    const { res } = await exchange(main.port, `POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n${body}${GET("/after")}`, 2);
    expect(res.map((r) => r.body.toString())).toEqual(["hello world", "GET /after"]);
  });

  test("a 5 MB body streams through req.body whole", async () => {
    const body = Buffer.alloc(5 * 1024 * 1024);
    let sum = 0;
    for (let i = 0; i < body.length; i++) (body[i] = (i * 7) % 251), (sum = (sum + body[i]!) % 65521);
    const raw = await connect(main.port);
    await raw.write(`POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n`);
    await raw.write(body);
    expect((await raw.answers(1))[0]?.body.toString()).toBe(`${body.length} ${sum}`);
  });

  test("Expect: 100-continue is answered only when the body is read; other expectations get 417", async () => {
    const raw = await connect(main.port);
    await raw.write("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    await raw.until(() => raw.text === "HTTP/1.1 100 Continue\r\n\r\n", "100 Continue");
    await raw.write("hi");
    expect((await raw.answers(2)).map((r) => `${r.status} ${r.body}`)).toEqual(["100 ", "200 hi"]);
    // A handler that does not read the body: no 100, and the connection closes after the answer.
    const b = await exchange(main.port, "POST /not-read HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    expect([b.raw.text.slice(0, 17), header(b.res[0], "connection")[0]]).toEqual(["HTTP/1.1 200 OK\r\n", "close"]);
    await b.raw.untilEnded();
    expect((await exchange(main.port, GET("/", "Expect: something-else\r\n"))).res[0]?.status).toBe(417);
  });

  const REASON: Record<number, string> = { 400: "Bad Request", 405: "Method Not Allowed", 431: "Request Header Fields Too Large", 501: "Not Implemented", 505: "HTTP Version Not Supported" };
  const refusals: [string, string, number][] = [
    ["Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["two different Content-Lengths", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400],
    ["Content-Length: abc", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400],
    ["Transfer-Encoding on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    ["Transfer-Encoding: gzip", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
    ["a missing Host on 1.1", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400],
    ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    ["a Host with a slash", "GET /x HTTP/1.1\r\nHost: evil/admin\r\n\r\n", 400],
    ["a Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
    ["a Host with userinfo", "GET / HTTP/1.1\r\nHost: user@t.test\r\n\r\n", 400],
    ["a Host with a bad port", "GET / HTTP/1.1\r\nHost: t.test:80a\r\n\r\n", 400],
    ["userinfo in an absolute-form target", "GET http://user@t.test/ HTTP/1.1\r\nHost: t.test\r\n\r\n", 400],
    ["a folded header line", "GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n folded\r\n\r\n", 400],
    ["a bare LF in a value", "GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\nX-B: 2\r\n\r\n", 400],
    ["a bare CR in a value", "GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\rX-B: 2\r\n\r\n", 400],
    ["a head over 16 KiB", `GET / HTTP/1.1\r\nHost: t\r\nX-A: ${"a".repeat(17 * 1024)}\r\n\r\n`, 431],
    ["101 header fields", `GET / HTTP/1.1\r\nHost: t\r\n${"X-A: 1\r\n".repeat(100)}\r\n`, 431],
    ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505],
    ["a garbage request line", "HELLO\r\n\r\n", 400],
    ["CONNECT", "CONNECT t.test:443 HTTP/1.1\r\nHost: t.test:443\r\n\r\n", 405],
    // Issue 16: JavaScript whitespace is not optional whitespace (RFC 9110 §5.6.3).
    ["Content-Length: \\x0b5", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: \x0b5\r\n\r\nhello", 400],
    ["Content-Length: 5\\xa0", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\xa0\r\n\r\nhello", 400],
    ["Transfer-Encoding: \\x0cchunked", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \x0cchunked\r\n\r\n0\r\n\r\n", 400],
    ["Transfer-Encoding: chunked\\xa0", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\xa0\r\n\r\n0\r\n\r\n", 501],
  ];
  for (const [name, bytes, status] of refusals) {
    test(`refuses ${name} with ${status}, unhandled, and closes`, async () => {
      const before = handled;
      const { raw, res } = await exchange(main.port, bytes);
      expect([raw.text.split("\r\n", 1)[0], header(res[0], "connection")[0]]).toEqual([`HTTP/1.1 ${status} ${REASON[status]}`, "close"]);
      await raw.untilEnded();
      expect(handled).toBe(before);
    });
  }

  test("Host values of every valid form pass: names, ports, IPv4, bracketed IPv6, empty", async () => {
    for (const host of ["t.test", "T.Test:8080", "127.0.0.1:80", "[::1]:8443", "[fe80::1%25eth0]", "xn--bcher-kva.example", "a:", ""]) {
      const { res } = await exchange(main.port, `GET /h HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      expect([host, res[0]?.status]).toEqual([host, 200]);
    }
  });

  test("100 header fields pass", async () => {
    expect((await exchange(main.port, `GET / HTTP/1.1\r\nHost: t\r\n${"X-A: 1\r\n".repeat(99)}\r\n`)).res[0]?.status).toBe(200);
  });

  test("a bad chunk size is refused with 400 and the body read fails", async () => {
    let failed: unknown;
    routes["/bad-chunk"] = async (req) => (await req.arrayBuffer().catch((e: unknown) => (failed = e)), text("no"));
    const { raw, res } = await exchange(main.port, "POST /bad-chunk HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    await raw.untilEnded();
    expect([res.length, res[0]?.status, String(failed)]).toEqual([1, 400, 'Error: invalid chunk size "zz"']);
  });

  test("issue 16: a request line in the trailer section, a bare LF in a chunk extension or \\x0b in a chunk size is a 400; nothing after it is read", async () => {
    for (const tail of ["5\r\nhello\r\n0\r\nGET /SMUGGLED HTTP/1.1\r\nHost: t\r\n\r\n", "5;a\nb\r\nhello\r\n0\r\n\r\n", "\x0b5\r\nhello\r\n0\r\n\r\n"]) {
      let failed: unknown;
      routes["/trailer"] = async (req) => (await req.arrayBuffer().catch((e: unknown) => (failed = e)), text("no"));
      const { raw, res } = await exchange(main.port, `POST /trailer HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n${tail}${GET("/after")}`);
      await raw.untilEnded();
      expect([tail, res.length, res[0]?.status, failed instanceof Error]).toEqual([tail, 1, 400, true]);
    }
  });

  test("one empty line before a request is ignored", async () => {
    expect((await exchange(main.port, `\r\n${GET("/one")}`)).res[0]?.body.toString()).toBe("GET /one");
  });

  // "\r\n\r\n" first must not read as an empty head (RFC 9112 §2.2: empty lines before a request are ignored).
  test("two empty lines before a request are ignored", async () => {
    expect((await exchange(main.port, `\r\n\r\n${GET("/two")}`)).res[0]?.body.toString()).toBe("GET /two");
  });

  test("request URLs: absolute form as sent, origin form from Host", async () => {
    const { res } = await exchange(main.port, `GET http://example.test/url?q HTTP/1.1\r\nHost: other\r\n\r\n${GET("/url?a=1")}`, 2);
    expect(res.map((r) => r.body.toString())).toEqual(["http://example.test/url?q", "http://t.test/url?a=1"]);
  });

  test("a stream without length: chunked to 1.1, until close to 1.0", async () => {
    const a = await exchange(main.port, GET("/stream"));
    expect(a.res[0]?.head).toBe("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n");
    expect(a.raw.text.endsWith("\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n")).toBe(true);
    const b = await exchange(main.port, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    await b.raw.untilEnded();
    expect(b.raw.text.replace(/date: .*\r\n/, "")).toBe("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabcd");
  });

  test("declared length on a stream, LightResponse bytes, 204 and 304", async () => {
    const { res } = await exchange(main.port, GET("/declared") + GET("/light") + GET("/204") + GET("/304") + GET("/last"), 5);
    expect(res.map((r) => r.head)).toEqual([
      "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n",
      "HTTP/1.1 201 Made\r\nx-a: 1\r\ncontent-length: 4\r\n",
      "HTTP/1.1 204 No Content\r\n",
      "HTTP/1.1 304 Not Modified\r\ncontent-type: text/plain\r\n",
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n",
    ]);
    expect([res[0]?.body.toString(), [...res[1]!.body], res[4]?.body.toString()]).toEqual(["hello", [0, 1, 2, 255], "GET /last"]);
  });

  // An answer that may carry no body still has its stream released (an upstream's, say).
  test("the body stream of a 204 answer is cancelled", async () => {
    let cancelled = false;
    routes["/204-stream"] = () => new LightResponse(204, "", new HeaderList(), new ReadableStream({ cancel: () => void (cancelled = true) }));
    expect((await exchange(main.port, GET("/204-stream"))).res[0]?.status).toBe(204);
    expect(cancelled).toBe(true);
  });

  test("HEAD: headers only, with the declared length", async () => {
    // /head-like: what an upstream answers to HEAD (a length, no body).
    routes["/head-like"] = () => new LightResponse(200, "", new HeaderList([["content-length", "1234"]]), null);
    const heads = ["/declared", "/light", "/head-like"].map((p) => `HEAD ${p} HTTP/1.1\r\nHost: t\r\n\r\n`).join("");
    const { raw, res } = await exchange(main.port, heads + GET("/after"), 4, [0, 1, 2]);
    expect(res.map((r) => r.head.replace("HTTP/1.1 ", ""))).toEqual(["200 OK\r\ncontent-length: 5\r\n", "201 Made\r\nx-a: 1\r\ncontent-length: 4\r\n", "200 OK\r\ncontent-length: 1234\r\n", "200 OK\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n"]);
    expect([res[3]?.body.toString(), raw.text.split("\r\n\r\n").length]).toEqual(["GET /after", 5]);
  });

  test("set-cookie stays two lines; date is added only when missing", async () => {
    const { res } = await exchange(main.port, GET("/cookies") + GET("/dated"), 2);
    expect(header(res[0], "set-cookie")).toEqual(["a=1", "b=2"]);
    expect(header(res[0], "date")[0]).toMatch(/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
    expect(header(res[1], "date")).toEqual(["Tue, 01 Jan 2030 00:00:00 GMT"]);
  });

  test("a handler that throws or rejects gives 500 and the connection goes on", async () => {
    const { raw, res } = await exchange(main.port, GET("/throw") + GET("/reject") + GET("/fine"), 3);
    expect(res.map((r) => `${r.status} ${r.body}`)).toEqual(["500 internal server error\n", "500 internal server error\n", "200 GET /fine"]);
    expect(raw.ended).toBe(false);
  });

  test("a streamed answer that breaks off cuts the connection (1.1 chunked and 1.0)", async () => {
    const a = await exchange(main.port, GET("/broken"));
    expect([a.res.length, a.raw.text.endsWith("\r\n\r\n4\r\npart\r\n")]).toEqual([0, true]); // no last chunk
    const b = await connect(main.port);
    await b.write("GET /broken HTTP/1.0\r\n\r\n");
    await b.untilEnded();
    // A clean FIN would make "part" look like the whole body: the cut must be a reset.
    expect([b.text.endsWith("\r\n\r\npart"), b.error?.message ?? "clean end"]).toEqual([true, expect.stringMatching(/ECONNRESET|reset/i)]);
  });
});

describe("own HTTP/1.1 server: connection life", () => {
  /** A server whose handler never answers (an upstream that hangs), and a client whose request it holds. */
  async function hanging(): Promise<{ server: HttpServer; send: () => Promise<{ raw: Raw; req: ProxyRequest }> }> {
    const waiting: ((req: ProxyRequest) => void)[] = [];
    const server = await serve((req) => (waiting.shift()?.(req), new Promise<never>(() => {})));
    const send = async () => {
      const [raw, arrived] = [await connect(server.port), new Promise<ProxyRequest>((resolve) => waiting.push(resolve))];
      await raw.write(GET());
      return { raw, req: await within(arrived, 3000, "the handler") };
    };
    return { server, send };
  }

  test("req.signal aborts when the client resets, whether read before or after", async () => {
    const { server, send } = await hanging();
    const a = await send();
    const signal = a.req.signal;
    expect(signal.aborted).toBe(false);
    const aborted = new Promise((resolve) => signal.addEventListener("abort", resolve));
    a.raw.sock.resetAndDestroy();
    await within(aborted, 3000, "the abort");
    const b = await send();
    b.raw.sock.resetAndDestroy();
    // stop() resolves once the server has seen the close, so the signal is first read after it.
    await within(server.stop(), 3000, "the stop");
    expect(b.req.signal.aborted).toBe(true);
  });

  test("req.signal aborts when the client closes (FIN) before its answer", async () => {
    const { raw, req } = await (await hanging()).send();
    const aborted = new Promise((resolve) => req.signal.addEventListener("abort", resolve));
    raw.sock.destroy();
    await within(aborted, 1000, "the abort");
  });

  let bodyError: unknown;
  test("idle, head and body time limits", async () => {
    const server = await serve(async (req) => (await req.arrayBuffer().catch((e: unknown) => (bodyError = e)), text("late")), { idleTimeoutMs: 300, headerTimeoutMs: 300 });
    const [idle, silent, partial, stalled] = (await Promise.all([1, 2, 3, 4].map(() => connect(server.port)))) as [Raw, Raw, Raw, Raw];
    await idle.write(GET());
    expect((await idle.answers(1))[0]?.status).toBe(200);
    const since = performance.now();
    await partial.write("GET / HTTP/1.1\r\nHost: t");
    await stalled.write("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    await Promise.all([idle, silent, partial, stalled].map((c) => c.untilEnded(3000)));
    expect(performance.now() - since).toBeGreaterThanOrEqual(250); // not closed before its limit
    // A body that keeps coming, slowly, is not idle: it outlives the sweep and is answered.
    const slow = await connect(server.port);
    await slow.write("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\n");
    for (let i = 0; i < 6; i++) await Bun.sleep(200).then(() => slow.write("x"));
    expect((await slow.answers(1))[0]?.body.toString()).toBe("late");
    expect([idle.text.split("HTTP/1.1").length, stalled.size, bodyError instanceof Error]).toEqual([2, 0, true]);
    expect(partial.text.split("\r\n", 1)[0]).toBe("HTTP/1.1 408 Request Timeout");
    expect(silent.text.split("\r\n", 1)[0]).toBe("HTTP/1.1 408 Request Timeout");
  });

  // HAProxy's `timeout http-request`: the first request must arrive within the head limit from the
  // accept, not within the (longer) idle limit; between keep-alive requests the idle limit applies.
  test("a connection that sends nothing gets 408 within the head limit; a kept-alive one waits the idle limit", async () => {
    const server = await serve(() => text("ok"), { idleTimeoutMs: 5000, headerTimeoutMs: 300 });
    const [silent, kept] = (await Promise.all([1, 2].map(() => connect(server.port)))) as [Raw, Raw];
    const since = performance.now();
    await kept.write(GET());
    expect((await kept.answers(1))[0]?.status).toBe(200);
    await silent.untilEnded(2500);
    expect(performance.now() - since).toBeLessThan(2500);
    expect(silent.text.split("\r\n", 1)[0]).toBe("HTTP/1.1 408 Request Timeout");
    await Bun.sleep(Math.max(0, 1600 - (performance.now() - since)));
    expect(kept.ended).toBe(false);
    await kept.write(GET());
    expect((await kept.answers(2))[1]?.status).toBe(200);
  });

  // The first cause is kept: #close() after the timeout must not replace it with "connection closed".
  test("a stalled request body fails with the body TimeoutError", () => {
    expect(String(bodyError)).toBe("TimeoutError: request body idle timeout");
  });

  test("stop(): the answer in flight arrives with connection: close, idle connections close, new ones are refused", async () => {
    const [started, release] = [gate(), gate()];
    const server = await serve(async (req) => (req.url.endsWith("/hold") && (started.open(), await release.promise), text("done")));
    const idle = await connect(server.port);
    await idle.write(GET());
    await idle.answers(1);
    const busy = await connect(server.port);
    await busy.write(GET("/hold") + GET("/after"));
    await within(started.promise, 3000, "the handler");
    let stopped = false;
    const stopping = server.stop().then(() => (stopped = true));
    await idle.untilEnded();
    expect(await connect(server.port).then(() => "connected", (e: Error) => e.message)).toMatch(/ECONNREFUSED|refused/i);
    expect(stopped).toBe(false);
    release.open();
    await busy.untilEnded();
    const res = await busy.answers(2); // the pipelined second request is not served
    expect([res.length, res[0]?.body.toString(), header(res[0], "connection")[0]]).toEqual([1, "done", "close"]);
    await within(stopping, 3000, "the stop");
  });

  test("stop(): a keep-alive connection used just before is not closed under a request already on its way", async () => {
    // A client that sends its next request as the server stops (a reload, say) would lose it if the
    // connection closed at once; it is answered with connection: close instead, as HAProxy's
    // idle-close-on-response does, and a connection quiet for STOP_QUIET_MS closes at once.
    const server = await serve(() => text("done"));
    const busy = await connect(server.port);
    await busy.write(GET("/first"));
    await busy.answers(1);
    const quiet = await connect(server.port);
    await quiet.write(GET("/first"));
    await quiet.answers(1);
    await Bun.sleep(STOP_QUIET_MS + 50);
    await busy.write(GET("/second"));
    await busy.answers(2);
    const stopping = server.stop();
    await quiet.untilEnded(); // quiet long enough: closed now
    await busy.write(GET("/third")); // on its way as the server stops
    await busy.untilEnded();
    const res = await busy.answers(3);
    expect(res.map((r) => [r.status, header(r, "connection")[0]])).toEqual([[200, undefined], [200, undefined], [200, "close"]]);
    await within(stopping, 3000, "the stop");
  });

  test("stop(): a connection used just before closes once it has been quiet for STOP_QUIET_MS", async () => {
    const server = await serve(() => text("done"));
    const raw = await connect(server.port);
    await raw.write(GET());
    await raw.answers(1);
    const started = performance.now();
    await within(server.stop(), 3000, "the stop");
    await raw.untilEnded();
    expect(performance.now() - started).toBeGreaterThanOrEqual(STOP_QUIET_MS - 100);
  });

  test("stop(true) cuts a connection in flight at once", async () => {
    const { server, send } = await hanging();
    const { raw } = await send();
    await within(server.stop(true), 3000, "the stop");
    await raw.untilEnded();
    expect(raw.size).toBe(0);
  });

  test("20 MB answers reach a client that pauses reading; a stream is pulled only as it is sent", async () => {
    const whole = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < whole.length; i += 4) whole.writeUInt32LE(i, i);
    const piece = 512 * 1024;
    let pulled = 0;
    const server = await serve((req) =>
      req.url.endsWith("/light")
        ? new LightResponse(200, "", new HeaderList(), whole)
        : new Response(new ReadableStream({ pull: (c) => (pulled * piece < whole.length ? c.enqueue(whole.subarray(pulled++ * piece, pulled * piece)) : c.close()) }, { highWaterMark: 0 })),
    );
    for (const path of ["/light", "/stream"]) {
      const raw = await connect(server.port);
      raw.sock.pause();
      await raw.write(GET(path));
      await Bun.sleep(300); // the client reads nothing for a while
      if (path === "/stream") expect(pulled).toBeLessThan(whole.length / piece / 2);
      raw.sock.resume();
      await raw.until(() => raw.size > whole.length, "the whole body", 8000);
      const res = await raw.answers(1);
      expect([res[0]?.body.length, res[0]?.body.equals(whole)]).toEqual([whole.length, true]);
    }
  });
});
