import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { BodyDecoder } from "../../src/http1/body-decoder.ts";
import { BadResponseError, MAX_HEAD, parseHead, type ResponseHead, ResponseParser } from "../../src/http1/response-parser.ts";

/** What the parser reported for one response. */
interface Outcome {
  heads: ResponseHead[];
  body: string;
  /** Event kinds in order, runs of body events folded into one. */
  order: string;
  ends: number;
  error: string | undefined;
}

/**
 * Feeds `parts` into a fresh parser (then `finish()` when `close`) and records every event. `ranges`:
 * the events take body bytes as ranges of the reads (`bodyRange`, as the upstream client does).
 */
function run(parts: Uint8Array[], opts: { noBody?: boolean; close?: boolean; ranges?: boolean } = {}): Outcome {
  const out: Outcome = { heads: [], body: "", order: "", ends: 0, error: undefined };
  const bodies: Buffer[] = [];
  const mark = (kind: string) => {
    if (!out.order.endsWith(kind)) out.order += out.order ? `,${kind}` : kind;
  };
  const parser = new ResponseParser({
    head: (h) => (out.heads.push(h), mark("head")),
    body: (c) => (bodies.push(Buffer.from(c)), mark("body")),
    ...(opts.ranges ? { bodyRange: (b: Buffer, start: number, end: number) => (bodies.push(Buffer.from(b.subarray(start, end))), mark("body")) } : {}),
    end: () => (out.ends++, mark("end")),
  });
  parser.reset(opts.noBody ?? false);
  try {
    for (const p of parts) parser.push(p);
    if (opts.close) parser.finish();
  } catch (error) {
    if (!(error instanceof BadResponseError)) throw error;
    expect(error.code).toBe("EBADRESPONSE");
    out.error = error.message;
  }
  out.body = Buffer.concat(bodies).toString("latin1");
  return out;
}

const bytes = (s: string) => Buffer.from(s, "latin1");

/** Every way of feeding `msg`: whole, split once at each byte boundary, and byte by byte. */
function splits(msg: string): Uint8Array[][] {
  const b = bytes(msg);
  const all: Uint8Array[][] = [[b]];
  for (let i = 1; i < b.length; i++) all.push([b.subarray(0, i), b.subarray(i)]);
  all.push([...b].map((x) => Uint8Array.of(x)));
  return all;
}

/** Parses `msg` every way and checks every way gives the same result; returns it. */
function parseAllWays(msg: string, opts: { noBody?: boolean; close?: boolean } = {}): Outcome {
  const whole = run([bytes(msg)], opts);
  for (const parts of splits(msg)) {
    expect(run(parts, opts)).toEqual(whole);
    expect(run(parts, { ...opts, ranges: true })).toEqual(whole);
  }
  return whole;
}

/** Checks `msg` is refused however it is split. */
function refusedAllWays(msg: string, pattern: RegExp, opts: { noBody?: boolean; close?: boolean } = {}): void {
  for (const parts of splits(msg)) {
    expect(run(parts, opts).error).toMatch(pattern);
    expect(run(parts, { ...opts, ranges: true }).error).toMatch(pattern);
  }
}

describe("ResponseParser framing (each message fed whole, split at every byte and byte by byte)", () => {
  test("Content-Length body", () => {
    const out = parseAllWays("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b c \r\n\r\nhello world");
    expect(out.error).toBeUndefined();
    expect(out.order).toBe("head,body,end");
    expect(out.body).toBe("hello world");
    expect(out.ends).toBe(1);
    const head = out.heads[0]!;
    expect(head.status).toBe(200);
    expect(head.statusText).toBe("OK");
    expect(head.headers.pairs()).toEqual([["content-length", "11"], ["x-a", "b c"]]);
    expect(head.framing).toEqual({ kind: "length", length: 11 });
    expect(head.keepAlive).toBe(true);
    expect(head.idleTimeoutMs).toBeUndefined();
  });

  test("Content-Length: 0 ends at the head", () => {
    const out = parseAllWays("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    expect(out.order).toBe("head,end");
    expect(out.heads[0]!.framing).toEqual({ kind: "length", length: 0 });
  });

  test("chunked with extensions, upper-case hex and trailers; Transfer-Encoding is not passed on", () => {
    const msg = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-B: 1\r\n\r\n" +
      "5;name=value\r\nhello\r\n" + "1 ; ext\r\n \r\n" + "A\r\n0123456789\r\n" + "0;last=1\r\nTrailer-A: 1\r\nTrailer-B: 2\r\n\r\n";
    const out = parseAllWays(msg);
    expect(out.error).toBeUndefined();
    expect(out.order).toBe("head,body,end");
    expect(out.body).toBe("hello 0123456789");
    expect(out.ends).toBe(1);
    expect(out.heads[0]!.framing).toEqual({ kind: "chunked" });
    expect(out.heads[0]!.headers.pairs()).toEqual([["x-b", "1"]]);
    expect(out.heads[0]!.keepAlive).toBe(true);
  });

  test("chunked without trailers", () => {
    const out = parseAllWays("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    expect(out.body).toBe("abc");
    expect(out.ends).toBe(1);
  });

  test("no length and no chunking: the body runs until the close, and the connection is not kept", () => {
    const msg = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body";
    const open = run([bytes(msg)]);
    expect(open.order).toBe("head,body"); // no end before the close
    const out = parseAllWays(msg, { close: true });
    expect(out.order).toBe("head,body,end");
    expect(out.body).toBe("some body");
    expect(out.heads[0]!.framing).toEqual({ kind: "close" });
    expect(out.heads[0]!.keepAlive).toBe(false);
  });

  test("a Transfer-Encoding other than chunked alone is refused (502), never read until close with its coding dropped", () => {
    for (const te of ["chunked, gzip", "gzip", "identity", "gzip, chunked", "chunked, chunked", "chunked,", ",chunked", "\x0bchunked", "chunked\x0c", "chunked\xa0"]) {
      refusedAllWays(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\n0\r\n\r\n`, /transfer coding not supported/);
    }
    // Two lines are one list: "chunked" then "gzip" does not end in chunked.
    refusedAllWays("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\nxyz", /transfer coding not supported/);
    // SP and HTAB around it are optional whitespace.
    expect(parseAllWays("HTTP/1.1 200 OK\r\nTransfer-Encoding: \t CHUNKED \t\r\n\r\n3\r\nxyz\r\n0\r\n\r\n").body).toBe("xyz");
  });

  test("the answer to HEAD has no body; its Content-Length is kept", () => {
    const out = parseAllWays("HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n", { noBody: true });
    expect(out.order).toBe("head,end");
    expect(out.heads[0]!.framing).toEqual({ kind: "none" });
    expect(out.heads[0]!.headers.pairs()).toEqual([["content-length", "12345"]]);
    expect(out.heads[0]!.keepAlive).toBe(true);
    const chunked = parseAllWays("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", { noBody: true });
    expect(chunked.order).toBe("head,end");
    expect(chunked.heads[0]!.keepAlive).toBe(true);
  });

  test("204 and 304 have no body whatever their headers say", () => {
    for (const status of ["204 No Content", "304 Not Modified"]) {
      for (const h of ["Content-Length: 10\r\n", "Transfer-Encoding: chunked\r\n", ""]) {
        const out = parseAllWays(`HTTP/1.1 ${status}\r\n${h}\r\n`);
        expect(out.order).toBe("head,end");
        expect(out.heads[0]!.framing).toEqual({ kind: "none" });
        expect(out.heads[0]!.keepAlive).toBe(true);
      }
    }
  });

  test("1xx interim responses (100, 103) are skipped", () => {
    const msg = "HTTP/1.1 100 Continue\r\n\r\n" + "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    const out = parseAllWays(msg);
    expect(out.heads).toHaveLength(1);
    expect(out.heads[0]!.status).toBe(201);
    expect(out.heads[0]!.headers.pairs()).toEqual([["content-length", "2"]]);
    expect(out.body).toBe("ok");
    expect(out.ends).toBe(1);
    expect(parseHead("HTTP/1.1 102 Processing", false)).toBeUndefined();
  });

  test("101 Switching Protocols is refused", () => {
    refusedAllWays("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", /101/);
  });

  test("status line without reason phrase", () => {
    expect(parseHead("HTTP/1.1 200", false)!.statusText).toBe("");
    expect(parseHead("HTTP/1.1 404 ", false)!.statusText).toBe("");
    expect(parseHead("HTTP/1.1 503 Service  Unavailable", false)!.statusText).toBe("Service  Unavailable");
  });
});

describe("keep-alive rules", () => {
  const ka = (head: string) => parseHead(head, false)!.keepAlive;

  test("HTTP/1.1 keeps the connection unless Connection: close", () => {
    expect(ka("HTTP/1.1 200 OK\r\nContent-Length: 1")).toBe(true);
    expect(ka("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close")).toBe(false);
    expect(ka("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: Close")).toBe(false);
    expect(ka("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive, close")).toBe(false);
    expect(ka("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: x-foo\r\nConnection: close")).toBe(false);
    expect(ka("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: closed")).toBe(true);
  });

  test("HTTP/1.0 keeps the connection only with Connection: keep-alive and a known length", () => {
    expect(ka("HTTP/1.0 200 OK\r\nContent-Length: 1")).toBe(false);
    expect(ka("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive")).toBe(true);
    expect(ka("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive")).toBe(true);
    expect(ka("HTTP/1.0 200 OK\r\nConnection: keep-alive")).toBe(false); // body until close
    expect(ka("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive, close")).toBe(false);
  });

  test("Keep-Alive: timeout=N is read in ms", () => {
    expect(parseHead("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nKeep-Alive: timeout=5, max=100", false)!.idleTimeoutMs).toBe(5000);
    expect(parseHead("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nKeep-Alive: max=100, timeout=3", false)!.idleTimeoutMs).toBe(3000);
    expect(parseHead("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nKeep-Alive: max=100", false)!.idleTimeoutMs).toBeUndefined();
  });
});

describe("length headers", () => {
  test("Transfer-Encoding and Content-Length: chunked wins, Content-Length is dropped, the connection is not reused", () => {
    const out = parseAllWays("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\nX-C: 1\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
    expect(out.body).toBe("hi");
    expect(out.ends).toBe(1);
    expect(out.heads[0]!.headers.pairs()).toEqual([["x-c", "1"]]);
    expect(out.heads[0]!.keepAlive).toBe(false);
    expect(parseAllWays("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").heads[0]!.keepAlive).toBe(true);
  });

  test("Transfer-Encoding with two Content-Length headers drops both", () => {
    const head = parseHead("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Length: 100\r\nTransfer-Encoding: chunked", false)!;
    expect(head.framing).toEqual({ kind: "chunked" });
    expect(head.headers.pairs().filter(([n]) => n === "content-length")).toEqual([]);
  });

  test("duplicate equal Content-Length is accepted, as two headers or a list", () => {
    for (const h of ["Content-Length: 5\r\nContent-Length: 5", "Content-Length: 5, 5", "Content-Length: 5,5,5"]) {
      const out = parseAllWays(`HTTP/1.1 200 OK\r\n${h}\r\n\r\nhello`);
      expect(out.error).toBeUndefined();
      expect(out.heads[0]!.framing).toEqual({ kind: "length", length: 5 });
      expect(out.body).toBe("hello");
    }
  });
});

describe("refused responses throw BadResponseError (code EBADRESPONSE)", () => {
  const cases: [string, string, RegExp][] = [
    ["conflicting Content-Length headers", "Content-Length: 5\r\nContent-Length: 6", /conflicting/],
    ["conflicting Content-Length list", "Content-Length: 5, 6", /Content-Length/],
    ["non-numeric Content-Length", "Content-Length: abc", /Content-Length/],
    ["negative Content-Length", "Content-Length: -1", /Content-Length/],
    ["signed Content-Length", "Content-Length: +5", /Content-Length/],
    ["empty Content-Length", "Content-Length: ", /Content-Length/],
    ["huge Content-Length", "Content-Length: 1234567890123456", /Content-Length/],
    ["folded header", "X-A: 1\r\n continued", /folded/],
    ["folded header (tab)", "X-A: 1\r\n\tcontinued", /folded/],
    ["header without colon", "Just-A-Name", /invalid header line/],
    ["space before the colon", "Content-Length : 5", /invalid header name/],
    ["empty header name", ": x", /invalid header line/],
  ];
  for (const [name, header, pattern] of cases) {
    test(name, () => refusedAllWays(`HTTP/1.1 200 OK\r\n${header}\r\n\r\nhello`, pattern));
  }

  test("header values with CR, LF or NUL", () => {
    // They would reach `new Response` (which throws on them) and must be refused here instead.
    for (const v of ["a\nb", "a\rb", "a\0b"]) refusedAllWays(`HTTP/1.1 200 OK\r\nX-A: ${v}\r\nContent-Length: 0\r\n\r\n`, /header/);
  });

  test("bad status lines", () => {
    for (const line of ["HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/2 200 OK", "HTTP/1.2 200 OK", "ICY 200 OK", "HTTP/1.1 200OK", "http/1.1 200 OK", "hello", "HTTP/1.1 099 Low"]) {
      refusedAllWays(`${line}\r\nContent-Length: 0\r\n\r\n`, /status/);
    }
  });

  test("status codes above 599", () => {
    // `new Response` throws a RangeError for these.
    for (const line of ["HTTP/1.1 600 Odd", "HTTP/1.1 999 Odd"]) refusedAllWays(`${line}\r\nContent-Length: 0\r\n\r\n`, /status/);
  });

  test("bad chunk sizes", () => {
    for (const size of ["zz", "", "-1", "0x5", "+5", "1234567890abc", " "]) {
      refusedAllWays(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nhello\r\n0\r\n\r\n`, /chunk size/);
    }
  });

  test("chunk data not followed by CRLF", () => {
    refusedAllWays("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", /CRLF/);
  });

  test("chunk size line too long", () => {
    const out = run([bytes(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;${"x".repeat(5000)}`)]);
    expect(out.error).toMatch(/too long/);
  });

  test("oversized head, with or without its end", () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(MAX_HEAD)}`;
    expect(run([bytes(big)]).error).toMatch(/head over/);
    expect(run([bytes(`${big}\r\n\r\n`)]).error).toMatch(/head over/);
    // in small pieces: refused once the pending head passes the limit, not after buffering more
    const pieces = [];
    for (let i = 0; i < big.length; i += 4096) pieces.push(bytes(big.slice(i, i + 4096)));
    expect(run(pieces).error).toMatch(/head over/);
    // a head just under the limit is fine
    const ok = `HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: ${"a".repeat(MAX_HEAD - 100)}\r\n\r\n`;
    expect(run([bytes(ok)]).error).toBeUndefined();
  });

  test("bytes after the end of the response", () => {
    for (const msg of [
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokX",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nX",
      "HTTP/1.1 204 No Content\r\n\r\nX",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ]) {
      const out = run([bytes(msg)]);
      expect(out.error).toMatch(/after the end/);
      expect(out.ends).toBe(1); // the response itself was complete
      const split = run([bytes(msg.slice(0, -1)), bytes(msg.slice(-1))]);
      expect(split.error).toMatch(/after the end/);
    }
    const head = run([bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), bytes("x")], { noBody: true });
    expect(head.error).toMatch(/after the end/);
  });

  test("a close before the end of the response", () => {
    expect(run([], { close: true }).error).toMatch(/before any answer/);
    expect(run([bytes("HTTP/1.1 200 OK\r\nContent-")], { close: true }).error).toMatch(/before the response ended/);
    expect(run([bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")], { close: true }).error).toMatch(/before the response ended/);
    expect(run([bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")], { close: true }).error).toMatch(/before the response ended/);
    // after a complete response a close is fine
    expect(run([bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")], { close: true }).error).toBeUndefined();
  });
});

describe("ResponseParser reuse", () => {
  test("reset() readies it for the next response on the same connection", () => {
    const seen: string[] = [];
    const parser = new ResponseParser({
      head: (h) => seen.push(`head ${h.status}`),
      body: (c) => seen.push(`body ${Buffer.from(c).toString()}`),
      end: () => seen.push("end"),
    });
    expect(parser.done).toBe(true);
    parser.reset(false);
    expect(parser.untouched).toBe(true);
    parser.push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"));
    expect(parser.done).toBe(true);
    parser.reset(true);
    parser.push(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"));
    parser.reset(false);
    parser.push(bytes("HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nb"));
    expect(seen).toEqual(["head 200", "body a", "end", "head 200", "end", "head 404", "body b", "end"]);
  });

  test("untouched turns false with the first byte of an answer", () => {
    const parser = new ResponseParser({ head() {}, body() {}, end() {} });
    parser.reset(false);
    parser.push(bytes("H"));
    expect(parser.untouched).toBe(false);
  });
});

describe("a server's framing: whitespace, chunk lines and trailers (split every way)", () => {
  const CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

  test("Content-Length with \\x0b, \\x0c, \\xa0 around it is refused; SP and HTAB are fine", () => {
    for (const ws of ["\x0b", "\x0c", "\xa0", "\x85"]) {
      for (const value of [`${ws}5`, `5${ws}`, `5,${ws}5`]) refusedAllWays(`HTTP/1.1 200 OK\r\nContent-Length: ${value}\r\n\r\nhello`, /Content-Length/);
    }
    expect(parseAllWays("HTTP/1.1 200 OK\r\nContent-Length: \t5 , 5\t\r\n\r\nhello").body).toBe("hello");
  });

  test("chunk extensions by the RFC 9112 grammar are read and dropped", () => {
    for (const line of ["5;a", "5;a=b", '5;a="b c"', "5 ; a = b", "5\t", '5;a="\\""']) {
      expect([line, parseAllWays(`${CHUNKED}${line}\r\nhello\r\n0\r\n\r\n`).body]).toEqual([line, "hello"]);
    }
  });

  test("bad chunk lines are refused: whitespace other than SP/HTAB, bare LF or CR, controls, broken extensions", () => {
    for (const line of ["\x0b5", "5\x0b", "5\x0c", "\xa05", " 5", "5;a\nb", "5;a\rb", "5;", "5;a=", '5;a="b', "5;a=b c", "5;a=\x01"]) {
      refusedAllWays(`${CHUNKED}${line}\r\nhello\r\n0\r\n\r\n`, /chunk (size|extension)/);
    }
  });

  test("trailers: header fields, dropped (framing fields with them); anything else is refused", () => {
    const out = parseAllWays(`${CHUNKED}5\r\nhello\r\n0\r\nX-T: 1\r\nContent-Length: 99\r\nTransfer-Encoding: gzip\r\n\r\n`);
    expect([out.body, out.order, out.heads[0]!.headers.get("x-t"), out.heads[0]!.headers.get("content-length")]).toEqual(["hello", "head,body,end", null, null]);
    for (const line of ["HTTP/1.1 200 OK", "GET /SMUGGLED HTTP/1.1", " folded", "X : 1", "X: a\0b"]) {
      refusedAllWays(`${CHUNKED}0\r\n${line}\r\n\r\n`, /invalid trailer line/);
    }
    // A server's answer may carry controls other than NUL, CR and LF in values (as HAProxy lets it).
    expect(parseAllWays(`${CHUNKED}0\r\nX-T: a\x01b\r\n\r\n`).order).toBe("head,end");
  });
});

describe("work: a head or a chunk line cut into one-byte reads is searched in O(n)", () => {
  test("a 12 KB answer head, byte by byte", () => {
    const head = `HTTP/1.1 200 OK\r\n${`X-Filler: ${"abcdefghij".repeat(15)}\r\n`.repeat(80)}Content-Length: 0\r\n\r\n`;
    expect(head.length).toBeGreaterThan(12 * 1024);
    const parser = new ResponseParser({ head: () => {}, body: () => {}, end: () => {} });
    parser.reset(false);
    for (const byte of bytes(head)) parser.push(Uint8Array.of(byte));
    expect(parser.done).toBe(true);
    expect(parser.scanned).toBeLessThanOrEqual(4 * head.length);
  });

  test("a 4 KB chunk line (extensions) and 16 KB of trailers, byte by byte", () => {
    const ends: number[] = [];
    const decoder = new BodyDecoder({ body: () => {}, end: () => ends.push(1) }, (m) => new Error(m), "answer");
    decoder.start({ kind: "chunked" });
    const text = `5${";a=b".repeat(1000)}\r\nhello\r\n0\r\n${"X-T: 1234567890\r\n".repeat(900)}\r\n`;
    let kept = Buffer.alloc(0);
    for (const byte of bytes(text)) {
      const buf = Buffer.concat([kept, Uint8Array.of(byte)]);
      kept = buf.subarray(decoder.decode(buf, 0));
    }
    expect(ends).toEqual([1]);
    expect(decoder.scanned).toBeLessThanOrEqual(3 * text.length);
  });
});

describe("101 Switching Protocols, for the answer to an upgrade request", () => {
  test("parsed with the same field rules when asked for; no body, no keep-alive", () => {
    const head = parseHead("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", false, true)!;
    expect([head.status, head.statusText, head.framing, head.keepAlive]).toEqual([101, "Switching Protocols", { kind: "none" }, false]);
    expect(head.headers.get("upgrade")).toBe("websocket");
    expect(() => parseHead("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX: a\nb", false, true)).toThrow(BadResponseError);
    expect(() => parseHead("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket", false)).toThrow(/unexpected 101/);
    expect(parseHead("HTTP/1.1 100 Continue", false, true)).toBeUndefined();
  });
});
